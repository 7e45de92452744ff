/** Radix-2 complex FFT over separate real/imaginary arrays, and 2-D correlation built on it. */

export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

const twiddles = new Map<number, { cos: Float64Array; sin: Float64Array; rev: Uint32Array }>();

function plan(n: number) {
  let p = twiddles.get(n);
  if (p) return p;
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let i = 0; i < n / 2; i++) {
    cos[i] = Math.cos((2 * Math.PI * i) / n);
    sin[i] = Math.sin((2 * Math.PI * i) / n);
  }
  const rev = new Uint32Array(n);
  const bits = Math.log2(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  p = { cos, sin, rev };
  twiddles.set(n, p);
  return p;
}

/** In-place FFT of length n starting at `off` with stride `stride`, on scratch copies. */
export function fft1(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  if (n <= 1) return;
  const { cos, sin, rev } = plan(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i];
    if (j > i) {
      let t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
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
        const a = start + k;
        const b = a + half;
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

export interface Spectrum {
  re: Float64Array;
  im: Float64Array;
  w: number;
  h: number;
}

/**
 * 2-D FFT of one real image, or of two packed as real and imaginary parts (`data2`), zero-padded
 * from width × height to w × h (powers of two). Packing halves the transforms: a real template's
 * spectrum is Hermitian, so correlating the packed pair gives both correlations, one per part.
 */
export function fft2(data: ArrayLike<number>, width: number, height: number, w: number, h: number, data2?: ArrayLike<number>): Spectrum {
  const re = new Float64Array(w * h);
  const im = new Float64Array(w * h);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      re[y * w + x] = data[y * width + x];
      if (data2) im[y * w + x] = data2[y * width + x];
    }
  }
  // Rows past `height` are zero and stay zero: only the first `height` rows need transforming.
  rows(re, im, w, height, false);
  columns(re, im, w, h, false);
  return { re, im, w, h };
}

function rows(re: Float64Array, im: Float64Array, w: number, count: number, inverse: boolean): void {
  const rr = new Float64Array(w);
  const ri = new Float64Array(w);
  for (let y = 0; y < count; y++) {
    rr.set(re.subarray(y * w, y * w + w));
    ri.set(im.subarray(y * w, y * w + w));
    fft1(rr, ri, inverse);
    re.set(rr, y * w);
    im.set(ri, y * w);
  }
}

function columns(re: Float64Array, im: Float64Array, w: number, h: number, inverse: boolean): void {
  const cr = new Float64Array(h);
  const ci = new Float64Array(h);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      cr[y] = re[y * w + x];
      ci[y] = im[y * w + x];
    }
    fft1(cr, ci, inverse);
    for (let y = 0; y < h; y++) {
      re[y * w + x] = cr[y];
      im[y * w + x] = ci[y];
    }
  }
}

/**
 * Cross-correlation c(u, v) = Σ t(x, y) · i(x + u, y + v) for offsets v < `validRows` (rows beyond
 * are not computed), from the image's and the template's spectra padded to the same size. For a
 * packed image pair the real part holds the first image's correlation and the imaginary the second's.
 */
export function correlate(img: Spectrum, tpl: Spectrum, validRows = img.h): { re: Float64Array; im: Float64Array } {
  const { w, h } = img;
  const re = new Float64Array(w * h);
  const im = new Float64Array(w * h);
  const n = w * h;
  for (let i = 0; i < n; i++) {
    // I · conj(T), scaled for the inverse transform
    re[i] = (img.re[i] * tpl.re[i] + img.im[i] * tpl.im[i]) / n;
    im[i] = (img.im[i] * tpl.re[i] - img.re[i] * tpl.im[i]) / n;
  }
  columns(re, im, w, h, true);
  rows(re, im, w, Math.min(h, validRows), true);
  return { re, im };
}
