import { VidkompyError } from '../core/errors';
import type { FirstMap } from '../engine';
import { placedAt, type Alignment, type VideoSummary } from '../engine/result';
import { round } from '../core/numbers';
import { pasteBox } from '../core/geometry';
import type { ProbeInfo } from '../media/probe';
import { fromProjectAlignment, inputStaleReasons, readProjectAlignment, staleReasons, type ProjectAlignment } from '../store';
import { cachedProbe } from '../project/filecache';
import type { ResolvedProject } from '../project/project';
import type { AlignmentView, FrameParams, FrameResult, VideoInfo } from '../../protocol/lsp';
import { isTimeAnchor } from '../../protocol/project';
import { dataUrl, pasteRgb, resizeRgb, type Rgb } from './images';
import { badParams } from './errors';
import { pathToUri } from './uri';
import { createProxyStore, type ProxySpec } from './proxy';

/** What the preview shows: the saved alignment of a project, and frames from it. */

export function toVideoInfo(p: ProbeInfo): VideoInfo {
  return {
    uri: pathToUri(p.file),
    width: p.width,
    height: p.height,
    fps: p.fps,
    frameCount: p.frameCount,
    duration: p.duration,
    codec: p.codec,
    vfr: p.vfr,
    rotation: p.rotation,
    audio: p.audio,
  };
}

/**
 * The probe of one of the project's inputs when the file is readable, else what the alignment
 * recorded; the uri is always the project's file, whatever the alignment names.
 */
async function infoOf(file: string, v: VideoSummary): Promise<VideoInfo> {
  const p = await cachedProbe(file).catch(() => undefined);
  if (p) return toVideoInfo(p);
  const { width, height, fps, frameCount, duration, vfr } = v;
  return { uri: pathToUri(file), width, height, fps, frameCount, duration, codec: 'unknown', vfr, rotation: 0, audio: null };
}

/**
 * The saved alignment with the project's own bg and fg in place of the files it names. The
 * alignment file is committed data that anyone can edit: the preview never decodes a path from it.
 */
export function previewAlignment(saved: ProjectAlignment, p: ResolvedProject): Alignment {
  const al = fromProjectAlignment(saved, p.file);
  return { ...al, bg: { ...al.bg, file: p.bg }, fg: { ...al.fg, file: p.fg } };
}

/** The alignment to draw frames from, refused when it was made from other inputs than the project's. */
export async function previewableAlignment(saved: ProjectAlignment, p: ResolvedProject): Promise<Alignment> {
  const reasons = await inputStaleReasons(saved, p);
  if (reasons.length) {
    // Its map and crop describe other videos: frames of the project's inputs through it would mislead.
    const why = `${p.alignmentFile}: the saved alignment is stale: ${reasons.join('; ')}`;
    throw new VidkompyError('STALE', why, p.alignmentFile, { kind: 'command', command: 'realign' });
  }
  return previewAlignment(saved, p);
}

/** An alignment keeps fg's rate, not its timestamps: constant-rate times (exact for CFR fg). */
function fgTimesOf(n: number, fps: number): number[] {
  return Array.from({ length: n }, (_, i) => round(i / fps, 6));
}

/** The placement as the preview draws it: a tracked one with its keyframes (a few, whatever fg's length). */
function spatialView(sp: Alignment['spatial']): AlignmentView['spatial'] {
  const fixed = { x: sp.x, y: sp.y, scale: sp.scale, confidence: sp.confidence };
  if (sp.placement !== 'tracked' || !sp.track?.keys.length) return fixed;
  const { tolerance, keys, cuts } = sp.track;
  return { ...fixed, placement: 'tracked', track: { tolerance, keys, ...(cuts?.length ? { cuts } : {}) } };
}

export async function alignmentView(p: ResolvedProject, projectUri: string): Promise<AlignmentView | null> {
  const saved = await readProjectAlignment(p.alignmentFile);
  if (!saved) return null;
  const al = previewAlignment(saved, p);
  const [bg, fg, stale] = await Promise.all([infoOf(p.bg, al.bg), infoOf(p.fg, al.fg), staleReasons(saved, p)]);
  const t = al.temporal;
  return {
    project: projectUri,
    bg,
    fg: { ...fg, contentRect: al.fg.contentRect },
    spatial: spatialView(al.spatial),
    bgFrameForFg: t.bgFrameForFg,
    bgTimeForFg: t.bgTimeForFg,
    fgTimes: fgTimesOf(t.bgFrameForFg.length, al.fg.fps),
    confidence: t.confidence,
    anchors: timeAnchors(p),
    cuts: (t.cuts ?? []).map((c) => c.fg),
    uncertain: t.uncertain ?? [],
    stale: stale.length > 0,
  };
}

/**
 * The coarse map of an align still running (the engine's first pass), drawn as the preview draws a
 * result but marked provisional: no alignment is saved behind it yet.
 */
export async function coarseView(p: ResolvedProject, projectUri: string, map: FirstMap): Promise<AlignmentView> {
  const [bg, fg] = await Promise.all([cachedProbe(p.bg), cachedProbe(p.fg)]);
  return {
    project: projectUri,
    bg: toVideoInfo(bg),
    fg: { ...toVideoInfo(fg), contentRect: map.contentRect },
    spatial: map.spatial,
    bgFrameForFg: map.bgFrameForFg,
    bgTimeForFg: map.bgTimeForFg,
    fgTimes: fgTimesOf(map.bgFrameForFg.length, fg.fps),
    confidence: map.confidence,
    anchors: timeAnchors(p),
    cuts: [],
    stale: false,
    provisional: true,
  };
}

/**
 * The preview's frames come from proxies (proxy.ts): counted as a sequential decode counts them, so
 * fg frame i and bg frame bgFrameForFg[i] are exactly the frames the render pastes together,
 * whatever the container. The memory budget is for all proxies' frames together
 * (VIDKOMPY_PREVIEW_MB, default 512 MiB: about 1,400 frames at 480×270), however long the videos.
 */
const previewMb = Number(process.env.VIDKOMPY_PREVIEW_MB);
export const proxies = createProxyStore((Number.isFinite(previewMb) && previewMb > 0 ? previewMb : 512) * 2 ** 20);

const MAX_PREVIEW = 4096;

export async function previewFrame(al: Alignment, params: FrameParams, signal?: AbortSignal): Promise<FrameResult> {
  const { fgFrame, width } = params;
  const n = al.temporal.bgFrameForFg.length;
  if (!Number.isInteger(fgFrame) || fgFrame < 0 || fgFrame >= n)
    throw badParams(`vidkompy/frame: fgFrame must be an integer in 0..${n - 1}, got ${JSON.stringify(fgFrame)}`);
  if (!Number.isInteger(width) || width < 16 || width > MAX_PREVIEW)
    throw badParams(`vidkompy/frame: width must be an integer in 16..${MAX_PREVIEW}, got ${JSON.stringify(width)}`);
  if (params.format !== undefined && params.format !== 'jpeg') {
    throw badParams(`vidkompy/frame: format must be "jpeg" (or left out), got ${JSON.stringify(params.format)}`);
  }
  const { bg, fg } = al;
  const c = fg.contentRect;
  const bgFrame = al.temporal.bgFrameForFg[fgFrame];
  const k = width / bg.width;
  const bgH = Math.max(1, Math.round(bg.height * k));
  // This frame's window (a tracked placement moves): the render's formula, at preview size.
  const box = pasteBox(placedAt(al.spatial, fgFrame), c, k);
  const fgW = width;
  const fgH = Math.max(1, Math.round((c.height * width) / c.width));
  const bgSpec: ProxySpec = { file: bg.file, width, height: bgH, filter: `scale=${width}:${bgH}:flags=area`, total: bg.frameCount, fps: bg.fps };
  const fgFilter = `crop=${c.width}:${c.height}:${c.x}:${c.y}:exact=1,scale=${fgW}:${fgH}:flags=area`;
  const fgSpec: ProxySpec = { file: fg.file, width: fgW, height: fgH, filter: fgFilter, total: fg.frameCount, fps: fg.fps };
  const [bgData, fgData] = await Promise.all([proxies.frame(bgSpec, bgFrame, signal), proxies.frame(fgSpec, fgFrame, signal)]);
  const bgImg: Rgb = { data: bgData, width, height: bgH };
  const fgAlone: Rgb = { data: fgData, width: fgW, height: fgH };
  const composite = pasteRgb(bgImg, resizeRgb(fgAlone, box.width, box.height), box.x, box.y);
  return { fgFrame, bgFrame, fg: dataUrl(fgAlone), bg: dataUrl(bgImg), composite: dataUrl(composite), box };
}

/** The project's sync points, for the time plot (placement pins have no bg time to draw). */
function timeAnchors(p: ResolvedProject): { fg: number; bg: number }[] {
  return (p.data.anchors ?? []).filter(isTimeAnchor).map((a) => ({ fg: a.fg, bg: a.bg }));
}
