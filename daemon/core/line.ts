/** Least squares line through (x, y), refitted on the 80% of points nearest the first fit. */
export function robustLine(xs: ArrayLike<number>, ys: ArrayLike<number>): { slope: number; intercept: number } {
  const fit = (idx: number[]) => {
    const n = idx.length;
    let sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (const i of idx) {
      sx += xs[i];
      sy += ys[i];
      sxx += xs[i] * xs[i];
      sxy += xs[i] * ys[i];
    }
    const d = n * sxx - sx * sx;
    const slope = d > 1e-9 ? (n * sxy - sx * sy) / d : 0;
    return { slope, intercept: (sy - slope * sx) / Math.max(1, n) };
  };
  let idx = Array.from({ length: xs.length }, (_, i) => i);
  let line = fit(idx);
  for (let it = 0; it < 3 && idx.length > 4; it++) {
    const res = idx.map((i) => ({ i, r: Math.abs(ys[i] - (line.slope * xs[i] + line.intercept)) })).sort((a, b) => a.r - b.r);
    idx = res.slice(0, Math.max(4, Math.ceil(res.length * 0.8))).map((e) => e.i);
    line = fit(idx);
  }
  return line;
}
