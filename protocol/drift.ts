/**
 * The drift line: pure arithmetic shared by the daemon (its engines fit the same robust line) and
 * the preview, which draws the fitted offset rather than the per-frame one. bg frames are whole, so
 * each fg frame's own offset (bg − fg time) steps by up to a bg frame around the true, continuous
 * offset — a saw-tooth of ±half a bg frame when the two rates differ. The fit removes that; the
 * per-frame offsets are still drawn beside it, so a map that really departs from the line shows.
 */

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

/**
 * The fg frames that bound a map's stretches between cuts: 0, each cut inside the map (a cut is the
 * fg frame that starts a new stretch) once and in order, and n. Stretch k is bounds[k]..bounds[k+1]-1.
 */
export function stretchBounds(n: number, cuts: readonly number[] = []): number[] {
  return [0, ...[...new Set(cuts.filter((c) => Number.isInteger(c) && c > 0 && c < n))].sort((a, b) => a - b), n];
}

/** One stretch of the map between cuts: bg time ≈ slope · fg time + intercept for fg frames first..last. */
export interface DriftSegment {
  first: number;
  last: number;
  slope: number;
  intercept: number;
}

export interface DriftInput {
  /** Per fg frame, seconds. */
  fgTimes: ArrayLike<number>;
  bgTimeForFg: ArrayLike<number>;
  /** bg's frame rate: its frames are the quantum the map's times come in. */
  bgFps: number;
  /** fg frames that start a new stretch of bg (the edit engine's cuts): the line breaks there. */
  cuts?: readonly number[];
  /** Inclusive fg frame ranges whose bg frame is uncertain: left out of the fit when enough remain. */
  uncertain?: readonly (readonly [number, number])[];
}

/**
 * One line per stretch of the map between cuts, all with one slope (a cut drops footage, it does
 * not change either clock), each with its own intercept.
 *
 * A least-squares line through whole bg frames is off by up to a bg frame over the clip's length
 * (the saw-tooth's phase at the ends tilts it): over a 3 s clip that reads as a drift of a quarter
 * second a minute that is not there. So least squares only finds the frames that follow the line
 * (within a bg frame, or the map's own spread); through those the line is the centre of the
 * narrowest band that holds them all — exact for a clean rate change, whatever its length.
 */
export function fitDrift(v: DriftInput): DriftSegment[] {
  const n = Math.min(v.fgTimes.length, v.bgTimeForFg.length);
  if (n === 0) return [];
  const quantum = v.bgFps > 0 ? 1 / v.bgFps : 0;
  const bounds = stretchBounds(n, v.cuts);
  const doubtful = new Uint8Array(n);
  for (const [a, b] of v.uncertain ?? []) for (let i = Math.max(0, a); i <= Math.min(n - 1, b); i++) doubtful[i] = 1;

  // The frames each stretch is fitted on: the certain ones, unless too few are left.
  const groups: number[][] = [];
  for (let g = 0; g + 1 < bounds.length; g++) {
    let idx: number[] = [];
    for (let i = bounds[g]; i < bounds[g + 1]; i++) if (!doubtful[i]) idx.push(i);
    if (idx.length < 2) idx = Array.from({ length: bounds[g + 1] - bounds[g] }, (_, k) => bounds[g] + k);
    groups.push(idx);
  }
  const x = v.fgTimes;
  const y = v.bgTimeForFg;

  // 1. Robust least squares, one slope: the 80% of frames nearest the line, three times over.
  let kept = groups;
  let { slope, intercepts } = sharedLine(x, y, kept);
  const residuals = (sets: number[][]) => {
    const out = new Float64Array(sets.reduce((a, idx) => a + idx.length, 0));
    let k = 0;
    sets.forEach((idx, g) => {
      for (const i of idx) out[k++] = Math.abs(y[i] - slope * x[i] - intercepts[g]);
    });
    return out.sort();
  };
  for (let it = 0; it < 3; it++) {
    const res = residuals(kept);
    if (res.length <= 4) break;
    const cut = res[Math.max(3, Math.ceil(res.length * 0.8) - 1)];
    kept = kept.map((idx, g) => idx.filter((i) => Math.abs(y[i] - slope * x[i] - intercepts[g]) <= cut));
    ({ slope, intercepts } = sharedLine(x, y, kept));
  }

  // 2. The frames that follow it: within a bg frame of the line (the saw-tooth's own reach).
  const all = residuals(groups);
  const spread = 3 * 1.4826 * (all.length ? all[all.length >> 1] : 0);
  const reach = Math.max(quantum, spread);
  const follow = groups.map((idx, g) => {
    const f = idx.filter((i) => Math.abs(y[i] - slope * x[i] - intercepts[g]) <= reach);
    return f.length ? f : idx;
  });

  // 3. The narrowest band through them: its width is convex in the slope, so a ternary search
  // finds it; the line is the band's centre.
  const width = (s: number) => {
    let w = 0;
    for (const idx of follow) {
      const [lo, hi] = extent(x, y, idx, s);
      w += hi - lo;
    }
    return w;
  };
  const tspan = Math.max(1e-6, x[n - 1] - x[0]);
  let a = slope - (4 * Math.max(quantum, spread)) / tspan - 1e-3;
  let b = slope + (4 * Math.max(quantum, spread)) / tspan + 1e-3;
  for (let it = 0; it < 80 && b - a > 1e-12; it++) {
    const m1 = a + (b - a) / 3;
    const m2 = b - (b - a) / 3;
    if (width(m1) <= width(m2)) b = m2;
    else a = m1;
  }
  const best = (a + b) / 2;
  // Only where the band is narrower than the least-squares line's: a map that is not a line keeps least squares.
  if (width(best) <= width(slope)) slope = best;

  return groups.map((idx, g) => {
    const first = bounds[g];
    const last = bounds[g + 1] - 1;
    if (idx.length < 2 && last === first) return { first, last, slope: 1, intercept: y[first] - x[first] };
    const [lo, hi] = extent(x, y, follow[g], slope);
    return { first, last, slope, intercept: (lo + hi) / 2 };
  });
}

/** Least squares with one slope and an intercept per group of points. */
function sharedLine(x: ArrayLike<number>, y: ArrayLike<number>, groups: number[][]): { slope: number; intercepts: number[] } {
  const means = groups.map((idx) => {
    let sx = 0;
    let sy = 0;
    for (const i of idx) {
      sx += x[i];
      sy += y[i];
    }
    return idx.length ? [sx / idx.length, sy / idx.length] : [0, 0];
  });
  let sxy = 0;
  let sxx = 0;
  groups.forEach((idx, g) => {
    for (const i of idx) {
      const dx = x[i] - means[g][0];
      sxy += dx * (y[i] - means[g][1]);
      sxx += dx * dx;
    }
  });
  // Too little spread in time to see a slope: bg's speed.
  const slope = sxx > 1e-12 ? sxy / sxx : 1;
  return { slope, intercepts: means.map(([mx, my]) => my - slope * mx) };
}

/** The lowest and highest of y − s·x over `idx`. */
function extent(x: ArrayLike<number>, y: ArrayLike<number>, idx: number[], s: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const i of idx) {
    const r = y[i] - s * x[i];
    if (r < lo) lo = r;
    if (r > hi) hi = r;
  }
  return [lo, hi];
}

/** The fitted offset (bg − fg seconds) at every fg frame. */
export function fittedOffsets(segments: readonly DriftSegment[], fgTimes: ArrayLike<number>): Float64Array {
  const out = new Float64Array(fgTimes.length).fill(NaN);
  for (const s of segments) {
    // To the nanosecond: a constant offset then draws as one row of pixels, not two.
    for (let i = s.first; i <= s.last && i < fgTimes.length; i++) out[i] = Math.round((s.slope * fgTimes[i] + s.intercept - fgTimes[i]) * 1e9) / 1e9;
  }
  return out;
}
