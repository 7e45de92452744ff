/**
 * A moving placement as the alignment file keeps it, and the one formula that reads it: pure
 * arithmetic shared by the daemon (render and preview frames, through engine/result.ts placedAt)
 * and the preview's placement plot, so the box on a frame and the plotted curve cannot disagree.
 */

/** fg's frame corner in bg pixels (bars included) and its scale (bg pixels per fg pixel). */
export interface Placement {
  x: number;
  y: number;
  scale: number;
}

/**
 * Keyframes `[fg frame, x, y, scale]` in fg order, straight lines between them, within `tolerance`
 * bg px of the tracked window; `cuts`: keyframes (fg frames) that start a new run (no line from the
 * one before). An alignment file's `spatial.track` (schemas/*alignment.schema.json).
 */
export interface Track {
  tolerance: number;
  keys: number[][];
  cuts?: number[];
  /** Keyframes (fg frames) placed by placement pins (a project's anchors with x, y). */
  pinned?: number[];
}

/**
 * The placement at fg frame f (fractional) on the line between its keyframes, held before the
 * first and after the last; across a cut it jumps at the cut's frame.
 */
export function trackAt(track: Pick<Track, 'keys' | 'cuts'>, f: number): Placement {
  const keys = track.keys;
  if (!keys.length) throw new Error('a track without keyframes');
  const at = (k: number): Placement => ({ x: keys[k][1], y: keys[k][2], scale: keys[k][3] });
  if (f <= keys[0][0]) return at(0);
  const cuts = track.cuts ?? [];
  for (let k = 1; k < keys.length; k++) {
    const [fb] = keys[k];
    if (f > fb) continue;
    if (cuts.includes(fb)) return f >= fb ? at(k) : at(k - 1);
    const [fa] = keys[k - 1];
    const t = fb === fa ? 0 : (f - fa) / (fb - fa);
    const a = at(k - 1);
    const b = at(k);
    return { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t, scale: a.scale + (b.scale - a.scale) * t };
  }
  return at(keys.length - 1);
}
