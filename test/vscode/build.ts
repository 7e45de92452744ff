import path from 'node:path';
import { build } from 'esbuild';

/**
 * Bundles the in-VS Code tests (test/vscode/index.ts and what it imports) into one CommonJS file
 * for the extension host: `vscode` comes from the host, mocha from this repository's node_modules.
 * `node --import tsx test/vscode/build.ts` builds it for a launcher.
 */

export const ROOT = path.resolve(__dirname, '..', '..');
export const TESTS_OUT = path.join(ROOT, '.vscode-test', 'out');

export async function buildVscodeTests(outDir = TESTS_OUT): Promise<string> {
  const outfile = path.join(outDir, 'index.js');
  await build({
    entryPoints: [path.join(ROOT, 'test', 'vscode', 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });
  return outfile;
}

if (require.main === module) {
  buildVscodeTests().then(
    (f) => console.log(f),
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
