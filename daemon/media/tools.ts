import { accessSync, chmodSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Where ffmpeg and ffprobe come from: env override, the npm-shipped static build, else PATH. */
export interface Tools {
  ffmpeg: string;
  ffprobe: string;
}

let cached: Tools | undefined;

// The bundles are CommonJS, but tsx runs tests as ESM: resolve relative to the working tree either way.
const requireHere = createRequire(typeof __filename === 'string' ? __filename : process.cwd() + '/');

function fromPackage(pkg: string): string | undefined {
  try {
    const p: string = requireHere(pkg).path;
    if (!existsSync(p)) return undefined;
    try {
      accessSync(p, constants.X_OK);
    } catch {
      // npm may have skipped the package's chmod install script; the binary is ours to fix.
      chmodSync(p, 0o755);
    }
    return p;
  } catch {
    return undefined;
  }
}

export function tools(): Tools {
  if (cached) return cached;
  cached = {
    ffmpeg: process.env.VIDKOMPY_FFMPEG || fromPackage('@ffmpeg-installer/ffmpeg') || 'ffmpeg',
    ffprobe: process.env.VIDKOMPY_FFPROBE || fromPackage('@ffprobe-installer/ffprobe') || 'ffprobe',
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
 * For settings pushed by the editor: later calls use these paths. An empty or absent path means
 * the default again (environment, bundled binary, PATH).
 */
export function setTools(t: Partial<Tools>): void {
  cached = undefined;
  const defaults = tools();
  cached = { ffmpeg: t.ffmpeg || defaults.ffmpeg, ffprobe: t.ffprobe || defaults.ffprobe };
}
