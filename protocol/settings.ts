/**
 * The editor settings of vidkompy, as the extension reads them and the daemon receives them: their
 * names, types and defaults, defined here once. Each side keeps its own reading logic (the
 * extension from VS Code's configuration, the daemon from whatever the client pushed); package.json
 * contributes the same keys and defaults, and `test/facts.test.ts` fails when it drifts.
 * Plain data, importing nothing outside protocol/.
 */
import { DEFAULT_ENGINE, type Engine } from './project';

/** The section under which the settings live (`vidkompy.threads`, …) and the daemon receives them. */
export const SETTINGS_SECTION = 'vidkompy';

export interface Settings {
  /** ffmpeg binary; empty: VIDKOMPY_FFMPEG, else the bundled one. */
  ffmpegPath: string;
  /** ffprobe binary; empty: VIDKOMPY_FFPROBE, else the bundled one. */
  ffprobePath: string;
  /**
   * Where the daemon keeps what survives a restart (input hashes). Empty: the extension fills in its
   * global storage; a daemon that still gets it empty keeps nothing.
   */
  cacheDirectory: string;
  /** CPU threads a job may use (ffmpeg, native kernels, the model); 0: all (or VIDKOMPY_THREADS). */
  threads: number;
  /** Engine for projects that name none. */
  defaultEngine: Engine;
  /** Re-align a project by itself after an edit of its options (when it was aligned before and its videos are the same). */
  liveAlign: boolean;
  /** Run Batch's job queue, `redis://HOST:PORT[/DB]`; empty: on this machine. */
  queue: string;
}

export const DEFAULT_SETTINGS: Readonly<Settings> = {
  ffmpegPath: '',
  ffprobePath: '',
  cacheDirectory: '',
  threads: 0,
  defaultEngine: DEFAULT_ENGINE,
  liveAlign: true,
  queue: '',
};

/** How long after the last keystroke in a project file a live re-alignment starts. */
export const LIVE_ALIGN_DEBOUNCE_MS = 400;
