/**
 * Where fg's rate through bg changes: a freeze frame (fg holds one bg frame: rate 0), a slow-motion
 * or a fast stretch. A map of whole bg frames is straight within half a frame wherever fg runs at a
 * steady rate, so a change of rate shows as a frame where the map is straight on both sides, at two
 * clearly different slopes. Found from the map alone (no descriptors): the sub-frame times (and the
 * saved alignment's, re-derived from the map) follow each piece's own line rather than smoothing
 * across the change, and the fitted speed is fg's rate outside such stretches (solve.ts).
 */

import { stretchBounds } from '../../core/line';

export interface RatePiece {
  /** Inclusive fg frame range. */
  first: number;
  last: number;
  /** Least-squares line of the map over the piece: bg frame ≈ slope · fg frame + intercept. */
  slope: number;
  intercept: number;
  /** RMS distance of the piece's frames from its line, bg frames (a steady rate's rounding: 0.29). */
  rms: number;
}

/**
 * A side this many fg frames long must be straight for a change to count, so shorter pieces are not
 * found (half a second at 30 fps). Over fewer frames the slope of whole frames is too noisy (its
 * spread is 0.017 bg frames per fg frame over 15).
 */
export const PIECE_WINDOW = 15;

/** Straight: the RMS distance of whole frames from their line (a steady rate's rounding gives 0.29). */
export const STRAIGHT_RMS = 0.45;
/**
 * A change of rate: the two slopes differ by at least this share of the faster one, and by at least
 * MIN_STEP bg frames per fg frame (4 times the noise of two slopes over PIECE_WINDOW frames).
 */
const MIN_CHANGE = 0.2;
const MIN_STEP = 0.1;

/** Two slopes far enough apart to be a change of rate. */
function changes(a: number, b: number): boolean {
  const d = Math.abs(a - b);
  return d >= MIN_STEP && d >= MIN_CHANGE * Math.max(Math.abs(a), Math.abs(b));
}

/** Prefix sums of a map's moments, for O(1) least-squares fits over any range. */
interface Moments {
  s1: Float64Array;
  sx: Float64Array;
  sy: Float64Array;
  sxx: Float64Array;
  sxy: Float64Array;
  syy: Float64Array;
}

function moments(map: ArrayLike<number>): Moments {
  const n = map.length;
  const z = () => new Float64Array(n + 1);
  const m = { s1: z(), sx: z(), sy: z(), sxx: z(), sxy: z(), syy: z() };
  for (let i = 0; i < n; i++) {
    const y = map[i];
    m.s1[i + 1] = m.s1[i] + 1;
    m.sx[i + 1] = m.sx[i] + i;
    m.sy[i + 1] = m.sy[i] + y;
    m.sxx[i + 1] = m.sxx[i] + i * i;
    m.sxy[i + 1] = m.sxy[i] + i * y;
    m.syy[i + 1] = m.syy[i] + y * y;
  }
  return m;
}

/** Least-squares line over fg frames [a, b) and its residual RMS. */
function fit(m: Moments, a: number, b: number): { slope: number; intercept: number; rms: number } {
  const n = m.s1[b] - m.s1[a];
  const sx = m.sx[b] - m.sx[a];
  const sy = m.sy[b] - m.sy[a];
  // Centred sums: the raw ones are large (i up to 10^5) and would cancel badly.
  const cxx = m.sxx[b] - m.sxx[a] - (sx * sx) / n;
  const cxy = m.sxy[b] - m.sxy[a] - (sx * sy) / n;
  const cyy = m.syy[b] - m.syy[a] - (sy * sy) / n;
  const slope = cxx > 0 ? cxy / cxx : 0;
  const rss = Math.max(0, cyy - slope * cxy);
  return { slope, intercept: (sy - slope * sx) / n, rms: Math.sqrt(rss / Math.max(1, n)) };
}

/**
 * The map's straight pieces between changes of rate, within each stretch between cuts (`cuts`: the
 * first fg frame after each). One piece per stretch when the rate never changes clearly.
 */
export function ratePieces(map: ArrayLike<number>, cuts: readonly number[] = [], window = PIECE_WINDOW): RatePiece[] {
  const n = map.length;
  if (n === 0) return [];
  const m = moments(map);
  const starts = stretchBounds(n, cuts);
  const pieces: RatePiece[] = [];
  const w = Math.max(2, window);
  for (let s = 0; s + 1 < starts.length; s++) {
    const lo = starts[s];
    const hi = starts[s + 1];
    const breaks: number[] = [];
    // Candidates: both sides straight and at clearly different rates. Around one change several
    // frames qualify (a side may take in a frame of the other piece): the best fitting one wins.
    let best = -1;
    let bestRss = Infinity;
    let seen = -Infinity;
    for (let i = lo + w; i + w <= hi; i++) {
      const l = fit(m, i - w, i);
      const r = fit(m, i, i + w);
      if (!(changes(l.slope, r.slope) && l.rms <= STRAIGHT_RMS && r.rms <= STRAIGHT_RMS)) continue;
      // A run of candidates (gaps of a frame or two) is one change.
      if (best >= 0 && i - seen > 2) {
        breaks.push(best);
        bestRss = Infinity;
      }
      seen = i;
      const rss = l.rms * l.rms + r.rms * r.rms;
      if (rss < bestRss) {
        best = i;
        bestRss = rss;
      }
    }
    if (best >= 0) breaks.push(best);
    // A run of candidates can break in two (quantisation makes a side's straightness flicker near
    // a gentle change): neighbours at about one rate are one piece.
    const bounds = [lo, ...breaks, hi];
    for (let k = 1; k + 1 < bounds.length; ) {
      const a = fit(m, bounds[k - 1], bounds[k]);
      const b = fit(m, bounds[k], bounds[k + 1]);
      if (changes(a.slope, b.slope)) k++;
      else {
        bounds.splice(k, 1);
        k = Math.max(1, k - 1);
      }
    }
    for (let k = 0; k + 1 < bounds.length; k++) {
      const f = fit(m, bounds[k], bounds[k + 1]);
      pieces.push({ first: bounds[k], last: bounds[k + 1] - 1, slope: f.slope, intercept: f.intercept, rms: f.rms });
    }
  }
  return pieces;
}

/**
 * fg's usual rate when its map changes rate: the slope shared by the pieces at one rate (within
 * 5%) that hold the most frames, fitted with one intercept per piece (a freeze or a slow-motion
 * stretch shifts the line, it does not change fg's clock). Undefined for a single piece.
 */
export function usualRate(map: ArrayLike<number>, pieces: readonly RatePiece[]): number | undefined {
  if (pieces.length < 2) return undefined;
  const len = (p: RatePiece) => p.last - p.first + 1;
  let group: RatePiece[] = [];
  let most = -1;
  for (const p of pieces) {
    const same = pieces.filter((q) => Math.abs(q.slope - p.slope) <= 0.05 * Math.max(Math.abs(p.slope), Math.abs(q.slope)));
    const frames = same.reduce((a, q) => a + len(q), 0);
    if (frames > most) {
      most = frames;
      group = same;
    }
  }
  let cxx = 0;
  let cxy = 0;
  for (const p of group) {
    const k = len(p);
    const mx = (p.first + p.last) / 2;
    let my = 0;
    for (let i = p.first; i <= p.last; i++) my += map[i];
    my /= k;
    for (let i = p.first; i <= p.last; i++) {
      cxx += (i - mx) * (i - mx);
      cxy += (i - mx) * (map[i] - my);
    }
  }
  return cxx > 0 ? cxy / cxx : undefined;
}
