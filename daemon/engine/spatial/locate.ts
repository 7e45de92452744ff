import type { Rect } from '../../core/geometry';
import { contentCorner } from '../../core/geometry';
import { VidkompyError, throwIfAborted } from '../../core/errors';
import { framesAt, sampleFrames, type Sampled } from '../../media/decode';
import { probe, type ProbeInfo } from '../../media/probe';
import type { Located, SpatialOptions } from '../context';
import { crop, ncc, resize, toGray, type Gray } from '../image';
import { contentRect } from './content';
import { coarseSearch, consensusSearch, refine, type CoarseHit, type Placement } from './search';

/**
 * The spatial step: where fg's content sits in bg. Letterbox bars are found in fg first; then a
 * coarse FFT search over scales on sampled frames, sharpened at full size on the best pair.
 */

/** Below this NCC the best placement is not fg: better an error than a wrong composite. */
export const MIN_SPATIAL_SCORE = 0.5;
const COARSE_SIZE = 128;
const FG_SAMPLES = 5;
const BG_SAMPLES = 30;

export function fixedScale(o: SpatialOptions): number | undefined {
  return o.scale ?? (o.unscaled ? 1 : undefined);
}

/**
 * The spatial step on its own: where fg's content sits in bg, from sampled frames. Coarse FFT search
 * over scales, then a full-resolution refinement on the best-matching sample pair.
 */
export async function locate(
  bgFile: string,
  fgFile: string,
  o: SpatialOptions = {},
  onContent?: (bg: ProbeInfo, fg: ProbeInfo, content: Rect) => void,
): Promise<Located> {
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
  const fgS = await sampleFrames(fg, FG_SAMPLES, fg.width, fg.height, o.signal, o.mirror);
  const content = contentRect(fgS.frames, fg.width, fg.height);
  onContent?.(bg, fg, content);
  const bgS = await bgP;
  const fgSamples = fgS.frames.map((f) => contentOf(toGray(f, fg.width, fg.height), content));
  if (manual || !bgS) {
    const s = o.scale ?? 1;
    const placement = { ...contentCorner({ x: o.x ?? 0, y: o.y ?? 0, scale: s }, content), scale: s, score: NaN };
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
  const consensus = () => consensusSearch(bgS.frames, sw, sh, cc, fgSamples, { fixedScale: fixedScale(o) });
  const keys = { ...(bgS.keyframes ? { bg: bgS.times } : {}), ...(fgS.keyframes ? { fg: fgS.times } : {}) };
  return { bg, fg, content, placement, method: 'auto', c: cc, keys, ...(hit.others ? { others: hit.others } : {}), consensus };
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
  // A keyframe sample's neighbours are read after it only: one before it would decode the whole
  // keyframe interval before (a second or two of full-size frames, ten with x264's default).
  const near = (bgS.keyframes ? [0, 1, 2, 3, 4] : [-2, -1, 0, 1, 2]).map((k) => t + k / bg.fps).filter((v) => v >= 0 && !(v >= bg.duration && bg.duration > 0));
  const coarse = bgS.frames[hit.bgSample];
  const frames = await framesAt(bg, near, {
    signal: o.signal,
    verify: (w, f) => w !== t || ncc(resize(toGray(f, bg.width, bg.height), sw, sh).data, coarse) >= 0.95,
  });
  const candidates = frames.filter((f): f is Uint8Array => !!f).map((f) => toGray(f, bg.width, bg.height));
  if (!candidates.length) throw new VidkompyError('NO_FRAMES', `${bg.file}: no frame near ${t.toFixed(3)} s could be decoded; re-export the video`, bg.file);
  return refine([{ bg: candidates, fg: fgSample }], hit, { from: Math.min(1, 2 * c), scaleUncertainty: 0.045, fixedScale: fixedScale(o) });
}

export function contentOf(g: Gray, content: Rect): Gray {
  return content.width === g.width && content.height === g.height ? g : crop(g, content.x, content.y, content.width, content.height);
}

export function notFound(fg: ProbeInfo, bg: ProbeInfo, content: Rect, p?: Placement): VidkompyError {
  if (content.width > bg.width || content.height > bg.height) {
    return new VidkompyError(
      'FG_LARGER',
      `${fg.file}: fg (${fg.width}x${fg.height}) is larger than bg ${bg.file} (${bg.width}x${bg.height}) and was not found scaled down inside it; vidkompy places fg inside bg`,
      fg.file,
      { kind: 'options', verb: 'check', options: ['order', 'placement'] },
    );
  }
  const best = p ? ` (best match: NCC ${p.score.toFixed(2)} at x=${Math.round(p.x)}, y=${Math.round(p.y)}, scale ${p.scale.toFixed(3)})` : '';
  return new VidkompyError('NOT_FOUND', `${fg.file}: fg was not found inside bg ${bg.file}${best}`, fg.file, {
    kind: 'options',
    verb: 'give',
    options: ['placement'],
    lead: 'check that fg shows part of bg, or',
  });
}

/** fg's content rect placed in bg, clipped to bg, with the matching part of fg. */
export function regions(l: Pick<Located, 'bg' | 'content' | 'placement'>): { bgRect: Rect; fgRect: Rect } {
  const { bg, content, placement: p } = l;
  const s = p.scale;
  const x0 = Math.max(0, Math.round(p.x));
  const y0 = Math.max(0, Math.round(p.y));
  const x1 = Math.min(bg.width, Math.round(p.x + content.width * s));
  const y1 = Math.min(bg.height, Math.round(p.y + content.height * s));
  if (x1 - x0 < 4 || y1 - y0 < 4)
    throw new VidkompyError('BAD_ARGS', `the placement puts fg outside bg (${bg.width}x${bg.height})`, undefined, {
      kind: 'options',
      verb: 'check',
      options: ['placement'],
    });
  const bgRect = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
  // Within fg's content however the corner rounds (an unrefined placement at a fraction of a pixel
  // and a small scale would otherwise start a few fg pixels outside it).
  const fx = Math.max(content.x, Math.round(content.x + (x0 - p.x) / s));
  const fy = Math.max(content.y, Math.round(content.y + (y0 - p.y) / s));
  const fgRect = {
    x: fx,
    y: fy,
    width: Math.min(content.x + content.width - fx, Math.round(bgRect.width / s)),
    height: Math.min(content.y + content.height - fy, Math.round(bgRect.height / s)),
  };
  return { bgRect, fgRect };
}
