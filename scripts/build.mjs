// Bundles each entry point with esbuild. Native addons and onnxruntime stay external: they load
// binaries from their own folders at run time.
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';

const entries = [
  { in: 'daemon/cli/main.ts', out: 'dist/cli.js' },
  { in: 'daemon/server/main.ts', out: 'dist/daemon.js' },
  // The daemon's job worker thread (daemon/server/jobRunner.ts), loaded from beside dist/daemon.js.
  { in: 'daemon/server/jobWorker.ts', out: 'dist/jobWorker.js' },
  { in: 'extension/main.ts', out: 'dist/extension.js' },
  // The bench's measured step (bench/step.ts), bundled like the CLI so it times what users run, not tsx's transpiling.
  { in: 'bench/step.ts', out: 'dist/bench-step.js' },
  { in: 'webview/src/main.ts', out: 'dist/webview/main.js', platform: 'browser', format: 'iife', target: 'es2022' },
];

const external = ['onnxruntime-node', '*.node', 'vscode'];

// The version is stated once, in package.json; bundles get it inlined (daemon/version.ts).
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const define = { __VIDKOMPY_VERSION__: JSON.stringify(version) };

await Promise.all(
  entries
    .filter((e) => existsSync(e.in))
    .map((e) =>
      build({
        entryPoints: [e.in],
        outfile: e.out,
        bundle: true,
        platform: e.platform ?? 'node',
        format: e.format ?? 'cjs',
        target: e.target ?? 'node20',
        sourcemap: true,
        external: e.platform === 'browser' ? [] : external,
        define,
        logLevel: 'warning',
      }),
    ),
);
