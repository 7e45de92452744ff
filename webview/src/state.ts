/**
 * The preview's state and every rule about it, as pure functions: a reducer over extension messages
 * and user actions that returns the next state and the effects to perform (messages to post, when
 * to wake up). No DOM, no timers, no clock: the caller passes `now`, which is what lets the tests
 * drive debouncing and request timeouts deterministically.
 */
import type { AlignmentView, FrameResult } from '../../protocol/lsp';
import { WEBVIEW_PROTOCOL, type FromWebview, type ToWebview } from '../../protocol/webview';

export type Mode = 'composite' | 'side' | 'onion' | 'difference';
export const MODES: readonly Mode[] = ['composite', 'side', 'onion', 'difference'];

/** A window on the plot's x axis, in fg seconds. */
export interface Span {
  min: number;
  max: number;
}

/** What the user would be annoyed to lose: kept across re-alignments and panel hide/show. */
export interface Place {
  project: string | null;
  fgFrame: number;
  /** null: the whole map. */
  zoom: Span | null;
  mode: Mode;
  /** Onion-skin opacity of fg over bg, 0..1. */
  opacity: number;
}

/** Identifies a frame picture: the same fg frame looks different at another width or after a re-alignment. */
export interface FrameKey {
  fgFrame: number;
  width: number;
  generation: number;
}

export interface State extends Place {
  view: AlignmentView | null;
  /** Why there is no alignment, when there is none. */
  reason: string | null;
  busy: { progress?: number; stage?: string } | null;
  error: string | null;
  /** The frame on screen (possibly not the wanted one yet, while the next is on its way). */
  frame: FrameResult | null;
  shown: FrameKey | null;
  inFlight: (FrameKey & { since: number }) | null;
  /** A request that failed: not asked again until something changes, or it would loop. */
  failed: FrameKey | null;
  /** The user is still moving: a wake-up is pending before the next request. */
  debouncing: boolean;
  /** Preview width to ask for, in image pixels; 0 until the layout is known. */
  width: number;
  /** Bumped by every new alignment: frames fetched before it may show another bg frame. */
  generation: number;
  /** Bumped by every theme message, so canvases re-read the colours. */
  themeVersion: number;
}

export type Action =
  | { type: 'message'; message: ToWebview }
  | { type: 'scrub'; fgFrame: number }
  | { type: 'key'; key: string }
  | { type: 'zoom'; factor: number; at: number }
  | { type: 'zoomTo'; span: Span | null }
  | { type: 'pan'; by: number }
  | { type: 'mode'; mode: Mode }
  | { type: 'opacity'; value: number }
  | { type: 'resize'; width: number }
  /** The wake-up asked for by a `wake` effect. */
  | { type: 'flush' }
  | { type: 'pin' }
  | { type: 'reveal'; anchor?: number }
  | { type: 'realign' };

export type Effect = { kind: 'post'; message: FromWebview } | { kind: 'wake'; ms: number };

export interface Step {
  state: State;
  effects: Effect[];
}

/** Quiet time after the last scrub step before a frame is asked for. */
export const DEBOUNCE_MS = 80;
/** A reply this late is taken as lost, and the frame asked for again. */
export const FRAME_TIMEOUT_MS = 5000;
/** The narrowest zoom window, in fg frames. */
export const MIN_ZOOM_FRAMES = 8;

const DEFAULT_PLACE: Place = { project: null, fgFrame: 0, zoom: null, mode: 'composite', opacity: 0.5 };

export function initialState(saved?: unknown): State {
  return {
    ...DEFAULT_PLACE,
    ...restorePlace(saved),
    view: null,
    reason: null,
    busy: null,
    error: null,
    frame: null,
    shown: null,
    inFlight: null,
    failed: null,
    debouncing: false,
    width: 0,
    generation: 0,
    themeVersion: 0,
  };
}

/** The part of the state worth persisting with `setState`. */
export function place(s: State): Place {
  return { project: s.project, fgFrame: s.fgFrame, zoom: s.zoom, mode: s.mode, opacity: s.opacity };
}

/** Whatever `getState` returned, checked field by field: an older build may have saved another shape. */
export function restorePlace(saved: unknown): Partial<Place> {
  if (!saved || typeof saved !== 'object') return {};
  const p = saved as Record<string, unknown>;
  const out: Partial<Place> = {};
  if (typeof p.project === 'string') out.project = p.project;
  if (Number.isInteger(p.fgFrame) && (p.fgFrame as number) >= 0) out.fgFrame = p.fgFrame as number;
  const z = p.zoom as Span | null | undefined;
  if (z && Number.isFinite(z.min) && Number.isFinite(z.max) && z.max > z.min) out.zoom = { min: z.min, max: z.max };
  if (MODES.includes(p.mode as Mode)) out.mode = p.mode as Mode;
  if (typeof p.opacity === 'number' && p.opacity >= 0 && p.opacity <= 1) out.opacity = p.opacity;
  return out;
}

// ---------------------------------------------------------------------------------------------
// the map

export function frameCount(v: AlignmentView): number {
  return v.bgFrameForFg.length;
}

/** The x range of the data: fg's first to last frame time. */
export function bounds(v: AlignmentView): Span {
  return { min: v.fgTimes[0] ?? 0, max: v.fgTimes[v.fgTimes.length - 1] ?? 0 };
}

export function minSpan(v: AlignmentView): number {
  const b = bounds(v);
  const fps = v.fg.fps > 0 ? v.fg.fps : 25;
  return Math.min(b.max - b.min, MIN_ZOOM_FRAMES / fps);
}

/** bg − fg time per fg frame: flat when fg runs at bg's speed, a slope when one clock drifts. */
export function offsets(v: AlignmentView): number[] {
  return v.fgTimes.map((t, i) => v.bgTimeForFg[i] - t);
}

/** The fg frame shown nearest to time `t` (fgTimes ascend). */
export function frameAtTime(v: AlignmentView, t: number): number {
  const ts = v.fgTimes;
  if (!ts.length) return 0;
  let lo = 0;
  let hi = ts.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (ts[mid] <= t) lo = mid;
    else hi = mid;
  }
  return Math.abs(ts[hi] - t) < Math.abs(t - ts[lo]) ? hi : lo;
}

/** One PageUp/PageDown: a second of fg. */
export function pageFrames(v: AlignmentView): number {
  return Math.max(1, Math.round(v.fg.fps || 10));
}

/**
 * The frame a scrubber key leads to, or null when the key is not one of the scrubber's. Up/Right
 * step forward as on any slider.
 */
export function keyTarget(key: string, frame: number, count: number, page: number): number | null {
  const last = Math.max(0, count - 1);
  const to = (f: number) => clamp(f, 0, last);
  switch (key) {
    case 'ArrowRight':
    case 'ArrowUp':
      return to(frame + 1);
    case 'ArrowLeft':
    case 'ArrowDown':
      return to(frame - 1);
    case 'PageUp':
      return to(frame + page);
    case 'PageDown':
      return to(frame - page);
    case 'Home':
      return 0;
    case 'End':
      return last;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// zoom and pan: x is fg time; `width` is the plot area's width in pixels

export function timeToPx(t: number, span: Span, width: number): number {
  return ((t - span.min) / (span.max - span.min)) * width;
}

export function pxToTime(px: number, span: Span, width: number): number {
  return span.min + (px / width) * (span.max - span.min);
}

/**
 * Fits `span` inside `b`: at least `least` wide (never wider than `b`), moved rather than cut when
 * it sticks out, so a zoom level survives being pushed against either end.
 */
export function clampSpan(span: Span, b: Span, least: number): Span {
  const full = b.max - b.min;
  const w = Math.min(full, Math.max(least, span.max - span.min));
  let min = span.min + (span.max - span.min - w) / 2;
  min = clamp(min, b.min, b.max - w);
  return { min, max: min + w };
}

/**
 * Zooms by `factor` (< 1 in, > 1 out) about time `at`: the point under the cursor stays under the
 * cursor, unless the window then has to be moved back inside the data.
 */
export function zoomAbout(span: Span, factor: number, at: number, b: Span, least: number): Span {
  const w = span.max - span.min;
  const nw = clamp(w * factor, Math.min(least, b.max - b.min), b.max - b.min);
  const k = nw / w;
  return clampSpan({ min: at - (at - span.min) * k, max: at + (span.max - at) * k }, b, least);
}

export function panBy(span: Span, dt: number, b: Span): Span {
  return clampSpan({ min: span.min + dt, max: span.max + dt }, b, 0);
}

/** The smallest move of `span` that brings `t` into it (scrubbing by keys must not run off-screen). */
export function follow(span: Span, t: number, b: Span): Span {
  if (t >= span.min && t <= span.max) return span;
  const w = span.max - span.min;
  const margin = w * 0.1;
  const min = t < span.min ? t - margin : t + margin - w;
  return clampSpan({ min, max: min + w }, b, 0);
}

const covers = (s: Span, b: Span) => s.min <= b.min + 1e-9 && s.max >= b.max - 1e-9;

/** A window normalised for storage: null when it shows everything. */
function normalZoom(z: Span | null, v: AlignmentView): Span | null {
  if (!z) return null;
  const b = bounds(v);
  if (!(b.max > b.min)) return null;
  const c = clampSpan(z, b, minSpan(v));
  return covers(c, b) ? null : c;
}

/** Preview width to ask for: the box's device pixels, in steps so that a resize does not re-fetch every pixel. */
export function previewWidth(cssWidth: number, dpr: number, step = 64, max = 1280): number {
  const px = Math.floor(cssWidth * (dpr > 0 ? dpr : 1));
  if (px < step) return px >= 16 ? px : 0;
  return Math.min(max, Math.floor(px / step) * step);
}

// ---------------------------------------------------------------------------------------------
// the reducer

export function reduce(s: State, a: Action, now: number): Step {
  switch (a.type) {
    case 'message':
      return onMessage(s, a.message, now);
    case 'scrub':
      return scrub(s, a.fgFrame);
    case 'key': {
      if (!s.view) return same(s);
      const to = keyTarget(a.key, s.fgFrame, frameCount(s.view), pageFrames(s.view));
      return to === null ? same(s) : scrub(s, to);
    }
    case 'zoom': {
      if (!s.view || !(a.factor > 0)) return same(s);
      const b = bounds(s.view);
      if (!(b.max > b.min)) return same(s);
      const z = zoomAbout(s.zoom ?? b, a.factor, a.at, b, minSpan(s.view));
      return same({ ...s, zoom: normalZoom(z, s.view) });
    }
    case 'zoomTo':
      return s.view ? same({ ...s, zoom: normalZoom(a.span, s.view) }) : same(s);
    case 'pan':
      return s.view && s.zoom ? same({ ...s, zoom: normalZoom(panBy(s.zoom, a.by, bounds(s.view)), s.view) }) : same(s);
    case 'mode':
      return MODES.includes(a.mode) ? same({ ...s, mode: a.mode }) : same(s);
    case 'opacity':
      return Number.isFinite(a.value) ? same({ ...s, opacity: clamp(a.value, 0, 1) }) : same(s);
    case 'resize': {
      if (a.width === s.width) return same(s);
      // Resizes come in bursts while a sash is dragged: wait for the last one.
      return { state: { ...s, width: a.width, debouncing: true }, effects: [{ kind: 'wake', ms: DEBOUNCE_MS }] };
    }
    case 'flush':
      return request({ ...s, debouncing: false }, now);
    case 'pin':
      // Not on a provisional map: an anchor pinned to a coarse guess would hold the result to it.
      return s.view && !s.view.provisional ? { state: s, effects: [post(pinMessage(s.view, s.fgFrame))] } : same(s);
    case 'reveal':
      return { state: s, effects: [post(a.anchor === undefined ? { type: 'reveal' } : { type: 'reveal', anchor: a.anchor })] };
    case 'realign':
      return { state: s, effects: [post({ type: 'realign' })] };
  }
}

export function readyMessage(): FromWebview {
  return { type: 'ready', protocol: WEBVIEW_PROTOCOL };
}

export function pinMessage(v: AlignmentView, fgFrame: number): FromWebview {
  const i = clamp(fgFrame, 0, frameCount(v) - 1);
  return { type: 'pin', fgFrame: i, bgFrame: v.bgFrameForFg[i], fgTime: v.fgTimes[i], bgTime: v.bgTimeForFg[i] };
}

function onMessage(s: State, m: ToWebview, now: number): Step {
  switch (m.type) {
    case 'alignment':
      return m.view ? newAlignment(s, m.view, now) : same({ ...s, view: null, reason: m.reason ?? 'no alignment yet', busy: null, frame: null, shown: null });
    case 'frame':
      return gotFrame(s, m.frame, now);
    case 'busy':
      return same({ ...s, busy: m.busy ? { progress: m.progress, stage: m.stage } : null });
    case 'error': {
      if (m.fgFrame !== undefined && s.inFlight?.fgFrame === m.fgFrame) {
        const failed = { fgFrame: s.inFlight.fgFrame, width: s.inFlight.width, generation: s.inFlight.generation };
        return request({ ...s, error: m.message, inFlight: null, failed }, now);
      }
      return same({ ...s, error: m.message });
    }
    case 'theme':
      return same({ ...s, themeVersion: s.themeVersion + 1 });
    case 'goto': {
      if (!s.view) return same({ ...s, fgFrame: Math.max(0, m.fgFrame) });
      const moved = scrub(s, m.fgFrame).state;
      return request({ ...moved, debouncing: false }, now);
    }
  }
}

/**
 * A new map, usually after an edit of the project file: the user stays where they were (same fg
 * frame if it still exists, same zoom window moved inside the new data), and the frame on screen is
 * fetched again since its bg frame may have changed. Another project starts from the beginning.
 */
function newAlignment(s: State, v: AlignmentView, now: number): Step {
  const n = frameCount(v);
  const keep = s.project === null || s.project === v.project;
  const fgFrame = keep ? clamp(s.fgFrame, 0, Math.max(0, n - 1)) : 0;
  const next: State = {
    ...s,
    view: v,
    project: v.project,
    reason: null,
    error: null,
    // A provisional map comes while its align still runs: the progress stays up.
    busy: v.provisional ? s.busy : null,
    fgFrame,
    zoom: keep ? normalZoom(s.zoom, v) : null,
    generation: s.generation + 1,
    failed: null,
    debouncing: false,
  };
  return request(next, now);
}

function gotFrame(s: State, f: FrameResult, now: number): Step {
  let shown: FrameKey | null;
  let inFlight = s.inFlight;
  if (inFlight && inFlight.fgFrame === f.fgFrame) {
    // The reply to the outstanding request: shown even if the user has moved on, as it is nearer
    // than what is on screen; the latest position is asked for next.
    shown = { fgFrame: inFlight.fgFrame, width: inFlight.width, generation: inFlight.generation };
    inFlight = null;
  } else if (f.fgFrame === s.fgFrame) {
    shown = { fgFrame: f.fgFrame, width: s.width, generation: s.generation };
  } else {
    // A late reply to a request given up on: it would only flash an old picture.
    return same(s);
  }
  return request({ ...s, frame: f, shown, inFlight, error: null }, now);
}

function scrub(s: State, fgFrame: number): Step {
  const n = s.view ? frameCount(s.view) : 0;
  const f = clamp(Math.round(fgFrame), 0, Math.max(0, n - 1));
  let zoom = s.zoom;
  if (s.view && zoom) zoom = follow(zoom, s.view.fgTimes[f], bounds(s.view));
  return { state: { ...s, fgFrame: f, zoom, debouncing: true }, effects: [{ kind: 'wake', ms: DEBOUNCE_MS }] };
}

/**
 * Asks for the wanted frame if nothing stands in the way: never while the user is still moving,
 * never a second request while one is outstanding (latest wins: whatever is wanted when the reply
 * comes is asked for then), never what is already on screen or just failed.
 */
function request(s: State, now: number): Step {
  // A provisional map has no saved alignment behind it yet: its frames come with the result.
  if (!s.view || s.view.provisional || s.width <= 0 || s.debouncing) return same(s);
  const want: FrameKey = { fgFrame: s.fgFrame, width: s.width, generation: s.generation };
  if (s.inFlight) {
    const left = s.inFlight.since + FRAME_TIMEOUT_MS - now;
    if (left > 0) return { state: s, effects: [{ kind: 'wake', ms: left }] };
  }
  if ((s.shown && sameKey(s.shown, want)) || (s.failed && sameKey(s.failed, want))) return same({ ...s, inFlight: null });
  return {
    state: { ...s, inFlight: { ...want, since: now } },
    effects: [post({ type: 'requestFrame', fgFrame: want.fgFrame, width: want.width }), { kind: 'wake', ms: FRAME_TIMEOUT_MS }],
  };
}

function sameKey(a: FrameKey, b: FrameKey): boolean {
  return a.fgFrame === b.fgFrame && a.width === b.width && a.generation === b.generation;
}

function same(state: State): Step {
  return { state, effects: [] };
}

function post(message: FromWebview): Effect {
  return { kind: 'post', message };
}

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
