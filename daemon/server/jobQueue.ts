import { cancelled, inWordsOf, VidkompyError } from '../core/errors';
import type { Job } from '../../protocol/lsp';

/**
 * One heavy job at a time, first in first out: aligning and rendering each saturate the machine,
 * and two at once only make both slower. Everything else the daemon does (validation, hover,
 * previews) never waits on this queue.
 */

/**
 * A job's fate, one shared word that the queue (cancel) and the work (commit) settle with a
 * compare-and-swap, from any thread: whichever leaves RUNNING first wins. A cancel the queue
 * counts therefore always means no result was written, however late it lands.
 */
export const RUNNING = 0;
export const CANCELLED = 1;
export const COMMITTED = 2;

export function jobState(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

/** The work's claim on its result, just before the result is renamed into place. */
export function tryCommit(state: Int32Array): boolean {
  return Atomics.compareExchange(state, 0, RUNNING, COMMITTED) === RUNNING;
}

function tryCancel(state: Int32Array): boolean {
  return Atomics.compareExchange(state, 0, RUNNING, CANCELLED) !== COMMITTED;
}

/** `state`: the job's fate word, for `tryCommit` (directly or in another thread). */
export type Work<T> = (signal: AbortSignal, progress: (fraction: number, stage?: string) => void, state: Int32Array) => Promise<T>;

interface Entry {
  job: Job;
  controller: AbortController;
  state: Int32Array;
  start: () => void;
  /** When it started running (performance.now()), for the job's seconds. */
  startedAt?: number;
}

/** Finished jobs stay listed a while, so a status shortly after shows how each ended. */
const KEEP_FINISHED = 10;

export interface SubmitOptions {
  /** A re-alignment started by an edit (see vidkompy/liveAlign). */
  live?: boolean;
  /**
   * Work that does not load this machine (a batch on a job queue, done by other machines' workers):
   * it starts at once, beside the queue, listed and cancelled like the rest.
   */
  beside?: boolean;
}

export interface JobQueue {
  /** Queues `work`; `signal` (the request's cancellation) cancels it like `cancel` does. */
  submit<T>(kind: Job['kind'], project: string, work: Work<T>, signal?: AbortSignal, opts?: SubmitOptions): Promise<T>;
  /** Cancels the queued and running jobs of `project` (all when undefined); how many. */
  cancel(project?: string): number;
  list(): Job[];
}

export function createJobQueue(onChange: (job: Job) => void): JobQueue {
  let nextId = 1;
  const pending: Entry[] = [];
  let running: Entry | undefined;
  /** Jobs running beside the queue (SubmitOptions.beside). */
  const besides = new Set<Entry>();
  const finished: Job[] = [];

  const finish = (e: Entry, state: Job['state'], message?: string, code?: Job['code']) => {
    // Out of the running slot before anyone is told: a status then lists the job once, as ended.
    if (running === e) running = undefined;
    besides.delete(e);
    e.job.state = state;
    e.job.message = message;
    if (code) e.job.code = code;
    if (e.startedAt !== undefined) e.job.seconds = Math.round(performance.now() - e.startedAt) / 1000;
    if (state === 'done') e.job.progress = 1;
    finished.push(e.job);
    if (finished.length > KEEP_FINISHED) finished.shift();
    onChange(e.job);
  };

  const pump = () => {
    if (running || !pending.length) return;
    running = pending.shift()!;
    running.start();
  };

  return {
    submit<T>(kind: Job['kind'], project: string, work: Work<T>, signal?: AbortSignal, opts: SubmitOptions = {}): Promise<T> {
      const controller = new AbortController();
      const state = jobState();
      const job: Job = { id: nextId++, kind, project, state: 'queued', progress: 0, ...(opts.live ? { live: true } : {}) };
      return new Promise<T>((resolve, reject) => {
        const entry: Entry = {
          job,
          controller,
          state,
          start: () => {
            entry.startedAt = performance.now();
            job.state = 'running';
            onChange(job);
            const progress = (fraction: number, stage?: string) => {
              job.progress = Math.max(0, Math.min(1, fraction));
              job.stage = stage;
              onChange(job);
            };
            work(controller.signal, progress, state)
              .then(
                (v) => {
                  // A counted cancel wins even if the work ended anyway (a saved alignment
                  // reused, say): nothing was committed, so the reply is a cancel.
                  if (Atomics.load(state, 0) === CANCELLED) {
                    finish(entry, 'cancelled', 'cancelled');
                    return reject(cancelled());
                  }
                  finish(entry, 'done');
                  resolve(v);
                },
                (err: unknown) => {
                  const isCancel = Atomics.load(state, 0) === CANCELLED || (err instanceof VidkompyError && err.code === 'CANCELLED');
                  const code = err instanceof VidkompyError ? err.code : 'INTERNAL';
                  // The editor shows the message (status bar, log): its words, not the CLI's.
                  const message = err instanceof VidkompyError ? inWordsOf(err, 'editor') : (err as Error)?.message;
                  finish(entry, isCancel ? 'cancelled' : 'failed', isCancel ? 'cancelled' : message, isCancel ? undefined : code);
                  reject(isCancel ? cancelled() : err);
                },
              )
              .finally(pump);
          },
        };
        if (signal?.aborted) return reject(cancelled());
        controller.signal.addEventListener('abort', () => {
          const i = pending.indexOf(entry);
          if (i < 0) return; // running: the work sees the signal and ends itself
          pending.splice(i, 1);
          finish(entry, 'cancelled', 'cancelled before it started');
          reject(cancelled());
        });
        signal?.addEventListener('abort', () => {
          if (tryCancel(state)) controller.abort();
        }, { once: true });
        if (opts.beside) {
          besides.add(entry);
          onChange(job);
          return entry.start();
        }
        pending.push(entry);
        onChange(job);
        pump();
      });
    },
    cancel(project) {
      let n = 0;
      for (const e of [...(running ? [running] : []), ...besides, ...pending]) {
        if (project !== undefined && e.job.project !== project) continue;
        if (!tryCancel(e.state)) continue; // committed: past cancelling
        e.controller.abort();
        n++;
      }
      return n;
    },
    list: () => [...finished, ...(running ? [running.job] : []), ...[...besides].map((e) => e.job), ...pending.map((e) => e.job)].map((j) => ({ ...j })),
  };
}
