/**
 * The frame map (one bg frame per fg frame) as straight pieces plus exceptions: a map that follows
 * one steady rate is a single piece however long the video, and a diff of two alignments shows
 * which stretches moved, not thousands of changed numbers.
 *
 * A piece's ends may sit between bg frames (three decimals): frame-rate conversions such as
 * 30 → 25 fps round a line whose value at a piece's first frame is rarely a whole frame, and a
 * line forced through whole frames would disagree with the map on every frame near a half.
 */

export interface Segment {
  /** First and last fg frame of the piece, inclusive. */
  fg: [number, number];
  /** Where the piece's line is at those fg frames, in bg frames (at most 3 decimals). */
  bg: [number, number];
}

export interface EncodedMap {
  segments: Segment[];
  /** [fgFrame, bgFrame] where the map departs from its piece. */
  exceptions: [number, number][];
}

/** How far (bg frames) a piece may pass from the map while it grows. */
const TOLERANCE = 2;
/** Line ends are stored in thousandths of a bg frame. */
const UNIT = 1000;

/**
 * The bg frame a piece gives fg frame `f`: round half up of the straight line through its ends,
 * computed in integers (thousandths of a frame), so every reader gets the same frame.
 */
export function pieceFrame(s: Segment, f: number): number {
  const [f0, f1] = s.fg;
  const b0 = Math.round(s.bg[0] * UNIT);
  const b1 = Math.round(s.bg[1] * UNIT);
  const n = Math.max(1, f1 - f0);
  return Math.floor((2 * (b0 * n + (b1 - b0) * (f - f0)) + UNIT * n) / (2 * UNIT * n));
}

const thousandths = (v: number) => Math.round(v * UNIT) / UNIT;

function mismatches(map: readonly number[], s: Segment): number {
  let n = 0;
  for (let f = s.fg[0]; f <= s.fg[1]; f++) if (pieceFrame(s, f) !== map[f]) n++;
  return n;
}

/**
 * The line for frames a..b that reproduces the most of them: the one through their end values,
 * or the least-squares line nudged up or down by a little (rounding half up biases the values
 * upwards, so the fitted line can sit a hair off the one that made them). Fixed candidate order
 * and ties to the first keep the choice deterministic.
 */
function bestPiece(map: readonly number[], a: number, b: number): Segment {
  const through: Segment = { fg: [a, b], bg: [map[a], map[b]] };
  if (b - a < 2) return through;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  const n = b - a + 1;
  for (let f = a; f <= b; f++) {
    const x = f - a;
    sx += x;
    sy += map[f];
    sxx += x * x;
    sxy += x * map[f];
  }
  const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const intercept = (sy - slope * sx) / n;
  let best = through;
  let fewest = mismatches(map, through);
  for (let k = -10; k <= 10 && fewest > 0; k++) {
    const c = intercept + k * 0.005;
    const s: Segment = { fg: [a, b], bg: [thousandths(c), thousandths(c + slope * (b - a))] };
    const m = mismatches(map, s);
    if (m < fewest) {
      best = s;
      fewest = m;
    }
  }
  return best;
}

/**
 * Greedy pieces, each as long as a line through its first point and some later point stays within
 * TOLERANCE of every value between (the slope window narrows point by point), then each piece's
 * line chosen to reproduce as many frames as it can.
 */
export function encodeMap(map: readonly number[]): EncodedMap {
  const segments: Segment[] = [];
  const exceptions: [number, number][] = [];
  for (let a = 0; a < map.length; ) {
    let lo = -Infinity;
    let hi = Infinity;
    let end = a;
    for (let k = a + 1; k < map.length; k++) {
      const dk = k - a;
      lo = Math.max(lo, (map[k] - TOLERANCE - map[a]) / dk);
      hi = Math.min(hi, (map[k] + TOLERANCE - map[a]) / dk);
      if (lo > hi) break;
      const slope = (map[k] - map[a]) / dk;
      if (slope >= lo && slope <= hi) end = k;
    }
    const seg = bestPiece(map, a, end);
    segments.push(seg);
    for (let f = a; f <= end; f++) if (pieceFrame(seg, f) !== map[f]) exceptions.push([f, map[f]]);
    a = end + 1;
  }
  return { segments, exceptions };
}

/** The map back, one bg frame per fg frame; throws a plain Error saying what is inconsistent. */
export function decodeMap(frames: number, m: EncodedMap): number[] {
  const map: number[] = new Array(frames);
  let next = 0;
  for (const s of m.segments) {
    if (s.fg[0] !== next || s.fg[1] < s.fg[0] || s.fg[1] >= frames) {
      throw new Error(`segment fg [${s.fg.join(', ')}] does not continue from frame ${next} within ${frames} frames`);
    }
    for (let f = s.fg[0]; f <= s.fg[1]; f++) map[f] = pieceFrame(s, f);
    next = s.fg[1] + 1;
  }
  if (next !== frames) throw new Error(`segments cover fg frames 0..${next - 1}, not 0..${frames - 1}`);
  for (const [f, b] of m.exceptions) {
    if (!(Number.isInteger(f) && f >= 0 && f < frames)) throw new Error(`exception for fg frame ${f} is outside 0..${frames - 1}`);
    map[f] = b;
  }
  return map;
}
