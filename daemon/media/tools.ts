import os from 'node:os';
import { accessSync, chmodSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** Where ffmpeg and ffprobe come from: env override, the npm-shipped static build, else PATH. */
export interface Tools {
  ffmpeg: string;
  ffprobe: string;
}

let cached: Tools | undefined;

// The bundles are CommonJS, but tsx runs tests as ESM: resolve relative to the working tree either way.
const requireHere = createRequire(typeof __filename === 'string' ? __filename : process.cwd() + '/');

/**
 * The static ffmpeg 8 builds (BtbN's GPL builds, republished on npm with the binary inside the
 * package): one optional dependency per platform, so `npm ci` installs only this machine's, and
 * nothing is downloaded at install time. Other platforms use a system ffmpeg (PATH or settings).
 */
const BUNDLED: Record<string, Tools> = {
  'linux-x64': { ffmpeg: '@backendsuraj/offline-ffmpeg-linux-x64/bin/ffmpeg', ffprobe: '@backendsuraj/offline-ffprobe-linux-x64/bin/ffprobe' },
  'win32-x64': { ffmpeg: '@backendsuraj/offline-ffmpeg-win32-x64/bin/ffmpeg.exe', ffprobe: '@backendsuraj/offline-ffprobe-win32-x64/bin/ffprobe.exe' },
};

function bundled(which: keyof Tools): string | undefined {
  const rel = BUNDLED[`${process.platform}-${process.arch}`]?.[which];
  if (!rel) return undefined;
  try {
    const pkg = rel.split('/').slice(0, 2).join('/');
    const p = path.join(path.dirname(requireHere.resolve(`${pkg}/package.json`)), ...rel.split('/').slice(2));
    if (!existsSync(p)) return undefined;
    if (process.platform !== 'win32') {
      try {
        accessSync(p, constants.X_OK);
      } catch {
        // The package ships the binary without its exec bit (its chmod script is not allowed to run).
        chmodSync(p, 0o755);
      }
    }
    return p;
  } catch {
    return undefined;
  }
}

export function tools(): Tools {
  if (cached) return cached;
  cached = {
    ffmpeg: process.env.VIDKOMPY_FFMPEG || bundled('ffmpeg') || 'ffmpeg',
    ffprobe: process.env.VIDKOMPY_FFPROBE || bundled('ffprobe') || 'ffprobe',
  };
  return cached;
}

/**
 * The thread budget, 0 meaning all: VIDKOMPY_THREADS, which the daemon's "threads" setting and the
 * CLI's --threads set. One variable, because the native kernels read it too.
 */
export function threadBudget(): number {
  const n = Number(process.env.VIDKOMPY_THREADS);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

export function setThreadBudget(n: number): void {
  if (Number.isInteger(n) && n > 0) process.env.VIDKOMPY_THREADS = String(n);
  else delete process.env.VIDKOMPY_THREADS;
}

/** ffmpeg's `-threads` for a decoder (before its -i) or an encoder (before the output): empty when all. */
export function threadArgs(): string[] {
  const n = threadBudget();
  return n ? ['-threads', String(n)] : [];
}

/**
 * `-threads` for analysis decodes, which align always runs several at once (bg and fg together; the
 * refinement's reads in threes): each gets its share of the cores, not all of them. Frame threads
 * beyond a decoder's share only add CPU time (13% more for a 1080p H.264 stream on 2 cores, for no
 * gain in wall time while the other decode keeps the other core busy). The thread budget, when set, wins.
 */
export function sharedThreadArgs(): string[] {
  const n = threadBudget() || Math.max(1, Math.floor(os.availableParallelism() / 2));
  return ['-threads', String(n)];
}

/**
 * For settings pushed by the editor: later calls use these paths. An empty or absent path means
 * the default again (environment, bundled binary, PATH).
 */
export function setTools(t: Partial<Tools>): void {
  cached = undefined;
  const defaults = tools();
  cached = { ffmpeg: t.ffmpeg || defaults.ffmpeg, ffprobe: t.ffprobe || defaults.ffprobe };
}
