import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VidkompyError } from '../core/errors';
import { reapNow } from '../media/ffmpeg';
import { THREADS_PER_JOB } from './constants';
import { failure, runBatchJob, type JobProgress, type JobResult } from './job';

/**
 * Jobs run in worker processes: the CLI itself (`vidkompy worker`, forked with an IPC channel).
 * A crash or a leak stays in one process, each gets its own thread budget, a killed parent takes
 * its workers with it (disconnect), and the parent's event loop stays free: a queue worker keeps
 * renewing its job locks while the heavy work runs elsewhere.
 */

type ToChild = { type: 'job'; file: string } | { type: 'cancel' };
type FromChild = { type: 'progress'; progress: JobProgress } | { type: 'result'; result: JobResult };

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

  run(file: string, onProgress?: (p: JobProgress) => void, signal?: AbortSignal): Promise<JobResult> {
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
      const end = (r: JobResult) => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        signal?.removeEventListener('abort', onCancel);
        resolve(r);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
      signal?.addEventListener('abort', onCancel);
      child.send({ type: 'job', file } satisfies ToChild);
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
  /** Stops the running jobs (their outputs are left as they were) and starts no more: those are 'cancelled'. */
  signal?: AbortSignal;
  /** The script the worker processes run (see JobProcess). */
  entry?: string;
}

/** The local batch: every project on `workers` processes; one result per project, in order. */
export async function runLocal(files: string[], opts: LocalOptions, hooks: PoolHooks = {}): Promise<JobResult[]> {
  const { workers, threads } = poolSize(files.length, opts.workers, opts.threads);
  const results = new Map<string, JobResult>();
  const todo = [...files];
  const drain = async () => {
    const proc = new JobProcess(threads, opts.entry);
    try {
      for (let file = todo.shift(); file; file = todo.shift()) {
        if (opts.signal?.aborted) {
          const r: JobResult = { project: file, status: 'cancelled', error: 'cancelled before it started' };
          results.set(file, r);
          hooks.onResult?.(r);
          continue;
        }
        hooks.onStart?.(file);
        const r = await proc.run(file, (p) => hooks.onProgress?.(file!, p), opts.signal);
        results.set(file, r);
        hooks.onResult?.(r);
      }
    } finally {
      proc.close();
    }
  };
  await Promise.all(Array.from({ length: workers }, drain));
  return files.map((f) => results.get(f)!);
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
      runBatchJob(m.file, { signal: ac.signal, onProgress: (progress) => send({ type: 'progress', progress }) })
        .then(
          (r) => ({ ...r, project: m.file }),
          (e) => failure(m.file, e),
        )
        .then((result) => send({ type: 'result', result }));
    });
  });
}
