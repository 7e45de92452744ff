/**
 * `npm run bench -- --long [--minutes 10,30,60] [--keep]`: hour-long inputs on real decoding. For
 * each length it generates a 1080p30 bg and a fg derived from it with a known truth, then measures,
 * each in a process of its own (bench/step.ts): ffmpeg decoding both inputs (the floor), align, and
 * render; wall and CPU time, the worker's peak memory, and the alignment against the truth. The point
 * is the trend: time per minute of input should stay level and peak memory flat as length grows.
 * The pair is generated in the OS temp folder and deleted after its run (a 60-minute one is a few
 * GB) unless `--keep`, which also reuses a kept pair; generation time is printed but kept out of
 * the stage figures.
 */
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { derive, type DeriveSpec, type DeriveTruth } from '../daemon/media/derive';
import { decodeTable, type DecodeRecord } from '../daemon/media/decodestats';
import type { Alignment } from '../daemon/engine/result';
import { score, type Score } from '../daemon/selftest/score';
import { ffmpeg, floorCommand, stepCommand, timed, type Timed } from './timed';

export const LONG_DIR = path.join(os.tmpdir(), 'vidkompy-bench-long');
export const LONG_MINUTES = [10, 30, 60];
/** Bumped when the generated media change, so a kept pair of an older kind is not reused. */
const VERSION = 1;
/** Generation and render settings: x264 ultrafast keeps generating an hour of 1080p affordable. */
const GEN = { preset: 'ultrafast', crf: 26 };
const RENDER = { preset: 'ultrafast', crf: 23 };

/**
 * testsrc2 alone is mostly static colour bars whose few moving parts repeat within seconds. Two
 * large boxes on quasi-periodic paths (products of sines at incommensurate rates: the picture never
 * comes back) make every moment different at any analysis size, and fresh noise each frame gives
 * flat areas texture. No commas inside the expressions: they would split the filter chain.
 */
const BG_FILTER = [
  "drawbox=x='(iw-w)*(0.5+0.5*sin(t*0.37)*cos(t*0.113))':y='(ih-h)*(0.5+0.5*sin(t*0.29+1)*cos(t*0.071))':w=360:h=240:color=white:t=fill",
  "drawbox=x='(iw-w)*(0.5+0.5*cos(t*0.23)*sin(t*0.0917+2))':y='(ih-h)*(0.5+0.5*cos(t*0.19)*sin(t*0.053))':w=300:h=420:color=black:t=fill",
  'noise=alls=5:allf=t',
].join(',');

/** fg: a 960×540 crop at 24 fps from 5 s in, running 1% fast, graded. */
const FG_SPEC: DeriveSpec = {
  crop: { x: 600, y: 300, width: 960, height: 540 },
  fps: 24,
  offset: 5,
  speed: 1.01,
  grade: { contrast: 1.1, brightness: 0.03 },
  crf: 23,
};

export interface LongPair {
  bg: string;
  fg: string;
  truth: DeriveTruth;
  /** Seconds spent generating bg and deriving fg (0 for each when a kept pair was reused). */
  genBg: number;
  genFg: number;
}

/** The pair for `minutes`, generated unless a kept one is there. */
export async function longPair(minutes: number, dir = LONG_DIR): Promise<LongPair> {
  await fs.mkdir(dir, { recursive: true });
  const bg = path.join(dir, `bg-1080p30-${minutes}min-v${VERSION}.mp4`);
  const fg = path.join(dir, `fg-540p24-${minutes}min-v${VERSION}.mp4`);
  const truthFile = `${fg}.truth.json`;
  let genBg = 0;
  let genFg = 0;
  if (!existsSync(bg)) {
    process.stderr.write(`generating the ${minutes}-minute 1080p30 bg...\n`);
    const temp = `${bg}.partial.mp4`;
    const src = `testsrc2=s=1920x1080:r=30:d=${minutes * 60}`;
    genBg = await ffmpeg(['-f', 'lavfi', '-i', src, '-vf', BG_FILTER, '-c:v', 'libx264', '-preset', GEN.preset, '-crf', String(GEN.crf), '-g', '60', temp]);
    await fs.rename(temp, bg);
  }
  if (!existsSync(fg) || !existsSync(truthFile)) {
    process.stderr.write(`deriving the fg (daemon/media/derive.ts)...\n`);
    const t = performance.now();
    const truth = await derive(bg, fg, FG_SPEC);
    genFg = (performance.now() - t) / 1000;
    await fs.writeFile(truthFile, JSON.stringify(truth));
  }
  return { bg, fg, truth: JSON.parse(await fs.readFile(truthFile, 'utf8')) as DeriveTruth, genBg, genFg };
}

/** What bench/step.ts prints. */
interface StepStats {
  seconds: number;
  peakMiB: number;
  maxRssMiB: number;
  /** Peak RSS by the stage the progress callback last named. */
  stageMiB: Record<string, number>;
  decodes: DecodeRecord[];
}

export interface LongRun {
  minutes: number;
  bgFrames: number;
  fgFrames: number;
  genBg: number;
  genFg: number;
  floor: Omit<Timed, 'stdout'>;
  align: Omit<Timed, 'stdout'> & { peakMiB: number; stageMiB: Record<string, number> };
  render: Omit<Timed, 'stdout'> & { peakMiB: number };
  timings: Record<string, number>;
  score: Score;
  alignDecodes: string;
  load: number;
}

/** One length: generate (or reuse), then floor, align and render, each timed on its own. */
export async function longRun(minutes: number, o: { dir?: string; keep?: boolean } = {}): Promise<LongRun> {
  const dir = o.dir ?? LONG_DIR;
  const pair = await longPair(minutes, dir);
  const { bg, fg, truth } = pair;
  const out = path.join(dir, 'step.out');
  const load = os.loadavg()[0];
  const floor = await timed(floorCommand(bg, fg), out);
  const alFile = path.join(dir, `alignment-${minutes}min.json`);
  const al = await timed(stepCommand('align', bg, fg, alFile), out);
  const alStats = JSON.parse(al.stdout) as StepStats;
  const a = JSON.parse(await fs.readFile(alFile, 'utf8')) as Alignment;
  const rendered = path.join(dir, `render-${minutes}min.mp4`);
  const rd = await timed(stepCommand('compose', bg, fg, alFile, rendered, RENDER.preset, String(RENDER.crf)), out);
  const rdStats = JSON.parse(rd.stdout) as StepStats;
  await fs.rm(rendered, { force: true });
  if (!o.keep) for (const f of [bg, fg, `${fg}.truth.json`, alFile]) await fs.rm(f, { force: true });
  const name = (f: string) => (f === bg ? 'bg' : f === fg ? 'fg' : path.basename(f));
  return {
    minutes,
    bgFrames: a.bg.frameCount,
    fgFrames: a.fg.frameCount,
    genBg: pair.genBg,
    genFg: pair.genFg,
    floor: { wall: floor.wall, cpu: floor.cpu },
    // The sampled and the kernel's peak agree within a sample's worth; the kernel's misses nothing.
    align: { wall: al.wall, cpu: al.cpu, peakMiB: Math.max(alStats.peakMiB, alStats.maxRssMiB), stageMiB: alStats.stageMiB },
    render: { wall: rd.wall, cpu: rd.cpu, peakMiB: Math.max(rdStats.peakMiB, rdStats.maxRssMiB) },
    timings: a.timings,
    score: score(a, truth),
    alignDecodes: decodeTable(alStats.decodes, name),
    load,
  };
}

const f1 = (v: number) => v.toFixed(1);
const f2 = (v: number) => v.toFixed(2);

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

/** The report: per length, each stage's time and time per minute of input, peak memory and accuracy. */
export function longLines(runs: LongRun[]): string[] {
  const lines = [
    `long bench (real decoding): bg 1920x1080 30 fps testsrc2 with moving boxes and noise, fg its ${FG_SPEC.crop?.width}x${FG_SPEC.crop?.height} crop at ${FG_SPEC.fps} fps from ${FG_SPEC.offset} s in, ${(((FG_SPEC.speed ?? 1) - 1) * 100).toFixed(1)}% fast, graded; x264 ${GEN.preset} crf ${GEN.crf}; render x264 ${RENDER.preset} crf ${RENDER.crf}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'})`,
  ];
  const head = ['minutes', 'stage', 'wall s', 'CPU s', 'wall s/min', 'CPU s/min', '× floor (wall, CPU)', 'peak RSS MiB'];
  const rows = [head];
  for (const r of runs) {
    const stage = (name: string, t: { wall: number; cpu: number; peakMiB?: number }, ratio: boolean) => [
      String(r.minutes),
      name,
      f1(t.wall),
      f1(t.cpu),
      f2(t.wall / r.minutes),
      f2(t.cpu / r.minutes),
      ratio ? `${f2(t.wall / r.floor.wall)}, ${f2(t.cpu / r.floor.cpu)}` : '',
      t.peakMiB === undefined ? '' : t.peakMiB.toFixed(0),
    ];
    rows.push(stage('decode floor', r.floor, false), stage('align', r.align, true), stage('render', r.render, false));
  }
  lines.push(table(rows));
  lines.push('decode floor = ffmpeg decoding bg and fg concurrently to null; CPU = user + system of the whole process tree; peak RSS = the node process doing the step.');
  for (const r of runs) {
    const s = r.score;
    const t = Object.entries(r.timings)
      .map(([k, v]) => `${k} ${f1(v)}`)
      .join(', ');
    lines.push(
      `\n${r.minutes} min: bg ${r.bgFrames} frames, fg ${r.fgFrames}; generated in ${f1(r.genBg)} s (bg) + ${f1(r.genFg)} s (fg)${r.genBg + r.genFg === 0 ? ' (kept pair reused)' : ''}; load average ${f1(r.load)} at the start`,
      `  accuracy: ${(s.within1 * 100).toFixed(2)}% of fg frames within one bg frame, max error ${s.maxErr} frames, placement off by ${s.dx}, ${s.dy} px (size ${f2(s.dSize)} px)` +
        (s.timeMeanMs === undefined ? '' : `, time error mean ${f1(s.timeMeanMs)} ms, max ${f1(s.timeMaxMs ?? 0)} ms`),
      `  align stages (s): ${t}`,
      `  align peak RSS by stage (MiB): ${Object.entries(r.align.stageMiB)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
      `  align decodes:\n${r.alignDecodes.replace(/^/gm, '    ')}`,
    );
  }
  return lines;
}

/** `--minutes 10` or `--minutes 10,30`: the lengths asked for (default 10, 30 and 60). */
export function minutesArg(argv: string[]): number[] {
  const i = argv.indexOf('--minutes');
  if (i < 0) return LONG_MINUTES;
  const list = (argv[i + 1] ?? '').split(',').map(Number);
  if (!list.length || list.some((m) => !(m > 0))) throw new Error(`--minutes ${argv[i + 1] ?? ''}: give minutes of input, e.g. --minutes 10 or --minutes 10,30,60`);
  return list;
}

export async function benchLongVideo(argv: string[]): Promise<void> {
  const runs: LongRun[] = [];
  for (const m of minutesArg(argv)) {
    runs.push(await longRun(m, { keep: argv.includes('--keep') }));
    // Each length as it finishes: an hour's run takes long enough to want the early figures.
    console.log(longLines(runs.slice(-1)).join('\n'));
  }
  if (runs.length > 1) console.log(`\nall lengths\n${longLines(runs).join('\n')}`);
  await fs.writeFile(path.join(LONG_DIR, 'results.json'), JSON.stringify(runs, null, 1));
}

if (require.main === module) {
  benchLongVideo(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
