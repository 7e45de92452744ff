import { promises as fs } from 'node:fs';
import { note } from '../core/notes';
import { ffmpegPath, readFrames, runTool, type FrameStreamOptions } from './ffmpeg';

/**
 * Reading a video from its N-th frame on, as if the frames before had been decoded and dropped: what
 * one chunk of a render split across workers needs. Frame N means the N-th frame of a full decode
 * (every frame once, in order), the numbering the alignment uses. A seek is only trusted where the
 * frames can be told apart by time: every packet has a presentation time, there are as many as a
 * full decode yields, and the first frame after the seek comes at frame N's time. Anything else
 * (no times, a damaged stream, a container that seeks late) is decoded from the start, which is
 * always right.
 */

/** Decoding starts this long before the wanted frame, so a stream whose keyframe is not a clean start settles first. */
export const LEAD_SECONDS = 1;

/** A video's packets: every frame's time, sorted, and the keyframes' (seconds from the video's start). */
interface Scan {
  times: Float64Array;
  keys: Float64Array;
}

const scanCache = new Map<string, Promise<Scan | undefined>>();
const CACHE_FILES = 8;

/**
 * The presentation time of every frame, sorted (seconds from the video's start, as a full decode
 * reports them: the container's start time subtracted), read from the packets without decoding;
 * undefined when a packet has no time. Kept per file version for the life of the process.
 */
export async function frameTimes(file: string, signal?: AbortSignal): Promise<Float64Array | undefined> {
  return (await scanOf(file, signal))?.times;
}

/** The keyframes' times, sorted, from the same scan of the packets as frameTimes. */
export async function keyframeTimes(file: string, signal?: AbortSignal): Promise<Float64Array | undefined> {
  return (await scanOf(file, signal))?.keys;
}

async function scanOf(file: string, signal?: AbortSignal): Promise<Scan | undefined> {
  const st = await fs.stat(file);
  const key = `${file}\0${st.size}\0${st.mtimeMs}`;
  let p = scanCache.get(key);
  if (!p) {
    p = scanPackets(file, signal);
    scanCache.set(key, p);
    p.catch(() => scanCache.delete(key));
    if (scanCache.size > CACHE_FILES) scanCache.delete(scanCache.keys().next().value!);
  }
  return p;
}

async function scanPackets(file: string, signal?: AbortSignal): Promise<Scan | undefined> {
  const args = ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags:format=start_time', '-of', 'csv', ffmpegPath(file)];
  const { stdout } = await runTool('ffprobe', args, { file, what: 'reading frame times', signal });
  const times: number[] = [];
  const keys: number[] = [];
  let start = 0;
  for (const line of stdout.toString('utf8').split('\n')) {
    const [section, value, flags] = line.trim().split(',');
    if (section === 'packet') {
      const t = Number(value);
      if (!Number.isFinite(t)) return undefined; // "N/A": frames cannot be told apart by time
      times.push(t);
      if (flags?.startsWith('K')) keys.push(t);
    } else if (section === 'format') {
      start = Number(value) || 0;
    }
  }
  return { times: Float64Array.from(times, (t) => t - start).sort(), keys: Float64Array.from(keys, (t) => t - start).sort() };
}

/** Where to seek for frame `from`: the -ss point, and the time frame `from` must come at. */
export interface SeekPoint {
  seek: number;
  time: number;
}

/**
 * How to reach frame `from` of a video whose full decode yields `total` frames: undefined when it
 * is read from the start (near the start anyway, or the packets' times cannot identify frames).
 */
export async function seekPoint(file: string, from: number, total: number, signal?: AbortSignal, lead = LEAD_SECONDS): Promise<SeekPoint | undefined> {
  const times = await frameTimes(file, signal);
  if (!times || times.length !== total || from <= 0 || from >= total) return undefined;
  const time = times[from];
  const seek = time - lead;
  return seek > 0 ? { seek: Number(seek.toFixed(6)), time } : undefined;
}

export interface RangeReadOptions extends FrameStreamOptions {
  /** The first frame wanted, counted as a full decode counts them. */
  from: number;
  /** How many frames a full decode yields (the alignment's count): a seek is trusted only when the packets count the same. */
  total: number;
  /** Frames per second (average), for the time tolerance. */
  fps: number;
  /**
   * How far before the wanted frame to seek (default 1 s). 0 lands on the keyframe at or before it:
   * the preview's choice, where a jump must be quick and the frames' times are still checked.
   */
  leadSeconds?: number;
  /**
   * The frames' times to `onTime` as a full decode reports them (a seek's otherwise start at the
   * seek point and are not passed on): the stream's own clock is kept (-copyts -start_at_zero), so a
   * part of a decode split in two is that stretch of the full decode, times included.
   */
  fullTimes?: boolean;
}

/**
 * The frames of a full decode from frame `from` on; the consumer stops when it has enough (ffmpeg
 * is then killed). Seeks when the file allows it (see above), else decodes from the start, dropping
 * the frames before `from` inside ffmpeg (they never cross the pipe).
 */
export async function* readFramesFrom(o: RangeReadOptions): AsyncGenerator<Buffer> {
  const { from, total, fps, leadSeconds, fullTimes, ...stream } = o;
  if (from <= 0) {
    yield* readFrames(stream);
    return;
  }
  const chain = (first: string) => [first, stream.filter].filter(Boolean).join(',');
  const at = await seekPoint(o.file, from, total, o.signal, leadSeconds);
  if (at) {
    const tol = 0.4 / fps;
    let t = NaN;
    let first: number | undefined;
    // Frames before the wanted one are dropped by time in the filter graph, ahead of any scaling;
    // times there count from the seek point, unless the stream's clock is kept.
    const base = fullTimes ? 0 : at.seek;
    const gate = `select=gte(t\\,${(at.time - base - tol).toFixed(6)})`;
    const frames = readFrames({
      ...stream,
      inputArgs: [...(stream.inputArgs ?? []), '-ss', at.seek.toFixed(6), '-noaccurate_seek', ...(fullTimes ? ['-copyts', '-start_at_zero'] : [])],
      filter: chain(gate),
      onTime: (v) => (t = v + base),
      what: stream.what ?? `reading from frame ${from}`,
    });
    for await (const f of frames) {
      if (first === undefined) {
        first = t;
        if (!(Math.abs(t - at.time) <= tol)) break;
      }
      if (fullTimes) stream.onTime?.(t);
      yield f;
    }
    if (first !== undefined && Math.abs(first - at.time) <= tol) return;
    const got = first === undefined ? 'no frame' : `a frame at ${first.toFixed(3)} s`;
    note(`${o.file}: a seek to frame ${from} (${at.time.toFixed(3)} s) brought ${got}; decoding from the start instead`);
  }
  // n counts every decoded frame (passthrough), as the full decode numbers them.
  yield* readFrames({ ...stream, filter: chain(`select=gte(n\\,${from})`), what: stream.what ?? `reading from frame ${from}` });
}
