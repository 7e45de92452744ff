import { parseArgs, type ParseArgsConfig } from 'node:util';
import { setThreadBudget } from '../media/tools';
import { CHUNK_SECONDS } from './constants';
import { BatchView } from './display';
import { discoverProjects } from './discover';
import type { JobProgress, JobResult } from './job';
import { runLocal, serveLocal } from './local';
import { cancelQueue, enqueue, openQueue, queueStatus, waitForJobs, type BatchQueue } from './queue';
import { parseQueueUrl } from './redis';
import { summarise, summaryJson, summaryTable } from './summary';
import { runQueueWorker } from './worker';

/**
 * `vidkompy batch` and `vidkompy worker`: their flags are their own, parsed here, so the CLI's
 * main.ts only dispatches to them.
 */

export const BATCH_HELP = `  vidkompy batch DIR|PROJECT... [--workers N] [--json]    align and render every project, N at a time on this machine
  vidkompy batch DIR|PROJECT... --queue redis://HOST:PORT[/DB] [--detach]   the same through a job queue and its workers
      --chunk-seconds S: split the render of a project at least 2×S long into chunks of about S seconds
      that several workers render at once, then join (default ${CHUNK_SECONDS}; 0: never)
  vidkompy batch status|cancel --queue URL                the queue's jobs (why one failed) / stop them
  vidkompy worker --queue URL [--concurrency N] [--threads N] [--prefix-map FROM=TO]   take jobs until SIGTERM`;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

class Usage extends Error {}

/** `--chunk-seconds`: 0 (never split), or a chunk length of at least a second. */
const chunkSeconds = (raw: string | undefined): number => {
  if (raw === undefined) return CHUNK_SECONDS;
  const n = Number(raw);
  if (!Number.isFinite(n) || (n !== 0 && n < 1)) throw new Usage(`--chunk-seconds ${raw}: expected 0 (never split) or seconds ≥ 1`);
  return n;
};

const count = (raw: string | undefined, flag: string): number | undefined => {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Usage(`--${flag} ${raw}: expected an integer ≥ 1`);
  return n;
};

function parse(argv: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new Usage((e as Error).message.replace(/\. To specify.*$/s, ''));
  }
}

/** Usage errors exit 2 with one line, as main.ts's do; everything else goes back to main. */
async function usageGuard(io: Io, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof Usage)) throw e;
    io.err(`vidkompy: ${e.message} (see vidkompy --help)`);
    return 2;
  }
}

export function cmdBatch(argv: string[], io: Io): Promise<number> {
  return usageGuard(io, async () => {
    const { values: v, positionals } = parse(argv, {
      workers: { type: 'string' },
      threads: { type: 'string' },
      queue: { type: 'string' },
      detach: { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      'chunk-seconds': { type: 'string' },
    });
    const threads = count(v.threads as string | undefined, 'threads');
    const chunks = chunkSeconds(v['chunk-seconds'] as string | undefined);
    const json = !!v.json;
    const sub = positionals[0] === 'status' || positionals[0] === 'cancel' ? positionals[0] : undefined;
    if (sub && positionals.length === 1) {
      if (!v.queue) throw new Usage(`batch ${sub} needs --queue redis://HOST:PORT`);
      return followUp(sub, v.queue as string, json, io);
    }
    if (!positionals.length) throw new Usage('usage: vidkompy batch DIR|PROJECT... [--workers N] [--queue URL]');
    if (v.detach && !v.queue) throw new Usage('--detach needs --queue');
    const a = v.queue ? parseQueueUrl(v.queue as string) : undefined;
    const files = await discoverProjects(positionals);
    if (!files.length) {
      io.err(`vidkompy: no *.vidkompy.json under ${positionals.join(', ')}`);
      return 1;
    }
    const view = new BatchView(files.length, !v.quiet && !json);
    let results: JobResult[];
    try {
      if (!a) {
        const workers = count(v.workers as string | undefined, 'workers');
        const hooks = {
          onStart: (f: string) => view.start(f),
          onProgress: (f: string, p: JobProgress) => view.progress(f, p),
          onResult: (r: JobResult) => view.finish(r),
        };
        results = await runLocal(files, { workers, threads, chunkSeconds: chunks }, hooks);
      } else {
        const { queue, link } = await openQueue(a);
        try {
          const ids = await enqueue(a, queue, files, chunks);
          if (v.detach) {
            if (json) io.out(JSON.stringify({ queue: a.shown, jobs: ids.length, ids }));
            else io.out(`queued ${ids.length} project${ids.length === 1 ? '' : 's'} on ${a.shown}; follow with 'vidkompy batch status --queue ${a.shown}'`);
            return 0;
          }
          results = await waitForJobs(a, queue, link, ids, files, (j) => {
            if (j.state === 'finished') view.finish(j.result);
            else if (j.state === 'running') view.progress(j.project, j.progress);
            else view.waiting(j.project);
          });
        } finally {
          await closeQueue(queue);
        }
      }
    } finally {
      view.done();
    }
    if (json) io.out(summaryJson(results, a ? { queue: a.shown } : {}));
    else for (const l of summaryTable(results)) io.out(l);
    return summarise(results).ok ? 0 : 1;
  });
}

/** Closing must not wait on a Redis that is gone. */
export async function closeQueue(queue: BatchQueue): Promise<void> {
  await Promise.race([queue.close(), new Promise((r) => setTimeout(r, 1000).unref())]).catch(() => undefined);
  await queue.disconnect().catch(() => undefined);
}

async function followUp(sub: 'status' | 'cancel', url: string, json: boolean, io: Io): Promise<number> {
  const a = parseQueueUrl(url);
  const { queue, link } = await openQueue(a);
  try {
    if (sub === 'cancel') {
      const c = await cancelQueue(a, queue, link);
      const said = `removed ${c.removed} waiting job(s) from ${a.shown}; asked the workers to stop ${c.running} running`;
      io.out(json ? JSON.stringify({ queue: a.shown, ...c }) : said);
      return 0;
    }
    const jobs = await queueStatus(a, queue);
    const finished = jobs.flatMap((j) => (j.state === 'finished' ? [j.result] : []));
    const open = jobs.filter((j) => j.state !== 'finished');
    if (json) {
      const n = (s: string) => open.filter((j) => j.state === s).length;
      io.out(JSON.stringify({ queue: a.shown, ...summarise(finished), running: n('running'), waiting: n('waiting'), jobs }));
    } else {
      for (const j of open) {
        const where = j.state === 'running' && j.progress ? `  ${j.progress.stage} ${j.progress.percent}%` : '';
        io.out(`${j.state.padEnd(10)}  ${j.project}${where}`);
      }
      if (finished.length) for (const l of summaryTable(finished)) io.out(l);
      if (!jobs.length) io.out(`no jobs on ${a.shown}`);
    }
    return finished.some((r) => r.status === 'failed') ? 1 : 0;
  } finally {
    await closeQueue(queue);
  }
}

export function cmdWorker(argv: string[], io: Io): Promise<number> {
  return usageGuard(io, async () => {
    const { values: v, positionals } = parse(argv, {
      queue: { type: 'string' },
      concurrency: { type: 'string' },
      threads: { type: 'string' },
      'prefix-map': { type: 'string', multiple: true },
    });
    if (positionals.length) throw new Usage(`unexpected argument '${positionals[0]}'`);
    const threads = count(v.threads as string | undefined, 'threads');
    if (threads !== undefined) setThreadBudget(threads);
    // Forked by a local batch (an IPC channel, no queue): take jobs from the parent.
    if (!v.queue && process.send) return serveLocal();
    if (!v.queue) throw new Usage('worker needs --queue redis://HOST:PORT');
    const prefixMap = ((v['prefix-map'] as string[] | undefined) ?? []).map((m): [string, string] => {
      const i = m.indexOf('=');
      if (i < 1) throw new Usage(`--prefix-map ${m}: expected FROM=TO`);
      return [m.slice(0, i), m.slice(i + 1)];
    });
    return runQueueWorker(parseQueueUrl(v.queue as string), { concurrency: count(v.concurrency as string | undefined, 'concurrency') ?? 1, prefixMap, ...io });
  });
}
