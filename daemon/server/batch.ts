import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BatchJobResult, BatchResult } from '../../protocol/lsp';
import { PROJECT_SUFFIX } from '../../protocol/project';
import { inWordsOf, VidkompyError } from '../core/errors';
import type { JobProgress, JobResult } from '../batch/job';
import { runLocal } from '../batch/local';
import { closeQueue } from '../batch/cli';
import { cancelJobs, enqueue, openQueue, viewJob, waitForJobs } from '../batch/queue';
import { parseQueueUrl, type QueueAddress } from '../batch/redis';
import { summarise } from '../batch/summary';
import { pathToUri } from './uri';

/**
 * Run Batch for the editor: every project found, through daemon/batch's local runner (worker
 * processes of this machine) or, when the `queue` setting names one, its job queue and whatever
 * workers serve it. Progress is one line (jobs done, failed, running, and each running job's stage),
 * results are in the editor's words, and a cancel stops this batch's jobs only.
 */

export interface BatchRunOptions {
  /** The `queue` setting: a redis:// URL, or empty for this machine. */
  queue: string;
  /** CPU threads per job (0: what the cores allow). */
  threads: number;
  signal: AbortSignal;
  /** fraction 0..1 of the whole batch; message: how many are done, failed and running, and where each running one is. */
  onProgress: (fraction: number, message: string) => void;
}

/** The worker processes run this daemon's own bundle (`dist/daemon.js worker`): the .vsix ships no CLI. */
function workerEntry(): string | undefined {
  const bundle = path.join(__dirname, 'daemon.js');
  return existsSync(bundle) ? bundle : undefined;
}

const nameOf = (file: string) => path.basename(file, PROJECT_SUFFIX);

/** What the batch has done so far, as the progress line says it. */
function tally(files: string[], onProgress: BatchRunOptions['onProgress']) {
  const running = new Map<string, JobProgress | undefined>();
  const finished = new Map<string, JobResult>();
  const say = () => {
    const n = (...s: JobResult['status'][]) => [...finished.values()].filter((r) => s.includes(r.status)).length;
    const where = [...running].map(([f, p]) => `${nameOf(f)}: ${p ? `${p.stage} ${p.percent}%` : 'starting'}`);
    const head = `${n('done', 'up to date')} of ${files.length} done, ${n('failed', 'cancelled')} failed, ${running.size} running`;
    const partial = [...running.values()].reduce((a, p) => a + (p ? p.percent / 100 : 0), 0);
    onProgress((finished.size + partial) / files.length, [head, ...where].join(' · '));
  };
  return {
    start(file: string) {
      if (!running.has(file)) running.set(file, undefined);
      say();
    },
    progress(file: string, p: JobProgress | undefined) {
      running.set(file, p);
      say();
    },
    waiting(file: string) {
      running.delete(file);
    },
    finish(r: JobResult) {
      running.delete(r.project);
      finished.set(r.project, r);
      say();
    },
  };
}

/** A job's result as the editor shows it: URIs, and the error in the editor's words. */
function forEditor(r: JobResult): BatchJobResult {
  const error = r.problem !== undefined && r.fix ? inWordsOf(new VidkompyError('INTERNAL', r.problem, undefined, r.fix), 'editor') : r.error;
  return {
    project: pathToUri(r.project),
    status: r.status,
    ...(r.output ? { output: pathToUri(r.output) } : {}),
    ...(r.seconds !== undefined ? { seconds: r.seconds } : {}),
    ...(r.aligned !== undefined ? { aligned: r.aligned } : {}),
    ...(error ? { error } : {}),
    ...(r.code ? { code: r.code } : {}),
  };
}

/** The `queue` setting, checked: its problem said in the editor's words, the password never shown. */
function queueAddress(raw: string): QueueAddress {
  try {
    return parseQueueUrl(raw);
  } catch {
    const shown = raw.replace(/\/\/[^@/]*@/, '//');
    throw new VidkompyError(
      'BAD_ARGS',
      `the vidkompy.queue setting "${shown}" is not a job queue address; set it to redis://HOST:PORT[/DB], or leave it empty to run batches on this machine`,
    );
  }
}

export async function runBatch(files: string[], o: BatchRunOptions): Promise<BatchResult> {
  const started = performance.now();
  const t = tally(files, o.onProgress);
  let results: JobResult[];
  let queue: string | undefined;
  if (!o.queue) {
    const hooks = { onStart: t.start, onProgress: t.progress, onResult: t.finish };
    results = await runLocal(files, { threads: o.threads || undefined, signal: o.signal, entry: workerEntry() }, hooks);
  } else {
    const a = queueAddress(o.queue);
    queue = a.shown;
    results = await onQueue(a, files, o.signal, t);
  }
  const s = summarise(results);
  return {
    ...(queue ? { queue } : {}),
    jobs: s.jobs,
    done: s.done,
    upToDate: s.upToDate,
    failed: s.failed,
    cancelled: s.cancelled,
    seconds: Math.round(performance.now() - started) / 1000,
    results: results.map(forEditor),
  };
}

/** The batch on a job queue: enqueued, watched until every job ends or the batch is cancelled. */
async function onQueue(a: QueueAddress, files: string[], signal: AbortSignal, t: ReturnType<typeof tally>): Promise<JobResult[]> {
  const { queue, link } = await openQueue(a);
  try {
    const ids = await enqueue(a, queue, files);
    let stop!: () => void;
    const stopped = new Promise<'stopped'>((r) => (stop = () => r('stopped')));
    if (signal.aborted) stop();
    signal.addEventListener('abort', stop, { once: true });
    const waited = waitForJobs(a, queue, link, ids, files, (j) => {
      if (j.state === 'finished') t.finish(j.result);
      else if (j.state === 'running') t.progress(j.project, j.progress);
      else t.waiting(j.project);
    });
    waited.catch(() => undefined); // raced below; a cancel may leave it unheard
    const first = await Promise.race([waited, stopped]);
    if (first !== 'stopped') return first;
    await cancelJobs(a, queue, link, ids);
    // One last look: what finished stays as it ended, the rest was stopped.
    const views = await Promise.all(ids.map((id, i) => viewJob(queue, id, files[i])));
    return views.map((v): JobResult => (v.state === 'finished' ? v.result : { project: v.project, status: 'cancelled', error: 'cancelled' }));
  } finally {
    await closeQueue(queue);
  }
}
