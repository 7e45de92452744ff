import { ENGINES, type Engine } from '../../protocol/project';

/**
 * The `vidkompy` settings section, as the client pushes it with `workspace/didChangeConfiguration`
 * (or sends it in `initializationOptions.settings`). Read once into this typed object; nothing else
 * in the daemon looks at raw settings.
 */
export interface Settings {
  /** ffmpeg binary; empty: VIDKOMPY_FFMPEG, else the bundled one. */
  ffmpegPath: string;
  /** ffprobe binary; empty: VIDKOMPY_FFPROBE, else the bundled one. */
  ffprobePath: string;
  /** Where the daemon keeps what survives a restart (input hashes); empty: nothing is kept. */
  cacheDirectory: string;
  /** CPU threads a job may use (ffmpeg, native kernels, the model); 0: all (or VIDKOMPY_THREADS). */
  threads: number;
  /** Engine for projects that name none. */
  defaultEngine: Engine;
}

export const DEFAULT_SETTINGS: Settings = { ffmpegPath: '', ffprobePath: '', cacheDirectory: '', threads: 0, defaultEngine: 'full' };

/** Settings from whatever the client sent: unknown or ill-typed values fall back to the defaults. */
export function readSettings(raw: unknown, base: Settings = DEFAULT_SETTINGS): Settings {
  const o = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const str = (k: keyof Settings) => (typeof o[k] === 'string' ? (o[k] as string) : (base[k] as string));
  const threads = typeof o.threads === 'number' && Number.isInteger(o.threads) && o.threads >= 0 ? o.threads : base.threads;
  const engine = (ENGINES as readonly unknown[]).includes(o.defaultEngine) ? (o.defaultEngine as Engine) : base.defaultEngine;
  return { ffmpegPath: str('ffmpegPath'), ffprobePath: str('ffprobePath'), cacheDirectory: str('cacheDirectory'), threads, defaultEngine: engine };
}
