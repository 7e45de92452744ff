import { isPinAnchor, isTimeAnchor, type Engine } from '../../protocol/project';
import { VidkompyError } from '../core/errors';
import { frameCorner } from '../core/geometry';
import { fileIdentity } from '../core/identity';
import { memoryCache } from '../core/lru';
import { round } from '../core/numbers';
import { probe, type ProbeInfo } from '../media/probe';
import type { AlignContext, AlignOptions, Located } from './context';
import { analysisSize } from './descriptors/frames';
import { hashKind } from './descriptors/hash';
import { pixelsKind } from './descriptors/pixels';
import { timeOf, type Described, type DescriptorKind } from './descriptors/types';
import { summary, type Alignment } from './result';
import { judge, spreadMoves, trustSignals } from './trust';
import { jointRefine } from './spatial/joint';
import { fixedScale, locate, MIN_SPATIAL_SCORE, notFound, regions } from './spatial/locate';
import { cornerDistance, placementSpread, type Corners, type PlacementSpread } from './spatial/moving';
import { fitOnMatched, placementOnMatched, support } from './spatial/hypotheses';
import { refine, type Placement } from './spatial/search';
import type { Rect } from '../core/geometry';
import { audioPriorOf, audioSummary, describedKey, matchInTime, type Matched } from './temporal/match';
import { uncertainSpans } from './temporal/uncertain';
import { motionCheck } from './temporal/motion';
import { subFrame, timeAt } from './temporal/subframe';
import { foreignPixels, onContent, onGrid, type ForeignMask } from './descriptors/foreign';
import { firstMap } from './firstMap';
import { trackPlacement, type Tracked } from './tracked';
import { placementAt } from './spatial/keyframes';
import { disagreeing, fixedOf, pinKeys, pinsOf, type Pin } from './spatial/pins';
import { note } from '../core/notes';
import type { AudioPrior } from './temporal/audio';

/**
 * The pipeline: where fg sits in bg (spatial/), which bg frame belongs under each fg frame
 * (temporal/, on the frames' descriptors/), then both refined together on time-matched frames.
 */

/** The descriptor kind an alignment runs on: `fast` always matches perceptual hashes. */
export function descriptorOf(engine: Engine, o: Pick<AlignOptions, 'descriptor'>): DescriptorKind {
  return engine === 'fast' ? (hashKind as DescriptorKind) : (o.descriptor ?? pixelsKind);
}

/** Aligns fg to bg in space and time. `located`: a spatial step already done with the same options. */
export async function align(bgFile: string, fgFile: string, o: AlignOptions = {}, located?: Located): Promise<Alignment> {
  // Without the daemon's cache, one of this alignment's own: another placement tried over the whole
  // video describes the same fg region again otherwise (the flat bench pair: 2 s of CPU). Small, so
  // a long input's descriptions are not held past their pass: its memory stays flat.
  if (!o.cache) o = { ...o, cache: memoryCache(OWN_CACHE_BYTES) };
  // Placement pins (anchors with x, y) only count where no spatial override fixes the placement.
  if (!o.anchors?.some(isPinAnchor) || o.x !== undefined || o.y !== undefined) return alignPinned(bgFile, fgFile, o, located, { pins: [], move: false });
  const fg = await probe(fgFile, o.signal);
  const pins = pinsOf(o.anchors, fg.fps);
  for (const p of pins) {
    if (p.f < 0 || p.f >= fg.frameCount) throw new VidkompyError('BAD_ARGS', `anchor pin at fg ${p.t} s is outside fg (${fg.frameCount} frames at ${fg.fps} fps); fix the anchor`, fgFile);
  }
  const apart = disagreeing(pins, fg.width, fg.height);
  const mode = o.placement ?? 'auto';
  if (apart && mode === 'fixed') {
    const [a, b] = apart;
    throw new VidkompyError(
      'BAD_ARGS',
      `anchor pins at fg ${a.t} s (${a.x}, ${a.y}) and ${b.t} s (${b.x}, ${b.y}) are different places, but placement is fixed; set placement to auto or tracked, or fix the pins`,
      fgFile,
    );
  }
  if (apart || mode === 'tracked') return alignPinned(bgFile, fgFile, o, located, { pins, move: !!apart });
  // Pins that agree fix the placement, as a spatial override would; pins without a scale take the found one.
  const fix = fixedOf(pins);
  const given = fix.scale ?? fixedScale(o);
  const pinned = (scale: number) => alignPinned(bgFile, fgFile, { ...o, x: fix.x, y: fix.y, scale }, undefined, { pins: [], move: false });
  if (given !== undefined) return pinned(given);
  const found = located ?? (await locate(bgFile, fgFile, o));
  const al = await pinned(found.placement.scale);
  if (!nearUnity(found.placement, found, o)) return al;
  // The sampled search finds a crop a fraction of a percent resized (2 px at a 400 px fg's far
  // corner); the pipeline's unity check is skipped for a placement given, so it is made here: both
  // scales over the whole video (a placed alignment costs a couple of seconds), the better kept.
  const unity = await pinned(1);
  return unity.temporal.meanConfidence >= al.temporal.meanConfidence - UNITY_SLACK ? unity : al;
}

/** The budget of an alignment's own cache: a few minutes of fg's analysis frames. */
const OWN_CACHE_BYTES = 48 << 20;

/** Mean frame similarity an unscaled pinned crop may lose to the found scale and still be kept (crops are common, 1% resizes rare). */
const UNITY_SLACK = 0.001;

/** The pins a tracked trajectory must pass through, and whether they alone say the window moves. */
interface PinPlan {
  pins: Pin[];
  move: boolean;
}

async function alignPinned(bgFile: string, fgFile: string, o: AlignOptions, located: Located | undefined, plan: PinPlan): Promise<Alignment> {
  const t0 = performance.now();
  const engine = o.engine ?? 'full';
  const kind = descriptorOf(engine, o);
  const ids = o.cache ? { bg: await fileIdentity(bgFile), fg: await fileIdentity(fgFile) } : { bg: bgFile, fg: fgFile };
  const spatialKey = `loc:${JSON.stringify([ids.bg, ids.fg, o.x, o.y, o.scale, o.unscaled])}`;
  // A placement verified on time-matched frames does not depend on the temporal options.
  const verified = located ? undefined : o.cache?.get<Located>(spatialKey);
  // fg's analysis frames do not depend on where fg sits in bg (unless it overhangs bg's edge): start
  // decoding them as soon as fg's picture is known, while the spatial search runs. Stopped once the
  // first pass is over, so a decode nobody wanted (overhang, fg not found) does not run on.
  const early = new Map<string, Promise<Described>>();
  const stopEarly = new AbortController();
  let earlyDone = 0;
  const decodeEarly = (bg: ProbeInfo, fg: ProbeInfo, content: Rect) => {
    const size = analysisSize(content, fg.frameCount + bg.frameCount);
    const key = describedKey({ kind }, ids.fg, fg, content, size);
    if (key === undefined || o.cache?.get(key)) return;
    const signal = o.signal ? AbortSignal.any([o.signal, stopEarly.signal]) : stopEarly.signal;
    const p = kind.describe({ video: fg, region: content, size, onFrame: () => earlyDone++, signal });
    p.catch(() => undefined);
    early.set(key, p);
  };
  const loc =
    located ??
    verified ??
    (await locate(bgFile, fgFile, o, decodeEarly).catch((e: unknown) => {
      stopEarly.abort();
      throw e;
    }));
  const { bg, fg, content } = loc;
  // hypotheses: other placements tried and verified over time (spatial/hypotheses.ts), their decodes included.
  const timings = { spatial: performance.now() - t0, decode: 0, temporal: 0, refine: 0, hypotheses: 0 };
  let placement = loc.placement;
  let matched: Matched;
  const audio = audioPriorOf(loc, engine, o, ids);
  audio.catch(() => undefined);
  const ctx: AlignContext = { loc, engine, kind, o, ids, audio, early, seen: new Map() };
  let foreign: ForeignMask | undefined;
  let spread: PlacementSpread | undefined;
  // Placements tried on pass 0 and how well each explained fg over time (spatial/hypotheses.ts).
  const tried: (Placement & { support: number })[] = [];
  for (let pass = 0; ; pass++) {
    let { bgRect, fgRect } = regions({ ...loc, placement });
    let size = analysisSize(fgRect, fg.frameCount + bg.frameCount);
    let done = 0;
    const total = fg.frameCount + bg.frameCount;
    const tick = () => {
      // fg's frames decoded early count towards the first pass.
      if (++done % 16 === 0) o.onProgress?.('decode', Math.min(1, (done + (pass === 0 ? earlyDone : 0)) / total));
    };
    // Another placement tried over the whole video (its regions decoded and mapped in time), noted
    // with how well it explained fg; `adopt` makes it this pass's placement.
    type Trial = { placement: Placement; r: ReturnType<typeof regions>; size: typeof size; m: Awaited<ReturnType<typeof firstMatch>>; support: number };
    const trial = async (p: Placement): Promise<Trial> => {
      const r = regions({ ...loc, placement: p });
      const sz = analysisSize(r.fgRect, total);
      const m = await firstMatch(ctx, r, sz, tick);
      const t = { placement: p, r, size: sz, m, support: support(m.matched.tm.confidence) };
      tried.push({ ...p, support: t.support });
      return t;
    };
    const adopt = (t: Trial) => {
      ({ bgRect, fgRect } = t.r);
      size = t.size;
      placement = t.placement;
      ({ matched, foreign } = t.m);
    };
    if (pass === 0) {
      // Whatever the early decode did not deliver to this match is stopped, and forgotten: another
      // placement tried below may ask for the region it was decoding, and must not get its abort.
      ({ matched, foreign } = await firstMatch(ctx, { fgRect, bgRect }, size, tick).finally(() => {
        stopEarly.abort();
        early.clear();
      }));
      if (!verified && loc.method !== 'manual') {
        const th = performance.now();
        tried.push({ ...placement, support: support(matched.tm.confidence) });
        // The coarse search's other basins first: where its sampled frames misled it, the map the
        // first placement made pairs frames at random, and a search on those pairs finds nothing.
        // Then where fg's samples agree (spatial/search.ts consensusSearch): costly (seconds), so
        // searched only once the other basins have been tried and fg is still poorly explained.
        const poor = () => support(matched.tm.confidence) < kind.supported;
        const candidates = function* () {
          if (poor()) yield* loc.others ?? [];
          if (poor()) yield* loc.consensus?.() ?? [];
        };
        for (const other of candidates()) {
          if (!poor()) break;
          if (tried.some((h) => !distinct(h, other, content))) continue;
          const t = await trial(other);
          if (t.support < support(matched.tm.confidence) + GAIN) continue;
          const { tm: otm, fgF: ofg, bgF: obg } = t.m.matched;
          if ((await fitOnMatched(ctx, other, otm.bgFrameForFg, otm.confidence, { fg: ofg.seq, bg: obg.seq })).score < ALT_FIT) continue;
          adopt(t);
        }
        // A placement that leaves much of fg unexplained came from a chance match: search again on
        // the frames its own map paired, and keep whichever explains fg better over time.
        for (let round = 0; round < 2 && support(matched.tm.confidence) < kind.supported; round++) {
          const alt = await placementOnMatched(ctx, placement, matched.tm.bgFrameForFg, matched.tm.confidence, { fg: matched.fgF.seq, bg: matched.bgF.seq });
          // A place that does not fit the very pairs it was found on is no placement (a moving window's).
          if (!alt || alt.score < ALT_FIT || tried.some((h) => !distinct(h, alt, content))) break;
          const t = await trial(alt);
          // Clearly better, or no better at all: where no fixed placement explains fg (a moving
          // window) they all fit about as badly, and the first is as good as any.
          if (t.support < support(matched.tm.confidence) + GAIN) break;
          adopt(t);
        }
        timings.hypotheses += performance.now() - th;
      }
    } else {
      const seq = matched!.fgF.seq;
      matched = await matchInTime(ctx, { fgRect, bgRect }, size, tick, foreign ? onGrid(foreign, seq.w, seq.h, fgRect, content) : undefined);
    }
    if (pass === 0) o.onFirstMap?.(firstMap(loc, placement, matched));
    let { tm } = matched;
    timings.decode += matched.decodeSeconds * 1000;
    timings.temporal += matched.temporalSeconds * 1000;
    if (loc.method === 'manual' || verified) break;

    const t = performance.now();
    o.onProgress?.('refine', 0);
    const passed = { bgRect, fgRect, fgF: matched.fgF, bgF: matched.bgF, foreign };
    let j = await jointRefine(ctx, placement, passed, tm, Math.max(tm.slope, bg.fps / fg.fps), pass === 0 ? 6 : 2);
    // Whether one placement explains fg at all: asked once, on the first pass's spread-out pairs.
    if (pass === 0) spread = placementSpread(j.pairs, j.picks, j.placement, fixedScale(o));
    timings.refine += performance.now() - t;
    let other = pass === 0 && !verified ? spread?.elsewhere : undefined;
    const still = !spread || !spreadMoves(spread.spread, content.width * j.placement.scale);
    if (pass === 0 && !verified && !other && still && j.placement.score < placement.score - ASTRAY) {
      // The map's pairs fit the placement found on a sample pair far worse than that pair did: the
      // map is off at the picks by more than the refinement reaches. Where fg's own picture barely
      // changes (a still shot with one slow subject), a placement a few pixels off pairs each fg
      // frame with a moment where the subject sits where the offset puts it, the map wanders
      // seconds off, and the refinement, held near that map, can only confirm it. Searched again
      // with time free over a couple of seconds around each pick: the right place and moment fit
      // each pair almost exactly (balle's offset case: 0.997, against 0.94 near the map). Without
      // the graphics mask: one found on that map marks the subject, the very pixels that disagree.
      // Not where the pairs' own places spread as a moving window's do: no fixed place fits those.
      const th = performance.now();
      const reach = Math.min(WIDE_MAX, Math.round(WIDE_SECONDS * fg.fps));
      const wide = await jointRefine(ctx, placement, { ...passed, foreign: undefined }, tm, Math.max(tm.slope, bg.fps / fg.fps), reach);
      if (wide.placement.score >= placement.score - 0.01) other = wide.placement;
      timings.hypotheses += performance.now() - th;
    }
    if (other && !tried.some((h) => !distinct(h, other, content))) {
      // Every pair's own search put fg elsewhere, and fits better there (or the wide search found
      // another place and moment for the pairs): that place is tried over
      // the whole video and kept where it leaves at most half as much of fg unexplained (near the
      // top the share unexplained is the measure: on a flat synthetic pair the right place left
      // 0.0001 of fg's frames unexplained, the wrong one 32 px off 0.0034).
      const th = performance.now();
      const t = await trial(other);
      if (1 - t.support <= (1 - support(tm.confidence)) / 2) {
        adopt(t);
        tm = matched.tm;
        const again = { bgRect, fgRect, fgF: matched.fgF, bgF: matched.bgF, foreign };
        j = await jointRefine(ctx, placement, again, tm, Math.max(tm.slope, bg.fps / fg.fps), 6);
        spread = placementSpread(j.pairs, j.picks, j.placement, fixedScale(o));
      }
      timings.hypotheses += performance.now() - th;
    }
    // How far the analysis crop would move, in analysis pixels: a third of one changes the features.
    const k = size.w / bgRect.width;
    const moved =
      Math.abs(j.placement.x - placement.x) * k > 0.3 ||
      Math.abs(j.placement.y - placement.y) * k > 0.3 ||
      Math.abs(j.placement.scale - placement.scale) * content.width * k > 0.3;
    if (j.placement.score >= placement.score - 0.01 || !Number.isFinite(placement.score)) placement = j.placement;
    if (placement.score < MIN_SPATIAL_SCORE) throw notFound(fg, bg, content, placement);
    const settled = j.shifts.every((d) => d === 0) && !moved;
    if ((pass >= 2 || settled) && nearUnity(placement, loc, o)) {
      // In a slow pan a crop placed a pixel and a scale step off matches frames a few frames off,
      // and the refinement, fed by that map, confirms itself. Crops are far more common than a
      // 1-2% resize: the unscaled placement is tried over the whole video, and kept unless it
      // explains fg's frames worse.
      const th = performance.now();
      const unity = refine(j.pairs, { ...placement, scale: 1 }, { from: 1, scaleUncertainty: 0, fixedScale: 1, foreign });
      const t = await trial(unity);
      timings.hypotheses += performance.now() - th;
      // It must fit the refinement's pairs about as well too: where no fixed placement explains fg
      // (a moving window) every placement's frames match about as badly over time.
      if (t.support >= support(tm.confidence) - 0.001 && unity.score >= placement.score - 0.05) {
        placement = { ...unity, x: Math.round(unity.x), y: Math.round(unity.y) };
        matched = t.m.matched;
      }
      break;
    }
    if (settled) o.cache?.set(spatialKey, { ...loc, placement, consensus: undefined }, 1024);
    if (pass >= 2 || settled) break;
  }

  // The refinements are over: their full-size frames need not outlive them.
  ctx.seen?.clear();

  // The moving detection fired (the fixed alignment would be refused as 'moving'), or the user
  // asked: the window is tracked over fg, jointly with the time map (tracked.ts).
  const mode = o.placement ?? 'auto';
  let track: (Tracked & { pinned?: number[] }) | undefined;
  if (loc.method !== 'manual' && mode !== 'fixed') {
    const fixed = judge(await signalsOf(loc, placement, matched, spread, o, audio));
    if (mode === 'tracked' || plan.move || fixed.problem === 'moving') {
      const t = performance.now();
      o.onProgress?.('refine', 0);
      track = await trackPlacement(ctx, matched, placement, fixedScale(o));
      if (mode === 'auto' && !plan.move && staysPut(track.keys, content)) {
        // Tracked because the fixed alignment's pairs put fg in different places, yet the track
        // does not move: that alignment had settled on the wrong moments (a near-static shot
        // trades place for time: balle-jbart's excerpt was placed 3, 5 px off at 0.28× speed), and
        // the track, free to move, found the one place. Aligned again from there, placement fixed.
        const at = placementAt(track.keys, Math.floor(fg.frameCount / 2));
        return alignPinned(bgFile, fgFile, { ...o, placement: 'fixed' }, { ...loc, placement: { x: at.x, y: at.y, scale: at.scale, score: track.score } }, plan);
      }
      // Pins are facts, not evidence: the trajectory is bent through each (spatial/pins.ts).
      if (plan.pins.length) track = { ...track, ...pinKeys(track.keys, plan.pins, content) };
      matched = track.matched;
      placement = { ...placementAt(track.keys, 0), score: track.score };
      timings.refine += performance.now() - t;
    }
  }
  const s = placement.scale;
  const { tm, provider } = matched;
  const fgF = matched.fgF.seq;
  const bgF = matched.bgF.seq;
  const map = Array.from(tm.bgFrameForFg);
  const cutStarts = (tm.cuts ?? []).map((c) => c.fg);
  const corner = frameCorner(placement, content);
  const conf = Array.from(tm.confidence, (c) => round(c, 4));
  const audioFound = await audioSummary(audio);
  // Half a second or more: shorter flat moments are held to the line and not worth a user's look.
  const uncertain = uncertainSpans(tm.confidence, tm.evidence, Math.max(3, Math.round(fg.fps / 2)));
  // A tracked window is no longer asked whether one placement explains fg: it does not, by choice.
  const signals = await signalsOf(loc, placement, matched, track ? undefined : spread, o, audio);
  // The runner-up: the best placement tried that is a different place, not this one less sharply
  // found (a scale a step off moves a large fg's far corner by a few pixels).
  const far = Math.max(4, 0.05 * content.width * placement.scale);
  const others = track ? [] : tried.filter((h) => cornerDistance(h, placement, content.width, content.height) > far);
  const rival = others.sort((a, b) => b.support - a.support)[0];
  if (rival) {
    const c = frameCorner(rival, content);
    signals.runnerUp = { x: round(c.x, 1), y: round(c.y, 1), scale: round(rival.scale, 5), support: round(rival.support, 4) };
  }
  if (track) {
    const a = frameCorner(track.keys[0], content);
    const b = frameCorner(track.keys[track.keys.length - 1], content);
    note(
      `${fg.file}: fg's window moves over bg: placement tracked (${track.keys.length} keyframes, corner x ${round(a.x, 0)} → ${round(b.x, 0)}, y ${round(a.y, 0)} → ${round(b.y, 0)}, scale ${round(track.keys[0].scale, 3)} → ${round(track.keys[track.keys.length - 1].scale, 3)})`,
    );
  }
  const tMotion = performance.now();
  const grid = foreign ? onGrid(foreign, fgF.w, fgF.h, regions({ ...loc, placement }).fgRect, content) : undefined;
  const motion = motionCheck(fgF, bgF, map, { window: fg.fps / 3, second: fg.fps, cuts: cutStarts, mask: grid });
  if (motion) {
    signals.motion = { fgMotion: round(motion.fgMotion, 4), mean: round(motion.mean, 4), worst: round(motion.worst, 4), coverage: round(motion.coverage, 3) };
    signals.motionSeconds = round((performance.now() - tMotion) / 1000, 3);
  }
  return {
    version: 1,
    bg: summary(bg, bgF.n),
    fg: { ...summary(fg, fgF.n), contentRect: content },
    spatial: {
      // Report fg's frame corner (bars included) so a user-given --x-shift/--y-shift means the same thing.
      x: round(corner.x, 2),
      y: round(corner.y, 2),
      scale: round(s, 5),
      confidence: round(Number.isFinite(placement.score) ? placement.score : 1, 4),
      method: loc.method,
      ...(track ? { placement: 'tracked' as const, track: trackOf(track, content) } : {}),
    },
    temporal: {
      engine,
      features: kind.name,
      window: tm.window,
      ...audioFound,
      ...(provider ? { provider } : {}),
      bgFrameForFg: map,
      bgTimeForFg: Array.from(subFrame(map, cutStarts), (f) => round(timeAt(f, (j) => timeOf(bgF, bg, j), bgF.n - 1), 6)),
      confidence: conf,
      offsetSeconds: round(timeOf(bgF, bg, map[0]) - timeOf(fgF, fg, 0), 6),
      speed: round((tm.slope * fg.fps) / bg.fps, 6),
      meanConfidence: round(conf.reduce((a, b) => a + b, 0) / Math.max(1, conf.length), 4),
      ...(tm.cuts ? { cuts: tm.cuts } : {}),
      ...(uncertain.length ? { uncertain } : {}),
    },
    trust: { ...judge(signals), signals },
    timings: {
      spatial: secs(timings.spatial),
      decode: secs(timings.decode),
      temporal: secs(timings.temporal),
      refine: secs(timings.refine),
      hypotheses: secs(timings.hypotheses),
      total: secs(performance.now() - t0),
    },
  };
}

const secs = (ms: number) => round(ms / 1000, 3);

/** The trust figure's measurements of one placement and map (spread: the moving detection's, when asked). */
async function signalsOf(
  loc: Located,
  placement: Placement,
  matched: Matched,
  spread: PlacementSpread | undefined,
  o: AlignOptions,
  audio: Promise<AudioPrior | undefined>,
) {
  const { bg, fg, content } = loc;
  const bgF = matched.bgF.seq;
  const prior = ((await audioSummary(audio)).audio?.agreement ?? 0) >= 0.5 || !!o.anchors?.some(isTimeAnchor);
  const signals = trustSignals({ ...loc, placement }, matched.tm, bg.fps / fg.fps, prior, bgF.n, (j) => timeOf(bgF, bg, j));
  if (spread) {
    const places = spread.places.map((p) => frameCorner(p, content)).map((p) => ({ x: round(p.x, 1), y: round(p.y, 1) }));
    signals.placementSpread = { px: round(spread.spread, 1), places, fit: round(spread.fit, 4) };
  }
  return signals;
}

/** A tracked trajectory as the alignment keeps it: fg's frame corner (bars included, as spatial.x/y) per keyframe. */
function trackOf(t: Tracked & { pinned?: number[] }, content: Rect): NonNullable<Alignment['spatial']['track']> {
  const keys = t.keys.map((k) => {
    const c = frameCorner(k, content);
    return [k.f, round(c.x, 2), round(c.y, 2), round(k.scale, 5)];
  });
  const cuts = t.keys.filter((k) => k.cut).map((k) => k.f);
  return { tolerance: t.tolerance, keys, ...(cuts.length ? { cuts } : {}), ...(t.pinned?.length ? { pinned: t.pinned } : {}) };
}

/**
 * Pass 0's temporal match in one region pair: burnt-in graphics show only once frames are paired,
 * so found on the first match and the match run again without them.
 */
async function firstMatch(
  ctx: AlignContext,
  rects: { fgRect: Rect; bgRect: Rect },
  size: { w: number; h: number },
  tick: () => void,
): Promise<{ matched: Matched; foreign?: ForeignMask }> {
  const matched = await matchInTime(ctx, rects, size, tick);
  const f = foreignPixels(matched.fgF.seq, matched.bgF.seq, matched.tm.bgFrameForFg);
  if (!f) return { matched };
  const { content } = ctx.loc;
  return {
    matched: await matchInTime(ctx, rects, size, tick, f),
    foreign: onContent(f, matched.fgF.seq.w, matched.fgF.seq.h, rects.fgRect, content),
  };
}

/** Refined NCC by which the map's pairs may fit worse than the sample pair before time is searched wide. */
const ASTRAY = 0.02;
/** The wide search's reach either side of each pick: seconds of fg, and fg frames at most. */
const WIDE_SECONDS = 2;
const WIDE_MAX = 60;
/** Mean frame similarity by which another placement must explain fg better to replace the first. */
const GAIN = 0.02;
/** NCC on its own time-matched pairs below which a placement found there is not tried (right ones: 0.92 and more). */
const ALT_FIT = 0.8;

/** A placement a small resize away from an unscaled crop, found by the search (not given). */
function nearUnity(p: Placement, loc: Located, o: AlignOptions): boolean {
  const fits = loc.content.width <= loc.bg.width && loc.content.height <= loc.bg.height;
  return fixedScale(o) === undefined && p.scale !== 1 && Math.abs(p.scale - 1) < 0.02 && fits;
}

/** A tracked window whose every keyframe is the same hypothesis as its first (below). */
function staysPut(keys: readonly Corners[], content: Rect): boolean {
  return keys.every((k) => !distinct(k, keys[0], content));
}

/** Two placements of a w×h fg content are different hypotheses when fg's corners land over a pixel apart. */
function distinct(a: Corners, b: Corners, content: Rect): boolean {
  return cornerDistance(a, b, content.width, content.height) > 1.5;
}
