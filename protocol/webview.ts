/**
 * Messages between the drift-preview webview and the extension that hosts it, declared once. Both
 * sides import these types; the webview bundle imports this file too, so it holds no Node-only code
 * and takes only types from ./lsp (whose runtime objects come from vscode-languageserver-protocol,
 * which must not end up in the browser bundle).
 *
 * Every message is a plain JSON object discriminated on `type`. Frame indices are 0-based decoded
 * frame positions, as in the alignment; times are seconds from each video's start.
 */
import type { AlignmentView, FrameResult } from './lsp';

export const WEBVIEW_PROTOCOL = 1;

// ---------------------------------------------------------------------------------------------
// extension → webview

/** The project's latest alignment, or null with the reason there is none (not aligned yet, failed…). */
export interface AlignmentMessage {
  type: 'alignment';
  view: AlignmentView | null;
  reason?: string;
}

/** The answer to a `requestFrame`. */
export interface FrameMessage {
  type: 'frame';
  frame: FrameResult;
}

/** A re-alignment started, progressed or ended (the next `alignment` message carries its result). */
export interface BusyMessage {
  type: 'busy';
  busy: boolean;
  /** 0..1 when known. */
  progress?: number;
  stage?: string;
}

/** Something failed. With `fgFrame`: the `requestFrame` for that frame failed (the webview may ask again). */
export interface ErrorMessage {
  type: 'error';
  message: string;
  fgFrame?: number;
}

/**
 * The colour theme changed. VS Code updates the `--vscode-*` CSS variables itself; this tells the
 * webview to re-read them for what it draws on canvases.
 */
export interface ThemeMessage {
  type: 'theme';
  kind: 'light' | 'dark' | 'highContrast' | 'highContrastLight';
}

/** Move the scrubber to a fg frame (e.g. the cursor is on an anchor in the project file). */
export interface GotoMessage {
  type: 'goto';
  fgFrame: number;
}

export type ToWebview = AlignmentMessage | FrameMessage | BusyMessage | ErrorMessage | ThemeMessage | GotoMessage;

// ---------------------------------------------------------------------------------------------
// webview → extension

/** The page is loaded and listening: send the alignment (again, after the panel was hidden). */
export interface ReadyMessage {
  type: 'ready';
  protocol: number;
}

/** Wants the frames for one fg frame at `width` preview pixels. At most one is outstanding at a time. */
export interface RequestFrameMessage {
  type: 'requestFrame';
  fgFrame: number;
  width: number;
}

/**
 * Add a manual anchor to the project file: fg frame `fgFrame` belongs with bg frame `bgFrame`. The
 * times are the same point in seconds (what the project file and `align --anchors` take). The
 * extension makes it an ordinary, undoable edit; the webview changes nothing itself.
 */
export interface PinMessage {
  type: 'pin';
  fgFrame: number;
  bgFrame: number;
  fgTime: number;
  bgTime: number;
}

/** Show the project file, or the `anchor`-th entry of `AlignmentView.anchors` in it. */
export interface RevealMessage {
  type: 'reveal';
  anchor?: number;
}

/** Align again now (e.g. the alignment is stale). */
export interface RealignMessage {
  type: 'realign';
}

export type FromWebview = ReadyMessage | RequestFrameMessage | PinMessage | RevealMessage | RealignMessage;

// ---------------------------------------------------------------------------------------------

const TO_WEBVIEW: Record<ToWebview['type'], true> = { alignment: true, frame: true, busy: true, error: true, theme: true, goto: true };
const FROM_WEBVIEW: Record<FromWebview['type'], true> = { ready: true, requestFrame: true, pin: true, reveal: true, realign: true };

/**
 * A cheap shape check at the boundary: the `message` event also carries whatever else posts to the
 * window (extensions' own tooling, devtools), and a malformed message must not crash the reducer.
 */
export function isToWebview(m: unknown): m is ToWebview {
  if (!isTyped(m) || !Object.hasOwn(TO_WEBVIEW, m.type)) return false;
  const r = m as Record<string, unknown>;
  switch (m.type) {
    case 'alignment':
      return r.view === null || (typeof r.view === 'object' && Array.isArray((r.view as AlignmentView).bgFrameForFg) && isSpatial((r.view as AlignmentView).spatial));
    case 'frame':
      return typeof r.frame === 'object' && r.frame !== null && Number.isInteger((r.frame as FrameResult).fgFrame);
    case 'busy':
      return typeof r.busy === 'boolean';
    case 'error':
      return typeof r.message === 'string';
    case 'theme':
      return typeof r.kind === 'string';
    case 'goto':
      return Number.isInteger(r.fgFrame);
  }
  return false;
}

export function isFromWebview(m: unknown): m is FromWebview {
  return isTyped(m) && Object.hasOwn(FROM_WEBVIEW, m.type);
}

/** A placement the plot and the readout can read: a track, when there is one, is keyframes of four numbers. */
function isSpatial(sp: unknown): boolean {
  if (typeof sp !== 'object' || sp === null) return false;
  const track = (sp as AlignmentView['spatial']).track;
  if (track === undefined) return true;
  const { keys, cuts } = track as { keys?: unknown; cuts?: unknown };
  const isKey = (k: unknown) => Array.isArray(k) && k.length === 4 && k.every(Number.isFinite);
  return Array.isArray(keys) && keys.length > 0 && keys.every(isKey) && (cuts === undefined || (Array.isArray(cuts) && cuts.every(Number.isInteger)));
}

function isTyped(m: unknown): m is { type: string } {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
