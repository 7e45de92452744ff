/**
 * Every custom request and notification between the vidkompy daemon (a language server) and its
 * clients (the VS Code extension, tests), declared once. Both sides import these objects, never the
 * method strings, so a renamed field breaks the build rather than the editor.
 *
 * Paths travel as file URIs (`file:///…`), as everywhere else in LSP. Long jobs (align, render)
 * accept a `workDoneToken` and report LSP work-done progress; cancelling the request (the standard
 * `$/cancelRequest`) or `vidkompy/cancel` stops them and leaves no output behind.
 */
import { NotificationType, RequestType, RequestType0, type WorkDoneProgressParams } from 'vscode-languageserver-protocol';
import type { ErrorCode } from './errors';
import type { Track } from './placement';
import type { Provider, TrackedPlacement } from './project';

export const PROTOCOL_VERSION = 1;

/** The settings section the daemon reads from `workspace/didChangeConfiguration`: defined in protocol/settings.ts. */
export { SETTINGS_SECTION } from './settings';

/**
 * `initializationOptions` of the client's initialize request. `trusted: false` is VS Code's
 * Restricted Mode: the daemon then runs no decoder (ffprobe, ffmpeg) on workspace files. Absent
 * means trusted, as for the CLI and clients that know no trust.
 */
export interface InitializationOptions {
  settings?: unknown;
  /**
   * Ignored since the daemon became the one voice on project files: it always sends its schema
   * and syntax findings (kept so that older clients still initialise).
   */
  clientValidatesSchema?: boolean;
  trusted?: boolean;
}

/** Sent by the client when the user trusts the workspace (VS Code can grant trust in a session, never revoke it). */
export const trustNotification = new NotificationType<{ trusted: boolean }>('vidkompy/trust');

/**
 * `data` of every error reply from the daemon: the VidkompyError code (ENOENT, NOT_VIDEO, BAD_ARGS,
 * STALE, CANCELLED, …; INTERNAL for a bug) and the file it is about. Cancelled jobs fail with the
 * LSP code RequestCancelled (-32800), bad params with InvalidParams (-32602).
 */
export interface ErrorData {
  code: ErrorCode;
  file?: string;
}

/** A probe summary of one video, as the daemon reports it (hover, preview, status). */
export interface VideoInfo {
  uri: string;
  width: number;
  height: number;
  fps: number;
  frameCount: number;
  duration: number;
  codec: string;
  vfr: boolean;
  rotation: number;
  audio: { codec: string; sampleRate: number; channels: number } | null;
  /** The file's size in bytes (vidkompy/probe fills it in; absent where only the alignment's record is known). */
  bytes?: number;
}

export interface ProbeParams {
  uri: string;
}
export const probeRequest = new RequestType<ProbeParams, VideoInfo, void>('vidkompy/probe');

/** A job on one project file (a `*.vidkompy.json`). */
export interface ProjectParams extends WorkDoneProgressParams {
  project: string;
}

export interface AlignResult {
  /** The alignment written beside the project (`NAME.vidkompy.align.json`). */
  alignment: string;
  spatial: { x: number; y: number; scale: number; confidence: number };
  offsetSeconds: number;
  speed: number;
  meanConfidence: number;
  /** True when inputs and options were unchanged and the saved alignment was reused. */
  cached: boolean;
}
/** Aligns the project (or reuses its fresh saved alignment) and writes `NAME.vidkompy.align.json`. */
export const alignRequest = new RequestType<ProjectParams, AlignResult, void>('vidkompy/align');

export interface RenderResult {
  output: string;
  width: number;
  height: number;
  frames: number;
  audio: 'fg' | 'bg' | 'none';
}
/** Renders from the saved alignment; fails with STALE when there is none or it no longer matches the project. */
export const renderRequest = new RequestType<ProjectParams, RenderResult, void>('vidkompy/render');

export interface CancelParams {
  /** Cancel the jobs of this project; all jobs when absent. */
  project?: string;
}
export const cancelRequest = new RequestType<CancelParams, { cancelled: number }, void>('vidkompy/cancel');

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface Job {
  id: number;
  /** `batch`: a Run Batch over folders (`project` is then the first folder's URI). */
  kind: 'align' | 'render' | 'batch';
  project: string;
  state: JobState;
  /** 0..1 */
  progress: number;
  stage?: string;
  message?: string;
  /** The error's code when it failed (UNSURE: refused as not sure enough). */
  code?: ErrorCode;
  /** Seconds it ran, once it has ended (absent when it was cancelled before it started). */
  seconds?: number;
  /** A re-alignment started by an edit of the project (vidkompy/liveAlign), not by a command. */
  live?: boolean;
}

export interface Status {
  version: string;
  protocol: number;
  /** Which ONNX execution provider ran last ('cpu' until embeddings are used). */
  provider: Provider;
  /** Whether the native kernels loaded or the TypeScript twins run. */
  kernels: 'native' | 'typescript';
  jobs: Job[];
}
/** No params: `sendRequest(statusRequest)`. */
export const statusRequest = new RequestType0<Status, void>('vidkompy/status');
/** Sent by the daemon whenever a job starts, progresses (throttled), or ends. */
export const statusNotification = new NotificationType<Status>('vidkompy/status');

/**
 * Re-aligns a project after an edit of its options, when that is cheap: the project has been
 * aligned before, its bg and fg are the ones aligned (the analysis the daemon keeps then serves
 * the new options), and the editor's text has no errors. The job shows in the status like any
 * align, marked `live`, with no progress of its own; cancelling the request (a newer edit) stops it.
 */
export interface LiveAlignParams {
  project: string;
  /** The document version the edit produced: an older one than the daemon has is superseded. */
  version: number;
}
export type LiveAlignResult =
  | { state: 'aligned'; result: AlignResult; seconds: number }
  /** The saved alignment already matches the edited options (an edit of "output" or "render", say). */
  | { state: 'fresh' }
  /** Not re-aligned, and why in the user's words (not aligned yet, errors in the file, other videos, a newer edit). */
  | { state: 'skipped'; reason: string; why: 'never aligned' | 'errors' | 'inputs changed' | 'superseded' };
export const liveAlignRequest = new RequestType<LiveAlignParams, LiveAlignResult, void>('vidkompy/liveAlign');

/** What the daemon runs with, for the log: asked once the daemon is up (and after a settings change). */
export interface Environment {
  version: string;
  /** The Node (or Electron as Node) running the daemon. */
  node: string;
  ffmpeg: { path: string; version: string };
  ffprobe: { path: string; version: string };
  /** The ONNX execution provider embeddings would run on, and why (the one that ran last is in Status). */
  provider: { name: Provider; reason: string };
  kernels: { backend: 'native' | 'typescript'; reason?: string };
  /** Hardware decoding and encoding found to work (each tried once on a tiny clip), else the CPU, and why. */
  hardware: { decoder: string; decoderReason: string; encoder: string; encoderReason: string };
  /** CPU threads a job may use; 0: all. */
  threads: number;
  /** Where the daemon keeps input hashes ('' : memory only). */
  cacheDirectory: string;
}
export const environmentRequest = new RequestType0<Environment, void>('vidkompy/environment');

/** Run Batch: every `*.vidkompy.json` under the folders, on this machine or on the `queue` setting's queue. */
export interface BatchParams extends WorkDoneProgressParams {
  /** Folder (or project file) URIs; the workspace folders. */
  folders: string[];
}

/** One project's outcome in a batch. */
export interface BatchJobResult {
  project: string;
  status: 'done' | 'up to date' | 'failed' | 'cancelled';
  output?: string;
  /** Seconds the job took. */
  seconds?: number;
  /** A new alignment was made (false: the saved one was fresh). */
  aligned?: boolean;
  /** Why it failed, in the editor's words. */
  error?: string;
  code?: string;
}

export interface BatchResult {
  /** The queue the batch ran on (the URL without its password); absent: on this machine. */
  queue?: string;
  jobs: number;
  done: number;
  upToDate: number;
  failed: number;
  cancelled: number;
  seconds: number;
  results: BatchJobResult[];
}
export const batchRequest = new RequestType<BatchParams, BatchResult, void>('vidkompy/batch');

/** The latest alignment of a project, for the preview: the map and what it needs to draw it. */
export interface AlignmentView {
  project: string;
  bg: VideoInfo;
  fg: VideoInfo & { contentRect: { x: number; y: number; width: number; height: number } };
  /**
   * fg's frame corner in bg pixels and its scale. `placement: 'tracked'`: fg's window moves, `track`
   * has its keyframes (the alignment file's, not one entry per frame) and x, y, scale are its first
   * frame's; absent: fixed.
   */
  spatial: { x: number; y: number; scale: number; confidence: number; placement?: TrackedPlacement; track?: Track };
  bgFrameForFg: number[];
  bgTimeForFg: number[];
  fgTimes: number[];
  confidence: number[];
  /** The project's sync points (anchors with a bg time), seconds; placement pins are not drawn on the time plot. */
  anchors: { fg: number; bg: number }[];
  /** Detected cut points (edit engine), as fg frame indices. */
  cuts: number[];
  /** Inclusive fg frame ranges whose bg frame is uncertain (shaded in the plot). */
  uncertain?: [number, number][];
  /** True when the inputs or options changed since this alignment was made. */
  stale: boolean;
  /**
   * True for the coarse map of an align still running (its first pass, before refinement; sent
   * with `vidkompy/coarseMap`): the final alignment replaces it. Its frames cannot be asked for yet.
   */
  provisional?: boolean;
}
export const resultRequest = new RequestType<{ project: string }, AlignmentView | null, void>('vidkompy/result');

/**
 * Sent by the daemon while an Align runs, as soon as the engine has a whole map (its first pass),
 * long before refinement ends: the view has `provisional: true` and no saved alignment behind it.
 * The job's end (`vidkompy/status`) means the final alignment is saved: ask `vidkompy/result`.
 * Not sent for live re-alignments, which take well under a second.
 */
export interface CoarseMap {
  view: AlignmentView;
  /** Seconds from the job's start to this map. */
  seconds: number;
}
export const coarseMapNotification = new NotificationType<CoarseMap>('vidkompy/coarseMap');

export interface FrameParams {
  project: string;
  /** fg frame index. */
  fgFrame: number;
  /** Preview width in pixels (height follows the aspect ratio). */
  width: number;
  /** The only encoding (the default); clients may still name it. */
  format?: 'jpeg';
}

export interface FrameResult {
  fgFrame: number;
  bgFrame: number;
  /** data: URLs at preview size: fg's content alone, the bg frame, and fg composited over it. */
  fg: string;
  bg: string;
  composite: string;
  /** Where fg's content lands on the bg image at this fg frame, in preview pixels. */
  box: { x: number; y: number; width: number; height: number };
}
export const frameRequest = new RequestType<FrameParams, FrameResult, void>('vidkompy/frame');
