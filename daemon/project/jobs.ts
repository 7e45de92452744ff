import { promises as fs } from 'node:fs';
import type { Provider, Stage } from '../../protocol/project';
import { align } from '../align';
import { writeFileAtomic } from '../core/atomic';
import { checkDecodedAll, compose, joinChunks, planChunks, prepareOutput, type ComposeResult, type FirstMap, type FrameRange } from '../engine';
import { VidkompyError, type ErrorCode } from '../core/errors';
import { memoryCache } from '../core/lru';
import { type Engine } from '../../protocol/project';
import {
  fromProjectAlignment,
  inputHashes,
  readProjectAlignment,
  serialiseProjectAlignment,
  staleReasons,
  toProjectAlignment,
  type ProjectAlignment,
} from '../store';
import { checkProjectText, readProjectText } from './check';
import { assertContained } from './containment';
import { parseJson } from './jsonTree';

/**
 * One per process: the daemon re-aligns the same videos as a project is edited, and options that do
 * not move fg (engine, window, sync-point anchors) then re-align from memory.
 */
export const alignCache = memoryCache(768 << 20);
import { alignOptionsOf, composeOptionsOf, resolveProject, type ProjectFile, type ResolvedProject } from './project';

/**
 * The two heavy jobs on a project, shared by the daemon and `vidkompy run`: align (or reuse a
 * fresh saved alignment) and render from the saved alignment.
 */

export interface JobHooks {
  signal?: AbortSignal;
  /** Where embeddings are cached (the engine's default when undefined). */
  cacheDir?: string;
  onAlignProgress?: (stage: Stage, fraction: number) => void;
  /** The first whole map of the alignment, long before it ends (AlignOptions.onFirstMap). */
  onFirstMap?: (map: FirstMap) => void;
  onRenderProgress?: (fraction: number) => void;
  /** Claims the job's result just before it is renamed into place (see CommitOptions). */
  commit?: () => boolean;
}

/** Findings that carry probe()'s own error code through to the job's error reply. */
const MEDIA_CODES: ErrorCode[] = ['ENOENT', 'NOT_VIDEO', 'NO_VIDEO_STREAM', 'NO_FRAMES', 'DECODE', 'TOOL_MISSING'];

/**
 * Reads a project for a job: refused with every error the checks find, so a job never starts on a
 * project the editor shows as broken. `text`: the editor's unsaved text, when it has some.
 */
export async function loadProject(file: string, defaultEngine?: Engine, text?: string): Promise<ResolvedProject> {
  const src = text ?? (await readProjectText(file));
  const errors = (await checkProjectText(file, src)).filter((d) => d.severity === 'error');
  if (errors.length) {
    const first = errors[0];
    const code = MEDIA_CODES.find((c) => c === first.code) ?? 'BAD_ARGS';
    if (errors.length === 1) throw new VidkompyError(code, `${file}: ${first.message}`, file);
    // More than one: where to see them all is each front end's (the CLI's check, the editor's Problems).
    throw new VidkompyError(code, `${file}: ${first.message} (and ${errors.length - 1} more)`, file, { kind: 'command', command: 'check' });
  }
  return resolveProject(file, parseJson(src).value as ProjectFile, defaultEngine);
}

/**
 * Reads a project leniently, for what only looks (previews, code actions): any file with "bg" and
 * "fg" paths will do, even while other fields are being edited.
 */
export async function readProject(file: string, defaultEngine?: Engine, text?: string): Promise<ResolvedProject> {
  const src = text ?? (await readProjectText(file));
  const parsed = parseJson(src);
  if (parsed.limit) throw new VidkompyError('BAD_ARGS', `${file}: ${parsed.limit.message}`, file);
  const v = parsed.value as Partial<ProjectFile> | undefined;
  if (!v || typeof v !== 'object' || typeof v.bg !== 'string' || typeof v.fg !== 'string') {
    throw new VidkompyError('BAD_ARGS', `${file}: a project needs "bg" and "fg" paths`, file, { kind: 'command', command: 'check' });
  }
  return resolveProject(file, v as ProjectFile, defaultEngine);
}

export interface AlignOutcome {
  alignment: ProjectAlignment;
  cached: boolean;
  /** The ONNX execution provider, when this alignment ran a model. */
  provider?: Provider;
}

/** Aligns the project and saves the alignment beside it, unless the saved one is still fresh. */
export async function alignProject(p: ResolvedProject, hooks: JobHooks = {}): Promise<AlignOutcome> {
  const options = alignOptionsOf(p);
  await assertContained(p, ['alignmentFile']);
  // A damaged or foreign file in the alignment's place is replaced, not fatal.
  const saved = await readProjectAlignment(p.alignmentFile).catch(() => undefined);
  if (saved && !(await staleReasons(saved, p)).length) return { alignment: saved, cached: true };
  const [al, hashes] = await Promise.all([
    align(p.bg, p.fg, {
      ...options,
      cacheDir: hooks.cacheDir,
      cache: alignCache,
      signal: hooks.signal,
      onProgress: hooks.onAlignProgress,
      onFirstMap: hooks.onFirstMap,
    }),
    inputHashes(p),
  ]);
  const alignment = toProjectAlignment(al, p, hashes);
  await writeFileAtomic(p.alignmentFile, serialiseProjectAlignment(alignment), { signal: hooks.signal, commit: hooks.commit });
  return { alignment, cached: false, provider: al.temporal.provider };
}

/** The saved alignment, refused when there is none yet. */
export async function savedAlignment(p: ResolvedProject): Promise<ProjectAlignment> {
  const saved = await readProjectAlignment(p.alignmentFile);
  if (saved) return saved;
  throw new VidkompyError('STALE', `${p.alignmentFile}: no alignment yet for ${p.file}`, p.alignmentFile, { kind: 'command', command: 'align' });
}

/** The saved alignment, refused when there is none or it no longer matches the project. */
export async function freshAlignment(p: ResolvedProject): Promise<ProjectAlignment> {
  const saved = await savedAlignment(p);
  const reasons = await staleReasons(saved, p);
  if (reasons.length) {
    throw new VidkompyError('STALE', `${p.alignmentFile}: the saved alignment is stale: ${reasons.join('; ')}`, p.alignmentFile, {
      kind: 'command',
      command: 'realign',
    });
  }
  return saved;
}

/** Renders the project from its saved alignment (which must be fresh). */
export async function renderProject(p: ResolvedProject, hooks: JobHooks = {}): Promise<ComposeResult> {
  await assertContained(p, ['output']);
  const saved = await freshAlignment(p);
  const options = { ...composeOptionsOf(p), overwriteFix: OVERWRITE_FIX, signal: hooks.signal, onProgress: hooks.onRenderProgress, commit: hooks.commit };
  return compose(fromProjectAlignment(saved, p.file), options);
}

/** A project has no -y: a foreign file in the output's place is the user's to move. */
const OVERWRITE_FIX = 'move it away, or choose another "output"';

/**
 * Aligns for a render (reusing a fresh saved alignment). The output is checked for writability
 * first, so a typo in "output" fails now rather than after the alignment.
 */
export async function alignForRender(p: ResolvedProject, hooks: JobHooks = {}): Promise<AlignOutcome> {
  await assertContained(p, ['output', 'alignmentFile']);
  const check = await prepareOutput(p.output, [p.bg, p.fg], { overwriteFix: OVERWRITE_FIX, signal: hooks.signal });
  await fs.rm(check.temp, { force: true });
  // Only the render's rename ends the job; a cancel between the two steps still stops it.
  return alignProject(p, { ...hooks, commit: undefined });
}

/** `vidkompy run`: align (reusing a fresh saved alignment) and render. */
export async function runProject(p: ResolvedProject, hooks: JobHooks = {}): Promise<AlignOutcome & { render: ComposeResult }> {
  const aligned = await alignForRender(p, hooks);
  return { ...aligned, render: await renderProject(p, hooks) };
}

/**
 * How a render split across workers cuts fg (chunks of about `seconds`), or undefined when the
 * project is too short to split. A whole render finds out that fg decodes short only at its end;
 * a split one asks first, with the same refusal.
 */
export async function projectChunks(p: ResolvedProject, saved: ProjectAlignment, seconds: number, signal?: AbortSignal): Promise<FrameRange[] | undefined> {
  const al = fromProjectAlignment(saved, p.file);
  const frames = al.temporal.bgFrameForFg.length;
  const ranges = planChunks(frames, al.fg.fps, seconds);
  if (ranges) await checkDecodedAll(al, frames, { signal });
  return ranges;
}

/** fg frames `range` of the project's render, picture only, to `file` (a chunk; see engine/render/chunks.ts). */
export async function renderProjectChunk(p: ResolvedProject, range: FrameRange, file: string, hooks: JobHooks = {}): Promise<ComposeResult> {
  await assertContained(p, ['output']);
  const saved = await freshAlignment(p);
  const options = { ...composeOptionsOf(p), output: file, frames: range, overwrite: true, signal: hooks.signal, onProgress: hooks.onRenderProgress };
  return compose(fromProjectAlignment(saved, p.file), options);
}

/** Joins the chunks of the project's split render into its output. */
export async function joinProjectChunks(p: ResolvedProject, chunks: { file: string; range: FrameRange }[], hooks: JobHooks = {}): Promise<ComposeResult> {
  await assertContained(p, ['output']);
  const saved = await freshAlignment(p);
  const options = { ...composeOptionsOf(p), overwriteFix: OVERWRITE_FIX, signal: hooks.signal, onProgress: hooks.onRenderProgress, commit: hooks.commit };
  return joinChunks(fromProjectAlignment(saved, p.file), chunks, options);
}
