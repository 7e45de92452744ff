import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileHash } from '../embed/cache';
import { VidkompyError } from '../core/errors';
import { probe, type ProbeInfo } from '../media/probe';

/**
 * Facts about a file (its probe, its content hash) remembered by (path, size, mtime): re-validating
 * a project on every keystroke must cost a stat, not an ffprobe or a pass over gigabytes. A file
 * that changes gets a new key, so nothing stale is ever served.
 */

const MAX_PROBES = 512;

export interface StatKey {
  file: string;
  size: number;
  mtimeMs: number;
}

export async function statKey(file: string): Promise<StatKey | undefined> {
  const st = await fs.stat(file).catch(() => undefined);
  return st?.isFile() ? { file: path.resolve(file), size: st.size, mtimeMs: st.mtimeMs } : undefined;
}

/**
 * A tool that cannot be started, as the VidkompyError it should be. The engine means to do this
 * itself, but its wait for the process rejects with the raw spawn error first.
 */
export function asToolError(e: unknown): unknown {
  const x = e as NodeJS.ErrnoException & { path?: string };
  if (e instanceof VidkompyError || !x?.syscall?.startsWith('spawn')) return e;
  return new VidkompyError('TOOL_MISSING', `${x.path}: cannot run (${x.code}); set the vidkompy.ffmpegPath / vidkompy.ffprobePath settings (or VIDKOMPY_FFMPEG / VIDKOMPY_FFPROBE), or run 'npm ci'`, x.path);
}

const probes = new Map<string, Promise<ProbeInfo>>();

/**
 * probe() once per (path, size, mtime). Failures the user can fix (not a video, no frames) are
 * remembered too, so a broken file is not re-probed on every keystroke; a missing file, a missing
 * tool or a crash are tried again next time.
 */
export async function cachedProbe(file: string): Promise<ProbeInfo> {
  const k = await statKey(file);
  if (!k) return probe(path.resolve(file)).catch((e: unknown) => Promise.reject(asToolError(e)));
  const key = `${k.file}\0${k.size}\0${k.mtimeMs}`;
  let p = probes.get(key);
  if (!p) {
    p = probe(k.file).catch((e: unknown) => Promise.reject(asToolError(e)));
    p.catch((e: unknown) => {
      if (!(e instanceof VidkompyError) || e.code === 'TOOL_MISSING' || e.code === 'CANCELLED') probes.delete(key);
    });
  }
  // Re-inserted on every use: the Map's first entry is then the one looked at longest ago.
  probes.delete(key);
  probes.set(key, p);
  while (probes.size > MAX_PROBES) probes.delete(probes.keys().next().value as string);
  return p;
}

export interface FileHash {
  sha256: string;
  size: number;
}

/** Where content hashes are kept across restarts (the `cacheDirectory` setting); none: memory only. */
let hashCacheDir: string | undefined;

export function setHashCacheDirectory(dir: string | undefined): void {
  hashCacheDir = dir || undefined;
}

/** SHA-256 of the whole file (streamed; remembered by path, size and mtime, on disk too when set). */
export async function cachedHash(file: string): Promise<FileHash> {
  const k = await statKey(file);
  if (!k) throw new VidkompyError('ENOENT', `${file}: file not found; check the path`, file);
  try {
    return { sha256: await fileHash(k.file, hashCacheDir), size: k.size };
  } catch (e) {
    throw new VidkompyError('ENOENT', `${file}: cannot be read (${(e as NodeJS.ErrnoException).code}); check the path and its permissions`, file);
  }
}
