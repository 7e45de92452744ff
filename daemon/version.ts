import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Set by scripts/build.mjs (esbuild `define`) from package.json; undeclared when tsx runs the source. */
declare const __VIDKOMPY_VERSION__: string | undefined;

/**
 * vidkompy's version, stated once in package.json: what `vidkompy --version` prints and what the
 * daemon reports (serverInfo, `vidkompy/status`). Bundles carry it inlined; the source reads it.
 */
export const VERSION: string = typeof __VIDKOMPY_VERSION__ === 'string' ? __VIDKOMPY_VERSION__ : readVersion(__dirname);

/** The version in the nearest package.json named vidkompy, from `dir` up. */
export function readVersion(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(d, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'vidkompy' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here (or not ours): look further up
    }
    if (path.dirname(d) === d) throw new Error(`vidkompy: no package.json above ${dir} states the version`);
  }
}
