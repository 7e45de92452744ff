import { parentPort } from 'node:worker_threads';
import { setNoteSink } from '../core/notes';
import { VidkompyError } from '../core/errors';
import { setThreadBudget, setTools } from '../media/tools';
import { setHashCacheDirectory } from '../project/filecache';
import { alignProject, renderProject } from '../project/jobs';
import { detectPlacement } from '../project/placement';
import { tryCommit } from './jobQueue';
import type { FromWorker, ToWorker } from './jobRunner';

/** The job worker (see jobRunner.ts): runs the daemon's aligns, renders and placement searches. */

const port = parentPort;
if (!port) throw new Error('jobWorker.ts runs as a worker thread of the daemon');
const post = (m: FromWorker) => port.postMessage(m);
// Notes (a damaged cache entry discarded) go to the daemon's log, like everything else it reports.
setNoteSink((line) => post({ type: 'log', line }));
const running = new Map<number, AbortController>();

port.on('message', (m: ToWorker) => {
  if (m.type === 'cancel') return running.get(m.id)?.abort();
  const { id, kind, project, state, env } = m;
  setTools({ ffmpeg: env.ffmpeg, ffprobe: env.ffprobe });
  setThreadBudget(env.threads);
  setHashCacheDirectory(env.hashCacheDirectory);
  const controller = new AbortController();
  running.set(id, controller);
  const hooks = { signal: controller.signal, commit: () => tryCommit(state) };
  const job =
    kind === 'align'
      ? alignProject(project, {
          ...hooks,
          cacheDir: env.embedCacheDirectory,
          onAlignProgress: (stage, fraction) => post({ type: 'progress', id, stage, fraction }),
          onFirstMap: (map) => post({ type: 'firstMap', id, map }),
        })
      : kind === 'render'
        ? renderProject(project, { ...hooks, onRenderProgress: (fraction) => post({ type: 'progress', id, stage: 'rendering', fraction }) })
        : detectPlacement(project, controller.signal);
  job.then(
    (result) => post({ type: 'done', id, result }),
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      const v = err instanceof VidkompyError ? err : undefined;
      post({ type: 'error', id, error: { code: v?.code, message: err.message, problem: v?.problem, fix: v?.fix, file: v?.file, stack: err.stack } });
    },
  ).finally(() => running.delete(id));
});
