import { resize } from '../image';
import { coarseSearch, refine, type Placement, type RefinePair } from './search';

/**
 * Whether one fixed placement explains fg. A window that pans or zooms over bg (pan-and-scan, a
 * 9:16 re-frame that follows a subject, a Ken Burns zoom) shows fg somewhere else in bg at each
 * time: each time-matched pair, searched on its own over the whole of bg, then lands away from the
 * joint placement and fits its own place clearly better. A fixed crop of a moving camera does not:
 * the crop is fixed in bg's frame whatever the camera does.
 */

const COARSE = 128;
/** How much better a pair's own place must fit than the joint one, NCC. */
const BETTER = 0.02;

export interface PlacementSpread {
  /** Each pair's own placement (fg's content corner in bg pixels), in fg order. */
  places: Placement[];
  /** How far the farthest pair's own place is from the joint one: largest corner distance, bg px. */
  spread: number;
  /**
   * The best NCC of a pair at its own place: whether fg's frames fit bg anywhere. Where the window
   * moves no fixed placement fits fg well, and the first map, made for one, pairs some frames
   * wrongly in time too; but a pair it got right fits its own place well. An unrelated fg's fit
   * nowhere.
   */
  fit: number;
  /**
   * Where every pair's own search agreed, away from the joint placement and fitting each pair better
   * than it: another placement to try over time. On a picture of flat areas and a few moving parts
   * (testsrc2 without noise) a placement 32 px off, with a map 2 frames off, fits each pair almost
   * as well, and the refinement, fed by that map, confirms itself.
   */
  elsewhere?: Placement;
}

/** bg frames either side of a pair's pick searched for its own place. */
const OWN_REACH = 3;

/** Corner distance within which two placements are the same place, bg px. */
const SAME_PLACE = 1.5;

export function placementSpread(pairs: RefinePair[], picks: number[], joint: Placement, fixedScale?: number): PlacementSpread {
  const places: Placement[] = [];
  let spread = 0;
  let better = 0;
  let fit = 0;
  for (let k = 0; k < pairs.length; k++) {
    const b = pairs[k].bg[picks[k]];
    const fg = pairs[k].fg;
    const c = Math.min(1, COARSE / Math.max(b.width, b.height));
    const sw = Math.max(8, Math.round(b.width * c));
    const sh = Math.max(8, Math.round(b.height * c));
    // The pair's own place with its moment free too, among the frames around the one the joint
    // search picked: that pick was made at the joint placement, and where the placement is off, a
    // frame or two off in time fits it best (testsrc2 without noise: 34 px off at 0.99 on the
    // picked frame, the right place at 0.9997 two frames later).
    const near = pairs[k].bg.slice(Math.max(0, picks[k] - OWN_REACH), picks[k] + OWN_REACH + 1);
    const smalls = near.map((f) => Uint8Array.from(resize(f, sw, sh).data, (v) => Math.max(0, Math.min(255, Math.round(v)))));
    // Searched at the joint scale over all of bg (a window that also zooms is still found near its
    // place), then refined in scale too.
    const hit = coarseSearch(smalls, sw, sh, sw / b.width, [fg], { fixedScale: fixedScale ?? joint.scale });
    if (!hit) continue;
    const own = refine([{ bg: near, fg }], hit, { from: Math.min(1, 2 * c), scaleUncertainty: 0.1, fixedScale });
    const here = refine([{ bg: [b], fg }], joint, { from: 1, scaleUncertainty: 0, fixedScale: joint.scale });
    places.push(own);
    fit = Math.max(fit, own.score);
    if (own.score > here.score) better++;
    if (own.score < here.score + BETTER) continue;
    spread = Math.max(spread, cornerDistance(own, joint, fg.width, fg.height));
  }
  const [w, h] = [pairs[0]?.fg.width ?? 0, pairs[0]?.fg.height ?? 0];
  const best = places.reduce<Placement | undefined>((b, p) => (!b || p.score > b.score ? p : b), undefined);
  const agreed =
    best &&
    places.length === pairs.length &&
    places.length >= 2 &&
    better === places.length &&
    places.every((p) => cornerDistance(p, best, w, h) <= SAME_PLACE) &&
    cornerDistance(best, joint, w, h) > SAME_PLACE;
  return { places, spread, fit, ...(agreed ? { elsewhere: best } : {}) };
}

/** What places fg's corners: where and at what scale. */
export type Corners = Pick<Placement, 'x' | 'y' | 'scale'> & Partial<Placement>;

/** Largest distance between the corresponding corners of two placements of a w×h fg, bg px. */
export function cornerDistance(a: Corners, b: Corners, w: number, h: number): number {
  let d = 0;
  for (const [u, v] of [
    [0, 0],
    [w, 0],
    [0, h],
    [w, h],
  ]) {
    d = Math.max(d, Math.hypot(a.x + u * a.scale - (b.x + u * b.scale), a.y + v * a.scale - (b.y + v * b.scale)));
  }
  return d;
}
