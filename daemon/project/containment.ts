import { promises as fs } from 'node:fs';
import path from 'node:path';
import { VidkompyError } from '../core/errors';
import { diag, type ProjectDiagnostic } from './diagnostics';
import { spanOf, stringAt, type ParsedJson } from './jsonTree';
import { projectName, type ResolvedProject } from './project';

/**
 * A project is data anyone may hand over: what it writes (output, alignment file, their temp files
 * beside them) must land inside the project file's folder tree, after following symlinks, so a
 * project cannot write (or create folders) anywhere else. The editor's check and the jobs share this.
 */

/**
 * Where `file` really is: the deepest ancestor that exists, with its symlinks followed, plus the
 * part that does not exist yet (which will be created as plain folders and files, so it cannot
 * lead anywhere else). A dangling symlink on the way is refused: writing through it would follow it.
 */
export async function realTarget(file: string): Promise<string> {
  const abs = path.resolve(file);
  let at = abs;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(await fs.realpath(at), ...rest);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (await fs.lstat(at).catch(() => undefined)) throw new Error(`${at} is a broken symlink`);
    const up = path.dirname(at);
    if (up === at) return abs;
    rest.unshift(path.basename(at));
    at = up;
  }
}

/** Why `file` is not inside the project's folder tree, or undefined when it is. */
export async function escapeReason(projectFile: string, file: string): Promise<string | undefined> {
  const dir = path.dirname(path.resolve(projectFile));
  let root: string;
  let real: string;
  try {
    // realTarget, not realpath: an editor may check a project whose folder is not on disk yet.
    root = await realTarget(dir);
    real = await realTarget(file);
  } catch (e) {
    return `it cannot be resolved (${(e as Error).message})`;
  }
  const rel = path.relative(root, real);
  if (rel === '' || (rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel))) return undefined;
  const followed = real !== path.resolve(file) ? ` (${path.resolve(file)} leads to ${real})` : '';
  return `it is outside the project's folder ${root}${followed}`;
}

/** The 'OUTSIDE' error on "output" (its exact range) when it leads out of the project's folder. */
export async function containmentDiagnostics(parsed: ParsedJson, projectFile: string): Promise<ProjectDiagnostic[]> {
  const dir = path.dirname(path.resolve(projectFile));
  const output = stringAt(parsed.root, ['output']);
  const out: ProjectDiagnostic[] = [];
  const target = output?.value ? path.resolve(dir, output.value) : path.join(dir, `${projectName(projectFile)}.mp4`);
  const why = await escapeReason(projectFile, target);
  if (why) {
    const message = `output "${output?.value ?? path.basename(target)}" would be written outside this project: ${why}; choose a path inside the project's folder`;
    // The default output has no range of its own: the finding sits at the start of the file.
    out.push(diag(output ? spanOf(output.node) : { offset: 0, length: 0 }, 'error', 'OUTSIDE', message));
  }
  return out;
}

/** Refuses, before anything is written, a job whose output or alignment file leads out of the project. */
export async function assertContained(p: Pick<ResolvedProject, 'file' | 'output' | 'alignmentFile'>, which: ('output' | 'alignmentFile')[]): Promise<void> {
  for (const key of which) {
    const why = await escapeReason(p.file, p[key]);
    const what = key === 'output' ? 'output' : 'alignment file';
    if (why) throw new VidkompyError('UNWRITABLE', `${p.file}: the ${what} ${p[key]} would be written outside the project: ${why}; choose a path inside it`, p.file);
  }
}
