/**
 * `npm run bench`: speed and memory against the physical floor. Generates a 60 s 1080p30 pair once
 * (cached in the OS temp folder), then measures:
 *   align   vs the time ffmpeg alone needs to decode both inputs (run concurrently, as align does);
 *   compose vs ffmpeg decoding both, overlaying at a fixed place and encoding with the same x264
 *           settings (decode + encode floor);
 *   peak resident memory of this process during each.
 * Then the native kernels against their TypeScript twins, when bench/kernels.ts is present.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { align } from '../daemon/engine/align';
import { compose } from '../daemon/engine/compose';
import { tools } from '../daemon/media/tools';
import { benchEmbed } from './embed';
import { benchLong } from './long';

const DIR = path.join(os.tmpdir(), 'vidkompy-bench');
const PRESET = 'veryfast';
const CRF = 18;
const CROP = { x: 400, y: 200, width: 1280, height: 720 };
const OFFSET = 2;

function run(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(tools().ffmpeg, ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve((performance.now() - t) / 1000) : reject(new Error(`ffmpeg ${args.join(' ')}: ${err}`))));
  });
}

async function media(): Promise<{ bg: string; fg: string }> {
  await fs.mkdir(DIR, { recursive: true });
  const bg = path.join(DIR, 'bg-1080p30-60s.mp4');
  const fg = path.join(DIR, 'fg-720p30-55s.mp4');
  if (!existsSync(bg)) {
    process.stderr.write('generating the 60 s 1080p30 bg (once)...\n');
    // testsrc2 moves everywhere over time; the fixed noise pattern gives every region texture.
    await run(['-f', 'lavfi', '-i', 'testsrc2=s=1920x1080:r=30:d=60', '-vf', 'noise=alls=12', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-g', '60', `${bg}.tmp.mp4`]);
    await fs.rename(`${bg}.tmp.mp4`, bg);
  }
  if (!existsSync(fg)) {
    process.stderr.write('deriving the fg: a 1280x720 crop starting 2 s in...\n');
    await run(['-ss', String(OFFSET), '-i', bg, '-t', '55', '-vf', `crop=${CROP.width}:${CROP.height}:${CROP.x}:${CROP.y}`, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-an', `${fg}.tmp.mp4`]);
    await fs.rename(`${fg}.tmp.mp4`, fg);
  }
  return { bg, fg };
}

/** Runs `work` while sampling this process's resident memory; returns seconds and the peak in MiB. */
async function measure<T>(work: () => Promise<T>): Promise<{ seconds: number; peakMiB: number; value: T }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t = performance.now();
  try {
    const value = await work();
    return { seconds: (performance.now() - t) / 1000, peakMiB: Math.max(peak, process.memoryUsage().rss) / 2 ** 20, value };
  } finally {
    clearInterval(timer);
  }
}

const f2 = (v: number) => v.toFixed(2);

async function main(): Promise<void> {
  const { bg, fg } = await media();
  const rows: string[][] = [];

  const decodeFloor = await measure(() => Promise.all([run(['-i', bg, '-f', 'null', '-']), run(['-i', fg, '-f', 'null', '-'])]));
  const al = await measure(() => align(bg, fg));
  const a = al.value;
  const err = Math.max(Math.abs(a.spatial.x - CROP.x), Math.abs(a.spatial.y - CROP.y));
  rows.push(['align', f2(al.seconds), f2(decodeFloor.seconds), f2(al.seconds / decodeFloor.seconds), '≤ 2', al.peakMiB.toFixed(0)]);

  const out = path.join(DIR, 'out.mp4');
  const floorOut = path.join(DIR, 'floor.mp4');
  const composeFloor = await measure(() =>
    run(['-i', bg, '-ss', String(OFFSET), '-i', fg, '-filter_complex', `[0:v][1:v]overlay=${CROP.x}:${CROP.y}:shortest=1`, '-c:v', 'libx264', '-preset', PRESET, '-crf', String(CRF), '-an', floorOut]),
  );
  const comp = await measure(() => compose(a, { output: out, preset: PRESET, crf: CRF, audio: 'none' }));
  rows.push(['compose', f2(comp.seconds), f2(composeFloor.seconds), f2(comp.seconds / composeFloor.seconds), '≤ 1.5', comp.peakMiB.toFixed(0)]);

  console.log(`vidkompy bench: bg 1920x1080 30 fps 60 s, fg 1280x720 30 fps 55 s (x264 ${PRESET} crf ${CRF}), ${os.cpus().length} cores`);
  console.log(`alignment: x=${a.spatial.x} y=${a.spatial.y} scale=${a.spatial.scale} (error ${err} px), offset ${a.temporal.offsetSeconds} s (truth ${OFFSET}), stage timings ${JSON.stringify(a.timings)}`);
  const head = ['step', 'seconds', 'floor s', 'ratio', 'target', 'peak RSS MiB'];
  const table = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  for (const r of table) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
  console.log(`floors: decode = ffmpeg decoding bg and fg concurrently to null; compose = ffmpeg decode both + overlay + same x264 encode`);

  const long = await benchLong('full');
  console.log(`\n1-hour alignment (synthetic descriptor sequences, temporal engine only): bg ${long.bgFrames} frames, fg ${long.fgFrames} frames: ${long.seconds.toFixed(2)} s, peak RSS ${long.peakMiB.toFixed(0)} MiB (inputs included), ${(long.within1 * 100).toFixed(1)}% within 1 frame`);

  const emb = await benchEmbed();
  console.log(`\nembeddings (built-in model, ${emb.size}): ${emb.framesPerSecond.toFixed(0)} frames/s over ${emb.frames} frames on ${emb.provider.toUpperCase()}`);

  const kernels = path.join(__dirname, 'kernels.ts');
  if (existsSync(kernels)) {
    const { benchKernels } = (await import(kernels)) as { benchKernels: () => Promise<Array<{ kernel: string; nativeMs: number; tsMs: number; ratio: number; size: string }>> };
    const k = await benchKernels();
    console.log('\nkernels: native vs TypeScript twin, same inputs');
    for (const r of k) console.log(`${r.kernel.padEnd(22)} native ${r.nativeMs.toFixed(1).padStart(9)} ms   ts ${r.tsMs.toFixed(1).padStart(9)} ms   ×${r.ratio.toFixed(1).padStart(5)}   ${r.size}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
