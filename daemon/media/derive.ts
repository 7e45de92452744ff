import { promises as fs } from 'node:fs';
import { ffmpegPath, openEncoder, readFrames } from './ffmpeg';
import { probe } from './probe';
import type { Rect } from '../core/geometry';
import { dropTemp, partialPath } from '../core/atomic';
import { VidkompyError } from '../core/errors';

/**
 * Makes a fg from a bg with a known transform, and returns the ground truth: which bg frame each fg
 * frame was made from, and where fg sits in bg. The demo uses it to show a round trip; the tests use
 * it to measure alignment error on real footage.
 */
export interface DeriveSpec {
  /** The part of bg that fg shows (default: all of it). */
  crop?: Rect;
  /** fg's picture size (default: the crop's size). Larger than the crop: fg sits in bg at scale < 1. */
  size?: { width: number; height: number };
  /** fg's frame rate (default: bg's). */
  fps?: number;
  /** bg time of fg's first frame, seconds. */
  offset?: number;
  /** fg content speed relative to bg: 1.02 means fg runs through bg's content 2% faster. */
  speed?: number;
  /** How many fg frames (default: as many as bg's content allows). */
  frames?: number;
  /**
   * An edit: fg shows these stretches of bg (seconds) one after another, at `fps` and `speed`;
   * `offset` and `frames` are then ignored.
   */
  segments?: { start: number; end: number }[];
  /** fg's picture turned upside down and mirrored (rotated 180°): a wrong pair that looks like bg. */
  flip?: boolean;
  /** Colour grading (ffmpeg eq filter values). */
  grade?: { contrast?: number; brightness?: number; saturation?: number; gamma?: number };
  /**
   * A moving window (pan-and-scan): the crop's corner moves by this many bg pixels per fg second
   * from `crop`'s. The truth's x, y are then where it starts (`pannedCorner` gives each frame's).
   */
  pan?: { dx: number; dy: number };
  /**
   * Burnt-in graphics bg does not have: a running timecode box (bottom left, its digits change every
   * frame) and a station logo (top right), drawn into fg's picture.
   */
  graphics?: boolean;
  /** Black bars added around fg's picture, in fg pixels. */
  bars?: { top?: number; bottom?: number; left?: number; right?: number };
  /** Carry bg's sound over, from `offset`, sped up by `speed` (not with `segments`). */
  audio?: boolean;
  crf?: number;
}

export interface DeriveTruth {
  /** bg frame index under each fg frame. */
  bgFrameForFg: number[];
  /**
   * The bg time each fg frame stands for, seconds, bg frame j at j / fps: exact, between bg's frames
   * when fg's rate or speed differs (fg shows the nearest bg frame, bgFrameForFg). bg's own
   * timestamps agree when it runs at a constant rate from 0, as the selftest's excerpts do.
   */
  bgTimeForFg: number[];
  /** fg's frame corner in bg pixels, and its scale. */
  x: number;
  y: number;
  scale: number;
  fps: number;
  width: number;
  height: number;
}

export async function derive(bgFile: string, out: string, spec: DeriveSpec, signal?: AbortSignal): Promise<DeriveTruth> {
  const bg = await probe(bgFile, signal);
  const crop = spec.crop ?? { x: 0, y: 0, width: bg.width, height: bg.height };
  if (crop.x < 0 || crop.y < 0 || crop.x + crop.width > bg.width || crop.y + crop.height > bg.height) {
    throw new VidkompyError('BAD_ARGS', `crop ${JSON.stringify(crop)} is outside ${bgFile} (${bg.width}x${bg.height})`);
  }
  const size = spec.size ?? { width: crop.width, height: crop.height };
  const fps = spec.fps ?? bg.fps;
  const speed = spec.speed ?? 1;
  const { frames: map, times } = frameMap(bg, spec);
  const n = map.length;
  if (n < 2) throw new VidkompyError('BAD_ARGS', `${bgFile}: too short for offset ${spec.offset ?? 0}s at speed ${speed}`);
  const bars = { top: 0, bottom: 0, left: 0, right: 0, ...spec.bars };
  const g = spec.grade;
  const filters = [
    spec.pan
      ? `crop=${crop.width}:${crop.height}:x='${crop.x}+${spec.pan.dx}*t':y='${crop.y}+${spec.pan.dy}*t':exact=1`
      : `crop=${crop.width}:${crop.height}:${crop.x}:${crop.y}`,
    size.width !== crop.width || size.height !== crop.height ? `scale=${size.width}:${size.height}:flags=bicubic` : '',
    g ? `eq=contrast=${g.contrast ?? 1}:brightness=${g.brightness ?? 0}:saturation=${g.saturation ?? 1}:gamma=${g.gamma ?? 1}` : '',
    spec.flip ? 'hflip,vflip' : '',
    spec.graphics ? graphics(size.width, size.height) : '',
    bars.top || bars.bottom || bars.left || bars.right
      ? `pad=${size.width + bars.left + bars.right}:${size.height + bars.top + bars.bottom}:${bars.left}:${bars.top}:black`
      : '',
    'format=yuv420p',
  ].filter(Boolean);
  const temp = partialPath(out);
  if (spec.audio && (!bg.audio || spec.segments)) {
    throw new VidkompyError('BAD_ARGS', `${bgFile}: ${bg.audio ? 'audio is not carried over into an edit (segments)' : 'has no audio to carry over'}`);
  }
  const audio = spec.audio
    ? [
        '-ss',
        String(spec.offset ?? 0),
        '-i',
        ffmpegPath(bgFile),
        '-map',
        '0:v',
        '-map',
        '1:a:0',
        ...(speed !== 1 ? ['-af', `atempo=${speed}`] : []),
        '-c:a',
        'aac',
        '-b:a',
        '128k',
        '-shortest',
      ]
    : [];
  const enc = openEncoder(
    [
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${bg.width}x${bg.height}`,
      '-framerate',
      String(fps),
      '-i',
      'pipe:0',
      ...audio,
      '-vf',
      filters.join(','),
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      String(spec.crf ?? 18),
      '-f',
      'mp4',
      ffmpegPath(temp),
    ],
    out,
    signal,
  );
  try {
    let j = -1;
    let i = 0;
    for await (const f of readFrames({ file: bgFile, pixFmt: 'rgb24', width: bg.width, height: bg.height, signal })) {
      j++;
      while (i < n && map[i] === j) {
        await enc.write(Buffer.from(f));
        i++;
      }
      if (i >= n) break;
    }
    // A damaged bg decodes fewer frames than its packets: the truth ends where bg's frames do.
    if (i < 2) throw new VidkompyError('DECODE', `${bgFile}: only ${j + 1} frames decoded; cannot derive a fg`);
    map.length = i;
    times.length = i;
    await enc.finish();
    await fs.rename(temp, out);
    dropTemp(temp);
  } catch (e) {
    enc.abort();
    await fs.rm(temp, { force: true });
    dropTemp(temp);
    throw e;
  }
  const s = crop.width / size.width;
  return {
    bgFrameForFg: map,
    bgTimeForFg: times,
    x: crop.x - bars.left * s,
    y: crop.y - bars.top * s,
    scale: s,
    fps,
    width: size.width + bars.left + bars.right,
    height: size.height + bars.top + bars.bottom,
  };
}

/**
 * Which bg frame each fg frame shows, and the exact bg time it stands for: fg frame i sits at bg
 * position first + i·step (step = bg fps / fg fps · speed), shown as the nearest bg frame. Pure: the
 * truth is known before anything is decoded (a damaged bg may still end it early: see derive).
 */
export function frameMap(bg: { fps: number; frameCount: number }, spec: Pick<DeriveSpec, 'fps' | 'speed' | 'offset' | 'frames' | 'segments'>): { frames: number[]; times: number[] } {
  const step = (bg.fps / (spec.fps ?? bg.fps)) * (spec.speed ?? 1);
  const last = bg.frameCount - 1;
  const runs = spec.segments
    ? spec.segments.map((g) => ({ first: g.start * bg.fps, count: Math.floor(((g.end - g.start) * bg.fps) / step) }))
    : [{ first: (spec.offset ?? 0) * bg.fps, count: 0 }].map((r) => {
        const available = Math.floor((last - r.first) / step) + 1;
        return { ...r, count: Math.min(spec.frames ?? available, available) };
      });
  const positions = runs.flatMap((r) => Array.from({ length: Math.max(0, r.count) }, (_, i) => Math.min(last, r.first + i * step)));
  return { frames: positions.map((p) => Math.min(last, Math.round(p))), times: positions.map((p) => p / bg.fps) };
}

/** drawbox filters for a timecode box whose six "digits" count frames in binary, and a logo. */
function graphics(w: number, h: number): string {
  const r = (v: number) => Math.max(2, Math.round(v));
  const box = (x: number, y: number, bw: number, bh: number, color: string, enable?: string) =>
    `drawbox=x=${r(x)}:y=${r(y)}:w=${r(bw)}:h=${r(bh)}:color=${color}:t=fill${enable ? `:enable='${enable}'` : ''}`;
  const digits = Array.from({ length: 6 }, (_, k) => box(w * (0.065 + k * 0.045), h * 0.84, w * 0.03, h * 0.06, 'white', `eq(mod(floor(n/${2 ** k}),2),1)`));
  return [
    box(w * 0.05, h * 0.82, w * 0.3, h * 0.1, 'black'),
    ...digits,
    box(w * 0.8, h * 0.05, w * 0.14, h * 0.11, 'white@0.7'),
    box(w * 0.83, h * 0.075, w * 0.08, h * 0.06, 'red@0.8'),
  ].join(',');
}
