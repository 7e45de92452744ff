import type { ProbeInfo } from './probe';
import { readFrames } from './ffmpeg';
import { VidkompyError } from '../core/errors';

/** Frame-level reads built on the streaming decoder. */

export interface Sampled {
  frames: Uint8Array[];
  /** Presentation time of each sample (seconds from the video's start). */
  times: number[];
  width: number;
  height: number;
  /**
   * The samples were taken with `-skip_frame nokey`, so they are keyframes: a seek to one decodes
   * from there. (A decoder that ignores skip_frame passes every frame: the choices made on this are
   * then only less cheap, never wrong.)
   */
  keyframes: boolean;
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
  flip = false,
): Promise<Sampled> {
  const scaled = width !== info.width || height !== info.height;
  // What follows the sampling select: the flip, then the scale to the samples' size.
  const after = `${flip ? ',hflip' : ''}${scaled ? `,scale=${width}:${height}:flags=area,format=gray` : ''}`;
  const collect = async (inputArgs: string[], step: number) => {
    const frames: Uint8Array[] = [];
    const times: number[] = [];
    const filter = `select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,${step.toFixed(4)})${after}`;
    const what = `sampling frames of ${info.file}`;
    for await (const f of readFrames({ file: info.file, inputArgs, filter, pixFmt: 'gray', width, height, maxFrames: count, onTime: (t) => times.push(t), signal, analysis: scaled, what })) {
      frames.push(f);
    }
    return { frames, times: times.length === frames.length ? times : frames.map((_, i) => i * step) };
  };
  const span = Math.max(info.duration, info.frameCount / info.fps);
  const step = info.frameCount <= 1 ? 0 : (span * 0.98) / count;
  let got = { frames: [] as Uint8Array[], times: [] as number[] };
  if (info.frameCount > 600) got = await collect(['-skip_frame', 'nokey'], step);
  // Keyframes can be 10 s apart (x264's default): too sparse to meet fg's content, then decode all.
  if (got.frames.length < Math.min(count / 2, Math.max(3, info.frameCount / 2))) return { ...(await collect([], step)), width, height, keyframes: false };
  return { ...got, width, height, keyframes: true };
}

/**
 * Grey full-size frames at the given presentation times (seconds from the video's start, as the
 * sequential decode reports them), in the order asked. Seeking is not exact in every container:
 * MPEG-PS lands frames late, and some H.264 streams decode garbage after a seek to a keyframe that
 * is not a clean start. So frames are identified by their time, not by their position after the
 * seek, and checked with `verify` (e.g. against the analysis features) when given; whatever a seek
 * does not deliver is read by decoding from the very start, which is always right.
 */
export async function framesAt(
  info: ProbeInfo,
  times: number[],
  opts: { signal?: AbortSignal; verify?: (time: number, frame: Uint8Array) => boolean; analysis?: boolean } = {},
): Promise<(Uint8Array | undefined)[]> {
  if (!times.length) return [];
  const found = new Map<number, Uint8Array>();
  const want = [...new Set(times)].sort((a, b) => a - b);
  // Times far apart are reached by seeks of their own, a few at once: one read across them would
  // decode all between.
  const stretches: number[][] = [];
  let first = 0;
  for (let k = 1; k <= want.length; k++) {
    if (k < want.length && want[k] - want[k - 1] <= APART_SECONDS) continue;
    stretches.push(want.slice(first, k));
    first = k;
  }
  // After a failure no new read starts, and every running one is waited for: none is left running
  // once this returns.
  let next = 0;
  let failure: { reason: unknown } | undefined;
  const reader = async () => {
    while (!failure && next < stretches.length) {
      const s = stretches[next++];
      await readNear(info, s, found, opts).catch((reason: unknown) => (failure ??= { reason }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(READS_AT_ONCE, stretches.length) }, reader));
  if (failure) throw failure.reason;
  return times.map((t) => found.get(t));
}

/** Seeks run at once by one framesAt: a refinement's three picks together, not a dozen decoders on two cores. */
const READS_AT_ONCE = 3;

/** Wanted times further apart than this are read by separate seeks (a keyframe interval is rarely longer). */
const APART_SECONDS = 4;

/** One stretch of wanted times (sorted): seek before them, further back while frames are missing, from the start at last. */
async function readNear(
  info: ProbeInfo,
  want: number[],
  found: Map<number, Uint8Array>,
  opts: { signal?: AbortSignal; verify?: (time: number, frame: Uint8Array) => boolean; analysis?: boolean },
): Promise<void> {
  const { signal, verify, analysis } = opts;
  const tol = 0.4 / info.fps;
  // Checked reads first decode from the keyframe at or before the first wanted frame, the frames
  // before the seek point passed on too (-noaccurate_seek): a lead of any length decodes a whole
  // keyframe interval more where the wanted frame is a keyframe, and picked frames often are (the
  // sharpest, they match best). A frame the check rejects (a stream whose keyframes are not clean
  // starts) or a seek that lands late is read again from further back.
  for (const back of verify ? [-tol / 2, 1, 6, Infinity] : [1, 6, Infinity]) {
    const missing = want.filter((t) => !found.has(t));
    if (!missing.length) break;
    const start = Math.max(0, missing[0] - back);
    const last = missing[missing.length - 1];
    const offset = start > 0 ? Number(start.toFixed(6)) : 0;
    let t = NaN;
    const inputArgs = start > 0 ? [...(back < 0 ? ['-noaccurate_seek'] : []), '-ss', start.toFixed(6)] : [];
    // Only the wanted frames leave ffmpeg: the lead-in is decoded but never converted or piped (a
    // full-size frame is megabytes, and the lead-in was most of a short read's cost). The read ends
    // a frame after the last wanted one (trim's end stops the input; -t would count from the
    // keyframe a loose seek lands on): stopping the pipe there instead leaves ffmpeg's decoder
    // threads running ahead until the kill lands, a second of 1080p on a busy machine.
    const filter = `trim=end=${(last + 1 / info.fps - offset).toFixed(6)},${onlyNear(missing, offset, tol, 1.5 / info.fps)}`;
    for await (const f of readFrames({ file: info.file, pixFmt: 'gray', width: info.width, height: info.height, inputArgs, filter, onTime: (v) => (t = v), signal, analysis, what: `reading frames near ${missing[0].toFixed(3)} s` })) {
      // Times after a seek count from the seek point (negative before it, where not dropped).
      const at = t + offset;
      for (const w of missing) {
        if (Math.abs(w - at) <= tol && !found.has(w) && (start === 0 || !verify || verify(w, f))) found.set(w, f);
      }
      // Nothing after the last wanted frame passes the filter: stop at it rather than wait for the end.
      if (at >= last - tol) break;
    }
    if (start === 0) break;
  }
}

/** Ranges past which the select expression is one range from the first wanted time to the last: an expression grows with them. */
const MAX_RANGES = 16;

/**
 * A select filter passing the frames within `tol` of the wanted times (sorted, in seconds from the
 * video's start; `offset`: the seek point, which the filter's times count from), runs of
 * times closer than `gap` merged into one range.
 */
export function onlyNear(times: number[], offset: number, tol: number, gap: number): string {
  const ranges: [number, number][] = [];
  for (const t of times) {
    const r = ranges[ranges.length - 1];
    if (r && t - r[1] <= gap) r[1] = t;
    else ranges.push([t, t]);
  }
  const f = (v: number) => (v - offset).toFixed(6);
  if (ranges.length > MAX_RANGES) ranges.splice(0, ranges.length, [times[0], times[times.length - 1]]);
  return `select=${ranges.map(([a, b]) => `between(t\\,${f(a - tol)}\\,${f(b + tol)})`).join('+')}`;
}

/** Like framesAt, but every frame must be there. */
export async function requireFramesAt(info: ProbeInfo, times: number[], opts: Parameters<typeof framesAt>[2] = {}): Promise<Uint8Array[]> {
  const got = await framesAt(info, times, opts);
  return got.map((f, i) => {
    if (!f) throw new VidkompyError('NO_FRAMES', `${info.file}: no frame at ${times[i].toFixed(3)} s could be decoded; re-export the video`, info.file);
    return f;
  });
}
