import type { Engine } from '../../../protocol/engines';
import { batchDot } from '../../native/kernels';
import type { DescriptorSet } from '../descriptors/types';
import { robustLine } from '../../core/line';
import { bandLevel, interpolate, topLevel, type TopStats } from './pyramid';
import { correctDrift, evidenceFromSharpness } from './drift';
import { FLAT, steadyPacing } from './steady';
import { PIECE_WINDOW, ratePieces, STRAIGHT_RMS, usualRate } from './pieces';
import { VidkompyError } from '../../core/errors';

/**
 * The temporal map: for every fg frame, the bg frame that belongs under it, never running backwards.
 *
 * Frames are compared through descriptors (descriptors.ts): unit vectors whose dot product is the
 * frames' similarity, so 1 − dot is the cost of pairing them. The map is found on a pyramid:
 *
 * - Top: about 300 fg frames, spread evenly, against every bg frame grouped in blocks of half a
 *   step (each block scores its best frame). The least-cost monotonic path through that matrix finds
 *   fg anywhere in bg at any rate; a robust line through it gives the playback rate. Cost: 300 × bg
 *   frames dot products of small vectors, in bounded chunks: memory does not grow with bg's length.
 * - Then, halving the fg step each level down to every frame, a band around the previous level's
 *   path, a few steps wide. Cost per level ≈ 4 × fg frames dot products: O(frames × band) overall.
 *
 * At every level each step of the path also pays a small penalty for departing from the fitted
 * rate, which keeps the map drift-free through stretches where frames cannot be told apart.
 * Manual anchors bend the band through themselves and pin their rows.
 */

export interface TemporalOptions {
  engine: Engine;
  fgFps: number;
  bgFps: number;
  /** Half-width of the final search band in bg frames (default: from the fitted rate). */
  window?: number;
  /** Manual sync points the map must pass through, as frame indices. */
  anchors?: { fg: number; bg: number }[];
  /**
   * Other evidence (the audio prior) of where the map runs: bg frame ≈ offset + slope · fg frame,
   * within ±spread bg frames. The top level searches only there.
   */
  prior?: { offset: number; slope: number; spread: number };
  /** precise: Savitzky-Golay window of the drift correction, fg frames (odd). */
  smoothing?: number;
  onProgress?: (fraction: number) => void;
}

export interface TemporalResult {
  bgFrameForFg: Int32Array;
  /** Per fg frame: similarity to its bg frame, 1 − cost. */
  confidence: Float32Array;
  /** Per fg frame, 0..1: how clearly the match stands out from its neighbours (0 in static shots). */
  evidence: Float32Array;
  /** Half-width in bg frames of the band the final frame-by-frame pass searched (≥ the window option). */
  window: number;
  /**
   * Fitted bg frames per fg frame, and bg frame at fg frame 0 (of the whole map's line). Where the map
   * clearly changes rate (a freeze frame, a slow-motion stretch: see usualSlope) the slope is fg's
   * usual rate outside those stretches.
   */
  slope: number;
  intercept: number;
  maskFraction: number;
  /** The top level's evidence for the map (absent for engines that do not search all of bg at once). */
  top?: TopStats;
}

/** fg frames the top level samples. */
const TOP_ROWS = 300;

/** Anchors sorted by fg frame, within both videos and in order (a map cannot run backwards). */
export function checkAnchors(anchors: { fg: number; bg: number }[], nF: number, nB: number): { fg: number; bg: number }[] {
  const sorted = [...anchors].sort((a, b) => a.fg - b.fg);
  for (const a of sorted) {
    if (!(a.fg >= 0 && a.fg < nF && a.bg >= 0 && a.bg < nB)) {
      throw new VidkompyError('BAD_ARGS', `anchor fg frame ${a.fg} → bg frame ${a.bg} is outside the videos (fg has ${nF} frames, bg ${nB}); fix the anchor`);
    }
  }
  for (let k = 1; k < sorted.length; k++) {
    if (sorted[k].bg < sorted[k - 1].bg) {
      throw new VidkompyError(
        'BAD_ARGS',
        `anchors out of order: fg frame ${sorted[k].fg} maps to bg frame ${sorted[k].bg}, before the earlier anchor's ${sorted[k - 1].bg}; fix the anchors`,
      );
    }
  }
  return sorted;
}

/**
 * How far to move a path so it meets the anchors: the miss at each anchor, interpolated linearly
 * between anchors and held constant beyond the first and last.
 */
function anchorCorrection(anchors: { fg: number; bg: number }[], pathAt: (i: number) => number): (i: number) => number {
  if (!anchors.length) return () => 0;
  const miss = anchors.map((a) => a.bg - pathAt(a.fg));
  return (i) => {
    if (i <= anchors[0].fg) return miss[0];
    for (let k = 1; k < anchors.length; k++) {
      if (i <= anchors[k].fg) return miss[k - 1] + ((miss[k] - miss[k - 1]) * (i - anchors[k - 1].fg)) / (anchors[k].fg - anchors[k - 1].fg);
    }
    return miss[miss.length - 1];
  };
}

/** The cost of each fg frame against the bg frame a (corrected) map gives it. */
function rescore(d: DescriptorSet, path: Int32Array): Float32Array {
  const n = d.fg.n;
  const dots = batchDot(d.fg.v, n, d.bg.v, d.bg.n, d.fg.dim, {
    aIndex: Int32Array.from({ length: n }, (_, i) => i),
    bStart: path,
    bCount: new Int32Array(n).fill(1),
  });
  return Float32Array.from(dots, (v) => 1 - v);
}

export function alignTemporal(d: DescriptorSet, o: TemporalOptions): TemporalResult {
  const nF = d.fg.n;
  const nB = d.bg.n;
  const nominal = o.bgFps / o.fgFps;
  const anchors = checkAnchors(o.anchors ?? [], nF, nB);

  // precise always builds the pyramid from every 8th frame down (8, 4, 2, 1), whatever the length.
  const s0 = Math.max(o.engine === 'precise' ? Math.min(8, nF) : 1, Math.ceil(nF / TOP_ROWS));
  const p = o.prior;
  let level = topLevel(d.coarseFg, d.coarseBg, s0, nominal, p ? (i) => [p.offset + p.slope * i - p.spread, p.offset + p.slope * i + p.spread + 1] : undefined);
  o.onProgress?.(0.3);
  const top = level.top;
  const line = robustLine(level.rows, level.path);
  // A sane playback rate is within ±25% of the nominal one; otherwise the top level is not evidence.
  const rate = Math.abs(line.slope / nominal - 1) < 0.25 ? line.slope : nominal;

  const levels: number[] = [];
  for (let s = Math.floor(s0 / 2); s > 1; s = Math.floor(s / 2)) levels.push(s);
  levels.push(1);
  let prevStep = s0;
  let window = 0;
  levels.forEach((s, k) => {
    const base = interpolate(level);
    const bend = anchorCorrection(anchors, base);
    const half = s === 1 ? Math.max(o.window ?? 0, Math.ceil(prevStep * rate) + 4) : Math.ceil(prevStep * rate) + 3;
    if (s === 1) window = half;
    // Small vectors while steps are long; the full descriptors for the last levels.
    const useFine = s < 4;
    level = bandLevel(useFine ? d.fg : d.coarseFg, useFine ? d.bg : d.coarseBg, s, (i) => base(i) + bend(i), half, rate, anchors, o.engine !== 'precise');
    prevStep = s;
    o.onProgress?.(0.3 + (0.7 * (k + 1)) / levels.length);
  });

  const evidence = evidenceFromSharpness(level.sharp);
  let path = level.path;
  if (o.engine === 'precise') {
    path = correctDrift(path, evidence, { bgFrames: nB, window: o.smoothing });
    // Anchors are facts, not evidence: put them back exactly (monotone by construction: checked order).
    for (const a of anchors) path[a.fg] = a.bg;
    for (let i = 1; i < nF; i++) if (path[i] < path[i - 1]) path[i] = path[i - 1];
  }
  let paced = false;
  if (o.engine !== 'precise') {
    const steady = steadyPacing(path, evidence, rate, nB, new Set(anchors.map((a) => a.fg)));
    paced = steady.some((v, i) => v !== path[i]);
    path = steady;
  }
  const confidence = new Float32Array(nF);
  const fine = o.engine === 'precise' || paced ? rescore(d, path) : level.cost;
  for (let i = 0; i < nF; i++) confidence[i] = Math.max(0, Math.min(1, 1 - fine[i]));
  const fit = robustLine(
    Int32Array.from({ length: nF }, (_, i) => i),
    path,
  );
  o.onProgress?.(1);
  const slope = usualSlope(path, evidence) ?? fit.slope;
  return { bgFrameForFg: path, confidence, evidence, window, slope, intercept: fit.intercept, maskFraction: d.maskFraction, top };
}

/**
 * fg's usual rate when its map runs at clearly different rates in pieces (a freeze frame holds one
 * bg frame, a slow-motion stretch runs at half the rate), each change seen in the frames on both of
 * its sides: one line through such a map is no rate at all (a 2 s half-speed stretch in 9 s of fg
 * fits 0.68×, which reads as an implausible speed). A side mostly paced for lack of evidence
 * (steady.ts) is no such evidence, only a line drawn between its neighbours: then the whole map's
 * line stays. (The frames right at a change may be a frame off and flat: the rate penalty can
 * round the corner a little, hence half a side, not all of it.)
 */
export function usualSlope(path: Int32Array, evidence: Float32Array): number | undefined {
  const pieces = ratePieces(path);
  // Only a map that is straight pieces throughout: a wrong one can hold still a while and look
  // like a freeze, but it wanders elsewhere (a 160×96 crop matched 20 frames off: RMS 1.9).
  if (pieces.length < 2 || pieces.some((p) => p.rms > STRAIGHT_RMS)) return undefined;
  const sure = (a: number, b: number) => {
    let k = 0;
    for (let i = a; i < b; i++) if (evidence[i] >= FLAT) k++;
    return k >= 0.5 * (b - a);
  };
  for (const p of pieces.slice(1)) {
    if (!sure(Math.max(0, p.first - PIECE_WINDOW), p.first) || !sure(p.first, Math.min(path.length, p.first + PIECE_WINDOW))) return undefined;
  }
  return usualRate(path, pieces);
}
