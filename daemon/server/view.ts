import { VidkompyError } from '../core/errors';
import { type Alignment, type VideoSummary } from '../engine/result';
import { round } from '../core/numbers';
import { pasteBox } from '../core/geometry';
import { readFrames } from '../media/ffmpeg';
import type { ProbeInfo } from '../media/probe';
import { fromProjectAlignment, inputStaleReasons, readProjectAlignment, staleReasons, type ProjectAlignment } from '../store';
import { cachedProbe } from '../project/filecache';
import type { ResolvedProject } from '../project/project';
import type { AlignmentView, FrameParams, FrameResult, VideoInfo } from '../../protocol/lsp';
import { dataUrl, pasteRgb, resizeRgb, type Rgb } from './images';
import { badParams } from './errors';
import { pathToUri } from './uri';

/** What the preview shows: the saved alignment of a project, and frames from it. */

export function toVideoInfo(p: ProbeInfo): VideoInfo {
  return { uri: pathToUri(p.file), width: p.width, height: p.height, fps: p.fps, frameCount: p.frameCount, duration: p.duration, codec: p.codec, vfr: p.vfr, rotation: p.rotation, audio: p.audio };
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
    stale: stale.length > 0,
  };
}

/** One frame of `file` at `time`, as RGB at width×height (the decoder seeks, then scales). */
async function frameAt(file: string, time: number, fps: number, width: number, height: number, filter: string, signal?: AbortSignal): Promise<Rgb> {
  // Half a frame early: the first frame the accurate seek delivers is then the one at `time`.
  const start = Math.max(0, time - 0.5 / fps);
  const inputArgs = start > 0 ? ['-ss', start.toFixed(6)] : [];
  for await (const f of readFrames({ file, inputArgs, filter, pixFmt: 'rgb24', width, height, maxFrames: 1, signal, what: `reading a preview frame at ${time.toFixed(3)} s` })) {
    return { data: new Uint8Array(f), width, height };
  }
  throw new VidkompyError('NO_FRAMES', `${file}: no frame at ${time.toFixed(3)} s could be decoded for the preview; re-export the video`, file);
}

const MAX_PREVIEW = 4096;

export async function previewFrame(al: Alignment, params: FrameParams, signal?: AbortSignal): Promise<FrameResult> {
  const { fgFrame, width } = params;
  const n = al.temporal.bgFrameForFg.length;
  if (!Number.isInteger(fgFrame) || fgFrame < 0 || fgFrame >= n) throw badParams(`vidkompy/frame: fgFrame must be an integer in 0..${n - 1}, got ${JSON.stringify(fgFrame)}`);
  if (!Number.isInteger(width) || width < 16 || width > MAX_PREVIEW) throw badParams(`vidkompy/frame: width must be an integer in 16..${MAX_PREVIEW}, got ${JSON.stringify(width)}`);
  if (params.format !== undefined && params.format !== 'jpeg') {
    throw badParams(`vidkompy/frame: format must be "jpeg" (or left out), got ${JSON.stringify(params.format)}`);
  }
  const { bg, fg, spatial } = al;
  const c = fg.contentRect;
  const bgFrame = al.temporal.bgFrameForFg[fgFrame];
  const k = width / bg.width;
  const bgH = Math.max(1, Math.round(bg.height * k));
  const box = pasteBox(spatial, c, k);
  const crop = `crop=${c.width}:${c.height}:${c.x}:${c.y}:exact=1`;
  const [bgImg, fgFull] = await Promise.all([
    frameAt(bg.file, al.temporal.bgTimeForFg[fgFrame], bg.fps, width, bgH, `scale=${width}:${bgH}:flags=area`, signal),
    frameAt(fg.file, fgFrame / fg.fps, fg.fps, c.width, c.height, crop, signal),
  ]);
  const fgAlone = resizeRgb(fgFull, width, Math.max(1, Math.round((c.height * width) / c.width)));
  const composite = pasteRgb(bgImg, resizeRgb(fgFull, box.width, box.height), box.x, box.y);
  return { fgFrame, bgFrame, fg: dataUrl(fgAlone), bg: dataUrl(bgImg), composite: dataUrl(composite), box };
}
