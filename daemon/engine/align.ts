import { contentRect } from './content';
import { VidkompyError, throwIfAborted } from './errors';
import { analysisSize, extractFeatures, type FeatureSeq } from './features';
import { crop, toGray, type Gray } from './image';
import { round, summary, type Alignment } from './result';
import { coarseSearch, refine, type Placement } from './spatial';
import { alignTemporal, type Engine } from './temporal';
import { frameAtTime, sampleFrames, type Rect } from '../media/decode';
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

export interface AlignOptions extends SpatialOptions {
  engine?: Engine;
  /** Fine search band half-width, bg frames. */
  window?: number;
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
export async function locate(bgFile: string, fgFile: string, o: SpatialOptions = {}): Promise<Located> {
  o.onProgress?.('probe', 0);
  const [bg, fg] = await Promise.all([probe(bgFile, o.signal), probe(fgFile, o.signal)]);
  o.onProgress?.('spatial', 0);
  const fgS = await sampleFrames(fg, FG_SAMPLES, fg.width, fg.height, o.signal);
  const content = contentRect(fgS.frames, fg.width, fg.height);
  const fgSamples = fgS.frames.map((f) => contentOf(toGray(f, fg.width, fg.height), content));
  const manual = o.x !== undefined || o.y !== undefined;
  if (manual) {
    const s = o.scale ?? 1;
    const placement = { x: (o.x ?? 0) + content.x * s, y: (o.y ?? 0) + content.y * s, scale: s, score: NaN };
    return { bg, fg, content, placement, method: 'manual', c: 1 };
  }
  const c = Math.min(1, COARSE_SIZE / Math.max(bg.width, bg.height));
  const sw = Math.max(8, Math.round(bg.width * c));
  const sh = Math.max(8, Math.round(bg.height * c));
  const bgS = await sampleFrames(bg, BG_SAMPLES, sw, sh, o.signal);
  throwIfAborted(o.signal);
  o.onProgress?.('spatial', 0.5);
  const cc = sw / bg.width;
  const hit = coarseSearch(bgS.frames, sw, sh, cc, fgSamples, { fixedScale: fixedScale(o) });
  if (!hit || hit.score < MIN_SPATIAL_SCORE * 0.8) throw notFound(fg, bg, content, hit);
  const bgFull = toGray(await frameAtTime(bg, bgS.times[hit.bgSample], o.signal), bg.width, bg.height);
  const placement = refine([{ bg: bgFull, fg: fgSamples[hit.fgSample] }], hit, { from: 2 * cc, scaleUncertainty: 0.045, fixedScale: fixedScale(o) });
  o.onProgress?.('spatial', 1);
  return { bg, fg, content, placement, method: 'auto', c: cc };
}

function contentOf(g: Gray, content: Rect): Gray {
  return content.width === g.width && content.height === g.height ? g : crop(g, content.x, content.y, content.width, content.height);
}

function notFound(fg: ProbeInfo, bg: ProbeInfo, content: Rect, p?: Placement): VidkompyError {
  if (content.width > bg.width || content.height > bg.height) {
    return new VidkompyError(
      'FG_LARGER',
      `${fg.file}: fg (${fg.width}x${fg.height}) is larger than bg ${bg.file} (${bg.width}x${bg.height}) and was not found scaled down inside it; vidkompy places fg inside bg: check the --bg/--fg order, or give --scale`,
      fg.file,
    );
  }
  const best = p ? ` (best match: NCC ${p.score.toFixed(2)} at x=${Math.round(p.x)}, y=${Math.round(p.y)}, scale ${p.scale.toFixed(3)})` : '';
  return new VidkompyError(
    'NOT_FOUND',
    `${fg.file}: fg was not found inside bg ${bg.file}${best}; check that fg shows part of bg, or give --x-shift, --y-shift and --scale`,
    fg.file,
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
  if (x1 - x0 < 4 || y1 - y0 < 4) throw new VidkompyError('BAD_ARGS', `the placement puts fg outside bg (${bg.width}x${bg.height}); check --x-shift, --y-shift and --scale`);
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

/** A frame's presentation time: the decoder's when known, else from its index at the average rate. */
function timeOf(seq: FeatureSeq, info: ProbeInfo, i: number): number {
  return seq.times.length > i ? seq.times[i] : i / info.fps;
}

export async function align(bgFile: string, fgFile: string, o: AlignOptions = {}): Promise<Alignment> {
  const t0 = performance.now();
  const engine = o.engine ?? 'full';
  const loc = await locate(bgFile, fgFile, o);
  const { bg, fg, content } = loc;
  const tSpatial = performance.now();

  const { bgRect, fgRect } = regions(loc);
  const { w, h } = analysisSize(fgRect, fg.frameCount + bg.frameCount);
  let done = 0;
  const total = fg.frameCount + bg.frameCount;
  const tick = () => {
    if (++done % 16 === 0) o.onProgress?.('decode', Math.min(1, done / total));
  };
  const [fgF, bgF] = await Promise.all([
    extractFeatures(fg.file, fgRect, w, h, fg.frameCount, tick, o.signal),
    extractFeatures(bg.file, bgRect, w, h, bg.frameCount, tick, o.signal),
  ]);
  if (fgF.n === 0) throw new VidkompyError('NO_FRAMES', `${fg.file}: no frame could be decoded; re-export the video`, fg.file);
  if (bgF.n === 0) throw new VidkompyError('NO_FRAMES', `${bg.file}: no frame could be decoded; re-export the video`, bg.file);
  const tDecode = performance.now();
  throwIfAborted(o.signal);

  const tm = alignTemporal(fgF, bgF, {
    engine,
    fgFps: fg.fps,
    bgFps: bg.fps,
    window: o.window,
    onProgress: (f) => o.onProgress?.('temporal', f),
  });
  const tTemporal = performance.now();

  let placement = loc.placement;
  if (loc.method === 'auto') {
    // Now that frames are matched in time, sharpen the placement on exact pairs spread over fg.
    o.onProgress?.('refine', 0);
    const pairs = [];
    for (const i of pickPairs(tm.confidence, 3)) {
      const [bf, ff] = await Promise.all([
        frameAtTime(bg, timeOf(bgF, bg, tm.bgFrameForFg[i]), o.signal),
        frameAtTime(fg, timeOf(fgF, fg, i), o.signal),
      ]);
      pairs.push({ bg: toGray(bf, bg.width, bg.height), fg: contentOf(toGray(ff, fg.width, fg.height), content) });
    }
    const refined = refine(pairs, placement, { from: 0.5, scaleUncertainty: 0.01, fixedScale: fixedScale(o) });
    if (refined.score >= placement.score - 0.01) placement = refined;
    if (placement.score < MIN_SPATIAL_SCORE) throw notFound(fg, bg, content, placement);
  }
  const tRefine = performance.now();

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
      bgFrameForFg: map,
      bgTimeForFg: map.map((j) => round(timeOf(bgF, bg, j), 6)),
      confidence: conf,
      offsetSeconds: round(timeOf(bgF, bg, map[0]) - timeOf(fgF, fg, 0), 6),
      speed: round((tm.slope * fg.fps) / bg.fps, 6),
      meanConfidence: round(conf.reduce((a, b) => a + b, 0) / Math.max(1, conf.length), 4),
    },
    timings: {
      spatial: secs(tSpatial - t0),
      decode: secs(tDecode - tSpatial),
      temporal: secs(tTemporal - tDecode),
      refine: secs(tRefine - tTemporal),
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
