/**
 * The preview page's entry: wires the DOM, the plot and the frame canvas to the state reducer and
 * the extension's messages. Every decision lives in state.ts; this file only turns events into
 * actions and state changes into DOM updates.
 */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-radio/index.js';
import '@vscode-elements/elements/dist/vscode-radio-group/index.js';
import type { AlignmentView } from '../../protocol/lsp';
import { isToWebview } from '../../protocol/webview';
import { drawFrame, loadPictures, type Pictures } from './frames';
import { acquireHost } from './host';
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
  mode: $('mode'),
  opacity: $<HTMLInputElement>('opacity'),
  frameBox: $('frame-box'),
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
  hover: (i) => (ui.hover.textContent = state.view && i !== null ? describe(state.view, i) : '\u00a0'),
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
    redrawFrame();
  }
  if (viewChanged) renderView(s);
  if (viewChanged || s.zoom !== prev.zoom) plot.setZoom(s.zoom);
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
    const busy = s.busy && `${s.view ? 'Re-aligning' : 'Aligning'}${s.busy.stage ? ` (${s.busy.stage})` : ''}…`;
    ui.status.textContent = s.error ?? (busy || (s.view ? '' : (s.reason ?? 'Waiting for the alignment…')));
    ui.status.classList.toggle('error', !!s.error);
  }
}

function renderView(s: State): void {
  const v = s.view;
  ui.main.hidden = !v;
  ui.pin.disabled = !v;
  ui.scrubber.disabled = !v;
  if (!v) return;
  plot.update(v);
  ui.title.textContent = basename(v.project);
  ui.stale.hidden = !v.stale;
  const sp = v.spatial;
  ui.summary.textContent = `fg at x=${sp.x} y=${sp.y} scale ${sp.scale} · ${frameCount(v)} fg frames · offset ${signed(v.bgTimeForFg[0] - v.fgTimes[0])} s`;
  ui.scrubber.max = String(Math.max(0, frameCount(v) - 1));
}

function renderPosition(s: State): void {
  ui.scrubber.value = String(s.fgFrame);
  const text = s.view ? describe(s.view, s.fgFrame) : '';
  ui.position.textContent = text;
  ui.scrubber.setAttribute('aria-valuetext', text);
  plot.setFrame(s.fgFrame);
}

function renderMode(s: State): void {
  for (const r of ui.mode.querySelectorAll<HTMLElement & { checked: boolean; value: string }>('vscode-radio')) r.checked = r.value === s.mode;
  ui.opacity.value = String(s.opacity);
  ui.opacity.disabled = s.mode !== 'onion';
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
  // Image pixels to CSS pixels; CSS max-width shrinks it further in a narrow panel.
  c.style.width = `${c.width / devicePixelRatio}px`;
  snapToPixels(c);
  const f = pictures.frame;
  c.setAttribute('aria-label', `fg frame ${f.fgFrame} over bg frame ${f.bgFrame}, ${modeName(state.mode)}`);
  // What is on the canvas, for tests and for anyone inspecting the page.
  c.dataset.fgFrame = String(f.fgFrame);
  c.dataset.mode = state.mode;
  c.dataset.opacity = String(state.opacity);
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

new ResizeObserver(() => dispatch({ type: 'resize', width: previewWidth(ui.frameBox.clientWidth, devicePixelRatio) })).observe(ui.frameBox);

// VS Code restyles the page on a theme change (variables on <html>, a class on <body>): re-read
// the canvas colours then too, not only on the extension's `theme` message.
const themeChanged = () =>
  dispatch({ type: 'message', message: { type: 'theme', kind: document.body.classList.contains('vscode-light') ? 'light' : 'dark' } });
new MutationObserver(themeChanged).observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
new MutationObserver(themeChanged).observe(document.body, { attributes: true, attributeFilter: ['class'] });

render(null, state);
host.postMessage(readyMessage());
