import * as vscode from 'vscode';
import { ENGINES, type Engine } from '../protocol/engines';
import { SETTINGS_SECTION } from '../protocol/lsp';

/**
 * The `vidkompy` settings, read once into a typed object and pushed to the daemon whole (its
 * daemon/server/settings.ts reads the same names). Nothing else in the extension reads raw settings.
 */

export interface Config {
  /** ffmpeg binary; empty: VIDKOMPY_FFMPEG, else the one bundled with the extension. */
  ffmpegPath: string;
  /** ffprobe binary; empty: VIDKOMPY_FFPROBE, else the bundled one. */
  ffprobePath: string;
  /** Where the daemon keeps input hashes across restarts; empty: the extension's global storage. */
  cacheDirectory: string;
  /** CPU threads the daemon may use; 0: all. */
  threads: number;
  /** Engine for projects that name none. */
  defaultEngine: Engine;
}

export function readConfig(): Config {
  const c = vscode.workspace.getConfiguration(SETTINGS_SECTION);
  const str = (k: string) => (typeof c.get(k) === 'string' ? (c.get<string>(k) ?? '').trim() : '');
  const threads = c.get<number>('threads', 0);
  const engine = c.get<string>('defaultEngine', 'full');
  return {
    ffmpegPath: str('ffmpegPath'),
    ffprobePath: str('ffprobePath'),
    cacheDirectory: str('cacheDirectory'),
    threads: Number.isInteger(threads) && threads >= 0 ? threads : 0,
    defaultEngine: (ENGINES as readonly string[]).includes(engine) ? (engine as Engine) : 'full',
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
