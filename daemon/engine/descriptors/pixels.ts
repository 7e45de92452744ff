import type { Engine } from '../../../protocol/project';
import { extractFeatures } from './frames';
import type { Described, DescriptorKind, DescriptorSet, FeatureSeq } from './types';

/** Pixel descriptors of two analysis sequences: all pixels, or only fg's moving ones (the `mask` engine). */
export function pixelDescriptors(fg: FeatureSeq, bg: FeatureSeq, engine: Engine, foreign?: Uint8Array): DescriptorSet {
  const mask = pixelMask(fg, engine === 'mask');
  if (foreign) for (let p = 0; p < mask.length; p++) if (foreign[p]) mask[p] = 0;
  let on = 0;
  for (const m of mask) on += m;
  const f = normalise(fg, mask);
  const b = normalise(bg, mask);
  // Small analysis frames (long videos) have no coarser grid: the same vectors serve, not a copy
  // of them (at 24×14 a copy was 260 MB of an hour-long pair's 765).
  const cf = coarseVectors(fg, mask) ?? f;
  const cb = coarseVectors(bg, mask) ?? b;
  return {
    fg: { n: fg.n, dim: f.dim, v: f.v },
    bg: { n: bg.n, dim: b.dim, v: b.v },
    coarseFg: { n: fg.n, dim: cf.dim, v: cf.v },
    coarseBg: { n: bg.n, dim: cb.dim, v: cb.v },
    maskFraction: on / mask.length,
  };
}

/** Which pixels to compare: all, or those that move in fg. */
export function pixelMask(fg: FeatureSeq, moving: boolean): Uint8Array {
  const dim = fg.w * fg.h;
  const mask = new Uint8Array(dim).fill(1);
  if (!moving || fg.n < 3) return mask;
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

/**
 * Block-average the grid down to at most ~`cells` cells (masked pixels only), then normalise;
 * undefined where the blocks would be single pixels (the coarse vectors would be normalise's own).
 */
function coarseVectors(seq: FeatureSeq, mask: Uint8Array, cells = 160): { v: Float32Array; dim: number } | undefined {
  const k = Math.max(1, Math.round(Math.sqrt((seq.w * seq.h) / cells)));
  if (k === 1) return undefined;
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

/**
 * The `pixels` descriptor kind (the default): each frame's region, grey at analysis size, as a
 * zero-mean unit vector, so the dot product of two frames is their NCC — immune to brightness and
 * contrast grading. The mask engine compares only the pixels that move in fg.
 */
export const pixelsKind: DescriptorKind = {
  name: 'pixels',
  // Right pairs of the trust corpus: 0.98–1.00 (a 128×72 inset over fast motion 0.94, found after
  // one other placement was tried); wrong basins found by the sampled search: 0.56–0.93.
  supported: 0.97,
  key: ({ region, size }) => `px:${JSON.stringify(region)}:${size.w}x${size.h}`,
  async describe({ video, region, size, onFrame, signal, split }): Promise<Described> {
    return { seq: await extractFeatures(video.file, region, size.w, size.h, video.frameCount, onFrame, signal, split) };
  },
  pair: (fg, bg, engine, foreign) => pixelDescriptors(fg.seq, bg.seq, engine, foreign),
  bytes: (d) => d.seq.data.length + d.seq.times.length * 8,
};
