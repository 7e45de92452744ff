/**
 * What the drift plot draws, as data: the kinds of mark with their legend entries, which of them a
 * view has, and the fitted drift the offset line shows. No DOM, so the rules are tested in Node.
 */
import { fitDrift, fittedOffsets, type DriftSegment } from '../../protocol/drift';
import type { AlignmentView } from '../../protocol/lsp';
import { offsets } from './state';

export type MarkKind = 'map' | 'fit' | 'frames' | 'confidence' | 'uncertain' | 'anchor' | 'cut' | 'cursor';

/** Every kind of mark the plot draws, in legend order: what its entry says, and what it means. */
export const MARKS: Record<MarkKind, { label: string; title: string }> = {
  map: { label: 'bg time', title: 'The bg time each fg frame is matched to (left axis)' },
  fit: { label: 'offset bg − fg (fitted)', title: 'The drift line fitted through the map, per stretch between cuts (right axis)' },
  frames: {
    label: 'offset per frame',
    title: 'Each fg frame’s own offset: bg frames are whole, so these step up to a bg frame around the fitted line',
  },
  confidence: { label: 'match confidence', title: 'Strip along the bottom: green where a frame matches well, red where it matches poorly' },
  uncertain: { label: 'uncertain', title: 'Spans of fg frames whose bg frame is uncertain (the engine reports them)' },
  anchor: { label: 'anchor', title: 'A pinned sync point from the project file' },
  cut: { label: 'cut', title: 'Where fg cuts to a later stretch of bg (edit engine)' },
  cursor: { label: 'this frame', title: 'The fg frame shown below' },
};

/** The kinds of mark `v` puts on the plot: the legend's entries. */
export function markKinds(v: AlignmentView): MarkKind[] {
  const has: Record<MarkKind, boolean> = {
    map: v.fgTimes.length > 0,
    fit: v.fgTimes.length > 0,
    frames: v.fgTimes.length > 0,
    confidence: v.confidence.length > 0,
    uncertain: (v.uncertain ?? []).length > 0,
    anchor: v.anchors.length > 0,
    cut: v.cuts.length > 0,
    cursor: v.fgTimes.length > 0,
  };
  return (Object.keys(MARKS) as MarkKind[]).filter((k) => has[k]);
}

export interface Fit {
  segments: DriftSegment[];
  /** Fitted offset per fg frame. */
  fitted: Float64Array;
  /** Each frame's own offset. */
  raw: number[];
}

const fits = new WeakMap<AlignmentView, Fit>();

/** The drift fit of a view, computed once per alignment. */
export function fitOf(v: AlignmentView): Fit {
  let f = fits.get(v);
  if (!f) {
    const segments = fitDrift({ fgTimes: v.fgTimes, bgTimeForFg: v.bgTimeForFg, bgFps: v.bg.fps, cuts: v.cuts, uncertain: v.uncertain });
    f = { segments, fitted: fittedOffsets(segments, v.fgTimes), raw: offsets(v) };
    fits.set(v, f);
  }
  return f;
}


/**
 * The drift in seconds of bg per minute of fg, when the map shows one: bg's frames are whole, so a
 * slope that moves the offset by less than a bg frame over the whole clip is not a measured drift.
 */
export function driftPerMinute(v: AlignmentView): number | null {
  const s = fitOf(v).segments[0];
  const n = v.fgTimes.length;
  if (!s || n < 2) return null;
  const frame = v.bg.fps > 0 ? 1 / v.bg.fps : 0;
  const moved = Math.abs(s.slope - 1) * (v.fgTimes[n - 1] - v.fgTimes[0]);
  return moved >= frame ? (s.slope - 1) * 60 : null;
}
