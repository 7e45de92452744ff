/**
 * What the placement plot draws, as data: a tracked alignment's x, y and scale over fg time as the
 * polyline through its keyframes (exact: the placement is straight between them), broken at cuts,
 * and the legend entries. No DOM, so the rules are tested in Node.
 */
import type { AlignmentView } from '../../protocol/lsp';
import { trackAt, type Placement, type Track } from '../../protocol/placement';

export type PlacementMark = 'x' | 'y' | 'scale' | 'keyframe' | 'cut' | 'cursor';

/** Every kind of mark the placement plot draws, in legend order (labels short: a narrow panel keeps them on one row). */
export const PLACEMENT_MARKS: Record<PlacementMark, { label: string; title: string }> = {
  x: { label: 'x', title: 'fg’s frame corner across bg, bg pixels (left axis)' },
  y: { label: 'y', title: 'fg’s frame corner down bg, bg pixels (left axis)' },
  scale: { label: 'scale', title: 'bg pixels per fg pixel (right axis)' },
  keyframe: { label: 'keyframe', title: 'The alignment keeps the placement at these fg frames; it is a straight line between them' },
  cut: { label: 'cut', title: 'The placement jumps here: no line from the keyframe before' },
  cursor: { label: 'this frame', title: 'The fg frame shown below, and its placement' },
};

/** The track of a tracked view, or null for a fixed placement (the panel then shows no placement plot). */
export function trackOf(v: AlignmentView | null): Track | null {
  const sp = v?.spatial;
  return sp?.placement === 'tracked' && sp.track?.keys.length ? sp.track : null;
}

/** The keyframes inside the map (a key past fg's last frame cannot be shown), in order. */
export function keysIn(v: AlignmentView, track: Track): number[][] {
  const n = v.fgTimes.length;
  return track.keys.filter((k) => k[0] >= 0 && k[0] < n);
}

/** The fg frames where the track starts a new run, inside the map. */
export function cutsIn(v: AlignmentView, track: Track): number[] {
  const n = v.fgTimes.length;
  return (track.cuts ?? []).filter((f) => f > 0 && f < n);
}

export interface PlacementSeries {
  /** fg times (s), ascending. */
  t: number[];
  /** null: a break (a cut), no line across it. */
  x: (number | null)[];
  y: (number | null)[];
  scale: (number | null)[];
}

/**
 * x, y and scale at fg's first and last frame, at each keyframe and at the frame before each cut
 * (where the held run ends), with a break between that frame and the cut: the placement is
 * straight between these points, so the lines drawn through them are the placement at every frame.
 */
export function placementSeries(v: AlignmentView, track: Track): PlacementSeries {
  const n = v.fgTimes.length;
  const out: PlacementSeries = { t: [], x: [], y: [], scale: [] };
  if (!n) return out;
  const cuts = new Set(cutsIn(v, track));
  const frames = new Set<number>([0, n - 1, ...keysIn(v, track).map((k) => k[0])]);
  for (const c of cuts) frames.add(c - 1);
  const push = (t: number, p: Placement | null) => {
    out.t.push(t);
    out.x.push(p && p.x);
    out.y.push(p && p.y);
    out.scale.push(p && p.scale);
  };
  for (const f of [...frames].filter((f) => Number.isInteger(f) && f >= 0 && f < n).sort((a, b) => a - b)) {
    if (cuts.has(f) && out.t.length) push((v.fgTimes[f - 1] + v.fgTimes[f]) / 2, null);
    push(v.fgTimes[f], trackAt(track, f));
  }
  return out;
}

/** The kinds of mark a tracked view's placement plot has: its legend's entries. */
export function placementMarks(v: AlignmentView, track: Track): PlacementMark[] {
  const has = (k: PlacementMark) => k !== 'cut' || cutsIn(v, track).length > 0;
  return (Object.keys(PLACEMENT_MARKS) as PlacementMark[]).filter(has);
}

const px = (n: number) => (Math.round(n * 10) / 10).toString();
const sc = (n: number) => n.toFixed(3);

/** "x 168.9 y 80 scale 0.978": one placement, as the readout and the labels say it. */
export function describePlacement(p: Placement): string {
  return `x ${px(p.x)} y ${px(p.y)} scale ${sc(p.scale)}`;
}

/** The track in one line: how many keyframes, and each of x, y, scale from fg's first frame to its last. */
export function describeTrack(v: AlignmentView, track: Track): string {
  const n = v.fgTimes.length;
  const a = trackAt(track, 0);
  const b = trackAt(track, Math.max(0, n - 1));
  const keys = keysIn(v, track).length;
  const cuts = cutsIn(v, track).length;
  const span = (from: string, to: string) => (from === to ? from : `${from} → ${to}`);
  return (
    `${keys} keyframe${keys === 1 ? '' : 's'}${cuts ? `, ${cuts} cut${cuts === 1 ? '' : 's'}` : ''}: ` +
    `x ${span(px(a.x), px(b.x))}, y ${span(px(a.y), px(b.y))} bg px, scale ${span(sc(a.scale), sc(b.scale))}`
  );
}
