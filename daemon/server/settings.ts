import { ENGINES, type Engine } from '../../protocol/project';
import { DEFAULT_SETTINGS, type Settings } from '../../protocol/settings';

export { DEFAULT_SETTINGS, SETTINGS_SECTION, type Settings } from '../../protocol/settings';

/**
 * The `vidkompy` settings section, as the client pushes it with `workspace/didChangeConfiguration`
 * (or sends it in `initializationOptions.settings`), read once into the typed object of
 * protocol/settings.ts; nothing else in the daemon looks at raw settings.
 */

/** Settings from whatever the client sent: unknown or ill-typed values fall back to the defaults. */
export function readSettings(raw: unknown, base: Settings = DEFAULT_SETTINGS): Settings {
  const o = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const str = (k: 'ffmpegPath' | 'ffprobePath' | 'cacheDirectory' | 'queue') => (typeof o[k] === 'string' ? (o[k] as string) : base[k]);
  const threads = typeof o.threads === 'number' && Number.isInteger(o.threads) && o.threads >= 0 ? o.threads : base.threads;
  const engine = (ENGINES as readonly unknown[]).includes(o.defaultEngine) ? (o.defaultEngine as Engine) : base.defaultEngine;
  const liveAlign = typeof o.liveAlign === 'boolean' ? o.liveAlign : base.liveAlign;
  return { ffmpegPath: str('ffmpegPath'), ffprobePath: str('ffprobePath'), cacheDirectory: str('cacheDirectory'), threads, defaultEngine: engine, liveAlign, queue: str('queue').trim() };
}
