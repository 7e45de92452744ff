/**
 * Steady pacing: where fg's frames cannot be told apart (a stretch where fg's own picture barely
 * changes), every bg frame in reach fits about equally and compression noise picks among them, so
 * the map wanders and bg's moving surroundings stutter back and forth in the render. There the map
 * follows the rate of the frames around the stretch instead: a straight line between the last
 * well-determined frame before it and the first after it (at the fitted rate at fg's ends).
 */

/**
 * Evidence below this (drift.ts: the cost's rise around the chosen frame) is no evidence: such
 * frames are paced here and reported as uncertain (uncertain.ts), one threshold for both.
 */
export const FLAT = 0.1;
/** Shorter flat runs are left to the matcher: a frame or two is within its own noise. */
const MIN_RUN = 3;

export function steadyPacing(path: Int32Array, evidence: ArrayLike<number>, rate: number, bgFrames: number, pinned: ReadonlySet<number>): Int32Array {
  const n = path.length;
  const out = Int32Array.from(path);
  let i = 0;
  while (i < n) {
    if (evidence[i] >= FLAT || pinned.has(i)) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < n && evidence[j + 1] < FLAT && !pinned.has(j + 1)) j++;
    if (j - i + 1 >= MIN_RUN && (i > 0 || j < n - 1)) {
      const before = i - 1;
      const after = j + 1;
      for (let k = i; k <= j; k++) {
        let v: number;
        if (before >= 0 && after < n) v = path[before] + ((path[after] - path[before]) * (k - before)) / (after - before);
        else if (before >= 0) v = path[before] + rate * (k - before);
        else v = path[after] - rate * (after - k);
        out[k] = Math.max(0, Math.min(bgFrames - 1, Math.round(v)));
      }
    }
    i = j + 1;
  }
  for (let k = 1; k < n; k++) if (out[k] < out[k - 1]) out[k] = out[k - 1];
  return out;
}
