import { promises as fs } from 'node:fs';
import { fileNotFound, VidkompyError } from '../core/errors';
import path from 'node:path';
import { ffmpegPath, runTool, shownBy } from './ffmpeg';
import { shownOf, type StreamShape } from './picture';

/** What the engine needs to know about a video (or a still image, which is a 1-frame video). */
export interface ProbeInfo {
  file: string;
  /**
   * The picture as shown, and as every decode delivers it: upright (ffmpeg's decoder output is
   * auto-rotated), deinterlaced where stored interlaced, and with square pixels (an anamorphic
   * picture stretched to its shown width; see media/picture.ts).
   */
  width: number;
  height: number;
  codec: string;
  pixFmt: string;
  /** Average frame rate, frames per second. */
  fps: number;
  /** The rate as ffprobe states it ("30000/1001"), used verbatim when encoding. */
  fpsRational: string;
  /** Nominal (container/codec) frame rate. */
  nominalFps: number;
  /** Frames in the video stream (packets counted, not estimated from duration). */
  frameCount: number;
  /**
   * Frames the container's index lists (nb_frames), when it states them. A file cut short keeps its
   * index (faststart mp4): more frames listed than packets read is how a truncated file shows.
   */
  indexedFrames?: number;
  duration: number;
  /**
   * Seconds from the file's start (its earliest stream, where ffmpeg's reads count from) to the
   * video's first frame: how long the file's own sound plays before its first picture.
   */
  lead: number;
  rotation: number;
  /** A stored pixel's width over its height as shown (1: square; 4:3 in HDV's 1440×1080): decodes make it square. */
  sar: number;
  /** Stored interlaced (two fields a moment apart): decodes deinterlace it. */
  interlaced: boolean;
  vfr: boolean;
  audio: { codec: string; sampleRate: number; channels: number } | null;
}

interface FfStream extends StreamShape {
  codec_type?: string;
  codec_name?: string;
  pix_fmt?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_read_packets?: string;
  nb_frames?: string;
  duration?: string;
  start_time?: string;
  sample_rate?: string;
  channels?: number;
  disposition?: { attached_pic?: number };
}

/**
 * The container tag every render carries, read back to tell vidkompy's own outputs (which it may
 * replace) from files it must not overwrite unasked. "comment" survives in .mp4, .mov and .mkv
 * (Matroska spells the key COMMENT), unlike "encoder", which the muxer overwrites.
 */
export const OUTPUT_TAG = { key: 'comment', value: 'vidkompy' } as const;

/** Whether `file` carries OUTPUT_TAG; anything ffprobe cannot read is not vidkompy's. */
export async function writtenByVidkompy(file: string, signal?: AbortSignal): Promise<boolean> {
  try {
    const { stdout } = await runTool('ffprobe', ['-v', 'error', '-show_entries', 'format_tags', '-of', 'json', ffmpegPath(file)], { file, what: 'probing', signal });
    const tags = (JSON.parse(stdout.toString('utf8')) as { format?: { tags?: Record<string, string> } }).format?.tags ?? {};
    return Object.entries(tags).some(([k, v]) => k.toLowerCase() === OUTPUT_TAG.key && v === OUTPUT_TAG.value);
  } catch (e) {
    if (signal?.aborted) throw e;
    return false;
  }
}

function rate(s: string | undefined): number {
  if (!s) return 0;
  const [n, d] = s.split('/').map(Number);
  return d ? n / d : n || 0;
}

export async function probe(file: string, signal?: AbortSignal): Promise<ProbeInfo> {
  let st;
  try {
    st = await fs.stat(file);
  } catch {
    throw fileNotFound(file);
  }
  if (!st.isFile()) throw new VidkompyError('NOT_VIDEO', `${file}: not a file; give the path of a video`, file);
  if (st.size === 0) throw new VidkompyError('NOT_VIDEO', `${file}: the file is empty; re-export the video`, file);
  const { stdout } = await runTool(
    'ffprobe',
    ['-v', 'error', '-count_packets', '-show_streams', '-show_format', '-of', 'json', ffmpegPath(file)],
    { file, what: 'probing', signal },
  );
  const json = JSON.parse(stdout.toString('utf8')) as { streams?: FfStream[]; format?: { duration?: string; start_time?: string; format_name?: string } };
  const streams = json.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!v) {
    const what = streams.length ? `only ${[...new Set(streams.map((s) => s.codec_type))].join('/')} streams` : 'no streams';
    throw new VidkompyError('NO_VIDEO_STREAM', `${file}: has no video stream (${what}); give a file with video`, file);
  }
  const a = streams.find((s) => s.codec_type === 'audio');
  const image = /image2|_pipe|png|mjpeg/.test(json.format?.format_name ?? '') && (Number(v.nb_read_packets) || 0) <= 1;
  let frameCount = Number(v.nb_read_packets ?? v.nb_frames ?? 0) || 0;
  if (frameCount === 0) {
    throw new VidkompyError('NO_FRAMES', `${file}: the video stream has no frames; re-export the video`, file);
  }
  const shown = shownOf(v, image);
  shownBy.remember({ file: path.resolve(file), size: st.size, mtimeMs: st.mtimeMs }, shown);
  const nominalFps = rate(v.r_frame_rate);
  const duration = Number(v.duration ?? json.format?.duration ?? 0) || 0;
  let fps = rate(v.avg_frame_rate);
  let fpsRational = v.avg_frame_rate && fps > 0 ? v.avg_frame_rate : v.r_frame_rate ?? '25/1';
  if (!(fps > 0)) fps = nominalFps || (duration > 0 ? frameCount / duration : 25);
  if (image) {
    frameCount = 1;
    fps = 1;
    fpsRational = '1/1';
  }
  const vfr = !image && nominalFps > 0 && Math.abs(nominalFps - fps) / nominalFps > 0.01;
  return {
    file,
    width: shown.width,
    height: shown.height,
    codec: v.codec_name ?? 'unknown',
    pixFmt: v.pix_fmt ?? 'unknown',
    fps,
    fpsRational,
    nominalFps: image ? 1 : nominalFps,
    frameCount,
    indexedFrames: image ? undefined : Number(v.nb_frames) || undefined,
    duration: image ? 0 : duration,
    lead: image ? 0 : Math.max(0, (Number(v.start_time) || 0) - (Number(json.format?.start_time ?? v.start_time) || 0)),
    rotation: shown.rotation,
    sar: shown.sar,
    interlaced: shown.interlaced,
    vfr,
    audio: a ? { codec: a.codec_name ?? 'unknown', sampleRate: Number(a.sample_rate) || 0, channels: a.channels ?? 0 } : null,
  };
}
