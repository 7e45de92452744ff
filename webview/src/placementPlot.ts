/**
 * The placement plot, below the drift plot for a tracked alignment: fg's frame corner x and y (bg
 * pixels, left axis) and its scale (right axis) over fg time, as straight lines between the
 * keyframes the alignment keeps (placement.ts), each keyframe a square on its line, the current
 * frame a cursor line with its placement as dots. It shows the drift plot's time window (one zoom,
 * owned by the state) and takes the same gestures; a fixed placement has no such plot.
 */
import uPlot from 'uplot';
import type { AlignmentView } from '../../protocol/lsp';
import { trackAt, type Track } from '../../protocol/placement';
import { cutsIn, keysIn, PLACEMENT_MARKS, placementSeries } from './placement';
import { bindTimeAxis, MIN_PLOT_HEIGHT, shownWindow, zoomToSelection, type PlotHandlers } from './plot';
import { bounds, type Span } from './state';
import { withAlpha, type Palette } from './theme';

/** The placement plot is shorter than the drift plot: it must leave the frame its room. */
export const MIN_PLACEMENT_HEIGHT = 64;
/** The axes never zoom in closer than this: a steady window is a flat line, not noise blown up. */
const MIN_PX_SPAN = 4;
const MIN_SCALE_SPAN = 0.02;

/** A range at least `min` wide around [lo, hi], padded a little so lines do not run along the edges. */
export function paddedRange(lo: number | null, hi: number | null, min: number): uPlot.Range.MinMax {
  if (lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi)) return [0, min];
  const mid = (lo + hi) / 2;
  const half = Math.max(min / 2, ((hi - lo) / 2) * 1.15);
  return [mid - half, mid + half];
}

export class PlacementPlot {
  private u: uPlot | null = null;
  private view: AlignmentView | null = null;
  private track: Track | null = null;
  private zoom: Span | null = null;
  private fgFrame = 0;
  private readonly resize = new ResizeObserver(() => this.fit());

  constructor(
    private readonly el: HTMLElement,
    private palette: Palette,
    private readonly on: Omit<PlotHandlers, 'hover'>,
  ) {
    this.resize.observe(el);
  }

  /** Shows `track` of `view`, or nothing (null: a fixed placement). */
  update(view: AlignmentView, track: Track | null): void {
    this.view = view;
    this.track = track;
    // What is drawn, for tests and for anyone inspecting the page (as the frame canvas does).
    this.el.dataset.keyframes = String(track ? keysIn(view, track).length : 0);
    if (!track) {
      this.u?.destroy();
      this.u = null;
      return;
    }
    if (!this.u) this.u = this.create(view, track);
    else this.u.setData(this.data(view, track));
    this.applyZoom();
  }

  setZoom(zoom: Span | null): void {
    this.zoom = zoom;
    this.applyZoom();
  }

  setFrame(fgFrame: number): void {
    this.fgFrame = fgFrame;
    this.el.dataset.fgFrame = String(fgFrame);
    this.u?.redraw(false);
  }

  setPalette(p: Palette): void {
    this.palette = p;
    if (this.u && this.view && this.track) {
      this.u.destroy();
      this.u = this.create(this.view, this.track);
      this.applyZoom();
    }
  }

  private data(view: AlignmentView, track: Track): uPlot.AlignedData {
    const s = placementSeries(view, track);
    return [s.t, s.x, s.y, s.scale] as uPlot.AlignedData;
  }

  private applyZoom(): void {
    if (!this.u || !this.view) return;
    const b = this.zoom ?? bounds(this.view);
    this.u.setScale('x', b.max > b.min ? b : { min: b.min - 0.5, max: b.max + 0.5 });
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(120, this.el.clientWidth), height: Math.max(MIN_PLACEMENT_HEIGHT, Math.min(this.el.clientHeight, 4 * MIN_PLOT_HEIGHT)) };
  }

  private fit(): void {
    const { width, height } = this.size();
    if (this.u && (this.u.width !== width || this.u.height !== height)) this.u.setSize({ width, height });
  }

  private create(view: AlignmentView, track: Track): uPlot {
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
        px: { range: (_u, lo, hi) => paddedRange(lo, hi, MIN_PX_SPAN) },
        scale: { range: (_u, lo, hi) => paddedRange(lo, hi, MIN_SCALE_SPAN) },
      },
      series: [
        { label: 'fg time (s)' },
        { label: PLACEMENT_MARKS.x.label, scale: 'px', stroke: () => p().placeX, width: 2, points: { show: false } },
        { label: PLACEMENT_MARKS.y.label, scale: 'px', stroke: () => p().placeY, width: 2, points: { show: false } },
        { label: PLACEMENT_MARKS.scale.label, scale: 'scale', stroke: () => p().placeScale, width: 2, points: { show: false } },
      ],
      axes: [
        // The drift plot right above names the time axis; its ticks line up with these.
        axis('', 'x', { size: 24, labelSize: 0, labelGap: 0 }),
        axis('bg px', 'px', { labelSize: 18 }),
        axis('scale', 'scale', { side: 1, labelSize: 18, grid: { show: false }, stroke: () => p().placeScale }),
      ],
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false }, bind: { dblclick: () => null } },
      hooks: {
        draw: [(u) => this.drawMarks(u)],
        setSelect: [(u) => zoomToSelection(u, this.on)],
        ready: [(u) => bindTimeAxis(u, () => this.view, this.on)],
      },
    };
    return new uPlot(opts, this.data(view, track), this.el);
  }

  /** Over the lines: cuts, each keyframe as a square on every line, and the current frame. */
  private drawMarks(u: uPlot): void {
    const v = this.view;
    const track = this.track;
    if (!v || !track || !v.fgTimes.length) return;
    const { ctx, bbox } = u;
    const dpr = devicePixelRatio;
    const p = this.palette;
    const win = shownWindow(u) ?? bounds(v);
    const inside = (x: number) => x >= bbox.left - 1 && x <= bbox.left + bbox.width + 1;
    const vline = (x: number) => {
      ctx.beginPath();
      ctx.moveTo(Math.round(x) + 0.5, bbox.top);
      ctx.lineTo(Math.round(x) + 0.5, bbox.top + bbox.height);
      ctx.stroke();
    };
    const lines = [
      { key: 1, scale: 'px', colour: p.placeX },
      { key: 2, scale: 'px', colour: p.placeY },
      { key: 3, scale: 'scale', colour: p.placeScale },
    ];
    ctx.save();
    ctx.beginPath();
    ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
    ctx.clip();
    ctx.lineWidth = dpr;

    ctx.strokeStyle = p.cut;
    ctx.setLineDash([4 * dpr, 3 * dpr]);
    for (const c of cutsIn(v, track)) {
      const x = u.valToPos(v.fgTimes[c], 'x', true);
      if (inside(x)) vline(x);
    }
    ctx.setLineDash([]);

    // A keyframe is a square outlined in its line's colour, hollow (the background inside), so the
    // line's own pixels stay readable where keyframes crowd.
    const half = Math.round(3 * dpr);
    ctx.lineWidth = Math.max(1, Math.round(1.5 * dpr));
    for (const k of keysIn(v, track)) {
      const t = v.fgTimes[k[0]];
      if (t < win.min || t > win.max) continue;
      const x = Math.round(u.valToPos(t, 'x', true));
      for (const l of lines) {
        const y = Math.round(u.valToPos(k[l.key], l.scale, true));
        ctx.fillStyle = p.background;
        ctx.fillRect(x - half, y - half, 2 * half, 2 * half);
        ctx.strokeStyle = l.colour;
        ctx.strokeRect(x - half, y - half, 2 * half, 2 * half);
      }
    }

    const f = Math.min(this.fgFrame, v.fgTimes.length - 1);
    if (f >= 0) {
      const x = u.valToPos(v.fgTimes[f], 'x', true);
      if (inside(x)) {
        ctx.lineWidth = dpr;
        ctx.strokeStyle = withAlpha(ctx, p.foreground, 0.7);
        vline(x);
        const at = trackAt(track, f);
        ctx.fillStyle = p.foreground;
        for (const [value, scale] of [
          [at.x, 'px'],
          [at.y, 'px'],
          [at.scale, 'scale'],
        ] as const) {
          ctx.beginPath();
          ctx.arc(x, u.valToPos(value, scale, true), 3 * dpr, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
    }
    ctx.restore();
  }
}
