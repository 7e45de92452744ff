import { FLAT } from './steady';

/**
 * Spans of fg frames whose bg frame is uncertain, reported in the alignment (and shaded in the
 * preview) rather than averaged away: where fg's frames cannot be told apart from their neighbours'
 * matches (a static stretch the map crosses at the rate of the frames around it), or where a frame
 * matches its bg frame far worse than fg's frames typically do (a flash, a damaged stretch, a
 * change that bg does not have).
 */

/** Gaps shorter than this inside a span do not split it. */
const GAP = 3;

/**
 * Inclusive [first, last] fg frame ranges, at least `minRun` frames long: a few frames whose match
 * barely stands out are within the matcher's noise (steady pacing already holds them to the line),
 * and listing each would bury the stretches that matter.
 */
export function uncertainSpans(confidence: ArrayLike<number>, evidence: ArrayLike<number>, minRun = GAP): [number, number][] {
  const n = confidence.length;
  if (n === 0) return [];
  const sorted = Float64Array.from(confidence).sort();
  const median = sorted[n >> 1];
  const mad = Float64Array.from(sorted, (c) => Math.abs(c - median)).sort()[n >> 1];
  const low = median - Math.max(0.1, 5 * 1.4826 * mad);
  const spans: [number, number][] = [];
  let start = -1;
  let lastBad = -1;
  for (let i = 0; i <= n; i++) {
    const bad = i < n && (evidence[i] < FLAT || confidence[i] < low);
    if (bad) {
      if (start < 0) start = i;
      else if (i - lastBad > GAP) {
        if (lastBad - start + 1 >= minRun) spans.push([start, lastBad]);
        start = i;
      }
      lastBad = i;
    }
  }
  if (start >= 0 && lastBad - start + 1 >= minRun) spans.push([start, lastBad]);
  return spans;
}
