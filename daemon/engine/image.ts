/**
 * Grey images as plain typed arrays, row-major. Pure functions: the hot paths of spatial search.
 * Decoded frames stay bytes (a 1080p frame is 2 MB, not 8 as floats); resampled ones are floats.
 */
import type { Rect } from '../core/geometry';
import { resizeArea } from '../native/kernels';

export type Pixels = Float32Array | Uint8Array;

export interface Gray {
  data: Pixels;
  width: number;
  height: number;
}

/** A decoded frame as an image, without copying it. */
export function toGray(buf: Uint8Array, width: number, height: number): Gray {
  return { data: buf, width, height };
}

export function crop(img: Gray, x: number, y: number, w: number, h: number): Gray {
  const data = img.data instanceof Uint8Array ? new Uint8Array(w * h) : new Float32Array(w * h);
  for (let r = 0; r < h; r++) {
    const from = (y + r) * img.width + x;
    data.set(img.data.subarray(from, from + w), r * w);
  }
  return { data, width: w, height: h };
}

/**
 * Per destination pixel: the first source pixel it covers and the weight of each of `taps`
 * consecutive source pixels (box filter), flattened so the inner loops touch one array.
 */
function coverage(src: number, dst: number): { start: Int32Array; taps: number; weights: Float32Array } {
  const scale = src / dst;
  const taps = scale < 1 ? 2 : Math.ceil(scale) + 1;
  const start = new Int32Array(dst);
  const weights = new Float32Array(dst * taps);
  for (let d = 0; d < dst; d++) {
    let a = d * scale;
    let b = (d + 1) * scale;
    if (scale < 1) {
      // Upscaling: sample one source-pixel-wide window centred on the destination pixel.
      const c = (d + 0.5) * scale - 0.5;
      a = Math.max(0, Math.min(src - 1, c));
      b = a + 1;
    }
    const s0 = Math.min(src - 1, Math.floor(a));
    start[d] = s0;
    let sum = 0;
    for (let k = 0; k < taps && s0 + k < src; k++) {
      const lo = Math.max(a, s0 + k);
      const hi = Math.min(b, s0 + k + 1);
      const w = Math.max(0, hi - lo);
      weights[d * taps + k] = w;
      sum += w;
    }
    for (let k = 0; k < taps; k++) weights[d * taps + k] = sum > 0 ? weights[d * taps + k] / sum : k === 0 ? 1 : 0;
  }
  return { start, taps, weights };
}

/** Exactly half size: each output pixel is the mean of a 2×2 block (the common pyramid step). */
function half(img: Gray): Gray {
  const { width: sw, data } = img;
  const dw = sw >> 1;
  const dh = img.height >> 1;
  const out = new Float32Array(dw * dh);
  for (let y = 0; y < dh; y++) {
    const r0 = 2 * y * sw;
    const r1 = r0 + sw;
    for (let x = 0; x < dw; x++) out[y * dw + x] = (data[r0 + 2 * x] + data[r0 + 2 * x + 1] + data[r1 + 2 * x] + data[r1 + 2 * x + 1]) * 0.25;
  }
  return { data: out, width: dw, height: dh };
}

/**
 * Whether the resize is a power-of-two reduction: halving again is the same box filter (a quarter
 * is common: the pyramid's coarse levels), and far cheaper than the general path.
 */
function byHalving(sw: number, sh: number, dw: number, dh: number): boolean {
  const k = sw / dw;
  return k >= 2 && k === sh / dh && Number.isInteger(k) && (k & (k - 1)) === 0;
}

/** Area-average resize (the same box filter as ffmpeg's `flags=area` for downscaling). */
export function resize(img: Gray, dw: number, dh: number): Gray {
  const { width: sw, height: sh } = img;
  if (dw === sw && dh === sh) return img;
  if (byHalving(sw, sh, dw, dh)) {
    let g = half(img);
    while (g.width > dw) g = half(g);
    return g;
  }
  return { data: resizeKept(img, dw, dh, 1), width: dw, height: dh };
}

/**
 * The window `w` (destination pixels) of `resize(img, dw, dh)`, bit for bit, computing only what
 * lies in it; with the window's corner in the resized image. A search around a placement reads the
 * template's area and a few pixels more: resizing whole 1080p frames for it was most of the
 * refinement's own work. Where no resize is needed, the image itself (corner 0, 0: no copy).
 */
export function resizeWindow(img: Gray, dw: number, dh: number, w: Rect): { g: Gray; x: number; y: number } {
  const { width: sw, height: sh } = img;
  if (dw === sw && dh === sh) return { g: img, x: 0, y: 0 };
  if (byHalving(sw, sh, dw, dh)) {
    // Each halving averages aligned 2×2 blocks: the window's source, cut at a multiple of the
    // factor, halves to exactly the window.
    const k = sw / dw;
    let g = crop(img, w.x * k, w.y * k, w.width * k, w.height * k);
    while (g.width > w.width) g = half(g);
    return { g, x: w.x, y: w.y };
  }
  // The box weights of the window's own columns and rows: the kernel then reads only the rows they cover.
  const cx = coverage(sw, dw);
  const cy = coverage(sh, dh);
  const [sx, wx] = [cx.start.subarray(w.x, w.x + w.width), cx.weights.subarray(w.x * cx.taps, (w.x + w.width) * cx.taps)];
  const [sy, wy] = [cy.start.subarray(w.y, w.y + w.height), cy.weights.subarray(w.y * cy.taps, (w.y + w.height) * cy.taps)];
  const data = resizeArea(img.data, sw, sh, 0, 0, sw, sh, sx, wx, cx.taps, sy, wy, cy.taps, w.width, w.height, 1);
  return { g: { data, width: w.width, height: w.height }, x: w.x, y: w.y };
}

/**
 * The general area-average resize to dw×dh, computed only at every `step`-th column of every
 * `step`-th row (all of them at step 1), row-major over those; of the region `r` of img when given
 * (the same as resizing its crop, without copying it).
 */
function resizeKept(img: Gray, dw: number, dh: number, step: number, r?: Rect): Float32Array {
  const sw = r ? r.width : img.width;
  const sh = r ? r.height : img.height;
  const cx = coverage(sw, dw);
  const cy = coverage(sh, dh);
  // native/kernels resizeArea: the two passes over the pixels (about a tenth of an align's own work).
  const [x0, y0] = r ? [r.x, r.y] : [0, 0];
  return resizeArea(img.data, img.width, img.height, x0, y0, sw, sh, cx.start, cx.weights, cx.taps, cy.start, cy.weights, cy.taps, dw, dh, step);
}

/** `resize(crop(img, r…), dw, dh)` without the crop's copy (a 1280×720 region of a 1080p frame is most of it). */
export function resizeRegion(img: Gray, r: Rect, dw: number, dh: number): Gray {
  if (r.x === 0 && r.y === 0 && r.width === img.width && r.height === img.height) return resize(img, dw, dh);
  if ((r.width === dw && r.height === dh) || byHalving(r.width, r.height, dw, dh)) return resize(crop(img, r.x, r.y, r.width, r.height), dw, dh);
  return { data: resizeKept(img, dw, dh, 1, r), width: dw, height: dh };
}

/**
 * Zero-mean copy of a template and its L2 norm: the fixed half of every NCC evaluation. With
 * `step` > 1 only every step-th pixel of every step-th row is kept: a large template scored on a
 * regular subset still peaks at the right whole-pixel position, at a fraction of the cost.
 */
export interface Template {
  /** The kept pixels, zero-mean, row-major over the subset grid. */
  data: Float32Array;
  width: number;
  height: number;
  step: number;
  norm: number;
}

export function template(img: Gray, step = 1): Template {
  const cols = Math.ceil(img.width / step);
  const rows = Math.ceil(img.height / step);
  const data = new Float32Array(cols * rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = img.data[r * step * img.width + c * step];
  return centred(data, img.width, img.height, step);
}

/**
 * `template(resize(img, dw, dh), step)` without computing the resized pixels the template drops:
 * the same values, at about 1/step² of the resize's cost (a 1280×720 fg kept at step 4 resizes a
 * sixteenth of its pixels for each scale tried).
 */
export function resizedTemplate(img: Gray, dw: number, dh: number, step: number): Template {
  const { width: sw, height: sh } = img;
  if (step === 1 || (dw === sw && dh === sh) || byHalving(sw, sh, dw, dh)) return template(resize(img, dw, dh), step);
  return centred(resizeKept(img, dw, dh, step), dw, dh, step);
}

/**
 * The template with the pixels `drop` names (template pixel coordinates) taking no part: zero after
 * centring on the others, so they add nothing to the correlation whatever bg shows there.
 */
export function withoutPixels(t: Template, drop: (x: number, y: number) => boolean): Template {
  const cols = Math.ceil(t.width / t.step);
  const rows = Math.ceil(t.height / t.step);
  const data = Float32Array.from(t.data);
  const kept = new Uint8Array(data.length);
  let mean = 0;
  let n = 0;
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      if (drop(c * t.step, r * t.step)) continue;
      kept[r * cols + c] = 1;
      mean += data[r * cols + c];
      n++;
    }
  if (n === 0 || n === data.length) return t;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < data.length; i++) {
    const v = (data[i] = kept[i] ? data[i] - mean : 0);
    ss += v * v;
  }
  return { ...t, data, norm: Math.sqrt(ss) };
}

/** The kept pixels made zero-mean in place, with their norm. */
function centred(data: Float32Array, width: number, height: number, step: number): Template {
  let mean = 0;
  for (let i = 0; i < data.length; i++) mean += data[i];
  mean /= data.length;
  let ss = 0;
  for (let i = 0; i < data.length; i++) {
    const v = (data[i] -= mean);
    ss += v * v;
  }
  return { data, width, height, step, norm: Math.sqrt(ss) };
}

/** Summed-area tables of an image and of its square, for O(1) window sums. */
export interface Integral {
  s: Float64Array;
  s2: Float64Array;
  w: number;
}

export function integral(img: Gray): Integral {
  const w = img.width + 1;
  const s = new Float64Array(w * (img.height + 1));
  const s2 = new Float64Array(w * (img.height + 1));
  for (let y = 0; y < img.height; y++) {
    let rs = 0;
    let rs2 = 0;
    for (let x = 0; x < img.width; x++) {
      const v = img.data[y * img.width + x];
      rs += v;
      rs2 += v * v;
      s[(y + 1) * w + x + 1] = s[y * w + x + 1] + rs;
      s2[(y + 1) * w + x + 1] = s2[y * w + x + 1] + rs2;
    }
  }
  return { s, s2, w };
}

/** Zero-mean normalised cross-correlation of two equally long arrays; 0 where either is flat. */
export function ncc(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n; i++) {
    sa += a[i];
    sb += b[i];
  }
  const ma = sa / n;
  const mb = sb / n;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i] - ma;
    const y = b[i] - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 1e-9 && bb > 1e-9 ? ab / Math.sqrt(aa * bb) : 0;
}
