import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Stage } from '../../protocol/project';
import type { ComposeResult, FirstMap } from '../engine';
import { VidkompyError, type ErrorCode, type Fix } from '../core/errors';
import type { AlignOutcome } from '../project/jobs';
import { jobState } from './jobQueue';
import type { ResolvedProject } from '../project/project';
import type { Detected } from '../project/placement';

/**
 * Align, render and the spatial search behind the "insert the detected offset" action run in a
 * worker thread, so their long stretches of computation never hold up the language server's
 * replies: hover, completion and diagnostics answer while a job runs. One worker lives as long as
 * the daemon, so what it keeps in memory (placements, analysis frames) serves the next
 * re-alignment; a worker that dies fails its job and is replaced on the next one.
 */

/** What the worker needs of the daemon's settings, sent with every job. */
export interface WorkerEnv {
  ffmpeg: string;
  ffprobe: string;
  /** 0: all. */
  threads: number;
  /** Where input hashes are kept ('' : nowhere). */
  hashCacheDirectory: string;
  /** Where embeddings are cached (undefined: the engine's default). */
  embedCacheDirectory?: string;
}

type Kind = 'align' | 'render' | 'detect';
type Result = AlignOutcome | ComposeResult | Detected;

export type ToWorker =
  | { type: 'run'; id: number; kind: Kind; project: ResolvedProject; state: Int32Array; env: WorkerEnv }
  | { type: 'cancel'; id: number };

export type FromWorker =
  | { type: 'log'; line: string }
  | { type: 'progress'; id: number; stage: Stage | 'rendering'; fraction: number }
  | { type: 'firstMap'; id: number; map: FirstMap }
  | { type: 'done'; id: number; result: Result }
  | { type: 'error'; id: number; error: { code?: ErrorCode; message: string; problem?: string; fix?: Fix; file?: string; stack?: string } };

export interface JobOptions {
  signal: AbortSignal;
  /** The queue's fate word for the job (see jobQueue.ts): the worker commits through it. */
  state: Int32Array;
}

export interface JobRunner {
  /** onFirstMap: the alignment's first whole map, long before it ends (provisional). */
  align(
    p: ResolvedProject,
    o: JobOptions & { onProgress: (stage: Stage, fraction: number) => void; onFirstMap?: (map: FirstMap) => void },
  ): Promise<AlignOutcome>;
  render(p: ResolvedProject, o: JobOptions & { onProgress: (fraction: number) => void }): Promise<ComposeResult>;
  /** Where fg sits in bg, for the code action (not a queued job: nothing is written). */
  detect(p: ResolvedProject, signal: AbortSignal): Promise<Detected>;
  dispose(): Promise<void>;
}

interface Pending {
  resolve: (v: Result) => void;
  reject: (e: Error) => void;
  onProgress: (stage: Stage | 'rendering', fraction: number) => void;
  onFirstMap?: (map: FirstMap) => void;
}

/** The worker's entry: the bundle's sibling (dist/jobWorker.js), or the source when run from it. */
function workerFile(): string {
  const built = path.join(__dirname, 'jobWorker.js');
  return existsSync(built) ? built : path.join(__dirname, 'jobWorker.ts');
}

export function createJobRunner(env: () => WorkerEnv, log: (line: string) => void): JobRunner {
  let worker: Worker | undefined;
  let nextId = 1;
  const pending = new Map<number, Pending>();

  const failAll = (why: string) => {
    for (const [id, p] of pending) {
      pending.delete(id);
      p.reject(new Error(`the job worker stopped (${why}); run the job again, and report it if it keeps happening`));
    }
  };

  const start = (): Worker => {
    if (worker) return worker;
    const w = new Worker(workerFile());
    w.on('message', (m: FromWorker) => {
      if (m.type === 'log') return log(m.line);
      const p = pending.get(m.id);
      if (!p) return;
      if (m.type === 'progress') return p.onProgress(m.stage, m.fraction);
      if (m.type === 'firstMap') return p.onFirstMap?.(m.map);
      pending.delete(m.id);
      if (m.type === 'done') return p.resolve(m.result);
      // The problem and its fix travel apart, so the reply words the fix as the editor does.
      const e = m.error.code ? new VidkompyError(m.error.code, m.error.problem ?? m.error.message, m.error.file, m.error.fix) : new Error(m.error.message);
      if (m.error.stack) e.stack = m.error.stack;
      p.reject(e);
    });
    w.on('error', (e) => {
      log(`vidkompy: job worker error: ${e?.stack ?? e}`);
      if (worker === w) worker = undefined;
      failAll(e?.message ?? String(e));
    });
    w.on('exit', (code) => {
      if (worker === w) worker = undefined;
      if (pending.size) failAll(`exit code ${code}`);
    });
    // An idle worker must not keep the daemon alive once the client has gone.
    w.unref();
    return (worker = w);
  };

  const run = <T extends Result>(kind: Kind, project: ResolvedProject, o: JobOptions, onProgress: Pending['onProgress'], onFirstMap?: Pending['onFirstMap']): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const w = start();
      const id = nextId++;
      pending.set(id, { resolve: resolve as Pending['resolve'], reject, onProgress, onFirstMap });
      const cancel = () => w.postMessage({ type: 'cancel', id } satisfies ToWorker);
      if (o.signal.aborted) cancel();
      o.signal.addEventListener('abort', cancel, { once: true });
      w.postMessage({ type: 'run', id, kind, project, state: o.state, env: env() } satisfies ToWorker);
    });

  return {
    align: (p, o) => run<AlignOutcome>('align', p, o, (stage, f) => stage !== 'rendering' && o.onProgress(stage, f), o.onFirstMap),
    render: (p, o) => run<ComposeResult>('render', p, o, (_stage, f) => o.onProgress(f)),
    detect: (p, signal) => run<Detected>('detect', p, { signal, state: jobState() }, () => undefined),
    dispose: async () => {
      const w = worker;
      worker = undefined;
      failAll('the daemon is shutting down');
      await w?.terminate();
    },
  };
}
