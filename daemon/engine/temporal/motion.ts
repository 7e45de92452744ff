import { shiftCosts } from '../../native/kernels';
import type { FeatureSeq } from '../descriptors/types';

/**
 * Motion as evidence: the picture's motion between fg frames i and i + k must be the motion between
 * the bg frames the map pairs them with. A map that pairs each fg frame with a similar-looking bg
 * frame can still run at the wrong rate where the picture changes slowly (a camera drifting over a
 * still scene, a static fg region over a moving bg): frame similarity cannot tell, the motion can.
 *
 * Motion here is one global shift per pair of consecutive frames (sum of squared differences over
 * ±R analysis pixels, mean-removed, parabolic sub-pixel), summed into a trajectory per video; the
 * disagreement is measured over windows of k fg frames, so bg frames repeated or skipped by an fps
 * change (fg moving every frame, bg every other) do not count.
 */

/** Largest shift looked for at half size between consecutive frames (±7 analysis pixels at full size). */
const R = 4;
/** Below this width or height there is no half size to search first. */
const PYRAMID_MIN = 32;

/** One grey frame, data[y·w + x], as floats at full size and half size alike (the kernel reads floats). */
interface View {
  data: Float32Array;
  w: number;
  h: number;
}

/** A frame of a byte buffer as a float view of its own. */
function floats(buf: Uint8Array, at: number, w: number, h: number): View {
  return { data: new Float32Array(buf.subarray(at, at + w * h)), w, h };
}

function meanOf(v: View, mask?: Uint8Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < v.w * v.h; i++) {
    if (mask && mask[i]) continue;
    s += v.data[i];
    n++;
  }
  return n ? s / n : 0;
}

/** v at half size (2×2 means), and the mask (a pixel left out where any of its four is). */
function half(v: View, mask?: Uint8Array): { view: View; mask?: Uint8Array } {
  const w = v.w >> 1;
  const h = v.h >> 1;
  const out = new Float32Array(w * h);
  const m = mask ? new Uint8Array(w * h) : undefined;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 2 * y * v.w + 2 * x;
      out[y * w + x] = (v.data[i] + v.data[i + 1] + v.data[i + v.w] + v.data[i + v.w + 1]) / 4;
      if (m && mask) {
        const j = 2 * y * v.w + 2 * x;
        m[y * w + x] = mask[j] | mask[j + 1] | mask[j + v.w] | mask[j + v.w + 1];
      }
    }
  }
  return { view: { data: out, w, h }, mask: m };
}

/**
 * The lowest of the costs of shifts (cx + dx, cy + dy), |dx|, |dy| ≤ r: its place and the whole grid.
 * A cost is the mean squared difference of b moved by the shift against a, over the pixels both cover
 * and the mask keeps (in a, or with `both` in a and b), each frame's mean removed by `off` (a graded
 * or flickering picture moves as much as a steady one). fg's graphics are in both of its frames:
 * left out where either frame's pixel is under them (a static logo in b, moved by the shift onto a's
 * picture, pulls fg's shift towards zero: a right map with a burnt-in overlay read 0.43 px a frame
 * apart). bg has none to move: there the mask only keeps the same part of the picture.
 */
function search(a: View, b: View, cx: number, cy: number, r: number, off: number, mask?: Uint8Array, both = false) {
  const S = 2 * r + 1;
  const cost = shiftCosts(a.data, b.data, a.w, a.h, cx, cy, r, off, mask, both);
  let best = 0;
  for (let c = 1; c < cost.length; c++) if (cost[c] < cost[best]) best = c;
  return { cost, best, bx: (best % S) - r, by: Math.floor(best / S) - r, S };
}

/**
 * The sub-pixel minimum of the costs around grid point `best`: a quadratic in x and y fitted to its
 * 3×3 neighbours by least squares. The cross term matters: along an edge or a diagonal texture the
 * cost valley runs at an angle, and two separate parabolas would pull the shift across it.
 */
function vertex(cost: Float64Array, best: number, S: number): [number, number] {
  let b = 0;
  let c = 0;
  let d = 0;
  let e = 0;
  let f = 0;
  for (let y = -1; y <= 1; y++) {
    for (let x = -1; x <= 1; x++) {
      const v = cost[best + y * S + x];
      b += (x * v) / 6;
      c += (y * v) / 6;
      d += ((x * x - 2 / 3) * v) / 2;
      f += ((y * y - 2 / 3) * v) / 2;
      e += (x * y * v) / 4;
    }
  }
  const det = 4 * d * f - e * e;
  if (!(det > 0) || !(d > 0)) return [0, 0];
  const x = (-b * 2 * f + c * e) / det;
  const y = (-c * 2 * d + b * e) / det;
  return [Math.max(-1, Math.min(1, x)), Math.max(-1, Math.min(1, y))];
}

/**
 * Global shift of frame `b` against frame `a` (both w×h grey, at offsets ao, bo of their buffers):
 * the (dx, dy) that brings b's content onto a's, and whether it was found (not at the edge of the
 * range searched, and on a picture with enough texture for a shift to show). `mask`: 1 where a
 * pixel is left out, else 0.
 */
export function frameShift(
  a: Uint8Array,
  ao: number,
  b: Uint8Array,
  bo: number,
  w: number,
  h: number,
  mask?: Uint8Array,
  both = false,
): { dx: number; dy: number; ok: boolean } {
  const va = floats(a, ao, w, h);
  const vb = floats(b, bo, w, h);
  const off = meanOf(vb, mask) - meanOf(va, mask);
  let cx = 0;
  let cy = 0;
  let range = R;
  if (w >= PYRAMID_MIN && h >= PYRAMID_MIN) {
    // Found at half size first, then within ±2 of it at full size: a range of ±7 for the cost of ±4 on a quarter of the pixels.
    const ha = half(va, mask);
    const hb = half(vb);
    const coarse = search(ha.view, hb.view, 0, 0, R, off, ha.mask, both);
    if (Math.abs(coarse.bx) === R || Math.abs(coarse.by) === R) return { dx: 0, dy: 0, ok: false };
    // Centred on the half-size minimum to a pixel, so the full-size one lies inside ±2 of it.
    const [hx, hy] = vertex(coarse.cost, coarse.best, coarse.S);
    cx = Math.round(2 * (coarse.bx + hx));
    cy = Math.round(2 * (coarse.by + hy));
    range = 2;
  }
  const { cost, best, bx, by, S } = search(va, vb, cx, cy, range, off, mask, both);
  // A flat picture: every shift costs about the same, so none is evidence.
  let worst = 0;
  for (let c = 0; c < cost.length; c++) if (Number.isFinite(cost[c])) worst = Math.max(worst, cost[c]);
  if (!Number.isFinite(cost[best]) || worst - cost[best] < 4) return { dx: 0, dy: 0, ok: false };
  if (Math.abs(bx) === range || Math.abs(by) === range) return { dx: 0, dy: 0, ok: false };
  const [fx, fy] = vertex(cost, best, S);
  return { dx: cx + bx + fx, dy: cy + by + fy, ok: true };
}

/** A video's measured steps: per frame j, the shift to frame j + 1 and whether it was found. */
interface Steps {
  dx: Float64Array;
  dy: Float64Array;
  /** 0: not measured yet, 1: measured, 2: no shift to be found. */
  state: Uint8Array;
}

/**
 * Steps measured so far, per analysis sequence and mask: a re-alignment of the same videos (another
 * engine or window in the editor, on the daemon's cached frames) measures only the steps its new
 * map reaches that the last one did not. The motion check was most of such a re-alignment's time.
 */
const measured = new WeakMap<FeatureSeq, Map<string, Steps>>();

function stepsOf(seq: FeatureSeq, mask: Uint8Array | undefined, both: boolean): Steps {
  let bySeq = measured.get(seq);
  if (!bySeq) measured.set(seq, (bySeq = new Map()));
  const key = `${both ? 1 : 0}:${mask ? Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength).toString('base64') : ''}`;
  let steps = bySeq.get(key);
  if (!steps) bySeq.set(key, (steps = { dx: new Float64Array(seq.n), dy: new Float64Array(seq.n), state: new Uint8Array(seq.n) }));
  return steps;
}

/**
 * A video's motion between consecutive frames, measured on demand (a long video is sampled in
 * windows, and only their steps are worth the search): the summed shift from frame a to frame b,
 * undefined where a step in between could not be measured.
 */
function motionOf(seq: FeatureSeq, mask?: Uint8Array, both = false): (a: number, b: number) => { x: number; y: number } | undefined {
  const dim = seq.w * seq.h;
  const { dx, dy, state } = stepsOf(seq, mask, both);
  return (a, b) => {
    let x = 0;
    let y = 0;
    for (let j = a; j < b; j++) {
      if (!state[j]) {
        const s = frameShift(seq.data, j * dim, seq.data, (j + 1) * dim, seq.w, seq.h, mask, both);
        dx[j] = s.dx;
        dy[j] = s.dy;
        state[j] = s.ok ? 1 : 2;
      }
      if (state[j] === 2) return undefined;
      x += dx[j];
      y += dy[j];
    }
    return { x, y };
  };
}

/** Windows compared at most: enough for the mean and the worst second, a bounded cost however long fg is. */
const MAX_WINDOWS = 150;

export interface MotionCheck {
  /** fg's own motion, analysis pixels per fg frame (mean over the windows compared). */
  fgMotion: number;
  /** Mean disagreement between fg's and its matched bg frames' motion, analysis pixels per fg frame. */
  mean: number;
  /** The same over the worst stretch of about one second. */
  worst: number;
  /** Windows compared / all windows (the rest crossed a cut, an unmeasured step or a flat picture). */
  coverage: number;
}

/**
 * How well the map's bg frames move with fg's frames. `window`: fg frames per window (about a
 * third of a second); `second`: fg frames per second; `cuts`: fg frames where a new piece of bg
 * starts; `mask`: pixels to leave out (fg's burnt-in graphics, which do not move with the picture).
 */
export function motionCheck(
  fg: FeatureSeq,
  bg: FeatureSeq,
  map: ArrayLike<number>,
  o: { window: number; second: number; cuts?: number[]; mask?: Uint8Array },
): MotionCheck | undefined {
  const n = Math.min(map.length, fg.n);
  const k = Math.max(2, Math.round(o.window));
  if (!fg.w || fg.w !== bg.w || fg.h !== bg.h || n <= k) return undefined;
  for (let i = 0; i < n; i++) if (map[i] < 0 || map[i] >= bg.n) return undefined;
  // 0 or 1 exactly: the search weighs pixels by it.
  const mask = o.mask && Uint8Array.from(o.mask, (v) => (v ? 1 : 0));
  const F = motionOf(fg, mask, true);
  const B = motionOf(bg, mask);
  const cuts = o.cuts ?? [];
  const err: number[] = [];
  const at: number[] = [];
  let motion = 0;
  const windows = n - k;
  const count = Math.min(windows, MAX_WINDOWS);
  for (let w = 0; w < count; w++) {
    const i = count === windows ? w : Math.round((w * (windows - 1)) / Math.max(1, count - 1));
    if (cuts.some((c) => c > i && c <= i + k) || map[i + k] < map[i]) continue;
    const f = F(i, i + k);
    const g = f && B(map[i], map[i + k]);
    if (!f || !g) continue;
    err.push(Math.hypot(f.x - g.x, f.y - g.y) / k);
    at.push(i);
    motion += Math.hypot(f.x, f.y) / k;
  }
  if (!err.length) return undefined;
  const mean = err.reduce((s, e) => s + e, 0) / err.length;
  // The worst stretch of about a second (windows that start within it).
  const span = Math.max(k, Math.round(o.second));
  let worst = 0;
  for (let s = 0, e = 0, sum = 0; e < err.length; e++) {
    sum += err[e];
    while (at[e] - at[s] >= span) sum -= err[s++];
    if (at[e] - at[0] >= span - 1) worst = Math.max(worst, sum / (e - s + 1));
  }
  if (at[at.length - 1] - at[0] < span - 1) worst = mean;
  return { fgMotion: motion / err.length, mean, worst, coverage: err.length / count };
}
