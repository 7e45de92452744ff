import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { derive, type DeriveSpec, type DeriveTruth } from '../../daemon/media/derive';
import { runTool } from '../../daemon/media/ffmpeg';
import { probe } from '../../daemon/media/probe';
import { excerptArgs, excerptPlan } from '../../daemon/selftest/cases';

/** Where the shared real footage lives; tests that need it skip with this message when it is absent. */
export const SHARED_MEDIA = path.resolve(__dirname, '..', '..', '..', 'shared', 'media');
export const HAVE_SHARED = existsSync(path.join(SHARED_MEDIA, 'cityCC0.mpg'));
export const NO_SHARED = `../shared/media is absent (${SHARED_MEDIA}): real-footage cases need it`;
export const SAMPLE = path.resolve(__dirname, '..', '..', 'media', 'cityCC0.mpg');

export function media(name: string): string {
  return path.join(SHARED_MEDIA, name);
}

/** A per-run cache for derived clips: generating them costs more than the tests that use them. */
export const CACHE = path.join(os.tmpdir(), `vidkompy-test-${process.getuid?.() ?? 'u'}`);

export async function tempDir(prefix: string): Promise<string> {
  await fs.mkdir(CACHE, { recursive: true });
  return fs.mkdtemp(path.join(CACHE, `${prefix}-`));
}

function key(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** A fg derived from `bg` with `spec`, cached on disk with its ground truth. */
export async function derived(bg: string, spec: DeriveSpec): Promise<{ fg: string; truth: DeriveTruth }> {
  await fs.mkdir(CACHE, { recursive: true });
  const st = await fs.stat(bg);
  const k = key({ bg, size: st.size, mtime: st.mtimeMs, spec, v: 2 });
  const fg = path.join(CACHE, `derived-${k}.mp4`);
  const truthFile = `${fg}.truth.json`;
  if (existsSync(fg) && existsSync(truthFile)) return { fg, truth: JSON.parse(await fs.readFile(truthFile, 'utf8')) };
  const truth = await derive(bg, fg, spec);
  await fs.writeFile(truthFile, JSON.stringify(truth));
  return { fg, truth };
}

/**
 * `file` played `times` times over, picture only (cropped to `width`×`height`, even sizes for x264):
 * repeated footage that nothing but the picture can tell apart.
 */
export async function loopedSilent(file: string, times: number, width: number, height: number): Promise<string> {
  const out = path.join(CACHE, `looped-silent-${key({ file, times, width, height })}.mp4`);
  if (existsSync(out)) return out;
  await fs.mkdir(CACHE, { recursive: true });
  const temp = `${out}.partial-${process.pid}.mp4`;
  const args = ['-nostdin', '-v', 'error', '-y', '-stream_loop', String(times - 1), '-i', file, '-an', '-vf', `crop=${width}:${height}:0:0`];
  await runTool('ffmpeg', [...args, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', temp], { file: temp, what: 'looping a clip' });
  await fs.rename(temp, out);
  return out;
}

/**
 * `file`'s picture seen through a shaking hand-held camera, shrunk to a small `width`×`height` bg:
 * a `window` (default 640×360) that jitters across the picture (by default up to ±58 px across,
 * ±20 px down; given a window, over most of the room the picture leaves it): moving camera, small bg.
 */
export async function shakyBg(file: string, width: number, height: number, window?: { width: number; height: number }): Promise<string> {
  const out = path.join(CACHE, `shaky-${key(window ? { file, width, height, window } : { file, width, height })}.mp4`);
  if (existsSync(out)) return out;
  await fs.mkdir(CACHE, { recursive: true });
  const temp = `${out}.partial-${process.pid}.mp4`;
  const w = window;
  const move = w
    ? `crop=${w.width}:${w.height}:x='(iw-${w.width})/2*(1+sin(t*5.3)/1.1)':y='(ih-${w.height})/2*(1+sin(t*7.1)/1.1)'`
    : `crop=640:360:x='40+38*sin(t*5.3)+20*sin(t*11.7)':y='22+20*sin(t*7.1)'`;
  const vf = `${move},scale=${width}:${height}`;
  await runTool('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', file, '-an', '-vf', vf, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', temp], { file: temp, what: 'shaking a clip' });
  await fs.rename(temp, out);
  return out;
}

/**
 * The first `seconds` of each of `files`, one after another at `width`×`height` and 25 fps,
 * picture only: a bg of unrelated clips with a scene change between each.
 */
export async function concatenated(files: string[], seconds: number, width: number, height: number): Promise<string> {
  const out = path.join(CACHE, `concat-${key({ files, seconds, width, height })}.mp4`);
  if (existsSync(out)) return out;
  await fs.mkdir(CACHE, { recursive: true });
  const temp = `${out}.partial-${process.pid}.mp4`;
  const inputs = files.flatMap((f) => ['-t', String(seconds), '-i', f]);
  const scaled = files.map((_, k) => `[${k}:v]scale=${width}:${height},setsar=1,fps=25,format=yuv420p[v${k}]`).join(';');
  const graph = `${scaled};${files.map((_, k) => `[v${k}]`).join('')}concat=n=${files.length}:v=1:a=0[o]`;
  const args = ['-nostdin', '-v', 'error', '-y', ...inputs, '-filter_complex', graph, '-map', '[o]'];
  await runTool('ffmpeg', [...args, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', temp], { file: temp, what: 'joining clips' });
  await fs.rename(temp, out);
  return out;
}

/**
 * ffmpeg's testsrc2 at `width`×`height`, 30 fps, `seconds` long, without noise: colour bars and a
 * few moving parts over large flat areas (x264 veryfast crf 20, a keyframe every 2 s).
 */
export async function flatSynthetic(width: number, height: number, seconds: number): Promise<string> {
  const out = path.join(CACHE, `testsrc2-${width}x${height}-${seconds}s.mp4`);
  if (existsSync(out)) return out;
  await fs.mkdir(CACHE, { recursive: true });
  const temp = `${out}.partial-${process.pid}.mp4`;
  const src = `testsrc2=s=${width}x${height}:r=30:d=${seconds}`;
  const args = ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', src, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-g', '60'];
  await runTool('ffmpeg', [...args, temp], { file: temp, what: 'generating testsrc2' });
  await fs.rename(temp, out);
  return out;
}

/**
 * `file` with the picture inside `r` frozen from `from` to `to` seconds (the frame at `from`),
 * while everything around it moves on: fg cropped to `r` is a stretch where fg's frames cannot be
 * told apart. The height is cut to even for x264.
 */
export async function frozenRegion(file: string, r: { x: number; y: number; width: number; height: number }, from: number, to: number): Promise<string> {
  const out = path.join(CACHE, `frozen-${key({ file, r, from, to })}.mp4`);
  if (existsSync(out)) return out;
  await fs.mkdir(CACHE, { recursive: true });
  const still = `${out}.still-${process.pid}.png`;
  const temp = `${out}.partial-${process.pid}.mp4`;
  try {
    const grab = ['-nostdin', '-v', 'error', '-y', '-ss', String(from), '-i', file, '-frames:v', '1', '-vf', `crop=${r.width}:${r.height}:${r.x}:${r.y}`, still];
    await runTool('ffmpeg', grab, { file: still, what: 'grabbing a still' });
    const graph = `[0:v][1:v]overlay=${r.x}:${r.y}:enable='between(t,${from},${to})':shortest=1,crop=trunc(iw/2)*2:trunc(ih/2)*2:0:0`;
    const args = ['-nostdin', '-v', 'error', '-y', '-i', file, '-loop', '1', '-i', still, '-filter_complex', graph, '-an'];
    await runTool('ffmpeg', [...args, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', temp], { file: temp, what: 'freezing a region' });
    await fs.rename(temp, out);
  } finally {
    await fs.rm(still, { force: true });
    await fs.rm(temp, { force: true });
  }
  return out;
}

/** `seconds` of `file` from its middle, its longer side `size` pixels: the excerpt `selftest` makes. */
export async function excerpt(file: string, seconds: number, size: number): Promise<string> {
  const out = path.join(CACHE, `excerpt-${key({ file, seconds, size })}.mp4`);
  if (existsSync(out)) return out;
  await fs.mkdir(CACHE, { recursive: true });
  const temp = `${out}.partial-${process.pid}.mp4`;
  await runTool('ffmpeg', excerptArgs(file, excerptPlan(await probe(file), { seconds, size }), temp), { file: temp, what: 'cutting an excerpt' });
  await fs.rename(temp, out);
  return out;
}
