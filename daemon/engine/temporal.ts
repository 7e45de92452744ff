import { VidkompyError } from './errors';
import type { FeatureSeq } from './features';

/**
 * The temporal engines: a monotonic map from every fg frame to a bg frame.
 *
 * Both videos are reduced to the same region at analysis size (fg's content, bg cropped to where fg
 * sits), each frame normalised to zero mean and unit norm over the compared pixels, so a frame pair's
 * similarity is their NCC: invariant to brightness/contrast grading. A coarse pass over sampled fg
 * frames and every bg frame finds where fg lies in bg (anywhere, at any rate); a fine pass over every
 * fg frame inside a band around it picks the monotonic path of least cost, where each step's cost is
 * 1 − NCC plus a small penalty for departing from the fitted playback rate (which keeps the map
 * drift-free through static stretches where frames cannot be told apart).
 *
 * `full` compares every pixel of fg's content; `mask` only the pixels that change over time in fg,
 * which drops static borders, burnt-in logos and static background that carry no timing.
 */
export const ENGINES = ['full', 'mask'] as const;
export type Engine = (typeof ENGINES)[number];

export interface TemporalOptions {
  engine: Engine;
  fgFps: number;
  bgFps: number;
  /** Half-width of the fine search band in bg frames (default: from the coarse pass's spacing). */
  window?: number;
  /** Manual sync points the map must pass through, as frame indices. */
  anchors?: { fg: number; bg: number }[];
  onProgress?: (fraction: number) => void;
}

export interface TemporalResult {
  bgFrameForFg: Int32Array;
  confidence: Float32Array;
  /** Fitted bg frames per fg frame, and bg frame at fg frame 0, from the whole map. */
  slope: number;
  intercept: number;
  maskFraction: number;
}

/** Which pixels to compare: all, or those that move in fg. */
export function pixelMask(fg: FeatureSeq, engine: Engine): Uint8Array {
  const dim = fg.w * fg.h;
  const mask = new Uint8Array(dim).fill(1);
  if (engine === 'full' || fg.n < 3) return mask;
  const sum = new Float64Array(dim);
  const sum2 = new Float64Array(dim);
  const step = Math.max(1, Math.floor(fg.n / 400));
  let m = 0;
  for (let i = 0; i < fg.n; i += step, m++) {
    const o = i * dim;
    for (let p = 0; p < dim; p++) {
      const v = fg.data[o + p];
      sum[p] += v;
      sum2[p] += v * v;
    }
  }
  const std = new Float64Array(dim);
  for (let p = 0; p < dim; p++) std[p] = Math.sqrt(Math.max(0, sum2[p] / m - (sum[p] / m) ** 2));
  const sorted = Float64Array.from(std).sort();
  const thr = Math.max(3, 0.35 * sorted[Math.floor(dim * 0.75)]);
  let on = 0;
  for (let p = 0; p < dim; p++) on += mask[p] = std[p] > thr ? 1 : 0;
  if (on < dim * 0.05) mask.fill(1);
  return mask;
}

/** Zero-mean, unit-norm vectors of the masked pixels, one per frame. */
export function normalise(seq: FeatureSeq, mask: Uint8Array): { v: Float32Array; dim: number } {
  const idx: number[] = [];
  for (let p = 0; p < mask.length; p++) if (mask[p]) idx.push(p);
  const dim = idx.length;
  const full = seq.w * seq.h;
  const v = new Float32Array(seq.n * dim);
  for (let i = 0; i < seq.n; i++) {
    const o = i * full;
    let mean = 0;
    for (let k = 0; k < dim; k++) mean += seq.data[o + idx[k]];
    mean /= dim;
    let ss = 0;
    for (let k = 0; k < dim; k++) {
      const x = seq.data[o + idx[k]] - mean;
      v[i * dim + k] = x;
      ss += x * x;
    }
    const inv = ss > 1e-6 ? 1 / Math.sqrt(ss) : 0;
    for (let k = 0; k < dim; k++) v[i * dim + k] *= inv;
  }
  return { v, dim };
}

/** Block-average the grid down to at most ~`cells` cells (masked pixels only), then normalise. */
function coarseVectors(seq: FeatureSeq, mask: Uint8Array, cells = 160): { v: Float32Array; dim: number } {
  const k = Math.max(1, Math.round(Math.sqrt((seq.w * seq.h) / cells)));
  const cw = Math.ceil(seq.w / k);
  const ch = Math.ceil(seq.h / k);
  const cellOf = new Int32Array(seq.w * seq.h);
  const count = new Float64Array(cw * ch);
  for (let y = 0; y < seq.h; y++)
    for (let x = 0; x < seq.w; x++) {
      const c = Math.floor(y / k) * cw + Math.floor(x / k);
      cellOf[y * seq.w + x] = mask[y * seq.w + x] ? c : -1;
      if (mask[y * seq.w + x]) count[c]++;
    }
  const data = new Uint8Array(seq.n * cw * ch);
  const acc = new Float64Array(cw * ch);
  const full = seq.w * seq.h;
  for (let i = 0; i < seq.n; i++) {
    acc.fill(0);
    for (let p = 0; p < full; p++) if (cellOf[p] >= 0) acc[cellOf[p]] += seq.data[i * full + p];
    for (let c = 0; c < acc.length; c++) data[i * acc.length + c] = count[c] ? Math.round(acc[c] / count[c]) : 0;
  }
  const cmask = new Uint8Array(cw * ch);
  for (let c = 0; c < cmask.length; c++) cmask[c] = count[c] ? 1 : 0;
  return normalise({ data, n: seq.n, w: cw, h: ch, times: seq.times }, cmask);
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) s += a[ao + k] * b[bo + k];
  return s;
}

/**
 * Monotonic least-cost path through a banded cost matrix. Row r may use columns [lo[r], lo[r]+width[r]);
 * the step between consecutive rows' columns is in [0, maxStep] and costs lambda·|step − rate|.
 */
export function monotonicPath(
  cost: Float32Array,
  rows: number,
  lo: Int32Array,
  width: Int32Array,
  stride: number,
  rate: number,
  maxStep: number,
  lambda: number,
): Int32Array {
  const back = new Int32Array(rows * stride).fill(-1);
  let prev = new Float64Array(stride).fill(Infinity);
  let cur = new Float64Array(stride);
  for (let c = 0; c < width[0]; c++) prev[c] = cost[c];
  for (let r = 1; r < rows; r++) {
    cur.fill(Infinity);
    const dl = lo[r] - lo[r - 1];
    for (let c = 0; c < width[r]; c++) {
      const col = lo[r] + c;
      let best = Infinity;
      let arg = -1;
      for (let step = 0; step <= maxStep; step++) {
        const pc = col - step - lo[r - 1];
        if (pc < 0) break;
        if (pc >= width[r - 1]) continue;
        const v = prev[pc] + lambda * Math.abs(step - rate);
        if (v < best) {
          best = v;
          arg = pc;
        }
      }
      if (arg < 0) {
        // No predecessor within reach (band jumped): continue from the nearest earlier column.
        const pc = Math.min(width[r - 1] - 1, Math.max(0, c + dl));
        best = prev[pc] + lambda * maxStep;
        arg = pc;
      }
      cur[c] = best + cost[r * stride + c];
      back[r * stride + c] = arg;
    }
    [prev, cur] = [cur, prev];
  }
  const path = new Int32Array(rows);
  let c = 0;
  for (let k = 1; k < width[rows - 1]; k++) if (prev[k] < prev[c]) c = k;
  for (let r = rows - 1; r >= 0; r--) {
    path[r] = lo[r] + c;
    if (r > 0) c = back[r * stride + c];
  }
  return path;
}

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
      throw new VidkompyError('BAD_ARGS', `anchors out of order: fg frame ${sorted[k].fg} maps to bg frame ${sorted[k].bg}, before the earlier anchor's ${sorted[k - 1].bg}; fix the anchors`);
    }
  }
  return sorted;
}

/**
 * How far to move the coarse path so it meets the anchors: the miss at each anchor, interpolated
 * linearly between anchors and held constant beyond the first and last.
 */
function anchorCorrection(anchors: { fg: number; bg: number }[], coarseAt: (i: number) => number): (i: number) => number {
  if (!anchors.length) return () => 0;
  const miss = anchors.map((a) => a.bg - coarseAt(a.fg));
  return (i) => {
    if (i <= anchors[0].fg) return miss[0];
    for (let k = 1; k < anchors.length; k++) {
      if (i <= anchors[k].fg) return miss[k - 1] + ((miss[k] - miss[k - 1]) * (i - anchors[k - 1].fg)) / (anchors[k].fg - anchors[k - 1].fg);
    }
    return miss[miss.length - 1];
  };
}

/** Least squares line through (x, y), refitted on the 80% of points nearest the first fit. */
export function robustLine(xs: number[], ys: number[]): { slope: number; intercept: number } {
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
  let idx = xs.map((_, i) => i);
  let line = fit(idx);
  for (let it = 0; it < 3 && idx.length > 4; it++) {
    const res = xs.map((x, i) => ({ i, r: Math.abs(ys[i] - (line.slope * x + line.intercept)) })).sort((a, b) => a.r - b.r);
    idx = res.slice(0, Math.max(4, Math.ceil(res.length * 0.8))).map((e) => e.i);
    line = fit(idx);
  }
  return line;
}

/** A robust scale for cost differences: the median gap between a row's median and minimum cost. */
function costSpread(cost: Float32Array, rows: number, width: Int32Array, stride: number): number {
  const gaps: number[] = [];
  const stepR = Math.max(1, Math.floor(rows / 200));
  for (let r = 0; r < rows; r += stepR) {
    const row = Array.from(cost.subarray(r * stride, r * stride + width[r])).sort((a, b) => a - b);
    if (row.length > 1) gaps.push(row[Math.floor(row.length / 2)] - row[0]);
  }
  gaps.sort((a, b) => a - b);
  return Math.max(1e-4, gaps[Math.floor(gaps.length / 2)] ?? 0.01);
}

/**
 * Per-frame descriptors, one unit-norm row per frame: the dot product of two rows is their
 * similarity in [-1, 1] and 1 − dot their cost. Pixels (zero-mean, so dot = NCC), perceptual hashes
 * and learned embeddings all reduce to this, and every temporal engine works on it.
 */
export interface Descriptors {
  n: number;
  dim: number;
  v: Float32Array;
}

/** What the temporal engines compare: fine descriptors for the banded pass, small ones for the search. */
export interface DescriptorSet {
  fg: Descriptors;
  bg: Descriptors;
  coarseFg: Descriptors;
  coarseBg: Descriptors;
  /** Fraction of pixels compared (the mask engine drops static ones), 1 for other descriptors. */
  maskFraction: number;
}

/** Pixel descriptors of two analysis sequences: all pixels (`full`) or fg's moving ones (`mask`). */
export function pixelDescriptors(fg: FeatureSeq, bg: FeatureSeq, engine: Engine): DescriptorSet {
  const mask = pixelMask(fg, engine);
  let on = 0;
  for (const m of mask) on += m;
  const f = normalise(fg, mask);
  const b = normalise(bg, mask);
  const cf = coarseVectors(fg, mask);
  const cb = coarseVectors(bg, mask);
  return {
    fg: { n: fg.n, dim: f.dim, v: f.v },
    bg: { n: bg.n, dim: b.dim, v: b.v },
    coarseFg: { n: fg.n, dim: cf.dim, v: cf.v },
    coarseBg: { n: bg.n, dim: cb.dim, v: cb.v },
    maskFraction: on / mask.length,
  };
}

export function alignTemporal(d: DescriptorSet, o: TemporalOptions): TemporalResult {
  const nF = d.fg.n;
  const nB = d.bg.n;
  const nominalRate = o.bgFps / o.fgFps;

  // Coarse pass: sampled fg frames × every bg frame, small vectors.
  const cf = d.coarseFg;
  const cb = d.coarseBg;
  const stepF = Math.max(1, Math.ceil(nF / 300));
  const rowsC = Math.ceil(nF / stepF);
  const costC = new Float32Array(rowsC * nB);
  for (let r = 0; r < rowsC; r++) {
    const fo = r * stepF * cf.dim;
    for (let j = 0; j < nB; j++) costC[r * nB + j] = 1 - dot(cf.v, fo, cb.v, j * cb.dim, cf.dim);
  }
  o.onProgress?.(0.3);
  const R = stepF * nominalRate;
  const loC = new Int32Array(rowsC);
  const widthC = new Int32Array(rowsC).fill(nB);
  const lambdaC = (0.1 * costSpread(costC, rowsC, widthC, nB)) / Math.max(1, R);
  const coarse = monotonicPath(costC, rowsC, loC, widthC, nB, R, Math.max(1, Math.ceil(R * 2) + 1), lambdaC);
  const xs = Array.from({ length: rowsC }, (_, r) => r * stepF);
  const line = robustLine(xs, Array.from(coarse));
  // A sane playback rate is within ±25% of the nominal one; otherwise the coarse fit is not evidence.
  const rate = Math.abs(line.slope / nominalRate - 1) < 0.25 ? line.slope : nominalRate;

  // Fine pass: every fg frame, inside a band around the coarse path (bent through the anchors).
  const W = Math.max(o.window ?? 0, Math.ceil(R) + 4);
  const lo = new Int32Array(nF);
  const width = new Int32Array(nF);
  const stride = 2 * W + 1;
  const coarseAt = (i: number) => {
    const r = Math.min(rowsC - 1, Math.floor(i / stepF));
    const r2 = Math.min(rowsC - 1, r + 1);
    const t = r2 === r ? 0 : (i - r * stepF) / stepF;
    return coarse[r] + t * (coarse[r2] - coarse[r]);
  };
  const anchors = checkAnchors(o.anchors ?? [], nF, nB);
  const bend = anchorCorrection(anchors, coarseAt);
  for (let i = 0; i < nF; i++) {
    const pinned = anchors.find((a) => a.fg === i);
    const centre = pinned ? pinned.bg : Math.round(coarseAt(i) + bend(i));
    let a = Math.max(0, Math.min(nB - 1, centre - W));
    if (i > 0) a = Math.max(a, lo[i - 1]);
    const b = pinned ? Math.max(a, pinned.bg) : Math.min(nB - 1, Math.max(a, centre + W));
    if (pinned) a = b;
    lo[i] = a;
    width[i] = b - a + 1;
  }
  const nf = d.fg;
  const nb = d.bg;
  const cost = new Float32Array(nF * stride).fill(2);
  for (let i = 0; i < nF; i++) {
    for (let c = 0; c < width[i]; c++) cost[i * stride + c] = 1 - dot(nf.v, i * nf.dim, nb.v, (lo[i] + c) * nb.dim, nf.dim);
    if (i % 256 === 0) o.onProgress?.(0.3 + (0.6 * i) / nF);
  }
  const lambda = 0.1 * costSpread(cost, nF, width, stride);
  const path = monotonicPath(cost, nF, lo, width, stride, rate, Math.max(1, Math.ceil(rate * 2) + 1), lambda);
  const confidence = new Float32Array(nF);
  for (let i = 0; i < nF; i++) confidence[i] = Math.max(0, Math.min(1, 1 - cost[i * stride + (path[i] - lo[i])]));
  const fit = robustLine(Array.from({ length: nF }, (_, i) => i), Array.from(path));
  o.onProgress?.(1);
  return { bgFrameForFg: path, confidence, slope: fit.slope, intercept: fit.intercept, maskFraction: d.maskFraction };
}
