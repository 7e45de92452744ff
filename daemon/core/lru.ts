/**
 * What a long-lived process (the daemon) keeps between alignments of the same videos, so that
 * changing an option that does not move fg — the engine, the window, an anchor — re-aligns from
 * memory: the verified placement, the decoded analysis frames and their descriptors. Least recently
 * used entries go first once the byte budget is spent.
 */
export interface AlignCache {
  get<T>(key: string): T | undefined;
  set(key: string, value: unknown, bytes: number): void;
  /** Counters, for tests and benchmarks. */
  readonly stats: { hits: number; misses: number; bytes: number };
}

export function memoryCache(limitBytes = 1 << 30): AlignCache {
  const entries = new Map<string, { value: unknown; bytes: number }>();
  const stats = { hits: 0, misses: 0, bytes: 0 };
  return {
    stats,
    get<T>(key: string): T | undefined {
      const e = entries.get(key);
      if (!e) {
        stats.misses++;
        return undefined;
      }
      stats.hits++;
      // Map order is insertion order: re-insert to mark it recently used.
      entries.delete(key);
      entries.set(key, e);
      return e.value as T;
    },
    set(key, value, bytes) {
      const old = entries.get(key);
      if (old) {
        stats.bytes -= old.bytes;
        entries.delete(key);
      }
      if (bytes > limitBytes) return;
      entries.set(key, { value, bytes });
      stats.bytes += bytes;
      for (const [k, e] of entries) {
        if (stats.bytes <= limitBytes) break;
        entries.delete(k);
        stats.bytes -= e.bytes;
      }
    },
  };
}

/** `compute`'s value from the cache when there, else computed and kept (`bytes`: its size). */
export async function cachedIn<T>(cache: AlignCache | undefined, key: string | undefined, bytes: (v: T) => number, compute: () => Promise<T>): Promise<T> {
  const hit = key === undefined ? undefined : cache?.get<T>(key);
  if (hit !== undefined) return hit;
  const v = await compute();
  if (key !== undefined) cache?.set(key, v, bytes(v));
  return v;
}
