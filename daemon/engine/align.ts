import { contentRect } from './spatial/content';
import { VidkompyError, throwIfAborted } from '../core/errors';
import { analysisSize, extractFeatures, extractHashFeatures, type FeatureSeq } from './descriptors/frames';
import { crop, ncc, resize, toGray, type Gray } from './image';
import { summary, type Alignment } from './result';
import { round } from '../core/numbers';
import { coarseSearch, refine, type CoarseHit, type Placement, type RefinePair } from './spatial/search';
import { alignEdit, type Cut } from './temporal/edit';
import { alignFast } from './temporal/fast';
import { audioEnvelope, audioPrior, type AudioPrior } from './temporal/audio';
import { fileIdentity } from '../core/identity';
import type { AlignCache } from '../core/lru';
import { hashDescriptors, HIST_BINS } from './descriptors/hash';
import { alignTemporal, pixelDescriptors, type DescriptorSet, type Engine, type TemporalOptions, type TemporalResult } from './temporal/solve';
import { embeddingDescriptors, embedVideo } from '../embed/embed';
import { builtinModel, type ModelSpec } from '../embed/model';
import type { Provider } from '../embed/provider';
import { framesAt, requireFramesAt, sampleFrames, type Sampled } from '../media/decode';
import type { Rect } from '../core/geometry';
import { probe, type ProbeInfo } from '../media/probe';

export interface SpatialOptions {
  /** Manual spatial override, in bg pixels (x, y of fg's top-left corner) and scale. */
  x?: number;
  y?: number;
  scale?: number;
  /** Only consider scale 1 (fg is a crop of bg at the same resolution). */
  unscaled?: boolean;
  signal?: AbortSignal;
  onProgress?: (stage: Stage, fraction: number) => void;
}

export type Features = 'pixels' | 'hash' | 'embedding';
export const FEATURES: readonly Features[] = ['pixels', 'hash', 'embedding'];

export interface AlignOptions extends SpatialOptions {
  engine?: Engine;
  /** The frame descriptor (default: pixels; the fast engine always uses hashes). */
  features?: Features;
  /** The ONNX model for `embedding` (default: the built-in one). */
  model?: ModelSpec;
  /** Where embeddings are cached (default ~/.cache/vidkompy); false: no cache. */
  cacheDir?: string | false;
  /** Use both videos' sound to narrow the search (default: on when both have audio). */
  audioPrior?: boolean;
  /**
   * Memory kept between alignments of the same videos (the daemon's): a placement already verified
   * on time-matched frames, the analysis frames and their descriptors. With it, changing an option
   * that does not move fg re-aligns without decoding.
   */
  cache?: AlignCache;
  /** Fine search band half-width, bg frames. */
  window?: number;
  /** Manual sync points, in seconds from each video's start: the map passes through them. */
  anchors?: { fg: number; bg: number }[];
}

export type Stage = 'probe' | 'spatial' | 'decode' | 'temporal' | 'refine';

/** Below this NCC the best placement is not fg: better an error than a wrong composite. */
export const MIN_SPATIAL_SCORE = 0.5;
const COARSE_SIZE = 128;
const FG_SAMPLES = 5;
const BG_SAMPLES = 30;

export interface Located {
  bg: ProbeInfo;
  fg: ProbeInfo;
  /** fg's picture without letterbox bars, in fg pixels. */
  content: Rect;
  /** Where fg's content (not its frame) sits in bg. */
  placement: Placement;
  method: 'auto' | 'manual';
  /** Coarse search size as a fraction of bg's. */
  c: number;
}

function fixedScale(o: SpatialOptions): number | undefined {
  return o.scale ?? (o.unscaled ? 1 : undefined);
}

/**
 * The spatial step on its own: where fg's content sits in bg, from sampled frames. Coarse FFT search
 * over scales, then a full-resolution refinement on the best-matching sample pair.
 */
export async function locate(bgFile: string, fgFile: string, o: SpatialOptions = {}, onContent?: (bg: ProbeInfo, fg: ProbeInfo, content: Rect) => void): Promise<Located> {
  o.onProgress?.('probe', 0);
  const [bg, fg] = await Promise.all([probe(bgFile, o.signal), probe(fgFile, o.signal)]);
  o.onProgress?.('spatial', 0);
  const manual = o.x !== undefined || o.y !== undefined;
  const c = Math.min(1, COARSE_SIZE / Math.max(bg.width, bg.height));
  const sw = Math.max(8, Math.round(bg.width * c));
  const sh = Math.max(8, Math.round(bg.height * c));
  // Both videos are sampled at once: two decoders keep two cores busy.
  const bgP = manual ? undefined : sampleFrames(bg, BG_SAMPLES, sw, sh, o.signal);
  bgP?.catch(() => undefined);
  const fgS = await sampleFrames(fg, FG_SAMPLES, fg.width, fg.height, o.signal);
  const content = contentRect(fgS.frames, fg.width, fg.height);
  onContent?.(bg, fg, content);
  const bgS = await bgP;
  const fgSamples = fgS.frames.map((f) => contentOf(toGray(f, fg.width, fg.height), content));
  if (manual || !bgS) {
    const s = o.scale ?? 1;
    const placement = { x: (o.x ?? 0) + content.x * s, y: (o.y ?? 0) + content.y * s, scale: s, score: NaN };
    return { bg, fg, content, placement, method: 'manual', c: 1 };
  }
  throwIfAborted(o.signal);
  o.onProgress?.('spatial', 0.5);
  const cc = sw / bg.width;
  const hit = coarseSearch(bgS.frames, sw, sh, cc, fgSamples, { fixedScale: fixedScale(o) });
  if (!hit || hit.score < MIN_SPATIAL_SCORE * 0.8) throw notFound(fg, bg, content, hit);
  const placement = await refineAtSample(bg, bgS, hit, fgSamples[hit.fgSample], cc, o);
  if (placement.score < MIN_SPATIAL_SCORE) throw notFound(fg, bg, content, placement);
  o.onProgress?.('spatial', 1);
  return { bg, fg, content, placement, method: 'auto', c: cc };
}

/**
 * The coarse hit sharpened at full size, on the best bg sample and its neighbours (the sample is
 * only near fg's sample in time). The sample's own frame is checked against its coarse copy, since
 * seeking is not always exact. In a pan this can still settle a few pixels off, matched to a frame
 * off: the joint refinement after temporal alignment undoes that.
 */
async function refineAtSample(bg: ProbeInfo, bgS: Sampled, hit: CoarseHit, fgSample: Gray, c: number, o: SpatialOptions): Promise<Placement> {
  const t = bgS.times[hit.bgSample];
  const sw = bgS.width;
  const sh = bgS.height;
  const near = [-2, -1, 0, 1, 2].map((k) => t + k / bg.fps).filter((v) => v >= 0);
  const coarse = bgS.frames[hit.bgSample];
  const frames = await framesAt(bg, near, { signal: o.signal, verify: (w, f) => w !== t || ncc(resize(toGray(f, bg.width, bg.height), sw, sh).data, coarse) >= 0.95 });
  const candidates = frames.filter((f): f is Uint8Array => !!f).map((f) => toGray(f, bg.width, bg.height));
  if (!candidates.length) throw new VidkompyError('NO_FRAMES', `${bg.file}: no frame near ${t.toFixed(3)} s could be decoded; re-export the video`, bg.file);
  return refine([{ bg: candidates, fg: fgSample }], hit, { from: Math.min(1, 2 * c), scaleUncertainty: 0.045, fixedScale: fixedScale(o) });
}

function contentOf(g: Gray, content: Rect): Gray {
  return content.width === g.width && content.height === g.height ? g : crop(g, content.x, content.y, content.width, content.height);
}

function notFound(fg: ProbeInfo, bg: ProbeInfo, content: Rect, p?: Placement): VidkompyError {
  if (content.width > bg.width || content.height > bg.height) {
    return new VidkompyError(
      'FG_LARGER',
      `${fg.file}: fg (${fg.width}x${fg.height}) is larger than bg ${bg.file} (${bg.width}x${bg.height}) and was not found scaled down inside it; vidkompy places fg inside bg`,
      fg.file,
      { kind: 'options', verb: 'check', options: ['order', 'placement'] },
    );
  }
  const best = p ? ` (best match: NCC ${p.score.toFixed(2)} at x=${Math.round(p.x)}, y=${Math.round(p.y)}, scale ${p.scale.toFixed(3)})` : '';
  return new VidkompyError(
    'NOT_FOUND',
    `${fg.file}: fg was not found inside bg ${bg.file}${best}`,
    fg.file,
    { kind: 'options', verb: 'give', options: ['placement'], lead: 'check that fg shows part of bg, or' },
  );
}

/** fg's content rect placed in bg, clipped to bg, with the matching part of fg. */
export function regions(l: Pick<Located, 'bg' | 'content' | 'placement'>): { bgRect: Rect; fgRect: Rect } {
  const { bg, content, placement: p } = l;
  const s = p.scale;
  const x0 = Math.max(0, Math.round(p.x));
  const y0 = Math.max(0, Math.round(p.y));
  const x1 = Math.min(bg.width, Math.round(p.x + content.width * s));
  const y1 = Math.min(bg.height, Math.round(p.y + content.height * s));
  if (x1 - x0 < 4 || y1 - y0 < 4) throw new VidkompyError('BAD_ARGS', `the placement puts fg outside bg (${bg.width}x${bg.height})`, undefined, { kind: 'options', verb: 'check', options: ['placement'] });
  const bgRect = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
  const fx = Math.round(content.x + (x0 - p.x) / s);
  const fy = Math.round(content.y + (y0 - p.y) / s);
  const fgRect = {
    x: fx,
    y: fy,
    width: Math.min(content.x + content.width - fx, Math.round(bgRect.width / s)),
    height: Math.min(content.y + content.height - fy, Math.round(bgRect.height / s)),
  };
  return { bgRect, fgRect };
}

/** Anchor times as frame indices: the frame whose time is nearest. */
function anchorFrames(anchors: AlignOptions['anchors'], fgF: FeatureSeq, bgF: FeatureSeq, fg: ProbeInfo, bg: ProbeInfo): { fg: number; bg: number }[] {
  const nearest = (seq: FeatureSeq, info: ProbeInfo, t: number) => {
    if (!seq.times.length) return Math.round(t * info.fps);
    let best = 0;
    for (let i = 1; i < seq.n; i++) if (Math.abs(seq.times[i] - t) < Math.abs(seq.times[best] - t)) best = i;
    // Outside the video stays outside, so the anchor check can say so.
    return t < seq.times[0] - 1 / info.fps || t > seq.times[seq.n - 1] + 1 / info.fps ? Math.round(t * info.fps) : best;
  };
  return (anchors ?? []).map((a) => ({ fg: nearest(fgF, fg, a.fg), bg: nearest(bgF, bg, a.bg) }));
}

/** A frame's presentation time: the decoder's when known, else from its index at the average rate. */
function timeOf(seq: FeatureSeq, info: ProbeInfo, i: number): number {
  return seq.times.length > i ? seq.times[i] : i / info.fps;
}

/** One analysis pass: the regions compared and their features. */
interface Pass {
  bgRect: Rect;
  fgRect: Rect;
  fgF: FeatureSeq;
  bgF: FeatureSeq;
}

/**
 * A check that a frame fetched by seeking is the frame the sequential decode saw at that time:
 * reduced the same way, it must match the stored analysis features of its index at least as well
 * as those of its neighbours.
 */
function checker(seq: FeatureSeq, info: ProbeInfo, rect: Rect): (time: number, frame: Uint8Array) => boolean {
  if (seq.w === 0) return () => true;
  const index = new Map<number, number>();
  for (let i = 0; i < seq.n; i++) index.set(timeOf(seq, info, i), i);
  const dim = seq.w * seq.h;
  const feat = (i: number) => seq.data.subarray(i * dim, (i + 1) * dim);
  return (time, frame) => {
    const i = index.get(time);
    if (i === undefined) return true;
    const small = resize(crop(toGray(frame, info.width, info.height), rect.x, rect.y, rect.width, rect.height), seq.w, seq.h).data;
    const own = ncc(small, feat(i));
    const next = Math.max(i > 0 ? ncc(small, feat(i - 1)) : -1, i + 1 < seq.n ? ncc(small, feat(i + 1)) : -1);
    return own >= 0.9 && own + 0.002 >= next;
  };
}

/**
 * Spatial refinement on frames matched in time, searching time and space together. In a camera pan
 * a placement a few pixels off looks like a match a frame or two off: the two errors confirm each
 * other and only a joint search breaks the tie. Each picked fg frame is paired with the bg frames
 * around its match, up to `reach` fg frames' worth either side; `shifts` says, per pick, how far
 * the best bg frame was from the map's.
 */
async function jointRefine(
  loc: Located,
  placement: Placement,
  pass: Pass,
  map: Int32Array,
  confidence: Float32Array,
  rate: number,
  reach: number,
  o: AlignOptions,
): Promise<{ placement: Placement; shifts: number[] }> {
  const { bg, fg, content } = loc;
  const { fgF, bgF } = pass;
  const D = Math.max(reach, Math.ceil(reach * rate));
  const picks = pickPairs(confidence, 3);
  const bgOk = checker(bgF, bg, pass.bgRect);
  const fgOk = checker(fgF, fg, pass.fgRect);
  // All picks' frames at once: the seeks overlap.
  const shots = await Promise.all(
    picks.map(async (i) => {
      const first = Math.max(0, map[i] - D);
      const last = Math.min(bgF.n - 1, map[i] + D);
      const bgTimes = Array.from({ length: last - first + 1 }, (_, k) => timeOf(bgF, bg, first + k));
      const [bgFrames, [fgFrame]] = await Promise.all([
        // Both sides decoded alike (without deblocking, like the analysis frames they are checked against).
        requireFramesAt(bg, bgTimes, { signal: o.signal, verify: bgOk, analysis: true }),
        requireFramesAt(fg, [timeOf(fgF, fg, i)], { signal: o.signal, verify: fgOk, analysis: true }),
      ]);
      const pair: RefinePair = { bg: bgFrames.map((f) => toGray(f, bg.width, bg.height)), fg: contentOf(toGray(fgFrame, fg.width, fg.height), content) };
      return { pair, centre: map[i] - first };
    }),
  );
  const pairs = shots.map((s) => s.pair);
  const centres = shots.map((s) => s.centre);
  // The first pass starts from a placement found on one roughly-timed pair: allow more scale error.
  const refined = refine(pairs, placement, { from: 0.5, scaleUncertainty: reach > 2 ? 0.03 : 0.01, fixedScale: fixedScale(o) });
  return { placement: refined, shifts: refined.picks.map((c, k) => c - centres[k]) };
}

/** The frame descriptor an alignment runs on: `fast` always matches perceptual hashes. */
function featuresOf(engine: Engine, o: AlignOptions): Features {
  return engine === 'fast' ? 'hash' : o.features ?? 'pixels';
}

/**
 * The cache key of a video's analysis frames: the early fg decode and the pass that uses it must
 * name them alike, or the early work is silently thrown away.
 */
function pixelsKey(id: string, rect: Rect, w: number, h: number): string {
  return `px:${id}:${JSON.stringify(rect)}:${w}x${h}`;
}

/** `compute`'s value from the cache when there, else computed and kept (`bytes`: its size). */
async function cached<T>(cache: AlignCache | undefined, key: string, bytes: (v: T) => number, compute: () => Promise<T>): Promise<T> {
  const hit = cache?.get<T>(key);
  if (hit !== undefined) return hit;
  const v = await compute();
  cache?.set(key, v, bytes(v));
  return v;
}

const seqBytes = (f: FeatureSeq) => f.data.length + f.times.length * 8;

/**
 * Decodes both regions into the engine's frame descriptors and finds the frame map. Returns the
 * grey analysis frames too: the refinement checks frames fetched by seeking against them.
 */
async function matchInTime(
  loc: Located,
  fgRect: Rect,
  bgRect: Rect,
  w: number,
  h: number,
  engine: Engine,
  tick: () => void,
  o: AlignOptions,
  audio: Promise<AudioPrior | undefined>,
  ids: { fg: string; bg: string },
  early: Map<string, Promise<FeatureSeq>>,
): Promise<{ fgF: FeatureSeq; bgF: FeatureSeq; tm: TemporalResult & { cuts?: Cut[] }; provider?: Provider; decodeSeconds: number; temporalSeconds: number }> {
  const { fg, bg } = loc;
  const features = featuresOf(engine, o);
  if (engine === 'mask' && features !== 'pixels') {
    throw new VidkompyError('BAD_ARGS', `the mask engine compares pixels (it masks out static ones), not ${features}`, undefined, { kind: 'options', verb: 'use', options: ['features'], to: 'pixels (or another engine)' });
  }
  const t0 = performance.now();
  const empty = (info: ProbeInfo) => new VidkompyError('NO_FRAMES', `${info.file}: no frame could be decoded; re-export the video`, info.file);
  const base = { smoothing: 2 * Math.round(fg.fps / 4) + 1, engine, fgFps: fg.fps, bgFps: bg.fps, window: o.window, prior: undefined as TemporalOptions['prior'], onProgress: (f: number) => o.onProgress?.('temporal', f) };
  const solve = (d: DescriptorSet, fgF: FeatureSeq, bgF: FeatureSeq) => {
    const opts = { ...base, anchors: anchorFrames(o.anchors, fgF, bgF, fg, bg) };
    return engine === 'edit' ? alignEdit(d, opts) : alignTemporal(d, opts);
  };
  const need = async (nf: number, nb: number) => {
    if (nf === 0) throw empty(fg);
    if (nb === 0) throw empty(bg);
    throwIfAborted(o.signal);
    base.prior = priorFrames(await audio, fg, bg);
  };
  const done = (fgF: FeatureSeq, bgF: FeatureSeq, t1: number, tm: TemporalResult & { cuts?: Cut[] }, provider?: Provider) => {
    return { fgF, bgF, tm, provider, decodeSeconds: (t1 - t0) / 1000, temporalSeconds: (performance.now() - t1) / 1000 };
  };
  if (features === 'hash') {
    type H = Awaited<ReturnType<typeof extractHashFeatures>>;
    const hashBytes = (v: H) => v.hashes.n * (24 + HIST_BINS * 4) + seqBytes(v.seq);
    const [f, b] = await Promise.all([
      cached<H>(o.cache, `hash:${ids.fg}:${JSON.stringify(fgRect)}`, hashBytes, () => extractHashFeatures(fg.file, fgRect, fg.frameCount, tick, o.signal)),
      cached<H>(o.cache, `hash:${ids.bg}:${JSON.stringify(bgRect)}`, hashBytes, () => extractHashFeatures(bg.file, bgRect, bg.frameCount, tick, o.signal)),
    ]);
    await need(f.hashes.n, b.hashes.n);
    const t1 = performance.now();
    if (engine === 'fast') return done(f.seq, b.seq, t1, alignFast(f.hashes, b.hashes, { ...base, anchors: anchorFrames(o.anchors, f.seq, b.seq, fg, bg) }));
    const fd = hashDescriptors(f.hashes);
    const bd = hashDescriptors(b.hashes);
    return done(f.seq, b.seq, t1, solve({ fg: fd, bg: bd, coarseFg: fd, coarseBg: bd, maskFraction: 1 }, f.seq, b.seq));
  }
  if (features === 'embedding') {
    const model = o.model ?? builtinModel();
    const eo = { signal: o.signal, cacheDir: o.cacheDir, onProgress: () => tick() };
    const [f, b] = await Promise.all([
      embedVideo(fg.file, fgRect, model, { ...eo, expectedFrames: fg.frameCount }),
      embedVideo(bg.file, bgRect, model, { ...eo, expectedFrames: bg.frameCount }),
    ]);
    // No grey frames to check seeks against: the refinement trusts the timestamps alone.
    const seqOf = (e: typeof f): FeatureSeq => ({ data: new Uint8Array(0), n: e.descriptors.n, w: 0, h: 0, times: e.times });
    const fgF = seqOf(f);
    const bgF = seqOf(b);
    await need(fgF.n, bgF.n);
    const t1 = performance.now();
    return done(fgF, bgF, t1, solve(embeddingDescriptors(f, b), fgF, bgF), f.provider === 'cuda' && b.provider === 'cuda' ? 'cuda' : 'cpu');
  }
  const fgKey = pixelsKey(ids.fg, fgRect, w, h);
  const bgKey = pixelsKey(ids.bg, bgRect, w, h);
  const [fgF, bgF] = await Promise.all([
    cached(o.cache, fgKey, seqBytes, () => early.get(fgKey) ?? extractFeatures(fg.file, fgRect, w, h, fg.frameCount, tick, o.signal)),
    cached(o.cache, bgKey, seqBytes, () => extractFeatures(bg.file, bgRect, w, h, bg.frameCount, tick, o.signal)),
  ]);
  await need(fgF.n, bgF.n);
  const t1 = performance.now();
  const moving = engine === 'mask';
  const descBytes = (d: DescriptorSet) => 4 * (d.fg.v.length + d.bg.v.length + d.coarseFg.v.length + d.coarseBg.v.length);
  const d = await cached(o.cache, `desc:${fgKey}|${bgKey}|${moving}`, descBytes, async () => pixelDescriptors(fgF, bgF, engine));
  return done(fgF, bgF, t1, solve(d, fgF, bgF));
}

/**
 * The audio prior in frames, when fg's sound was found in bg's consistently enough to trust:
 * bg frame ≈ offset + slope · fg frame, searched ±1 s around.
 */
function priorFrames(p: AudioPrior | undefined, fg: ProbeInfo, bg: ProbeInfo): TemporalOptions['prior'] {
  if (!p || p.agreement < 0.5) return undefined;
  return { offset: p.offset * bg.fps, slope: (p.slope * bg.fps) / fg.fps, spread: Math.ceil(bg.fps) + 2 };
}

/** Both videos' sound, when both have some and the engine can use it (an edit breaks the line). */
async function audioPriorOf(loc: Located, engine: Engine, o: AlignOptions, ids: { fg: string; bg: string }): Promise<AudioPrior | undefined> {
  if (o.audioPrior === false || engine === 'edit' || !loc.fg.audio || !loc.bg.audio) return undefined;
  try {
    const env = (file: string, id: string) => cached(o.cache, `audio:${id}`, (e: Float32Array) => e.length * 4, () => audioEnvelope(file, o.signal));
    const [f, b] = await Promise.all([env(loc.fg.file, ids.fg), env(loc.bg.file, ids.bg)]);
    return audioPrior(f, b);
  } catch (e) {
    if (o.signal?.aborted) throw e;
    // Sound that cannot be decoded is no evidence; the frames still decide.
    return undefined;
  }
}

async function audioSummary(audio: Promise<AudioPrior | undefined>): Promise<{ audio?: { offset: number; speed: number; agreement: number } }> {
  const p = await audio;
  return p ? { audio: { offset: round(p.offset, 4), speed: round(p.slope, 6), agreement: round(p.agreement, 3) } } : {};
}

/** Aligns fg to bg in space and time. `located`: a spatial step already done with the same options. */
export async function align(bgFile: string, fgFile: string, o: AlignOptions = {}, located?: Located): Promise<Alignment> {
  const t0 = performance.now();
  const engine = o.engine ?? 'full';
  const ids = o.cache ? { bg: await fileIdentity(bgFile), fg: await fileIdentity(fgFile) } : { bg: bgFile, fg: fgFile };
  const spatialKey = `loc:${JSON.stringify([ids.bg, ids.fg, o.x, o.y, o.scale, o.unscaled])}`;
  // A placement verified on time-matched frames does not depend on the temporal options.
  const verified = located ? undefined : o.cache?.get<Located>(spatialKey);
  // fg's analysis frames do not depend on where fg sits in bg (unless it overhangs bg's edge): start
  // decoding them as soon as fg's picture is known, while the spatial search runs. Stopped once the
  // first pass is over, so a decode nobody wanted (overhang, fg not found) does not run on.
  const early = new Map<string, Promise<FeatureSeq>>();
  const stopEarly = new AbortController();
  let earlyDone = 0;
  const decodeEarly = (bg: ProbeInfo, fg: ProbeInfo, content: Rect) => {
    if (featuresOf(engine, o) !== 'pixels') return;
    const { w, h } = analysisSize(content, fg.frameCount + bg.frameCount);
    const key = pixelsKey(ids.fg, content, w, h);
    if (o.cache?.get(key)) return;
    const p = extractFeatures(fg.file, content, w, h, fg.frameCount, () => earlyDone++, o.signal ? AbortSignal.any([o.signal, stopEarly.signal]) : stopEarly.signal);
    p.catch(() => undefined);
    early.set(key, p);
  };
  const loc = located ?? verified ?? (await locate(bgFile, fgFile, o, decodeEarly).catch((e: unknown) => {
    stopEarly.abort();
    throw e;
  }));
  const { bg, fg, content } = loc;
  const timings = { spatial: performance.now() - t0, decode: 0, temporal: 0, refine: 0 };
  let placement = loc.placement;
  let fgF: FeatureSeq;
  let bgF: FeatureSeq;
  let tm: TemporalResult & { cuts?: Cut[] };
  let provider: Provider | undefined;
  const audio = audioPriorOf(loc, engine, o, ids);
  audio.catch(() => undefined);
  for (let pass = 0; ; pass++) {
    const { bgRect, fgRect } = regions({ ...loc, placement });
    const { w, h } = analysisSize(fgRect, fg.frameCount + bg.frameCount);
    let done = 0;
    const total = fg.frameCount + bg.frameCount;
    const tick = () => {
      // fg's frames decoded early count towards the first pass.
      if (++done % 16 === 0) o.onProgress?.('decode', Math.min(1, (done + (pass === 0 ? earlyDone : 0)) / total));
    };
    const matched = await matchInTime(loc, fgRect, bgRect, w, h, engine, tick, o, audio, ids, early).finally(() => stopEarly.abort());
    ({ fgF, bgF } = matched);
    timings.decode += matched.decodeSeconds * 1000;
    timings.temporal += matched.temporalSeconds * 1000;
    tm = matched.tm;
    provider = matched.provider;
    if (loc.method === 'manual' || verified) break;

    const t = performance.now();
    o.onProgress?.('refine', 0);
    const j = await jointRefine(loc, placement, { bgRect, fgRect, fgF, bgF }, tm.bgFrameForFg, tm.confidence, Math.max(tm.slope, bg.fps / fg.fps), pass === 0 ? 6 : 2, o);
    timings.refine += performance.now() - t;
    // How far the analysis crop would move, in analysis pixels: a third of one changes the features.
    const k = w / bgRect.width;
    const moved =
      Math.abs(j.placement.x - placement.x) * k > 0.3 ||
      Math.abs(j.placement.y - placement.y) * k > 0.3 ||
      Math.abs(j.placement.scale - placement.scale) * content.width * k > 0.3;
    if (j.placement.score >= placement.score - 0.01 || !Number.isFinite(placement.score)) placement = j.placement;
    if (placement.score < MIN_SPATIAL_SCORE) throw notFound(fg, bg, content, placement);
    const settled = j.shifts.every((d) => d === 0) && !moved;
    if (settled) o.cache?.set(spatialKey, { ...loc, placement }, 1024);
    if (pass >= 2 || settled) break;
  }

  const s = placement.scale;
  const map = Array.from(tm.bgFrameForFg);
  const conf = Array.from(tm.confidence, (c) => round(c, 4));
  return {
    version: 1,
    bg: summary(bg, bgF.n),
    fg: { ...summary(fg, fgF.n), contentRect: content },
    spatial: {
      // Report fg's frame corner (bars included) so a user-given --x-shift/--y-shift means the same thing.
      x: round(placement.x - content.x * s, 2),
      y: round(placement.y - content.y * s, 2),
      scale: round(s, 5),
      confidence: round(Number.isFinite(placement.score) ? placement.score : 1, 4),
      method: loc.method,
    },
    temporal: {
      engine,
      features: featuresOf(engine, o),
      window: tm.window,
      ...(await audioSummary(audio)),
      ...(provider ? { provider } : {}),
      bgFrameForFg: map,
      bgTimeForFg: map.map((j) => round(timeOf(bgF, bg, j), 6)),
      confidence: conf,
      offsetSeconds: round(timeOf(bgF, bg, map[0]) - timeOf(fgF, fg, 0), 6),
      speed: round((tm.slope * fg.fps) / bg.fps, 6),
      meanConfidence: round(conf.reduce((a, b) => a + b, 0) / Math.max(1, conf.length), 4),
      ...(tm.cuts ? { cuts: tm.cuts } : {}),
    },
    timings: {
      spatial: secs(timings.spatial),
      decode: secs(timings.decode),
      temporal: secs(timings.temporal),
      refine: secs(timings.refine),
      total: secs(performance.now() - t0),
    },
  };
}

const secs = (ms: number) => round(ms / 1000, 3);

/** The most confident frame in each of `k` equal stretches of fg: spread out, and well matched. */
function pickPairs(conf: Float32Array, k: number): number[] {
  const out: number[] = [];
  const n = conf.length;
  for (let s = 0; s < Math.min(k, n); s++) {
    const a = Math.floor((s * n) / k);
    const b = Math.max(a + 1, Math.floor(((s + 1) * n) / k));
    let best = a;
    for (let i = a; i < b; i++) if (conf[i] > conf[best]) best = i;
    out.push(best);
  }
  return out;
}
