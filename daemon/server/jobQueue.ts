import { cancelled, VidkompyError } from '../engine/errors';
import type { Job } from '../../protocol/lsp';

/**
 * One heavy job at a time, first in first out: aligning and rendering each saturate the machine,
 * and two at once only make both slower. Everything else the daemon does (validation, hover,
 * previews) never waits on this queue.
 */

/**
 * `commit`: the work calls it once its result is in place; from then on a cancel neither counts
 * the job nor aborts it, so a cancel that reports a job stopped means no result was written.
 */
export type Work<T> = (signal: AbortSignal, progress: (fraction: number, stage?: string) => void, commit: () => void) => Promise<T>;

interface Entry {
  job: Job;
  controller: AbortController;
  start: () => void;
  committed?: boolean;
}

/** Finished jobs stay listed a while, so a status shortly after shows how each ended. */
const KEEP_FINISHED = 10;

export interface JobQueue {
  /** Queues `work`; `signal` (the request's cancellation) cancels it like `cancel` does. */
  submit<T>(kind: Job['kind'], project: string, work: Work<T>, signal?: AbortSignal): Promise<T>;
  /** Cancels the queued and running jobs of `project` (all when undefined); how many. */
  cancel(project?: string): number;
  list(): Job[];
}

export function createJobQueue(onChange: (job: Job) => void): JobQueue {
  let nextId = 1;
  const pending: Entry[] = [];
  let running: Entry | undefined;
  const finished: Job[] = [];

  const finish = (e: Entry, state: Job['state'], message?: string) => {
    e.job.state = state;
    e.job.message = message;
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
    submit<T>(kind: Job['kind'], project: string, work: Work<T>, signal?: AbortSignal): Promise<T> {
      const controller = new AbortController();
      const job: Job = { id: nextId++, kind, project, state: 'queued', progress: 0 };
      return new Promise<T>((resolve, reject) => {
        const entry: Entry = {
          job,
          controller,
          start: () => {
            job.state = 'running';
            onChange(job);
            const progress = (fraction: number, stage?: string) => {
              job.progress = Math.max(0, Math.min(1, fraction));
              job.stage = stage;
              onChange(job);
            };
            work(controller.signal, progress, () => (entry.committed = true))
              .then(
                (v) => {
                  // A cancel that counted this job wins even if the work ended anyway (a saved
                  // alignment reused, say): nothing was committed, so the reply is a cancel.
                  if (controller.signal.aborted && !entry.committed) {
                    finish(entry, 'cancelled', 'cancelled');
                    return reject(cancelled());
                  }
                  finish(entry, 'done');
                  resolve(v);
                },
                (err: unknown) => {
                  const isCancel = controller.signal.aborted || (err instanceof VidkompyError && err.code === 'CANCELLED');
                  finish(entry, isCancel ? 'cancelled' : 'failed', isCancel ? 'cancelled' : (err as Error)?.message);
                  reject(isCancel ? cancelled() : err);
                },
              )
              .finally(() => {
                running = undefined;
                pump();
              });
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
        signal?.addEventListener('abort', () => controller.abort(), { once: true });
        pending.push(entry);
        onChange(job);
        pump();
      });
    },
    cancel(project) {
      const hit = [...(running ? [running] : []), ...pending].filter((e) => !e.committed && (project === undefined || e.job.project === project));
      for (const e of hit) e.controller.abort();
      return hit.length;
    },
    list: () => [...finished, ...(running ? [running.job] : []), ...pending.map((e) => e.job)].map((j) => ({ ...j })),
  };
}
