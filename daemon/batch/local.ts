import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { holdTemp, dropTemp } from '../core/atomic';
import { VidkompyError } from '../core/errors';
import { reapNow } from '../media/ffmpeg';
import { THREADS_PER_JOB } from './constants';
import { failure, stopwatch, type JobProgress, type JobResult } from './job';
import { chunkFiles, runTask, splitProgress, type BatchTask, type ChunkPlan, type TaskOutcome } from './split';

/**
 * Jobs run in worker processes: the CLI itself (`vidkompy worker`, forked with an IPC channel).
 * A crash or a leak stays in one process, each gets its own thread budget, a killed parent takes
 * its workers with it (disconnect), and the parent's event loop stays free: a queue worker keeps
 * renewing its job locks while the heavy work runs elsewhere.
 */

type ToChild = { type: 'job'; task: BatchTask } | { type: 'cancel' };
type FromChild = { type: 'progress'; progress: JobProgress } | { type: 'result'; result: TaskOutcome };

/** The CLI's own entry: beside the bundle (dist/cli.js) or, from the sources, two folders up. */
function cliEntry(): string {
  const candidates = [path.join(__dirname, '..', 'bin', 'vidkompy.js'), path.join(__dirname, '..', '..', 'bin', 'vidkompy.js')];
  const hit = candidates.find((f) => existsSync(f) && existsSync(path.join(path.dirname(f), '..', 'dist', 'cli.js')));
  if (!hit) throw new VidkompyError('TOOL_MISSING', `${candidates[1]}: the vidkompy CLI is not built; run 'npm run build'`);
  return hit;
}

/** Workers and threads each: what the cores allow, at THREADS_PER_JOB each unless --threads says. */
export function poolSize(jobs: number, workers?: number, threads?: number, cores = os.availableParallelism()): { workers: number; threads: number } {
  const n = Math.max(1, Math.min(jobs, workers ?? (Math.floor(cores / (threads ?? THREADS_PER_JOB)) || 1)));
  return { workers: n, threads: threads ?? Math.max(1, Math.floor(cores / n)) };
}

/** One worker process, running one job at a time; a new one is forked if it died. */
export class JobProcess {
  private child?: ChildProcess;
  private stderr = '';

  /** `entry`: the script to fork with `worker` (default: the CLI; the daemon forks its own bundle). */
  constructor(
    private readonly threads?: number,
    private readonly entry?: string,
  ) {}

  private start(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null && this.child.connected) return this.child;
    const args = ['worker', ...(this.threads ? ['--threads', String(this.threads)] : [])];
    const child = fork(this.entry ?? cliEntry(), args, { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.stderr = '';
    child.stderr!.on('data', (c) => (this.stderr = (this.stderr + c).slice(-2000)));
    this.child = child;
    return child;
  }

  /** Runs one step of a batch (a whole project, or a step of a split render) in the process. */
  run(task: BatchTask, onProgress?: (p: JobProgress) => void, signal?: AbortSignal): Promise<TaskOutcome> {
    const file = task.file;
    const child = this.start();
    return new Promise((resolve) => {
      const onCancel = () => child.connected && child.send({ type: 'cancel' } satisfies ToChild);
      const onMessage = (m: FromChild) => {
        if (m.type === 'progress') onProgress?.(m.progress);
        else end(m.result);
      };
      const onExit = (code: number | null, sig: NodeJS.Signals | null) => {
        // The process died under its job: the job fails with what it said last.
        const why = this.stderr.trim().split('\n').pop() || `exit ${sig ?? code}`;
        end({ project: file, status: 'failed', error: `the worker process died: ${why}`, code: 'INTERNAL' });
      };
      const end = (r: TaskOutcome) => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        signal?.removeEventListener('abort', onCancel);
        resolve(r);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
      signal?.addEventListener('abort', onCancel);
      child.send({ type: 'job', task } satisfies ToChild);
      if (signal?.aborted) onCancel();
    });
  }

  /** Lets the process end (it exits when its channel closes). */
  close(): void {
    if (this.child?.connected) this.child.disconnect();
  }
}

export interface PoolHooks {
  onProgress?: (file: string, p: JobProgress) => void;
  onStart?: (file: string) => void;
  onResult?: (r: JobResult) => void;
}

export interface LocalOptions {
  workers?: number;
  threads?: number;
  /** Split renders of projects at least twice this long (seconds) across the workers; 0: never. */
  chunkSeconds?: number;
  /** Stops the running jobs (their outputs are left as they were) and starts no more: those are 'cancelled'. */
  signal?: AbortSignal;
  /** The script the worker processes run (see JobProcess). */
  entry?: string;
}

/**
 * The local batch: every project on `workers` processes; one result per project, in order. A long
 * project's render is split into chunks when there are several workers: its chunk steps go to the
 * front of the line, so idle workers take them before starting other projects, and the join follows
 * the last chunk. Chunk files are held as temp files of this process until joined or dropped, so
 * Ctrl-C or a kill removes them (the reaper, media/ffmpeg.ts).
 */
export async function runLocal(files: string[], opts: LocalOptions, hooks: PoolHooks = {}): Promise<JobResult[]> {
  // A project split into chunks keeps more workers busy than one job: `--workers N` given, the pool
  // is not capped by the number of projects (a process is only forked when it first gets a step).
  const jobs = opts.chunkSeconds && opts.workers ? Math.max(files.length, opts.workers) : files.length;
  const { workers, threads } = poolSize(jobs, opts.workers, opts.threads);
  // Splitting pays only when another worker can take a chunk.
  const chunkSeconds = workers > 1 ? (opts.chunkSeconds ?? 0) : 0;
  const line: Step[] = [];
  const idle: (() => void)[] = [];
  let open = files.length;
  const wakeAll = () => idle.splice(0).forEach((w) => w());
  const submit: Submit = (task, o = {}) =>
    new Promise<TaskOutcome>((done) => {
      const step = { task, ...o, done };
      if (o.first) line.unshift(step);
      else line.push(step);
      wakeAll();
    });
  const drain = async () => {
    const proc = new JobProcess(threads, opts.entry);
    try {
      while (open) {
        const step = line.shift();
        if (!step) {
          await new Promise<void>((r) => idle.push(r));
          continue;
        }
        // After a cancel nothing new starts, except dropping a split render's chunks (its cleanup).
        if (opts.signal?.aborted && step.task.kind !== 'drop') {
          step.done({ project: step.task.file, status: 'cancelled', error: 'cancelled before it started' });
          continue;
        }
        step.onStart?.();
        step.done(await proc.run(step.task, step.onProgress, opts.signal));
      }
    } finally {
      proc.close();
    }
  };
  const project = async (file: string, n: number): Promise<JobResult> => {
    const seconds = stopwatch();
    const onProgress = (p: JobProgress) => hooks.onProgress?.(file, p);
    const split = chunkSeconds > 0 ? { seconds: chunkSeconds, id: `local${process.pid}x${n}x${Date.now().toString(36)}` } : undefined;
    const r = await submit({ kind: 'project', file, split }, { onProgress, onStart: () => hooks.onStart?.(file) });
    if (r.status !== 'split') return r;
    const joined = await splitRender(file, r.plan, submit, onProgress);
    return joined.status === 'done' ? { ...joined, aligned: r.aligned, seconds: seconds() } : joined;
  };
  const results = Promise.all(
    files.map(async (file, n) => {
      const r = await project(file, n).catch((e) => failure(file, e));
      hooks.onResult?.(r);
      if (!--open) wakeAll();
      return r;
    }),
  );
  await Promise.all(Array.from({ length: workers }, drain));
  return results;
}

interface Step {
  task: BatchTask;
  onProgress?: (p: JobProgress) => void;
  onStart?: () => void;
  done: (r: TaskOutcome) => void;
}
type Submit = (task: BatchTask, o?: { onProgress?: (p: JobProgress) => void; onStart?: () => void; first?: boolean }) => Promise<TaskOutcome>;

/**
 * A split render on the local pool: every chunk, then the join, or the drop if a chunk failed.
 * Its steps go to the front of the line: idle workers take them before starting other projects.
 */
async function splitRender(file: string, plan: ChunkPlan, submit: Submit, onProgress: (p: JobProgress) => void): Promise<JobResult> {
  const held = chunkFiles(plan.output, plan);
  for (const f of held) holdTemp(f);
  try {
    const percents = plan.chunks.map(() => 0);
    const chunk = (index: number) => {
      const progress = (p: JobProgress) => ((percents[index] = p.percent), onProgress(splitProgress(percents)));
      return submit({ kind: 'chunk', file, plan, index }, { onProgress: progress, first: true });
    };
    // Put at the front last to first, so they are taken first to last.
    const queued = plan.chunks.map((_, k) => k).reverse().map(chunk).reverse();
    const parts = (await Promise.all(queued)) as JobResult[];
    const failed = parts.find((p) => p.status !== 'done');
    const joined = failed ?? ((await submit({ kind: 'join', file, plan }, { onProgress, first: true })) as JobResult);
    if (joined.status !== 'done') await submit({ kind: 'drop', file, plan }, { first: true });
    return { ...joined, project: file };
  } finally {
    for (const f of held) dropTemp(f);
  }
}

/** The forked side: runs the jobs its parent sends, one at a time, until the parent disconnects. */
export function serveLocal(): Promise<number> {
  return new Promise((resolve) => {
    const send = (m: FromChild) => process.connected && process.send?.(m);
    let current: AbortController | undefined;
    // The parent is gone (done, or killed): stop ffmpeg, remove temps, end now, so a job whose
    // worker died never renames an output into place after its queue handed the job to another.
    process.on('disconnect', () => {
      reapNow();
      resolve(0);
      process.exit(0);
    });
    process.on('message', (m: ToChild) => {
      if (m?.type === 'cancel') return current?.abort();
      if (m?.type !== 'job') return;
      const ac = (current = new AbortController());
      const file = m.task.file;
      runTask(m.task, { signal: ac.signal, onProgress: (progress) => send({ type: 'progress', progress }) })
        .then(
          (r): TaskOutcome => ({ ...r, project: file }),
          (e) => failure(file, e),
        )
        .then((result) => send({ type: 'result', result }));
    });
  });
}
