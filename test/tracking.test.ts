import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { align } from '../daemon/align';
import type { DeriveSpec, DeriveTruth } from '../daemon/media/derive';
import type { Alignment } from '../daemon/engine/result';
import { placedAt } from '../daemon/engine/result';
import { derived, SAMPLE } from './support/media';

/**
 * Moving placement (daemon/engine/tracked.ts): fg's window pans and zooms over bg. Ground truth from
 * derive's `pan.to` (the crop moves linearly, resampled to fg's size every frame): with default
 * settings the moving detection fires, the window is tracked jointly with the time map, and the
 * result is scored frame by frame: bg frame and placement.
 */

interface Case {
  name: string;
  spec: DeriveSpec;
}

const cases: Case[] = [
  {
    name: 'horizontal pan (200 px over ~7 s), 25 -> 30 fps, 0.5 s offset',
    spec: { crop: { x: 40, y: 80, width: 400, height: 240 }, pan: { to: { x: 240, y: 80 } }, fps: 30, offset: 0.5 },
  },
  {
    name: 'diagonal pan with a zoom 1.0 -> 0.7, 25 -> 30 fps, 0.8 s offset',
    spec: { crop: { x: 60, y: 40, width: 400, height: 240 }, pan: { to: { x: 300, y: 130, width: 280, height: 168 } }, fps: 30, offset: 0.8 },
  },
];

/** Per fg frame: within one bg frame of the truth, and fg's corners within 2 px of where the truth puts them. */
export function trackScore(al: Alignment, truth: DeriveTruth): { within1: number; within2px: number; worstPx: number } {
  const n = Math.min(al.temporal.bgFrameForFg.length, truth.bgFrameForFg.length);
  const w = al.fg.width;
  const h = al.fg.height;
  let t = 0;
  let p = 0;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    if (Math.abs(al.temporal.bgFrameForFg[i] - truth.bgFrameForFg[i]) <= 1) t++;
    const got = placedAt(al.spatial, i);
    const want = truth.placements![i];
    let d = 0;
    for (const [u, v] of [
      [0, 0],
      [w, 0],
      [0, h],
      [w, h],
    ]) {
      d = Math.max(d, Math.hypot(got.x + u * got.scale - (want.x + u * want.scale), got.y + v * got.scale - (want.y + v * want.scale)));
    }
    worst = Math.max(worst, d);
    if (d <= 2) p++;
  }
  return { within1: t / n, within2px: p / n, worstPx: Math.round(worst * 100) / 100 };
}

describe('moving placement: tracked windows against ground truth', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { fg, truth } = await derived(SAMPLE, c.spec);
      const al = await align(SAMPLE, fg, {});
      const s = trackScore(al, truth);
      const msg = `${JSON.stringify(s)} keys=${JSON.stringify(al.spatial.track?.keys)} trust=${JSON.stringify(al.trust?.reasons)}`;
      console.log(c.name, msg, al.timings);
      assert.equal(al.spatial.placement, 'tracked', `reported as tracked: ${msg}`);
      assert.equal(al.trust?.verdict, 'sure', msg);
      assert.ok(s.within1 >= 0.95, `>= 95% of fg frames within one bg frame: ${msg}`);
      assert.ok(s.within2px >= 0.95, `placement within 2 px on >= 95% of frames: ${msg}`);
    });
  }
});
