import type { ProbeInfo } from './probe';
import { readFrames } from './ffmpeg';
import { VidkompyError } from '../engine/errors';

/** Frame-level reads built on the streaming decoder. */

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Sampled {
  frames: Uint8Array[];
  /** Presentation time of each sample (seconds from the video's start). */
  times: number[];
  width: number;
  height: number;
}

/**
 * Up to `count` grey frames spread over the video at `width`×`height`. Long videos are sampled from
 * keyframes only (decoding one frame per sample instead of the whole stream); short ones are decoded
 * fully, which is cheaper than one seek per sample.
 */
export async function sampleFrames(
  info: ProbeInfo,
  count: number,
  width: number,
  height: number,
  signal?: AbortSignal,
): Promise<Sampled> {
  const scale = width === info.width && height === info.height ? '' : `,format=gray,scale=${width}:${height}:flags=area`;
  const collect = async (inputArgs: string[], step: number) => {
    const frames: Uint8Array[] = [];
    const times: number[] = [];
    const filter = `select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,${step.toFixed(4)})${scale}`;
    const what = `sampling frames of ${info.file}`;
    for await (const f of readFrames({ file: info.file, inputArgs, filter, pixFmt: 'gray', width, height, maxFrames: count, onTime: (t) => times.push(t), signal, what })) {
      frames.push(f);
    }
    return { frames, times: times.length === frames.length ? times : frames.map((_, i) => i * step) };
  };
  const span = Math.max(info.duration, info.frameCount / info.fps);
  const step = info.frameCount <= 1 ? 0 : (span * 0.98) / count;
  let got = { frames: [] as Uint8Array[], times: [] as number[] };
  if (info.frameCount > 600) got = await collect(['-skip_frame', 'nokey'], step);
  if (got.frames.length < Math.min(count, 3)) got = await collect([], step);
  return { ...got, width, height };
}

/**
 * The first frame at or after `time` (seconds from the start), grey, full size. Accurate seeking:
 * ffmpeg decodes from the keyframe before and drops frames until `time`.
 */
export async function frameAtTime(info: ProbeInfo, time: number, signal?: AbortSignal): Promise<Uint8Array> {
  const opts = { file: info.file, pixFmt: 'gray' as const, width: info.width, height: info.height, maxFrames: 1, signal };
  const t = Math.max(0, time - 0.25 / info.fps);
  for await (const f of readFrames({ ...opts, inputArgs: t > 0 ? ['-ss', t.toFixed(6)] : [], what: `reading the frame at ${time.toFixed(3)} s` })) {
    return f;
  }
  // Past the last decodable frame (truncated file): one from the last second.
  for await (const f of readFrames({ ...opts, inputArgs: ['-sseof', '-1'], maxFrames: undefined, what: 'reading the last frame' })) {
    return f;
  }
  throw new VidkompyError('NO_FRAMES', `${info.file}: no frame could be decoded near ${time.toFixed(3)} s; re-export the video`, info.file);
}
