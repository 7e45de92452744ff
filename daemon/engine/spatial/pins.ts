import { isPinAnchor, type Anchor } from '../../../protocol/project';
import { contentCorner, type Rect } from '../../core/geometry';
import { placementAt, type Keyframe } from './keyframes';

/**
 * Placement pins: anchors that say where fg is at an fg time (`{fg, x, y, scale?}`, x, y being
 * fg's frame corner in bg pixels, as `spatial.x/y`). Pins that agree fix the placement; pins that
 * disagree mean the window moves, and the tracked trajectory is made to pass through each.
 * Pure functions: the pipeline (align.ts) decides when to call them.
 */

/** Pins further apart than this (bg px, farthest fg corner) are different places: the window moves. */
export const PIN_AGREE = 2;

/** A pin at a whole fg frame: fg's frame corner (bg px) and, when given, its scale. */
export interface Pin {
  f: number;
  x: number;
  y: number;
  scale?: number;
  /** Seconds, as written (for messages). */
  t: number;
}

/** The pins among anchors, at the fg frame nearest their time, in fg order (fps: fg's). */
export function pinsOf(anchors: readonly Anchor[] | undefined, fps: number): Pin[] {
  return (anchors ?? [])
    .filter(isPinAnchor)
    .map((a) => ({ f: Math.round(a.fg * fps), x: a.x, y: a.y, ...(a.scale !== undefined ? { scale: a.scale } : {}), t: a.fg }))
    .sort((a, b) => a.f - b.f);
}

/**
 * How far apart two pins put fg's frame corners, at most (bg px), for a w×h fg frame; a pin
 * without a scale is taken at the other's (0 by 0: the top-left corners only).
 */
export function pinDistance(a: Omit<Pin, 'f' | 't'>, b: Omit<Pin, 'f' | 't'>, w = 0, h = 0): number {
  const sa = a.scale ?? b.scale ?? 1;
  const sb = b.scale ?? a.scale ?? 1;
  const dx = a.x - b.x;
  const dy = a.y - b.y;
  return Math.max(Math.abs(dx), Math.abs(dy), Math.abs(dx + (sa - sb) * w), Math.abs(dy + (sa - sb) * h));
}

/** The first pair of pins that are different places (more than PIN_AGREE apart), if any. */
export function disagreeing<T extends Omit<Pin, 'f' | 't'>>(pins: readonly T[], w = 0, h = 0): [T, T] | undefined {
  for (let i = 0; i < pins.length; i++) {
    for (let j = i + 1; j < pins.length; j++) if (pinDistance(pins[i], pins[j], w, h) > PIN_AGREE) return [pins[i], pins[j]];
  }
  return undefined;
}

/** The one placement of pins that agree: their mean corner, and the mean of the scales given (none: the found one). */
export function fixedOf(pins: readonly Pin[]): { x: number; y: number; scale?: number } {
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const scales = pins.flatMap((p) => (p.scale !== undefined ? [p.scale] : []));
  return { x: mean(pins.map((p) => p.x)), y: mean(pins.map((p) => p.y)), ...(scales.length ? { scale: mean(scales) } : {}) };
}

/**
 * A tracked trajectory (content corners, as spatial/keyframes.ts) made to pass through each pin:
 * the pinned keyframe is inserted at its fg frame (or replaces the keyframe there), and the
 * keyframes around it stay, so the correction fades linearly to nothing at the neighbouring
 * keyframes (a cut's break stays where it was). A pin without a scale keeps the tracked scale there.
 * `pinned`: the fg frames of the pinned keyframes.
 */
export function pinKeys(keys: readonly Keyframe[], pins: readonly Pin[], content: Rect): { keys: Keyframe[]; pinned: number[] } {
  const out = keys.map((k) => ({ ...k }));
  for (const pin of pins) {
    const scale = pin.scale ?? placementAt(keys, pin.f).scale;
    const at = { f: pin.f, ...contentCorner({ x: pin.x, y: pin.y, scale }, content), scale };
    const same = out.findIndex((k) => k.f === pin.f);
    if (same >= 0) {
      out[same] = { ...at, ...(out[same].cut ? { cut: true } : {}) };
      continue;
    }
    const after = out.findIndex((k) => k.f > pin.f);
    out.splice(after < 0 ? out.length : after, 0, at);
  }
  return { keys: out, pinned: pins.map((p) => p.f).filter((f, i, a) => a.indexOf(f) === i) };
}
