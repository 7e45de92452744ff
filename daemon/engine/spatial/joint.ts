import type { Rect } from '../../core/geometry';
import { lastAtMost } from '../../core/sorted';
import { requireFramesAt } from '../../media/decode';
import type { ProbeInfo } from '../../media/probe';
import type { AlignContext, Located, Pass } from '../context';
import { timeOf, type FeatureSeq } from '../descriptors/types';
import { ncc, resizeRegion, toGray } from '../image';
import type { TemporalResult } from '../temporal/solve';
import { contentOf, fixedScale } from './locate';
import { refine, type Placement, type RefinePair } from './search';

/**
 * A check that a frame fetched by seeking is the frame the sequential decode saw at that time:
 * reduced the same way, it must match the stored analysis features of its index at least as well
 * as those of its neighbours.
 */
function checker(seq: FeatureSeq, info: ProbeInfo, rect: Rect): (time: number, frame: Uint8Array) => boolean {
  if (seq.w === 0) return () => true;
  const index = new Map<number, number>();
  for (let i = 0; i < seq.n; i++) index.set(timeOf(seq, info, i), i);
  const dim = seq.w * seq.h;
  const feat = (i: number) => seq.data.subarray(i * dim, (i + 1) * dim);
  return (time, frame) => {
    const i = index.get(time);
    if (i === undefined) return true;
    const small = resizeRegion(toGray(frame, info.width, info.height), rect, seq.w, seq.h).data;
    const own = ncc(small, feat(i));
    const next = Math.max(i > 0 ? ncc(small, feat(i - 1)) : -1, i + 1 < seq.n ? ncc(small, feat(i + 1)) : -1);
    return own >= 0.9 && own + 0.002 >= next;
  };
}

/**
 * Spatial refinement on frames matched in time, searching time and space together. In a camera pan
 * a placement a few pixels off looks like a match a frame or two off: the two errors confirm each
 * other and only a joint search breaks the tie. Each picked fg frame is paired with the bg frames
 * around its match, up to `reach` fg frames' worth either side; `shifts` says, per pick, how far
 * the best bg frame was from the map's.
 */
export async function jointRefine(
  ctx: AlignContext,
  placement: Placement,
  pass: Pass,
  tm: Pick<TemporalResult, 'bgFrameForFg' | 'confidence'>,
  rate: number,
  reach: number,
): Promise<{ placement: Placement; shifts: number[]; pairs: RefinePair[]; picks: number[] }> {
  const { o } = ctx;
  const { bg, fg, content } = ctx.loc;
  const fgF = pass.fgF.seq;
  const bgF = pass.bgF.seq;
  const map = tm.bgFrameForFg;
  const D = Math.max(reach, Math.ceil(reach * rate));
  const picks = pickPairs(tm.confidence, 3, seekCost(ctx.loc, (i) => timeOf(bgF, bg, Math.max(0, map[i] - D)), (i) => timeOf(fgF, fg, i)));
  const bgOk = checker(bgF, bg, pass.bgRect);
  const fgOk = checker(fgF, fg, pass.fgRect);
  const read = remembered(ctx.seen);
  // All picks' frames in one request per video: picks a few seconds apart (a short clip's) are read
  // by one decoder instead of one each, far-apart ones still by seeks of their own, all at once.
  const spans = picks.map((i) => {
    const first = Math.max(0, map[i] - D);
    const last = Math.min(bgF.n - 1, map[i] + D);
    return { first, times: Array.from({ length: last - first + 1 }, (_, k) => timeOf(bgF, bg, first + k)) };
  });
  const [bgAll, fgAll] = await Promise.all([
    // Both sides decoded alike (without deblocking, like the analysis frames they are checked against).
    read(bg, spans.flatMap((s) => s.times), { signal: o.signal, verify: bgOk, analysis: true }),
    read(fg, picks.map((i) => timeOf(fgF, fg, i)), { signal: o.signal, verify: fgOk, analysis: true }),
  ]);
  let at = 0;
  const shots = spans.map((s, k) => {
    const bgFrames = bgAll.slice(at, (at += s.times.length));
    const pair: RefinePair = { bg: bgFrames.map((f) => toGray(f, bg.width, bg.height)), fg: contentOf(toGray(fgAll[k], fg.width, fg.height), content) };
    return { pair, centre: map[picks[k]] - s.first };
  });
  read.keep();
  const pairs = shots.map((s) => s.pair);
  const centres = shots.map((s) => s.centre);
  // The first pass starts from a placement found on one roughly-timed pair: allow more scale error.
  const refined = refine(pairs, placement, { from: 0.5, scaleUncertainty: reach > 2 ? 0.03 : 0.01, fixedScale: fixedScale(o), foreign: pass.foreign });
  return { placement: refined, shifts: refined.picks.map((c, k) => c - centres[k]), pairs, picks: refined.picks };
}

/** Most bytes of full-size frames kept for the next refinement: a wide search's hundreds of frames are not kept. */
const SEEN_BYTES = 256 << 20;

/**
 * requireFramesAt, answered from the frames the previous refinement read (`seen`) where it can: the
 * same moment decodes to the same frame, and one already checked needs no second check. A second
 * refinement on another placement or a later pass usually reads the same stretches of bg (picks
 * start at keyframes): on the flat bench pair three seeks of 17 full-size frames each. `keep()`
 * then makes this refinement's frames the ones remembered, if they fit SEEN_BYTES.
 */
function remembered(seen: Map<string, Uint8Array> | undefined) {
  const now = new Map<string, Uint8Array>();
  const key = (v: ProbeInfo, t: number) => `${v.file}\0${t}`;
  const read = async (v: ProbeInfo, times: number[], opts: Parameters<typeof requireFramesAt>[2]): Promise<Uint8Array[]> => {
    const missing = times.filter((t) => !seen?.has(key(v, t)));
    const got = missing.length ? await requireFramesAt(v, missing, opts) : [];
    missing.forEach((t, k) => now.set(key(v, t), got[k]));
    return times.map((t) => {
      const f = now.get(key(v, t)) ?? seen!.get(key(v, t))!;
      now.set(key(v, t), f);
      return f;
    });
  };
  const keep = () => {
    if (!seen) return;
    seen.clear();
    let bytes = 0;
    for (const f of now.values()) bytes += f.byteLength;
    if (bytes <= SEEN_BYTES) for (const [k, f] of now) seen.set(k, f);
  };
  return Object.assign(read, { keep });
}

/** Confidence a pick may give up to be read more cheaply: well inside the spread between frames that match and frames that do not. */
const PICK_SLACK = 0.005;

/**
 * The most confident frame in each of `k` equal stretches of fg: spread out, and well matched. With
 * `cost` (what reading a pick's frames by seeking decodes before them: seekCost), the cheapest of
 * those within PICK_SLACK of the most confident.
 */
export function pickPairs(conf: Float32Array, k: number, cost?: (i: number) => number): number[] {
  const out: number[] = [];
  const n = conf.length;
  for (let s = 0; s < Math.min(k, n); s++) {
    const a = Math.floor((s * n) / k);
    const b = Math.max(a + 1, Math.floor(((s + 1) * n) / k));
    let best = a;
    for (let i = a; i < b; i++) if (conf[i] > conf[best]) best = i;
    if (cost) {
      let cheap = best;
      let least = cost(best);
      for (let i = a; i < b; i++) {
        if (conf[i] < conf[best] - PICK_SLACK) continue;
        const c = cost(i);
        if (c < least) [cheap, least] = [i, c];
      }
      best = cheap;
    }
    out.push(best);
  }
  return out;
}

/**
 * What reading pick i's frames by seeking decodes before them, in pixels: from the last keyframe
 * at or before bg's first frame (`bgTime(i)`) and fg's (`fgTime(i)`), where that video's keyframes
 * are known (undefined: no preference).
 */
export function seekCost(loc: Pick<Located, 'bg' | 'fg' | 'keys'>, bgTime: (i: number) => number, fgTime: (i: number) => number): ((i: number) => number) | undefined {
  const { bg, fg, keys } = loc;
  if (!keys?.bg?.length && !keys?.fg?.length) return undefined;
  const rate = (v: ProbeInfo) => v.width * v.height * v.fps;
  return (i) => lead(keys.bg, bgTime(i)) * rate(bg) + lead(keys.fg, fgTime(i)) * rate(fg);
}

/** Seconds from the last of `keys` (ascending) at or before t; 0 where they are unknown. */
function lead(keys: number[] | undefined, t: number): number {
  if (!keys?.length) return 0;
  return keys[0] > t ? t : t - keys[lastAtMost(keys, t)];
}
