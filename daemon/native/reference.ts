/**
 * TypeScript twins of the native kernels (daemon/native/src). kernels.ts serves these when the addon
 * is not built; test/native.test.ts checks both backends against each other.
 *
 * Numerics contract: every float sum runs in the same order as the C++ code — 8 interleaved lanes
 * over the vector, a scalar tail, combined as ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7))+tail — and the C++
 * is built without fast-math or FMA contraction, so both backends return bit-identical numbers. That
 * keeps the engine's decisions (argmins, paths, ties) independent of which backend ran.
 *
 * Argument errors throw the same classes as the addon: TypeError for a wrong type, RangeError for a
 * wrong size or value.
 */

/** Banded requests for batchDot: row r dots a[aIndex[r]] with b[bStart[r] .. bStart[r]+bCount[r]). */
export interface DotPairs {
  aIndex: Int32Array;
  bStart: Int32Array;
  bCount: Int32Array;
}

export interface DtwOptions {
  /** The path may start at any column of row 0 (subsequence DTW). */
  openBegin?: boolean;
  /** The path may end at any column of the last row. */
  openEnd?: boolean;
  /** Also allow a jump from any column of row r−1 to any later column of row r, at this extra cost. */
  jumpPenalty?: number;
}

export interface DtwJump {
  /** The row the jump lands in. */
  row: number;
  /** Column left in row − 1. */
  from: number;
  /** Column reached in row. */
  to: number;
}

export interface DtwResult {
  /** For each row, the last column the path visits in that row. */
  path: Int32Array;
  /** Sum of the visited cells' costs plus jump penalties. */
  cost: number;
  /** Column where the path starts in row 0 (−1 when rows = 0). */
  start: number;
  /** Column where the path ends in the last row (−1 when rows = 0). */
  end: number;
  jumps: DtwJump[];
}

/** Per-row column band: row r may use columns [lo[r], lo[r] + width[r]); stride ≥ every width. */
export interface Band {
  lo: Int32Array;
  width: Int32Array;
  stride: number;
}

// ---------------------------------------------------------------------------------------------
// Argument checks (messages match the addon's where it matters: the argument's name and the fix).

function describe(v: unknown): string {
  if (ArrayBuffer.isView(v)) return Object.prototype.toString.call(v).slice(8, -1);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'Array';
  return typeof v;
}

function numberArg(v: unknown, fn: string, name: string): number {
  if (typeof v !== 'number') throw new TypeError(`${fn}: ${name} must be a number (got ${describe(v)})`);
  if (!Number.isFinite(v)) throw new RangeError(`${fn}: ${name} must be finite`);
  return v;
}

/** Counts, sizes and indices: integers in [min, 2^31 − 1]. */
function intArg(v: unknown, fn: string, name: string, min = 0): number {
  const x = numberArg(v, fn, name);
  if (!Number.isInteger(x) || x < min || x > 2147483647) throw new RangeError(`${fn}: ${name} must be an integer >= ${min} (got ${x})`);
  return x;
}

// ---------------------------------------------------------------------------------------------
// shiftCosts

/**
 * Mean squared difference of b moved by (dx, dy) against a (both width × height, row-major), `off`
 * added to each difference, over the pixels both cover and the mask keeps, for every shift of the
 * (2·radius + 1)² square centred on (cx, cy), row-major from (cx − radius, cy − radius); Infinity
 * where fewer than 16 pixels count. `mask` (1: left out) applies at a's pixel, and with `both` at
 * b's too. Each row's pixels go to lanes x mod 8 from the row's first, the rest to the tail; combine()
 * joins them after the last row.
 */
export function shiftCosts(
  a: Float32Array,
  b: Float32Array,
  width: number,
  height: number,
  cx: number,
  cy: number,
  radius: number,
  off: number,
  mask?: Uint8Array | null,
  both = false,
): Float64Array {
  const fn = 'shiftCosts';
  typedArg(a, Float32Array, fn, 'a');
  typedArg(b, Float32Array, fn, 'b');
  const w = intArg(width, fn, 'width', 1);
  const h = intArg(height, fn, 'height', 1);
  needLength(fn, 'a', a.length, w * h, 'width × height');
  needLength(fn, 'b', b.length, w * h, 'width × height');
  numberArg(cx, fn, 'cx');
  numberArg(cy, fn, 'cy');
  if (!Number.isInteger(cx) || !Number.isInteger(cy) || Math.abs(cx) > 1e9 || Math.abs(cy) > 1e9) throw new RangeError(`${fn}: cx and cy must be integers`);
  intArg(radius, fn, 'radius');
  if (radius > 1000) throw new RangeError(`${fn}: radius must be at most 1000`);
  numberArg(off, fn, 'off');
  const m = mask ?? undefined;
  if (m) {
    typedArg(m, Uint8Array, fn, 'mask');
    needLength(fn, 'mask', m.length, w * h, 'width × height');
  }
  const S = 2 * radius + 1;
  const out = new Float64Array(S * S);
  const lanes = new Float64Array(8);
  for (let q = 0; q < S * S; q++) {
    lanes.fill(0);
    const dx = cx + (q % S) - radius;
    const dy = cy + Math.floor(q / S) - radius;
    const y0 = Math.max(0, -dy);
    const y1 = Math.min(h, h - dy);
    const x0 = Math.max(0, -dx);
    const len = Math.min(w, w - dx) - x0;
    const end = len > 0 ? len - (len % 8) : 0;
    let l0 = 0,
      l1 = 0,
      l2 = 0,
      l3 = 0,
      l4 = 0,
      l5 = 0,
      l6 = 0,
      l7 = 0,
      t = 0,
      n = 0;
    for (let y = y0; y < y1 && len > 0; y++) {
      const ra = y * w + x0;
      const rb = (y + dy) * w + dx + x0;
      if (!m) {
        // Eight independent sums: one running sum would wait on each add.
        for (let k = 0; k < end; k += 8) {
          const p = ra + k,
            r = rb + k;
          const d0 = a[p] - b[r] + off,
            d1 = a[p + 1] - b[r + 1] + off,
            d2 = a[p + 2] - b[r + 2] + off,
            d3 = a[p + 3] - b[r + 3] + off;
          const d4 = a[p + 4] - b[r + 4] + off,
            d5 = a[p + 5] - b[r + 5] + off,
            d6 = a[p + 6] - b[r + 6] + off,
            d7 = a[p + 7] - b[r + 7] + off;
          l0 += d0 * d0;
          l1 += d1 * d1;
          l2 += d2 * d2;
          l3 += d3 * d3;
          l4 += d4 * d4;
          l5 += d5 * d5;
          l6 += d6 * d6;
          l7 += d7 * d7;
        }
        for (let k = end; k < len; k++) {
          const d = a[ra + k] - b[rb + k] + off;
          t += d * d;
        }
        n += len;
        continue;
      }
      for (let k = 0; k < end; k += 8)
        for (let j = 0; j < 8; j++) {
          const keep = (1 - m[ra + k + j]) * (both ? 1 - m[rb + k + j] : 1);
          const d = a[ra + k + j] - b[rb + k + j] + off;
          lanes[j] += keep * d * d;
          n += keep;
        }
      for (let k = end; k < len; k++) {
        const keep = (1 - m[ra + k]) * (both ? 1 - m[rb + k] : 1);
        const d = a[ra + k] - b[rb + k] + off;
        t += keep * d * d;
        n += keep;
      }
    }
    // The masked rows summed into `lanes`, the others into l0..l7: one of them is all zeros.
    if (m) [l0, l1, l2, l3, l4, l5, l6, l7] = lanes;
    out[q] = n >= 16 ? combine(l0, l1, l2, l3, l4, l5, l6, l7, t) / n : Infinity;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// nccWarp

/**
 * NCC of a zero-mean template (tw × th, its norm given) laid with its corner at (xs[i], ys[i]) and
 * scale ss[i] over an image sampled bilinearly where each template pixel's centre lands: template
 * pixel (u, v) covers `step` content pixels, and the image has k pixels per placement unit. Pixels
 * that fall off the image count against the score (× the share on it). One score per placement, the
 * first `count` (all of xs by default); sums in pixel order.
 */
export function nccWarp(
  img: Uint8Array | Float32Array,
  width: number,
  height: number,
  tpl: Float32Array,
  tw: number,
  th: number,
  norm: number,
  step: number,
  k: number,
  xs: Float64Array,
  ys: Float64Array,
  ss: Float64Array,
  count?: number,
): Float64Array {
  const fn = 'nccWarp';
  const { w, h } = imageArg(img, width, height, fn, 2);
  typedArg(tpl, Float32Array, fn, 'tpl');
  intArg(tw, fn, 'tw', 1);
  intArg(th, fn, 'th', 1);
  needLength(fn, 'tpl', tpl.length, tw * th, 'tw × th');
  numberArg(norm, fn, 'norm');
  numberArg(step, fn, 'step');
  numberArg(k, fn, 'k');
  typedArg(xs, Float64Array, fn, 'xs');
  typedArg(ys, Float64Array, fn, 'ys');
  typedArg(ss, Float64Array, fn, 'ss');
  const m = count === undefined ? xs.length : intArg(count, fn, 'count');
  needLength(fn, 'xs', xs.length, m, 'count');
  needLength(fn, 'ys', ys.length, m, 'count');
  needLength(fn, 'ss', ss.length, m, 'count');
  for (let i = 0; i < m; i++) if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i]) || !Number.isFinite(ss[i])) throw new RangeError(`${fn}: placements must be finite`);
  const out = new Float64Array(m);
  const x0s = new Int32Array(tw);
  const axs = new Float64Array(tw);
  const n = tw * th;
  for (let i = 0; i < m; i++) {
    const x = xs[i];
    const y = ys[i];
    const s = ss[i];
    const du = step * s * k;
    let offCols = 0;
    let bx = (x + 0.5 * step * s) * k - 0.5;
    // Each column lands at the same image x on every row: its taps are found once.
    for (let u = 0; u < tw; u++, bx += du) {
      if (bx < -0.5 || bx > w - 0.5) offCols++;
      const fx = bx < 0 ? 0 : bx > w - 1 ? w - 1 : bx;
      const x0 = fx >= w - 1 ? w - 2 : Math.floor(fx);
      x0s[u] = x0;
      axs[u] = fx - x0;
    }
    let sb = 0;
    let sbb = 0;
    let stb = 0;
    let off = 0;
    for (let v = 0; v < th; v++) {
      const by = (y + (v + 0.5) * step * s) * k - 0.5;
      off += offCols + (by < -0.5 || by > h - 0.5 ? tw : 0);
      const fy = by < 0 ? 0 : by > h - 1 ? h - 1 : by;
      const y0 = fy >= h - 1 ? h - 2 : Math.floor(fy);
      const ay = fy - y0;
      const r0 = y0 * w;
      const r1 = r0 + w;
      const row = v * tw;
      for (let u = 0; u < tw; u++) {
        const p = r0 + x0s[u];
        const q = r1 + x0s[u];
        const ax = axs[u];
        const top = img[p] + (img[p + 1] - img[p]) * ax;
        const bot = img[q] + (img[q + 1] - img[q]) * ax;
        const b = top + (bot - top) * ay;
        sb += b;
        sbb += b * b;
        stb += tpl[row + u] * b;
      }
    }
    const vb = sbb - (sb * sb) / n;
    out[i] = vb <= 1e-6 || norm <= 1e-6 ? 0 : (stb / (norm * Math.sqrt(vb))) * (1 - off / n);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// cutGray

/**
 * A window of an image (width × height, at least 2 × 2) cut out at w × h into `out` from `at`:
 * the window's corner (x, y) and size (cw × ch) in image pixels, any real values; each output pixel
 * the mean of tx × ty bilinear taps (up to 4 × 4, by how much the window shrinks) over the area it
 * stands for, taps clamped to the image, rounded as Math.round and stored as a byte (a value past
 * 0..255 wraps, as a Uint8Array store does). Tracking's cut of every analysis frame.
 */
export function cutGray(
  img: Uint8Array | Float32Array,
  width: number,
  height: number,
  x: number,
  y: number,
  cw: number,
  ch: number,
  w: number,
  h: number,
  out: Uint8Array,
  at: number,
): void {
  const fn = 'cutGray';
  const { w: iw, h: ih } = imageArg(img, width, height, fn, 2);
  numberArg(x, fn, 'x');
  numberArg(y, fn, 'y');
  numberArg(cw, fn, 'cw');
  numberArg(ch, fn, 'ch');
  intArg(w, fn, 'w', 1);
  intArg(h, fn, 'h', 1);
  typedArg(out, Uint8Array, fn, 'out');
  intArg(at, fn, 'at');
  needLength(fn, 'out', out.length, at + w * h, 'at + w × h');
  const data = img;
  const sx = cw / w;
  const sy = ch / h;
  const tx = Math.max(1, Math.min(4, Math.ceil(sx)));
  const ty = Math.max(1, Math.min(4, Math.ceil(sy)));
  // Every row takes its taps at the same columns: their indices and weights once.
  const x0s = new Int32Array(w * tx);
  const axs = new Float64Array(w * tx);
  for (let u = 0; u < w; u++) {
    for (let a = 0; a < tx; a++) {
      const xx = x + (u + (a + 0.5) / tx) * sx - 0.5;
      const fx = xx < 0 ? 0 : xx > iw - 1 ? iw - 1 : xx;
      const x0 = fx >= iw - 1 ? iw - 2 : Math.floor(fx);
      x0s[u * tx + a] = x0;
      axs[u * tx + a] = fx - x0;
    }
  }
  const rows = new Int32Array(ty);
  const ays = new Float64Array(ty);
  for (let v = 0; v < h; v++) {
    for (let b = 0; b < ty; b++) {
      const yy = y + (v + (b + 0.5) / ty) * sy - 0.5;
      const fy = yy < 0 ? 0 : yy > ih - 1 ? ih - 1 : yy;
      const y0 = fy >= ih - 1 ? ih - 2 : Math.floor(fy);
      rows[b] = y0 * iw;
      ays[b] = fy - y0;
    }
    for (let u = 0; u < w; u++) {
      let sum = 0;
      for (let b = 0; b < ty; b++) {
        const ay = ays[b];
        const r0 = rows[b];
        for (let a = 0; a < tx; a++) {
          const c = u * tx + a;
          const p = r0 + x0s[c];
          const q = p + iw;
          const ax = axs[c];
          const top = data[p] + (data[p + 1] - data[p]) * ax;
          const bot = data[q] + (data[q + 1] - data[q]) * ax;
          sum += top + (bot - top) * ay;
        }
      }
      out[at + v * w + u] = Math.round(sum / (tx * ty));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// resizeArea

/**
 * Area-average resize of the sw × sh region at (x0, y0) of an image (width × height, row-major) to
 * dw × dh, computed only at every step-th column of every step-th row (row-major over those). The
 * box filter comes from the caller: per destination column, the first source column it covers
 * (startX, within the region) and the weights of tx consecutive columns (weightsX, dw × tx); the
 * same for rows. A horizontal pass (double sums stored as float) on the rows needed, then a
 * vertical one.
 */
export function resizeArea(
  img: Uint8Array | Float32Array,
  width: number,
  height: number,
  x0: number,
  y0: number,
  sw: number,
  sh: number,
  startX: Int32Array,
  weightsX: Float32Array,
  tx: number,
  startY: Int32Array,
  weightsY: Float32Array,
  ty: number,
  dw: number,
  dh: number,
  step: number,
): Float32Array {
  const fn = 'resizeArea';
  const stride = imageArg(img, width, height, fn, 1).w;
  intArg(x0, fn, 'x0');
  intArg(y0, fn, 'y0');
  intArg(sw, fn, 'sw', 1);
  intArg(sh, fn, 'sh', 1);
  if (x0 + sw > stride || y0 + sh > height) throw new RangeError(`${fn}: the region reaches past the image`);
  typedArg(startX, Int32Array, fn, 'startX');
  typedArg(weightsX, Float32Array, fn, 'weightsX');
  intArg(tx, fn, 'tx', 1);
  typedArg(startY, Int32Array, fn, 'startY');
  typedArg(weightsY, Float32Array, fn, 'weightsY');
  intArg(ty, fn, 'ty', 1);
  intArg(dw, fn, 'dw', 1);
  intArg(dh, fn, 'dh', 1);
  intArg(step, fn, 'step', 1);
  needLength(fn, 'startX', startX.length, dw, 'dw');
  needLength(fn, 'weightsX', weightsX.length, dw * tx, 'dw × tx');
  needLength(fn, 'startY', startY.length, dh, 'dh');
  needLength(fn, 'weightsY', weightsY.length, dh * ty, 'dh × ty');
  for (let i = 0; i < dw; i++) if (startX[i] < 0 || startX[i] >= sw) throw new RangeError(`${fn}: startX must lie inside the region`);
  for (let i = 0; i < dh; i++) if (startY[i] < 0 || startY[i] >= sh) throw new RangeError(`${fn}: startY must lie inside the region`);
  const cols = Math.ceil(dw / step);
  const rows = Math.ceil(dh / step);
  // The horizontal pass, only at the kept columns and only on the source rows the kept rows read.
  const tmp = new Float32Array(cols * sh);
  const need = new Uint8Array(sh);
  for (let r = 0; r < rows; r++) for (let k = 0; k < ty; k++) need[Math.min(startY[r * step] + k, sh - 1)] = 1;
  for (let y = 0; y < sh; y++) {
    if (!need[y]) continue;
    const row = (y0 + y) * stride + x0;
    for (let c = 0; c < cols; c++) {
      const x = c * step;
      const s0 = row + startX[x];
      const wo = x * tx;
      let acc = 0;
      if (startX[x] + tx <= sw) {
        for (let k = 0; k < tx; k++) acc += weightsX[wo + k] * img[s0 + k];
      } else {
        // Weights past the source edge are zero; clamp the index there rather than read past the row.
        for (let k = 0; k < tx; k++) acc += weightsX[wo + k] * img[Math.min(s0 + k, row + sw - 1)];
      }
      tmp[y * cols + c] = acc;
    }
  }
  const out = new Float32Array(cols * rows);
  for (let r = 0; r < rows; r++) {
    const y = r * step;
    const s0 = startY[y];
    const o = r * cols;
    for (let k = 0; k < ty; k++) {
      const w = weightsY[y * ty + k];
      if (w === 0) continue;
      const t = Math.min(s0 + k, sh - 1) * cols;
      for (let c = 0; c < cols; c++) out[o + c] += w * tmp[t + c];
    }
  }
  return out;
}

/** Grey pixels as decoded (bytes) or resized (floats): the kernels read either as it is. */
function pixelsArg(v: unknown, fn: string, name: string): void {
  if (!(v instanceof Uint8Array) && !(v instanceof Float32Array)) throw new TypeError(`${fn}: ${name} must be a Uint8Array or a Float32Array (got ${describe(v)})`);
}

/** An image as every image kernel takes it: pixels (bytes or floats) at least width × height long, each side at least minSide. */
function imageArg(img: unknown, width: number, height: number, fn: string, minSide: number): { w: number; h: number } {
  pixelsArg(img, fn, 'img');
  const w = intArg(width, fn, 'width', minSide);
  const h = intArg(height, fn, 'height', minSide);
  needLength(fn, 'img', (img as Uint8Array | Float32Array).length, w * h, 'width × height');
  return { w, h };
}

function typedArg<T>(v: unknown, ctor: { new (n: number): T; name: string }, fn: string, name: string): T {
  if (!(v instanceof ctor)) throw new TypeError(`${fn}: ${name} must be a ${ctor.name} (got ${describe(v)})`);
  return v;
}

function needLength(fn: string, name: string, have: number, need: number, what: string): void {
  if (have < need) throw new RangeError(`${fn}: ${name} has ${have} elements but ${what} needs ${need}`);
}

/** The addon's lane combine tree; the parentheses are the contract, keep them. */
function combine(l0: number, l1: number, l2: number, l3: number, l4: number, l5: number, l6: number, l7: number, tail: number): number {
  // prettier-ignore
  return (((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))) + tail;
}

// ---------------------------------------------------------------------------------------------
// batchDot

/** a[ao ..]·b[bo ..] over dim elements, double accumulation in lane order. */
function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let l0 = 0,
    l1 = 0,
    l2 = 0,
    l3 = 0,
    l4 = 0,
    l5 = 0,
    l6 = 0,
    l7 = 0;
  const end = dim - (dim & 7);
  let k = 0;
  for (; k < end; k += 8) {
    const p = ao + k,
      q = bo + k;
    l0 += a[p] * b[q];
    l1 += a[p + 1] * b[q + 1];
    l2 += a[p + 2] * b[q + 2];
    l3 += a[p + 3] * b[q + 3];
    l4 += a[p + 4] * b[q + 4];
    l5 += a[p + 5] * b[q + 5];
    l6 += a[p + 6] * b[q + 6];
    l7 += a[p + 7] * b[q + 7];
  }
  let t = 0;
  for (; k < dim; k++) t += a[ao + k] * b[bo + k];
  return combine(l0, l1, l2, l3, l4, l5, l6, l7, t);
}

/**
 * Dot products of (unit) vectors, rows of length dim. Without pairs: the full aRows×bRows matrix,
 * row-major. With pairs: for each pairs row r, the dots of a[aIndex[r]] with
 * b[bStart[r] .. bStart[r]+bCount[r]), written one after another (a banded cost matrix).
 */
export function batchDot(a: Float32Array, aRows: number, b: Float32Array, bRows: number, dim: number, pairs?: DotPairs): Float32Array {
  const fn = 'batchDot';
  typedArg(a, Float32Array, fn, 'a');
  intArg(aRows, fn, 'aRows');
  typedArg(b, Float32Array, fn, 'b');
  intArg(bRows, fn, 'bRows');
  intArg(dim, fn, 'dim');
  needLength(fn, 'a', a.length, aRows * dim, 'aRows*dim');
  needLength(fn, 'b', b.length, bRows * dim, 'bRows*dim');
  if (pairs === undefined || pairs === null) {
    if (aRows * bRows > 0xffffffff) throw new RangeError(`${fn}: aRows*bRows is too large for one matrix; pass pairs for a band`);
    const out = new Float32Array(aRows * bRows);
    for (let i = 0; i < aRows; i++) for (let j = 0; j < bRows; j++) out[i * bRows + j] = dot(a, i * dim, b, j * dim, dim);
    return out;
  }
  if (typeof pairs !== 'object' || ArrayBuffer.isView(pairs))
    throw new TypeError(`${fn}: pairs must be an object { aIndex, bStart, bCount } of Int32Arrays (got ${describe(pairs)})`);
  const aIndex = typedArg(pairs.aIndex, Int32Array, fn, 'pairs.aIndex');
  const bStart = typedArg(pairs.bStart, Int32Array, fn, 'pairs.bStart');
  const bCount = typedArg(pairs.bCount, Int32Array, fn, 'pairs.bCount');
  const P = aIndex.length;
  if (bStart.length !== P || bCount.length !== P)
    throw new RangeError(`${fn}: pairs.aIndex, pairs.bStart and pairs.bCount must have the same length (got ${P}, ${bStart.length}, ${bCount.length})`);
  let total = 0;
  for (let r = 0; r < P; r++) {
    const ai = aIndex[r],
      bs = bStart[r],
      bc = bCount[r];
    if (ai < 0 || ai >= aRows) throw new RangeError(`${fn}: pairs.aIndex[${r}] = ${ai} is outside [0, aRows=${aRows})`);
    if (bs < 0 || bc < 0 || bs + bc > bRows) throw new RangeError(`${fn}: pairs row ${r} asks for b rows [${bs}, ${bs + bc}) outside [0, bRows=${bRows})`);
    total += bc;
  }
  if (total > 0xffffffff) throw new RangeError(`${fn}: pairs ask for too many dot products in one call`);
  const out = new Float32Array(total);
  let o = 0;
  for (let r = 0; r < P; r++) {
    const ao = aIndex[r] * dim;
    for (let j = 0, bo = bStart[r] * dim; j < bCount[r]; j++, bo += dim) out[o++] = dot(a, ao, b, bo, dim);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// hamming64

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/**
 * Hamming distances between packed fingerprints (words 64-bit words each): the full aRows×bRows
 * matrix, row-major. Uint16Array when words·64 ≤ 65535, else Uint32Array.
 */
export function hamming64(a: BigUint64Array, aRows: number, b: BigUint64Array, bRows: number, words: number): Uint16Array | Uint32Array {
  const fn = 'hamming64';
  typedArg(a, BigUint64Array, fn, 'a');
  intArg(aRows, fn, 'aRows');
  typedArg(b, BigUint64Array, fn, 'b');
  intArg(bRows, fn, 'bRows');
  intArg(words, fn, 'words');
  needLength(fn, 'a', a.length, aRows * words, 'aRows*words');
  needLength(fn, 'b', b.length, bRows * words, 'bRows*words');
  if (aRows * bRows > 0xffffffff) throw new RangeError(`${fn}: aRows*bRows is too large for one matrix; split the request`);
  const out = words * 64 <= 0xffff ? new Uint16Array(aRows * bRows) : new Uint32Array(aRows * bRows);
  // BigInt arithmetic is slow; a 64-bit word's popcount is the sum over its two 32-bit halves
  // whatever the byte order.
  const a32 = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  const b32 = new Uint32Array(b.buffer, b.byteOffset, b.length * 2);
  const w32 = words * 2;
  for (let i = 0; i < aRows; i++) {
    const ao = i * w32;
    for (let j = 0; j < bRows; j++) {
      const bo = j * w32;
      let d = 0;
      for (let w = 0; w < w32; w++) d += popcount32(a32[ao + w] ^ b32[bo + w]);
      out[i * bRows + j] = d;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Banded least-cost paths

/** Shared checks for cost, rows, lo, width, stride. */
function checkBand(fn: string, cost: Float32Array, rows: number, lo: Int32Array, width: Int32Array, stride: number): void {
  typedArg(cost, Float32Array, fn, 'cost');
  intArg(rows, fn, 'rows');
  typedArg(lo, Int32Array, fn, 'lo');
  typedArg(width, Int32Array, fn, 'width');
  intArg(stride, fn, 'stride');
  needLength(fn, 'lo', lo.length, rows, 'rows');
  needLength(fn, 'width', width.length, rows, 'rows');
  for (let r = 0; r < rows; r++)
    if (width[r] < 1 || width[r] > stride) throw new RangeError(`${fn}: width[${r}] = ${width[r]} must be in [1, stride=${stride}]`);
  if (rows > 0) needLength(fn, 'cost', cost.length, (rows - 1) * stride + width[rows - 1], '(rows-1)*stride+width[rows-1]');
}

/**
 * Monotonic least-cost path through a banded cost matrix (the engine's temporal DP). Row r may use
 * columns [lo[r], lo[r]+width[r]) with costs cost[r*stride ..]; the column step between consecutive
 * rows is in [0, maxStep] and costs lambda·|step − rate|. Ties go to the smallest step. Returns the
 * column for each row.
 */
export function bandedPath(
  cost: Float32Array,
  rows: number,
  lo: Int32Array,
  width: Int32Array,
  stride: number,
  rate: number,
  maxStep: number,
  lambda: number,
): Int32Array {
  const fn = 'bandedPath';
  checkBand(fn, cost, rows, lo, width, stride);
  numberArg(rate, fn, 'rate');
  intArg(maxStep, fn, 'maxStep');
  numberArg(lambda, fn, 'lambda');
  const path = new Int32Array(rows);
  if (rows === 0) return path;
  const back = new Int32Array(rows * stride).fill(-1);
  let prev = new Float64Array(stride).fill(Infinity);
  let cur = new Float64Array(stride);
  for (let c = 0; c < width[0]; c++) prev[c] = cost[c];
  for (let r = 1; r < rows; r++) {
    cur.fill(Infinity);
    const dl = lo[r] - lo[r - 1];
    const wp = width[r - 1];
    for (let c = 0; c < width[r]; c++) {
      // Only steps whose predecessor column base − step lies in [0, wp) can win; visiting just those,
      // in increasing order, is the engine's loop without its skipped iterations.
      const base = c + dl;
      const sTo = Math.min(maxStep, base);
      let best = Infinity;
      let arg = -1;
      for (let step = Math.max(0, base - (wp - 1)); step <= sTo; step++) {
        const v = prev[base - step] + lambda * Math.abs(step - rate);
        if (v < best) {
          best = v;
          arg = base - step;
        }
      }
      if (arg < 0) {
        // No predecessor within reach (band jumped): continue from the nearest column of row r − 1.
        arg = Math.min(wp - 1, Math.max(0, base));
        best = prev[arg] + lambda * maxStep;
      }
      cur[c] = best + cost[r * stride + c];
      back[r * stride + c] = arg;
    }
    [prev, cur] = [cur, prev];
  }
  let c = 0;
  for (let k = 1; k < width[rows - 1]; k++) if (prev[k] < prev[c]) c = k;
  for (let r = rows - 1; r >= 0; r--) {
    path[r] = lo[r] + c;
    if (r > 0) c = back[r * stride + c];
  }
  return path;
}

// Back-pointer codes; a value >= 0 is a jump from that band offset of row r − 1.
const DIAG = -1,
  VERT = -2,
  HORIZ = -3,
  START = -4,
  NONE = -5;

function dtwOpts(v: unknown, fn: string): { openBegin: boolean; openEnd: boolean; jumps: boolean; jumpPenalty: number } {
  const o = { openBegin: false, openEnd: false, jumps: false, jumpPenalty: 0 };
  if (v === undefined || v === null) return o;
  if (typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v))
    throw new TypeError(`${fn}: opts must be an object { openBegin?, openEnd?, jumpPenalty? } (got ${describe(v)})`);
  const obj = v as Record<string, unknown>;
  const flag = (key: string): boolean => {
    const f = obj[key];
    if (f === undefined) return false;
    if (typeof f !== 'boolean') throw new TypeError(`${fn}: opts.${key} must be a boolean (got ${describe(f)})`);
    return f;
  };
  o.openBegin = flag('openBegin');
  o.openEnd = flag('openEnd');
  if (obj.jumpPenalty !== undefined) {
    o.jumps = true;
    o.jumpPenalty = numberArg(obj.jumpPenalty, fn, 'opts.jumpPenalty');
    if (o.jumpPenalty < 0) throw new RangeError(`${fn}: opts.jumpPenalty must be >= 0`);
  }
  return o;
}

/**
 * DTW inside a per-row band: steps (1,0), (0,1), (1,1), each adding the cost of the cell entered.
 * Without openBegin the path starts at the first column of row 0's band, without openEnd it ends at
 * the last column of the last row's band. Ties prefer diagonal, then vertical, then horizontal, then
 * a jump. Throws a RangeError when no path reaches the end (disconnected band, infinite costs).
 */
export function dtwBand(cost: Float32Array, rows: number, lo: Int32Array, width: Int32Array, stride: number, opts?: DtwOptions): DtwResult {
  const fn = 'dtwBand';
  checkBand(fn, cost, rows, lo, width, stride);
  const o = dtwOpts(opts, fn);
  const path = new Int32Array(rows);
  if (rows === 0) return { path, cost: 0, start: -1, end: -1, jumps: [] };

  const back = new Int32Array(rows * stride).fill(NONE);
  let prev = new Float64Array(stride).fill(Infinity);
  let cur = new Float64Array(stride).fill(Infinity);
  const pm = new Float64Array(o.jumps ? stride : 0);
  const pa = new Int32Array(o.jumps ? stride : 0);

  for (let c = 0; c < width[0]; c++) {
    let best = Infinity;
    let code = NONE;
    if (o.openBegin || c === 0) {
      best = 0;
      code = START;
    }
    if (c > 0 && cur[c - 1] < best) {
      best = cur[c - 1];
      code = HORIZ;
    }
    cur[c] = best + cost[c];
    back[c] = code;
  }
  [prev, cur] = [cur, prev];

  for (let r = 1; r < rows; r++) {
    const lp = lo[r - 1],
      wp = width[r - 1],
      l = lo[r],
      w = width[r];
    if (o.jumps) {
      // Running prefix minimum of row r − 1 keeps cuts O(width) per row.
      pm[0] = prev[0];
      pa[0] = 0;
      for (let i = 1; i < wp; i++) {
        if (prev[i] < pm[i - 1]) {
          pm[i] = prev[i];
          pa[i] = i;
        } else {
          pm[i] = pm[i - 1];
          pa[i] = pa[i - 1];
        }
      }
    }
    const ro = r * stride;
    for (let c = 0; c < w; c++) {
      const j = l + c;
      let best = Infinity;
      let code = NONE;
      const pd = j - 1 - lp,
        pv = j - lp;
      if (pd >= 0 && pd < wp && prev[pd] < best) {
        best = prev[pd];
        code = DIAG;
      }
      if (pv >= 0 && pv < wp && prev[pv] < best) {
        best = prev[pv];
        code = VERT;
      }
      if (c > 0 && cur[c - 1] < best) {
        best = cur[c - 1];
        code = HORIZ;
      }
      if (o.jumps) {
        const idx = Math.min(pd, wp - 1);
        if (idx >= 0 && pm[idx] + o.jumpPenalty < best) {
          best = pm[idx] + o.jumpPenalty;
          code = pa[idx];
        }
      }
      cur[c] = best + cost[ro + c];
      back[ro + c] = code;
    }
    [prev, cur] = [cur, prev];
  }

  const wl = width[rows - 1];
  let c = wl - 1;
  if (o.openEnd) {
    c = 0;
    for (let k = 1; k < wl; k++) if (prev[k] < prev[c]) c = k;
  }
  const total = prev[c];
  if (!(total < Infinity))
    throw new RangeError(
      `${fn}: no path reaches the end: consecutive rows' bands must overlap or touch and costs must be finite; widen the band or set opts.jumpPenalty`,
    );

  let r = rows - 1;
  path[r] = lo[r] + c;
  let start: number;
  const jumps: DtwJump[] = [];
  for (;;) {
    const code = back[r * stride + c];
    if (code === START) {
      start = lo[r] + c;
      break;
    }
    if (code === HORIZ) {
      c--;
      continue;
    }
    let j: number;
    if (code === DIAG) j = lo[r] + c - 1;
    else if (code === VERT) j = lo[r] + c;
    else if (code >= 0) {
      j = lo[r - 1] + code;
      jumps.push({ row: r, from: j, to: lo[r] + c });
    } else throw new Error(`${fn}: internal error: broken back-pointer chain`);
    r--;
    c = j - lo[r];
    path[r] = j;
  }
  jumps.reverse();
  return { path, cost: total, start, end: path[rows - 1], jumps };
}

// ---------------------------------------------------------------------------------------------
// savitzkyGolay

/**
 * C[t*m + k]: weight of sample k in the degree-q least-squares fit over m samples, evaluated at
 * sample t. Built from an orthonormal basis (Gram–Schmidt, twice) on x scaled to [−1, 1]; the
 * normal equations lose precision fast as the order grows.
 */
function sgTable(m: number, q: number): Float64Array {
  const h = (m - 1) / 2;
  const scale = h > 0 ? h : 1;
  const x = new Float64Array(m);
  const v = new Float64Array(m);
  const Q = new Float64Array((q + 1) * m);
  const C = new Float64Array(m * m);
  for (let k = 0; k < m; k++) x[k] = (k - h) / scale;
  const normaliseInto = (j: number): void => {
    let s = 0;
    for (let k = 0; k < m; k++) s += v[k] * v[k];
    const nrm = Math.sqrt(s);
    for (let k = 0; k < m; k++) Q[j * m + k] = v[k] / nrm;
  };
  v.fill(1);
  normaliseInto(0);
  for (let j = 1; j <= q; j++) {
    for (let k = 0; k < m; k++) v[k] = x[k] * Q[(j - 1) * m + k];
    for (let pass = 0; pass < 2; pass++)
      for (let i = 0; i < j; i++) {
        const qi = i * m;
        let d = 0;
        for (let k = 0; k < m; k++) d += Q[qi + k] * v[k];
        for (let k = 0; k < m; k++) v[k] -= d * Q[qi + k];
      }
    normaliseInto(j);
  }
  for (let t = 0; t < m; t++)
    for (let k = 0; k < m; k++) {
      let s = 0;
      for (let j = 0; j <= q; j++) s += Q[j * m + t] * Q[j * m + k];
      C[t * m + k] = s;
    }
  return C;
}

/**
 * Savitzky–Golay smoothing: each point is replaced by the value at that point of the degree-`order`
 * least-squares polynomial over the `window` points centred on it. Near the ends the fit over the
 * first/last full window is evaluated at the edge points, so any polynomial of degree ≤ order passes
 * through unchanged everywhere. A series shorter than the window is fitted as one window.
 */
export function savitzkyGolay(y: Float64Array, window: number, order: number): Float64Array {
  const fn = 'savitzkyGolay';
  typedArg(y, Float64Array, fn, 'y');
  intArg(window, fn, 'window', 1);
  intArg(order, fn, 'order');
  if (window % 2 === 0) throw new RangeError(`${fn}: window must be odd (got ${window})`);
  if (order >= window) throw new RangeError(`${fn}: order must be less than window (got order ${order}, window ${window})`);
  const n = y.length;
  const out = new Float64Array(n);
  if (n === 0) return out;
  const m = Math.min(window, n);
  const q = Math.min(order, m - 1);
  const half = (window - 1) / 2;
  const C = sgTable(m, q);
  for (let i = 0; i < n; i++) {
    const s = Math.min(Math.max(i - half, 0), n - m);
    const co = (i - s) * m;
    let acc = 0;
    for (let k = 0; k < m; k++) acc += C[co + k] * y[s + k];
    out[i] = acc;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// nccGrid

/**
 * Normalised cross-correlation of a zero-mean template with `img` (width × height, row-major) at
 * every position (x0 + i, y0 + j), i < nx, j < ny; row-major over the grid. The template keeps every
 * `step`-th pixel of every `step`-th row of the picture it came from: `cols × rows` values, its L2
 * norm `norm`. 0 where the image window or the template is flat. Per template row, lane j sums the
 * columns k + j (k a multiple of 8), the rest go to the tail; combine() joins them after the last row.
 */
export function nccGrid(
  img: Float32Array | Uint8Array,
  width: number,
  height: number,
  tpl: Float32Array,
  cols: number,
  rows: number,
  step: number,
  norm: number,
  x0: number,
  y0: number,
  nx: number,
  ny: number,
): Float64Array {
  const fn = 'nccGrid';
  imageArg(img, width, height, fn, 1);
  typedArg(tpl, Float32Array, fn, 'tpl');
  intArg(cols, fn, 'cols', 1);
  intArg(rows, fn, 'rows', 1);
  needLength(fn, 'tpl', tpl.length, cols * rows, 'cols × rows');
  intArg(step, fn, 'step', 1);
  numberArg(norm, fn, 'norm');
  intArg(x0, fn, 'x0');
  intArg(y0, fn, 'y0');
  intArg(nx, fn, 'nx');
  intArg(ny, fn, 'ny');
  if (nx > 0 && ny > 0) {
    if (x0 + nx - 1 + (cols - 1) * step >= width) throw new RangeError(`${fn}: the template at x0 + nx - 1 reaches past the image's width`);
    if (y0 + ny - 1 + (rows - 1) * step >= height) throw new RangeError(`${fn}: the template at y0 + ny - 1 reaches past the image's height`);
  }
  const LANES = 8;
  const out = new Float64Array(nx * ny);
  const n = cols * rows;
  const end = cols - (cols % LANES);
  const a = new Float64Array(LANES);
  const s = new Float64Array(LANES);
  const s2 = new Float64Array(LANES);
  for (let q = 0; q < nx * ny; q++) {
    const px = x0 + (q % nx);
    const py = y0 + Math.floor(q / nx);
    a.fill(0);
    s.fill(0);
    s2.fill(0);
    let at = 0;
    let st = 0;
    let s2t = 0;
    for (let r = 0; r < rows; r++) {
      const row = (py + r * step) * width + px;
      const tr = r * cols;
      for (let k = 0; k < end; k += LANES) {
        for (let j = 0; j < LANES; j++) {
          const v = img[row + (k + j) * step];
          a[j] += tpl[tr + k + j] * v;
          s[j] += v;
          s2[j] += v * v;
        }
      }
      for (let k = end; k < cols; k++) {
        const v = img[row + k * step];
        at += tpl[tr + k] * v;
        st += v;
        s2t += v * v;
      }
    }
    const sxy = combine(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], at);
    const sy = combine(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], st);
    const syy = combine(s2[0], s2[1], s2[2], s2[3], s2[4], s2[5], s2[6], s2[7], s2t);
    const varI = syy - (sy * sy) / n;
    out[q] = varI <= 1e-6 || norm <= 1e-6 ? 0 : sxy / (norm * Math.sqrt(varI));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// fft2d, spectrumCorrelate

/** Bit reversals per transform length (integers: the same on both backends). */
const reversals = new Map<number, Uint32Array>();

function reversal(n: number): Uint32Array {
  let rev = reversals.get(n);
  if (rev) return rev;
  rev = new Uint32Array(n);
  const bits = Math.log2(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  reversals.set(n, rev);
  return rev;
}

/** In-place radix-2 FFT of the n values at re[off + i·stride], im[…] (cos/sin: the twiddles of length n). */
function fft1(re: Float64Array, im: Float64Array, off: number, stride: number, n: number, cos: Float64Array, sin: Float64Array, inverse: boolean): void {
  if (n <= 1) return;
  const rev = reversal(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i];
    if (j > i) {
      const a = off + i * stride;
      const b = off + j * stride;
      let t = re[a];
      re[a] = re[b];
      re[b] = t;
      t = im[a];
      im[a] = im[b];
      im[b] = t;
    }
  }
  const sgn = inverse ? 1 : -1;
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step];
        const wi = sgn * sin[k * step];
        const a = off + (start + k) * stride;
        const b = a + half * stride;
        const xr = re[b] * wr - im[b] * wi;
        const xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
}

function powerOfTwo(v: number, fn: string, name: string): void {
  if ((v & (v - 1)) !== 0) throw new RangeError(`${fn}: ${name} must be a power of two (got ${v})`);
}

/**
 * In place, the 2-D radix-2 FFT of w × h complex values (re, im row-major; w, h powers of two) as
 * engine/spatial/fft.ts uses it. Forward: the first `count` rows, then every column (rows past
 * `count` are zero and stay so). Inverse (unscaled): every column, then the first `count` rows (the
 * others are not wanted). The twiddles come from the caller, cos and sin of 2πi/n for i < n/2 at
 * each length, so both backends multiply by the same bits.
 */
export function fft2d(
  re: Float64Array,
  im: Float64Array,
  w: number,
  h: number,
  count: number,
  inverse: boolean,
  cosW: Float64Array,
  sinW: Float64Array,
  cosH: Float64Array,
  sinH: Float64Array,
): void {
  const fn = 'fft2d';
  typedArg(re, Float64Array, fn, 're');
  typedArg(im, Float64Array, fn, 'im');
  intArg(w, fn, 'w', 1);
  intArg(h, fn, 'h', 1);
  powerOfTwo(w, fn, 'w');
  powerOfTwo(h, fn, 'h');
  intArg(count, fn, 'count');
  if (count > h) throw new RangeError(`${fn}: count must be at most h (${h})`);
  for (const [name, a, n] of [
    ['cosW', cosW, w],
    ['sinW', sinW, w],
    ['cosH', cosH, h],
    ['sinH', sinH, h],
  ] as const) {
    typedArg(a, Float64Array, fn, name);
    needLength(fn, name, a.length, n >> 1, 'half the length');
  }
  needLength(fn, 're', re.length, w * h, 'w × h');
  needLength(fn, 'im', im.length, w * h, 'w × h');
  const rows = () => {
    for (let y = 0; y < count; y++) fft1(re, im, y * w, 1, w, cosW, sinW, inverse);
  };
  // Columns are transformed on a contiguous copy (in place, every butterfly touches another cache line).
  const colRe = new Float64Array(h);
  const colIm = new Float64Array(h);
  const columns = () => {
    for (let x = 0; x < w; x++) {
      for (let y = 0; y < h; y++) {
        colRe[y] = re[y * w + x];
        colIm[y] = im[y * w + x];
      }
      fft1(colRe, colIm, 0, 1, h, cosH, sinH, inverse);
      for (let y = 0; y < h; y++) {
        re[y * w + x] = colRe[y];
        im[y * w + x] = colIm[y];
      }
    }
  };
  if (!inverse) rows();
  columns();
  if (inverse) rows();
}

/**
 * The spectrum of a cross-correlation, I · conj(T) / n (n: the values in each), ready for the
 * inverse fft2d, written into outRe/outIm (which may be the inputs): the coarse search reuses one
 * pair for its hundreds of correlations, where a fresh pair each was most of its page faults.
 */
export function spectrumCorrelate(iRe: Float64Array, iIm: Float64Array, tRe: Float64Array, tIm: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
  const fn = 'spectrumCorrelate';
  typedArg(iRe, Float64Array, fn, 'iRe');
  typedArg(iIm, Float64Array, fn, 'iIm');
  typedArg(tRe, Float64Array, fn, 'tRe');
  typedArg(tIm, Float64Array, fn, 'tIm');
  typedArg(outRe, Float64Array, fn, 'outRe');
  typedArg(outIm, Float64Array, fn, 'outIm');
  const n = iRe.length;
  needLength(fn, 'iIm', iIm.length, n, 'iRe');
  needLength(fn, 'tRe', tRe.length, n, 'iRe');
  needLength(fn, 'tIm', tIm.length, n, 'iRe');
  needLength(fn, 'outRe', outRe.length, n, 'iRe');
  needLength(fn, 'outIm', outIm.length, n, 'iRe');
  for (let i = 0; i < n; i++) {
    const re = (iRe[i] * tRe[i] + iIm[i] * tIm[i]) / n;
    const im = (iIm[i] * tRe[i] - iRe[i] * tIm[i]) / n;
    outRe[i] = re;
    outIm[i] = im;
  }
}
