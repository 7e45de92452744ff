import { createHash } from 'node:crypto';
import { STAGE_LABEL } from '../../protocol/project';
import { VidkompyError } from '../core/errors';
import { chunkFile, removeChunkFiles, sweepChunks, type FrameRange } from '../engine';
import { alignForRender, freshAlignment, joinProjectChunks, loadProject, projectChunks, readProject, renderProject, renderProjectChunk } from '../project/jobs';
import type { ResolvedProject } from '../project/project';
import { serialiseProjectAlignment, type ProjectAlignment } from '../store';
import { ALIGN_SHARE } from './constants';
import { progressReporter, runBatchJob, stopwatch, upToDate, type BatchJobHooks, type JobProgress, type JobResult } from './job';

/**
 * A long project's render split across workers: the project step aligns and, when the project is
 * long enough, plans chunks instead of rendering; each chunk step renders one time chunk; the join
 * step concatenates them and adds the sound; the drop step removes the chunks of a render that
 * failed or was cancelled. The local pool and the queue worker run the same steps (runTask) and only
 * schedule them differently.
 */

/** How one split render is cut: recorded by the project step, read by every chunk and the join. */
export interface ChunkPlan {
  /** Names this render's chunk files: the queue job's id, or the local batch's. */
  id: string;
  /** The alignment's content hash: a chunk or join refuses an alignment that changed since. */
  alignment: string;
  chunks: FrameRange[];
  /** The output as the planning worker saw it: where the chunks lie if the project file is gone. */
  output: string;
}

/** What the project step is asked: split renders of at least two chunks of about `seconds`. */
export interface SplitRequest {
  seconds: number;
  id: string;
}

export type BatchTask =
  | { kind: 'project'; file: string; split?: SplitRequest }
  | { kind: 'chunk'; file: string; plan: ChunkPlan; index: number }
  | { kind: 'join'; file: string; plan: ChunkPlan }
  | { kind: 'drop'; file: string; plan: ChunkPlan };

/** The project step aligned and planned chunks: the render is still to be done, by the chunk steps. */
export interface SplitOutcome {
  project: string;
  status: 'split';
  plan: ChunkPlan;
  aligned: boolean;
  seconds: number;
}

export type TaskOutcome = JobResult | SplitOutcome;

const alignmentKey = (saved: ProjectAlignment) => createHash('sha256').update(serialiseProjectAlignment(saved)).digest('hex').slice(0, 16);

/**
 * The project step: skip an up-to-date project, else align (reusing a fresh alignment), then
 * either plan a split render (a long project, when asked) or render it whole.
 */
export async function runProjectStep(file: string, split: SplitRequest | undefined, hooks: BatchJobHooks = {}): Promise<TaskOutcome> {
  if (!split) return runBatchJob(file, hooks);
  const seconds = stopwatch();
  const p = await loadProject(file);
  if (await upToDate(p, hooks.signal)) {
    return { project: p.file, status: 'up to date', output: p.output, alignment: p.alignmentFile, aligned: false, seconds: seconds() };
  }
  const report = progressReporter(hooks);
  const aligned = await alignForRender(p, { signal: hooks.signal, onAlignProgress: (stage, f) => report(STAGE_LABEL[stage], f * ALIGN_SHARE * 100) });
  const ranges = await projectChunks(p, aligned.alignment, split.seconds, hooks.signal);
  if (ranges) {
    // Leftovers of an earlier split render of this output that never finished (its machine lost).
    sweepChunks(p.output, split.id);
    const plan: ChunkPlan = { id: split.id, alignment: alignmentKey(aligned.alignment), chunks: ranges, output: p.output };
    return { project: p.file, status: 'split', plan, aligned: !aligned.cached, seconds: seconds() };
  }
  // Too short to split: rendered whole, here.
  const r = await renderProject(p, { signal: hooks.signal, onRenderProgress: (f) => report('rendering', (ALIGN_SHARE + f * (1 - ALIGN_SHARE)) * 100) });
  return { project: p.file, status: 'done', output: r.output, alignment: p.alignmentFile, aligned: !aligned.cached, seconds: seconds() };
}

/** The chunk files of a plan, where this machine sees the project's output. */
export function chunkFiles(output: string, plan: ChunkPlan): string[] {
  return plan.chunks.map((_, k) => chunkFile(output, plan.id, k));
}

/** The project, refused if its alignment is no longer the one the plan was made from. */
async function planned(file: string, plan: ChunkPlan): Promise<ResolvedProject> {
  const p = await loadProject(file);
  if (alignmentKey(await freshAlignment(p)) !== plan.alignment) {
    throw new VidkompyError('STALE', `${p.alignmentFile}: changed while ${p.file} was being rendered in chunks; run the project again`, p.alignmentFile);
  }
  return p;
}

/** One chunk step: fg frames plan.chunks[index] to their chunk file (written atomically: a re-run replaces it). */
export async function runChunkStep(file: string, plan: ChunkPlan, index: number, hooks: BatchJobHooks = {}): Promise<JobResult> {
  const seconds = stopwatch();
  const p = await planned(file, plan);
  const report = progressReporter(hooks);
  const stage = `rendering chunk ${index + 1}/${plan.chunks.length}`;
  const out = chunkFile(p.output, plan.id, index);
  await renderProjectChunk(p, plan.chunks[index], out, { signal: hooks.signal, onRenderProgress: (f) => report(stage, f * 100) });
  return { project: p.file, status: 'done', output: out, seconds: seconds() };
}

/** The join step: the chunks into the project's output, then the chunks removed. */
export async function runJoinStep(file: string, plan: ChunkPlan, hooks: BatchJobHooks = {}): Promise<JobResult> {
  const seconds = stopwatch();
  const p = await planned(file, plan);
  hooks.onProgress?.({ stage: `joining ${plan.chunks.length} chunks`, percent: 99 });
  const files = chunkFiles(p.output, plan);
  const chunks = files.map((f, k) => ({ file: f, range: plan.chunks[k] }));
  const r = await joinProjectChunks(p, chunks, { signal: hooks.signal });
  removeChunkFiles(files);
  return { project: p.file, status: 'done', output: r.output, alignment: p.alignmentFile, chunks: plan.chunks.length, seconds: seconds() };
}

/** The drop step: a failed or cancelled split render's chunks removed (the project file may be broken or gone). */
export async function runDropStep(file: string, plan: ChunkPlan): Promise<void> {
  const output = await readProject(file).then(
    (p) => p.output,
    () => plan.output,
  );
  removeChunkFiles(chunkFiles(output, plan));
}

/** Runs any step; the caller turns a throw into a failed result (job.ts's failure). */
export async function runTask(task: BatchTask, hooks: BatchJobHooks = {}): Promise<TaskOutcome> {
  switch (task.kind) {
    case 'project':
      return runProjectStep(task.file, task.split, hooks);
    case 'chunk':
      return runChunkStep(task.file, task.plan, task.index, hooks);
    case 'join':
      return runJoinStep(task.file, task.plan, hooks);
    case 'drop':
      await runDropStep(task.file, task.plan);
      return { project: task.file, status: 'done' };
  }
}

/** A chunked render's overall percentage: aligning, then the chunks' mean (each 0..100). */
export function splitProgress(chunkPercents: number[]): JobProgress {
  const mean = chunkPercents.reduce((a, b) => a + b, 0) / Math.max(1, chunkPercents.length);
  return { stage: `rendering in ${chunkPercents.length} chunks`, percent: Math.round((ALIGN_SHARE + (mean / 100) * (1 - ALIGN_SHARE)) * 100) };
}
