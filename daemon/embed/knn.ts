import { type Descriptors } from '../engine/descriptors/types';
import { robustLine } from '../core/line';
import { batchDot } from '../native/kernels';

/**
 * Coarse anchors for very long bg videos: for sampled fg frames, their best-matching bg frames by
 * exact nearest-neighbour search over the embeddings (dot products of unit rows), then a monotone
 * line through the matches that agree with each other, to seed the temporal band.
 *
 * Exact, not approximate: at these sizes (300 fg samples against ≤ 10^5 bg frames of ~10^3
 * values) one blocked matrix product on the native kernel takes seconds (measured: 2.3 s for 20,000
 * bg frames, 14.5 s for 100,000, i.e. an hour at 30 fps whose decoding takes minutes) and needs no
 * index to build, tune or keep; an approximate index would only pay at millions of frames.
 */

export interface KnnOptions {
  /** How many fg frames to sample, evenly spread (default 300; all frames when fewer). */
  samples?: number;
  /** Or exactly which fg frames to query. */
  fgIndex?: ArrayLike<number>;
  /** Neighbours per sampled frame (default 5). */
  k?: number;
  /**
   * Minimum distance between two neighbours of one query, in bg frames (default 1: plain top-k).
   * Neighbouring bg frames look alike, so without it the top k are one place, k times.
   */
  separation?: number;
  /** bg rows per block of the matrix product (bounds memory: samples × block floats). */
  block?: number;
}

export interface KnnMatches {
  /** The sampled fg frames, ascending. */
  fgIndex: Int32Array;
  k: number;
  /** rows × k bg frames, best first; −1 where fewer than k qualified. */
  bgIndex: Int32Array;
  /** rows × k dot products, matching bgIndex (−Infinity where bgIndex is −1). */
  score: Float32Array;
}

export function sampleRows(n: number, samples: number): Int32Array {
  const m = Math.max(1, Math.min(n, samples));
  return Int32Array.from({ length: m }, (_, r) => (m === 1 ? 0 : Math.round((r * (n - 1)) / (m - 1))));
}

/** Exact top-k bg frames for each sampled fg frame. */
export function knnMatches(fg: Descriptors, bg: Descriptors, o: KnnOptions = {}): KnnMatches {
  if (fg.dim !== bg.dim) throw new RangeError(`knnMatches: fg rows have ${fg.dim} values, bg rows ${bg.dim}; embed both with the same model`);
  const dim = fg.dim;
  const fgIndex = o.fgIndex ? Int32Array.from(o.fgIndex) : sampleRows(fg.n, o.samples ?? 300);
  const rows = fgIndex.length;
  const k = Math.max(1, o.k ?? 5);
  const sep = Math.max(1, Math.floor(o.separation ?? 1));
  const block = Math.max(1, o.block ?? 4096);
  const q = new Float32Array(rows * dim);
  fgIndex.forEach((f, r) => q.set(fg.v.subarray(f * dim, (f + 1) * dim), r * dim));
  // Best score and frame per bucket of `sep` bg frames: separation is enforced among bucket winners.
  const buckets = Math.ceil(bg.n / sep);
  const bestS = new Float32Array(rows * buckets).fill(-Infinity);
  const bestJ = new Int32Array(rows * buckets).fill(-1);
  for (let j0 = 0; j0 < bg.n; j0 += block) {
    const j1 = Math.min(bg.n, j0 + block);
    const cols = j1 - j0;
    const sims = batchDot(q, rows, bg.v.subarray(j0 * dim, j1 * dim), cols, dim);
    for (let r = 0; r < rows; r++) {
      const so = r * cols;
      const bo = r * buckets;
      for (let c = 0; c < cols; c++) {
        const s = sims[so + c];
        const b = bo + Math.floor((j0 + c) / sep);
        if (s > bestS[b]) {
          bestS[b] = s;
          bestJ[b] = j0 + c;
        }
      }
    }
  }
  const bgIndex = new Int32Array(rows * k).fill(-1);
  const score = new Float32Array(rows * k).fill(-Infinity);
  const order = new Int32Array(buckets);
  for (let r = 0; r < rows; r++) {
    const bo = r * buckets;
    for (let b = 0; b < buckets; b++) order[b] = b;
    order.sort((x, y) => bestS[bo + y] - bestS[bo + x]);
    let got = 0;
    for (let t = 0; t < buckets && got < k; t++) {
      const j = bestJ[bo + order[t]];
      if (j < 0) break;
      let clear = true;
      for (let g = 0; g < got; g++) if (Math.abs(bgIndex[r * k + g] - j) < sep) clear = false;
      if (!clear) continue;
      bgIndex[r * k + got] = j;
      score[r * k + got] = bestS[bo + order[t]];
      got++;
    }
  }
  return { fgIndex, k, bgIndex, score };
}

export interface BandSeed {
  /** bg frame ≈ slope · fg frame + intercept, fitted robustly through the chain. */
  slope: number;
  intercept: number;
  /** The chosen matches: one per sampled row at most, non-decreasing in both videos. */
  chain: { fg: Int32Array; bg: Int32Array; score: Float32Array };
  /** Share of sampled rows whose match made it into the chain (how much the seed is backed). */
  support: number;
  /** Largest distance of a chain match from the line, bg frames: a band half-width that holds it. */
  spread: number;
}

export interface SeedOptions {
  /** Expected bg frames per fg frame (bgFps / fgFps); steps are limited to ±tolerance of it. */
  rate?: number;
  /** Relative rate tolerance between chained matches (default 0.25, as the temporal engine). */
  tolerance?: number;
  /** Extra slack per step, bg frames (default 2): frame rounding and near-identical frames. */
  slack?: number;
}

/**
 * The heaviest chain of matches that runs forward in both videos at a plausible rate (weight: the
 * match's score; rows may be skipped, so outliers drop out), and a robust line through it.
 */
export function bandSeed(m: KnnMatches, o: SeedOptions = {}): BandSeed {
  const { fgIndex, k, bgIndex, score } = m;
  const rows = fgIndex.length;
  const tol = o.tolerance ?? 0.25;
  const slack = o.slack ?? 2;
  const n = rows * k;
  const total = new Float64Array(n).fill(-Infinity);
  const prev = new Int32Array(n).fill(-1);
  const fits = (a: number, b: number) => {
    const df = fgIndex[Math.floor(b / k)] - fgIndex[Math.floor(a / k)];
    const db = bgIndex[b] - bgIndex[a];
    if (db < 0 || df <= 0) return false;
    if (o.rate === undefined) return true;
    return db >= df * o.rate * (1 - tol) - slack && db <= df * o.rate * (1 + tol) + slack;
  };
  let best = -1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < k; c++) {
      const i = r * k + c;
      if (bgIndex[i] < 0 || !(score[i] > 0)) continue;
      let t = score[i];
      // Predecessors from every earlier row: O(rows² k²), a few million steps at 300 × 5.
      for (let a = 0; a < r * k; a++) {
        if (total[a] === -Infinity || total[a] + score[i] <= t || !fits(a, i)) continue;
        t = total[a] + score[i];
        prev[i] = a;
      }
      total[i] = t;
      if (best < 0 || t > total[best]) best = i;
    }
  }
  const picked: number[] = [];
  for (let i = best; i >= 0; i = prev[i]) picked.push(i);
  picked.reverse();
  const chain = {
    fg: Int32Array.from(picked, (i) => fgIndex[Math.floor(i / k)]),
    bg: Int32Array.from(picked, (i) => bgIndex[i]),
    score: Float32Array.from(picked, (i) => score[i]),
  };
  if (picked.length < 2) {
    const b0 = picked.length ? chain.bg[0] - (o.rate ?? 1) * chain.fg[0] : 0;
    return { slope: o.rate ?? 1, intercept: b0, chain, support: picked.length / Math.max(1, rows), spread: 0 };
  }
  const line = robustLine(Array.from(chain.fg), Array.from(chain.bg));
  let spread = 0;
  for (let t = 0; t < picked.length; t++) spread = Math.max(spread, Math.abs(chain.bg[t] - (line.slope * chain.fg[t] + line.intercept)));
  return { ...line, chain, support: picked.length / rows, spread };
}
