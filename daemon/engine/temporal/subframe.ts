/**
 * Sub-frame timing: the map names a whole bg frame for each fg frame, but a fg frame at another
 * rate stands for a moment between two bg frames (fg at 30 fps over bg at 25: fg frame 1 is bg frame
 * 0.833). The local straight line through the map around each fg frame (within its stretch between
 * cuts, and between changes of rate: a freeze frame, a slow-motion stretch, see pieces.ts) says
 * where: exact for a steady rate, the local rate where it drifts. Kept within half a frame of the
 * whole frame the map chose, which stays the decision (and what the render shows).
 */
import { ratePieces } from './pieces';

/** fg frames either side that the local line is fitted on. */
const HALF = 15;

/**
 * Fractional bg frame index per fg frame. `cuts`: the first fg frame of each stretch after a cut.
 * Found from the map alone, so a saved alignment's times can be derived again from its map.
 */
export function subFrame(map: ArrayLike<number>, cuts: readonly number[] = []): Float64Array {
  const n = map.length;
  const out = new Float64Array(n);
  // Prefix sums of i, map and i·map for O(1) window fits.
  const sm = new Float64Array(n + 1);
  const sim = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    sm[i + 1] = sm[i] + map[i];
    sim[i + 1] = sim[i] + i * map[i];
  }
  const starts = [...ratePieces(map, cuts).map((p) => p.first), n];
  for (let s = 0; s + 1 < starts.length; s++) {
    const lo = starts[s];
    const hi = starts[s + 1];
    for (let i = lo; i < hi; i++) {
      const a = Math.max(lo, i - HALF);
      const b = Math.min(hi, i + HALF + 1);
      const k = b - a;
      if (k < 3) {
        out[i] = map[i];
        continue;
      }
      // Least squares of map over [a, b) against i.
      const si = ((a + b - 1) * k) / 2;
      const sii = sumSquares(b - 1) - sumSquares(a - 1);
      const m = sm[b] - sm[a];
      const im = sim[b] - sim[a];
      const den = k * sii - si * si;
      const slope = den > 0 ? (k * im - si * m) / den : 0;
      const fit = (m - slope * si) / k + slope * i;
      out[i] = Math.max(map[i] - 0.5, Math.min(map[i] + 0.5, fit));
    }
  }
  return out;
}

const sumSquares = (v: number) => (v < 0 ? 0 : (v * (v + 1) * (2 * v + 1)) / 6);

/** The time at a fractional frame index, between the two frames' own times. */
export function timeAt(frac: number, timeOf: (j: number) => number, last: number): number {
  const j = Math.max(0, Math.min(last, Math.floor(frac)));
  const f = frac - j;
  if (f <= 0 || j >= last) return timeOf(j) + (j >= last && f > 0 ? f * (timeOf(last) - timeOf(Math.max(0, last - 1))) : 0);
  return timeOf(j) + f * (timeOf(j + 1) - timeOf(j));
}
