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
export const CACHE_VERSION = 4;

/** $XDG_CACHE_HOME/vidkompy, else ~/.cache/vidkompy. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'vidkompy');
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export { decodeHashMemo, encodeHashMemo } from '../core/identity';
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

const MAGIC = 'VKEMB2\n';
const LE = os.endianness() === 'LE';

function entryFile(dir: string, key: string): string {
  return path.join(dir, 'embeddings', key.slice(0, 2), `${key}.bin`);
}

/** The times and rows as stored (little-endian): what the header's checksum covers. */
function payloadBytes(e: CacheEntry): Uint8Array {
  const out = Buffer.alloc(e.n * 8 + e.n * e.dim * 4);
  if (LE) {
    out.set(new Uint8Array(e.times.buffer, e.times.byteOffset, e.n * 8), 0);
    out.set(new Uint8Array(e.v.buffer, e.v.byteOffset, e.n * e.dim * 4), e.n * 8);
    return out;
  }
  let o = 0;
  for (let i = 0; i < e.n; i++, o += 8) out.writeDoubleLE(e.times[i], o);
  for (let i = 0; i < e.n * e.dim; i++, o += 4) out.writeFloatLE(e.v[i], o);
  return out;
}

const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Format: magic, u32 header length, JSON header {key, n, dim, provider, sha256}, padding to 8
 * bytes, then n float64 times and n × dim float32 rows, little-endian. `sha256` is the payload's:
 * a cache outlives crashes, full disks and other programs, so what comes back is checked, not trusted.
 */
export function encodeEntry(key: string, e: CacheEntry): Uint8Array {
  const payload = payloadBytes(e);
  const header = Buffer.from(JSON.stringify({ key, n: e.n, dim: e.dim, provider: e.provider, sha256: digest(payload) }));
  const head = MAGIC.length + 4 + header.length;
  const pad = (8 - (head % 8)) % 8;
  const out = Buffer.alloc(head + pad + payload.length);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(header.length, MAGIC.length);
  header.copy(out, MAGIC.length + 4);
  out.set(payload, head + pad);
  return out;
}

/** Rows are unit vectors, or zero for a blank frame (see unitRows); times are finite. */
export function entryValuesProblem(e: CacheEntry): string | undefined {
  for (let i = 0; i < e.n; i++) if (!Number.isFinite(e.times[i])) return `time ${i} is ${e.times[i]}`;
  for (let r = 0; r < e.n; r++) {
    let ss = 0;
    for (let k = r * e.dim; k < (r + 1) * e.dim; k++) ss += e.v[k] * e.v[k];
    // NaN fails both tests; the tolerance is float32 rounding over a few thousand dimensions.
    if (!(ss === 0 || Math.abs(ss - 1) < 1e-3)) return `row ${r} is not a unit vector (squared norm ${ss})`;
  }
  return undefined;
}

/** The entry, or why it cannot be trusted (truncated, another key, checksum or values wrong). */
export function checkEntry(key: string, buf: Buffer): { entry: CacheEntry } | { damaged: string } {
  const bad = (damaged: string) => ({ damaged });
  if (buf.length < MAGIC.length + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) return bad('not an embedding cache entry of this version');
  const hl = buf.readUInt32LE(MAGIC.length);
  const head = MAGIC.length + 4 + hl;
  if (head > buf.length) return bad('truncated header');
  let h: { key?: string; n?: number; dim?: number; provider?: string; sha256?: string };
  try {
    h = JSON.parse(buf.toString('utf8', MAGIC.length + 4, head));
  } catch {
    return bad('unreadable header');
  }
  const { n, dim } = h;
  if (h.key !== key) return bad('header for another key');
  const sized = Number.isInteger(n) && Number.isInteger(dim) && n! >= 1 && dim! >= 1;
  if (!sized || (h.provider !== 'cpu' && h.provider !== 'cuda') || typeof h.sha256 !== 'string') return bad('bad header');
  const o = head + ((8 - (head % 8)) % 8);
  if (buf.length !== o + n! * 8 + n! * dim! * 4) return bad(`${buf.length} bytes, not the ${o + n! * 8 + n! * dim! * 4} its header says`);
  const payload = buf.subarray(o);
  if (digest(payload) !== h.sha256) return bad('checksum mismatch');
  const times = new Float64Array(n!);
  const v = new Float32Array(n! * dim!);
  if (LE) {
    // Copies, not views: the file buffer's offset need not be aligned for the typed arrays.
    new Uint8Array(times.buffer).set(payload.subarray(0, n! * 8));
    new Uint8Array(v.buffer).set(payload.subarray(n! * 8));
  } else {
    for (let i = 0; i < n!; i++) times[i] = payload.readDoubleLE(i * 8);
    for (let i = 0; i < v.length; i++) v[i] = payload.readFloatLE(n! * 8 + i * 4);
  }
  const entry: CacheEntry = { n: n!, dim: dim!, provider: h.provider, v, times };
  const why = entryValuesProblem(entry);
  return why ? bad(why) : { entry };
}

/** The entry, or null when it is absent, truncated, for another key or damaged. */
export function decodeEntry(key: string, buf: Buffer): CacheEntry | null {
  const c = checkEntry(key, buf);
  return 'entry' in c ? c.entry : null;
}

/** What the cache holds for `key`: nothing (null), a sound entry, or a damaged one and why. */
export async function readEntry(dir: string, key: string): Promise<{ entry: CacheEntry } | { damaged: string; file: string } | null> {
  const file = entryFile(dir, key);
  const buf = await fs.readFile(file).catch(() => null);
  if (!buf) return null;
  const c = checkEntry(key, buf);
  return 'entry' in c ? c : { ...c, file };
}

/** Atomic (temp file + rename): a concurrent reader sees the old entry or the whole new one. */
export function writeEntry(dir: string, key: string, e: CacheEntry): Promise<void> {
  return writeFileAtomic(entryFile(dir, key), encodeEntry(key, e));
}
