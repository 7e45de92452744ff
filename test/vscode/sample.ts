/**
 * The sample workspace, as both sides of the VS Code tests know it: the launcher makes it
 * (test/support/vscodeWorkspace.ts), the tests inside VS Code open it. Plain data, no imports.
 */

/** fg: a 352x224 crop of the bundled clip at 150,90, re-timed to 30 fps from 0.8 s, 60 frames. */
export const FG_SPEC = { crop: { x: 150, y: 90, width: 352, height: 224 }, fps: 30, offset: 0.8, frames: 60 };

/**
 * The cancel test's fg: its own crop and timing, so no placement or analysis frame the daemon
 * keeps from aligning the demo serves it, and the align runs long enough to be cancelled.
 */
export const OTHER_SPEC = { crop: { x: 40, y: 30, width: 560, height: 340 }, fps: 25, offset: 0.3, speed: 1.01, frames: 170 };

export const FILES = {
  bg: 'bg.mpg',
  fg: 'clips/fg.mp4',
  /** Aligns. */
  project: 'demo.vidkompy.json',
  alignment: 'demo.vidkompy.align.json',
  /** Its fg does not exist. */
  broken: 'broken.vidkompy.json',
  /** Aligns too (its own fg, another engine), for the cancel test. */
  other: 'other.vidkompy.json',
  otherFg: 'clips/other.mp4',
} as const;

export const PROJECTS: Record<string, Record<string, unknown>> = {
  [FILES.project]: { bg: FILES.bg, fg: FILES.fg, render: { preset: 'veryfast', crf: 30 } },
  [FILES.broken]: { bg: FILES.bg, fg: 'clips/missing.mp4' },
  [FILES.other]: { bg: FILES.bg, fg: FILES.otherFg, engine: 'mask' },
};

/** What the broken project's diagnostic says (the daemon's ENOENT on the fg path). */
export const BROKEN_MESSAGE = /fg "clips\/missing\.mp4" not found/;

/** The status bar once the demo is aligned. */
export const ALIGNED_STATUS = /vidkompy: demo aligned/;

/** Environment variable naming where `run()` writes its report (else REPORT_NAME in the workspace folder). */
export const REPORT_ENV = 'VIDKOMPY_VSCODE_REPORT';
export const REPORT_NAME = '.vidkompy-vscode-report.json';
