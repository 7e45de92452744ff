/**
 * How the bench runs and times its commands: ffmpeg with an argument array, and any command with
 * its wall and CPU time. Shared by the 60 s bench (bench.ts) and the long one (longvideo.ts).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tools } from '../daemon/media/tools';

/** What the bench has running: an interrupted bench stops it all (stopOnSignal). */
const running = new Set<ChildProcess>();

/**
 * Spawns a command the bench waits on as the leader of a process group of its own, so that an
 * interrupted bench stops all it started (a step's ffmpeg, a queue worker's job processes), not
 * only the shell that times it: killing that shell alone left workers and redis-server running.
 */
export function spawnStoppable(cmd: string, args: string[], opts: SpawnOptions): ChildProcess {
  return stopOnSignal(spawn(cmd, args, { ...opts, detached: true }));
}

/** Stops `child` (and its process group, where it leads one) when the bench is interrupted. */
export function stopOnSignal<C extends ChildProcess>(child: C): C {
  installStop();
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

let installed = false;
/** The signal handlers, once. */
function installStop(): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const c of running) {
        try {
          process.kill(-c.pid!, 'SIGTERM');
        } catch {
          c.kill('SIGTERM');
        }
      }
      process.exit(128 + os.constants.signals[sig]);
    });
  }
}

/** Runs the bundled ffmpeg quietly; resolves with the wall seconds it took. */
export function ffmpeg(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawnStoppable(tools().ffmpeg, ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve((performance.now() - t) / 1000) : reject(new Error(`ffmpeg ${args.join(' ')}: ${err}`))));
  });
}

export interface Timed {
  wall: number;
  /** User + system seconds of everything the command ran. */
  cpu: number;
  stdout: string;
}

/**
 * Runs a command through bash and reads back, with `times`, the CPU seconds (user + system) of
 * everything it ran: on a shared machine, wall time depends on the neighbours, CPU time does not.
 * Its stdout goes through `outFile` (a pipe would race bash's `times` on stderr).
 */
export function timed(argv: string[], outFile: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawnStoppable('bash', ['-c', '"$@" > "$VK_OUT"; s=$?; times >&2; exit $s', 'bash', ...argv], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, VK_OUT: outFile },
    });
    let err = '';
    child.stderr!.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('close', async (code) => {
      if (code !== 0) return reject(new Error(`${argv.join(' ')}: ${err}`));
      // `times` prints the shell's line, then its children's: "0m12.345s 0m0.678s".
      const lines = err.trim().split('\n').slice(-2);
      const secs = (m: RegExpMatchArray) => Number(m[1]) * 60 + Number(m[2]);
      const parts = [...(lines[1] ?? '').matchAll(/(\d+)m([\d.]+)s/g)];
      resolve({
        wall: (performance.now() - t) / 1000,
        cpu: parts.reduce((a, m) => a + secs(m), 0),
        stdout: await fs.readFile(outFile, 'utf8'),
      });
    });
  });
}

/**
 * The align floor as a command for `timed`: the bundled ffmpeg decoding bg and fg at once to null,
 * as align decodes them; the paths travel as arguments, never inside the script.
 */
export function floorCommand(bg: string, fg: string): string[] {
  const ff = [tools().ffmpeg, '-nostdin', '-v', 'error', '-y'];
  return ['bash', '-c', '"${@:3}" -i "$1" -f null - & "${@:3}" -i "$2" -f null - & wait', 'floor', bg, fg, ...ff];
}

/**
 * One measured step (bench/step.ts) in a process of its own, as a command for `timed`: its bundle
 * (dist/bench-step.js, built by `npm run bench` with the CLI), so the figures are the shipped
 * code's, without tsx transpiling every module on load (about a CPU second an align).
 */
export function stepCommand(...args: string[]): string[] {
  const bundle = path.join(__dirname, '..', 'dist', 'bench-step.js');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run the bench with \`npm run bench\` (it builds it)`);
  return [process.execPath, bundle, ...args];
}
