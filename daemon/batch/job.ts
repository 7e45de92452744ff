import { promises as fs } from 'node:fs';
import { STAGE_LABEL } from '../../protocol/project';
import { VidkompyError, type Fix } from '../core/errors';
import { writtenByVidkompy } from '../media/probe';
import { loadProject, runProject } from '../project/jobs';
import type { ResolvedProject } from '../project/project';
import { readProjectAlignment, staleReasons } from '../store';
import { ALIGN_SHARE } from './constants';

/** One project's outcome, the same whether it ran in the local pool or on a queue worker. */
export interface JobResult {
  project: string;
  status: 'done' | 'up to date' | 'failed' | 'cancelled';
  output?: string;
  alignment?: string;
  /** A new alignment was made (false: the saved one was fresh). */
  aligned?: boolean;
  error?: string;
  code?: string;
  /** The error without its fix, and the fix as data, so the editor can word it its own way (`error` is the CLI's). */
  problem?: string;
  fix?: Fix;
  seconds?: number;
  attempts?: number;
  /** The render was split into this many chunks, rendered by several workers and joined. */
  chunks?: number;
}

/** Where a running job is: the stage's label and the job's overall percentage. */
export interface JobProgress {
  stage: string;
  percent: number;
}

export interface BatchJobHooks {
  signal?: AbortSignal;
  onProgress?: (p: JobProgress) => void;
}

/**
 * Whether the project needs no work: its pinned alignment is fresh (staleReasons) and the output
 * exists, is newer than the alignment and the project file (a changed "render" re-renders), and
 * carries vidkompy's tag (someone else's file there is never "up to date").
 */
export async function upToDate(p: ResolvedProject, signal?: AbortSignal): Promise<boolean> {
  const saved = await readProjectAlignment(p.alignmentFile).catch(() => undefined);
  if (!saved || (await staleReasons(saved, p)).length) return false;
  const [out, al, proj] = await Promise.all([p.output, p.alignmentFile, p.file].map((f) => fs.stat(f).catch(() => undefined)));
  if (!out || !al || !proj || out.mtimeMs < al.mtimeMs || out.mtimeMs < proj.mtimeMs) return false;
  return writtenByVidkompy(p.output, signal);
}

/** Reports whole-percent changes only: each report may cross a process boundary or reach Redis. */
export function progressReporter(hooks: BatchJobHooks): (stage: string, percent: number) => void {
  let last = '';
  return (stage, f) => {
    const percent = Math.round(Math.max(0, Math.min(100, f)));
    if (`${stage}${percent}` === last) return;
    last = `${stage}${percent}`;
    hooks.onProgress?.({ stage, percent });
  };
}

/** Seconds since it was made, to the hundredth. */
export function stopwatch(): () => number {
  const started = Date.now();
  return () => Number(((Date.now() - started) / 1000).toFixed(2));
}

/** One batch job: skip an up-to-date project, else align (reusing a fresh alignment) and render. */
export async function runBatchJob(file: string, hooks: BatchJobHooks = {}): Promise<JobResult> {
  const seconds = stopwatch();
  const p = await loadProject(file);
  if (await upToDate(p, hooks.signal)) {
    return { project: p.file, status: 'up to date', output: p.output, alignment: p.alignmentFile, aligned: false, seconds: seconds() };
  }
  const report = progressReporter(hooks);
  const r = await runProject(p, {
    signal: hooks.signal,
    onAlignProgress: (stage, f) => report(STAGE_LABEL[stage], f * ALIGN_SHARE * 100),
    onRenderProgress: (f) => report('rendering', (ALIGN_SHARE + f * (1 - ALIGN_SHARE)) * 100),
  });
  return { project: p.file, status: 'done', output: r.render.output, alignment: p.alignmentFile, aligned: !r.cached, seconds: seconds() };
}

/** A failure as a result line: VidkompyErrors already name the file and the fix. */
export function failure(project: string, e: unknown): JobResult {
  if (e instanceof VidkompyError) {
    const said = e.fix ? { problem: e.problem, fix: e.fix } : {};
    return { project, status: e.code === 'CANCELLED' ? 'cancelled' : 'failed', error: e.message, code: e.code, ...said };
  }
  return { project, status: 'failed', error: `internal error: ${(e as Error)?.message ?? e}`, code: 'INTERNAL' };
}

/**
 * Whether trying again may help: internal errors and failed encodes (a full disk, a flaky mount)
 * may pass; a user's error (a bad project, a missing file, a stale alignment, no match) will not.
 */
export function retryable(r: JobResult): boolean {
  return r.status === 'failed' && (r.code === 'INTERNAL' || r.code === 'ENCODE');
}
