/**
 * The preview page's entry: wires the DOM, the plot and the frame canvas to the state reducer and
 * the extension's messages. Every decision lives in state.ts; this file only turns events into
 * actions and state changes into DOM updates.
 */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import type { AlignmentView } from '../../protocol/lsp';
import { trackAt } from '../../protocol/placement';
import { isToWebview } from '../../protocol/webview';
import { drawFrame, layout, loadPictures, SIDE_GAP, type Pictures } from './frames';
import { acquireHost } from './host';
import { driftPerMinute, fitOf, markKinds, MARKS } from './marks';
import { describePlacement, describeTrack, PLACEMENT_MARKS, placementMarks, trackOf } from './placement';
import { PlacementPlot } from './placementPlot';
import { DriftPlot } from './plot';
import { frameCount, initialState, MODES, place, previewWidth, readyMessage, reduce, type Action, type Mode, type State } from './state';
import { readPalette } from './theme';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`preview page: #${id} is missing`);
  return el as T;
};

const ui = {
  title: $('title'),
  stale: $('stale'),
  provisional: $('provisional'),
  summary: $('summary'),
  realign: $('realign'),
  reveal: $('reveal'),
  busy: $<HTMLElement & { value?: number; max: number; indeterminate: boolean }>('busy'),
  status: $('status'),
  main: document.querySelector('main') as HTMLElement,
  plot: $('plot'),
  hover: $('hover'),
  zoomIn: $('zoom-in'),
  zoomOut: $('zoom-out'),
  zoomFit: $('zoom-fit'),
  scrubber: $<HTMLInputElement>('scrubber'),
  position: $<HTMLOutputElement>('position'),
  pin: $<HTMLElement & { disabled: boolean }>('pin'),
  legend: $('legend'),
  placementSection: $('placement-section'),
  placementNow: $('placement-now'),
  placementPlot: $('placement-plot'),
  placementLegend: $('placement-legend'),
  mode: $('mode'),
  opacity: $<HTMLInputElement>('opacity'),
  opacityGroup: $('opacity-group'),
  frameBox: $('frame-box'),
  panes: $('panes'),
  paneFg: $('pane-fg'),
  paneBg: $('pane-bg'),
  canvas: $<HTMLCanvasElement>('frame'),
};

const host = acquireHost();
let state: State = initialState(host.getState());
let timer: ReturnType<typeof setTimeout> | undefined;
let palette = readPalette();
let pictures: Pictures | null = null;
let loading = 0;

const plot = new DriftPlot(ui.plot, palette, {
  scrub: (fgFrame) => dispatch({ type: 'scrub', fgFrame }),
  zoomTo: (span) => dispatch({ type: 'zoomTo', span }),
  zoomBy: (factor, at) => dispatch({ type: 'zoom', factor, at }),
  panBy: (by) => dispatch({ type: 'pan', by }),
  hover: (i) => (ui.hover.textContent = state.view && i !== null ? describe(state.view, i) : ''),
});

const placementPlot = new PlacementPlot(ui.placementPlot, palette, {
  scrub: (fgFrame) => dispatch({ type: 'scrub', fgFrame }),
  zoomTo: (span) => dispatch({ type: 'zoomTo', span }),
  zoomBy: (factor, at) => dispatch({ type: 'zoom', factor, at }),
  panBy: (by) => dispatch({ type: 'pan', by }),
});

function dispatch(a: Action): void {
  const prev = state;
  const step = reduce(prev, a, performance.now());
  state = step.state;
  for (const e of step.effects) {
    if (e.kind === 'post') host.postMessage(e.message);
    else {
      // One timer: every wake-up replaces the last (the reducer asks again for what it still needs).
      clearTimeout(timer);
      timer = setTimeout(() => dispatch({ type: 'flush' }), e.ms);
    }
  }
  const p = place(state);
  if (JSON.stringify(p) !== JSON.stringify(place(prev))) host.setState(p);
  render(prev, state);
}

function render(prev: State | null, s: State): void {
  const viewChanged = !prev || s.view !== prev.view;
  if (!prev || s.themeVersion !== prev.themeVersion) {
    palette = readPalette();
    plot.setPalette(palette);
    placementPlot.setPalette(palette);
    redrawFrame();
  }
  if (viewChanged) renderView(s);
  if (viewChanged || s.zoom !== prev.zoom) {
    plot.setZoom(s.zoom);
    placementPlot.setZoom(s.zoom);
  }
  if (viewChanged || s.fgFrame !== prev.fgFrame) renderPosition(s);
  if (!prev || s.frame !== prev.frame) void showFrame(s);
  if (!prev || s.mode !== prev.mode || s.opacity !== prev.opacity) {
    renderMode(s);
    redrawFrame();
  }
  if (!prev || s.busy !== prev.busy) {
    ui.busy.hidden = !s.busy;
    ui.busy.max = 1;
    ui.busy.indeterminate = s.busy?.progress === undefined;
    if (s.busy?.progress !== undefined) ui.busy.value = s.busy.progress;
  }
  if (viewChanged || s.error !== prev.error || s.reason !== prev.reason || s.busy !== prev.busy) {
    const stage = s.busy?.stage ? ` (${s.busy.stage})` : '';
    const busy = s.busy && (s.view?.provisional ? `Coarse map shown; refining${stage}… frames follow with the result.` : `${s.view ? 'Re-aligning' : 'Aligning'}${stage}…`);
    ui.status.textContent = s.error ?? (busy || (s.view?.provisional ? 'Coarse map: the result follows.' : s.view ? '' : (s.reason ?? 'Waiting for the alignment…')));
    ui.status.classList.toggle('error', !!s.error);
  }
}

function renderView(s: State): void {
  const v = s.view;
  ui.main.hidden = !v;
  ui.pin.disabled = !v || !!v.provisional;
  ui.scrubber.disabled = !v;
  if (!v) return;
  plot.update(v);
  renderLegend(v);
  renderPlacement(v);
  ui.title.textContent = basename(v.project);
  // A long name gives way to the buttons: the whole of it on hover.
  ui.title.title = decodeURIComponent(v.project);
  ui.stale.hidden = !v.stale;
  ui.provisional.hidden = !v.provisional;
  document.body.classList.toggle('provisional', !!v.provisional);
  ui.summary.textContent = summary(v);
  ui.scrubber.max = String(Math.max(0, frameCount(v) - 1));
  // The frame's room depends on bg's shape, known only now (after this render: measure dispatches).
  queueMicrotask(measure);
}

/** Position (or, tracked, the window's first and last), size, frame count, and the fitted offset (and drift, when there is one) of the first stretch. */
function summary(v: AlignmentView): string {
  const sp = v.spatial;
  const drift = driftPerMinute(v);
  const cuts = v.cuts.length ? ` · ${v.cuts.length} cut${v.cuts.length > 1 ? 's' : ''}` : '';
  const offset = fitOf(v).fitted[0] ?? 0;
  const track = trackOf(v);
  const where = track ? `fg moves: ${describeTrack(v, track)}` : `fg at x=${sp.x} y=${sp.y} scale ${sp.scale}`;
  return `${where} · ${frameCount(v)} fg frames · offset ${signed(offset)} s${drift === null ? '' : ` · drift ${signed(drift)} s/min`}${cuts}`;
}

/** One legend entry per kind of mark, in the plots' own colours (style.css). */
function legendItems<K extends string>(kinds: K[], marks: Record<K, { label: string; title: string }>): HTMLLIElement[] {
  return kinds.map((kind) => {
    const li = document.createElement('li');
    li.dataset.mark = kind;
    li.title = marks[kind].title;
    const sw = document.createElement('span');
    sw.className = `swatch ${kind}`;
    sw.setAttribute('aria-hidden', 'true');
    li.append(sw, marks[kind].label);
    return li;
  });
}

/** The entries for the kinds of mark the drift plot draws for `v`. */
function renderLegend(v: AlignmentView): void {
  ui.legend.replaceChildren(...legendItems(markKinds(v), MARKS));
}

/** The placement plot and its legend for a tracked alignment; nothing for a fixed one (the summary says where fg sits). */
function renderPlacement(v: AlignmentView): void {
  const track = trackOf(v);
  ui.placementSection.hidden = !track;
  document.body.classList.toggle('tracked', !!track);
  placementPlot.update(v, track);
  if (!track) return;
  ui.placementPlot.setAttribute('aria-label', `Placement over fg time: ${describeTrack(v, track)}`);
  ui.placementLegend.replaceChildren(...legendItems(placementMarks(v, track), PLACEMENT_MARKS));
}

function renderPosition(s: State): void {
  ui.scrubber.value = String(s.fgFrame);
  const text = s.view ? describe(s.view, s.fgFrame) : '';
  const track = trackOf(s.view);
  const placed = track ? describePlacement(trackAt(track, s.fgFrame)) : '';
  ui.position.textContent = text;
  // A moving window's place is part of where the scrubber is (the plot that shows it is a picture).
  ui.scrubber.setAttribute('aria-valuetext', placed ? `${text} · fg at ${placed}` : text);
  plot.setFrame(s.fgFrame);
  placementPlot.setFrame(s.fgFrame);
  ui.placementNow.textContent = placed && `fg ${s.fgFrame}: ${placed}`;
}

function renderMode(s: State): void {
  for (const r of ui.mode.querySelectorAll<HTMLInputElement>('input[type="radio"]')) r.checked = r.value === s.mode;
  ui.opacity.value = String(s.opacity);
  // Only onion skin mixes fg over bg; the slider would do nothing in the other modes.
  ui.opacityGroup.hidden = s.mode !== 'onion';
}

async function showFrame(s: State): Promise<void> {
  const token = ++loading;
  const f = s.frame;
  if (!f) {
    pictures = null;
    ui.canvas.width = ui.canvas.height = 0;
    return;
  }
  try {
    const p = await loadPictures(f);
    if (token !== loading) return;
    pictures = p;
    redrawFrame();
  } catch (e) {
    if (token === loading) ui.status.textContent = `Could not show fg frame ${f.fgFrame}: ${(e as Error).message}`;
  }
}

function redrawFrame(): void {
  if (!pictures) return;
  const c = ui.canvas;
  drawFrame(c, pictures, state.mode, state.opacity, palette);
  const f = pictures.frame;
  ui.paneFg.textContent = `fg frame ${f.fgFrame}`;
  ui.paneBg.textContent = `bg frame ${f.bgFrame}`;
  ui.panes.hidden = state.mode !== 'side';
  fitCanvas();
  c.setAttribute('aria-label', `fg frame ${f.fgFrame} over bg frame ${f.bgFrame}, ${modeName(state.mode)}`);
  // What is on the canvas, for tests and for anyone inspecting the page.
  c.dataset.fgFrame = String(f.fgFrame);
  c.dataset.mode = state.mode;
  c.dataset.opacity = String(state.opacity);
}

/**
 * Shows the canvas at its own pixels when they fit the frame box, else scaled down to fit both its
 * width and its height (the box is what the page leaves below the controls); side by side, each
 * pane's label sits over its pane.
 */
function fitCanvas(): void {
  const c = ui.canvas;
  if (!c.width || !c.height) return;
  const room = ui.frameBox.clientHeight - (ui.panes.hidden ? 0 : ui.panes.offsetHeight);
  const w = Math.max(1, Math.min(c.width / devicePixelRatio, ui.frameBox.clientWidth, (room * c.width) / c.height));
  c.style.width = `${w}px`;
  c.style.height = `${(w * c.height) / c.width}px`;
  if (!ui.panes.hidden && pictures) {
    const bg = { width: pictures.bg.naturalWidth, height: pictures.bg.naturalHeight };
    const L = layout('side', bg, { width: pictures.fg.naturalWidth, height: pictures.fg.naturalHeight });
    const k = w / L.width;
    ui.paneFg.style.width = `${(L.side?.width ?? 0) * k}px`;
    ui.paneFg.style.marginRight = `${SIDE_GAP * k}px`;
    ui.paneBg.style.width = `${bg.width * k}px`;
  }
  snapToPixels(c);
}

/**
 * The preview width to ask for: as wide as the box, unless the box is short, when bg's shape at the
 * box's height decides (16:9 until the alignment says).
 */
function measure(): void {
  const box = ui.frameBox;
  const v = state.view;
  const aspect = v && v.bg.height > 0 ? v.bg.width / v.bg.height : 16 / 9;
  const css = Math.min(box.clientWidth, box.clientHeight * aspect);
  dispatch({ type: 'resize', width: previewWidth(css, devicePixelRatio) });
  fitCanvas();
}

/**
 * Nudges the canvas onto whole device pixels: text rows above it can leave it at y = 442.56, and
 * the compositor would then resample every row of the picture.
 */
function snapToPixels(c: HTMLCanvasElement): void {
  c.style.marginTop = '0px';
  const top = c.getBoundingClientRect().top * devicePixelRatio;
  const off = (Math.ceil(top - 1e-3) - top) / devicePixelRatio;
  if (off > 1e-3) c.style.marginTop = `${off}px`;
}

function describe(v: AlignmentView, i: number): string {
  const fgT = v.fgTimes[i];
  const bgT = v.bgTimeForFg[i];
  const conf = v.confidence[i];
  return `fg ${i} (${fgT.toFixed(3)} s) → bg ${v.bgFrameForFg[i]} (${bgT.toFixed(3)} s) · offset ${signed(bgT - fgT)} s${conf === undefined ? '' : ` · confidence ${conf.toFixed(2)}`}`;
}

function modeName(m: Mode): string {
  return { composite: 'composite', side: 'side by side', onion: 'onion skin', difference: 'difference' }[m];
}

const signed = (x: number) => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(3);
const basename = (uri: string) => decodeURIComponent(uri.replace(/[?#].*$/, '').split('/').pop() || uri);

// ---------------------------------------------------------------------------------------------
// events

window.addEventListener('message', (e: MessageEvent) => {
  if (isToWebview(e.data)) dispatch({ type: 'message', message: e.data });
});

ui.scrubber.addEventListener('input', () => dispatch({ type: 'scrub', fgFrame: Number(ui.scrubber.value) }));
ui.scrubber.addEventListener('keydown', (e) => scrubKey(e));

function scrubKey(e: KeyboardEvent): boolean {
  if (e.altKey || e.ctrlKey || e.metaKey) return false;
  if (!['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'PageUp', 'PageDown', 'Home', 'End'].includes(e.key)) return false;
  // The reducer decides the step (a page is a second of fg), not the browser's range input.
  e.preventDefault();
  dispatch({ type: 'key', key: e.key });
  return true;
}

const zoomAtFrame = (factor: number) => {
  const v = state.view;
  if (v) dispatch({ type: 'zoom', factor, at: v.fgTimes[state.fgFrame] });
};

ui.plot.addEventListener('keydown', (e) => {
  const win = plot.window();
  if (e.shiftKey && (e.key === 'ArrowLeft' || e.key === 'ArrowRight') && win) {
    e.preventDefault();
    dispatch({ type: 'pan', by: (e.key === 'ArrowLeft' ? -0.1 : 0.1) * (win.max - win.min) });
  } else if (e.key === '+' || e.key === '=') {
    e.preventDefault();
    zoomAtFrame(0.5);
  } else if (e.key === '-' || e.key === '_') {
    e.preventDefault();
    zoomAtFrame(2);
  } else if (e.key === '0') {
    e.preventDefault();
    dispatch({ type: 'zoomTo', span: null });
  } else {
    scrubKey(e);
  }
});

ui.zoomIn.addEventListener('click', () => zoomAtFrame(0.5));
ui.zoomOut.addEventListener('click', () => zoomAtFrame(2));
ui.zoomFit.addEventListener('click', () => dispatch({ type: 'zoomTo', span: null }));
ui.pin.addEventListener('click', () => dispatch({ type: 'pin' }));
ui.realign.addEventListener('click', () => dispatch({ type: 'realign' }));
ui.reveal.addEventListener('click', () => dispatch({ type: 'reveal' }));
ui.mode.addEventListener('change', (e) => {
  const value = (e.target as { value?: string } | null)?.value;
  if (MODES.includes(value as Mode)) dispatch({ type: 'mode', mode: value as Mode });
});
ui.opacity.addEventListener('input', () => dispatch({ type: 'opacity', value: Number(ui.opacity.value) }));

new ResizeObserver(() => measure()).observe(ui.frameBox);

// VS Code restyles the page on a theme change (variables on <html>, a class on <body>): re-read
// the canvas colours then too, not only on the extension's `theme` message.
const themeChanged = () =>
  dispatch({ type: 'message', message: { type: 'theme', kind: document.body.classList.contains('vscode-light') ? 'light' : 'dark' } });
new MutationObserver(themeChanged).observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
new MutationObserver(themeChanged).observe(document.body, { attributes: true, attributeFilter: ['class'] });

render(null, state);
host.postMessage(readyMessage());
