/**
 * The engine's one entry to the compute kernels. Loads the native addon
 * (daemon/native/build/Release/vidkompy_kernels.node, built by `npm run build:native`) when it can,
 * else serves the TypeScript twins from reference.ts, which return bit-identical results, only
 * slower. The fallback announces itself once, on first use, through the kernel logger.
 *
 * Set VIDKOMPY_NO_NATIVE=1 to force the TypeScript kernels.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as ref from './reference';

export type { Band, DotPairs, DtwJump, DtwOptions, DtwResult } from './reference';

export type KernelBackend = 'native' | 'typescript';

export interface Kernels {
  batchDot: typeof ref.batchDot;
  hamming64: typeof ref.hamming64;
  bandedPath: typeof ref.bandedPath;
  dtwBand: typeof ref.dtwBand;
  savitzkyGolay: typeof ref.savitzkyGolay;
  nccGrid: typeof ref.nccGrid;
  shiftCosts: typeof ref.shiftCosts;
  nccWarp: typeof ref.nccWarp;
  resizeArea: typeof ref.resizeArea;
  fft2d: typeof ref.fft2d;
  spectrumCorrelate: typeof ref.spectrumCorrelate;
  cutGray: typeof ref.cutGray;
}

export const KERNEL_NAMES = ['batchDot', 'hamming64', 'bandedPath', 'dtwBand', 'savitzkyGolay', 'nccGrid', 'shiftCosts', 'nccWarp', 'resizeArea', 'fft2d', 'spectrumCorrelate', 'cutGray'] as const;

/** Must equal abiVersion in src/addon.cc: a build from older sources is refused, not trusted. */
export const NATIVE_ABI_VERSION = 8;

const ADDON_FILE = path.join('build', 'Release', 'vidkompy_kernels.node');

/**
 * Where the addon may be: next to this file (running from source), and under the package root found
 * by walking up to the nearest package.json (running from the esbuild bundle in dist/).
 */
export function addonCandidates(from: string = __dirname): string[] {
  const out = [path.join(from, ADDON_FILE)];
  for (let dir = from; ; ) {
    if (existsSync(path.join(dir, 'package.json'))) {
      out.push(path.join(dir, 'daemon', 'native', ADDON_FILE));
      break;
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return [...new Set(out)];
}

/** Checks that a required module really is this project's addon at the expected version. */
function asKernels(mod: unknown): Kernels {
  const m = mod as Record<string, unknown>;
  if (m?.abiVersion !== NATIVE_ABI_VERSION) throw new Error(`stale build (abiVersion ${String(m?.abiVersion)}, need ${NATIVE_ABI_VERSION}); rebuild it`);
  for (const name of KERNEL_NAMES) if (typeof m[name] !== 'function') throw new Error(`${name} is missing; rebuild it`);
  return m as unknown as Kernels;
}

type Loaded = { native: Kernels; reason: null } | { native: null; reason: string };

function loadNative(): Loaded {
  if (process.env.VIDKOMPY_NO_NATIVE === '1') return { native: null, reason: 'disabled by VIDKOMPY_NO_NATIVE=1' };
  const candidates = addonCandidates();
  const errors: string[] = [];
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return { native: asKernels(require(file)), reason: null };
    } catch (e) {
      // Wrong ABI, missing shared library, stale build: say which file and why.
      errors.push(`${file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  return { native: null, reason: errors.length ? errors.join('; ') : `not built (looked for ${candidates.join(', ')})` };
}

const loaded = loadNative();

/** Which implementation the exported kernels run. */
export function kernelsBackend(): KernelBackend {
  return loaded.native ? 'native' : 'typescript';
}

/** Why the native addon is not in use (null when it is). */
export function nativeUnavailableReason(): string | null {
  return loaded.reason;
}

export type KernelLogger = (line: string) => void;

const defaultLogger: KernelLogger = (line) => {
  process.stderr.write(line);
};
let logger: KernelLogger = defaultLogger;
let warned = false;

/**
 * Where the one-time fallback warning goes; it receives a full line, newline included (like
 * process.stderr.write, the default). Pass null to restore the default.
 */
export function setKernelLogger(fn: KernelLogger | null): void {
  logger = fn ?? defaultLogger;
}

function warnOnce(): void {
  if (warned) return;
  warned = true;
  const fix = process.env.VIDKOMPY_NO_NATIVE === '1' ? 'unset VIDKOMPY_NO_NATIVE to use them' : 'run `npm run build:native` to build them';
  logger(`vidkompy: native kernels unavailable (${loaded.reason}); using the TypeScript kernels (same results, slower); ${fix}.\n`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function withWarning<F extends (...args: any[]) => any>(twin: F): F {
  return ((...args: Parameters<F>): ReturnType<F> => {
    warnOnce();
    return twin(...args);
  }) as F;
}

function pick<K extends keyof Kernels>(name: K): Kernels[K] {
  return loaded.native ? loaded.native[name] : withWarning(ref[name]);
}

export const batchDot: Kernels['batchDot'] = pick('batchDot');
export const hamming64: Kernels['hamming64'] = pick('hamming64');
export const bandedPath: Kernels['bandedPath'] = pick('bandedPath');
export const dtwBand: Kernels['dtwBand'] = pick('dtwBand');
export const savitzkyGolay: Kernels['savitzkyGolay'] = pick('savitzkyGolay');
export const nccGrid: Kernels['nccGrid'] = pick('nccGrid');
export const shiftCosts: Kernels['shiftCosts'] = pick('shiftCosts');
export const nccWarp: Kernels['nccWarp'] = pick('nccWarp');
export const resizeArea: Kernels['resizeArea'] = pick('resizeArea');
export const fft2d: Kernels['fft2d'] = pick('fft2d');
export const spectrumCorrelate: Kernels['spectrumCorrelate'] = pick('spectrumCorrelate');
export const cutGray: Kernels['cutGray'] = pick('cutGray');
