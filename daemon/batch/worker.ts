import os from 'node:os';
import { Queue, UnrecoverableError, WaitingChildrenError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { reapNow } from '../media/ffmpeg';
import { ATTEMPTS, CANCEL_CHANNEL, CHUNK_JOB, lockMs, MAX_STALLED, PROGRESS_EVERY_MS, QUEUE_NAME } from './constants';
import { retryable, type JobProgress, type JobResult } from './job';
import { JobProcess } from './local';
import { addChunks, type BatchQueue, type QueueJobData } from './queue';
import { probeQueue, queueLink, type QueueAddress } from './redis';
import type { BatchTask, TaskOutcome } from './split';

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
  // Chunks of a split render are queued from here, as children of the project's job.
  const queue: BatchQueue = new Queue(QUEUE_NAME, { connection: link.options });
  queue.on('error', link.noteError);
  type QueueJob = Job<QueueJobData, JobResult>;
  const runStep = async (job: QueueJob, task: BatchTask, signal?: AbortSignal): Promise<TaskOutcome> => {
    const proc = slot();
    return proc.run(task, progressSink(job), signal).finally(() => idle.push(proc));
  };
  const log = (job: QueueJob, s: string) => job.log(`${new Date().toISOString()} ${me}: ${s}`).catch(() => undefined);
  /** A failed step: a user's error (or a cancel) fails the job now; anything else is tried again with backoff. */
  const fail = async (job: QueueJob, file: string, r: JobResult): Promise<never> => {
    await log(job, `failed: ${r.error}`);
    o.out(`failed ${file} (job ${job.id}): ${r.error}`);
    throw retryable(r) ? new Error(r.error) : new UnrecoverableError(r.error);
  };
  const finish = async (job: QueueJob, file: string, r: JobResult): Promise<JobResult> => {
    await log(job, `${r.status} in ${r.seconds} s`);
    o.out(`${r.status} ${file} (job ${job.id}, ${r.seconds} s)`);
    return r;
  };
  /** The join step of a split render: every chunk made, joined; else the chunks dropped and the job failed. */
  const join = async (job: QueueJob, file: string, signal?: AbortSignal): Promise<JobResult> => {
    const { plan } = job.data;
    if (!plan) throw new UnrecoverableError('internal error: a join without a plan');
    const drop = async (why: string): Promise<never> => {
      await runStep(job, { kind: 'drop', file, plan });
      await log(job, `failed: ${why}; its chunks removed`);
      o.out(`failed ${file} (job ${job.id}): ${why}`);
      throw new UnrecoverableError(why);
    };
    if (job.data.cancelled) return drop('cancelled');
    const made = Object.keys(await job.getChildrenValues()).length;
    const failures = Object.values(await job.getIgnoredChildrenFailures());
    // A chunk's failure already says which file and why; chunks unhooked by `batch cancel` are missing.
    if (failures.length || made < plan.chunks.length) return drop(failures[0] ?? 'cancelled');
    const r = await runStep(job, { kind: 'join', file, plan }, signal);
    if (r.status === 'done') return finish(job, file, { ...r, aligned: job.data.aligned, seconds: Number(((Date.now() - (job.data.started ?? Date.now())) / 1000).toFixed(2)) });
    const result = r as JobResult;
    // Kept for the next attempt when there is one; else they go now.
    if (!(retryable(result) && job.attemptsMade + 1 < (job.opts.attempts ?? ATTEMPTS))) await runStep(job, { kind: 'drop', file, plan });
    return fail(job, file, result);
  };
  const worker = new Worker<QueueJobData, JobResult>(
    QUEUE_NAME,
    async (job, token, signal) => {
      const file = mapPath(job.data.file, o.prefixMap);
      const { plan, index } = job.data;
      if (job.name === CHUNK_JOB && plan && index !== undefined) {
        await log(job, `attempt ${job.attemptsMade + 1}: chunk ${index + 1}/${plan.chunks.length} of ${file}`);
        o.out(`started chunk ${index + 1}/${plan.chunks.length} of ${file} (job ${job.id})`);
        const r = await runStep(job, { kind: 'chunk', file, plan, index }, signal);
        return r.status === 'done' ? finish(job, `chunk ${index + 1}/${plan.chunks.length} of ${file}`, r) : fail(job, file, r as JobResult);
      }
      if (job.data.step === 'join') return join(job, file, signal);
      await log(job, `attempt ${job.attemptsMade + 1}: ${file}`);
      o.out(`started ${file} (job ${job.id})`);
      const started = Date.now();
      const split = job.data.chunkSeconds ? { seconds: job.data.chunkSeconds, id: job.id! } : undefined;
      const r = await runStep(job, { kind: 'project', file, split }, signal);
      if (r.status !== 'split') return r.status === 'done' || r.status === 'up to date' ? finish(job, file, r) : fail(job, file, r);
      if (signal?.aborted) return fail(job, file, { project: file, status: 'cancelled', error: 'cancelled', code: 'CANCELLED' });
      // Chunks first, then the step: a worker that dies in between leaves a job that plans the
      // same chunks again (same ids: nothing doubled).
      await addChunks(queue, job, r.plan);
      await job.updateData({ ...job.data, step: 'join', plan: r.plan, aligned: r.aligned, started });
      await log(job, `aligned; rendering in ${r.plan.chunks.length} chunks`);
      o.out(`split ${file} into ${r.plan.chunks.length} chunks (job ${job.id})`);
      if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
      return join(job, file, signal);
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
    await Promise.race([queue.close(), new Promise((r) => setTimeout(r, 1000).unref())]).catch(() => undefined);
    for (const p of all) p.close();
    reapNow();
  }
}
