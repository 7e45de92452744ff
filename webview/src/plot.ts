/**
 * The drift plot, on uPlot: bg time against fg time (a straight line when nothing drifts), the
 * offset bg − fg on a second axis as the fitted drift line (flat when both run at the same speed)
 * with each frame's own offset as faint dots around it, per-frame confidence as a strip, uncertain
 * spans shaded, cuts and anchors as marks, the current frame as a cursor line. Every kind of mark
 * has a legend entry (marks.ts).
 *
 * The state module owns the zoom window: uPlot's own drag-zoom and double-click reset are turned
 * into actions and the window comes back through `setZoom`, so there is one source of truth that
 * survives re-alignments and reloads.
 */
import uPlot from 'uplot';
import type { AlignmentView } from '../../protocol/lsp';
import { fitOf, MARKS } from './marks';
import { bounds, frameAtTime, type Span } from './state';
import { withAlpha, type Palette } from './theme';

export interface PlotHandlers {
  scrub(fgFrame: number): void;
  zoomTo(span: Span | null): void;
  zoomBy(factor: number, at: number): void;
  panBy(dt: number): void;
  hover(fgFrame: number | null): void;
}

/** The plot never gets shorter than this, whatever the panel (CSS sets the height within it). */
export const MIN_PLOT_HEIGHT = 100;
/** Pixels a click may wander and still be a click, not a drag-to-zoom. */
const CLICK_SLOP = 4;
/** Height of the confidence strip along the plot's bottom, in CSS pixels. */
const STRIP = 5;
/** Opacity of the per-frame offset dots and of the uncertain shading. */
const DOT_ALPHA = 0.45;
const UNCERTAIN_ALPHA = 0.22;

export function plotData(v: AlignmentView): uPlot.AlignedData {
  return [v.fgTimes, v.bgTimeForFg, Array.from(fitOf(v).fitted)];
}

/**
 * The lowest confidence of the frames under each pixel column of the plot area (NaN: no frame).
 * `xs` are the frames' x positions in pixels from the area's left edge; a frame owns the pixels
 * half-way to its neighbours, so zoomed in each frame is a band and zoomed out the worst wins.
 */
export function confidenceColumns(xs: ArrayLike<number>, conf: ArrayLike<number>, width: number): Float32Array {
  const cols = new Float32Array(Math.max(0, Math.ceil(width))).fill(NaN);
  const n = xs.length;
  for (let i = 0; i < n; i++) {
    const a = i > 0 ? (xs[i - 1] + xs[i]) / 2 : xs[i] - 0.5;
    const b = i < n - 1 ? (xs[i] + xs[i + 1]) / 2 : xs[i] + 0.5;
    if (b < 0 || a >= cols.length) continue;
    const from = Math.max(0, Math.floor(a));
    const to = Math.min(cols.length - 1, Math.max(from, Math.ceil(b) - 1));
    const c = conf[i];
    for (let k = from; k <= to; k++) if (!(cols[k] <= c)) cols[k] = c;
  }
  return cols;
}

/**
 * The offset axis spans at least half a second, so that the half-frame steps of the per-frame
 * dots stay a thin band around the fitted line instead of being blown up across the plot.
 */
export function offsetRange(lo: number | null, hi: number | null): uPlot.Range.MinMax {
  if (lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi)) return [-0.25, 0.25];
  const mid = (lo + hi) / 2;
  const half = Math.max(0.25, ((hi - lo) / 2) * 1.1);
  return [mid - half, mid + half];
}

/** The lowest and highest offset, fitted or per frame, of the frames inside `span`. */
export function offsetExtent(v: AlignmentView, span: Span): [number | null, number | null] {
  const f = fitOf(v);
  const n = v.fgTimes.length;
  if (!n) return [null, null];
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = Math.max(0, frameAtTime(v, span.min) - 1); i < n && i <= frameAtTime(v, span.max) + 1; i++) {
    for (const o of [f.raw[i], f.fitted[i]]) {
      if (!Number.isFinite(o)) continue;
      if (o < lo) lo = o;
      if (o > hi) hi = o;
    }
  }
  return lo <= hi ? [lo, hi] : [null, null];
}

/** The pointer's x in CSS pixels from the plot area's left edge (offsetX would follow child targets). */
function localX(over: HTMLElement, e: MouseEvent): number {
  return e.clientX - over.getBoundingClientRect().left;
}

/** The x window a plot shows. */
export function shownWindow(u: uPlot | null): Span | null {
  const s = u?.scales.x;
  return s && s.min !== undefined && s.max !== undefined ? { min: s.min, max: s.max } : null;
}

/**
 * The gestures every plot over fg time shares: a click goes to the frame under it, the wheel zooms
 * about the pointer (or pans, sideways or with shift), a double-click shows everything.
 */
export function bindTimeAxis(u: uPlot, view: () => AlignmentView | null, on: Omit<PlotHandlers, 'hover'>): void {
  const over = u.over;
  let downX = NaN;
  over.addEventListener('mousedown', (e) => (downX = e.clientX));
  over.addEventListener('click', (e) => {
    const v = view();
    if (!v || Math.abs(e.clientX - downX) > CLICK_SLOP) return;
    on.scrub(frameAtTime(v, u.posToVal(localX(over, e), 'x')));
  });
  over.addEventListener('dblclick', () => on.zoomTo(null));
  over.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? over.clientHeight : 1;
      const win = shownWindow(u);
      if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        const d = (e.shiftKey && !e.deltaX ? e.deltaY : e.deltaX) * unit;
        if (win) on.panBy((d / Math.max(1, over.clientWidth)) * (win.max - win.min));
      } else {
        on.zoomBy(Math.exp(e.deltaY * unit * 0.0015), u.posToVal(localX(over, e), 'x'));
      }
    },
    { passive: false },
  );
}

/** A drag across a plot (uPlot's selection, a `setSelect` hook) zooms to the stretch dragged over. */
export function zoomToSelection(u: uPlot, on: Pick<PlotHandlers, 'zoomTo'>): void {
  const s = u.select;
  if (s.width > CLICK_SLOP) on.zoomTo({ min: u.posToVal(s.left, 'x'), max: u.posToVal(s.left + s.width, 'x') });
  if (s.width > 0) u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
}

export class DriftPlot {
  private u: uPlot | null = null;
  private view: AlignmentView | null = null;
  private zoom: Span | null = null;
  private fgFrame = 0;
  private readonly resize = new ResizeObserver(() => this.fit());

  constructor(
    private readonly el: HTMLElement,
    private palette: Palette,
    private readonly on: PlotHandlers,
  ) {
    this.resize.observe(el);
  }

  update(view: AlignmentView): void {
    this.view = view;
    if (!this.u) this.u = this.create(view);
    else this.u.setData(plotData(view));
    this.applyZoom();
  }

  setZoom(zoom: Span | null): void {
    this.zoom = zoom;
    this.applyZoom();
  }

  setFrame(fgFrame: number): void {
    this.fgFrame = fgFrame;
    this.u?.redraw(false);
  }

  setPalette(p: Palette): void {
    this.palette = p;
    // Axes are sized with the font: rebuild rather than redraw.
    if (this.u && this.view) {
      this.u.destroy();
      this.u = this.create(this.view);
      this.applyZoom();
    }
  }

  /** The plot area's width in CSS pixels (for turning wheel deltas into time). */
  areaWidth(): number {
    return this.u ? this.u.bbox.width / devicePixelRatio : this.el.clientWidth;
  }

  /** The x window currently shown. */
  window(): Span | null {
    return shownWindow(this.u);
  }

  destroy(): void {
    this.resize.disconnect();
    this.u?.destroy();
    this.u = null;
  }

  private applyZoom(): void {
    if (!this.u || !this.view) return;
    const span = this.span();
    if (span) this.u.setScale('x', span);
  }

  /** The x window to show: the zoom, or everything. */
  private span(): Span | null {
    if (!this.view) return null;
    const b = this.zoom ?? bounds(this.view);
    // A single frame has no width; give the scale some so uPlot can draw it.
    return b.max > b.min ? b : { min: b.min - 0.5, max: b.max + 0.5 };
  }

  /** The element's size: its width, and the height CSS gives it (it follows the panel's height). */
  private size(): { width: number; height: number } {
    return { width: Math.max(120, this.el.clientWidth), height: Math.max(MIN_PLOT_HEIGHT, this.el.clientHeight) };
  }

  private fit(): void {
    const { width, height } = this.size();
    if (this.u && (this.u.width !== width || this.u.height !== height)) this.u.setSize({ width, height });
  }

  private create(view: AlignmentView): uPlot {
    const p = () => this.palette;
    const axis = (label: string, scale: string, extra: Partial<uPlot.Axis> = {}): uPlot.Axis => ({
      label,
      scale,
      stroke: () => p().foreground,
      font: p().font,
      labelFont: p().font,
      grid: { stroke: () => p().grid, width: 1 },
      ticks: { stroke: () => p().grid, width: 1 },
      ...extra,
    });
    const opts: uPlot.Options = {
      ...this.size(),
      legend: { show: false },
      scales: {
        x: { time: false },
        y: {},
        // The per-frame dots count too, so that none is cut off; over the visible frames only.
        off: { range: (u, lo, hi) => (this.view && this.span() ? offsetRange(...offsetExtent(this.view, this.span()!)) : offsetRange(lo, hi)) },
      },
      series: [
        { label: 'fg time (s)' },
        { label: MARKS.map.label, scale: 'y', stroke: () => p().map, width: 2, points: { show: false } },
        { label: MARKS.fit.label, scale: 'off', stroke: () => p().offset, width: 2, points: { show: false } },
      ],
      // Axes no larger than their text, so a narrow or short panel keeps room for the data.
      axes: [
        axis('fg time (s)', 'x', { size: 30, labelSize: 16, labelGap: 0 }),
        axis('bg time (s)', 'y', { labelSize: 18 }),
        axis('offset (s)', 'off', { side: 1, labelSize: 18, grid: { show: false }, stroke: () => p().offset }),
      ],
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { show: false },
        // Double-click shows everything, through the state like every other zoom.
        bind: { dblclick: () => null },
      },
      hooks: {
        drawAxes: [(u) => this.drawUnder(u)],
        draw: [(u) => this.drawMarks(u)],
        setSelect: [(u) => zoomToSelection(u, this.on)],
        setCursor: [(u) => this.on.hover(u.cursor.idx ?? null)],
        ready: [(u) => bindTimeAxis(u, () => this.view, this.on)],
      },
    };
    return new uPlot(opts, plotData(view), this.el);
  }

  /** Under the lines: uncertain spans, the confidence strip, and each frame's own offset. */
  private drawUnder(u: uPlot): void {
    const v = this.view;
    if (!v || !v.fgTimes.length) return;
    const { ctx, bbox } = u;
    const dpr = devicePixelRatio;
    const p = this.palette;
    ctx.save();
    ctx.beginPath();
    ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
    ctx.clip();

    // A frame owns the time half-way to its neighbours, so a span of one frame still shows.
    const ts = v.fgTimes;
    const half = (i: number) => {
      const a = Math.max(0, i - 1);
      const b = Math.min(ts.length - 1, i + 1);
      return b > a ? (ts[b] - ts[a]) / (b - a) / 2 : 0.5;
    };
    const strip = Math.round(STRIP * dpr);
    for (const [a, b] of v.uncertain ?? []) {
      const first = Math.max(0, a);
      const last = Math.min(ts.length - 1, b);
      if (last < first) continue;
      const x0 = u.valToPos(ts[first] - half(first), 'x', true);
      const x1 = u.valToPos(ts[last] + half(last), 'x', true);
      ctx.fillStyle = withAlpha(ctx, p.uncertain, UNCERTAIN_ALPHA);
      ctx.fillRect(x0, bbox.top, Math.max(dpr, x1 - x0), bbox.height - strip);
      // Its edges drawn, so two spans side by side stay two.
      ctx.fillStyle = withAlpha(ctx, p.uncertain, 0.7);
      ctx.fillRect(x0, bbox.top, dpr, bbox.height - strip);
      ctx.fillRect(x1 - dpr, bbox.top, dpr, bbox.height - strip);
    }

    if (v.confidence.length) {
      const xs = v.fgTimes.map((t) => u.valToPos(t, 'x', true) - bbox.left);
      const cols = confidenceColumns(xs, v.confidence, bbox.width);
      // Runs of equal (quantised) confidence are one rectangle each.
      let k = 0;
      while (k < cols.length) {
        const c = cols[k];
        let e = k + 1;
        const q = Number.isNaN(c) ? -1 : Math.round(c * 20);
        while (e < cols.length && (Number.isNaN(cols[e]) ? -1 : Math.round(cols[e] * 20)) === q) e++;
        if (q >= 0) {
          const conf = q / 20;
          const x = bbox.left + k;
          ctx.fillStyle = withAlpha(ctx, p.good, conf);
          ctx.fillRect(x, bbox.top + bbox.height - strip, e - k, strip);
          ctx.fillStyle = withAlpha(ctx, p.cut, 1 - conf);
          ctx.fillRect(x, bbox.top + bbox.height - strip, e - k, strip);
        }
        k = e;
      }
    }

    // Each frame's own offset as a dot; where frames crowd, one bar per pixel column from the
    // lowest to the highest. One path, filled once: overlaps do not add up to a solid line.
    const { raw } = fitOf(v);
    const d = Math.max(2, Math.round(2 * dpr));
    const win = this.window() ?? bounds(v);
    const i0 = Math.max(0, frameAtTime(v, win.min) - 1);
    const i1 = Math.min(raw.length - 1, frameAtTime(v, win.max) + 1);
    const cols = Math.ceil(bbox.width) + 2;
    const lo = new Float32Array(cols).fill(Infinity);
    const hi = new Float32Array(cols).fill(-Infinity);
    for (let i = i0; i <= i1; i++) {
      const c = Math.round(u.valToPos(ts[i], 'x', true) - bbox.left) + 1;
      if (c < 0 || c >= cols || !Number.isFinite(raw[i])) continue;
      const y = u.valToPos(raw[i], 'off', true);
      if (y < lo[c]) lo[c] = y;
      if (y > hi[c]) hi[c] = y;
    }
    ctx.beginPath();
    for (let c = 0; c < cols; c++) {
      if (lo[c] <= hi[c]) ctx.rect(Math.round(bbox.left + c - 1 - d / 2), Math.round(lo[c] - d / 2), d, Math.round(hi[c] - lo[c]) + d);
    }
    ctx.fillStyle = withAlpha(ctx, p.offset, DOT_ALPHA);
    ctx.fill();
    ctx.restore();
  }

  /** Over the lines: cuts, anchors, and the current frame. */
  private drawMarks(u: uPlot): void {
    const v = this.view;
    if (!v) return;
    const { ctx, bbox } = u;
    const dpr = devicePixelRatio;
    const p = this.palette;
    const inside = (x: number) => x >= bbox.left - 1 && x <= bbox.left + bbox.width + 1;
    const vline = (x: number) => {
      ctx.beginPath();
      ctx.moveTo(Math.round(x) + 0.5, bbox.top);
      ctx.lineTo(Math.round(x) + 0.5, bbox.top + bbox.height);
      ctx.stroke();
    };
    ctx.save();
    ctx.beginPath();
    ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
    ctx.clip();
    ctx.lineWidth = dpr;

    ctx.strokeStyle = p.cut;
    ctx.setLineDash([4 * dpr, 3 * dpr]);
    for (const c of v.cuts) {
      const t = v.fgTimes[c];
      if (t === undefined) continue;
      const x = u.valToPos(t, 'x', true);
      if (inside(x)) vline(x);
    }
    ctx.setLineDash([]);

    // Anchors are in seconds (fg, bg), as the project file and the engine take them.
    ctx.strokeStyle = withAlpha(ctx, p.anchor, 0.6);
    ctx.fillStyle = p.anchor;
    const r = 5 * dpr;
    for (const a of v.anchors) {
      const x = u.valToPos(a.fg, 'x', true);
      if (!inside(x)) continue;
      vline(x);
      const y = u.valToPos(a.bg, 'y', true);
      ctx.beginPath();
      ctx.moveTo(x, y - r);
      ctx.lineTo(x + r, y);
      ctx.lineTo(x, y + r);
      ctx.lineTo(x - r, y);
      ctx.closePath();
      ctx.fill();
    }

    const f = Math.min(this.fgFrame, v.fgTimes.length - 1);
    if (f >= 0) {
      const x = u.valToPos(v.fgTimes[f], 'x', true);
      if (inside(x)) {
        ctx.strokeStyle = withAlpha(ctx, p.foreground, 0.7);
        vline(x);
        ctx.fillStyle = p.foreground;
        ctx.beginPath();
        ctx.arc(x, u.valToPos(v.bgTimeForFg[f], 'y', true), 3.5 * dpr, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    ctx.restore();
  }
}
