import { fileIdentity } from '../core/identity';
import { VidkompyError } from '../core/errors';
import { frameTimes, readFramesFrom } from '../media/seek';

/**
 * Preview proxies: a video's frames at preview size, decoded around the cursor and kept in memory.
 * Frame k of a proxy IS frame k of a full sequential decode — the count the render and the
 * alignment use — whether it was read from the start or after a seek: a seek is only trusted where
 * presentation times prove where it landed, else the frames are counted from the start
 * (media/seek.ts). So the preview never depends on where a seek lands, which in MPEG-PS and some
 * H.264 streams is frames away from the asked time.
 *
 * Each proxy has one decoder that runs a little ahead of the last frame asked for and then waits
 * (ffmpeg blocks on its full pipe), so a scrub forward finds its frames decoded; a frame far from
 * where the decoder is restarts it there, a few frames back so stepping back also finds them.
 * Nothing waits for a whole video to decode: the first frame anywhere costs one short read.
 *
 * Memory: every proxy's frames share one byte budget, least recently used frames dropped first,
 * so a long input costs no more than a short one; a dropped frame is decoded again when asked for.
 */

export interface ProxySpec {
  file: string;
  /** Frame size after `filter` (RGB, 3 bytes a pixel). */
  width: number;
  height: number;
  /** The -vf chain that makes the preview picture from a decoded frame (crop, scale). */
  filter: string;
  /** How many frames a full decode yields (the alignment's count): seeks are trusted only when the packets agree. */
  total: number;
  /** Frames per second (average): how close a frame's time must be to the one wanted after a seek. */
  fps: number;
}

export interface ProxyStats {
  proxies: number;
  /** Bytes of frames kept, all proxies together (never above the budget). */
  bytes: number;
  frames: number;
  /** Frames served from memory, frames waited for from a running decoder, and decoders started. */
  hits: number;
  waits: number;
  starts: number;
  /** Frames read on their own (another request held the decoder elsewhere). */
  singles: number;
}

/**
 * Frames decoded ahead of the last one asked for. A forward scrub needs only a few (decoding runs
 * faster than a step is served); more would take the CPU a step needs when a jump has just
 * restarted the decoders.
 */
const AHEAD = 20;
/** A frame at most this far past the decoder is waited for; farther, the decoder seeks. */
const REACH = 45;
/**
 * A scrub backwards past where the decoder began restarts it this many frames earlier, so the next
 * steps back are kept too. A jump starts at the frame itself: its seek lands on the keyframe at or
 * before it, and an earlier start would only reach back to the keyframe before that.
 */
const BACK_REVERSE = 45;
/** Within this many seconds of the start a decoder starts at frame 0: it need not wait for the frames' times (a seek does). */
const NEAR_START_SECONDS = 0.5;
/** Proxies kept (each may hold a paused ffmpeg); the least recently used goes first. */
const MAX_PROXIES = 6;
/** A decoder nobody asked anything of for this long is stopped (its frames stay). */
const IDLE_MS = 30_000;

interface Waiter {
  index: number;
  resolve: (f: Uint8Array | undefined) => void;
}

interface Decoder {
  from: number;
  /** The index of the next frame it will deliver. */
  pos: number;
  /** It pauses once `pos` passes this. */
  target: number;
  done: boolean;
  controller: AbortController;
  waiters: Set<Waiter>;
  wake?: () => void;
}

interface Proxy {
  serial: number;
  key: string;
  id: string;
  spec: ProxySpec;
  decoder?: Decoder;
  lastUse: number;
}

/** The preview's proxies, whose frames stay within `limitBytes` together. */
export function createProxyStore(limitBytes: number) {
  const proxies = new Map<string, Proxy>();
  /** Every kept frame by `serial:index`; Map order is recency (first: used longest ago). */
  const frames = new Map<string, Uint8Array>();
  const stats: ProxyStats = { proxies: 0, bytes: 0, frames: 0, hits: 0, waits: 0, starts: 0, singles: 0 };
  let serial = 0;
  let idleTimer: NodeJS.Timeout | undefined;

  const fkey = (p: Proxy, i: number) => `${p.serial}:${i}`;
  const getFrame = (p: Proxy, i: number) => {
    const k = fkey(p, i);
    const f = frames.get(k);
    if (f) {
      frames.delete(k);
      frames.set(k, f);
    }
    return f;
  };
  const putFrame = (p: Proxy, i: number, f: Uint8Array) => {
    if (f.length > limitBytes) return;
    const k = fkey(p, i);
    const old = frames.get(k);
    if (old) {
      frames.delete(k);
      stats.bytes -= old.length;
    }
    for (const [ok, of] of frames) {
      if (stats.bytes + f.length <= limitBytes) break;
      frames.delete(ok);
      stats.bytes -= of.length;
    }
    frames.set(k, f);
    stats.bytes += f.length;
    stats.frames = frames.size;
  };
  const dropFrames = (p: Proxy) => {
    const prefix = `${p.serial}:`;
    for (const [k, f] of frames) {
      if (!k.startsWith(prefix)) continue;
      frames.delete(k);
      stats.bytes -= f.length;
    }
    stats.frames = frames.size;
  };

  const stop = (d: Decoder | undefined) => {
    if (!d || d.done) return;
    d.done = true;
    d.controller.abort();
    d.wake?.();
    for (const w of d.waiters) w.resolve(undefined);
    d.waiters.clear();
  };
  const drop = (p: Proxy) => {
    stop(p.decoder);
    dropFrames(p);
    proxies.delete(p.key);
    stats.proxies = proxies.size;
  };

  /** Stops decoders left idle (a closed preview must not keep ffmpeg processes waiting on a pipe). */
  const watchIdle = () => {
    if (idleTimer) return;
    idleTimer = setInterval(() => {
      const now = performance.now();
      let live = 0;
      for (const p of proxies.values()) {
        if (p.decoder && !p.decoder.done && now - p.lastUse > IDLE_MS && !p.decoder.waiters.size) stop(p.decoder);
        if (p.decoder && !p.decoder.done) live++;
      }
      if (!live) {
        clearInterval(idleTimer);
        idleTimer = undefined;
      }
    }, IDLE_MS / 3);
    idleTimer.unref();
  };

  /** A decoder delivering frames `from`, `from + 1`, … of `p` into the store until stopped or past its target. */
  const startDecoder = (p: Proxy, wanted: number): Decoder => {
    const from = wanted < NEAR_START_SECONDS * p.spec.fps ? 0 : wanted;
    const d: Decoder = { from, pos: from, target: from, done: false, controller: new AbortController(), waiters: new Set() };
    stats.starts++;
    const s = p.spec;
    const what = `decoding ${s.file} for the preview`;
    const run = async () => {
      const stream = { file: s.file, filter: s.filter, pixFmt: 'rgb24' as const, width: s.width, height: s.height, signal: d.controller.signal, what };
      for await (const f of readFramesFrom({ ...stream, from, total: s.total, fps: s.fps, leadSeconds: 0 })) {
        if (d.done) break;
        const i = d.pos++;
        putFrame(p, i, f);
        // A waiter gets its frame whether the budget kept it or not: the decode passes it only once.
        for (const w of d.waiters) {
          if (w.index !== i) continue;
          d.waiters.delete(w);
          w.resolve(f);
        }
        // Far enough ahead: wait (ffmpeg blocks on the pipe) until the cursor moves on.
        while (!d.done && d.pos > d.target && !d.waiters.size) await new Promise<void>((r) => (d.wake = r));
        d.wake = undefined;
        if (d.done) break;
      }
    };
    void run()
      .catch(() => undefined)
      .finally(() => {
        d.done = true;
        for (const w of d.waiters) w.resolve(getFrame(p, w.index));
        d.waiters.clear();
      });
    watchIdle();
    return d;
  };

  const proxyFor = async (spec: ProxySpec): Promise<Proxy> => {
    const id = await fileIdentity(spec.file);
    const key = JSON.stringify([id, spec.filter, spec.width, spec.height, spec.total]);
    let p = proxies.get(key);
    if (p) {
      // Re-inserted on use: the Map's first entry is the one used longest ago.
      proxies.delete(key);
      proxies.set(key, p);
      p.lastUse = performance.now();
      return p;
    }
    // A file that changed on disk (new identity) will not be asked for by its old identity again.
    for (const old of [...proxies.values()]) if (old.spec.file === spec.file && old.id !== id) drop(old);
    p = { serial: ++serial, key, id, spec, lastUse: performance.now() };
    proxies.set(key, p);
    while (proxies.size > MAX_PROXIES) drop(proxies.values().next().value!);
    stats.proxies = proxies.size;
    // The frames' times decide whether a seek can be trusted: read them now, while frame 0 decodes.
    frameTimes(spec.file).catch(() => undefined);
    return p;
  };

  /** Frame `index` from `d` once it gets there; undefined if it stops first. */
  const waitFor = (d: Decoder, index: number, signal?: AbortSignal): Promise<Uint8Array | undefined> =>
    new Promise((resolve) => {
      const w: Waiter = { index, resolve };
      d.waiters.add(w);
      d.wake?.();
      signal?.addEventListener(
        'abort',
        () => {
          d.waiters.delete(w);
          resolve(undefined);
        },
        { once: true },
      );
    });

  /** Keeps the frames after `index` coming, so the next steps of a scrub are decoded before they are asked for. */
  const prefetch = (p: Proxy, index: number) => {
    const d = p.decoder;
    const end = Math.min(p.spec.total - 1, index + AHEAD);
    let next = index + 1;
    while (next <= end && frames.has(fkey(p, next))) next++;
    if (next > end) return;
    if (d && !d.done && next >= d.pos && next <= d.pos + REACH) {
      d.target = Math.max(d.target, end);
      d.wake?.();
      return;
    }
    if (d && !d.done && d.waiters.size) return;
    stop(d);
    p.decoder = startDecoder(p, next);
    p.decoder.target = end;
  };

  return {
    stats,
    /** Frame `index` of the video `spec` describes, exactly: from memory, the proxy's decoder, or read on its own. */
    async frame(spec: ProxySpec, index: number, signal?: AbortSignal): Promise<Uint8Array> {
      const p = await proxyFor(spec);
      const kept = getFrame(p, index);
      let d = p.decoder;
      if (kept) {
        stats.hits++;
        prefetch(p, index);
        return kept;
      }
      if (d && !d.done && index >= d.pos && index <= d.pos + REACH) {
        stats.waits++;
      } else {
        const busy = d && !d.done && d.waiters.size > 0;
        if (busy) {
          // Another request is waiting on this decoder: this frame is read on its own.
          stats.singles++;
          return singleFrame(spec, index, signal);
        }
        // Stepping back past where the decoder began: start well before, so the next steps back are kept.
        const reverse = !!d && index < d.from && index >= d.from - BACK_REVERSE * 2;
        stop(d);
        d = p.decoder = startDecoder(p, Math.max(0, index - (reverse ? BACK_REVERSE : 0)));
      }
      d.target = Math.max(d.target, index + AHEAD);
      const got = await waitFor(d, index, signal);
      if (got) return got;
      if (signal?.aborted) throw new VidkompyError('CANCELLED', 'cancelled');
      // The decoder stopped before it got there (replaced, or the video ended early): read it alone.
      stats.singles++;
      return singleFrame(spec, index, signal);
    },
    clear() {
      for (const p of [...proxies.values()]) drop(p);
      frames.clear();
      stats.bytes = 0;
      stats.frames = 0;
    },
  };
}

export type ProxyStore = ReturnType<typeof createProxyStore>;

/** Frame `index` in decode order, alone (a seek where times prove it, else counted from the start). */
async function singleFrame(spec: ProxySpec, index: number, signal?: AbortSignal): Promise<Uint8Array> {
  const what = `reading frame ${index} for the preview`;
  const stream = { file: spec.file, filter: spec.filter, pixFmt: 'rgb24' as const, width: spec.width, height: spec.height, maxFrames: 1, signal, what };
  for await (const f of readFramesFrom({ ...stream, from: index, total: spec.total, fps: spec.fps, leadSeconds: 0 })) return f;
  throw new VidkompyError('NO_FRAMES', `${spec.file}: frame ${index} could not be decoded for the preview; re-export the video`, spec.file);
}
