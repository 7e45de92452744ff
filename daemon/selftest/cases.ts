import type { Rect } from '../core/geometry';
import { round } from '../core/numbers';
import type { TrustProblem } from '../../protocol/project';
import type { DeriveSpec } from '../media/derive';
import { ffmpegPath } from '../media/ffmpeg';

/**
 * The selftest corpus, derived from one source clip (an excerpt of the user's footage): right pairs
 * of every kind vidkompy promises to handle, each with the truth it was made with, and wrong pairs
 * it must refuse. Pure: what to make, not the making (run.ts derives and aligns them).
 */

/** What the corpus needs to know of its source (the excerpt, as probed). */
export interface Source {
  width: number;
  height: number;
  fps: number;
  frameCount: number;
}

/** One side of a pair: the source itself, a clip derived from it (truth included), or a pattern. */
export type Clip = 'source' | { derive: DeriveSpec } | { pattern: Pattern };

export interface SelftestCase {
  /** Short and stable: what --json and the tests refer to. */
  name: string;
  /** What the pair is, in words. */
  what: string;
  /** A right pair must be accepted (and be accurate); a wrong one refused. */
  expect: 'accept' | 'refuse';
  /** A wrong pair's problem, as the trust figure should name it (a stopped alignment counts as 'weak'). */
  refuseAs?: TrustProblem;
  fg: Clip;
  /** Default: the source. */
  bg?: Clip;
}

/** A moving pattern unrelated to any footage: ffmpeg's Game of Life, in colour, at fg's size. */
export interface Pattern {
  width: number;
  height: number;
  fps: number;
  seconds: number;
}

/**
 * A region of the source for fg to show at `scale` (bg pixels per fg pixel): `frac` of the source's
 * width, at (fx, fy) of the room left around it. fg's size is a multiple of 8 (x264, and whole
 * pixels at 0.75 and 1.25), so the region is exactly fg's size times the scale.
 */
export function region(src: Source, frac: number, scale: number, fx: number, fy: number): { crop: Rect; size: { width: number; height: number } } {
  const eight = (v: number) => 8 * Math.max(2, Math.round(v / 8));
  let width = eight((frac * src.width) / scale);
  let height = eight((width * src.height) / src.width);
  // A region may not leave the source (a tall or a tiny source): shrink fg until it fits.
  while (width * scale > src.width || height * scale > src.height) {
    width -= 8;
    height = eight((width * src.height) / src.width);
  }
  const w = width * scale;
  const h = height * scale;
  return { crop: { x: Math.round((src.width - w) * fx), y: Math.round((src.height - h) * fy), width: w, height: h }, size: { width, height } };
}

/** fg's frame rate for the rate-change case: 25 → 30 and 30 → 24, as between PAL, film and NTSC. */
export function otherRate(fps: number): number {
  return fps < 27 ? 30 : 24;
}

/** The corpus for one source. Times are shares of its length, so any excerpt length works. */
export function corpus(src: Source): SelftestCase[] {
  const d = src.frameCount / src.fps;
  // Starts on whole bg frames: a fg at bg's rate then shows bg's frames at their own times, and the
  // truth's times are the frames' (between frames only where fg's rate or speed differs).
  const frameTime = (share: number) => Math.round(share * src.frameCount) / src.fps;
  const span = (from: number, share: number) => ({ offset: frameTime(from), frames: Math.max(2, Math.floor(share * d * src.fps)) });
  const crop = region(src, 0.55, 1, 0.3, 0.4);
  const right = (name: string, what: string, spec: DeriveSpec): SelftestCase => ({ name, what, expect: 'accept', fg: { derive: spec } });
  const wrong = (name: string, what: string, refuseAs: TrustProblem, fg: Clip, bg?: Clip): SelftestCase => ({
    name,
    what: `wrong pair: ${what}`,
    expect: 'refuse',
    refuseAs,
    fg,
    ...(bg ? { bg } : {}),
  });
  const rate = otherRate(src.fps);
  return [
    right('crop', 'a crop at scale 1', { ...crop, ...span(0.1, 0.75) }),
    right('scale-0.5', 'fg at twice its region’s resolution (scale 0.5)', { ...region(src, 0.42, 0.5, 0.6, 0.3), ...span(0.1, 0.75) }),
    right('scale-0.75', 'fg at 4/3 of its region’s resolution (scale 0.75)', { ...region(src, 0.5, 0.75, 0.2, 0.6), ...span(0.1, 0.75) }),
    right('scale-1.25', 'a lower-resolution fg shown at 1.25×', { ...region(src, 0.6, 1.25, 0.5, 0.5), ...span(0.1, 0.75) }),
    right('scale-2', 'a lower-resolution fg shown at 2×', { ...region(src, 0.6, 2, 0.35, 0.65), ...span(0.1, 0.75) }),
    right('fps', `fg at ${rate} fps`, { ...region(src, 0.55, 1, 0.7, 0.2), fps: rate, offset: frameTime(0.1), frames: Math.floor(0.75 * d * rate) }),
    right('offset', 'fg starts 40% into bg', { ...region(src, 0.5, 1, 0.1, 0.8), ...span(0.4, 0.55) }),
    right('drift', 'fg runs 2% fast', { ...region(src, 0.55, 1, 0.45, 0.35), speed: 1.02, ...span(0.1, 0.75) }),
    right('cut', 'fg skips a fifth of bg (a forward edit)', {
      ...region(src, 0.55, 1, 0.25, 0.55),
      segments: [
        { start: frameTime(0.05), end: frameTime(0.4) },
        { start: frameTime(0.6), end: frameTime(0.95) },
      ],
    }),
    // A freeze frame: an eighth of the excerpt's length (1 s of 8) held at 40% of it. The crop's
    // region: this case is about time, not about finding another part of the picture.
    right('freeze', 'fg holds one moment a while (a freeze frame)', {
      ...crop,
      holds: [{ at: frameTime(0.4), seconds: round(0.125 * d, 3) }],
      ...span(0.1, 0.725),
    }),
    // Slow motion: 15% of bg (1.2 s of 8) at half speed, with fg at another rate; fg's usual speed on both sides of it.
    right('slow', `fg in slow motion for a while (half speed), at ${rate} fps`, {
      ...region(src, 0.55, 1, 0.35, 0.25),
      fps: rate,
      offset: frameTime(0.1),
      frames: Math.floor(0.8 * d * rate),
      ramps: [{ start: frameTime(0.4), end: frameTime(0.55), speed: 0.5 }],
    }),
    right('graded', 'colour-graded (contrast, brightness, saturation, gamma)', {
      ...region(src, 0.55, 1, 0.55, 0.45),
      grade: { contrast: 1.25, brightness: 0.05, saturation: 1.4, gamma: 1.15 },
      ...span(0.1, 0.75),
    }),
    right('overlay', 'a burnt-in timecode box and logo', { ...region(src, 0.6, 1, 0.4, 0.5), graphics: true, ...span(0.1, 0.75) }),
    wrong('rotated', 'a crop turned upside down and mirrored', 'weak', { derive: { ...crop, flip: true, ...span(0.1, 0.75) } }),
    wrong('unrelated', 'a generated pattern, not from bg', 'weak', { pattern: { ...crop.size, fps: src.fps, seconds: round(0.75 * d, 3) } }),
    wrong('swapped', 'bg and fg the wrong way round (bg is a crop of fg)', 'swapped', 'source', { derive: { ...crop } }),
    wrong('bg-short', 'bg holds only the first 40% of what fg shows', 'bg-short', { derive: { ...crop } }, { derive: { frames: Math.floor(0.4 * src.frameCount) } }),
  ];
}

/** Every case's name, in the corpus's order (the same for any source). */
export const CASE_NAMES: readonly string[] = corpus({ width: 640, height: 360, fps: 25, frameCount: 200 }).map((c) => c.name);

/** ffmpeg's arguments for an unrelated fg: a colourful Game of Life, moving all the time. */
export function patternArgs(p: Pattern, out: string): string[] {
  const life = `life=s=${p.width}x${p.height}:rate=${p.fps}:ratio=0.3:seed=7:mold=8:life_color=#e8c030:death_color=#202060:mold_color=#40a050`;
  return ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', life, '-t', String(p.seconds), '-vf', 'format=yuv420p', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', ffmpegPath(out)];
}

/** How far into the footage the default excerpt starts at most, seconds. */
export const DEFAULT_START_MAX = 30;

/** Where the excerpt of the user's footage comes from, and its size: the corpus's source. */
export interface ExcerptPlan {
  start: number;
  seconds: number;
  width: number;
  height: number;
  /** The source's rate as ffprobe states it ("30000/1001"): the excerpt is constant-rate at it. */
  fps: string;
}

/**
 * `seconds` of `info` from `start` (default: the middle of the clip, where intros and fades are not,
 * but at most DEFAULT_START_MAX in: everything before the start is decoded, see excerptArgs), scaled
 * so its longer side is at most `size` pixels (even sides, for x264).
 */
export function excerptPlan(
  info: { width: number; height: number; duration: number; fpsRational: string },
  o: { seconds: number; start?: number; size: number },
): ExcerptPlan {
  const seconds = Math.min(o.seconds, info.duration);
  const start = Math.max(0, Math.min(o.start ?? Math.min(DEFAULT_START_MAX, (info.duration - seconds) / 2), info.duration - seconds));
  const k = Math.min(1, o.size / Math.max(info.width, info.height));
  const even = (v: number) => 2 * Math.max(1, Math.round((v * k) / 2));
  return { start: round(start, 3), seconds: round(seconds, 3), width: even(info.width), height: even(info.height), fps: info.fpsRational };
}

/**
 * ffmpeg's arguments for the excerpt: picture only, constant rate from time 0, square pixels,
 * near-lossless. The start is found by decoding up to it (-ss after -i), not by seeking: some H.264
 * streams decode garbage for seconds after a seek (4:4:4 cockatoo.mp4 does), which would make every
 * pair of the corpus a wrong one.
 */
export function excerptArgs(file: string, plan: ExcerptPlan, out: string, threads: string[] = []): string[] {
  // setpts: frame j at exactly j/fps from 0, whatever the source's timestamps were, as the truth assumes.
  const vf = `fps=${plan.fps},setpts=N/FRAME_RATE/TB,scale=${plan.width}:${plan.height}:flags=area,setsar=1,format=yuv420p`;
  return [
    '-nostdin', '-v', 'error', '-y', ...threads, '-i', ffmpegPath(file), '-ss', String(plan.start), '-t', String(plan.seconds),
    '-map', '0:v:0', '-an', '-sn', '-dn', '-vf', vf, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', ...threads, ffmpegPath(out),
  ];
}

