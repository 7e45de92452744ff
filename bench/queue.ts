/**
 * The job queue's cost and what workers buy, on a redis-server of its own (127.0.0.1, a free port):
 *   overhead  the same projects (align + render) run directly, one `vidkompy run` after another,
 *             against the same jobs through the queue on one worker: wall and CPU time (target ≤ 2%);
 *   throughput jobs per minute through the queue with 1 and 2 workers;
 *   split     one long project's render whole on 1 worker against split into chunks on 2.
 * Every process runs with --threads 1, so a worker is one core's worth. CPU time is user + system
 * of every process involved (workers, their job processes and ffmpeg children, the batch command):
 * steadier than wall time on a shared machine. Started by bench.ts; alone:
 *   node --import tsx bench/queue.ts   (needs redis-server and the built CLI: node scripts/build.mjs)
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { derive } from '../daemon/media/derive';
import { ffmpegPath, runTool } from '../daemon/media/ffmpeg';
import { BIN } from '../test/support/cli';
import { startRedis, whenLine, collect, type RedisServer } from '../test/support/queue';
import { spawnStoppable, stopOnSignal } from './timed';

const DIR = path.join(os.tmpdir(), 'vidkompy-bench', 'queue');
const JOBS = 4;
const SIZE = { width: 640, height: 360 };
const FPS = 25;
const LONG_SECONDS = 60;
const CHUNK_SECONDS = 15;
/** Each configuration runs this often, interleaved with the others; the best of each is reported. */
const ROUNDS = 2;

/** A bg with sound: testsrc2 under temporal noise (every frame its own picture), made once. */
async function syntheticBg(seconds: number): Promise<string> {
  const out = path.join(DIR, `bg-${SIZE.width}x${SIZE.height}-${seconds}s.mp4`);
  if (existsSync(out)) return out;
  await fs.mkdir(DIR, { recursive: true });
  const temp = `${out}.tmp.mp4`;
  const args = ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=${SIZE.width}x${SIZE.height}:r=${FPS}:d=${seconds}`];
  args.push('-f', 'lavfi', '-i', `sine=f=330:beep_factor=4:d=${seconds}`, '-vf', 'noise=alls=12:allf=t', '-c:v', 'libx264', '-preset', 'veryfast');
  args.push('-g', '50', '-c:a', 'aac', '-shortest', ffmpegPath(temp));
  await runTool('ffmpeg', args, { file: temp, what: 'making a bench bg' });
  await fs.rename(temp, out);
  return out;
}

/** fg number `k`: a crop of bg, starting `k`+1 s in, `seconds` long, made once. */
async function fgOf(bg: string, k: number, seconds: number): Promise<string> {
  const out = path.join(DIR, `fg-${path.basename(bg, '.mp4')}-${k}-${seconds}s.mp4`);
  if (existsSync(out)) return out;
  const crop = { x: 40 + 60 * k, y: 30 + 20 * k, width: 352, height: 224 };
  await derive(bg, out, { crop, offset: 1 + k, frames: seconds * FPS });
  return out;
}

/** A folder of fresh projects (no alignment, no output) over these fgs; `align` copies alignments from `from`. */
async function projects(name: string, bg: string, fgs: string[], from?: string): Promise<string> {
  const root = path.join(DIR, name);
  await fs.rm(root, { recursive: true, force: true });
  for (const [k, fg] of fgs.entries()) {
    const dir = path.join(root, `p${k}`);
    await fs.mkdir(dir, { recursive: true });
    await fs.link(bg, path.join(dir, 'bg.mp4'));
    await fs.link(fg, path.join(dir, 'fg.mp4'));
    await fs.writeFile(path.join(dir, 'p.vidkompy.json'), JSON.stringify({ bg: 'bg.mp4', fg: 'fg.mp4', output: 'out.mp4' }));
    if (from) await fs.copyFile(path.join(from, `p${k}`, 'p.vidkompy.align.json'), path.join(dir, 'p.vidkompy.align.json'));
  }
  return root;
}

interface Timed {
  wall: number;
  cpu: number;
  out: string;
}

/**
 * Runs `argv` under bash and reads back, with `times`, the CPU seconds of everything it ran
 * (the process tree, children reaped by their parents included). SIGTERM to the child is passed on
 * to the command (a worker then finishes and exits), and bash waits for it before it counts.
 */
const TIMED = '"$@" & c=$!; echo "pid $c" >&2; trap \'kill -TERM $c 2>/dev/null\' TERM; wait $c; s=$?; if kill -0 $c 2>/dev/null; then wait $c; s=$?; fi; times >&2; exit $s';
function timed(argv: string[], onStart?: (child: ChildProcess) => void): { child: ChildProcess; done: Promise<Timed> } {
  const t = performance.now();
  const child = collect(spawnStoppable('bash', ['-c', TIMED, 'bash', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }));
  onStart?.(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  const done = new Promise<Timed>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const lines = err.trim().split('\n').slice(-2);
      const parts = [...(lines[1] ?? '').matchAll(/(\d+)m([\d.]+)s/g)];
      if (parts.length !== 2) return reject(new Error(`${argv.join(' ')}: exit ${code ?? signal}: ${err.slice(-800)}`));
      resolve({ wall: (performance.now() - t) / 1000, cpu: parts.reduce((a, m) => a + Number(m[1]) * 60 + Number(m[2]), 0), out });
    });
  });
  return { child, done };
}

const node = (...args: string[]) => [process.execPath, BIN, ...args];

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a live process has used itself, children not counted (Linux /proc). */
async function ownCpu(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / clockTicks;
}

/** The pid of the command a `timed` bash runs. */
async function pidOf(t: ReturnType<typeof timed>): Promise<number> {
  return Number(/^pid (\d+)/.exec(await whenLine(t.child, /^pid \d+/, 10_000))![1]);
}

/** `vidkompy run` on every project of `root`, one after another. */
async function direct(root: string): Promise<Timed> {
  const files = (await fs.readdir(root)).sort().map((d) => path.join(root, d, 'p.vidkompy.json'));
  const script = 'for p in "${@:3}"; do "$1" "$2" run "$p" --threads 1 -q > /dev/null || exit 1; done';
  return timed(['bash', '-c', script, 'direct', process.execPath, BIN, ...files]).done;
}

/**
 * `vidkompy batch ROOT --queue` with `workers` workers started (and waiting) beforehand and stopped
 * (SIGTERM) after: wall time from the enqueue to the last result; CPU time of the batch command and
 * every worker tree; and the queue's own share of it, `machinery`: the batch command, the worker
 * processes themselves (not the job processes they run the work in) and redis-server.
 */
async function onQueue(redis: RedisServer, root: string, workers: number, chunkSeconds: number): Promise<Queued> {
  const ws = Array.from({ length: workers }, () => timed(node('worker', '--queue', redis.url, '--threads', '1')));
  let batch: Timed;
  let spent: number;
  try {
    await Promise.all(ws.map((w) => whenLine(w.child, /waiting for jobs/, 30_000)));
    const pids = [...(await Promise.all(ws.map(pidOf))), redis.proc.pid!];
    const before = await Promise.all(pids.map(ownCpu));
    batch = await timed(node('batch', root, '--queue', redis.url, '--chunk-seconds', String(chunkSeconds), '--json')).done;
    spent = (await Promise.all(pids.map(ownCpu))).reduce((a, c, i) => a + c - before[i], 0);
  } finally {
    // A failed batch too: its workers would otherwise wait for jobs for ever.
    for (const w of ws) w.child.kill('SIGTERM');
  }
  const done = await Promise.all(ws.map((w) => w.done));
  const s = JSON.parse(batch.out) as { jobs: number; done: number; results: { chunks?: number }[] };
  if (s.done !== s.jobs) throw new Error(`the queue batch failed: ${batch.out}`);
  const cpu = batch.cpu + done.reduce((a, d) => a + d.cpu, 0);
  return { wall: batch.wall, cpu, out: batch.out, machinery: batch.cpu + spent, jobs: s.jobs, chunks: s.results[0]?.chunks ?? 1 };
}

type Queued = Timed & { machinery: number; jobs: number; chunks: number };

export interface QueueBench {
  jobs: number;
  direct: Timed;
  queue1: Queued;
  queue2: Queued;
  /** The queue's own CPU (batch command, worker processes, redis-server) as a share of the direct run's CPU. */
  machineryShare: number;
  wallOverhead: number;
  cpuOverhead: number;
  perJobSeconds: number;
  jobsPerMinute1: number;
  jobsPerMinute2: number;
  whole: Queued;
  split: Queued;
  chunks: number;
  speedup: number;
  loadAverage: number[];
}

export async function benchQueue(): Promise<QueueBench | string> {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'skipped: redis-server is not installed (apt-get install redis-server)';
  }
  if (!existsSync(path.join(path.dirname(BIN), '..', 'dist', 'cli.js'))) return 'skipped: the CLI is not built (node scripts/build.mjs)';
  const bg = await syntheticBg(30);
  const fgs = await Promise.all(Array.from({ length: JOBS }, (_, k) => fgOf(bg, k, 20)));
  const redis = await startRedis();
  stopOnSignal(redis.proc);
  try {
    // Interleaved, the best of ROUNDS of each: the neighbours' load moves in between.
    const loads: number[] = [];
    const runs = { direct: [] as Timed[], queue1: [] as Queued[], queue2: [] as Queued[], whole: [] as Queued[], split: [] as Queued[] };
    for (let round = 0; round < ROUNDS; round++) {
      loads.push(os.loadavg()[0]);
      runs.direct.push(await direct(await projects('direct', bg, fgs)));
      runs.queue1.push(await onQueue(redis, await projects('queue1', bg, fgs), 1, 0));
      runs.queue2.push(await onQueue(redis, await projects('queue2', bg, fgs), 2, 0));
    }
    // One long project: aligned once, then only its render timed, whole and split.
    const longBg = await syntheticBg(LONG_SECONDS + 10);
    const longFg = await fgOf(longBg, 0, LONG_SECONDS);
    const aligned = await projects('long-aligned', longBg, [longFg]);
    await direct(aligned); // writes the project's alignment (and a render nobody times)
    for (let round = 0; round < ROUNDS; round++) {
      loads.push(os.loadavg()[0]);
      runs.whole.push(await onQueue(redis, await projects('long-whole', longBg, [longFg], aligned), 1, 0));
      runs.split.push(await onQueue(redis, await projects('long-split', longBg, [longFg], aligned), 2, CHUNK_SECONDS));
    }
    const least = <T extends Timed>(l: T[], k: keyof T) => Math.min(...l.map((t) => t[k] as number));
    const best = (l: Queued[]): Queued => ({ ...l[0], wall: least(l, 'wall'), cpu: least(l, 'cpu'), machinery: least(l, 'machinery') });
    const d = { wall: least(runs.direct, 'wall'), cpu: least(runs.direct, 'cpu'), out: '' };
    const [q1, q2, whole, split] = [best(runs.queue1), best(runs.queue2), best(runs.whole), best(runs.split)];
    return {
      jobs: JOBS,
      direct: d,
      queue1: q1,
      queue2: q2,
      wallOverhead: q1.wall / d.wall - 1,
      cpuOverhead: q1.cpu / d.cpu - 1,
      machineryShare: q1.machinery / d.cpu,
      perJobSeconds: (q1.wall - d.wall) / JOBS,
      jobsPerMinute1: (JOBS * 60) / q1.wall,
      jobsPerMinute2: (JOBS * 60) / q2.wall,
      whole,
      split,
      chunks: split.chunks,
      speedup: whole.wall / split.wall,
      loadAverage: [...loads, os.loadavg()[0]],
    };
  } finally {
    await redis.stop();
  }
}

/** The figures as the bench prints them. */
export function queueLines(q: QueueBench | string): string[] {
  if (typeof q === 'string') return [`job queue: ${q}`];
  const pct = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;
  const f1 = (v: number) => v.toFixed(1);
  const t = (x: Timed) => `wall ${f1(x.wall)} s, CPU ${f1(x.cpu)} s`;
  return [
    `job queue (BullMQ, redis-server on 127.0.0.1; ${q.jobs} projects of 20 s, ${SIZE.width}x${SIZE.height} ${FPS} fps, align + render; --threads 1 everywhere; ` +
      `best of ${ROUNDS}, interleaved; load average ${q.loadAverage.map(f1).join(' → ')}):`,
    `  direct, vidkompy run one after another: ${t(q.direct)}`,
    `  queue, 1 worker:                       ${t(q.queue1)}: ${pct(q.wallOverhead)} wall (${q.perJobSeconds.toFixed(2)} s a job), ${pct(q.cpuOverhead)} CPU`,
    `  the queue's own CPU (batch command, worker processes, redis-server): ${q.queue1.machinery.toFixed(2)} s, ` +
      `${(q.queue1.machinery / q.jobs).toFixed(2)} s a job = ${(q.machineryShare * 100).toFixed(2)}% of the jobs' CPU (target ≤ 2%)`,
    `  throughput: ${f1(q.jobsPerMinute1)} jobs/min on 1 worker, ${f1(q.jobsPerMinute2)} on 2 (${t(q.queue2)})`,
    `  split render, ${LONG_SECONDS} s project, render only: whole on 1 worker ${t(q.whole)}; ${q.chunks} chunks of ~${CHUNK_SECONDS} s on 2 workers ${t(q.split)}: ×${q.speedup.toFixed(2)}`,
  ];
}

if (require.main === module) {
  benchQueue()
    .then((q) => {
      console.log(`${os.cpus().length} cores`);
      for (const l of queueLines(q)) console.log(l);
    })
    .catch((e) => {
      console.error(e);
      process.exitCode = 1;
    });
}
