/**
 * A moving placement as piecewise-linear keyframes: fg's content corner (bg pixels) and scale at
 * some fg frames, straight lines between them, a break (no line) across a cut. Like the frame map's
 * pieces, a keyframe is kept only where a straight line would miss the samples by more than a
 * tolerance, so a steady pan is two keyframes and the alignment file stays small and diff-friendly.
 */

export interface Keyframe {
  /** fg frame. */
  f: number;
  x: number;
  y: number;
  scale: number;
  /** Starts a new run: no line from the keyframe before (a cut, or the window lost and found again). */
  cut?: boolean;
}

export interface Sample {
  f: number;
  x: number;
  y: number;
  scale: number;
}

/** How far two placements of a w×h fg put its corners apart, at most (bg px). */
function miss(a: Sample, b: Sample, w: number, h: number): number {
  const ds = a.scale - b.scale;
  const dx = a.x - b.x;
  const dy = a.y - b.y;
  return Math.max(Math.abs(dx), Math.abs(dy), Math.abs(dx + ds * w), Math.abs(dy + ds * h));
}

/** The placement at (fractional) fg frame f between two keyframes. */
function lerp(a: Sample, b: Sample, f: number): Sample {
  const t = b.f === a.f ? 0 : (f - a.f) / (b.f - a.f);
  return { f, x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t, scale: a.scale + (b.scale - a.scale) * t };
}

/**
 * Runs of samples (each run in fg order, runs apart at cuts) smoothed and thinned to keyframes
 * within `tolerance` bg pixels of the smoothed samples (w×h: fg's content size, for scale).
 */
export function keyframesOf(runs: Sample[][], w: number, h: number, tolerance = 0.5): Keyframe[] {
  const out: Keyframe[] = [];
  for (const run of runs) {
    if (!run.length) continue;
    const s = smooth(run);
    const keep = new Uint8Array(s.length);
    keep[0] = keep[s.length - 1] = 1;
    // Douglas-Peucker on the samples: split where the line between kept ends misses most.
    const stack: [number, number][] = [[0, s.length - 1]];
    while (stack.length) {
      const [a, b] = stack.pop()!;
      let worst = -1;
      let at = -1;
      for (let k = a + 1; k < b; k++) {
        const d = miss(s[k], lerp(s[a], s[b], s[k].f), w, h);
        if (d > worst) {
          worst = d;
          at = k;
        }
      }
      if (at >= 0 && worst > tolerance) {
        keep[at] = 1;
        stack.push([a, at], [at, b]);
      }
    }
    s.forEach((p, k) => {
      if (keep[k]) out.push({ ...p, ...(k === 0 && out.length ? { cut: true } : {}) });
    });
  }
  return out;
}

/**
 * Samples smoothed by a [1 2 1] filter (noise of a fraction of a pixel from frame to frame), ends
 * kept as they are: a window's motion is smooth, its measurement is not.
 */
function smooth(run: Sample[]): Sample[] {
  if (run.length < 3) return run.map((p) => ({ ...p }));
  return run.map((p, k) => {
    if (k === 0 || k === run.length - 1) return { ...p };
    const a = run[k - 1];
    const b = run[k + 1];
    return { f: p.f, x: (a.x + 2 * p.x + b.x) / 4, y: (a.y + 2 * p.y + b.y) / 4, scale: (a.scale + 2 * p.scale + b.scale) / 4 };
  });
}

/** The placement at (fractional) fg frame f: on the line between its keyframes, held before the first and after the last. */
export function placementAt(keys: readonly Keyframe[], f: number): Sample {
  if (!keys.length) throw new Error('no keyframes');
  if (f <= keys[0].f) return { ...keys[0], f };
  for (let k = 1; k < keys.length; k++) {
    const b = keys[k];
    if (f > b.f) continue;
    const a = keys[k - 1];
    // Across a break the placement jumps at the cut's first frame.
    if (b.cut) return f >= b.f ? { ...b, f } : { ...a, f };
    return lerp(a, b, f);
  }
  return { ...keys[keys.length - 1], f };
}
