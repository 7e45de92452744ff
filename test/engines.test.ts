import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { align, type AlignRequest } from '../daemon/align';
import { baseline, correctDrift, evidenceFromSharpness } from '../daemon/engine/temporal/drift';
import { ENGINES } from '../protocol/project';
import { robustLine } from '../daemon/core/line';
import { memoryCache } from '../daemon/core/lru';
import type { DeriveSpec } from '../daemon/media/derive';
import { assertAccurate } from './support/accuracy';
import { derived, SAMPLE } from './support/media';
import { synthPair, type SynthBg, type SynthFg } from './support/synth';

describe('drift correction', () => {
  it('flattens a sine wave of drift where the evidence is weak', () => {
    const n = 600;
    const truth = Array.from({ length: n }, (_, i) => 40 + i * 0.8);
    // The wandering a least-cost path shows in a static stretch: ±4 frames, slowly.
    const wavy = Int32Array.from(truth, (t, i) => Math.round(t + 4 * Math.sin((2 * Math.PI * i) / 200)));
    const weak = new Float32Array(n).fill(0.05);
    const out = correctDrift(wavy, weak, { bgFrames: 1000 });
    // Flat: what is left is a straight line (the wave's mean tilt over a non-whole number of
    // periods is all a line fit can see), within rounding.
    const line = robustLine(
      Array.from({ length: n }, (_, i) => i),
      out,
    );
    const wave = Math.max(...Array.from(out, (v, i) => Math.abs(v - (line.slope * i + line.intercept))));
    assert.ok(wave <= 1, `deviation from a straight line after correction ${wave.toFixed(2)} (before: 4)`);
    const err = Math.max(...Array.from(out, (v, i) => Math.abs(v - truth[i])));
    // The wave's projection on a line over 3 periods tilts the fit by ~1.4 frames at the ends.
    assert.ok(err <= 2, `max error against the truth ${err.toFixed(2)}`);
    for (let i = 1; i < n; i++) assert.ok(out[i] >= out[i - 1], 'monotonic');
  });

  it('keeps a well-evidenced map exactly, including a real change of speed', () => {
    const n = 400;
    // fg at normal speed, then 10% fast after frame 200: real, not drift.
    const map = Int32Array.from({ length: n }, (_, i) => (i < 200 ? 10 + i : 210 + Math.round((i - 200) * 1.1)));
    const strong = new Float32Array(n).fill(1);
    const out = correctDrift(map, strong, { bgFrames: 1000 });
    const err = Math.max(...Array.from(out, (v, i) => Math.abs(v - map[i])));
    assert.ok(err <= 1, `max deviation ${err}`);
  });

  it('trusts strong frames and bridges weak ones between them', () => {
    const n = 300;
    const truth = Array.from({ length: n }, (_, i) => 5 + i);
    const map = Int32Array.from(truth);
    const evidence = new Float32Array(n).fill(1);
    for (let i = 100; i < 200; i++) {
      map[i] += Math.round(6 * Math.sin((Math.PI * (i - 100)) / 100)); // a bump in a static stretch
      evidence[i] = 0;
    }
    const out = correctDrift(map, evidence, { bgFrames: 1000 });
    assert.ok(Math.max(...Array.from(out, (v, i) => Math.abs(v - truth[i]))) <= 1);
  });

  it('the baseline ignores outliers', () => {
    const y = Array.from({ length: 100 }, (_, i) => 2 * i + 7);
    y[30] = 500;
    y[70] = -300;
    const b = baseline(y, new Float32Array(100).fill(1), 2);
    assert.ok(Math.abs(b[50] - 107) < 0.5 && Math.abs(b[0] - 7) < 0.5, `${b[0]} ${b[50]}`);
  });

  it('evidence is relative to a typical sharp match', () => {
    const e = evidenceFromSharpness(Float32Array.from([0, 0, 0.01, 0.02, 0.02, 0.02, 0.03, 0.04]));
    assert.equal(e[0], 0);
    assert.equal(e[7], 1);
  });
});

interface Case {
  name: string;
  engine: AlignRequest['engine'];
  features?: AlignRequest['features'];
  real?: { bg: string; spec: DeriveSpec };
  synth?: { bg: SynthBg; fg: SynthFg };
  /** The fg frames where the truth cuts to a later stretch of bg. */
  cuts?: number[];
}

const CROP = { x: 90, y: 70, width: 480, height: 270 };
const cases: Case[] = [
  { name: 'precise: sample, 25→30 fps, 2% drift', engine: 'precise', real: { bg: SAMPLE, spec: { crop: CROP, fps: 30, speed: 1.02, offset: 0.6 } } },
  {
    name: 'precise: synthetic 24→60 fps, 2% slow',
    engine: 'precise',
    synth: {
      bg: { width: 480, height: 270, fps: 24, duration: 6 },
      fg: { x: 60, y: 50, width: 300, height: 170, scale: 1, fps: 60, offset: 1.2, speed: 0.98, duration: 4 },
    },
  },
  { name: 'fast: sample, 25→30 fps, 1.5 s offset', engine: 'fast', real: { bg: SAMPLE, spec: { crop: CROP, fps: 30, offset: 1.5 } } },
  {
    name: 'fast: synthetic 30→24 fps, 2% drift',
    engine: 'fast',
    synth: {
      bg: { width: 480, height: 270, fps: 30, duration: 6 },
      fg: { x: 70, y: 40, width: 320, height: 180, scale: 1, fps: 24, offset: 0.8, speed: 1.02, duration: 4.5 },
    },
  },
  {
    name: 'edit: sample with 1.2 s cut out',
    engine: 'edit',
    real: {
      bg: SAMPLE,
      spec: {
        crop: CROP,
        segments: [
          { start: 0.4, end: 3.0 },
          { start: 4.2, end: 7.4 },
        ],
      },
    },
    cuts: [65],
  },
  {
    name: 'edit: sample re-timed to 30 fps with two cuts',
    engine: 'edit',
    real: {
      bg: SAMPLE,
      spec: {
        crop: CROP,
        fps: 30,
        segments: [
          { start: 0.2, end: 2.2 },
          { start: 3.0, end: 5.0 },
          { start: 6.0, end: 7.5 },
        ],
      },
    },
    cuts: [60, 120],
  },
  { name: 'edit: no cut, 2% drift (finds none)', engine: 'edit', real: { bg: SAMPLE, spec: { crop: CROP, fps: 30, speed: 1.02, offset: 0.6 } }, cuts: [] },
  {
    name: 'precise on hash features: sample, 25→30 fps',
    engine: 'precise',
    features: 'hash',
    real: { bg: SAMPLE, spec: { crop: { x: 151, y: 83, width: 400, height: 240 }, fps: 30, offset: 1.5 } },
  },
];

describe('engine accuracy on ground truth', () => {
  for (const c of cases) {
    it(c.name, async (t) => {
      const pair = c.real ? { bg: c.real.bg, ...(await derived(c.real.bg, c.real.spec)) } : await synthPair(c.synth!.bg, c.synth!.fg);
      const al = await align(pair.bg, pair.fg, { engine: c.engine, features: c.features });
      assert.equal(al.temporal.engine, c.engine);
      const s = assertAccurate(c.name, al, pair.truth);
      if (c.cuts) {
        const found = (al.temporal.cuts ?? []).map((k) => k.fg);
        assert.equal(found.length, c.cuts.length, `cuts found ${JSON.stringify(al.temporal.cuts)}, truth ${JSON.stringify(c.cuts)}`);
        c.cuts.forEach((truth, k) => assert.ok(Math.abs(found[k] - truth) <= 2, `cut ${k} at fg ${found[k]}, truth ${truth}`));
      }
      t.diagnostic(JSON.stringify({ ...s, cuts: al.temporal.cuts }));
    });
  }

  it('embeddings align a graded pair at least as well as pixels', async (t) => {
    const spec: DeriveSpec = {
      crop: { x: 151, y: 83, width: 400, height: 240 },
      fps: 30,
      offset: 1.5,
      grade: { contrast: 1.3, brightness: 0.05, saturation: 1.5, gamma: 1.3 },
    };
    const { fg, truth } = await derived(SAMPLE, spec);
    const emb = await align(SAMPLE, fg, { features: 'embedding' });
    const pix = await align(SAMPLE, fg, { features: 'pixels' });
    assert.equal(emb.temporal.features, 'embedding');
    assert.ok(emb.temporal.provider === 'cpu' || emb.temporal.provider === 'cuda');
    const se = assertAccurate('embedding', emb, truth);
    const sp = assertAccurate('pixels', pix, truth);
    assert.ok(se.within1 >= sp.within1, `embedding ${se.within1} vs pixels ${sp.within1}`);
    t.diagnostic(JSON.stringify({ embedding: se, pixels: sp, provider: emb.temporal.provider }));
  });

  it('--window widens the final band of every engine', async () => {
    const { fg } = await derived(SAMPLE, { crop: CROP, fps: 30, offset: 0.6, frames: 60 });
    // As the editor re-aligns when a project's engine or window changes: the frames and the
    // placement decoded and found once, each engine's map solved anew.
    const cache = memoryCache();
    for (const engine of ENGINES) {
      const narrow = await align(SAMPLE, fg, { engine, cache });
      const wide = await align(SAMPLE, fg, { engine, window: 40, cache });
      assert.ok((narrow.temporal.window ?? 0) < 40, `${engine}: default band ${narrow.temporal.window}`);
      assert.equal(wide.temporal.window, 40, `${engine} honours --window`);
      assert.deepEqual(wide.temporal.bgFrameForFg, narrow.temporal.bgFrameForFg, `${engine}: same map with a wider band`);
    }
  });
});
