import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VidkompyError } from '../core/errors';
import { reapNow } from '../media/ffmpeg';
import { THREADS_PER_JOB } from './constants';
import { failure, runBatchJob, type JobProgress, type JobResult } from './job';

/**
 * The local batch: N worker processes on this machine, no Redis. Each is the CLI itself
 * (`vidkompy worker`, forked with an IPC channel): a crash or a leak stays in one process, every
 * job gets its own thread budget, and a killed parent takes its workers with it (disconnect).
 */

type ToWorker = { type: 'job'; file: string };
type FromWorker = { type: 'progress'; file: string; progress: JobProgress } | { type: 'result'; result: JobResult };

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

export interface PoolHooks {
  onProgress?: (file: string, p: JobProgress) => void;
  onStart?: (file: string) => void;
  onResult?: (r: JobResult) => void;
}

/** Runs every project on `workers` local processes; resolves with one result per project, in order. */
export async function runLocal(files: string[], opts: { workers?: number; threads?: number }, hooks: PoolHooks = {}): Promise<JobResult[]> {
  const entry = cliEntry();
  const { workers, threads } = poolSize(files.length, opts.workers, opts.threads);
  const results = new Map<string, JobResult>();
  const todo = [...files];
  const spawnWorker = () =>
    new Promise<void>((resolve) => {
      const child: ChildProcess = fork(entry, ['worker', '--threads', String(threads)], { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      let current: string | undefined;
      let stderr = '';
      child.stderr!.on('data', (c) => (stderr = (stderr + c).slice(-2000)));
      const next = () => {
        current = todo.shift();
        if (!current) return child.disconnect();
        hooks.onStart?.(current);
        child.send({ type: 'job', file: current } satisfies ToWorker);
      };
      child.on('message', (m: FromWorker) => {
        if (m.type === 'progress') hooks.onProgress?.(m.file, m.progress);
        else {
          results.set(m.result.project, m.result);
          hooks.onResult?.(m.result);
          next();
        }
      });
      child.on('exit', (code, signal) => {
        if (current && !results.has(current)) {
          // The worker died under its job: that job fails with what it said, the rest go on.
          const why = stderr.trim().split('\n').pop() || `exit ${signal ?? code}`;
          const r: JobResult = { project: current, status: 'failed', error: `the worker process died: ${why}`, code: 'INTERNAL' };
          results.set(current, r);
          hooks.onResult?.(r);
          if (todo.length) return void spawnWorker().then(resolve);
        }
        resolve();
      });
      next();
    });
  await Promise.all(Array.from({ length: workers }, spawnWorker));
  return files.map((f) => results.get(f) ?? { project: f, status: 'failed', error: 'not run', code: 'INTERNAL' });
}

/** The forked side: runs the jobs its parent sends, one at a time, until the parent disconnects. */
export function serveLocal(): Promise<number> {
  return new Promise((resolve) => {
    const send = (m: FromWorker) => process.send?.(m);
    // The parent is gone (done, or killed): stop ffmpeg, remove temps, end.
    process.on('disconnect', () => {
      reapNow();
      resolve(0);
    });
    process.on('message', (m: ToWorker) => {
      if (m?.type !== 'job') return;
      runBatchJob(m.file, { onProgress: (progress) => send({ type: 'progress', file: m.file, progress }) }).then(
        (r) => send({ type: 'result', result: { ...r, project: m.file } }),
        (e) => send({ type: 'result', result: failure(m.file, e) }),
      );
    });
  });
}
