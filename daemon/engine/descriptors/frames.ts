import os from 'node:os';
import { decodeMethod, readFrames } from '../../media/ffmpeg';
import { frameTimes, keyframeTimes, LEAD_SECONDS, readFramesFrom } from '../../media/seek';
import { threadBudget } from '../../media/tools';
import { note } from '../../core/notes';
import type { FeatureSeq } from './types';
import type { Rect } from '../../core/geometry';

/**
 * Analysis size for a region: long side ≤ `maxSide`, and all pixels of both videos within a budget
 * (each pixel costs a byte here, four more as a float descriptor and at most one more in the coarse
 * level: 64 Mi pixels ≈ 320–400 MB), so memory stays bounded however long the videos are — longer
 * videos are compared at lower resolution.
 */
export function analysisSize(region: Rect, totalFrames: number, maxSide = 96, budgetPixels = 64 << 20): { w: number; h: number } {
  let side = maxSide;
  for (;;) {
    const k = side / Math.max(region.width, region.height);
    const w = Math.max(4, Math.round(region.width * k));
    const h = Math.max(4, Math.round(region.height * k));
    if (w * h * totalFrames <= budgetPixels || side <= 16) return { w, h };
    side = Math.floor(side * 0.8);
  }
}

/** Every frame of one region, grey, at w×h: what the pixel descriptors and the seek checks compare. */
export async function extractFeatures(
  file: string,
  region: Rect,
  w: number,
  h: number,
  expectedFrames: number,
  onFrame?: (n: number) => void,
  signal?: AbortSignal,
  split?: Promise<unknown>,
): Promise<FeatureSeq> {
  const dim = w * h;
  let data = new Uint8Array(dim * Math.max(1, expectedFrames + 8));
  const times: number[] = [];
  let n = 0;
  // exact=1: on 4:2:0 input ffmpeg's crop would otherwise round odd offsets down to the chroma grid
  // and shift the region by a pixel (luma is cut exactly; chroma is dropped anyway). Grey last:
  // converting a full-size frame to grey costs more than the crop and scale together.
  const filter = `crop=${region.width}:${region.height}:${region.x}:${region.y}:exact=1,scale=${w}:${h}:flags=area,format=gray`;
  const stream = { file, filter, pixFmt: 'gray' as const, width: w, height: h, analysis: true, what: 'decoding for alignment' };
  const stop = new AbortController();
  const both = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  // Where the first decoder stops, once a second one has taken the rest (frame `cut` on).
  let cut = Infinity;
  // Frames i on, from one decoder, each at its index in the full decode; returns how many it gave.
  const store = async (i: number, frames: (onTime: (t: number) => void) => AsyncIterable<Buffer>): Promise<number> => {
    const first = i;
    let t = NaN;
    for await (const f of frames((v) => (t = v))) {
      if ((i + 1) * dim > data.length) {
        const grown = new Uint8Array(Math.max(data.length * 2, (i + 1) * dim));
        grown.set(data);
        data = grown;
      }
      data.set(f, i * dim);
      times[i++] = t;
      onFrame?.(++n);
      if (first === 0 && i >= cut) break;
    }
    return i - first;
  };
  const plan = split ? splitPlan(file, expectedFrames, signal).catch(() => undefined) : undefined;
  let headDone = false;
  const head = store(0, (onTime) => readFrames({ ...stream, onTime, signal: both })).finally(() => (headDone = true));
  // The rest, from a second decoder, once `split` says the cores have room for it.
  const tail = (async () => {
    if (!plan) return 0;
    await split?.catch(() => undefined);
    const p = await plan;
    if (!p || headDone || both.aborted) return 0;
    const from = cutAfter(p, n);
    if (from === undefined) return 0;
    cut = from;
    return store(from, (onTime) => readFramesFrom({ ...stream, onTime, signal: both, from, total: p.times.length, fps: p.fps, fullTimes: true }));
  })();
  const [a, b] = await Promise.all(
    [head, tail].map((q) =>
      q.catch((e: unknown) => {
        stop.abort();
        throw e;
      }),
    ),
  );
  // The first decoder ended before the cut (fewer frames than the packets said): its frames are the
  // whole decode, and the second's, if any, lie past its end.
  const count = cut === Infinity || a < cut ? a : cut + b;
  if (cut !== Infinity && a < cut) note(`${file}: decoding ended after ${a} frames, before frame ${cut} where a second decoder took over; its frames are left out`);
  // Every frame below `count` has its time (NaN where ffmpeg gave none), whichever decoder stored it.
  return { data: data.subarray(0, count * dim), n: count, w, h, times: Float64Array.from(times.slice(0, count)) };
}

/**
 * Shortest stretch of video worth a decoder of its own: the second part's seek decodes about a
 * second before its first frame, and each ffmpeg costs a little to start.
 */
const MIN_PART_SECONDS = 15;

/** What a decode split in two needs to know of the video: every frame's time, the keyframes', the frame rate. */
interface SplitPlan {
  times: Float64Array;
  keys: Float64Array;
  fps: number;
}

/**
 * Whether an analysis decode may be split in two (a long bg decoded alone otherwise leaves a core
 * idle: 2 cores, one thread per analysis decode): not on one core or a one-thread budget, with a
 * hardware decoder, or where the packets' times do not identify every frame (a seek could not be
 * trusted).
 */
async function splitPlan(file: string, total: number, signal?: AbortSignal): Promise<SplitPlan | undefined> {
  if ((threadBudget() || os.availableParallelism()) < 2) return undefined;
  if ((await decodeMethod()).args.length) return undefined;
  const [times, keys] = await Promise.all([frameTimes(file, signal), keyframeTimes(file, signal)]);
  if (!times || !keys || times.length !== total || total < 2) return undefined;
  const span = times[total - 1] - times[0];
  return span > 0 ? { times, keys, fps: (total - 1) / span } : undefined;
}

/**
 * Where the second decoder starts, the first having `done` frames: halfway through the rest, moved
 * to a second after the nearest keyframe (the seek then decodes about a second it does not keep);
 * undefined where the rest is too short to be worth it.
 */
function cutAfter(p: SplitPlan, done: number): number | undefined {
  const { times, keys } = p;
  const total = times.length;
  const from = times[Math.min(total - 1, done)];
  const end = times[total - 1];
  if (!(end - from >= 2 * MIN_PART_SECONDS)) return undefined;
  const middle = (from + end) / 2;
  let key: number | undefined;
  for (const k of keys) if (key === undefined || Math.abs(k - middle) < Math.abs(key - middle)) key = k;
  const at = key === undefined ? -1 : times.findIndex((t) => t >= key + LEAD_SECONDS);
  const quarter = (end - from) / 4;
  if (at > done && Math.abs(times[at] - middle) <= quarter) return at;
  return times.findIndex((t) => t >= middle);
}
