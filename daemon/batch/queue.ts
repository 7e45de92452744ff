import os from 'node:os';
import path from 'node:path';
import { Job, Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { ATTEMPTS, BACKOFF_MS, CANCEL_CHANNEL, CHUNK_JOB, KEEP_SECONDS, POLL_MS, QUEUE_NAME } from './constants';
import type { JobProgress, JobResult } from './job';
import { onQueue, probeQueue, queueLink, type QueueAddress, type QueueLink } from './redis';
import { splitProgress, type ChunkPlan } from './split';

/**
 * What a queued job carries: the project as the enqueuing machine sees it (see --prefix-map). A
 * project job whose render is split becomes the parent of one CHUNK_JOB per chunk (a BullMQ flow)
 * and waits for them (waiting-children), then joins them: `step` says where it is on a re-run.
 */
export interface QueueJobData {
  file: string;
  batch: string;
  /** Split renders into chunks of about this many seconds (project jobs; absent or 0: never). */
  chunkSeconds?: number;
  /** 'join': the chunks are planned (plan) and queued; processing the job again joins them. */
  step?: 'join';
  plan?: ChunkPlan;
  /** The project step made a new alignment; when it started (ms), for the job's total time. */
  aligned?: boolean;
  started?: number;
  /** `batch cancel` came while the chunks were rendering: the join drops them instead. */
  cancelled?: boolean;
  /** A chunk job: which chunk of its parent's plan. */
  index?: number;
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
export async function enqueue(a: QueueAddress, queue: BatchQueue, files: string[], chunkSeconds = 0): Promise<string[]> {
  const batch = `${os.hostname()}-${process.pid}-${Date.now().toString(36)}`;
  const data = (file: string): QueueJobData => ({ file, batch, ...(chunkSeconds > 0 ? { chunkSeconds } : {}) });
  const jobs = await onQueue(a, () => queue.addBulk(files.map((file) => ({ name: path.basename(file), data: data(file), opts: JOB_OPTIONS }))));
  return jobs.map((j) => j.id!);
}

/**
 * Queues the chunks of a split render as children of its project job. Their ids follow from the
 * parent's, so a project step run again (its worker died after queueing them) adds nothing twice.
 * A chunk that fails for good does not fail the parent at once: the parent still runs once every
 * chunk has ended, and drops the chunks that were made (ignoreDependencyOnFailure).
 */
export async function addChunks(queue: BatchQueue, parent: Job<QueueJobData, JobResult>, plan: ChunkPlan): Promise<void> {
  const opts = (index: number): JobsOptions => ({
    ...JOB_OPTIONS,
    jobId: `${parent.id}-chunk-${index}`,
    parent: { id: parent.id!, queue: parent.queueQualifiedName },
    ignoreDependencyOnFailure: true,
  });
  const data = (index: number): QueueJobData => ({ file: parent.data.file, batch: parent.data.batch, plan, index });
  await queue.addBulk(plan.chunks.map((_, index) => ({ name: CHUNK_JOB, data: data(index), opts: opts(index) })));
}

/** Where the chunks of a split render are: each finished one at 100%, running ones at their progress. */
async function chunksProgress(queue: BatchQueue, job: Job<QueueJobData, JobResult>): Promise<JobProgress | undefined> {
  const plan = job.data.plan;
  if (!plan) return undefined;
  const percents = plan.chunks.map(() => 0);
  const deps = await job.getDependencies();
  const idOf = (key: string) => key.slice(key.lastIndexOf(':') + 1);
  const indexOf = (key: string) => Number(/-chunk-(\d+)$/.exec(idOf(key))?.[1]);
  for (const key of [...Object.keys(deps.processed ?? {}), ...Object.keys(deps.ignored ?? {})]) percents[indexOf(key)] = 100;
  for (const key of deps.unprocessed ?? []) {
    const child = await Job.fromId<QueueJobData, JobResult>(queue, idOf(key));
    if (typeof child?.progress === 'object') percents[indexOf(key)] = (child.progress as JobProgress).percent;
  }
  return splitProgress(percents.filter((_, k) => k < plan.chunks.length));
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
  // The state first, then the job: a job that completes between the two reads is then seen with its
  // result (BullMQ writes the return value and the state in one step), never as completed without one.
  const state = await queue.getJobState(id);
  const job = await Job.fromId<QueueJobData, JobResult>(queue, id);
  if (!job || state === 'unknown') return { project: file, id, state: 'finished', result: { project: file, status: 'cancelled', error: 'removed from the queue (batch cancel)' } };
  const project = job.data.file;
  // A split render's project job waits for its chunks: it is running, on other workers.
  if (state === 'waiting-children') return { project, id, state: 'running', progress: await chunksProgress(queue, job) };
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
    const all = await queue.getJobs(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'], 0, -1, true);
    // Chunks are part of their project's job: its progress counts them, its failure names theirs.
    const jobs = all.filter((j) => j.name !== CHUNK_JOB);
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

/**
 * Removes the jobs not started yet and asks every worker to stop its running ones. A split render's
 * project job is not removed but marked: its waiting chunks are unhooked from it and removed, and once
 * its running chunks have stopped a worker runs it one last time to delete the chunks already made
 * (chunk files lie on the workers' share, which this machine may not see).
 */
export async function cancelQueue(a: QueueAddress, queue: BatchQueue, link: QueueLink): Promise<{ removed: number; running: number }> {
  return onQueue(a, async () => {
    const waitingStates: string[] = ['waiting', 'delayed', 'prioritized'];
    let removed = 0;
    let running = 0;
    for (const j of await queue.getJobs(['waiting-children', 'waiting', 'delayed', 'prioritized'], 0, -1, true)) {
      const job = await Job.fromId<QueueJobData, JobResult>(queue, j.id!);
      if (!job || job.data.step !== 'join') continue;
      await job.updateData({ ...job.data, cancelled: true });
      const state = await job.getState();
      if (state === 'waiting-children') running++;
      else removed++;
      for (const key of (await job.getDependencies({ unprocessed: {} })).unprocessed ?? []) {
        const child = await Job.fromId<QueueJobData, JobResult>(queue, key.slice(key.lastIndexOf(':') + 1));
        // Unhooked first: removing a parent's last waiting child would remove the parent with it.
        if (child && waitingStates.includes(await child.getState())) await child.removeChildDependency();
      }
    }
    running += (await queue.getJobs(['active'], 0, -1, true)).filter((j) => j.name !== CHUNK_JOB).length;
    for (const j of await queue.getJobs(['waiting', 'delayed', 'prioritized'], 0, -1, true)) {
      const job = await Job.fromId<QueueJobData, JobResult>(queue, j.id!);
      if (!job || job.data.step === 'join') continue;
      if (job.name !== CHUNK_JOB) removed++;
      await job.remove().catch(() => undefined); // taken by a worker meanwhile: the message below stops it
    }
    const pub = new Redis(link.options);
    pub.on('error', link.noteError);
    try {
      await pub.publish(CANCEL_CHANNEL, '*');
    } finally {
      pub.disconnect();
    }
    return { removed, running };
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
