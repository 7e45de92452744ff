import { promises as fs } from 'node:fs';
import path from 'node:path';
import { VidkompyError } from '../core/errors';
import { PROJECT_SUFFIX } from '../../protocol/project';

/** Folders never searched for projects: dependencies and hidden folders (.git, caches). */
const SKIP = new Set(['node_modules']);

/**
 * Every `*.vidkompy.json` under the given folders, plus the given project files: absolute, each
 * once (by real path, so a symlinked folder does not run a project twice), sorted.
 */
export async function discoverProjects(args: string[]): Promise<string[]> {
  const found = new Map<string, string>();
  const add = async (file: string) => {
    const real = await fs.realpath(file).catch(() => file);
    if (!found.has(real)) found.set(real, path.resolve(file));
  };
  const walk = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory() && !e.name.startsWith('.') && !SKIP.has(e.name)) await walk(full);
      else if (e.isFile() && e.name.endsWith(PROJECT_SUFFIX)) await add(full);
    }
  };
  for (const arg of args) {
    const st = await fs.stat(arg).catch(() => undefined);
    if (!st) throw new VidkompyError('ENOENT', `${arg}: no such file or folder; give folders or ${PROJECT_SUFFIX} files`, arg);
    if (st.isDirectory()) await walk(arg);
    else if (arg.endsWith(PROJECT_SUFFIX)) await add(arg);
    else throw new VidkompyError('BAD_ARGS', `${arg}: not a project (${PROJECT_SUFFIX}); give folders or project files`, arg);
  }
  return [...found.values()].sort();
}
