/**
 * The last index in [0, hi] whose value is at most v, in ascending `sorted` (by bisection); 0 where
 * none is (the caller decides what a value before the first means).
 */
export function lastAtMost(sorted: ArrayLike<number>, v: number, hi = sorted.length - 1): number {
  let a = 0;
  let b = hi;
  while (a < b) {
    const m = (a + b + 1) >> 1;
    if (sorted[m] <= v) a = m;
    else b = m - 1;
  }
  return a;
}
