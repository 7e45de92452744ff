import type { Alignment } from '../engine/result';

/**
 * An alignment against the truth a pair was made with: how far fg's placement is off in bg pixels
 * and scale, how many fg frames landed within one bg frame, and how far each fg frame's bg time is
 * from the time it stands for. One scorer for `vidkompy selftest`, the trust corpus and the tests.
 */
export interface Truth {
  /** The bg frame each fg frame shows. */
  bgFrameForFg: number[];
  /** The bg time each fg frame stands for, seconds from bg's first frame (exact, between frames). */
  bgTimeForFg?: number[];
  /** fg's frame corner in bg pixels, and its scale (bg pixels per fg pixel). */
  x: number;
  y: number;
  scale: number;
}

export interface Score {
  /** Placement error, bg pixels. */
  dx: number;
  dy: number;
  /** Error in fg's width as placed in bg, bg pixels. */
  dSize: number;
  /** Scale error relative to the truth, percent. */
  scalePct: number;
  /** Share of fg frames within one bg frame of the truth, 0..1. */
  within1: number;
  /** Largest frame error, bg frames. */
  maxErr: number;
  /** Mean and largest |bgTimeForFg − truth|, milliseconds (absent when the truth has no times). */
  timeMeanMs?: number;
  timeMaxMs?: number;
  /** fg frames compared. */
  n: number;
}

export function score(al: Alignment, truth: Truth): Score {
  const m = al.temporal.bgFrameForFg;
  const n = Math.min(m.length, truth.bgFrameForFg.length);
  let within = 0;
  let maxErr = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.abs(m[i] - truth.bgFrameForFg[i]);
    if (e <= 1) within++;
    maxErr = Math.max(maxErr, e);
  }
  return {
    dx: al.spatial.x - truth.x,
    dy: al.spatial.y - truth.y,
    dSize: (al.spatial.scale - truth.scale) * al.fg.width,
    scalePct: ((al.spatial.scale - truth.scale) / truth.scale) * 100,
    within1: within / Math.max(1, n),
    maxErr,
    ...(truth.bgTimeForFg ? timeErrors(al.temporal.bgTimeForFg, truth.bgTimeForFg) : {}),
    n,
  };
}

function timeErrors(found: number[], truth: number[]): { timeMeanMs: number; timeMaxMs: number } {
  const n = Math.min(found.length, truth.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.abs(found[i] - truth[i]) * 1000;
    sum += e;
    max = Math.max(max, e);
  }
  return { timeMeanMs: sum / Math.max(1, n), timeMaxMs: max };
}

/**
 * The accuracy a right pair must reach (the README's bar): placement within one fg pixel (at least one
 * bg pixel) in position and in placed width, and ≥ 95% of fg frames within one bg frame.
 */
export function accurate(s: Score, truth: Pick<Truth, 'scale'>): boolean {
  const px = Math.max(1, truth.scale);
  return Math.abs(s.dx) <= px && Math.abs(s.dy) <= px && Math.abs(s.dSize) <= px && s.within1 >= WITHIN1_BAR;
}

/** Share of fg frames within one bg frame a right pair must reach. */
export const WITHIN1_BAR = 0.95;
