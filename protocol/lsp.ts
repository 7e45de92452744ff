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
import type { Provider } from './project';

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
  kind: 'align' | 'render';
  project: string;
  state: JobState;
  /** 0..1 */
  progress: number;
  stage?: string;
  message?: string;
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

/** The latest alignment of a project, for the preview: the map and what it needs to draw it. */
export interface AlignmentView {
  project: string;
  bg: VideoInfo;
  fg: VideoInfo & { contentRect: { x: number; y: number; width: number; height: number } };
  spatial: { x: number; y: number; scale: number; confidence: number };
  bgFrameForFg: number[];
  bgTimeForFg: number[];
  fgTimes: number[];
  confidence: number[];
  anchors: { fg: number; bg: number }[];
  /** Detected cut points (edit engine), as fg frame indices. */
  cuts: number[];
  /** Inclusive fg frame ranges whose bg frame is uncertain (shaded in the plot). */
  uncertain?: [number, number][];
  /** True when the inputs or options changed since this alignment was made. */
  stale: boolean;
}
export const resultRequest = new RequestType<{ project: string }, AlignmentView | null, void>('vidkompy/result');

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
  /** Where fg's content lands on the bg image, in preview pixels. */
  box: { x: number; y: number; width: number; height: number };
}
export const frameRequest = new RequestType<FrameParams, FrameResult, void>('vidkompy/frame');
