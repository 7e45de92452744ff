import * as vscode from 'vscode';
import { ENGINES, type Engine } from '../protocol/project';
import { DEFAULT_SETTINGS, SETTINGS_SECTION, type Settings } from '../protocol/settings';

/**
 * The `vidkompy` settings (protocol/settings.ts names them), read once into a typed object and
 * pushed to the daemon whole. Nothing else in the extension reads raw settings.
 */

export type Config = Settings;

export function readConfig(): Config {
  const c = vscode.workspace.getConfiguration(SETTINGS_SECTION);
  const str = (k: 'ffmpegPath' | 'ffprobePath' | 'cacheDirectory' | 'queue') => (typeof c.get(k) === 'string' ? (c.get<string>(k) ?? '').trim() : DEFAULT_SETTINGS[k]);
  const threads = c.get<number>('threads', DEFAULT_SETTINGS.threads);
  const engine = c.get<string>('defaultEngine', DEFAULT_SETTINGS.defaultEngine);
  return {
    ffmpegPath: str('ffmpegPath'),
    ffprobePath: str('ffprobePath'),
    cacheDirectory: str('cacheDirectory'),
    threads: Number.isInteger(threads) && threads >= 0 ? threads : DEFAULT_SETTINGS.threads,
    defaultEngine: (ENGINES as readonly string[]).includes(engine) ? (engine as Engine) : DEFAULT_SETTINGS.defaultEngine,
    liveAlign: c.get<boolean>('liveAlign', DEFAULT_SETTINGS.liveAlign) !== false,
    queue: str('queue'),
  };
}

/**
 * What the daemon gets: the settings with the editor's defaults filled in (`~` expanded, the cache
 * in the extension's global storage when none is set).
 */
export function daemonSettings(config: Config, globalStorage: vscode.Uri): Config {
  const home = process.env.HOME ?? process.env.USERPROFILE ?? '';
  const expand = (p: string) => (home && (p === '~' || p.startsWith('~/')) ? home + p.slice(1) : p);
  return {
    ...config,
    ffmpegPath: expand(config.ffmpegPath),
    ffprobePath: expand(config.ffprobePath),
    cacheDirectory: expand(config.cacheDirectory) || vscode.Uri.joinPath(globalStorage, 'cache').fsPath,
  };
}

/** Calls `fn` with the new settings whenever any `vidkompy.*` setting changes. */
export function onConfigChange(fn: (config: Config) => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(SETTINGS_SECTION)) fn(readConfig());
  });
}
