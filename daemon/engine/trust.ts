import type { TrustProblem, TrustVerdict } from '../../protocol/project';
import { round } from '../core/numbers';
import type { Located } from './context';
import type { TemporalResult } from './temporal/solve';

/**
 * One figure for how far an alignment can be trusted, and the verdict on it. Per-frame similarity
 * does not separate right from wrong (an unrelated fg still finds its most similar bg frames, and a
 * tiny placement matches almost any texture), so the figure asks what only a right pair shows:
 *
 * - space: the placement's NCC on time-matched frames, discounted when fg is placed so small that
 *   almost anything correlates with it;
 * - time: how far the matched path stands out from the bg frames it did not take (its margin over
 *   each row's median, against the rows' own spread), and how many rows took their best frame;
 * - plausibility: a fitted speed near the nominal one, no pile-up of fg frames on bg's first or last
 *   frame (bg shorter than fg), and no second place in bg that fits about as well (repeated footage).
 *
 * Calibrated on the corpus of scripts/trust-corpus.ts (README, Accuracy).
 */

/** Below this score an alignment is refused (unless forced): see the README's Accuracy section. */
export const TRUST_THRESHOLD = 0.5;

export interface Trust {
  /** 0..1: 1 is a pair that could not be mistaken. */
  score: number;
  verdict: TrustVerdict;
  /** What lowered the score or refused it, in words (empty when nothing did). */
  reasons: string[];
  /** The first problem found, as data: what the front ends turn into advice. */
  problem?: TrustProblem;
  /** Other places in bg that fit about as well (repeated footage), bg seconds at fg's start. */
  places?: number[];
  /** The measurements the score was made of (in memory only: for calibration and --verbose). */
  signals?: TrustSignals;
}

export interface TrustSignals {
  ncc: number | null;
  placedWidth: number;
  speed: number;
  pile: number;
  meanConfidence: number;
  spread?: number;
  atMin?: number;
  margin?: number;
  altMargins?: number[];
  altFrom?: number[];
  prior: boolean;
}

const clamp = (v: number) => Math.max(0, Math.min(1, v));

export function trustSignals(loc: Located, tm: TemporalResult, nominal: number, prior: boolean, nB: number): TrustSignals {
  const map = tm.bgFrameForFg;
  const nF = map.length;
  // fg frames that share one bg frame at a normal rate, at most (e.g. 60 fps fg over 24 fps bg: 3).
  const share = Math.ceil(1 / Math.max(1e-3, nominal)) + 1;
  let first = 0;
  let last = 0;
  for (let i = 0; i < nF; i++) {
    if (map[i] === map[0]) first++;
    if (map[i] === map[nF - 1]) last++;
  }
  const atEnd = map[nF - 1] >= nB - 2 ? last : 0;
  const atStart = map[0] <= 1 ? first : 0;
  const pile = Math.max(0, Math.max(atEnd, atStart) - 2 * share) / Math.max(1, nF);
  let conf = 0;
  for (const c of tm.confidence) conf += c;
  const top = tm.top;
  const p0 = top?.paths[0];
  return {
    ncc: Number.isFinite(loc.placement.score) ? loc.placement.score : null,
    placedWidth: loc.content.width * loc.placement.scale,
    speed: tm.slope / nominal,
    pile,
    meanConfidence: conf / Math.max(1, nF),
    ...(top && p0
      ? {
          spread: top.spread,
          atMin: top.atMin,
          margin: p0.margin,
          altMargins: top.paths.slice(1).map((p) => p.margin),
          altFrom: top.paths.slice(1).map((p) => p.from),
        }
      : {}),
    prior,
  };
}

export function judge(s: TrustSignals): Trust {
  const reasons: string[] = [];
  let problem: TrustProblem | undefined;
  const flag = (p: TrustProblem, why: string) => {
    problem ??= p;
    reasons.push(why);
  };
  const spatial = s.ncc === null ? 1 : clamp((s.ncc - 0.5) / 0.4) * clamp(s.placedWidth / 64);
  const temporal = s.margin === undefined || s.spread === undefined ? 1 : clamp(s.margin / Math.max(1e-4, s.spread));
  const score = round(Math.sqrt(spatial * Math.max(temporal, 0)), 3);
  if (s.speed < 0.5 || s.speed > 2) flag('speed', `the fitted speed ${s.speed.toFixed(3)}× is implausible`);
  if (s.pile > 0.1) flag('bg-short', `${Math.round(s.pile * 100)}% of fg's frames pile up on one bg frame at bg's end: bg looks shorter than fg`);
  if (score < TRUST_THRESHOLD) flag('weak', `fg fits bg poorly (trust ${score.toFixed(2)})`);
  return { score, verdict: problem ? 'unsure' : 'sure', reasons, ...(problem ? { problem } : {}) };
}
