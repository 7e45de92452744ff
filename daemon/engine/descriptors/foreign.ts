import type { Rect } from '../../core/geometry';
import type { FeatureSeq } from './types';

/**
 * Pixels of fg that bg does not have: burnt-in timecode, subtitles, logos, channel bugs. Found
 * where fg's analysis frames and the bg frames the map pairs them with disagree far more than the
 * rest of the picture does, across many pairs; the temporal and spatial matches then leave them out.
 */

/** A mask over fg's content rect (1 = foreign), at analysis resolution. */
export interface ForeignMask {
  w: number;
  h: number;
  data: Uint8Array;
  /** Share of fg's content left out. */
  fraction: number;
}

/** fg frames compared: enough to tell fixed graphics from moving subjects, few enough to be cheap. */
const PAIRS = 200;
/** Below this share nothing is left out: a few stray pixels are noise, not graphics. */
const MIN_SHARE = 0.004;
/** Above it, fg and bg disagree everywhere: a wrong match, which trust judges, not graphics. */
const MAX_SHARE = 0.3;

/**
 * Per pixel of the analysis grid, the mean absolute difference of fg's and its matched bg frame's
 * standardised values; pixels far above the typical difference (and well above it in absolute
 * terms) are foreign. Standardised per frame over the pixels still kept, twice, so the graphics do
 * not skew the scale the rest is measured on.
 */
export function foreignPixels(fg: FeatureSeq, bg: FeatureSeq, map: ArrayLike<number>): Uint8Array | undefined {
  if (!fg.w || fg.w !== bg.w || fg.h !== bg.h || fg.n < 3) return undefined;
  const dim = fg.w * fg.h;
  const step = Math.max(1, Math.floor(fg.n / PAIRS));
  let keep = new Uint8Array(dim).fill(1);
  let foreign: Uint8Array | undefined;
  for (let round = 0; round < 2; round++) {
    const res = residuals(fg, bg, map, step, keep);
    if (!res) return undefined;
    const sorted = Float64Array.from(res).sort();
    const median = sorted[dim >> 1];
    const thr = Math.max(3 * median, median + 0.6);
    const next = new Uint8Array(dim);
    let on = 0;
    for (let p = 0; p < dim; p++) on += next[p] = res[p] > thr ? 1 : 0;
    if (on < dim * MIN_SHARE || on > dim * MAX_SHARE) return undefined;
    foreign = next;
    keep = next.map((v) => 1 - v);
  }
  return foreign && dilate(foreign, fg.w, fg.h);
}

function residuals(fg: FeatureSeq, bg: FeatureSeq, map: ArrayLike<number>, step: number, keep: Uint8Array): Float64Array | undefined {
  const dim = fg.w * fg.h;
  const res = new Float64Array(dim);
  const zf = new Float32Array(dim);
  const zb = new Float32Array(dim);
  let m = 0;
  for (let i = 0; i < fg.n; i += step) {
    const j = map[i];
    if (!(j >= 0 && j < bg.n)) continue;
    if (!standardise(fg.data, i * dim, dim, keep, zf) || !standardise(bg.data, j * dim, dim, keep, zb)) continue;
    for (let p = 0; p < dim; p++) res[p] += Math.abs(zf[p] - zb[p]);
    m++;
  }
  if (m < 3) return undefined;
  for (let p = 0; p < dim; p++) res[p] /= m;
  return res;
}

function standardise(data: Uint8Array, o: number, dim: number, keep: Uint8Array, out: Float32Array): boolean {
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (let p = 0; p < dim; p++) {
    if (!keep[p]) continue;
    const v = data[o + p];
    s += v;
    s2 += v * v;
    n++;
  }
  const mean = s / n;
  const sd = Math.sqrt(Math.max(0, s2 / n - mean * mean));
  if (sd < 1) return false;
  for (let p = 0; p < dim; p++) out[p] = (data[o + p] - mean) / sd;
  return true;
}

/** Graphics' edges blur into their neighbours at analysis size: one pixel more all round. */
function dilate(m: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(m.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      if (!m[y * w + x]) continue;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx >= 0 && yy >= 0 && xx < w && yy < h) out[yy * w + xx] = 1;
        }
    }
  return out;
}

/** A mask on the analysis grid of `fgRect` (w×h) as a mask over fg's content rect. */
export function onContent(grid: Uint8Array, w: number, h: number, fgRect: Rect, content: Rect): ForeignMask {
  // The grid's resolution, stretched over the whole content (parts of it outside fgRect stay kept).
  const cw = Math.max(1, Math.round((w * content.width) / fgRect.width));
  const ch = Math.max(1, Math.round((h * content.height) / fgRect.height));
  const data = new Uint8Array(cw * ch);
  let on = 0;
  for (let y = 0; y < ch; y++)
    for (let x = 0; x < cw; x++) {
      const fx = content.x + ((x + 0.5) * content.width) / cw;
      const fy = content.y + ((y + 0.5) * content.height) / ch;
      const gx = Math.floor(((fx - fgRect.x) * w) / fgRect.width);
      const gy = Math.floor(((fy - fgRect.y) * h) / fgRect.height);
      if (gx >= 0 && gy >= 0 && gx < w && gy < h) on += data[y * cw + x] = grid[gy * w + gx];
    }
  return { w: cw, h: ch, data, fraction: on / data.length };
}

/** The content mask sampled onto the analysis grid (w×h) of `fgRect`. */
export function onGrid(m: ForeignMask, w: number, h: number, fgRect: Rect, content: Rect): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const cx = Math.floor(((fgRect.x + ((x + 0.5) * fgRect.width) / w - content.x) * m.w) / content.width);
      const cy = Math.floor(((fgRect.y + ((y + 0.5) * fgRect.height) / h - content.y) * m.h) / content.height);
      if (cx >= 0 && cy >= 0 && cx < m.w && cy < m.h) out[y * w + x] = m.data[cy * m.w + cx];
    }
  return out;
}

/** Whether template cell (col, row) of a tw×th template over fg's content falls on foreign pixels. */
export function foreignAt(m: ForeignMask, tw: number, th: number): (x: number, y: number) => boolean {
  return (x, y) => m.data[Math.min(m.h - 1, Math.floor(((y + 0.5) * m.h) / th)) * m.w + Math.min(m.w - 1, Math.floor(((x + 0.5) * m.w) / tw))] === 1;
}
