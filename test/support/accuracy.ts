import assert from 'node:assert/strict';
import type { Alignment } from '../../daemon/engine/result';
import { score, type Score, type Truth } from '../../daemon/selftest/score';

export { score, type Score, type Truth };

/**
 * The bar: spatial error ≤ 1 px, ≥ 95% of fg frames within 1 bg frame of the truth; and a
 * fixed crop reported as fixed (no false tracking: the moving check stays quiet).
 */
export function assertAccurate(name: string, al: Alignment, truth: Truth): Score {
  const s = score(al, truth);
  const msg = `${name}: ${JSON.stringify(s)} spatial=${JSON.stringify(al.spatial)} truth=${JSON.stringify({ x: truth.x, y: truth.y, scale: truth.scale })}`;
  assert.equal(al.spatial.placement, undefined, `a fixed placement, not tracked: ${msg}`);
  assert.ok(Math.abs(s.dx) <= 1 && Math.abs(s.dy) <= 1, `position off by more than 1 px: ${msg}`);
  // fg shown enlarged (scale > 1): one of its pixels covers `scale` bg pixels, and its size is
  // known to a pixel of its own.
  assert.ok(Math.abs(s.dSize) <= Math.max(1, truth.scale), `size off by more than 1 px: ${msg}`);
  assert.ok(s.within1 >= 0.95, `fewer than 95% of frames within 1: ${msg}`);
  assert.equal(al.temporal.bgFrameForFg.length, al.fg.frameCount, `one map entry per fg frame: ${msg}`);
  for (let i = 1; i < al.temporal.bgFrameForFg.length; i++) assert.ok(al.temporal.bgFrameForFg[i] >= al.temporal.bgFrameForFg[i - 1], `map not monotonic at ${i}: ${name}`);
  return s;
}
