import { spawn, type ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import net from 'node:net';

/**
 * What the queue tests and the bench share: a redis-server of our own (loopback only, no
 * persistence, stopped by its PID), and waits on child processes (by what they print) and on files.
 * Every wait is on an event, bounded.
 */

/** Resolves when `ok()` holds, checked on every change under `dir` (and once now); fails after `ms`. */
export function whenFiles(dir: string, ok: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = watch(dir, { recursive: true }, () => ok() && finish());
    const t = setTimeout(() => (w.close(), reject(new Error(`timed out after ${ms} ms waiting for ${what}`))), ms);
    const finish = () => (clearTimeout(t), w.close(), resolve());
    if (ok()) finish();
  });
}

/** Everything each child has printed so far (stdout and stderr), collected from its start. */
const printed = new WeakMap<ChildProcess, { text: string }>();
export function collect(child: ChildProcess): ChildProcess {
  const log = { text: '' };
  printed.set(child, log);
  child.stdout?.on('data', (c) => (log.text += c));
  child.stderr?.on('data', (c) => (log.text += c));
  return child;
}

/** What a collected child has printed so far. */
export function printedBy(child: ChildProcess): string {
  return printed.get(child)?.text ?? '';
}

/** Resolves with the first line `child` printed (since its start) matching `re`; fails after `ms` or on exit. */
export function whenLine(child: ChildProcess, re: RegExp, ms: number): Promise<string> {
  const log = printed.get(child)!;
  return new Promise((resolve, reject) => {
    const check = () => {
      const line = log.text.split('\n').find((l) => re.test(l));
      if (line === undefined) return;
      stop();
      resolve(line);
    };
    const onExit = (code: number | null) => (stop(), reject(new Error(`exited (${code}) before ${re}: ${log.text.slice(-500)}`)));
    const t = setTimeout(() => (stop(), reject(new Error(`timed out after ${ms} ms waiting for ${re} (got: ${log.text.slice(-500)})`))), ms);
    const stop = () => {
      clearTimeout(t);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface RedisServer {
  url: string;
  port: number;
  proc: ChildProcess;
  stop: () => Promise<void>;
}

/** A redis-server of our own: loopback only, no persistence; stopped by its PID. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  const proc = collect(spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  await whenLine(proc, /Ready to accept connections/, 10_000);
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited(proc);
  };
  return { url: `redis://127.0.0.1:${port}`, port, proc, stop };
}
