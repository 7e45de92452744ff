import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  WorkDoneProgress,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  ResponseError,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type ClientCapabilities,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
  type WorkDoneProgressBegin,
  type WorkDoneProgressEnd,
  type WorkDoneProgressReport,
} from 'vscode-languageserver-protocol/node';
import { coarseMapNotification, statusNotification, type CoarseMap, type Status } from '../../protocol/lsp';

/**
 * A real LSP client for the real daemon: spawns `node dist/daemon.js --stdio` and talks JSON-RPC
 * over its stdin/stdout, recording what the daemon pushes (diagnostics, progress, status, logs).
 */

export const ROOT = path.resolve(__dirname, '..', '..');
export const DAEMON = path.join(ROOT, 'dist', 'daemon.js');

function newest(dir: string, exts: string[]): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Builds dist/ when it is missing or older than the sources it bundles (`npm test` builds first,
 * so this only runs when a test file is run on its own after an edit).
 */
export function ensureBuilt(): void {
  const built = ['cli.js', 'daemon.js', 'jobWorker.js'].map((f) => path.join(ROOT, 'dist', f));
  const oldest = Math.min(...built.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)));
  const src = Math.max(newest(path.join(ROOT, 'daemon'), ['.ts']), newest(path.join(ROOT, 'protocol'), ['.ts']), newest(path.join(ROOT, 'schemas'), ['.json']));
  if (oldest >= src) return;
  const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
}

export type Progress = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

export interface TestClient {
  conn: ProtocolConnection;
  child: ChildProcessWithoutNullStreams;
  /** Records every $/progress value sent on `token` (register before sending the request). */
  watchProgress(token: string): Progress[];
  statuses: Status[];
  /** Every vidkompy/coarseMap, with how many statuses had come before it. */
  coarse: (CoarseMap & { statusesBefore: number })[];
  logs: string[];
  stderr(): string;
  /** The next (or an already received) publish for `uri` that `pred` accepts. */
  diagnostics(uri: string, pred?: (p: PublishDiagnosticsParams) => boolean, timeoutMs?: number): Promise<PublishDiagnosticsParams>;
  open(file: string, text: string, version?: number): string;
  change(uri: string, text: string, version: number): void;
  /** Waits until `pred` holds for something pushed (checked on every push). */
  until<T>(what: string, pred: () => T | undefined, timeoutMs?: number): Promise<T>;
  close(): Promise<number | null>;
}

export async function startClient(opts: {
  root: string;
  capabilities?: ClientCapabilities;
  settings?: unknown;
  command?: string[];
  init?: Record<string, unknown>;
}): Promise<TestClient> {
  const command = opts.command ?? [DAEMON, '--stdio'];
  const child = spawn(process.execPath, command, { cwd: opts.root, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const published: PublishDiagnosticsParams[] = [];
  const statuses: Status[] = [];
  const coarse: TestClient['coarse'] = [];
  const logs: string[] = [];
  const waiters = new Set<() => void>();
  const poke = () => {
    for (const w of [...waiters]) w();
  };
  conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
    published.push(p);
    poke();
  });
  conn.onNotification(statusNotification.method, (s: Status) => {
    statuses.push(s);
    poke();
  });
  conn.onNotification(coarseMapNotification.method, (m: CoarseMap) => {
    coarse.push({ ...m, statusesBefore: statuses.length });
    poke();
  });
  conn.onNotification(LogMessageNotification.type, (m) => {
    logs.push(m.message);
    poke();
  });
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.listen();

  const until = <T>(what: string, pred: () => T | undefined, timeoutMs = 30_000) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const v = pred();
        if (v === undefined || v === false) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(v);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; daemon stderr: ${err}; logs: ${logs.join('\n')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(opts.root).href,
    workspaceFolders: [{ uri: pathToFileURL(opts.root).href, name: 'test' }],
    capabilities: opts.capabilities ?? { textDocument: { codeAction: { resolveSupport: { properties: ['edit'] } } } },
    initializationOptions: opts.settings || opts.init ? { ...opts.init, ...(opts.settings ? { settings: opts.settings } : {}) } : undefined,
  });
  await conn.sendNotification(InitializedNotification.type, {});

  return {
    conn,
    child,
    watchProgress(token) {
      const list: Progress[] = [];
      conn.onProgress(WorkDoneProgress.type, token, (v) => {
        list.push(v);
        poke();
      });
      return list;
    },
    statuses,
    coarse,
    logs,
    stderr: () => err,
    diagnostics: (uri, pred = () => true, timeoutMs) =>
      until(`diagnostics for ${uri}`, () => [...published].reverse().find((p) => p.uri === uri && pred(p)), timeoutMs),
    open(file, text, version = 1) {
      const uri = pathToFileURL(file).href;
      void conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'json', version, text } });
      return uri;
    },
    change(uri, text, version) {
      void conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text }] });
    },
    until,
    async close() {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      if (child.exitCode !== null) return child.exitCode;
      await conn.sendRequest(ShutdownRequest.type).catch(() => undefined);
      await conn.sendNotification(ExitNotification.type).catch(() => undefined);
      const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      conn.dispose();
      return code;
    },
  };
}

/** The reply's error, asserting the request failed. */
export async function failure(p: Promise<unknown>): Promise<ResponseError<{ code: string }>> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ResponseError, `a ResponseError, got ${e}`);
    return e as ResponseError<{ code: string }>;
  }
  assert.fail('the request should have failed');
}
