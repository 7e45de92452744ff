import os from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { reapNow } from '../media/ffmpeg';
import { CANCEL_CHANNEL, lockMs, MAX_STALLED, PROGRESS_EVERY_MS, QUEUE_NAME } from './constants';
import { retryable, type JobProgress, type JobResult } from './job';
import { JobProcess } from './local';
import type { QueueJobData } from './queue';
import { probeQueue, queueLink, type QueueAddress } from './redis';

export interface WorkerOptions {
  concurrency: number;
  /** `FROM=TO`: the enqueuing machine's path prefix and this machine's (a share mounted elsewhere). */
  prefixMap?: [string, string][];
  out: (s: string) => void;
  err: (s: string) => void;
}

/** The project's path on this machine. */
export function mapPath(file: string, map: [string, string][] = []): string {
  for (const [from, to] of map) if (file === from || file.startsWith(from.endsWith('/') ? from : from + '/')) return to + file.slice(from.length);
  return file;
}

/** Sends progress to Redis at most every PROGRESS_EVERY_MS (the last value always goes). */
function progressSink(job: Job<QueueJobData, JobResult>): (p: JobProgress) => void {
  let at = 0;
  return (p) => {
    const now = Date.now();
    if (now - at < PROGRESS_EVERY_MS && p.percent < 100) return;
    at = now;
    job.updateProgress(p).catch(() => undefined); // a lost Redis ends the worker elsewhere
  };
}

/**
 * `vidkompy worker --queue`: takes jobs until stopped. SIGTERM/SIGINT: no new jobs, the running
 * ones finish, then exit 0; a second signal stops at once (ffmpeg killed, temps removed) and
 * the job goes back to the queue when its lock expires, like a killed worker's.
 */
export async function runQueueWorker(a: QueueAddress, o: WorkerOptions): Promise<number> {
  await probeQueue(a);
  const link = queueLink(a);
  const me = `${os.hostname()} pid ${process.pid}`;
  const lock = lockMs();
  // One process per concurrent job, reused: the work runs there, this event loop renews the locks.
  const idle: JobProcess[] = [];
  const all: JobProcess[] = [];
  const slot = () => idle.pop() ?? (all.push(new JobProcess()), all[all.length - 1]);
  const worker = new Worker<QueueJobData, JobResult>(
    QUEUE_NAME,
    async (job, _token, signal) => {
      const file = mapPath(job.data.file, o.prefixMap);
      const log = (s: string) => job.log(`${new Date().toISOString()} ${me}: ${s}`).catch(() => undefined);
      await log(`attempt ${job.attemptsMade + 1}: ${file}`);
      o.out(`started ${file} (job ${job.id})`);
      const proc = slot();
      const r = await proc.run(file, progressSink(job), signal).finally(() => idle.push(proc));
      if (r.status === 'done' || r.status === 'up to date') {
        await log(`${r.status} in ${r.seconds} s`);
        o.out(`${r.status} ${file} (job ${job.id}, ${r.seconds} s)`);
        return r;
      }
      await log(`failed: ${r.error}`);
      o.out(`failed ${file} (job ${job.id}): ${r.error}`);
      // A user's error (or a cancel) fails the job now; anything else is tried again with backoff.
      throw retryable(r) ? new Error(r.error) : new UnrecoverableError(r.error);
    },
    { connection: link.options, concurrency: o.concurrency, lockDuration: lock, stalledInterval: lock, maxStalledCount: MAX_STALLED },
  );
  worker.on('error', link.noteError);
  const sub = new Redis(link.options);
  sub.on('error', link.noteError);
  sub.on('message', (_channel, id: string) => (id === '*' ? worker.cancelAllJobs('cancelled') : worker.cancelJob(id, 'cancelled')));
  await sub.subscribe(CANCEL_CHANNEL).catch(link.noteError);
  o.err(`vidkompy worker (${me}): waiting for jobs on ${a.shown} (concurrency ${o.concurrency})`);

  let stopping = false;
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      reapNow();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    o.err(`vidkompy worker: ${sig}: finishing the running job(s), then stopping (again to stop now)`);
    worker.close().then(stop, stop);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await Promise.race([stopped, link.lost]);
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await Promise.race([worker.close(true), new Promise((r) => setTimeout(r, 2000).unref())]).catch(() => undefined);
    sub.disconnect();
    for (const p of all) p.close();
    reapNow();
  }
}
