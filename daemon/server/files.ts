import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Files under a folder whose name passes `match`, nearest first, for completion and "fix the path".
 * Bounded (depth and entries) so a project in a huge folder still answers at once; dot folders and
 * node_modules are skipped.
 */
export async function findFiles(
  root: string,
  match: (name: string) => boolean,
  limits = { maxDepth: 6, maxEntries: 5000, maxResults: 200 },
): Promise<string[]> {
  const found: string[] = [];
  let seen = 0;
  let level = [path.resolve(root)];
  for (let depth = 0; depth <= limits.maxDepth && level.length && found.length < limits.maxResults; depth++) {
    const next: string[] = [];
    for (const dir of level.sort()) {
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        if (++seen > limits.maxEntries) return found;
        const full = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (!e.name.startsWith('.') && e.name !== 'node_modules') next.push(full);
        } else if (e.isFile() && match(e.name) && found.length < limits.maxResults) found.push(full);
      }
    }
    level = next;
  }
  return found;
}
