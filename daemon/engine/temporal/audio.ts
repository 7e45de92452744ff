import { readAudio } from '../../media/ffmpeg';
import { correlate, fft2, nextPow2 } from '../spatial/fft';
import { robustLine } from '../../core/line';

/**
 * The audio prior: when both videos carry sound, where fg's sound sits in bg's, along the whole
 * timeline. Each video's audio becomes an onset envelope (rises in loudness, 100 per second,
 * streamed: memory does not grow with length); windows of fg's envelope are located in bg's by
 * normalised cross-correlation; a robust line through the window offsets gives the start offset and
 * the drift. Unlike audio-only sync tools we do not stop at one constant offset: the line (and how
 * well the windows agree with it) only narrows where the frames are searched.
 */
export const ENVELOPE_RATE = 100;
const SAMPLE_RATE = 8000;
const HOP = SAMPLE_RATE / ENVELOPE_RATE;
/** Window length and spacing along fg, seconds: short enough that 2-3% drift stays within the smoothing. */
const WINDOW = 4;
const SPACING = 5;
/** Envelope smoothing (samples): onsets of noise-like sound decorrelate within a few samples. */
const SMOOTH = 5;
/** Below this normalised correlation a window's best match is noise. */
const MIN_SCORE = 0.3;
/** How far a window's match must stand above its best match elsewhere in bg to place it. */
const DISTINCT = 0.15;

/** The onset envelope of a file's first audio stream: half-wave rectified rise of log energy. */
export async function audioEnvelope(file: string, signal?: AbortSignal): Promise<Float32Array> {
  const out: number[] = [];
  let energy = 0;
  let count = 0;
  let prev = NaN;
  for await (const samples of readAudio({ file, sampleRate: SAMPLE_RATE, signal, what: 'decoding the sound for the audio prior' })) {
    for (const v of samples) {
      energy += v * v;
      if (++count === HOP) {
        const e = Math.log(1e-9 + energy / HOP);
        out.push(Number.isNaN(prev) ? 0 : Math.max(0, e - prev));
        prev = e;
        energy = 0;
        count = 0;
      }
    }
  }
  return boxSmooth(Float32Array.from(out), SMOOTH);
}

/** Moving average over `k` samples (centred). */
function boxSmooth(x: Float32Array, k: number): Float32Array {
  const out = new Float32Array(x.length);
  const h = k >> 1;
  let acc = 0;
  for (let i = 0; i < Math.min(h, x.length); i++) acc += x[i];
  for (let i = 0; i < x.length; i++) {
    if (i + h < x.length) acc += x[i + h];
    if (i - h - 1 >= 0) acc -= x[i - h - 1];
    out[i] = acc / (Math.min(x.length - 1, i + h) - Math.max(0, i - h) + 1);
  }
  return out;
}

export interface AudioPrior {
  /** bg seconds = offset + slope · fg seconds. */
  offset: number;
  slope: number;
  /** Fraction of fg's windows that agree with the line (within 0.1 s). */
  agreement: number;
  /** Per window: fg time (window centre) and the bg time found for it. */
  windows: { fg: number; bg: number; score: number }[];
}

/** Zero-mean, unit-norm copy (0 where flat). */
function normalised(x: Float32Array): Float32Array {
  let m = 0;
  for (const v of x) m += v;
  m /= Math.max(1, x.length);
  let ss = 0;
  const out = Float32Array.from(x, (v) => v - m);
  for (const v of out) ss += v * v;
  const inv = ss > 1e-12 ? 1 / Math.sqrt(ss) : 0;
  for (let i = 0; i < out.length; i++) out[i] *= inv;
  return out;
}

/** Best normalised cross-correlation of `win` (normalised) over bg positions [from, to). */
function bestIn(
  win: Float32Array,
  bg: Float32Array,
  s1: Float64Array,
  s2: Float64Array,
  from: number,
  to: number,
  corrAt: (j: number) => number,
): { at: number; score: number } {
  const w = win.length;
  let best = -Infinity;
  let at = from;
  for (let j = Math.max(0, from); j < Math.min(to, bg.length - w + 1); j++) {
    const sum = s1[j + w] - s1[j];
    const v = s2[j + w] - s2[j] - (sum * sum) / w;
    if (v <= 1e-12) continue;
    const score = corrAt(j) / Math.sqrt(v);
    if (score > best) {
      best = score;
      at = j;
    }
  }
  return { at, score: best };
}

/**
 * Where each fg window sits in bg. A few windows spread over fg are searched over all of bg (FFT;
 * one transform of bg shared by them); their median offset then limits every window's search to a
 * few seconds around it (direct sums), so an hour of audio costs a fraction of a second.
 */
function locateWindows(fg: Float32Array, bg: Float32Array): AudioPrior['windows'] {
  const w = Math.min(fg.length, WINDOW * ENVELOPE_RATE);
  if (w < ENVELOPE_RATE || bg.length < w) return [];
  const s1 = new Float64Array(bg.length + 1);
  const s2 = new Float64Array(bg.length + 1);
  for (let i = 0; i < bg.length; i++) {
    s1[i + 1] = s1[i] + bg[i];
    s2[i + 1] = s2[i] + bg[i] * bg[i];
  }
  const starts: number[] = [];
  for (let start = 0; start + w <= fg.length; start += SPACING * ENVELOPE_RATE) starts.push(start);
  // Global search on up to five windows.
  const N = nextPow2(bg.length + w);
  const bgSpec = fft2(bg, bg.length, 1, N, 1);
  const probes = starts.length <= 5 ? starts : [0, 1, 2, 3, 4].map((k) => starts[Math.round((k * (starts.length - 1)) / 4)]);
  const offsets: number[] = [];
  for (const start of probes) {
    const win = normalised(fg.subarray(start, start + w));
    const corr = correlate(bgSpec, fft2(win, w, 1, N, 1)).re;
    const hit = bestIn(win, bg, s1, s2, 0, bg.length, (j) => corr[j]);
    // Over a long bg the best of thousands of positions clears MIN_SCORE by chance (an unrelated 4 s
    // of noise: 0.31): a match counts only where it stands clear of the best elsewhere (0.25 there;
    // the same sound after AAC: 0.99 against 0.23).
    const apart = ENVELOPE_RATE / 2;
    const lo = bestIn(win, bg, s1, s2, 0, hit.at - apart, (j) => corr[j]).score;
    const hi = bestIn(win, bg, s1, s2, hit.at + apart, bg.length, (j) => corr[j]).score;
    if (hit.score > MIN_SCORE && hit.score >= Math.max(lo, hi) + DISTINCT) offsets.push(hit.at - start);
  }
  if (!offsets.length) return [];
  const guess = median(offsets);
  // Every window near the guess; drift up to ±10% over fg's length stays in reach.
  const reach = Math.ceil(3 * ENVELOPE_RATE + 0.1 * fg.length);
  const out: AudioPrior['windows'] = [];
  for (const start of starts) {
    const win = normalised(fg.subarray(start, start + w));
    const centre = start + guess;
    const hit = bestIn(win, bg, s1, s2, centre - reach, centre + reach + 1, (j) => {
      let s = 0;
      for (let k = 0; k < w; k++) s += win[k] * bg[j + k];
      return s;
    });
    if (hit.score > MIN_SCORE) out.push({ fg: (start + w / 2) / ENVELOPE_RATE, bg: (hit.at + w / 2) / ENVELOPE_RATE, score: hit.score });
  }
  return out;
}

/** The offset curve from two envelopes; undefined when fg's sound is not found in bg's. */
export function audioPrior(fg: Float32Array, bg: Float32Array): AudioPrior | undefined {
  const windows = locateWindows(fg, bg);
  if (!windows.length) return undefined;
  let offset: number;
  let slope = 1;
  if (windows.length >= 3) {
    const line = robustLine(
      windows.map((w) => w.fg),
      windows.map((w) => w.bg),
    );
    // A drift beyond ±10% is not a clock: keep slope 1 and the median offset.
    if (Math.abs(line.slope - 1) < 0.1) slope = line.slope;
    offset = slope === line.slope ? line.intercept : median(windows.map((w) => w.bg - w.fg));
  } else {
    offset = median(windows.map((w) => w.bg - w.fg));
  }
  const agree = windows.filter((w) => Math.abs(offset + slope * w.fg - w.bg) < 0.1).length;
  const total = Math.max(1, Math.floor((fg.length - Math.min(fg.length, WINDOW * ENVELOPE_RATE)) / (SPACING * ENVELOPE_RATE)) + 1);
  return { offset, slope, agreement: agree / total, windows };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1];
}
