import type { TrustProblem, TrustVerdict } from '../../protocol/project';
import { round } from '../core/numbers';
import type { Located } from './context';
import type { TemporalResult } from './temporal/solve';
import type { MotionCheck } from './temporal/motion';

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
  /** The placement's NCC on time-matched frames (null: placed by the user). */
  ncc: number | null;
  /** fg's content width as placed in bg, bg pixels. */
  placedWidth: number;
  /** Fitted bg seconds per fg second (null: the edit engine, whose cuts make one line meaningless). */
  speed: number | null;
  /** Fraction of fg's frames beyond a normal share piled on bg's first or last frame. */
  pile: number;
  meanConfidence: number;
  /** Top level: mean row spread, the best path's margin, its bg time at fg's start, and the alternatives'. */
  spread?: number;
  margin?: number;
  from?: number;
  altMargins?: number[];
  altFrom?: number[];
  /**
   * Time-matched pairs across fg, each placed on its own (spatial/moving.ts): the farthest one's
   * distance from the joint placement (bg px; 0 when every pair fits the joint one as well), and
   * where each put fg's frame corner, in fg order; `fit`: the best NCC of a pair at its own place.
   */
  placementSpread?: { px: number; places: { x: number; y: number }[]; fit?: number };
  /**
   * The best other placement tried (spatial/hypotheses.ts: only when the first one left fg's frames
   * poorly explained), fg's frame corner in bg px, with its mean frame similarity over fg: against
   * `meanConfidence`, this placement's, the margin over the runner-up.
   */
  runnerUp?: { x: number; y: number; scale: number; support: number };
  /** How well the map's bg frames move with fg's (temporal/motion.ts), analysis pixels per fg frame. */
  motion?: MotionCheck;
  motionSeconds?: number;
  /** Sound or anchors decided where in bg fg runs: other places were never in the running. */
  prior: boolean;
  bgFps: number;
  /** Both videos' durations, seconds. */
  fgSeconds: number;
  bgSeconds: number;
}

const clamp = (v: number) => Math.max(0, Math.min(1, v));

export function trustSignals(
  loc: Located,
  tm: TemporalResult & { cuts?: unknown[] },
  nominal: number,
  prior: boolean,
  nB: number,
  bgTime: (j: number) => number,
): TrustSignals {
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
    // A single frame (a still fg) has no speed to judge.
    speed: tm.cuts || nF < 2 ? null : tm.slope / nominal,
    pile,
    meanConfidence: conf / Math.max(1, nF),
    ...(top && p0
      ? {
          spread: top.spread,
          margin: p0.margin,
          from: round(bgTime(p0.from), 3),
          altMargins: top.paths.slice(1).map((p) => p.margin),
          altFrom: top.paths.slice(1).map((p) => round(bgTime(p.from), 3)),
        }
      : {}),
    prior,
    bgFps: loc.bg.fps,
    fgSeconds: loc.fg.duration,
    bgSeconds: loc.bg.duration,
  };
}

/** Below this mean row spread bg's frames all look alike to fg (a static shot): time is no evidence either way. */
const STATIC_SPREAD = 0.02;
/** A pair placed this far from the joint placement (bg px, or this share of fg's placed width, whichever is more) moves. */
const MOVE_PX = 4;
const MOVE_SHARE = 0.02;

/** Whether the pairs' own places spread (`px`, placementSpread's) as a window moving over bg does. */
export function spreadMoves(px: number, placedWidth: number): boolean {
  return px > Math.max(MOVE_PX, MOVE_SHARE * placedWidth);
}
/** An alternative place whose margin is this close to the best one's fits about as well. */
const SAME_FIT = 0.8;
/**
 * Mean frame similarity by which a placement must explain fg better than the runner-up to be sure
 * of it: a right placement wins by 0.1 and more on every pair that tried one (README, Accuracy).
 */
const PLACE_MARGIN = 0.02;
/**
 * Disagreement between fg's motion and its matched bg frames' (analysis pixels per fg frame) up to
 * which the map moves with fg: 0.06, or 15% of fg's own motion where fg moves fast (a global shift
 * is a compromise over a picture whose parts move differently, and grading shifts the compromise);
 * the factor falls to 0 at twice that. Right maps measure 0.02 and less on the corpus (a graded
 * fast-moving diver 0.11 of its 1.26), maps that trade place for time in a near-static shot 0.29 and
 * 0.41 (README, Accuracy). Asked only where enough of fg was measured (fast or flat pictures leave
 * steps out).
 */
const MOTION_OK = 0.06;
const MOTION_SHARE = 0.15;
const MOTION_COVERAGE = 0.25;

export function judge(s: TrustSignals): Trust {
  const reasons: string[] = [];
  // Space: a right placement correlates at 0.95 and more on time-matched frames; below 0.6 nothing
  // is there. A placement under ~100 bg pixels wide correlates with almost any texture.
  const width = clamp((s.placedWidth - 48) / 64);
  const fits = (ncc: number) => clamp((ncc - 0.6) / 0.3) * width;
  const spatial = s.ncc === null ? 1 : fits(s.ncc);
  if (s.ncc !== null && spatial < 0.8) reasons.push(`fg's picture matches bg only loosely (NCC ${s.ncc.toFixed(2)}, ${Math.round(s.placedWidth)} bg pixels wide)`);
  // Time: the best path's margin over the bg frames it did not take, against the best path elsewhere.
  let temporal = 1;
  const alt = s.altMargins?.length ? Math.max(...s.altMargins) : -Infinity;
  const ratio = s.margin !== undefined && s.margin > 0 ? alt / s.margin : 1;
  const moving = s.spread !== undefined && s.spread >= STATIC_SPREAD && !s.prior;
  if (moving) temporal = clamp((1 - ratio) / 0.5);
  const alike = (s.altFrom ?? []).filter((_, k) => s.altMargins![k] >= SAME_FIT * s.margin!);
  const places = moving && s.from !== undefined ? [s.from, ...alike].map((t) => round(t, 2)) : [];
  if (moving && temporal < 0.8) reasons.push(`another stretch of bg fits fg's frames ${ratio >= SAME_FIT ? 'about as well' : 'nearly as well'}`);
  const speed = s.speed ?? 1;
  const plausible = plausibleSpeed(speed);
  if (plausible < 1) reasons.push(`the fitted speed ${speed.toFixed(3)}× is implausible`);
  const pile = s.pile > 0.1;
  if (pile) reasons.push(`${Math.round(s.pile * 100)}% of fg's frames pile up on bg's first or last frame: bg looks shorter than fg`);
  // One placement for the whole video: a window that moves over bg is not that (a fixed crop is
  // found to a pixel or two on every pair; a pan puts the pairs tens of pixels apart).
  const ps = s.placementSpread;
  // Only asked where fg fits bg: pairs of an unrelated fg scatter anywhere. Fits at the joint
  // placement, or a pair at its own place: where the window moves, the joint placement fits no
  // frame well, and burnt-in graphics take a few hundredths more off (a zooming window with a
  // timecode box and a logo: NCC 0.84 jointly, spatial 0.78, refused as 'weak' instead of tracked;
  // its best pair fits its own place at 0.905).
  const own = ps?.fit === undefined ? 0 : fits(ps.fit);
  const moves = !!ps && Math.max(spatial, own) >= 0.8 && spreadMoves(ps.px, s.placedWidth);
  if (moves) {
    const xs = ps.places.map((p) => Math.round(p.x));
    const ys = ps.places.map((p) => Math.round(p.y));
    reasons.push(`fg's window moves over bg (its corner at x ${xs.join(' → ')}, y ${ys.join(' → ')} across fg): one fixed placement does not explain it`);
  }
  // Where another placement was tried, the margin over it: two places that explain fg's frames
  // about equally well cannot both be fg's.
  const r = s.runnerUp;
  const placed = r ? clamp((s.meanConfidence - r.support) / PLACE_MARGIN) : 1;
  if (r && placed < 1) {
    reasons.push(
      `another placement (x ${Math.round(r.x)}, y ${Math.round(r.y)}, scale ${r.scale.toFixed(3)}) explains fg's frames ${r.support >= s.meanConfidence ? 'as well' : 'nearly as well'} (mean similarity ${r.support.toFixed(3)} against ${s.meanConfidence.toFixed(3)})`,
    );
  }
  // Motion: bg's picture must move between the frames the map pairs as fg's does between its own.
  const m = s.motion && s.motion.coverage >= MOTION_COVERAGE ? s.motion : undefined;
  const ok = m ? Math.max(MOTION_OK, MOTION_SHARE * m.fgMotion) : 0;
  const moved = m ? clamp((2 * ok - m.mean) / ok) : 1;
  if (m && moved < 1) {
    reasons.push(
      `bg's picture moves differently from fg's at the frames the map pairs (${m.mean.toFixed(2)} px a frame apart, ${m.fgMotion.toFixed(2)} px of fg's own motion): the timing is likely wrong`,
    );
  }
  const score = round(spatial * temporal * plausible * placed * moved * (pile || moves ? 0 : 1), 3);
  let problem: TrustProblem | undefined;
  if (score < TRUST_THRESHOLD) {
    // A fg much longer than bg cannot be shown whole at a plausible speed, whatever else went wrong.
    const longer = s.fgSeconds > 1.25 * s.bgSeconds;
    if (longer && !pile) reasons.push(`bg (${s.bgSeconds.toFixed(1)} s) is shorter than fg (${s.fgSeconds.toFixed(1)} s)`);
    // A window that moves also piles frames up at bg's ends (the map cannot follow it): only a fg
    // far longer than bg is bg-short whatever else is seen.
    if (longer) problem = 'bg-short';
    else if (moves) problem = 'moving';
    else if (pile) problem = 'bg-short';
    else if (spatial >= 0.8 && plausible >= 0.8 && places.length > 1) problem = 'ambiguous';
    else if (spatial >= 0.8 && placed < 0.5) problem = 'placement';
    else if (spatial >= 0.8 && moved < 0.5) problem = 'motion';
    else if (spatial >= 0.8 && temporal >= 0.5) problem = 'speed';
    else problem = 'weak';
  }
  return {
    score,
    verdict: problem ? 'unsure' : 'sure',
    reasons,
    ...(problem ? { problem } : {}),
    ...(problem === 'ambiguous' ? { places: places.sort((a, b) => a - b) } : {}),
  };
}

/**
 * How plausible a fitted speed (fg's rate against bg's nominal one) is, 0..1: 1 within ±25% (what
 * the temporal search itself assumes), falling to 0 at 0.6× and 1.6×.
 */
export function plausibleSpeed(speed: number): number {
  return speed < 1 ? clamp((speed - 0.6) / 0.2) : clamp((1.6 - speed) / 0.35);
}
