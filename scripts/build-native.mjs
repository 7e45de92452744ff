// Builds the native kernels (daemon/native) with node-gyp. Runs at `npm install` and as
// `npm run build:native`. A failed build is not fatal: the engine falls back to the TypeScript twins
// of every kernel, so installing on a machine without a compiler still works (just slower).
// Set VIDKOMPY_REQUIRE_NATIVE=1 to turn a failed build into a failed install (CI does).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addonDir = path.join(root, 'daemon', 'native');
const logFile = path.join(addonDir, 'build', 'build-native.log');
const required = process.env.VIDKOMPY_REQUIRE_NATIVE === '1';
const require = createRequire(import.meta.url);

/** [command, leading args]: npm's own node-gyp first, so no extra download or install is needed. */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, [fromNpm]];
  try {
    return [process.execPath, [require.resolve('node-gyp/bin/node-gyp.js')]];
  } catch {
    // not a dependency of this project: try the copy bundled with npm, then PATH
  }
  const bundled = path.resolve(process.execPath, '..', '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return [process.execPath, [bundled]];
  return ['node-gyp', []];
}

/** The running node's own headers, so node-gyp never tries to download them (machines are offline). */
function nodeDirArgs() {
  const dir = path.resolve(process.execPath, '..', '..');
  return existsSync(path.join(dir, 'include', 'node', 'node_api.h')) ? [`--nodedir=${dir}`] : [];
}

/** One line, then exit: 0 (the TypeScript kernels take over) unless VIDKOMPY_REQUIRE_NATIVE=1. */
function fail(reason, haveLog = true) {
  const details = haveLog ? ` Full log: ${path.relative(root, logFile)}` : '';
  const line = `vidkompy: native kernels were not built (${reason}); the engine will use the slower TypeScript kernels.`;
  if (required) {
    process.stderr.write(`error: ${line} VIDKOMPY_REQUIRE_NATIVE=1 makes this fatal.${details}\n`);
    process.exit(1);
  }
  process.stderr.write(`warning: ${line}${details}\n`);
  process.exit(0);
}

if (!existsSync(path.join(addonDir, 'binding.gyp'))) fail(`${path.relative(root, path.join(addonDir, 'binding.gyp'))} is missing`, false);
const [cmd, lead] = nodeGyp();
const args = [...lead, 'rebuild', '--directory', addonDir, '--jobs', 'max', ...nodeDirArgs()];
const started = Date.now();
const res = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const log = [`$ ${[cmd, ...args].join(' ')}`, res.stdout ?? '', res.stderr ?? '', res.error ? String(res.error) : ''].join('\n');
try {
  mkdirSync(path.dirname(logFile), { recursive: true });
  writeFileSync(logFile, log);
} catch {
  // the log is a convenience; never fail the install over it
}

if (res.error) fail(`could not run node-gyp: ${res.error.message}`);
if (res.status !== 0) {
  // The compiler's or gyp's own message says what to fix; node-gyp's stack trace does not.
  const lines = log.split('\n');
  const cause =
    lines.find((l) => /^gyp: |error:|fatal error|not found/i.test(l)) ??
    lines.reverse().find((l) => /gyp ERR! /.test(l) && !/stack|cwd|node -v|node-gyp -v|command|System|not ok/.test(l));
  fail(`node-gyp exited with ${res.status ?? res.signal}${cause ? `: ${cause.trim()}` : ''}`);
}
const built = path.join(addonDir, 'build', 'Release', 'vidkompy_kernels.node');
if (!existsSync(built)) fail(`node-gyp succeeded but ${built} is missing`);
process.stdout.write(`vidkompy: native kernels built in ${((Date.now() - started) / 1000).toFixed(1)} s (${path.relative(root, built)})\n`);
