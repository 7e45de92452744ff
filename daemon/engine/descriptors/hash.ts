import type { Engine } from '../../../protocol/project';
import type { Rect } from '../../core/geometry';
import { readFrames } from '../../media/ffmpeg';
import type { Described, DescriptorKind, Descriptors, DescriptorSet, FeatureSeq } from './types';

/**
 * Perceptual fingerprints for the `fast` engine, from one 32×32 RGB thumbnail per frame:
 * - pHash: the signs of the 8×8 lowest 2-D DCT frequencies of the grey image against their median;
 * - aHash: the 8×8 block means against their mean;
 * - dHash: left-to-right brightness gradients on a 9×8 grid;
 * - a 4×4×4 RGB colour histogram (grading moves it; the hashes, which are built on comparisons,
 *   mostly do not — together they separate frames that either alone confuses).
 * Each hash is a 64-bit word; each kind is stored as its own array (a plane) for the Hamming kernel.
 */
export const HASH_SIZE = 32;
export const HIST_BINS = 64;

/** Weights of the combined distance: pHash, aHash, dHash, colour. They sum to 1. */
export const WEIGHTS = { p: 0.35, a: 0.2, d: 0.25, hist: 0.2 } as const;

export interface HashSeq {
  n: number;
  /** One word per frame for each hash. */
  p: BigUint64Array;
  a: BigUint64Array;
  d: BigUint64Array;
  /** n × 64 colour histograms, each summing to 1. */
  hist: Float32Array;
  /** n × 32 × 32 grey thumbnails (for the final frame-accurate pass). */
  grey: Uint8Array;
}

const N = HASH_SIZE;
const COS = (() => {
  const t = new Float64Array(8 * N);
  for (let u = 0; u < 8; u++) for (let x = 0; x < N; x++) t[u * N + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N));
  return t;
})();

function bitsOf(values: ArrayLike<number>, threshold: number): bigint {
  let w = 0n;
  for (let k = 0; k < 64; k++) if (values[k] > threshold) w |= 1n << BigInt(k);
  return w;
}

function median(values: ArrayLike<number>): number {
  const s = Float64Array.from(values).sort();
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Fingerprints of one 32×32 RGB24 thumbnail, written at frame index `i` of `out`. */
export function hashFrame(rgb: Uint8Array, out: HashSeq, i: number): void {
  const g = out.grey.subarray(i * N * N, (i + 1) * N * N);
  const hist = out.hist.subarray(i * HIST_BINS, (i + 1) * HIST_BINS);
  for (let p = 0; p < N * N; p++) {
    const r = rgb[3 * p];
    const gr = rgb[3 * p + 1];
    const b = rgb[3 * p + 2];
    g[p] = Math.round(0.299 * r + 0.587 * gr + 0.114 * b);
    hist[((r >> 6) << 4) | ((gr >> 6) << 2) | (b >> 6)] += 1 / (N * N);
  }
  // pHash: 8×8 low frequencies of the DCT (separable, only the needed rows and columns).
  const rows = new Float64Array(8 * N);
  for (let u = 0; u < 8; u++)
    for (let y = 0; y < N; y++) {
      let s = 0;
      for (let x = 0; x < N; x++) s += COS[u * N + x] * g[y * N + x];
      rows[u * N + y] = s;
    }
  const dct = new Float64Array(64);
  for (let v = 0; v < 8; v++)
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let y = 0; y < N; y++) s += COS[v * N + y] * rows[u * N + y];
      dct[v * 8 + u] = s;
    }
  // The DC term is brightness, not structure: exclude it from the median.
  const p = bitsOf(dct, median(dct.subarray(1)));
  // aHash: 4×4 blocks → 8×8 means.
  const means = new Float64Array(64);
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) means[((y >> 2) << 3) | (x >> 2)] += g[y * N + x] / 16;
  const a = bitsOf(means, means.reduce((s, v) => s + v, 0) / 64);
  // dHash: 9 columns × 8 rows of box means; bit = brighter to the right.
  const grad = new Float64Array(64);
  for (let yy = 0; yy < 8; yy++) {
    const col = (cx: number) => {
      let s = 0;
      const x0 = Math.floor((cx * N) / 9);
      const x1 = Math.max(x0 + 1, Math.floor(((cx + 1) * N) / 9));
      for (let y = yy * 4; y < yy * 4 + 4; y++) for (let x = x0; x < x1; x++) s += g[y * N + x];
      return s / (4 * (x1 - x0));
    };
    let left = col(0);
    for (let xx = 0; xx < 8; xx++) {
      const right = col(xx + 1);
      grad[yy * 8 + xx] = right - left;
      left = right;
    }
  }
  const d = bitsOf(grad, 0);
  out.p[i] = p;
  out.a[i] = a;
  out.d[i] = d;
}

export function emptyHashSeq(n: number): HashSeq {
  return {
    n,
    p: new BigUint64Array(n),
    a: new BigUint64Array(n),
    d: new BigUint64Array(n),
    hist: new Float32Array(n * HIST_BINS),
    grey: new Uint8Array(n * N * N),
  };
}

/**
 * The combined distance in [0, 1] given the three Hamming distances and the two frames' colour
 * histograms: weighted Hamming fractions plus 1 − the Bhattacharyya coefficient.
 */
export function hashDistance(hp: number, ha: number, hd: number, fgHist: Float32Array, fi: number, bgHist: Float32Array, bj: number): number {
  let bc = 0;
  for (let k = 0; k < HIST_BINS; k++) bc += Math.sqrt(fgHist[fi * HIST_BINS + k] * bgHist[bj * HIST_BINS + k]);
  return (WEIGHTS.p * hp + WEIGHTS.a * ha + WEIGHTS.d * hd) / 64 + WEIGHTS.hist * (1 - Math.min(1, bc));
}

/**
 * The same distance as unit vectors, so the pyramid's dot-product machinery can search with it:
 * each hash bit becomes ±√(w/64) and the histogram √(w·h); then dot = 1 − 2·(weighted Hamming
 * fraction) on the hash part and w·BC on the colour part.
 */
export function hashDescriptors(seq: HashSeq): Descriptors {
  const dim = 3 * 64 + HIST_BINS;
  const v = new Float32Array(seq.n * dim);
  const scale = [Math.sqrt(WEIGHTS.p / 64), Math.sqrt(WEIGHTS.a / 64), Math.sqrt(WEIGHTS.d / 64)];
  for (let i = 0; i < seq.n; i++) {
    const o = i * dim;
    [seq.p[i], seq.a[i], seq.d[i]].forEach((w, h) => {
      for (let k = 0; k < 64; k++) v[o + h * 64 + k] = (w >> BigInt(k)) & 1n ? scale[h] : -scale[h];
    });
    for (let k = 0; k < HIST_BINS; k++) v[o + 192 + k] = Math.sqrt(WEIGHTS.hist * seq.hist[i * HIST_BINS + k]);
  }
  return { n: seq.n, dim, v };
}

/** Zero-mean unit rows of the grey thumbnails: dot = NCC, for the frame-accurate last pass. */
export function greyDescriptors(seq: HashSeq): Descriptors {
  const dim = N * N;
  const v = new Float32Array(seq.n * dim);
  for (let i = 0; i < seq.n; i++) {
    const o = i * dim;
    let mean = 0;
    for (let k = 0; k < dim; k++) mean += seq.grey[o + k];
    mean /= dim;
    let ss = 0;
    for (let k = 0; k < dim; k++) ss += (v[o + k] = seq.grey[o + k] - mean) ** 2;
    const inv = ss > 1e-9 ? 1 / Math.sqrt(ss) : 0;
    for (let k = 0; k < dim; k++) v[o + k] *= inv;
  }
  return { n: seq.n, dim, v };
}

/**
 * Fingerprints of every frame of one region (the `fast` engine): 32×32 RGB thumbnails straight from
 * ffmpeg, hashed as they stream in; the grey thumbnails double as a small FeatureSeq.
 */
export async function extractHashFeatures(
  file: string,
  region: Rect,
  expectedFrames: number,
  onFrame?: (n: number) => void,
  signal?: AbortSignal,
): Promise<{ hashes: HashSeq; seq: FeatureSeq }> {
  let hashes = emptyHashSeq(Math.max(1, expectedFrames + 8));
  let n = 0;
  const times: number[] = [];
  const filter = `crop=${region.width}:${region.height}:${region.x}:${region.y}:exact=1,scale=${HASH_SIZE}:${HASH_SIZE}:flags=area`;
  for await (const f of readFrames({
    file,
    filter,
    pixFmt: 'rgb24',
    width: HASH_SIZE,
    height: HASH_SIZE,
    onTime: (t) => times.push(t),
    signal,
    analysis: true,
    what: 'decoding for alignment',
  })) {
    if (n >= hashes.n) hashes = grow(hashes, hashes.n * 2);
    hashFrame(f, hashes, n++);
    onFrame?.(n);
  }
  hashes = grow(hashes, n);
  const seq = { data: hashes.grey, n, w: HASH_SIZE, h: HASH_SIZE, times: times.length === n ? Float64Array.from(times) : new Float64Array(0) };
  return { hashes, seq };
}

function grow(h: HashSeq, n: number): HashSeq {
  const out = emptyHashSeq(n);
  const m = Math.min(n, h.n);
  out.p.set(h.p.subarray(0, m));
  out.a.set(h.a.subarray(0, m));
  out.d.set(h.d.subarray(0, m));
  out.hist.set(h.hist.subarray(0, m * HIST_BINS));
  out.grey.set(h.grey.subarray(0, m * HASH_SIZE * HASH_SIZE));
  return out;
}

/** A region described by its frames' fingerprints; the fast engine matches these directly. */
export interface HashDescribed extends Described {
  hashes: HashSeq;
}

/** The `hash` descriptor kind: perceptual hashes and a colour histogram per frame (the fast engine's). */
export const hashKind: DescriptorKind<HashDescribed> = {
  name: 'hash',
  // 64-bit hashes and a histogram are coarser than pixels: a graded right pair means 0.95.
  supported: 0.9,
  key: ({ region }) => `hash:${JSON.stringify(region)}`,
  async describe({ video, region, onFrame, signal }) {
    const { hashes, seq } = await extractHashFeatures(video.file, region, video.frameCount, onFrame, signal);
    return { hashes, seq };
  },
  pair(fg: HashDescribed, bg: HashDescribed, _engine: Engine): DescriptorSet {
    const f = hashDescriptors(fg.hashes);
    const b = hashDescriptors(bg.hashes);
    return { fg: f, bg: b, coarseFg: f, coarseBg: b, maskFraction: 1 };
  },
  bytes: (d) => d.hashes.n * (24 + HIST_BINS * 4) + d.seq.data.length + d.seq.times.length * 8,
};
