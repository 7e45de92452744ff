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
  /**
   * Freeze frames, as in an edit: when fg reaches bg time `at` (seconds), it holds that moment for
   * `seconds` of its own time, then goes on from there. At a whole bg frame's time (j / bg fps) the
   * held picture is exactly bg frame j. Holds before fg's start (or after bg's end) do nothing.
   */
  holds?: { at: number; seconds: number }[];
  /**
   * Slow motion (or fast): while fg runs through bg's stretch [start, end) (bg seconds) it goes at
   * `speed` times its usual speed (`speed` above, or 1): 0.5 is half speed, each bg moment shown
   * for twice as long; 2 is twice as fast. Overlapping ramps multiply.
   */
  ramps?: { start: number; end: number; speed: number }[];
  /** fg's picture turned upside down and mirrored (rotated 180°): a wrong pair that looks like bg. */
  flip?: boolean;
  /** Colour grading (ffmpeg eq filter values). */
  grade?: { contrast?: number; brightness?: number; saturation?: number; gamma?: number };
  /**
   * A moving window (pan-and-scan). `{dx, dy}`: the crop's corner moves by this many bg pixels per
   * fg second from `crop`'s (cut by ffmpeg, whole pixels); the truth's x, y are where it starts.
   * `{to}`: the crop moves (and resizes: a zoom) linearly from `crop` at fg's first frame to `to`
   * at its last, resampled to fg's size every frame; the truth then has each frame's placement.
   * `{path}`: the window follows a path, as a camera operator following a subject does (speeding
   * up, slowing down, turning back): see PanPath. Resampled per frame like `to`.
   */
  pan?: { dx: number; dy: number } | { to: { x: number; y: number; width?: number; height?: number } } | PanPath;
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

/**
 * A window that follows a path: `[t, x, y, width?, height?]` points, t in fg seconds from fg's first
 * frame (fg frame i at i / fps), x, y the window's corner in bg pixels, width and height its size
 * (default: `crop`'s; `crop` gives nothing else here). Before the first point and after the last the
 * window holds still. `ease` 'linear' (default): straight at constant speed between points;
 * 'smooth': a cubic through the points (Catmull-Rom on their times, at rest at the first and last),
 * so the window speeds up and slows down as a hand-operated re-frame does. Every frame's window must
 * lie inside bg (a smooth path can overshoot its points).
 */
export interface PanPath {
  path: [t: number, x: number, y: number, width?: number, height?: number][];
  ease?: 'linear' | 'smooth';
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
  /** A window that moves (`pan.to`): fg's frame corner in bg pixels and its scale, per fg frame. */
  placements?: { x: number; y: number; scale: number }[];
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
  const moving = !spec.pan || 'dx' in spec.pan ? undefined : 'to' in spec.pan ? windowAt(crop, spec.pan.to, n) : pathWindow(crop, spec.pan, fps);
  // Every frame's window: a path can leave bg between its points.
  for (let i = 0; moving && i < n; i++) {
    const r = moving(i);
    if (!(r.x >= 0 && r.y >= 0 && r.x + r.width <= bg.width && r.y + r.height <= bg.height && r.width >= 1 && r.height >= 1)) {
      throw new VidkompyError('BAD_ARGS', `pan: fg frame ${i}'s window ${JSON.stringify(r)} is outside ${bgFile} (${bg.width}x${bg.height})`);
    }
  }
  // A fixed crop is cut in the decoder, after the same conversion to RGB (so the pixels are those
  // the encoder would have cut, bit for bit): a 960x540 crop of a 1080p bg then pipes a quarter of
  // the bytes and takes a quarter less CPU, which counts on hour-long pairs (bench/longvideo.ts).
  // A pan's crop moves with the encoder's clock; a moving window is cut from each frame here.
  const decoderCrop = spec.pan ? undefined : `format=rgb24,crop=${crop.width}:${crop.height}:${crop.x}:${crop.y}`;
  const piped = spec.pan ? { width: bg.width, height: bg.height } : { width: crop.width, height: crop.height };
  const filters = [
    spec.pan && 'dx' in spec.pan ? `crop=${crop.width}:${crop.height}:x='${crop.x}+${spec.pan.dx}*t':y='${crop.y}+${spec.pan.dy}*t':exact=1` : '',
    !moving && (size.width !== crop.width || size.height !== crop.height) ? `scale=${size.width}:${size.height}:flags=bicubic` : '',
    g ? `eq=contrast=${g.contrast ?? 1}:brightness=${g.brightness ?? 0}:saturation=${g.saturation ?? 1}:gamma=${g.gamma ?? 1}` : '',
    spec.flip ? 'hflip,vflip' : '',
    spec.graphics ? graphics(size.width, size.height) : '',
    bars.top || bars.bottom || bars.left || bars.right
      ? `pad=${size.width + bars.left + bars.right}:${size.height + bars.top + bars.bottom}:${bars.left}:${bars.top}:black`
      : '',
    'format=yuv420p',
  ].filter(Boolean);
  const temp = partialPath(out);
  const edited = spec.segments || spec.holds?.length || spec.ramps?.length;
  if (spec.audio && (!bg.audio || edited)) {
    throw new VidkompyError('BAD_ARGS', `${bgFile}: ${bg.audio ? 'audio is not carried over into an edit (segments, holds, ramps)' : 'has no audio to carry over'}`);
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
      moving ? `${size.width}x${size.height}` : `${piped.width}x${piped.height}`,
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
    for await (const f of readFrames({ file: bgFile, filter: decoderCrop, pixFmt: 'rgb24', ...piped, signal })) {
      j++;
      while (i < n && map[i] === j) {
        await enc.write(moving ? cutWindow(f, bg.width, bg.height, moving(i), size.width, size.height) : Buffer.from(f));
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
  const placements = moving
    ? map.map((_, i) => {
        const w = moving(i);
        const k = w.width / size.width;
        return { x: w.x - bars.left * k, y: w.y - bars.top * k, scale: k };
      })
    : undefined;
  const s = crop.width / size.width;
  return {
    bgFrameForFg: map,
    bgTimeForFg: times,
    ...(placements ? placements[0] : { x: crop.x - bars.left * s, y: crop.y - bars.top * s, scale: s }),
    fps,
    width: size.width + bars.left + bars.right,
    height: size.height + bars.top + bars.bottom,
    ...(placements ? { placements } : {}),
  };
}

/** The window of a `pan.to` at fg frame i of n: linear from `from` at the first frame to `to` at the last. */
function windowAt(from: Rect, to: { x: number; y: number; width?: number; height?: number }, n: number): (i: number) => Rect {
  const end = { x: to.x, y: to.y, width: to.width ?? from.width, height: to.height ?? from.height };
  return (i) => {
    const t = n > 1 ? i / (n - 1) : 0;
    const lerp = (a: number, b: number) => a + (b - a) * t;
    return { x: lerp(from.x, end.x), y: lerp(from.y, end.y), width: lerp(from.width, end.width), height: lerp(from.height, end.height) };
  };
}

/**
 * The window of a `pan.path` at fg frame i (fg time i / fps): between the points around that time,
 * straight or on a cubic (see PanPath), held before the first point and after the last.
 */
export function pathWindow(crop: Rect, pan: PanPath, fps: number): (i: number) => Rect {
  const pts = pan.path;
  if (!Array.isArray(pts) || !pts.length) throw new VidkompyError('BAD_ARGS', 'pan.path needs at least one [t, x, y, width?, height?] point');
  const rows = pts.map((p, k) => {
    const ok = Array.isArray(p) && p.length >= 3 && p.length <= 5 && p.every((v) => typeof v === 'number' && Number.isFinite(v));
    if (!ok || (k > 0 && !(p[0] > pts[k - 1][0])) || !((p[3] ?? 1) > 0) || !((p[4] ?? 1) > 0)) {
      throw new VidkompyError('BAD_ARGS', `pan.path[${k}] ${JSON.stringify(p)}: want [t, x, y, width?, height?], finite numbers, t rising, sizes positive`);
    }
    return { t: p[0], v: [p[1], p[2], p[3] ?? crop.width, p[4] ?? crop.height] };
  });
  const ease = pan.ease ?? 'linear';
  if (ease !== 'linear' && ease !== 'smooth') throw new VidkompyError('BAD_ARGS', `pan.ease ${JSON.stringify(ease)}: want 'linear' or 'smooth'`);
  // Velocity at each point (per second): the slope between its neighbours, zero at the ends.
  const vel = rows.map((r, k) =>
    k === 0 || k === rows.length - 1 ? [0, 0, 0, 0] : r.v.map((_, c) => (rows[k + 1].v[c] - rows[k - 1].v[c]) / (rows[k + 1].t - rows[k - 1].t)),
  );
  return (i) => {
    const t = i / fps;
    let k = 0;
    while (k + 1 < rows.length && rows[k + 1].t <= t) k++;
    const a = rows[k];
    const b = rows[k + 1];
    let v = a.v;
    if (b && t > a.t) {
      const h = b.t - a.t;
      const u = (t - a.t) / h;
      // Cubic Hermite between a and b: through both, with their velocities.
      v =
        ease === 'linear'
          ? a.v.map((x, c) => x + (b.v[c] - x) * u)
          : a.v.map((x, c) => {
              const [h00, h10, h01, h11] = [2 * u ** 3 - 3 * u ** 2 + 1, u ** 3 - 2 * u ** 2 + u, -2 * u ** 3 + 3 * u ** 2, u ** 3 - u ** 2];
              return h00 * x + h10 * h * vel[k][c] + h01 * b.v[c] + h11 * h * vel[k + 1][c];
            });
    }
    return { x: v[0], y: v[1], width: v[2], height: v[3] };
  };
}

/**
 * The window `r` (bg pixels, fractional) of an rgb24 frame resampled to w×h: fg pixel (u, v) is bg's
 * picture at the centre of the bg area it stands for, bilinear (area-averaged over 2×2 taps when
 * the window is shrunk), so the truth's placement is exact to a fraction of a pixel.
 */
export function cutWindow(src: Uint8Array, sw: number, sh: number, r: Rect, w: number, h: number): Buffer {
  const out = Buffer.alloc(w * h * 3);
  const sx = r.width / w;
  const sy = r.height / h;
  // Shrinking by more than 1.5 averages a few taps, so a shrunk window is not aliased.
  const taps = Math.max(sx, sy) > 1.5 ? 2 : 1;
  const at = (x: number, y: number, c: number) => {
    const fx = Math.max(0, Math.min(sw - 1, x));
    const fy = Math.max(0, Math.min(sh - 1, y));
    const x0 = Math.min(sw - 2, Math.floor(fx));
    const y0 = Math.min(sh - 2, Math.floor(fy));
    const ax = fx - x0;
    const ay = fy - y0;
    const p = (y0 * sw + x0) * 3 + c;
    const top = src[p] * (1 - ax) + src[p + 3] * ax;
    const bot = src[p + sw * 3] * (1 - ax) + src[p + sw * 3 + 3] * ax;
    return top * (1 - ay) + bot * ay;
  };
  for (let v = 0; v < h; v++) {
    for (let u = 0; u < w; u++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let ty = 0; ty < taps; ty++) {
          for (let tx = 0; tx < taps; tx++) {
            sum += at(r.x + (u + (tx + 0.5) / taps) * sx - 0.5, r.y + (v + (ty + 0.5) / taps) * sy - 0.5, c);
          }
        }
        out[(v * w + u) * 3 + c] = Math.round(sum / (taps * taps));
      }
    }
  }
  return out;
}

/**
 * Which bg frame each fg frame shows, and the exact bg time it stands for: fg frame i sits at bg
 * position first + i·step (step = bg fps / fg fps · speed), shown as the nearest bg frame; holds
 * stop that position for a while and ramps change its step (see `timeline`). Pure: the truth is
 * known before anything is decoded (a damaged bg may still end it early: see derive).
 */
export function frameMap(
  bg: { fps: number; frameCount: number },
  spec: Pick<DeriveSpec, 'fps' | 'speed' | 'offset' | 'frames' | 'segments' | 'holds' | 'ramps'>,
): { frames: number[]; times: number[] } {
  const fgFps = spec.fps ?? bg.fps;
  const step = (bg.fps / fgFps) * (spec.speed ?? 1);
  if (!(step > 0)) throw new VidkompyError('BAD_ARGS', `speed ${spec.speed} and fps ${fgFps} must be positive`);
  for (const r of spec.ramps ?? []) {
    if (!(r.speed > 0) || !(r.end > r.start)) throw new VidkompyError('BAD_ARGS', `ramp ${JSON.stringify(r)}: speed must be positive and end after start`);
  }
  for (const h of spec.holds ?? []) {
    if (!(h.seconds >= 0)) throw new VidkompyError('BAD_ARGS', `hold ${JSON.stringify(h)}: seconds must be 0 or more`);
  }
  const last = bg.frameCount - 1;
  const motion = { step, fgFps, bgFps: bg.fps, holds: spec.holds ?? [], ramps: spec.ramps ?? [] };
  // Segments end before their end (as many whole steps as fit); a single run ends on bg's last frame.
  const runs = spec.segments
    ? spec.segments.map((g) => run(motion, g.start * bg.fps, (g.end - g.start) * bg.fps, false))
    : [run(motion, (spec.offset ?? 0) * bg.fps, last - (spec.offset ?? 0) * bg.fps, true, spec.frames)];
  const positions = runs.flatMap((r) => Array.from({ length: Math.max(0, r.count) }, (_, i) => Math.min(last, r.at(i))));
  return { frames: positions.map((p) => Math.min(last, Math.round(p))), times: positions.map((p) => p / bg.fps) };
}

interface Motion {
  /** bg frames per fg frame outside ramps. */
  step: number;
  fgFps: number;
  bgFps: number;
  holds: { at: number; seconds: number }[];
  ramps: { start: number; end: number; speed: number }[];
}

/** A straight piece of fg's path through bg: from fg frame i0 (fractional) at bg position p0, `step` per frame (0: a hold). */
interface Piece {
  i0: number;
  p0: number;
  step: number;
}

/**
 * fg's path through bg from bg position `first` (frames), as straight pieces, up to `span` bg frames
 * on: the position is continuous, so rounding at a piece's joint cannot jump. Without holds and
 * ramps it is the single piece first + i·step, computed exactly as that.
 */
function timeline(m: Motion, first: number, span: number): Piece[] {
  const end = first + span;
  const rateAt = (p: number) => m.ramps.reduce((s, r) => (p >= r.start * m.bgFps && p < r.end * m.bgFps ? s * r.speed : s), m.step);
  const bounds = [...new Set(m.ramps.flatMap((r) => [r.start * m.bgFps, r.end * m.bgFps]))].filter((b) => b > first && b <= end).sort((a, b) => a - b);
  const holds = m.holds
    .map((h) => ({ p: h.at * m.bgFps, frames: h.seconds * m.fgFps }))
    .filter((h) => h.p >= first && h.p <= end && h.frames > 0)
    .sort((a, b) => a.p - b.p);
  const pieces: Piece[] = [];
  let i0 = 0;
  let p0 = first;
  let h = 0;
  let b = 0;
  for (;;) {
    if (h < holds.length && holds[h].p === p0) {
      pieces.push({ i0, p0, step: 0 });
      i0 += holds[h++].frames;
      continue;
    }
    const step = rateAt(p0);
    pieces.push({ i0, p0, step });
    while (b < bounds.length && bounds[b] <= p0) b++;
    const next = Math.min(bounds[b] ?? Infinity, holds[h]?.p ?? Infinity);
    if (next === Infinity) return pieces;
    i0 += (next - p0) / step;
    p0 = next;
  }
}

/**
 * One run of fg frames from bg position `first`: the position of frame i, and how many frames fit
 * in `span` bg frames (`inclusive`: the frame exactly at the end too), at most `frames`.
 */
function run(m: Motion, first: number, span: number, inclusive: boolean, frames?: number): { at: (i: number) => number; count: number } {
  const pieces = timeline(m, first, span);
  const at = (i: number) => {
    let k = pieces.length - 1;
    while (k > 0 && pieces[k].i0 > i) k--;
    const q = pieces[k];
    return q.p0 + (i - q.i0) * q.step;
  };
  // The fg frame (fractional) where the path reaches the end: in the moving piece that holds it.
  let iEnd = -1;
  for (let k = 0; k < pieces.length; k++) {
    const q = pieces[k];
    if (q.step === 0) continue;
    if (k === pieces.length - 1 || pieces[k + 1].p0 - first > span) {
      iEnd = q.i0 + (span - (q.p0 - first)) / q.step;
      break;
    }
  }
  const available = Math.floor(iEnd) + (inclusive ? 1 : 0);
  return { at, count: Math.max(0, Math.min(frames ?? available, available)) };
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
