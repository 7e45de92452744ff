import { throwIfAborted } from '../core/errors';
import type { Rect } from '../core/geometry';
import type { AlignContext } from './context';
import { extractFeatures } from './descriptors/frames';
import { analysisSize } from './descriptors/frames';
import { pixelDescriptors } from './descriptors/pixels';
import type { Described, FeatureSeq } from './descriptors/types';
import { resize, toGray, type Gray } from './image';
import { keyframesOf, placementAt, type Keyframe, type Sample } from './spatial/keyframes';
import { coarseSearch, type Placement } from './spatial/search';
import { cutGray, pyramid, searchNear, type Pyramid } from './spatial/track';
import { solveDescribed, type Matched } from './temporal/match';
import { subFrame } from './temporal/subframe';
import { robustLine, stretchBounds, stretchLines } from '../core/line';

/**
 * A moving placement, estimated jointly with the time map. The window is tracked on time-matched
 * pairs (spatial/track.ts), and the map is then found again on frames cut at the tracked window:
 * the window is a function of bg time (where it is when bg shows that moment), so every bg frame has
 * one analysis frame, cut where the window is at its own time, and the temporal engine runs
 * unchanged on those. Map -> track -> map -> track -> map: a window that moves and a time that
 * drifts are each estimated on the other's latest figure, so neither absorbs the other's error.
 */

export interface Tracked {
  matched: Matched;
  /** fg's content corner (bg px) and scale at keyframes: piecewise linear in fg frames. */
  keys: Keyframe[];
  /** Mean NCC of the tracked pairs. */
  score: number;
  /** bg px a keyframe line may miss the tracked samples by. */
  tolerance: number;
}

/**
 * Analysis frames of the tracked window, long side: finer than a fixed placement's 96, since the
 * time of a window that follows the scene shows only in what moves within it.
 */
const ANALYSIS_SIDE = 160;

/** Rounds of the map on its own windows at most (step 4 below): it settles in two or three. */
const MAP_ROUNDS = 2;

const sameMap = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);

/** Keyframe tolerance, bg px. */
export const TRACK_TOLERANCE = 0.5;
/** Longest side of the working frames the window is tracked on, px. */
const WORK_SIDE = 640;
/** Grey working frames of both videos at most, pixels (a byte each). */
const WORK_BUDGET = 160 << 20;
/** Tracked pairs per fg second. */
const SAMPLES_PER_SECOND = 8;
/** NCC below which a pair's window is taken as lost, and searched for over all of bg again. */
const LOST = 0.5;
/** How far the window may be from where its last two places predict, bg px; and its scale, a fraction. */
const RADIUS = 8;
const SCALE_RADIUS = 0.03;

/** Working frames: bg whole, fg's content, both grey at about the same pixels per bg pixel. */
interface Work {
  bg: FeatureSeq;
  fg: FeatureSeq;
  /** Working pixels per bg pixel, and per fg content pixel. */
  k: number;
  kf: number;
  content: Rect;
}

export async function trackPlacement(ctx: AlignContext, first: Matched, start: Placement, fixedScale?: number): Promise<Tracked> {
  const { loc, o } = ctx;
  const { bg, fg, content } = loc;
  const nB = Math.max(1, first.bgF.seq.n || bg.frameCount);
  const k = Math.min(1, WORK_SIDE / Math.max(bg.width, bg.height), Math.sqrt(WORK_BUDGET / 2 / (nB * bg.width * bg.height)));
  const kf = Math.min(1, k * start.scale * 1.25);
  const bw = Math.max(16, Math.round(bg.width * k));
  const bh = Math.max(16, Math.round(bg.height * k));
  const fw = Math.max(8, Math.round(content.width * kf));
  const fh = Math.max(8, Math.round(content.height * kf));
  const [bgSeq, fgSeq] = await Promise.all([
    extractFeatures(bg.file, { x: 0, y: 0, width: bg.width, height: bg.height }, bw, bh, bg.frameCount, undefined, o.signal),
    extractFeatures(fg.file, content, fw, fh, fg.frameCount, undefined, o.signal),
  ]);
  const w: Work = { bg: bgSeq, fg: fgSeq, k: bw / bg.width, kf: fw / content.width, content };
  const size = analysisSize(content, fgSeq.n + bgSeq.n, ANALYSIS_SIDE);

  const cuts = (m: Matched) => (m.tm.cuts ?? []).map((c) => c.fg);
  // 1. The first map was made for a fixed placement: right only where the window was where that
  // placement put it (its most confident frames), off by up to seconds elsewhere, and a window
  // tracked on its pairs would absorb that error (a bg frame seconds away cut a little to the side
  // looks much like fg in a panning shot). So the window is tracked in time and space together,
  // outward from those frames, each pair searched a few bg frames around where the last ones point.
  const joint = trackJointly(w, first.tm.bgFrameForFg, first.tm.confidence, cuts(first), start, fixedScale, fg.fps, bg.fps);
  // 2. The window as a function of bg time: each bg frame cut where the window is at its own time;
  // the temporal engine maps fg onto those.
  const byTime = smoothed(joint, (p) => p.j, bg.fps / 2);
  let matched = await mapOnWindow(ctx, w, size, (j) => atBgFrame(byTime, j));
  // 3. The window tracked again on that map (near where step 1 found it), and the map once more.
  const jointKeys = keyframesOf([byTime.map(({ f, x, y, scale }) => ({ f, x, y, scale }))], content.width, content.height, 0);
  const prior = (f: number) => placementAt(jointKeys, f);
  let t = trackOnMap(w, matched.tm.bgFrameForFg, cuts(matched), prior, start, fixedScale, fg.fps);
  let keys = keyframesOf(t.runs, content.width, content.height, TRACK_TOLERANCE);
  const map1 = matched.tm.bgFrameForFg;
  matched = await mapOnWindow(ctx, w, size, windowByBgFrame(keys, map1, cuts(matched)));
  t = trackOnMap(w, matched.tm.bgFrameForFg, cuts(matched), (f) => placementAt(keys, f), start, fixedScale, fg.fps);
  keys = keyframesOf(t.runs, content.width, content.height, TRACK_TOLERANCE);
  // 4. The window is now known per fg frame to a pixel or so even where the map is still a frame
  // or two off (nearby bg frames of a slow shot fit about as well a pixel to the side), but which bg
  // frame gets which window still follows the map: the map is found again on its own windows until
  // it settles (a wrong pairing cuts its bg frames a little off and fits worse than the right one).
  let best = matched;
  const fit = (m: Matched) => m.tm.confidence.reduce((a, c) => a + c, 0) / Math.max(1, m.tm.confidence.length);
  for (let it = 0; it < MAP_ROUNDS; it++) {
    const before = matched.tm.bgFrameForFg;
    matched = await mapOnWindow(ctx, w, size, windowByBgFrame(keys, before, cuts(matched)));
    if (fit(matched) > fit(best)) best = matched;
    if (sameMap(before, matched.tm.bgFrameForFg)) break;
  }
  matched = best;
  // 5. Frame-accurate: each fg frame against the bg frames near its map, each cut at that fg
  // frame's own window (not at the window the map gives the bg frame): the time no longer rides
  // on the map it is correcting, and what moves within the window decides.
  // The window, tracked once more on that map, and the map on it: each round mends what the other's
  // last error cost it.
  for (let it = 0; it < NEAR_ROUNDS; it++) {
    if (it > 0) {
      t = trackOnMap(w, matched.tm.bgFrameForFg, cuts(matched), (f) => placementAt(keys, f), start, fixedScale, fg.fps);
      keys = keyframesOf(t.runs, content.width, content.height, TRACK_TOLERANCE);
    }
    const before = matched.tm.bgFrameForFg;
    matched = await nearMap(w, matched, keys, ctx);
    if (sameMap(before, matched.tm.bgFrameForFg)) break;
  }
  // 6. At working size, the window free: in a panning shot a bg frame or two early, cut a pixel
  // to the side, fits fg's analysis frames as well as the right one (an analysis pixel is two bg
  // pixels or more), and the window, tracked on that map, goes a pixel to that side with it. At
  // working size the right pair fits better, each bg frame near the map searched at its own best
  // window; the map is moved by what the pairs say, and the window tracked on it once more. Again
  // while it moves (an offset at the edge of its reach may go on).
  const searched: ShiftCache = new Map();
  for (let it = 0; it < SHIFT_ROUNDS; it++) {
    const shifted = shiftAtWorkingSize(w, matched, keys, fg.fps, fixedScale, searched);
    if (sameMap(shifted.tm.bgFrameForFg, matched.tm.bgFrameForFg)) break;
    matched = shifted;
    t = trackOnMap(w, matched.tm.bgFrameForFg, cuts(matched), (f) => placementAt(keys, f), start, fixedScale, fg.fps);
    keys = keyframesOf(t.runs, content.width, content.height, TRACK_TOLERANCE);
  }
  // 7. The map made its line where it strays from it by a few frames only (straightened), and the
  // window tracked on that.
  const straight = straightened(matched, w.bg.n);
  if (!sameMap(straight.tm.bgFrameForFg, matched.tm.bgFrameForFg) || w.k < FINE_WORK) {
    matched = straight;
    t = trackOnMap(w, matched.tm.bgFrameForFg, cuts(matched), (f) => placementAt(keys, f), start, fixedScale, fg.fps, true);
    keys = keyframesOf(t.runs, content.width, content.height, TRACK_TOLERANCE);
  }
  return { matched, keys, score: t.score, tolerance: TRACK_TOLERANCE };
}

/** How far (bg frames) the map may stray from its line for the line to replace it (straightened). */
const STRAIGHT = 4;

/**
 * The map made its line, stretch by stretch between cuts, where it strays from it by STRAIGHT bg
 * frames at most. A window that moves over a scene whose own camera moves cannot be told from the
 * same window a frame later and shifted by the camera's motion: frame by frame the map and the
 * window trade errors (a wave of a frame or two, the window a pixel out with it), and only the
 * line through the map, a time that runs at one speed, settles them. A map that departs further
 * (a freeze, a change of speed) is left as it is.
 */
function straightened(m: Matched, nB: number): Matched {
  const map = m.tm.bgFrameForFg;
  const out = new Int32Array(map);
  for (const { first, end, slope, intercept } of stretchLines(map, (m.tm.cuts ?? []).map((c) => c.fg), 3)) {
    const at = (i: number) => intercept + slope * i;
    let far = 0;
    for (let i = first; i < end; i++) far = Math.max(far, Math.abs(map[i] - at(i)));
    if (far > STRAIGHT) continue;
    for (let i = first; i < end; i++) out[i] = Math.max(i > 0 ? out[i - 1] : 0, Math.min(nB - 1, Math.round(at(i))));
  }
  return { ...m, tm: { ...m.tm, bgFrameForFg: out } };
}

/**
 * Sampled fg frames per second in the working-size pass: it moves the map's offset, which changes
 * over seconds; the line (straightened) and the frame-accurate pass keep the detail.
 */
const SHIFT_SAMPLES_PER_SECOND = 4;
/** Rounds of the working-size pass at most. */
const SHIFT_ROUNDS = 3;
/** bg frames either side of the map the working-size pass tries, and the window's reach there (bg px). */
const SHIFT = 3;
const SHIFT_RADIUS = 3;
/** How far the working-size pass lets the scale go from the tracked one, a fraction. */
const SHIFT_SCALE = 0.015;
/**
 * What a change of shift between neighbouring samples costs (NCC units per bg frame): the map's
 * error moves slowly, a pair's pick by a frame is noise at 0.002.
 */
const SHIFT_COST = 0.004;
/**
 * The reach of a search chained from the neighbouring bg frame's window, bg px and a fraction of
 * scale: from one bg frame to the next the window moves by bg's own camera motion, mostly under a
 * pixel, and its last two steps predict the next.
 */
const CHAIN_RADIUS = 1.5;
const CHAIN_SCALE = 0.004;
/** How far the tracked window may move between rounds (bg px, fraction of scale) for a sample's searches to stand. */
const REUSE_PX = 1;
const REUSE_SCALE = 0.005;

/** The working-size searches of each sampled fg frame, by bg frame, and the window they started from. */
type ShiftCache = Map<number, { p: Sample; at: Map<number, Sample & { score: number }> }>;

/**
 * The map moved by what sampled pairs say at working size: each sampled fg frame against bg frames
 * map ± SHIFT, each at its own best window near the tracked one; the least-cost sequence of offsets
 * over the samples (paying SHIFT_COST per frame of change), interpolated between them, the result
 * kept monotonic. The frame-by-frame detail of the map stays; only its offset moves.
 */
function shiftAtWorkingSize(w: Work, m: Matched, keys: Keyframe[], fps: number, fixedScale: number | undefined, searched: ShiftCache): Matched {
  const map = m.tm.bgFrameForFg;
  const nF = Math.min(map.length, w.fg.n);
  if (nF < 2) return m;
  const step = Math.max(1, Math.round(fps / SHIFT_SAMPLES_PER_SECOND));
  const frames: number[] = [];
  for (let f = 0; f < nF; f += step) frames.push(f);
  if (frames[frames.length - 1] !== nF - 1) frames.push(nF - 1);
  const pyr = pyramids(w);
  const width = 2 * SHIFT + 1;
  const cost = new Float64Array(frames.length * width).fill(Infinity);
  const from = new Int8Array(frames.length * width);
  for (let q = 0; q < frames.length; q++) {
    const f = frames[q];
    const p = placementAt(keys, f);
    // From half size: the tracked window is a pixel or two off at most, and the scale (which a
    // camera's own zoom trades against time too) is found in steps of a pixel at fg's edge.
    const so = { k: w.k, cw: w.content.width, ch: w.content.height, radius: SHIFT_RADIUS, scaleRadius: SHIFT_SCALE, fixedScale, coarsest: 1 };
    const chained = { ...so, radius: CHAIN_RADIUS, scaleRadius: CHAIN_SCALE };
    let entry = searched.get(f);
    if (!entry || Math.abs(entry.p.x - p.x) > REUSE_PX || Math.abs(entry.p.y - p.y) > REUSE_PX || Math.abs(entry.p.scale / p.scale - 1) > REUSE_SCALE) {
      entry = { p, at: new Map() };
      searched.set(f, entry);
    }
    const at = entry.at;
    // The bg frame on the map searched widely around the tracked window; the others outward from
    // it, each from where its two neighbours towards the map point (a round after the map moved
    // keeps the searches it has and extends them the same way).
    const fitAt = (j: number) => {
      let hit = at.get(j);
      if (hit) return hit.score;
      let near: number | undefined;
      for (const k of at.keys()) if (near === undefined || Math.abs(k - j) < Math.abs(near - j)) near = k;
      const fr = { bg: pyr(j), fg: frameOf(w.fg, f) };
      if (near === undefined) hit = searchNear(fr, p, so);
      else {
        const a = at.get(near)!;
        const b = at.get(near - Math.sign(j - near));
        const t = Math.abs(j - near);
        const guess = b ? { f, x: a.x + (a.x - b.x) * t, y: a.y + (a.y - b.y) * t, scale: a.scale * (a.scale / b.scale) ** t } : { ...a, f };
        hit = searchNear(fr, guess, chained);
      }
      at.set(j, hit);
      return hit.score;
    };
    const order = [0, ...Array.from({ length: SHIFT }, (_, i) => i + 1), ...Array.from({ length: SHIFT }, (_, i) => -(i + 1))];
    const scores = new Map<number, number>();
    for (const o of order) {
      const j = map[f] + o;
      if (j >= 0 && j < w.bg.n) scores.set(o, fitAt(j));
    }
    for (let d = 0; d < width; d++) {
      const j = map[f] + d - SHIFT;
      if (j < 0 || j >= w.bg.n) continue;
      const here = 1 - scores.get(d - SHIFT)!;
      if (q === 0) {
        cost[d] = here;
        continue;
      }
      let best = Infinity;
      for (let e = 0; e < width; e++) {
        const c = cost[(q - 1) * width + e] + SHIFT_COST * Math.abs(d - e);
        if (c < best) {
          best = c;
          from[q * width + d] = e;
        }
      }
      cost[q * width + d] = best + here;
    }
  }
  let d = 0;
  const last = (frames.length - 1) * width;
  for (let e = 1; e < width; e++) if (cost[last + e] < cost[last + d]) d = e;
  if (cost[last + d] === Infinity) return m;
  const shifts = new Float64Array(frames.length);
  for (let q = frames.length - 1; q >= 0; q--) {
    shifts[q] = d - SHIFT;
    if (q > 0) d = from[q * width + d];
  }
  const out = new Int32Array(map);
  let q = 0;
  for (let f = 0; f < nF; f++) {
    while (q + 1 < frames.length && frames[q + 1] <= f) q++;
    const a = frames[q];
    const b = frames[Math.min(frames.length - 1, q + 1)];
    const sh = b > a ? shifts[q] + ((shifts[Math.min(frames.length - 1, q + 1)] - shifts[q]) * (f - a)) / (b - a) : shifts[q];
    out[f] = Math.max(0, Math.min(w.bg.n - 1, map[f] + Math.round(sh)));
    if (f > 0 && out[f] < out[f - 1]) out[f] = out[f - 1];
  }
  return { ...m, tm: { ...m.tm, bgFrameForFg: out } };
}

/**
 * Seconds either side over which a tracked scale is smoothed: a zoom, by hand or by a re-frame's
 * keyframes, changes over seconds, while a pair's scale is noisy by half a per cent.
 */
const ZOOM_SECONDS = 1;
/**
 * Working pixels per bg pixel from which the scale is smoothed so in every round, not only the last
 * (trackOnMap's `final`). Each round's window is the next one's prior: where a working pixel is
 * several bg pixels (a long 1080p fg), a window held about its centre through rounds walked away
 * with a moving subject (80-94 px on the bench pair with --placement tracked, against 6 px so).
 */
const FINE_WORK = 0.5;

/** Rounds of the frame-accurate pass, each on the window tracked on the last one's map. */
const NEAR_ROUNDS = 3;
/** bg frames either side of the map that the frame-accurate pass compares. */
const NEAR = 4;
/**
 * Cost per bg frame the path strays from the robust line through the map, per fg frame (similarity
 * units): a window's time runs at one speed, and where nearby bg frames fit about as well (a window
 * that follows a slow scene) the line decides.
 */
const LINE_COST = 0.003;

/**
 * The map refined frame by frame: fg frame i against bg frames map(i) ± NEAR, each cut at fg frame
 * i's tracked window, at the analysis size; the least-cost path through that band that never runs
 * backwards, paying a little for steps away from the map's rate.
 */
async function nearMap(w: Work, m: Matched, keys: Keyframe[], ctx: AlignContext): Promise<Matched> {
  throwIfAborted(ctx.o.signal);
  const fgSeq = m.fgF.seq;
  const { w: aw, h: ah } = fgSeq;
  const dim = aw * ah;
  const nF = Math.min(fgSeq.n, m.tm.bgFrameForFg.length);
  const nB = w.bg.n;
  const width = 2 * NEAR + 1;
  const sim = new Float32Array(nF * width).fill(-1);
  const cut = new Uint8Array(dim);
  const unit = (src: ArrayLike<number>, off: number) => {
    let mean = 0;
    for (let p = 0; p < dim; p++) mean += src[off + p];
    mean /= dim;
    const v = new Float32Array(dim);
    let n2 = 0;
    for (let p = 0; p < dim; p++) {
      v[p] = src[off + p] - mean;
      n2 += v[p] * v[p];
    }
    const k = n2 > 0 ? 1 / Math.sqrt(n2) : 0;
    for (let p = 0; p < dim; p++) v[p] *= k;
    return v;
  };
  for (let i = 0; i < nF; i++) {
    const f = unit(fgSeq.data, i * dim);
    let fSum = 0;
    for (let q = 0; q < dim; q++) fSum += f[q];
    const p = placementAt(keys, i);
    for (let d = -NEAR; d <= NEAR; d++) {
      const j = m.tm.bgFrameForFg[i] + d;
      if (j < 0 || j >= nB) continue;
      // Cut from the working frame as fg's analysis frames were: the same filter on both sides.
      const g = frameOf(w.bg, j);
      const { k } = w;
      cutGray(g, p.x * k, p.y * k, w.content.width * p.scale * k, w.content.height * p.scale * k, aw, ah, cut);
      // NCC in one pass over the cut: f is zero-mean and unit, so only the cut's mean and norm are needed.
      let sb = 0;
      let sbb = 0;
      let fb = 0;
      for (let q = 0; q < dim; q++) {
        const b = cut[q];
        sb += b;
        sbb += b * b;
        fb += f[q] * b;
      }
      const vb = sbb - (sb * sb) / dim;
      sim[i * width + d + NEAR] = vb > 0 ? (fb - (sb / dim) * fSum) / Math.sqrt(vb) : 0;
    }
  }
  // Least-cost monotonic path through the band (offsets from the map, which is itself monotonic).
  const base = m.tm.bgFrameForFg;
  // Across cuts there is no one line: the band alone decides there.
  const line = m.tm.cuts?.length ? undefined : robustLine(Int32Array.from({ length: nF }, (_, i) => i), base.subarray(0, nF));
  const stray = (i: number, j: number) => (line ? LINE_COST * Math.abs(j - (line.intercept + line.slope * i)) : 0);
  const cost = new Float64Array(nF * width).fill(Infinity);
  const from = new Int8Array(nF * width);
  for (let d = 0; d < width; d++) if (sim[d] > -1) cost[d] = 1 - sim[d] + stray(0, base[0] + d - NEAR);
  for (let i = 1; i < nF; i++) {
    for (let d = 0; d < width; d++) {
      if (sim[i * width + d] <= -1) continue;
      const j = base[i] + d - NEAR;
      let best = Infinity;
      let arg = 0;
      for (let e = 0; e < width; e++) {
        const c = cost[(i - 1) * width + e];
        const step = j - (base[i - 1] + e - NEAR);
        if (c === Infinity || step < 0) continue;
        const v = c;
        if (v < best) {
          best = v;
          arg = e;
        }
      }
      if (best === Infinity) continue;
      cost[i * width + d] = best + 1 - sim[i * width + d] + stray(i, j);
      from[i * width + d] = arg;
    }
  }
  let d = 0;
  for (let e = 1; e < width; e++) if (cost[(nF - 1) * width + e] < cost[(nF - 1) * width + d]) d = e;
  if (cost[(nF - 1) * width + d] === Infinity) return m;
  const map = new Int32Array(m.tm.bgFrameForFg);
  const confidence = new Float32Array(m.tm.confidence);
  for (let i = nF - 1; i >= 0; i--) {
    map[i] = base[i] + d - NEAR;
    confidence[i] = Math.max(0, sim[i * width + d]);
    if (i > 0) d = from[i * width + d];
  }
  return { ...m, tm: { ...m.tm, bgFrameForFg: map, confidence } };
}

/** The map on analysis frames cut at the window of each bg frame's own time. */
async function mapOnWindow(ctx: AlignContext, w: Work, size: { w: number; h: number }, at: (j: number) => Sample): Promise<Matched> {
  throwIfAborted(ctx.o.signal);
  const t0 = performance.now();
  const fgF: Described = { seq: cutFg(w, size) };
  const bgF: Described = { seq: cutBg(w, size, at) };
  const d = pixelDescriptors(fgF.seq, bgF.seq, ctx.engine === 'mask' ? 'mask' : 'full');
  const tm = await solveDescribed(ctx, d, fgF.seq, bgF.seq);
  return { fgF, bgF, tm, decodeSeconds: 0, temporalSeconds: (performance.now() - t0) / 1000 };
}

/** A tracked pair: fg frame f, the bg frame j it was found in, the window there. */
type Found = Sample & { j: number; score: number };

/** The window at bg frame j from pairs tracked in time and space: between the pairs around j, held at the ends. */
function atBgFrame(found: Found[], j: number): Sample {
  const s = found;
  if (j <= s[0].j) return s[0];
  for (let k = 1; k < s.length; k++) {
    if (j > s[k].j) continue;
    const a = s[k - 1];
    const b = s[k];
    const t = b.j === a.j ? 0 : (j - a.j) / (b.j - a.j);
    return { f: a.f + (b.f - a.f) * t, x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t, scale: a.scale + (b.scale - a.scale) * t };
  }
  return s[s.length - 1];
}

/** The window at bg frame j from keyframes in fg frames: the fg frame (fractional) the map puts at j. */
function windowByBgFrame(keys: Keyframe[], map: ArrayLike<number>, cuts: number[]): (j: number) => Sample {
  const sub = subFrame(map, cuts);
  return (j) => {
    let lo = 0;
    let hi = sub.length - 1;
    if (j <= sub[0]) return placementAt(keys, 0);
    if (j >= sub[hi]) return placementAt(keys, hi);
    while (hi - lo > 1) {
      const m = (lo + hi) >> 1;
      if (sub[m] <= j) lo = m;
      else hi = m;
    }
    const f = sub[hi] > sub[lo] ? lo + (j - sub[lo]) / (sub[hi] - sub[lo]) : lo;
    return placementAt(keys, f);
  };
}

/**
 * Pairs tracked in time and space: sampled fg frames outward from the first map's most confident
 * stretch, each searched over a few bg frames around where the last pairs point (the rate between
 * them) and near the window they predict; the bg frame whose window fits best is the pair's.
 */
function trackJointly(
  w: Work,
  map: ArrayLike<number>,
  confidence: ArrayLike<number>,
  cuts: number[],
  start: Placement,
  fixedScale: number | undefined,
  fps: number,
  bgFps: number,
): Found[] {
  const nF = Math.min(map.length, w.fg.n);
  const step = Math.max(1, Math.round(fps / SAMPLES_PER_SECOND));
  const frames: number[] = [];
  for (let f = 0; f < nF; f += step) frames.push(f);
  if (frames[frames.length - 1] !== nF - 1) frames.push(nF - 1);
  const pyr = pyramids(w);
  const so = { k: w.k, cw: w.content.width, ch: w.content.height, fixedScale };
  const fgAt = (f: number) => frameOf(w.fg, f);
  // A quick look (half working size) for fg frame f over the whole of bg frame j: the seed's and a lost pair's search.
  const lookWhole = (j: number, f: number) =>
    searchNear({ bg: pyr(j), fg: fgAt(f) }, whole(w, j, f, start, fixedScale), { ...so, radius: RADIUS, scaleRadius: 0.1, finest: 1 });
  // The seed: where time is surest. The first map was made for a fixed placement and may be a
  // second off anywhere, and its confidence is highest where bg's frames look alike (a slow shot),
  // where time is least sure. So a few candidates (the best-matched sample of each stretch of fg)
  // are each searched over a second of bg frames either side of the first map, the window found
  // over the whole of each bg frame, and the seed is the one whose best bg frame stands out most
  // from those a few frames away.
  let seed = 0;
  let seedJ = map[0];
  let sharpest = -Infinity;
  const reach = Math.max(SEED_PEAK + 2, Math.round(bgFps));
  for (const q of seedCandidates(frames, confidence, step, nF)) {
    const f = frames[q];
    const scores: { j: number; score: number }[] = [];
    for (let j = clampJ(w, map[f] - reach); j <= clampJ(w, map[f] + reach); j += 2) {
      scores.push({ j, score: lookWhole(j, f).score });
    }
    const top = scores.reduce((a, b) => (b.score > a.score ? b : a));
    const away = Math.max(-1, ...scores.filter((c) => Math.abs(c.j - top.j) > SEED_PEAK).map((c) => c.score));
    if (top.score - away > sharpest) {
      sharpest = top.score - away;
      seed = q;
      seedJ = top.j;
    }
  }
  const out: Found[] = new Array(frames.length);
  {
    const f = frames[seed];
    const guess = whole(w, seedJ, f, start, fixedScale);
    let best: Found | undefined;
    for (let d = -3; d <= 3; d++) {
      const j = clampJ(w, seedJ + d);
      const hit = searchNear({ bg: pyr(j), fg: fgAt(f) }, best ?? guess, { ...so, radius: best ? RADIUS / 2 : RADIUS, scaleRadius: best ? SCALE_RADIUS : 0.1 });
      if (!best || hit.score > best.score) best = { ...hit, j };
    }
    out[seed] = best!;
  }
  const nominal = bgFps / fps;
  // Cuts found on the way (lost pairs found afresh elsewhere), as boundaries: bd lies between
  // samples bd - 1 and bd. Nothing on one side predicts the other.
  const bounds: number[] = [];
  const sameSide = (r: number, q: number) => !bounds.some((bd) => Math.min(r, q) < bd && bd <= Math.max(r, q));
  for (const dir of [1, -1]) {
    for (let q = seed + dir; q >= 0 && q < frames.length; q += dir) {
      const f = frames[q];
      const p1 = out[q - dir];
      // Where the last second of pairs points, in space and in time: one pair's pick is noisy where
      // neighbouring bg frames look alike, a fit through many is not. In space a parabola: a window
      // led by hand speeds up and slows down, and a line through the last second lags it by pixels,
      // which the pick below would make up for with the wrong bg frame (in a panning shot a bg frame
      // a little earlier, cut a little to the side, looks much like fg).
      const recent: Found[] = [];
      for (let r = q - dir; r >= 0 && r < frames.length && out[r] && sameSide(r, q - dir) && Math.abs(out[r].f - f) <= fps; r -= dir) recent.push(out[r]);
      const curve = (v: (p: Found) => number) => curveAt(recent, v, f);
      const guess: Sample = recent.length >= 3 ? { f, x: curve((p) => p.x), y: curve((p) => p.y), scale: curve((p) => p.scale) } : { ...p1, f };
      const seen = out.filter((p, r) => p && sameSide(r, q - dir));
      const jGuess = timeAt(seen, f, nominal, fps);
      // A quick look at half size in each bg frame near the predicted one, then the best one fully.
      let pick = { j: clampJ(w, Math.round(jGuess)), score: -2, at: guess };
      for (let d = -TIME_REACH; d <= TIME_REACH; d++) {
        const j = clampJ(w, Math.round(jGuess) + d);
        // Never back in time from the pair before.
        if ((j - p1.j) * dir < 0) continue;
        const quick = { ...so, radius: RADIUS / 2, scaleRadius: 0, fixedScale: fixedScale ?? guess.scale, finest: 1 };
        const hit = searchNear({ bg: pyr(j), fg: fgAt(f) }, guess, quick);
        if (hit.score > pick.score) pick = { j, score: hit.score, at: hit };
      }
      let hit: Found = { ...searchNear({ bg: pyr(pick.j), fg: fgAt(f) }, { ...pick.at, f }, { ...so, radius: 2, scaleRadius: SCALE_RADIUS }), j: pick.j };
      if (hit.score < LOST) {
        // Lost: a cut, after which bg runs on from elsewhere (forward in time: an edit) and the
        // window may be anywhere. The window is found over the whole of bg frames ahead.
        const near = (j: number, at: Sample) => searchNear({ bg: pyr(j), fg: fgAt(f) }, at, { ...so, radius: RADIUS / 2, scaleRadius: SCALE_RADIUS });
        const again = reacquire(w, (j) => lookWhole(j, f), near, p1.j, dir, Math.round(CUT_REACH_SECONDS * bgFps));
        if (again && again.score > Math.max(hit.score + LOST_GAIN, LOST)) {
          hit = again;
          bounds.push(dir > 0 ? q : q + 1);
        }
      }
      out[q] = hit;
    }
  }
  return out;
}

/** How far past a lost pair (bg seconds) a cut's other side is looked for. */
const CUT_REACH_SECONDS = 8;
/** How much better a pair found afresh must fit than the lost one. */
const LOST_GAIN = 0.2;

/**
 * A lost pair found afresh: the lost fg frame looked for over the whole of each bg frame past `j0`
 * in `dir`, every other one (`look`), the best one and its neighbours then searched near it at full
 * working size (`near`: the quick look's scores are at half size).
 */
function reacquire(
  w: Work,
  look: (j: number) => Sample & { score: number },
  near: (j: number, at: Sample) => Sample & { score: number },
  j0: number,
  dir: number,
  reach: number,
): Found | undefined {
  let best: Found | undefined;
  for (let d = 1; d <= reach; d += 2) {
    const j = j0 + d * dir;
    if (j < 0 || j >= w.bg.n) break;
    const hit = look(j);
    if (!best || hit.score > best.score) best = { ...hit, j };
  }
  if (!best) return undefined;
  let top: Found | undefined;
  for (let d = -1; d <= 1; d++) {
    const j = clampJ(w, best.j + d);
    const hit = near(j, best);
    if (!top || hit.score > top.score) top = { ...hit, j };
  }
  return top;
}

/** Seed candidates: one per stretch of fg. */
const SEEDS = 4;
/** bg frames either side of a seed's best one that still count as its peak. */
const SEED_PEAK = 4;

/** The samples (indices into `frames`) the first map matched best, one in each of SEEDS stretches of fg. */
function seedCandidates(frames: number[], confidence: ArrayLike<number>, step: number, nF: number): number[] {
  const around = (q: number) => {
    let c = 0;
    let n = 0;
    for (let f = Math.max(0, frames[q] - step); f <= Math.min(nF - 1, frames[q] + step); f++, n++) c += confidence[f];
    return c / Math.max(1, n);
  };
  const out: number[] = [];
  for (let s = 0; s < SEEDS; s++) {
    const a = Math.floor((s * frames.length) / SEEDS);
    const b = Math.floor(((s + 1) * frames.length) / SEEDS);
    let best = -1;
    for (let q = a; q < b; q++) if (best < 0 || around(q) > around(best)) best = q;
    if (best >= 0) out.push(best);
  }
  return out;
}

/**
 * The bg frame the pairs so far point to at fg frame f: the least-squares line through them, its
 * slope drawn towards the nominal rate (bg fps / fg fps) as if two seconds of pairs had run at it.
 * Pairs over a fraction of a second (the first few from the seed) pick their frames a frame or so
 * apart where neighbouring bg frames look alike, and a free line through them can point anywhere:
 * the map then runs away over a slow shot, frame by frame, each pick near the last bad guess.
 */
function timeAt(ps: Found[], f: number, nominal: number, fps: number): number {
  const n = ps.length;
  const mf = ps.reduce((a, p) => a + p.f, 0) / n;
  const mj = ps.reduce((a, p) => a + p.j, 0) / n;
  let sff = 0;
  let sfj = 0;
  for (const p of ps) {
    sff += (p.f - mf) ** 2;
    sfj += (p.f - mf) * (p.j - mj);
  }
  const prior = (n * (PRIOR_SECONDS * fps) ** 2) / 12;
  return mj + ((sfj + prior * nominal) / (sff + prior)) * (f - mf);
}

/** Seconds of pairs at the nominal rate the time line starts from (timeAt). */
const PRIOR_SECONDS = 2;

/**
 * The least-squares parabola through pairs' values v (over their fg frames) at fg frame f; the line
 * where there are too few pairs for a parabola to be steadier than the noise (CURVE_MIN).
 */
function curveAt(ps: Found[], v: (p: Found) => number, f: number): number {
  return polyAt(
    ps.map((p) => p.f),
    ps.map(v),
    f,
    ps.length < CURVE_MIN ? 1 : 2,
  );
}

/**
 * The least-squares polynomial of `degree` (1 or 2) through (t, v), at `at`; a lower degree where the
 * points do not fix this one (all at one t, or two), the mean where they fix no line.
 */
export function polyAt(t: ArrayLike<number>, v: ArrayLike<number>, at: number, degree: 1 | 2): number {
  const n = t.length;
  let mt = 0;
  for (let k = 0; k < n; k++) mt += t[k];
  mt /= n;
  // Normal equations over t - mt (well conditioned over a second of frames).
  const d = degree + 1;
  const m = new Float64Array(2 * d - 1);
  const r = new Float64Array(d);
  for (let k = 0; k < n; k++) {
    const x = t[k] - mt;
    let p = 1;
    for (let e = 0; e < 2 * d - 1; e++, p *= x) {
      m[e] += p;
      if (e < d) r[e] += p * v[k];
    }
  }
  const a = Array.from({ length: d }, (_, i) => [...Array.from({ length: d }, (_, j) => m[i + j]), r[i]]);
  for (let c = 0; c < d; c++) {
    const piv = a[c][c];
    if (!(Math.abs(piv) > 1e-9 * Math.max(1, m[0] * m[2 * c]))) return degree === 2 ? polyAt(t, v, at, 1) : r[0] / Math.max(1, m[0]);
    for (let k = c + 1; k < d; k++) {
      const g = a[k][c] / piv;
      for (let e = c; e <= d; e++) a[k][e] -= g * a[c][e];
    }
  }
  const coef = new Float64Array(d);
  for (let c = d - 1; c >= 0; c--) {
    let sum = a[c][d];
    for (let e = c + 1; e < d; e++) sum -= a[c][e] * coef[e];
    coef[c] = sum / a[c][c];
  }
  let out = 0;
  for (let c = d - 1; c >= 0; c--) out = out * (at - mt) + coef[c];
  return out;
}

/** Pairs a parabola is fitted through at least (fewer: a line). */
const CURVE_MIN = 5;

/**
 * Samples smoothed by a local parabola over `half` either side (in t): the window's motion is
 * smooth over a second, a pair's measurement, traded against a bg frame's neighbours, is not. Not a
 * local line: a window led by hand turns, and a line through a turn cuts its corner by pixels.
 */
export function smoothed<T extends Sample>(ps: T[], t: (p: T) => number, half: number, zoom?: Zoom): T[] {
  const fitAt = (p: T, span: number, vs: ((q: T) => number)[]) => {
    const near = ps.filter((q) => Math.abs(t(q) - t(p)) <= span);
    if (near.length < 3) return vs.map((v) => v(p));
    const ts = near.map(t);
    // A parabola only with pairs on both sides: at an end it swings with the last pair's noise.
    const sides = Math.min(ts.filter((u) => u < t(p)).length, ts.filter((u) => u > t(p)).length);
    return vs.map((v) => polyAt(ts, near.map(v), t(p), near.length < CURVE_MIN || sides < 2 ? 1 : 2));
  };
  if (!zoom) {
    return ps.map((p) => {
      const [x, y, scale] = fitAt(p, half, [(q) => q.x, (q) => q.y, (q) => q.scale]);
      return { ...p, x, y, scale };
    });
  }
  // The window's centre over `half`, its scale over the longer zoom.half, the corner from both: a
  // pair's scale and corner trade against each other about the centre (a window 0.5% too large
  // and a pixel up fits about as well), the centre is what a pair pins down.
  return ps.map((p) => {
    const [cx, cy] = fitAt(p, half, [(q) => q.x + (q.scale * zoom.w) / 2, (q) => q.y + (q.scale * zoom.h) / 2]);
    const [scale] = fitAt(p, zoom.half, [(q) => q.scale]);
    return { ...p, x: cx - (scale * zoom.w) / 2, y: cy - (scale * zoom.h) / 2, scale };
  });
}

/** How the scale is smoothed apart from the position (smoothed): over `half` and about the centre of a w×h window (fg px). */
interface Zoom {
  half: number;
  w: number;
  h: number;
}

/** bg frames searched either side of the one the last pairs predict. */
const TIME_REACH = 2;

const clampJ = (w: Work, j: number) => Math.max(0, Math.min(w.bg.n - 1, Math.round(j)));

/** bg frames' pyramids, the last few kept (pairs near in time share them). */
function pyramids(w: Work): (j: number) => Pyramid {
  const pyr = new Map<number, Pyramid>();
  return (j) => {
    const b = clampJ(w, j);
    let p = pyr.get(b);
    if (!p) {
      p = pyramid(frameOf(w.bg, b));
      pyr.set(b, p);
      if (pyr.size > 12) pyr.delete(pyr.keys().next().value!);
    }
    return p;
  };
}

/** A working frame as an image. */
function frameOf(seq: FeatureSeq, i: number): Gray {
  const dim = seq.w * seq.h;
  return toGray(seq.data.subarray(i * dim, (i + 1) * dim), seq.w, seq.h);
}

/**
 * The window tracked over fg on one map: sampled fg frames (SAMPLES_PER_SECOND, and the last),
 * each against its mapped bg frame near where the previous ones predict, outward from the middle of
 * each stretch between cuts. `prior`: the last round's trajectory, where each search starts instead
 * of a search over all of bg.
 */
function trackOnMap(
  w: Work,
  map: ArrayLike<number>,
  cuts: number[],
  prior: ((f: number) => Sample) | undefined,
  start: Placement,
  fixedScale: number | undefined,
  fps: number,
  final = false,
): { runs: Sample[][]; score: number } {
  const nF = Math.min(map.length, w.fg.n);
  const step = Math.max(1, Math.round(fps / SAMPLES_PER_SECOND));
  const bounds = stretchBounds(nF, cuts);
  const bgPyr = pyramids(w);
  const so = { k: w.k, cw: w.content.width, ch: w.content.height, fixedScale };
  const runs: Sample[][] = [];
  let total = 0;
  let count = 0;
  for (let r = 0; r + 1 < bounds.length; r++) {
    const [a, b] = [bounds[r], bounds[r + 1]];
    const frames: number[] = [];
    for (let f = a; f < b; f += step) frames.push(f);
    if (frames[frames.length - 1] !== b - 1) frames.push(b - 1);
    const mid = Math.floor(frames.length / 2);
    const at = (f: number) => ({ bg: bgPyr(map[f]), fg: frameOf(w.fg, f) });
    const found = (f: number) => {
      const guess = prior?.(f) ?? whole(w, map[f], f, start, fixedScale);
      return searchNear(at(f), guess, { ...so, radius: RADIUS, scaleRadius: prior ? SCALE_RADIUS : 0.1 });
    };
    const out: (Sample & { score: number })[] = new Array(frames.length);
    out[mid] = found(frames[mid]);
    // Outward from the middle: each search starts where the last two places point.
    for (const dir of [1, -1]) {
      for (let q = mid + dir; q >= 0 && q < frames.length; q += dir) {
        const f = frames[q];
        const p1 = out[q - dir];
        const p2 = out[q - 2 * dir];
        let guess: Sample = { ...p1, f };
        if (p2) {
          const t = (f - p1.f) / (p1.f - p2.f);
          guess = { f, x: p1.x + (p1.x - p2.x) * t, y: p1.y + (p1.y - p2.y) * t, scale: p1.scale + (p1.scale - p2.scale) * t };
        }
        if (prior) {
          // The last round's trajectory, unless the pairs now say otherwise nearby.
          const pr = prior(f);
          if (Math.abs(pr.x - guess.x) < RADIUS && Math.abs(pr.y - guess.y) < RADIUS) guess = pr;
        }
        let hit = searchNear(at(f), guess, { ...so, radius: RADIUS, scaleRadius: SCALE_RADIUS });
        if (hit.score < LOST) {
          const again = found(f);
          if (again.score > hit.score) hit = again;
        }
        out[q] = hit;
      }
    }
    for (const s of out) {
      total += s.score;
      count++;
    }
    const zoom = final || w.k >= FINE_WORK ? { half: fps * ZOOM_SECONDS, w: w.content.width, h: w.content.height } : undefined;
    runs.push(smoothed(out, (p) => p.f, fps / 4, zoom).map(({ f, x, y, scale }) => ({ f, x, y, scale })));
  }
  return { runs, score: count ? total / count : 0 };
}

/** Where fg's content is in bg frame j searched over all of it at the start placement's scale (the first pair of a stretch). */
function whole(w: Work, j: number, f: number, start: Placement, fixedScale?: number): Sample {
  const b = frameOf(w.bg, Math.max(0, Math.min(w.bg.n - 1, j)));
  const c = Math.min(1, 128 / Math.max(b.width, b.height));
  const sw = Math.max(8, Math.round(b.width * c));
  const sh = Math.max(8, Math.round(b.height * c));
  const small = Uint8Array.from(resize(b, sw, sh).data, (v) => Math.max(0, Math.min(255, Math.round(v))));
  // In working pixels: bg's k per bg pixel, fg's kf per fg pixel.
  const ratio = w.k / w.kf;
  const hit = coarseSearch([small], sw, sh, sw / b.width, [frameOf(w.fg, f)], { fixedScale: (fixedScale ?? start.scale) * ratio });
  if (!hit) return { f, x: start.x, y: start.y, scale: start.scale };
  return { f, x: hit.x / w.k, y: hit.y / w.k, scale: hit.scale / ratio };
}

/** fg's analysis frames: its whole content, cut alike with bg's windows. */
function cutFg(w: Work, size: { w: number; h: number }): FeatureSeq {
  const dim = size.w * size.h;
  const data = new Uint8Array(w.fg.n * dim);
  for (let i = 0; i < w.fg.n; i++) cutGray(frameOf(w.fg, i), 0, 0, w.fg.w, w.fg.h, size.w, size.h, data, i * dim);
  return { data, n: w.fg.n, w: size.w, h: size.h, times: w.fg.times };
}

/** bg's analysis frames, each cut at the window `at` gives for its own time. */
function cutBg(w: Work, size: { w: number; h: number }, at: (j: number) => Sample): FeatureSeq {
  const dim = size.w * size.h;
  const data = new Uint8Array(w.bg.n * dim);
  const { k } = w;
  for (let j = 0; j < w.bg.n; j++) {
    const p = at(j);
    cutGray(frameOf(w.bg, j), p.x * k, p.y * k, w.content.width * p.scale * k, w.content.height * p.scale * k, size.w, size.h, data, j * dim);
  }
  return { data, n: w.bg.n, w: size.w, h: size.h, times: w.bg.times };
}
