import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic';
import { fileNotFound } from './errors';
import { note } from './notes';

/**
 * Facts about a file remembered by its identity — (absolute path, size, mtime) — so asking again
 * costs a stat: re-validating a project on every keystroke must not run ffprobe or hash gigabytes.
 * A file that changes gets a new identity, so nothing stale is served.
 */
export interface StatKey {
  file: string;
  size: number;
  mtimeMs: number;
}

/** The identity of a regular file, or undefined when there is none at `file`. */
export async function statKey(file: string): Promise<StatKey | undefined> {
  const st = await fs.stat(file).catch(() => undefined);
  return st?.isFile() ? { file: path.resolve(file), size: st.size, mtimeMs: st.mtimeMs } : undefined;
}

/** A file's identity as a string, for cache keys; throws when the file cannot be stat'ed. */
export async function fileIdentity(file: string): Promise<string> {
  // A missing input is the user's to fix, worded as probe words it (an alignment asks this first).
  const st = await fs.stat(file).catch(() => {
    throw fileNotFound(file);
  });
  return `${path.resolve(file)}:${st.size}:${st.mtimeMs}`;
}

export interface FileMemo<T> {
  (file: string): Promise<T>;
  /** Remembers what is already known of a file version (found on the way to something else). */
  remember(k: StatKey, value: T): void;
}

/**
 * `compute` once per file identity, the `limit` most recently used kept. A failure is kept too
 * (a broken file is not re-read on every keystroke) unless `retry(error)` says it may pass next
 * time. A path with no file is computed afresh each time, so its error is the current one.
 */
export function memoByFile<T>(limit: number, compute: (file: string) => Promise<T>, retry: (e: unknown) => boolean = () => true): FileMemo<T> {
  const memo = new Map<string, Promise<T>>();
  const keyOf = (k: StatKey) => `${k.file}\0${k.size}\0${k.mtimeMs}`;
  // Re-inserted on every use: the Map's first entry is then the one used longest ago.
  const keep = (key: string, p: Promise<T>) => {
    memo.delete(key);
    memo.set(key, p);
    while (memo.size > limit) memo.delete(memo.keys().next().value as string);
  };
  const memoized = async (file: string) => {
    const k = await statKey(file);
    if (!k) return compute(path.resolve(file));
    const key = keyOf(k);
    let p = memo.get(key);
    if (!p) {
      p = compute(k.file);
      p.catch((e: unknown) => {
        if (retry(e)) memo.delete(key);
      });
    }
    keep(key, p);
    return p;
  };
  return Object.assign(memoized, { remember: (k: StatKey, value: T) => keep(keyOf(k), Promise.resolve(value)) });
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * A remembered hash is stored with a tag that binds it to its memo key (`HASH TAG`): a damaged or
 * foreign memo file, even one that still looks like a hash, fails the tag and is recomputed,
 * instead of giving a wrong hash (a wrong staleness verdict, a wrong embedding cache key).
 */
export function encodeHashMemo(id: string, hex: string): string {
  return `${hex} ${sha256(`${id}\n${hex}`).slice(0, 16)}`;
}

/** The hash, or why the memo cannot be trusted ('' : a memo of the untagged format before tags). */
export function decodeHashMemo(id: string, text: string): { hex: string } | { damaged: string } {
  if (/^[0-9a-f]{64}$/.test(text)) return { damaged: '' };
  const hex = text.slice(0, 64);
  if (!/^[0-9a-f]{64}$/.test(hex) || encodeHashMemo(id, hex) !== text) return { damaged: 'its check does not match' };
  return { hex };
}

/** sha256 of a file's content, streamed: videos do not fit in memory. */
async function hashContent(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

const hashes = memoByFile(4096, hashContent);

/**
 * sha256 of a file's content, remembered by identity in this process and, when `cacheDir` is
 * given, on disk: hashing a long video costs seconds, and the same files come back run after run.
 */
export async function fileHash(file: string, cacheDir?: string): Promise<string> {
  if (!cacheDir) return hashes(file);
  let memo = onDisk.get(cacheDir);
  if (!memo) onDisk.set(cacheDir, (memo = memoByFile(4096, (f) => rememberedHash(f, cacheDir))));
  return memo(file);
}

/** Per cache folder, so one file asked for twice at once reads (and notes) its memo once. */
const onDisk = new Map<string, FileMemo<string>>();

async function rememberedHash(file: string, cacheDir: string): Promise<string> {
  const k = await statKey(file);
  if (!k) return hashContent(path.resolve(file));
  const id = sha256(JSON.stringify([k.file, k.size, k.mtimeMs]));
  const memoFile = path.join(cacheDir, 'hashes', id);
  const known = await fs.readFile(memoFile, 'utf8').catch(() => undefined);
  const got = known === undefined ? undefined : decodeHashMemo(id, known);
  if (got && 'hex' in got) return got.hex;
  if (got?.damaged) note(`vidkompy: cache: the remembered hash of ${k.file} (${memoFile}) is damaged (${got.damaged}); hashing the file again`);
  const hex = await hashes(file);
  // The memo is an optimisation: a read-only cache folder must not fail the run.
  await writeFileAtomic(memoFile, encodeHashMemo(id, hex)).catch(() => undefined);
  return hex;
}
