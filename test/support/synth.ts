import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { openEncoder } from '../../daemon/media/ffmpeg';
import { CACHE } from './media';

/**
 * Synthetic clips with exact ground truth: a procedural scene defined at every real point in space
 * and time (scrolling multi-octave value noise plus drifting coloured blobs), rendered for bg at its
 * frame times and for fg at its own times, region and resolution. The bg frame that belongs under a
 * fg frame is the one nearest in scene time.
 */

export interface SynthBg {
  width: number;
  height: number;
  fps: number;
  duration: number;
  /** Mux a 440 Hz tone (for audio tests). */
  audio?: boolean;
}

export interface SynthFg {
  /** The bg region fg shows, in bg pixels. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** bg pixels per fg pixel: 0.5 renders fg at twice the region's resolution. */
  scale: number;
  fps: number;
  /** Scene time of fg's first frame. */
  offset: number;
  /** Scene seconds per fg second. */
  speed: number;
  duration: number;
  grade?: { gain: number; lift: number; gamma: number };
  /** Black bars added around fg's picture, in fg pixels. */
  bars?: { top: number; bottom: number; left: number; right: number };
  audio?: boolean;
}

export interface SynthTruth {
  bgFrameForFg: number[];
  /** The exact bg time each fg frame was rendered at, seconds. */
  bgTimeForFg: number[];
  x: number;
  y: number;
  scale: number;
}

const GRID = 1024;
const noise = (() => {
  // Deterministic hash noise on a GRID×GRID torus.
  const t = new Float32Array(GRID * GRID);
  let s = 0x9e3779b9;
  for (let i = 0; i < t.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    t[i] = ((s >>> 0) / 0xffffffff) * 2 - 1;
  }
  return t;
})();

function smooth(x: number, y: number): number {
  const xi = Math.floor(x);
  const yi = Math.floor(y);
  const fx = x - xi;
  const fy = y - yi;
  const sx = fx * fx * (3 - 2 * fx);
  const sy = fy * fy * (3 - 2 * fy);
  const x0 = xi & (GRID - 1);
  const y0 = yi & (GRID - 1);
  const x1 = (x0 + 1) & (GRID - 1);
  const y1 = (y0 + 1) & (GRID - 1);
  const a = noise[y0 * GRID + x0];
  const b = noise[y0 * GRID + x1];
  const c = noise[y1 * GRID + x0];
  const d = noise[y1 * GRID + x1];
  return a + (b - a) * sx + (c - a) * sy + (a - b - c + d) * sx * sy;
}

const BLOBS = Array.from({ length: 7 }, (_, k) => ({
  ax: 80 + 37 * k,
  ay: 50 + 23 * k,
  fx: 0.23 + 0.11 * k,
  fy: 0.31 + 0.07 * k,
  r: 18 + 6 * (k % 4),
  rgb: [(k * 97) % 255, (k * 53 + 80) % 255, (k * 151 + 40) % 255].map((v) => v / 255 - 0.5),
}));

type Centres = Float64Array;

/** Blob centres at time t (per frame, not per pixel: the trigonometry is the slow part). */
function centres(t: number): Centres {
  const c = new Float64Array(BLOBS.length * 2);
  BLOBS.forEach((o, k) => {
    c[2 * k] = 240 + o.ax * Math.sin(o.fx * t * 6.283 + o.r);
    c[2 * k + 1] = 135 + o.ay * Math.cos(o.fy * t * 6.283 + o.ax);
  });
  return c;
}

/** Scene colour at point (x, y) in bg pixels and time t, channels in roughly [0, 255]. */
function scene(x: number, y: number, t: number, c: Centres, out: Float32Array): void {
  // Static texture that scrolls slowly, and a faster layer: motion everywhere, structure everywhere.
  const a = smooth((x - 31 * t) / 24, (y + 11 * t) / 24) * 0.6 + smooth((x + 7 * t) / 9, (y - 13 * t) / 9) * 0.4;
  const b = smooth((x + 50 * t) / 40 + 300, (y + 17 * t) / 40 + 300);
  let r = 120 + 70 * a + 30 * b;
  let g = 120 + 60 * a - 25 * b;
  let bl = 120 + 40 * a + 45 * b;
  for (let k = 0; k < BLOBS.length; k++) {
    const o = BLOBS[k];
    const d2 = ((x - c[2 * k]) ** 2 + (y - c[2 * k + 1]) ** 2) / (o.r * o.r);
    if (d2 > 9) continue;
    const w = Math.exp(-d2) * 110;
    r += w * o.rgb[0];
    g += w * o.rgb[1];
    bl += w * o.rgb[2];
  }
  out[0] = r;
  out[1] = g;
  out[2] = bl;
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

function render(
  w: number,
  h: number,
  t: number,
  at: (u: number, v: number) => [number, number],
  grade?: SynthFg['grade'],
  bars?: SynthFg['bars'],
): Buffer {
  const fw = w + (bars?.left ?? 0) + (bars?.right ?? 0);
  const fh = h + (bars?.top ?? 0) + (bars?.bottom ?? 0);
  const buf = Buffer.alloc(fw * fh * 3);
  const px = new Float32Array(3);
  const c = centres(t);
  for (let v = 0; v < h; v++) {
    for (let u = 0; u < w; u++) {
      const [x, y] = at(u, v);
      scene(x, y, t, c, px);
      const o = ((v + (bars?.top ?? 0)) * fw + u + (bars?.left ?? 0)) * 3;
      for (let c = 0; c < 3; c++) {
        let val = clamp(px[c]);
        if (grade) val = clamp(255 * Math.pow(val / 255, grade.gamma) * grade.gain + grade.lift);
        buf[o + c] = val;
      }
    }
  }
  return buf;
}

async function encode(file: string, w: number, h: number, fps: number, frames: Iterable<Buffer>, audio: boolean, duration: number): Promise<void> {
  const temp = `${file}.partial-${process.pid}.mp4`;
  const args = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`, '-framerate', String(fps), '-i', 'pipe:0'];
  if (audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${duration}`, '-c:a', 'aac', '-b:a', '96k');
  args.push('-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-f', 'mp4', temp);
  const enc = openEncoder(args, file);
  try {
    for (const f of frames) await enc.write(f);
    await enc.finish();
    await fs.rename(temp, file);
  } catch (e) {
    enc.abort();
    throw e;
  }
}

function key(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

export async function synthBg(spec: SynthBg): Promise<string> {
  await fs.mkdir(CACHE, { recursive: true });
  const file = path.join(CACHE, `synth-bg-${key({ spec, v: 2 })}.mp4`);
  if (existsSync(file)) return file;
  const n = Math.round(spec.duration * spec.fps);
  function* frames() {
    for (let j = 0; j < n; j++) yield render(spec.width, spec.height, j / spec.fps, (u, v) => [u, v]);
  }
  await encode(file, spec.width, spec.height, spec.fps, frames(), !!spec.audio, spec.duration);
  return file;
}

export async function synthPair(bgSpec: SynthBg, fgSpec: SynthFg): Promise<{ bg: string; fg: string; truth: SynthTruth }> {
  const bg = await synthBg(bgSpec);
  const file = path.join(CACHE, `synth-fg-${key({ bgSpec, fgSpec, v: 2 })}.mp4`);
  const n = Math.round(fgSpec.duration * fgSpec.fps);
  const bgN = Math.round(bgSpec.duration * bgSpec.fps);
  const times = Array.from({ length: n }, (_, i) => fgSpec.offset + (i / fgSpec.fps) * fgSpec.speed);
  if (times[n - 1] > (bgN - 1) / bgSpec.fps) throw new Error('synthPair: fg runs past the end of bg');
  const w = Math.round(fgSpec.width / fgSpec.scale);
  const h = Math.round(fgSpec.height / fgSpec.scale);
  const s = fgSpec.scale;
  if (!existsSync(file)) {
    function* frames() {
      for (const t of times) yield render(w, h, t, (u, v) => [fgSpec.x + (u + 0.5) * s - 0.5, fgSpec.y + (v + 0.5) * s - 0.5], fgSpec.grade, fgSpec.bars);
    }
    const b = fgSpec.bars;
    await encode(file, w + (b ? b.left + b.right : 0), h + (b ? b.top + b.bottom : 0), fgSpec.fps, frames(), !!fgSpec.audio, fgSpec.duration);
  }
  return {
    bg,
    fg: file,
    truth: {
      bgFrameForFg: times.map((t) => Math.min(bgN - 1, Math.round(t * bgSpec.fps))),
      bgTimeForFg: times,
      x: fgSpec.x - (fgSpec.bars?.left ?? 0) * s,
      y: fgSpec.y - (fgSpec.bars?.top ?? 0) * s,
      scale: s,
    },
  };
}
