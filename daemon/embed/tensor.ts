import type { ModelSpec } from './model';

/**
 * Pixel-to-tensor conversion and row normalisation: pure functions over typed arrays, the hot path
 * between the decoder and the model.
 */

/** Per channel, the float for each byte value: (v / 255 − mean) / std, so conversion is a lookup. */
export function channelTables(spec: Pick<ModelSpec, 'mean' | 'std'>): Float32Array[] {
  return [0, 1, 2].map((c) => {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = (v / 255 - spec.mean[c]) / spec.std[c];
    return t;
  });
}

/**
 * Writes one rgb24 frame (w×h, interleaved) into `out` at `offset` (in floats), as planar
 * channels (`nchw`) or interleaved (`nhwc`).
 */
export function frameToTensor(rgb: Uint8Array, w: number, h: number, tables: Float32Array[], layout: 'nchw' | 'nhwc', out: Float32Array, offset: number): void {
  const plane = w * h;
  const [r, g, b] = tables;
  if (layout === 'nhwc') {
    for (let p = 0, q = offset; p < plane * 3; p += 3, q += 3) {
      out[q] = r[rgb[p]];
      out[q + 1] = g[rgb[p + 1]];
      out[q + 2] = b[rgb[p + 2]];
    }
    return;
  }
  const o0 = offset;
  const o1 = offset + plane;
  const o2 = offset + 2 * plane;
  for (let p = 0, i = 0; i < plane; p += 3, i++) {
    out[o0 + i] = r[rgb[p]];
    out[o1 + i] = g[rgb[p + 1]];
    out[o2 + i] = b[rgb[p + 2]];
  }
}

/**
 * Copies `rows` rows of `dim` from `src` into `dst` at row `at`, each scaled to unit L2 norm (so a
 * dot product is a cosine similarity). An all-zero row (a blank frame) stays zero: it matches
 * nothing rather than everything.
 */
export function unitRows(src: Float32Array, rows: number, dim: number, dst: Float32Array, at: number): void {
  for (let r = 0; r < rows; r++) {
    const so = r * dim;
    const dO = (at + r) * dim;
    let ss = 0;
    for (let k = 0; k < dim; k++) ss += src[so + k] * src[so + k];
    const inv = ss > 1e-20 ? 1 / Math.sqrt(ss) : 0;
    for (let k = 0; k < dim; k++) dst[dO + k] = src[so + k] * inv;
  }
}
