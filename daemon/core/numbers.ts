/** `v` rounded to `digits` decimals: what files and replies carry, so equal results print alike. */
export function round(v: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}
