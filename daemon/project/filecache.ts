import { fileHash, memoByFile, statKey } from '../core/identity';
import { fileNotFound, VidkompyError } from '../core/errors';
import { probe } from '../media/probe';

/** A video's probe and content hash, remembered by file identity (see core/identity.ts). */

/**
 * A tool that cannot be started, as the VidkompyError it should be. The engine means to do this
 * itself, but its wait for the process rejects with the raw spawn error first.
 */
export function asToolError(e: unknown): unknown {
  const x = e as NodeJS.ErrnoException & { path?: string };
  if (e instanceof VidkompyError || !x?.syscall?.startsWith('spawn')) return e;
  return new VidkompyError('TOOL_MISSING', `${x.path}: cannot run (${x.code}); set the vidkompy.ffmpegPath / vidkompy.ffprobePath settings (or VIDKOMPY_FFMPEG / VIDKOMPY_FFPROBE), or run 'npm ci'`, x.path);
}

/**
 * probe() once per file identity. Failures the user can fix (not a video, no frames) are remembered
 * too, so a broken file is not re-probed on every keystroke; a missing tool or a cancel is tried
 * again next time.
 */
export const cachedProbe = memoByFile(
  512,
  (file) => probe(file).catch((e: unknown) => Promise.reject(asToolError(e))),
  (e) => !(e instanceof VidkompyError) || e.code === 'TOOL_MISSING' || e.code === 'CANCELLED',
);

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
  if (!k) throw fileNotFound(file);
  try {
    return { sha256: await fileHash(k.file, hashCacheDir), size: k.size };
  } catch (e) {
    throw new VidkompyError('ENOENT', `${file}: cannot be read (${(e as NodeJS.ErrnoException).code}); check the path and its permissions`, file);
  }
}
