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
import { robustLine } from '../core/line';

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
  return { matched, keys, score: t.score, tolerance: TRACK_TOLERANCE };
}

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
    const p = placementAt(keys, i);
    for (let d = -NEAR; d <= NEAR; d++) {
      const j = m.tm.bgFrameForFg[i] + d;
      if (j < 0 || j >= nB) continue;
      // Cut from the working frame as fg's analysis frames were: the same filter on both sides.
      const g = frameOf(w.bg, j);
      const { k } = w;
      cutGray(g, p.x * k, p.y * k, w.content.width * p.scale * k, w.content.height * p.scale * k, aw, ah, cut);
      const b = unit(cut, 0);
      let dot = 0;
      for (let q = 0; q < dim; q++) dot += f[q] * b[q];
      sim[i * width + d + NEAR] = dot;
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
  // The seed: the sample whose neighbourhood the first map matched best.
  let seed = 0;
  let bestC = -Infinity;
  for (let q = 0; q < frames.length; q++) {
    let c = 0;
    let n = 0;
    for (let f = Math.max(0, frames[q] - step); f <= Math.min(nF - 1, frames[q] + step); f++, n++) c += confidence[f];
    if (c / n > bestC) {
      bestC = c / n;
      seed = q;
    }
  }
  const pyr = pyramids(w);
  const so = { k: w.k, cw: w.content.width, ch: w.content.height, fixedScale };
  const fgAt = (f: number) => frameOf(w.fg, f);
  const out: Found[] = new Array(frames.length);
  {
    const f = frames[seed];
    const guess = whole(w, map[f], f, start, fixedScale);
    let best: Found | undefined;
    for (let d = -3; d <= 3; d++) {
      const j = clampJ(w, map[f] + d);
      const hit = searchNear({ bg: pyr(j), fg: fgAt(f) }, best ?? guess, { ...so, radius: best ? RADIUS / 2 : RADIUS, scaleRadius: best ? SCALE_RADIUS : 0.1 });
      if (!best || hit.score > best.score) best = { ...hit, j };
    }
    out[seed] = best!;
  }
  const nominal = bgFps / fps;
  for (const dir of [1, -1]) {
    for (let q = seed + dir; q >= 0 && q < frames.length; q += dir) {
      const f = frames[q];
      const p1 = out[q - dir];
      // Where the last second of pairs points (a line through them), in space and in time: one
      // pair's pick is noisy where neighbouring bg frames look alike, a line through many is not.
      const recent: Found[] = [];
      for (let r = q - dir; r >= 0 && r < frames.length && out[r] && Math.abs(out[r].f - f) <= fps; r -= dir) recent.push(out[r]);
      const line = (v: (p: Found) => number) => lineAt(recent, v, f);
      const guess: Sample = recent.length >= 3 ? { f, x: line((p) => p.x), y: line((p) => p.y), scale: line((p) => p.scale) } : { ...p1, f };
      const seen = out.filter(Boolean);
      const jGuess = seen.length >= 4 ? lineAt(seen, (p) => p.j, f) : p1.j + (f - p1.f) * nominal;
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
      const hit = searchNear({ bg: pyr(pick.j), fg: fgAt(f) }, { ...pick.at, f }, { ...so, radius: 2, scaleRadius: SCALE_RADIUS });
      out[q] = { ...hit, j: pick.j };
    }
  }
  return out;
}

/** The least-squares line through pairs' values v (over their fg frames), at fg frame f. */
function lineAt(ps: Found[], v: (p: Found) => number, f: number): number {
  const n = ps.length;
  let sf = 0;
  let sv = 0;
  for (const p of ps) {
    sf += p.f;
    sv += v(p);
  }
  const mf = sf / n;
  const mv = sv / n;
  let sff = 0;
  let sfv = 0;
  for (const p of ps) {
    sff += (p.f - mf) ** 2;
    sfv += (p.f - mf) * (v(p) - mv);
  }
  return sff > 0 ? mv + (sfv / sff) * (f - mf) : mv;
}

/**
 * Samples smoothed by a local line over `half` either side (in t): the window's motion is smooth
 * over a second, a pair's measurement, traded against a bg frame's neighbours, is not.
 */
export function smoothed<T extends Sample>(ps: T[], t: (p: T) => number, half: number): T[] {
  return ps.map((p) => {
    const near = ps.filter((q) => Math.abs(t(q) - t(p)) <= half);
    if (near.length < 3) return p;
    const fit = (v: (q: T) => number) => {
      let st = 0;
      let sv = 0;
      for (const q of near) {
        st += t(q);
        sv += v(q);
      }
      const mt = st / near.length;
      const mv = sv / near.length;
      let stt = 0;
      let stv = 0;
      for (const q of near) {
        stt += (t(q) - mt) ** 2;
        stv += (t(q) - mt) * (v(q) - mv);
      }
      return stt > 0 ? mv + (stv / stt) * (t(p) - mt) : mv;
    };
    return { ...p, x: fit((q) => q.x), y: fit((q) => q.y), scale: fit((q) => q.scale) };
  });
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
): { runs: Sample[][]; score: number } {
  const nF = Math.min(map.length, w.fg.n);
  const step = Math.max(1, Math.round(fps / SAMPLES_PER_SECOND));
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < nF), nF];
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
    runs.push(smoothed(out, (p) => p.f, fps / 4).map(({ f, x, y, scale }) => ({ f, x, y, scale })));
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
