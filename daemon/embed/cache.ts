import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic';
import type { Provider } from '../../protocol/project';
export { fileHash } from '../core/identity';

/**
 * The on-disk embedding cache. An entry is keyed by what determines its content: the video's bytes
 * (not its name), the model's bytes, the region and the spec's preprocessing. Alignment options are
 * not part of the key, so re-aligning with other options decodes and infers nothing.
 */

/** Bump when the entry format or the way embeddings are computed changes. */
export const CACHE_VERSION = 2;

/** $XDG_CACHE_HOME/vidkompy, else ~/.cache/vidkompy. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'vidkompy');
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function cacheKey(parts: Record<string, unknown>): string {
  return sha256(JSON.stringify({ v: CACHE_VERSION, ...parts }));
}

export interface CacheEntry {
  n: number;
  dim: number;
  provider: Provider;
  /** n × dim, unit rows. */
  v: Float32Array;
  times: Float64Array;
}

const MAGIC = 'VKEMB1\n';
const LE = os.endianness() === 'LE';

function entryFile(dir: string, key: string): string {
  return path.join(dir, 'embeddings', key.slice(0, 2), `${key}.bin`);
}

/**
 * Format: magic, u32 header length, JSON header {key, n, dim, provider}, padding to 8 bytes, then
 * n float64 times and n × dim float32 rows, little-endian.
 */
export function encodeEntry(key: string, e: CacheEntry): Uint8Array {
  const header = Buffer.from(JSON.stringify({ key, n: e.n, dim: e.dim, provider: e.provider }));
  const head = MAGIC.length + 4 + header.length;
  const pad = (8 - (head % 8)) % 8;
  const out = Buffer.alloc(head + pad + e.n * 8 + e.n * e.dim * 4);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(header.length, MAGIC.length);
  header.copy(out, MAGIC.length + 4);
  let o = head + pad;
  if (LE) {
    out.set(new Uint8Array(e.times.buffer, e.times.byteOffset, e.n * 8), o);
    out.set(new Uint8Array(e.v.buffer, e.v.byteOffset, e.n * e.dim * 4), o + e.n * 8);
    return out;
  }
  for (let i = 0; i < e.n; i++, o += 8) out.writeDoubleLE(e.times[i], o);
  for (let i = 0; i < e.n * e.dim; i++, o += 4) out.writeFloatLE(e.v[i], o);
  return out;
}

/** The entry, or null when it is absent, truncated, or for another key. */
export function decodeEntry(key: string, buf: Buffer): CacheEntry | null {
  if (buf.length < MAGIC.length + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) return null;
  const hl = buf.readUInt32LE(MAGIC.length);
  const head = MAGIC.length + 4 + hl;
  if (head > buf.length) return null;
  let h: { key?: string; n?: number; dim?: number; provider?: string };
  try {
    h = JSON.parse(buf.toString('utf8', MAGIC.length + 4, head));
  } catch {
    return null;
  }
  const { n, dim } = h;
  if (h.key !== key || !Number.isInteger(n) || !Number.isInteger(dim) || (h.provider !== 'cpu' && h.provider !== 'cuda')) return null;
  let o = head + ((8 - (head % 8)) % 8);
  if (buf.length !== o + n! * 8 + n! * dim! * 4) return null;
  const times = new Float64Array(n!);
  const v = new Float32Array(n! * dim!);
  if (LE) {
    // Copies, not views: the file buffer's offset need not be aligned for the typed arrays.
    new Uint8Array(times.buffer).set(buf.subarray(o, o + n! * 8));
    new Uint8Array(v.buffer).set(buf.subarray(o + n! * 8));
  } else {
    for (let i = 0; i < n!; i++, o += 8) times[i] = buf.readDoubleLE(o);
    for (let i = 0; i < v.length; i++, o += 4) v[i] = buf.readFloatLE(o);
  }
  return { n: n!, dim: dim!, provider: h.provider, v, times };
}

export async function readEntry(dir: string, key: string): Promise<CacheEntry | null> {
  const buf = await fs.readFile(entryFile(dir, key)).catch(() => null);
  return buf ? decodeEntry(key, buf) : null;
}

/** Atomic (temp file + rename): a concurrent reader sees the old entry or the whole new one. */
export function writeEntry(dir: string, key: string, e: CacheEntry): Promise<void> {
  return writeFileAtomic(entryFile(dir, key), encodeEntry(key, e));
}
