/** 2-D FFTs of images and the correlation built on them; the transforms run in native/kernels (fft2d). */
import { fft2d, spectrumCorrelate } from '../../native/kernels';

export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

const twiddles = new Map<number, { cos: Float64Array; sin: Float64Array }>();

/** cos and sin of 2πi/n for i < n/2, computed here once per length: both kernel backends take these bits. */
function plan(n: number) {
  let p = twiddles.get(n);
  if (p) return p;
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let i = 0; i < n / 2; i++) {
    cos[i] = Math.cos((2 * Math.PI * i) / n);
    sin[i] = Math.sin((2 * Math.PI * i) / n);
  }
  p = { cos, sin };
  twiddles.set(n, p);
  return p;
}

/** The 2-D transform (native/kernels fft2d) on w × h values: forward over the first `count` rows, inverse keeping those. */
function transform(re: Float64Array, im: Float64Array, w: number, h: number, count: number, inverse: boolean): void {
  const pw = plan(w);
  const ph = plan(h);
  fft2d(re, im, w, h, count, inverse, pw.cos, pw.sin, ph.cos, ph.sin);
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
 * `into`: a spectrum of the same size to reuse (its values are replaced), for one used at a time.
 */
export function fft2(data: ArrayLike<number>, width: number, height: number, w: number, h: number, data2?: ArrayLike<number>, into?: Spectrum): Spectrum {
  const re = into ? into.re.fill(0) : new Float64Array(w * h);
  const im = into ? into.im.fill(0) : new Float64Array(w * h);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      re[y * w + x] = data[y * width + x];
      if (data2) im[y * w + x] = data2[y * width + x];
    }
  }
  // Rows past `height` are zero and stay zero: only the first `height` rows need transforming.
  transform(re, im, w, h, height, false);
  return { re, im, w, h };
}

/** A w × h spectrum's worth of zeros: scratch for fft2 and correlate to reuse. */
export function spectrumOf(w: number, h: number): Spectrum {
  return { re: new Float64Array(w * h), im: new Float64Array(w * h), w, h };
}

/**
 * Cross-correlation c(u, v) = Σ t(x, y) · i(x + u, y + v) for offsets v < `validRows` (rows beyond
 * are not computed), from the image's and the template's spectra padded to the same size. For a
 * packed image pair the real part holds the first image's correlation and the imaginary the second's.
 * `into`: where to write it (overwritten by the next call that reuses it); a fresh pair otherwise.
 * The coarse search makes hundreds of these: fresh ones were most of its page faults and zeroing.
 */
export function correlate(img: Spectrum, tpl: Spectrum, validRows = img.h, into?: Spectrum): { re: Float64Array; im: Float64Array } {
  const { w, h } = img;
  const { re, im } = into ?? spectrumOf(w, h);
  // I · conj(T), scaled for the inverse transform.
  spectrumCorrelate(img.re, img.im, tpl.re, tpl.im, re, im);
  transform(re, im, w, h, Math.min(h, validRows), true);
  return { re, im };
}
