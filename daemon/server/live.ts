import path from 'node:path';
import type { LiveAlignResult } from '../../protocol/lsp';
import type { Engine } from '../../protocol/project';
import { checkProjectText } from '../project/check';
import { loadProject } from '../project/jobs';
import type { ResolvedProject } from '../project/project';
import { inputStaleReasons, readProjectAlignment, staleReasons } from '../store';

/**
 * Whether an edit of a project should re-align it now (vidkompy/liveAlign). Only when that is cheap
 * and asked for by what changed: the file has no errors, it was aligned before, and its bg and fg
 * are the videos that alignment was made from, so the analysis the job worker keeps in memory
 * serves the new options. New videos mean decoding them: that waits for the user's Align.
 */

export type LiveDecision = Exclude<LiveAlignResult, { state: 'aligned' }> | { state: 'align'; project: ResolvedProject };

type Skipped = Extract<LiveAlignResult, { state: 'skipped' }>;
const skipped = (why: Skipped['why'], reason: string): Skipped => ({ state: 'skipped', why, reason });

export async function liveDecision(file: string, text: string, defaultEngine: Engine): Promise<LiveDecision> {
  const name = path.basename(file);
  const errors = (await checkProjectText(file, text)).filter((d) => d.severity === 'error');
  if (errors.length) {
    const n = errors.length === 1 ? 'an error' : `${errors.length} errors`;
    return skipped('errors', `${name} has ${n} (the Problems panel lists them); it re-aligns once they are fixed`);
  }
  const p = await loadProject(file, defaultEngine, text);
  const saved = await readProjectAlignment(p.alignmentFile).catch(() => undefined);
  if (!saved) return skipped('never aligned', `${name} is not aligned yet; run vidkompy: Align once, and edits re-align it from then on`);
  const inputs = await inputStaleReasons(saved, p);
  if (inputs.length) return skipped('inputs changed', `${inputs.join('; ')}: run vidkompy: Align to align the new videos`);
  if (!(await staleReasons(saved, p)).length) return { state: 'fresh' };
  return { state: 'align', project: p };
}
