import { fileIdentity } from '../core/identity';
import { VidkompyError } from '../core/errors';
import { frameBytes, readFrames } from '../media/ffmpeg';

/**
 * Preview proxies: a video decoded once, sequentially, at preview size, into memory. Frame k of a
 * proxy IS decoded frame k — the same count the render and the alignment use (readFrames emits
 * every decoded frame once, in order) — so the preview never depends on where a seek lands, which
 * in MPEG-PS and some H.264 streams is frames away from the asked time. Scrubbing then costs a
 * lookup and a JPEG encode instead of an ffmpeg start and a seek.
 *
 * Proxies share one byte budget; the least recently used go first. A proxy that alone outgrows
 * the budget stops keeping frames, and a frame it did not keep is decoded on its own, by index
 * from the start: slower, still exact.
 */

export interface ProxySpec {
  file: string;
  /** Frame size after `filter` (RGB, 3 bytes a pixel). */
  width: number;
  height: number;
  /** The -vf chain that makes the preview picture from a decoded frame (crop, scale). */
  filter: string;
  /** The frames worth keeping: those outside are decoded (decoding is sequential) but dropped. */
  first: number;
  last: number;
}

export interface ProxyStats {
  proxies: number;
  bytes: number;
  /** Frames served from memory, and frames decoded on their own (a budget overflow). */
  hits: number;
  singles: number;
}

interface Waiter {
  index: number;
  resolve: (f: Uint8Array | undefined) => void;
}

class Proxy {
  readonly frames = new Map<number, Uint8Array>();
  /** How many frames the decoder has delivered so far. */
  decoded = 0;
  done = false;
  error: unknown;
  /** Set once the budget refused a frame: later frames are not kept either. */
  full = false;
  readonly controller = new AbortController();
  private waiters = new Set<Waiter>();
  readonly started = performance.now();
  /** Milliseconds from start to the last kept frame, once done: the cost of a full proxy. */
  decodeMs = NaN;

  constructor(
    readonly key: string,
    /** The file's identity when the proxy started (path, size, mtime). */
    readonly id: string,
    readonly spec: ProxySpec,
    private readonly keep: (p: Proxy, bytes: number) => boolean,
  ) {}

  async run(): Promise<void> {
    const s = this.spec;
    try {
      const what = `decoding ${s.file} for the preview`;
      const frames = readFrames({ file: s.file, filter: s.filter, pixFmt: 'rgb24', width: s.width, height: s.height, signal: this.controller.signal, what });
      for await (const f of frames) {
        const i = this.decoded;
        if (i >= s.first && !this.full) {
          if (this.keep(this, f.length)) this.frames.set(i, f);
          else this.full = true;
        }
        this.decoded++;
        // A waiter gets its frame whether it was kept or not: the decode passed it only once.
        for (const w of this.waiters) {
          if (w.index === i) {
            this.waiters.delete(w);
            w.resolve(f);
          }
        }
        if (i >= s.last) break;
      }
    } catch (e) {
      this.error = e;
    } finally {
      this.done = true;
      this.decodeMs = performance.now() - this.started;
      for (const w of this.waiters) w.resolve(this.frames.get(w.index));
      this.waiters.clear();
    }
  }

  /** Frame `index` when the running decode will deliver it, else undefined at once. */
  wait(index: number, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    const kept = this.frames.get(index);
    if (kept) return Promise.resolve(kept);
    if (this.done || index < this.decoded || index > this.spec.last) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const w: Waiter = { index, resolve };
      this.waiters.add(w);
      signal?.addEventListener('abort', () => {
        this.waiters.delete(w);
        resolve(undefined);
      }, { once: true });
    });
  }
}

/** The preview's proxies, within `limitBytes` together. */
export function createProxyStore(limitBytes: number) {
  const proxies = new Map<string, Proxy>();
  const stats: ProxyStats = { proxies: 0, bytes: 0, hits: 0, singles: 0 };
  const bytesOf = (p: Proxy) => p.frames.size * frameBytes('rgb24', p.spec.width, p.spec.height);
  const drop = (p: Proxy) => {
    p.controller.abort();
    stats.bytes -= bytesOf(p);
    p.frames.clear();
    proxies.delete(p.key);
    stats.proxies = proxies.size;
  };
  /** Room for `bytes` more for `p`, made by dropping the proxies used longest ago (Map order). */
  const keep = (p: Proxy, bytes: number) => {
    for (const other of proxies.values()) {
      if (stats.bytes + bytes <= limitBytes) break;
      if (other !== p) drop(other);
    }
    if (stats.bytes + bytes > limitBytes) return false;
    stats.bytes += bytes;
    return true;
  };

  const proxyFor = async (spec: ProxySpec): Promise<Proxy> => {
    const id = await fileIdentity(spec.file);
    const key = JSON.stringify([id, spec.filter, spec.width, spec.height, spec.first, spec.last]);
    let p = proxies.get(key);
    if (p) {
      // Re-inserted on use: the Map's first entry is the one used longest ago.
      proxies.delete(key);
      proxies.set(key, p);
      return p;
    }
    // A file that changed on disk (new identity) will not be asked for by its old identity again.
    for (const old of [...proxies.values()]) if (old.spec.file === spec.file && old.id !== id) drop(old);
    p = new Proxy(key, id, spec, keep);
    proxies.set(key, p);
    stats.proxies = proxies.size;
    void p.run();
    return p;
  };

  return {
    stats,
    /** Frame `index` of the video `spec` describes, exactly: from the proxy, or decoded on its own. */
    async frame(spec: ProxySpec, index: number, signal?: AbortSignal): Promise<Uint8Array> {
      const p = await proxyFor(spec);
      const got = await p.wait(index, signal);
      if (got) {
        stats.hits++;
        return got;
      }
      if (signal?.aborted) throw new VidkompyError('CANCELLED', 'cancelled');
      stats.singles++;
      return singleFrame(spec, index, signal);
    },
    /** How long the proxy of `spec` took to decode, when it is complete. */
    async decodeMs(spec: ProxySpec): Promise<number> {
      const p = await proxyFor(spec);
      return p.done ? p.decodeMs : NaN;
    },
    clear() {
      for (const p of [...proxies.values()]) drop(p);
    },
  };
}

export type ProxyStore = ReturnType<typeof createProxyStore>;

/** Frame `index` in decode order, picked by ffmpeg's frame counter: every frame before it is decoded too. */
async function singleFrame(spec: ProxySpec, index: number, signal?: AbortSignal): Promise<Uint8Array> {
  const filter = `select=eq(n\\,${index}),${spec.filter}`;
  const what = `reading frame ${index} for the preview`;
  for await (const f of readFrames({ file: spec.file, filter, pixFmt: 'rgb24', width: spec.width, height: spec.height, maxFrames: 1, signal, what })) return f;
  throw new VidkompyError('NO_FRAMES', `${spec.file}: frame ${index} could not be decoded for the preview; re-export the video`, spec.file);
}
