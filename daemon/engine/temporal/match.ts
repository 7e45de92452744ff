import { isTimeAnchor, type Engine, type Provider } from '../../../protocol/project';
import { VidkompyError, throwIfAborted } from '../../core/errors';
import type { Rect } from '../../core/geometry';
import { cachedIn } from '../../core/lru';
import { round } from '../../core/numbers';
import type { ProbeInfo } from '../../media/probe';
import type { AlignContext, AlignOptions, Located } from '../context';
import type { Described, DescriptorSet, FeatureSeq } from '../descriptors/types';
import type { HashDescribed } from '../descriptors/hash';
import { audioEnvelope, audioPrior, type AudioPrior } from './audio';
import { alignEdit, type Cut } from './edit';
import { alignFast } from './fast';
import { alignTemporal, type TemporalOptions, type TemporalResult } from './solve';
import { stretchLines } from '../../core/line';
import { plausibleSpeed } from '../trust';

/**
 * The temporal step of one pass: both regions described (from the daemon's memory when it has
 * them, or from the early decode), then the frame map by the chosen engine.
 */

export interface Matched {
  fgF: Described;
  bgF: Described;
  tm: TemporalResult & { cuts?: Cut[] };
  provider?: Provider;
  decodeSeconds: number;
  temporalSeconds: number;
}

/** The memory-cache key of one video region's description (undefined: the kind is not kept). */
export function describedKey(ctx: Pick<AlignContext, 'kind'>, id: string, video: ProbeInfo, region: Rect, size: { w: number; h: number }): string | undefined {
  const k = ctx.kind.key({ video, region, size });
  return k === undefined ? undefined : `${k}:${id}`;
}

export async function matchInTime(
  ctx: AlignContext,
  rects: { fgRect: Rect; bgRect: Rect },
  size: { w: number; h: number },
  onFrame: () => void,
  foreign?: Uint8Array,
): Promise<Matched> {
  const { loc, engine, kind, o, ids } = ctx;
  const { fg, bg } = loc;
  if (engine === 'mask' && kind.name !== 'pixels') {
    throw new VidkompyError('BAD_ARGS', `the mask engine compares pixels (it masks out static ones), not ${kind.name}`, undefined, {
      kind: 'options',
      verb: 'use',
      options: ['features'],
      to: 'pixels (or another engine)',
    });
  }
  const t0 = performance.now();
  const describe = (video: ProbeInfo, id: string, region: Rect, split?: Promise<unknown>) => {
    const key = describedKey(ctx, id, video, region, size);
    const early = key === undefined ? undefined : ctx.early.get(key);
    return cachedIn(o.cache, key, kind.bytes, () => early ?? kind.describe({ video, region, size, onFrame, signal: o.signal, split }));
  };
  // fg's region is usually decoded first (early, or kept from before): once it is, bg's decode
  // (the longer) may hand its rest to a second decoder, the core fg's had is free.
  const fgP = describe(fg, ids.fg, rects.fgRect);
  const [fgF, bgF] = await Promise.all([fgP, describe(bg, ids.bg, rects.bgRect, fgP)]);
  for (const [d, info] of [
    [fgF, fg],
    [bgF, bg],
  ] as const) {
    if (d.seq.n === 0) throw new VidkompyError('NO_FRAMES', `${info.file}: no frame could be decoded; re-export the video`, info.file);
  }
  throwIfAborted(o.signal);
  const t1 = performance.now();
  let tm: Matched['tm'];
  if (engine === 'fast') {
    tm = alignFast((fgF as HashDescribed).hashes, (bgF as HashDescribed).hashes, await temporalOptions(ctx, fgF.seq, bgF.seq));
  } else {
    const fk = describedKey(ctx, ids.fg, fg, rects.fgRect, size);
    const bk = describedKey(ctx, ids.bg, bg, rects.bgRect, size);
    // Coarse vectors may be the fine ones themselves (descriptors/pixels.ts): counted once.
    const setBytes = (d: DescriptorSet) => 4 * [...new Set([d.fg.v, d.bg.v, d.coarseFg.v, d.coarseBg.v])].reduce((sum, v) => sum + v.length, 0);
    const key = fk && bk ? `desc:${fk}|${bk}|${engine === 'mask'}|${foreign ? maskKey(foreign) : ''}` : undefined;
    const d = await cachedIn(o.cache, key, setBytes, async () => kind.pair(fgF, bgF, engine, foreign));
    tm = await solveDescribed(ctx, d, fgF.seq, bgF.seq);
  }
  const provider = fgF.provider && bgF.provider ? (fgF.provider === 'cuda' && bgF.provider === 'cuda' ? 'cuda' : 'cpu') : undefined;
  return { fgF, bgF, tm, provider, decodeSeconds: (t1 - t0) / 1000, temporalSeconds: (performance.now() - t1) / 1000 };
}

/** The engine's options for one pair of described sequences: fps, window, audio prior, anchors. */
async function temporalOptions(ctx: AlignContext, fgSeq: FeatureSeq, bgSeq: FeatureSeq): Promise<TemporalOptions> {
  const { loc, engine, o } = ctx;
  const { fg, bg } = loc;
  return {
    smoothing: 2 * Math.round(fg.fps / 4) + 1,
    engine,
    fgFps: fg.fps,
    bgFps: bg.fps,
    window: o.window,
    prior: priorFrames(await ctx.audio, fg, bg),
    onProgress: (f: number) => o.onProgress?.('temporal', f),
    anchors: anchorFrames(o.anchors, fgSeq, bgSeq, fg, bg),
  };
}

/**
 * The frame map from descriptors already paired, by the context's engine (the `fast` engine's
 * hashes aside): also what a moving window's descriptors, cut at the window of each frame's own
 * time (engine/tracked.ts), are matched with.
 */
export async function solveDescribed(ctx: AlignContext, d: DescriptorSet, fgSeq: FeatureSeq, bgSeq: FeatureSeq): Promise<Matched['tm']> {
  const opts = await temporalOptions(ctx, fgSeq, bgSeq);
  const engine = ctx.engine === 'fast' ? 'full' : ctx.engine;
  let tm: Matched['tm'] = engine === 'edit' ? alignEdit(d, { ...opts, engine }) : alignTemporal(d, { ...opts, engine });
  if (engine === 'full') tm = withCuts(tm, alignEdit(d, opts), ctx.loc.bg.fps / ctx.loc.fg.fps);
  return tm;
}

/** A short digest of a pixel mask, for cache keys. */
function maskKey(m: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let p = 0; p < m.length; p++) h = Math.imul(h ^ m[p], 0x01000193) >>> 0;
  return `${m.length}:${h.toString(16)}`;
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
  // Placement pins without a bg time say nothing about the map.
  return (anchors ?? []).filter(isTimeAnchor).map((a) => ({ fg: nearest(fgF, fg, a.fg), bg: nearest(bgF, bg, a.bg) }));
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
export async function audioPriorOf(loc: Located, engine: Engine, o: AlignOptions, ids: { fg: string; bg: string }): Promise<AudioPrior | undefined> {
  if (o.audioPrior === false || engine === 'edit' || !loc.fg.audio || !loc.bg.audio) return undefined;
  try {
    const env = (file: string, id: string) =>
      cachedIn(
        o.cache,
        `audio:${id}`,
        (e: Float32Array) => e.length * 4,
        () => audioEnvelope(file, o.signal),
      );
    const [f, b] = await Promise.all([env(loc.fg.file, ids.fg), env(loc.bg.file, ids.bg)]);
    return audioPrior(f, b);
  } catch (e) {
    if (o.signal?.aborted) throw e;
    // Sound that cannot be decoded is no evidence; the frames still decide.
    return undefined;
  }
}

export async function audioSummary(audio: Promise<AudioPrior | undefined>): Promise<{ audio?: { offset: number; speed: number; agreement: number } }> {
  const p = await audio;
  return p ? { audio: { offset: round(p.offset, 4), speed: round(p.slope, 6), agreement: round(p.agreement, 3) } } : {};
}

/**
 * The default engine follows forward cuts: one smooth map smooths across a cut, off by many frames
 * around it. The edit engine's map (same descriptors, no decoding) replaces it when it found cuts
 * and explains fg's frames at least twice as well (mean 1 − similarity), by a clear margin or, in a
 * near-static scene where every frame fits and no margin is clear, where the cuts explain a speed:
 * the smooth map's one line runs at a speed nothing plausible runs at (it ramps across the cut,
 * three bg frames a frame) and each of the edit's stretches runs at a plausible one. Without cuts
 * both maps are the same. The smooth map's top-level evidence stays for the trust figure.
 * `nominal`: bg frames per fg frame at fg's own speed.
 */
function withCuts(smooth: TemporalResult, edit: TemporalResult & { cuts: Cut[] }, nominal: number): Matched['tm'] {
  if (!edit.cuts.length) return smooth;
  const misfit = (c: Float32Array) => {
    let s = 0;
    for (let i = 0; i < c.length; i++) s += 1 - c[i];
    return s / Math.max(1, c.length);
  };
  const a = misfit(smooth.confidence);
  const b = misfit(edit.confidence);
  if (b > 0.5 * a) return smooth;
  const stretches = stretchLines(edit.bgFrameForFg, edit.cuts.map((c) => c.fg), STRETCH_MIN);
  const explains = plausibleSpeed(smooth.slope / nominal) < 1 && stretches.every((s) => plausibleSpeed(s.slope / nominal) === 1);
  return a - b >= 0.002 || explains ? { ...edit, top: smooth.top } : smooth;
}

/** fg frames a stretch between cuts needs for its own speed to count. */
const STRETCH_MIN = 10;
