import { savitzkyGolay } from '../../native/kernels';

/**
 * Drift correction for the `precise` engine. The failure it fixes: through stretches where frames
 * cannot be told apart (static shots, fades, repeated motion) a least-cost path can wander a few
 * frames off and catch up later — slow "waves" in the offset. Where the evidence is strong the path
 * is right and stays; where it is weak it is replaced by a smooth baseline fitted to the whole map.
 *
 * 1. Baseline: a low-order polynomial (a line by default) through the map, fitted by iteratively
 *    reweighted least squares (weights: each frame's evidence × a Tukey biweight of its residual).
 * 2. Blend: baseline + w · (map − baseline), w = the frame's evidence in [0, 1].
 * 3. A Savitzky-Golay pass over the blend (it keeps straight and gently curved maps exactly).
 * 4. Round, clamp to bg, and take the running maximum: never backwards.
 */
export interface DriftOptions {
  /** bg frame count: the result stays in [0, bgFrames − 1]. */
  bgFrames: number;
  /** Polynomial degree of the baseline (default 1: clock drift is linear in time). */
  degree?: number;
  /** Savitzky-Golay window in fg frames (odd; default ≈ half a second at 30 fps). */
  window?: number;
}

/** Polynomial least squares with weights: coefficients c[0] + c[1]·x + … in the scaled variable. */
function polyfit(x: Float64Array, y: Float64Array, w: Float64Array, degree: number): Float64Array {
  const m = degree + 1;
  const A = new Float64Array(m * m);
  const b = new Float64Array(m);
  const p = new Float64Array(m);
  for (let i = 0; i < x.length; i++) {
    if (w[i] <= 0) continue;
    p[0] = 1;
    for (let k = 1; k < m; k++) p[k] = p[k - 1] * x[i];
    for (let r = 0; r < m; r++) {
      b[r] += w[i] * p[r] * y[i];
      for (let c = 0; c < m; c++) A[r * m + c] += w[i] * p[r] * p[c];
    }
  }
  // Gaussian elimination with partial pivoting: m ≤ 4.
  for (let c = 0; c < m; c++) {
    let piv = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(A[r * m + c]) > Math.abs(A[piv * m + c])) piv = r;
    if (Math.abs(A[piv * m + c]) < 1e-12) return degree > 0 ? polyfit(x, y, w, degree - 1) : new Float64Array([0]);
    for (let k = 0; k < m; k++) [A[c * m + k], A[piv * m + k]] = [A[piv * m + k], A[c * m + k]];
    [b[c], b[piv]] = [b[piv], b[c]];
    for (let r = c + 1; r < m; r++) {
      const f = A[r * m + c] / A[c * m + c];
      for (let k = c; k < m; k++) A[r * m + k] -= f * A[c * m + k];
      b[r] -= f * b[c];
    }
  }
  const coef = new Float64Array(m);
  for (let r = m - 1; r >= 0; r--) {
    let s = b[r];
    for (let k = r + 1; k < m; k++) s -= A[r * m + k] * coef[k];
    coef[r] = s / A[r * m + r];
  }
  return coef;
}

function evalPoly(coef: Float64Array, x: number): number {
  let v = 0;
  for (let k = coef.length - 1; k >= 0; k--) v = v * x + coef[k];
  return v;
}

/**
 * A robust baseline through (i, map[i]) weighted by evidence: a polynomial fitted by iteratively
 * reweighted least squares (weights: each frame's evidence × a Tukey biweight of its residual).
 * Clock drift is linear in time, so degree 1 is the default.
 */
export function baseline(map: ArrayLike<number>, evidence: ArrayLike<number>, degree = 1): Float64Array {
  const n = map.length;
  const x = Float64Array.from({ length: n }, (_, i) => (n > 1 ? (2 * i) / (n - 1) - 1 : 0));
  const y = Float64Array.from(map);
  const base = new Float64Array(n);
  const w = Float64Array.from(evidence, (e) => Math.max(1e-3, e));
  const deg = Math.min(degree, Math.max(0, n - 1));
  let coef = polyfit(x, y, w, deg);
  for (let it = 0; it < 4; it++) {
    for (let i = 0; i < n; i++) base[i] = evalPoly(coef, x[i]);
    const res = Float64Array.from({ length: n }, (_, i) => Math.abs(y[i] - base[i])).sort();
    // Tukey's biweight around 4.685 × a robust scale (MAD), floored at half a frame.
    const scale = Math.max(0.5, 1.4826 * res[Math.floor(n / 2)]) * 4.685;
    for (let i = 0; i < n; i++) {
      const u = (y[i] - base[i]) / scale;
      w[i] = Math.max(1e-3, evidence[i]) * (Math.abs(u) < 1 ? (1 - u * u) ** 2 : 0);
    }
    coef = polyfit(x, y, w, deg);
  }
  for (let i = 0; i < n; i++) base[i] = evalPoly(coef, x[i]);
  return base;
}

export function correctDrift(map: Int32Array, evidence: Float32Array, o: DriftOptions): Int32Array {
  const n = map.length;
  if (n < 3) return Int32Array.from(map);
  const base = baseline(map, evidence, o.degree ?? 1);
  const blend = new Float64Array(n);
  for (let i = 0; i < n; i++) blend[i] = base[i] + Math.max(0, Math.min(1, evidence[i])) * (map[i] - base[i]);
  let win = o.window ?? 15;
  win = Math.min(win, n % 2 ? n : n - 1);
  if (win % 2 === 0) win--;
  const smooth = win >= 5 ? savitzkyGolay(blend, win, Math.min(3, win - 2)) : blend;
  const out = new Int32Array(n);
  let run = 0;
  for (let i = 0; i < n; i++) {
    const v = Math.max(0, Math.min(o.bgFrames - 1, Math.round(smooth[i])));
    run = i === 0 ? v : Math.max(run, v);
    out[i] = run;
  }
  return out;
}

/**
 * How well each frame's match is determined, in [0, 1]: the rise of the cost `k` bg frames either
 * side of the chosen one, relative to a typical rise. Static stretches score near 0, frames that
 * match one bg frame clearly near 1.
 */
export function evidenceFromSharpness(sharpness: Float32Array): Float32Array {
  const sorted = Float32Array.from(sharpness).sort();
  // The typical rise of a well-determined frame: the 75th percentile (robust to static stretches).
  const ref = Math.max(1e-6, sorted[Math.floor(sorted.length * 0.75)] ?? 0);
  return Float32Array.from(sharpness, (s) => Math.max(0, Math.min(1, s / (0.5 * ref))));
}
