/**
 * More than one kind of pair (#16): the 60 s bench pair flatters, since its fixed noise gives every
 * region texture and both inputs run at 30 fps. Each pair here is timed against its own decode floor,
 * and its alignment scored against the truth derive.ts wrote:
 * - flat: testsrc2 without noise (large flat areas, the search's hard case), fg a 960×540 crop at
 *   24 fps from 5 s in (an fps change);
 * - real: real footage (../shared/media/vtest.avi, MPEG-4 part 2, 10 fps, 80 s), fg a graded crop
 *   at 25 fps from 3 s in; left out, and said so, where ../shared is absent.
 * `npm run bench -- --pairs` runs only these.
 */
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { derive, type DeriveSpec, type DeriveTruth } from '../daemon/media/derive';
import type { Alignment } from '../daemon/engine/result';
import { score, type Score } from '../daemon/selftest/score';
import { ffmpeg, floorCommand, stepCommand, timed } from './timed';

interface PairSpec {
  name: string;
  what: string;
  /** Makes bg at `file` (undefined: bg is `source`, used as it is). */
  make?: (file: string) => Promise<unknown>;
  source?: string;
  fg: DeriveSpec;
}

const SHARED_VTEST = path.resolve(__dirname, '..', '..', 'shared', 'media', 'vtest.avi');

export const PAIRS: PairSpec[] = [
  {
    name: 'flat',
    what: 'testsrc2 1080p30 60 s without noise; fg a 960x540 crop at 24 fps from 5 s in',
    make: (file) =>
      ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=1920x1080:r=30:d=60', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-g', '60', file]),
    fg: { crop: { x: 480, y: 270, width: 960, height: 540 }, fps: 24, offset: 5, crf: 20 },
  },
  {
    name: 'real',
    what: 'vtest.avi (real footage, 768x576 MPEG-4 part 2 at 10 fps, 80 s); fg a graded 512x384 crop at 25 fps from 3 s in',
    source: SHARED_VTEST,
    fg: { crop: { x: 128, y: 96, width: 512, height: 384 }, fps: 25, offset: 3, grade: { contrast: 1.1, brightness: 0.03 }, crf: 20 },
  },
];

export interface PairRun {
  name: string;
  what: string;
  floor: { wall: number; cpu: number };
  align: { wall: number; cpu: number };
  score: Score;
  timings: Record<string, number>;
}

/** The pair's bg and fg (made once in `dir`), or why it cannot be had here. */
async function pairFiles(p: PairSpec, dir: string): Promise<{ bg: string; fg: string; truth: DeriveTruth } | string> {
  await fs.mkdir(dir, { recursive: true });
  let bg = p.source ?? path.join(dir, `pair-${p.name}-bg.mp4`);
  if (p.source && !existsSync(p.source)) return `${p.source} is absent (../shared/media)`;
  if (p.make && !existsSync(bg)) {
    process.stderr.write(`generating the ${p.name} pair's bg (once)...\n`);
    await p.make(`${bg}.partial.mp4`);
    await fs.rename(`${bg}.partial.mp4`, bg);
  }
  bg = path.resolve(bg);
  const fg = path.join(dir, `pair-${p.name}-fg.mp4`);
  const truthFile = `${fg}.truth.json`;
  if (!existsSync(fg) || !existsSync(truthFile)) {
    const truth = await derive(bg, `${fg}.partial.mp4`, p.fg);
    await fs.rename(`${fg}.partial.mp4`, fg);
    await fs.writeFile(truthFile, JSON.stringify(truth));
  }
  return { bg, fg, truth: JSON.parse(await fs.readFile(truthFile, 'utf8')) as DeriveTruth };
}

/** Each pair's floor and align (each in a process of its own, timed alone), and its accuracy. */
export async function benchPairs(dir: string): Promise<(PairRun | { name: string; skipped: string })[]> {
  const out: (PairRun | { name: string; skipped: string })[] = [];
  const stepOut = path.join(dir, 'step.out');
  for (const p of PAIRS) {
    const files = await pairFiles(p, dir);
    if (typeof files === 'string') {
      out.push({ name: p.name, skipped: files });
      continue;
    }
    const { bg, fg, truth } = files;
    const floor = await timed(floorCommand(bg, fg), stepOut);
    const alFile = path.join(dir, `pair-${p.name}-alignment.json`);
    const al = await timed(stepCommand('align', bg, fg, alFile), stepOut);
    const a = JSON.parse(await fs.readFile(alFile, 'utf8')) as Alignment;
    out.push({ name: p.name, what: p.what, floor, align: al, score: score(a, truth), timings: a.timings });
  }
  return out;
}

const f2 = (v: number) => v.toFixed(2);

export function pairLines(runs: Awaited<ReturnType<typeof benchPairs>>): string[] {
  const lines = [`align on more kinds of pair (${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at the end):`];
  for (const r of runs) {
    if ('skipped' in r) {
      lines.push(`  ${r.name}: not run (${r.skipped})`);
      continue;
    }
    const s = r.score;
    lines.push(
      `  ${r.name} (${r.what}): align ${f2(r.align.wall)} s wall, ${f2(r.align.cpu)} s CPU; floor ${f2(r.floor.wall)} / ${f2(r.floor.cpu)} s; ` +
        `ratio ${f2(r.align.wall / r.floor.wall)} wall, ${f2(r.align.cpu / r.floor.cpu)} CPU; ` +
        `${(s.within1 * 100).toFixed(1)}% of fg frames within one bg frame (max ${s.maxErr}), placement off ${s.dx}, ${s.dy} px`,
      `    stages (s): ${Object.entries(r.timings)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ')}`,
    );
  }
  return lines;
}
