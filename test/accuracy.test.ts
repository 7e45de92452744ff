import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { align, type AlignRequest } from '../daemon/align';
import type { DeriveSpec } from '../daemon/media/derive';
import { assertAccurate } from './support/accuracy';
import { derived, frozenRegion, HAVE_SHARED, media, NO_SHARED, SAMPLE, shakyBg } from './support/media';
import { synthPair, type SynthBg, type SynthFg } from './support/synth';

/**
 * Ground-truth accuracy: each case derives fg from a known bg with a known crop, scale, timing and
 * grading, aligns, and asserts spatial error ≤ 1 px and ≥ 95% of fg frames within 1 bg frame.
 */

interface RealCase {
  name: string;
  bg: string;
  spec: DeriveSpec;
  opts?: AlignRequest;
  shared?: boolean;
  /**
   * Every frame within one, ends included: cases where little changes at the start or the end,
   * which an open-ended path used to shorten by a frame or two (pyramid.ts, endsOnLine).
   */
  ends?: boolean;
  /** Relative scale error allowed (besides the pixel bars). */
  scaleTolerance?: number;
}

const real: RealCase[] = [
  { name: 'sample: crop at an offset, 1.5 s start offset', bg: SAMPLE, spec: { crop: { x: 101, y: 57, width: 400, height: 240 }, offset: 1.5 } },
  { name: 'sample: short fg (2.4 s) in a camera pan', bg: SAMPLE, spec: { crop: { x: 100, y: 60, width: 320, height: 200 }, offset: 1, frames: 60 } },
  {
    name: 'sample: half-scale inset (fg 2x), 25→30 fps',
    bg: SAMPLE,
    spec: { crop: { x: 200, y: 100, width: 320, height: 180 }, size: { width: 640, height: 360 }, fps: 30, offset: 0.4 },
  },
  {
    name: 'sample: letterbox bars, colour grading, 25→24 fps, 2% drift',
    bg: SAMPLE,
    spec: {
      crop: { x: 60, y: 40, width: 560, height: 300 },
      bars: { top: 40, bottom: 40 },
      grade: { contrast: 1.25, brightness: -0.04, saturation: 1.4, gamma: 1.2 },
      fps: 24,
      speed: 1.02,
      offset: 0.3,
    },
  },
  {
    name: 'sample: 25→60 fps, fg 2% slow, mask engine',
    bg: SAMPLE,
    spec: { crop: { x: 0, y: 0, width: 480, height: 300 }, fps: 60, speed: 0.98, offset: 1.0 },
    opts: { engine: 'mask' },
    ends: true,
  },
  {
    name: 'sample: lower-resolution fg (320×192) shown at 1.25×',
    bg: SAMPLE,
    spec: { crop: { x: 100, y: 60, width: 400, height: 240 }, size: { width: 320, height: 192 }, offset: 1 },
  },
  {
    name: 'sample: a 120×72 fg shown at 4×',
    bg: SAMPLE,
    spec: { crop: { x: 100, y: 40, width: 480, height: 288 }, size: { width: 120, height: 72 }, offset: 1 },
  },
  {
    name: 'sample: burnt-in running timecode and logo, 25→30 fps, scale 0.875',
    bg: SAMPLE,
    spec: { crop: { x: 60, y: 40, width: 560, height: 300 }, size: { width: 640, height: 344 }, fps: 30, offset: 0.5, graphics: true },
    scaleTolerance: 0.002,
    ends: true,
  },
  {
    name: 'box.mp4 (damaged slices): crop, 29.97→25 fps, 1 s offset',
    bg: media('box.mp4'),
    spec: { crop: { x: 120, y: 80, width: 400, height: 300 }, fps: 25, offset: 1 },
    shared: true,
    ends: true,
  },
  {
    name: 'vtest.avi (static camera, 10 fps): crop, 10→25 fps, 5 s offset',
    bg: media('vtest.avi'),
    spec: { crop: { x: 200, y: 150, width: 320, height: 240 }, fps: 25, offset: 5, frames: 500 },
    shared: true,
  },
  {
    name: 'diver.mov (MJPEG, colour cast): graded crop, 2% fast',
    bg: media('diver.mov'),
    spec: { crop: { x: 100, y: 60, width: 400, height: 320 }, grade: { contrast: 0.8, brightness: 0.05, saturation: 0.6 }, speed: 1.02, fps: 30, offset: 2 },
    shared: true,
  },
  {
    name: 'cockatoo.mp4 (4:4:4, fast motion): half-scale inset',
    bg: media('cockatoo.mp4'),
    spec: { crop: { x: 400, y: 200, width: 480, height: 270 }, size: { width: 960, height: 540 }, offset: 3, frames: 120 },
    shared: true,
  },
  {
    name: 'balle-jbart.mp4 (near-static): crop, 1.5 s offset, 25→30 fps',
    bg: media('balle-jbart.mp4'),
    spec: { crop: { x: 80, y: 60, width: 560, height: 420 }, offset: 1.5, fps: 30 },
    shared: true,
  },
  {
    name: 'chaplin.mp4 (real pillarbox bars): crop keeping one bar, mask engine',
    bg: media('chaplin.mp4'),
    spec: { crop: { x: 40, y: 20, width: 480, height: 320 }, offset: 1.2, fps: 30 },
    opts: { engine: 'mask' },
    shared: true,
  },
];

interface SynthCase {
  name: string;
  bg: SynthBg;
  fg: SynthFg;
  opts?: AlignRequest;
}

const synth: SynthCase[] = [
  {
    name: 'synthetic: 24 fps bg, 60 fps fg, 1.5 s offset, 2% drift',
    bg: { width: 480, height: 270, fps: 24, duration: 6 },
    fg: { x: 97, y: 41, width: 256, height: 160, scale: 1, fps: 60, offset: 1.5, speed: 1.02, duration: 4 },
  },
  {
    name: 'synthetic: 60 fps bg, 24 fps fg at half scale',
    bg: { width: 480, height: 270, fps: 60, duration: 5 },
    fg: { x: 120, y: 70, width: 200, height: 120, scale: 0.5, fps: 24, offset: 0.7, speed: 1, duration: 3.5 },
  },
  {
    name: 'synthetic: 30→24 fps, letterbox bars, grading, 2% slow, mask engine',
    bg: { width: 480, height: 270, fps: 30, duration: 6 },
    fg: {
      x: 40,
      y: 30,
      width: 320,
      height: 180,
      scale: 1,
      fps: 24,
      offset: 1,
      speed: 0.98,
      duration: 4.5,
      grade: { gain: 1.2, lift: -10, gamma: 0.8 },
      bars: { top: 24, bottom: 24, left: 0, right: 0 },
    },
    opts: { engine: 'mask' },
  },
];

describe('alignment accuracy against ground truth', () => {
  for (const c of real) {
    it(c.name, { skip: c.shared && !HAVE_SHARED ? NO_SHARED : false }, async (t) => {
      const { fg, truth } = await derived(c.bg, c.spec);
      const al = await align(c.bg, fg, c.opts);
      const s = assertAccurate(c.name, al, truth);
      t.diagnostic(JSON.stringify(s));
      if (c.ends) assert.ok(s.maxErr <= 1, `${c.name}: every frame within one, the ends too (${JSON.stringify(s)})`);
      if (c.scaleTolerance) assert.ok(Math.abs(al.spatial.scale / truth.scale - 1) <= c.scaleTolerance, `${c.name}: scale ${al.spatial.scale} vs ${truth.scale}`);
    });
  }
  for (const [name, segments] of [
    ['default engine through a 1.2 s cut', [{ start: 0.4, end: 3.0 }, { start: 4.2, end: 7.4 }]],
    ['default engine through two cuts', [{ start: 0.2, end: 2.0 }, { start: 2.8, end: 4.5 }, { start: 5.5, end: 7.5 }]],
  ] as const) {
    it(`sample: ${name}, cuts found to the frame`, async (t) => {
      const { fg, truth } = await derived(SAMPLE, { crop: { x: 90, y: 70, width: 480, height: 270 }, segments: [...segments] });
      const al = await align(SAMPLE, fg);
      const s = assertAccurate(name, al, truth);
      t.diagnostic(JSON.stringify(s));
      assert.equal(al.temporal.engine, 'full');
      assert.equal(s.maxErr, 0, 'every frame exact, the frames next to each cut too');
      assert.equal(al.temporal.cuts?.length, segments.length - 1, JSON.stringify(al.temporal.cuts));
    });
  }
  it('sample: fg region frozen for 2 s while bg around it moves: steady pacing, and reported uncertain', async (t) => {
    const r = { x: 90, y: 70, width: 480, height: 270 };
    const bg = await frozenRegion(SAMPLE, r, 2, 4);
    const { fg, truth } = await derived(bg, { crop: r, fps: 30, offset: 0.5 });
    const al = await align(bg, fg);
    const s = assertAccurate('frozen region', al, truth);
    t.diagnostic(JSON.stringify(s));
    assert.ok(s.within1 >= 0.99 && s.maxErr <= 1, JSON.stringify(s));
    // fg frames 45–105 show the frozen picture (bg 2–4 s, fg from 0.5 s at 30 fps).
    const u = al.temporal.uncertain ?? [];
    assert.ok(u.some(([a, b]) => a <= 50 && b >= 100), `the frozen stretch is reported: ${JSON.stringify(u)}`);
  });
  // Freeze frames and slow motion: fg's rate through bg changes for a while. Every frame within one,
  // and the reported speed is fg's usual one (a line through the whole map would read 0.68×, an
  // implausible speed the trust figure refused).
  const wide = { x: 90, y: 70, width: 480, height: 270 };
  for (const [name, spec] of [
    ['a 1 s freeze frame, 25→30 fps', { crop: wide, fps: 30, offset: 0.5, holds: [{ at: 3, seconds: 1 }] }],
    [
      '2 s at half speed (slow motion), 25→24 fps, graded',
      {
        crop: { x: 60, y: 40, width: 560, height: 300 },
        fps: 24,
        offset: 0.3,
        ramps: [{ start: 3, end: 5, speed: 0.5 }],
        grade: { contrast: 1.2, brightness: 0.03 },
      },
    ],
    [
      'a 1 s freeze frame and 2 s at half speed in one fg, 25→30 fps',
      { crop: wide, fps: 30, offset: 0.3, holds: [{ at: 1.6, seconds: 1 }], ramps: [{ start: 3.6, end: 5.6, speed: 0.5 }] },
    ],
  ] as [string, DeriveSpec][]) {
    it(`sample: ${name}`, async (t) => {
      const { fg, truth } = await derived(SAMPLE, spec);
      const al = await align(SAMPLE, fg);
      const s = assertAccurate(name, al, truth);
      t.diagnostic(JSON.stringify({ ...s, speed: al.temporal.speed, trust: al.trust?.score }));
      assert.equal(al.temporal.engine, 'full');
      assert.ok(s.within1 >= 0.99 && s.maxErr <= 1, JSON.stringify(s));
      assert.ok(Math.abs(al.temporal.speed - 1) < 0.02, `fg's usual speed: ${al.temporal.speed}`);
      assert.equal(al.trust?.verdict, 'sure');
    });
  }
  it('shaky hand-held small bg (320×180), fg at half scale, 25→50 fps', async (t) => {
    const bg = await shakyBg(SAMPLE, 320, 180);
    const { fg, truth } = await derived(bg, { crop: { x: 40, y: 60, width: 160, height: 90 }, size: { width: 320, height: 180 }, fps: 50, offset: 3 });
    const al = await align(bg, fg);
    t.diagnostic(JSON.stringify(assertAccurate('shaky small bg', al, truth)));
  });
  for (const c of synth) {
    it(c.name, async (t) => {
      const { bg, fg, truth } = await synthPair(c.bg, c.fg);
      const al = await align(bg, fg, c.opts);
      t.diagnostic(JSON.stringify(assertAccurate(c.name, al, truth)));
    });
  }
});
