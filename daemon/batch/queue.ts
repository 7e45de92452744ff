import os from 'node:os';
import path from 'node:path';
import { Job, Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { ATTEMPTS, BACKOFF_MS, CANCEL_CHANNEL, KEEP_SECONDS, POLL_MS, QUEUE_NAME } from './constants';
import type { JobProgress, JobResult } from './job';
import { onQueue, probeQueue, queueLink, type QueueAddress, type QueueLink } from './redis';

/** What a queued job carries: the project as the enqueuing machine sees it (see --prefix-map). */
export interface QueueJobData {
  file: string;
  batch: string;
}

export type BatchQueue = Queue<QueueJobData, JobResult>;

const JOB_OPTIONS: JobsOptions = {
  attempts: ATTEMPTS,
  backoff: { type: 'exponential', delay: BACKOFF_MS },
  removeOnComplete: { age: KEEP_SECONDS },
  removeOnFail: { age: KEEP_SECONDS },
};

/** Opens the queue after one quick probe, so a wrong address fails in seconds, naming the host. */
export async function openQueue(a: QueueAddress): Promise<{ queue: BatchQueue; link: QueueLink }> {
  await probeQueue(a);
  const link = queueLink(a);
  const queue: BatchQueue = new Queue(QUEUE_NAME, { connection: link.options });
  queue.on('error', link.noteError);
  return { queue, link };
}

/** One job per project; their ids, in the projects' order. */
export async function enqueue(a: QueueAddress, queue: BatchQueue, files: string[]): Promise<string[]> {
  const batch = `${os.hostname()}-${process.pid}-${Date.now().toString(36)}`;
  const jobs = await onQueue(a, () => queue.addBulk(files.map((file) => ({ name: path.basename(file), data: { file, batch }, opts: JOB_OPTIONS }))));
  return jobs.map((j) => j.id!);
}

/** A job as `batch` shows it: finished (with its result), running (with its progress) or waiting. */
export type JobView = { project: string; id: string } & (
  | { state: 'finished'; result: JobResult }
  | { state: 'running'; progress?: JobProgress }
  | { state: 'waiting'; attempts: number }
);

function finishedResult(job: Job<QueueJobData, JobResult>, failed: boolean): JobResult {
  if (!failed) return { ...job.returnvalue, attempts: job.attemptsMade };
  const reason = job.failedReason ?? 'failed';
  return { project: job.data.file, status: reason === 'cancelled' ? 'cancelled' : 'failed', error: reason, attempts: job.attemptsMade };
}

export async function viewJob(queue: BatchQueue, id: string, file: string): Promise<JobView> {
  const job = await Job.fromId<QueueJobData, JobResult>(queue, id);
  if (!job) return { project: file, id, state: 'finished', result: { project: file, status: 'cancelled', error: 'removed from the queue (batch cancel)' } };
  const state = await job.getState();
  const project = job.data.file;
  if (state === 'completed' || state === 'failed') return { project, id, state: 'finished', result: finishedResult(job, state === 'failed') };
  if (state === 'active') return { project, id, state: 'running', progress: typeof job.progress === 'object' ? (job.progress as JobProgress) : undefined };
  return { project, id, state: 'waiting', attempts: job.attemptsMade };
}

/**
 * Waits for the jobs, calling `onView` with each state read; resolves with their results in order.
 * Polled, not evented: a job retried, handed back by a stalled worker or removed is seen the same
 * way, and a lost Redis ends the wait with one line (`link.lost`) instead of a silent stream.
 */
export async function waitForJobs(
  a: QueueAddress,
  queue: BatchQueue,
  link: QueueLink,
  ids: string[],
  files: string[],
  onView: (v: JobView) => void,
): Promise<JobResult[]> {
  const results = new Map<string, JobResult>();
  for (;;) {
    const pending = ids.filter((id) => !results.has(id));
    if (!pending.length) return ids.map((id) => results.get(id)!);
    const views = await Promise.race([link.lost, onQueue(a, () => Promise.all(pending.map((id) => viewJob(queue, id, files[ids.indexOf(id)]))))]);
    for (const v of views) {
      if (v.state === 'finished') results.set(v.id, v.result);
      onView(v);
    }
    if (views.some((v) => v.state !== 'finished')) await Promise.race([link.lost, new Promise((r) => setTimeout(r, POLL_MS))]);
  }
}

/** Every job the queue still keeps (finished ones for KEEP_SECONDS), oldest first. */
export async function queueStatus(a: QueueAddress, queue: BatchQueue): Promise<(JobView & { log?: string[] })[]> {
  return onQueue(a, async () => {
    const jobs = await queue.getJobs(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'], 0, -1, true);
    jobs.sort((x, y) => x.timestamp - y.timestamp);
    return Promise.all(
      jobs.map(async (j) => {
        const v = await viewJob(queue, j.id!, (j.data as QueueJobData).file);
        // A failed job keeps its log (which worker, each attempt): status shows why.
        if (v.state !== 'finished' || v.result.status !== 'failed') return v;
        return { ...v, log: (await queue.getJobLogs(j.id!)).logs };
      }),
    );
  });
}

/** Removes the jobs not started yet and asks every worker to stop its running ones. */
export async function cancelQueue(a: QueueAddress, queue: BatchQueue, link: QueueLink): Promise<{ removed: number; running: number }> {
  return onQueue(a, async () => {
    const counts = await queue.getJobCounts('waiting', 'delayed', 'prioritized', 'active');
    await queue.drain(true);
    const pub = new Redis(link.options);
    pub.on('error', link.noteError);
    try {
      await pub.publish(CANCEL_CHANNEL, '*');
    } finally {
      pub.disconnect();
    }
    return { removed: (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0), running: counts.active ?? 0 };
  });
}

/**
 * Stops one batch's jobs and no one else's: removes those not started and asks the workers to stop
 * the running ones (a worker cancels a job whose id it hears on CANCEL_CHANNEL).
 */
export async function cancelJobs(a: QueueAddress, queue: BatchQueue, link: QueueLink, ids: string[]): Promise<void> {
  await onQueue(a, async () => {
    const pub = new Redis(link.options);
    pub.on('error', link.noteError);
    try {
      for (const id of ids) {
        const job = await Job.fromId<QueueJobData, JobResult>(queue, id);
        const state = await job?.getState();
        if (state === 'active') await pub.publish(CANCEL_CHANNEL, id);
        else if (job && state !== 'completed' && state !== 'failed') await job.remove().catch(() => undefined); // taken meanwhile: the next look sees it run
      }
    } finally {
      pub.disconnect();
    }
  });
}
