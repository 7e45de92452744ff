import { VidkompyError } from '../core/errors';
import { type Alignment, type VideoSummary } from '../engine/result';
import { round } from '../core/numbers';
import { pasteBox } from '../core/geometry';
import type { ProbeInfo } from '../media/probe';
import { fromProjectAlignment, inputStaleReasons, readProjectAlignment, staleReasons, type ProjectAlignment } from '../store';
import { cachedProbe } from '../project/filecache';
import type { ResolvedProject } from '../project/project';
import type { AlignmentView, FrameParams, FrameResult, VideoInfo } from '../../protocol/lsp';
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
    spatial: { x: al.spatial.x, y: al.spatial.y, scale: al.spatial.scale, confidence: al.spatial.confidence },
    bgFrameForFg: t.bgFrameForFg,
    bgTimeForFg: t.bgTimeForFg,
    // The alignment keeps fg's rate, not its timestamps: constant-rate times (exact for CFR fg).
    fgTimes: t.bgFrameForFg.map((_, i) => round(i / al.fg.fps, 6)),
    confidence: t.confidence,
    anchors: p.data.anchors ?? [],
    cuts: (t.cuts ?? []).map((c) => c.fg),
    uncertain: t.uncertain ?? [],
    stale: stale.length > 0,
  };
}

/**
 * The preview's frames come from proxies (proxy.ts): decoded sequentially, so fg frame i and bg
 * frame bgFrameForFg[i] are exactly the frames the render pastes together, whatever the container.
 * The budget is for all proxies together (VIDKOMPY_PREVIEW_MB, default 512 MiB).
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
  const { bg, fg, spatial } = al;
  const c = fg.contentRect;
  const bgFrame = al.temporal.bgFrameForFg[fgFrame];
  const k = width / bg.width;
  const bgH = Math.max(1, Math.round(bg.height * k));
  const box = pasteBox(spatial, c, k);
  const fgW = width;
  const fgH = Math.max(1, Math.round((c.height * width) / c.width));
  // The kept range of bg: the frames the map can ask for (a short fg over a long bg keeps little).
  const map = al.temporal.bgFrameForFg;
  // A loop, not Math.min(...map): a long map would overflow the argument stack.
  let first = map[0];
  let last = map[0];
  for (const j of map) {
    first = Math.min(first, j);
    last = Math.max(last, j);
  }
  const bgSpec: ProxySpec = { file: bg.file, width, height: bgH, filter: `scale=${width}:${bgH}:flags=area`, first, last };
  const fgFilter = `crop=${c.width}:${c.height}:${c.x}:${c.y}:exact=1,scale=${fgW}:${fgH}:flags=area`;
  const fgSpec: ProxySpec = { file: fg.file, width: fgW, height: fgH, filter: fgFilter, first: 0, last: n - 1 };
  const [bgData, fgData] = await Promise.all([proxies.frame(bgSpec, bgFrame, signal), proxies.frame(fgSpec, fgFrame, signal)]);
  const bgImg: Rgb = { data: bgData, width, height: bgH };
  const fgAlone: Rgb = { data: fgData, width: fgW, height: fgH };
  const composite = pasteRgb(bgImg, resizeRgb(fgAlone, box.width, box.height), box.x, box.y);
  return { fgFrame, bgFrame, fg: dataUrl(fgAlone), bg: dataUrl(bgImg), composite: dataUrl(composite), box };
}
