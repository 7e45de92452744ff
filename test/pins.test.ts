import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { align } from '../daemon/align';
import { trackAt } from '../protocol/placement';
import { placedAt, type Alignment } from '../daemon/engine/result';
import { cornerDistance } from '../daemon/engine/spatial/moving';
import { pinKeys, pinsOf } from '../daemon/engine/spatial/pins';
import { placementAt } from '../daemon/engine/spatial/keyframes';
import type { DeriveTruth } from '../daemon/media/derive';
import type { ProbeInfo } from '../daemon/media/probe';
import { textDiagnostics } from '../daemon/project/check';
import { parseJson } from '../daemon/project/jsonTree';
import { pinRange } from '../daemon/project/mediaChecks';
import { schemaAt } from '../daemon/project/schema';
import { fieldDoc } from '../daemon/server/hover';
import { resolveProject } from '../daemon/project/project';
import { alignmentText, inputHashes, serialiseProjectAlignment, staleReasons, toProjectAlignment } from '../daemon/store';
import { derived, SAMPLE } from './support/media';

/**
 * Placement pins (issue #15): anchors `{fg, x, y, scale?}` say where fg is at an fg time. Pins that
 * agree fix the placement; pins that disagree make the window tracked through each of them
 * (daemon/engine/spatial/pins.ts). Ground truth from derive, on the bundled sample.
 */

/** Share of fg frames within one bg frame of the truth, and the worst corner distance from the truth's placement (bg px). */
function score(al: Alignment, truth: DeriveTruth): { within1: number; worstPx: number } {
  const n = Math.min(al.temporal.bgFrameForFg.length, truth.bgFrameForFg.length);
  let t = 0;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    if (Math.abs(al.temporal.bgFrameForFg[i] - truth.bgFrameForFg[i]) <= 1) t++;
    const want = truth.placements?.[i] ?? { x: truth.x, y: truth.y, scale: truth.scale };
    worst = Math.max(worst, cornerDistance({ ...placedAt(al.spatial, i), score: 1 }, { ...want, score: 1 }, al.fg.width, al.fg.height));
  }
  return { within1: t / n, worstPx: Math.round(worst * 100) / 100 };
}

describe('placement pins: the engine', () => {
  it('one pin (no scale) fixes a still crop where it says; the map is right', async () => {
    const { fg, truth } = await derived(SAMPLE, { crop: { x: 100, y: 60, width: 400, height: 240 }, fps: 30, offset: 1, frames: 105 });
    const al = await align(SAMPLE, fg, { anchors: [{ fg: 1.5, x: 100, y: 60 }] });
    assert.equal(al.spatial.placement, undefined, 'fixed');
    assert.equal(al.spatial.method, 'manual', 'placed by the pin, as a spatial override would');
    assert.deepEqual([al.spatial.x, al.spatial.y], [100, 60]);
    assert.ok(Math.abs(al.spatial.scale - 1) < 0.01, `the found scale: ${al.spatial.scale}`);
    const s = score(al, truth);
    console.log(`pinned still crop: ${JSON.stringify(s)}, ${al.timings?.total} s`);
    assert.equal(s.within1, 1, JSON.stringify(s));
    assert.ok(s.worstPx <= 1, JSON.stringify(s));
    // A pin that is a sync point too: both hold (the temporal engines see only the time pair).
    const both = await align(SAMPLE, fg, { anchors: [{ fg: 2, bg: truth.bgTimeForFg[60], x: 100, y: 60, scale: 1 }] });
    assert.deepEqual([both.spatial.x, both.spatial.y, both.spatial.scale], [100, 60, 1]);
    assert.equal(both.temporal.bgFrameForFg[60], truth.bgFrameForFg[60]);
    assert.equal(score(both, truth).within1, 1);
  });

  it('two pins of a panning window: tracked through both exactly, within 2 px of the truth elsewhere', async () => {
    const spec = { crop: { x: 40, y: 80, width: 400, height: 240 }, pan: { to: { x: 160, y: 100 } }, fps: 30, offset: 0.5, frames: 105 };
    const { fg, truth } = await derived(SAMPLE, spec);
    const r2 = (v: number) => Math.round(v * 100) / 100;
    const at = (f: number) => ({ fg: f / 30, x: r2(truth.placements![f].x), y: r2(truth.placements![f].y) });
    const anchors = [at(15), at(80)];
    const al = await align(SAMPLE, fg, { anchors });
    const track = al.spatial.track!;
    assert.equal(al.spatial.placement, 'tracked');
    assert.deepEqual(track.pinned, [15, 80]);
    for (const [f, a] of [
      [15, anchors[0]],
      [80, anchors[1]],
    ] as const) {
      const p = trackAt(track, f);
      assert.ok(Math.abs(p.x - a.x) < 1e-6 && Math.abs(p.y - a.y) < 1e-6, `at fg frame ${f}: ${JSON.stringify(p)} for the pin ${JSON.stringify(a)}`);
    }
    const s = score(al, truth);
    console.log(`pinned pan: ${JSON.stringify(s)}, ${track.keys.length} keyframes, ${al.timings?.total} s`);
    assert.ok(s.worstPx <= 2, JSON.stringify(s));
    assert.ok(s.within1 >= 0.95, JSON.stringify(s));
    // The pinned keyframes are part of the CLI's file (written schema-checked).
    assert.deepEqual(JSON.parse(alignmentText(al, path.join(path.dirname(fg), 'pins.json'))).spatial.track.pinned, [15, 80]);
    // A project's committed alignment keeps the pins among its options and the pinned keyframes;
    // written (schema-checked) and read back, it is not stale.
    const p = resolveProject(path.join(path.dirname(fg), 'pins.vidkompy.json'), { bg: SAMPLE, fg, anchors });
    const pa = toProjectAlignment(al, p, await inputHashes(p));
    const back = JSON.parse(serialiseProjectAlignment(pa));
    assert.deepEqual(back.options.anchors, anchors);
    assert.deepEqual(back.spatial.track.pinned, [15, 80]);
    assert.deepEqual(await staleReasons(back, p), []);
  });

  it('refuses pins that disagree under a fixed placement before decoding anything', async () => {
    const { fg } = await derived(SAMPLE, { crop: { x: 100, y: 60, width: 400, height: 240 }, fps: 30, offset: 1, frames: 105 });
    await assert.rejects(
      align(SAMPLE, fg, { placement: 'fixed', anchors: [{ fg: 0.5, x: 100, y: 60 }, { fg: 2, x: 140, y: 60 }] }),
      /anchor pins at fg 0.5 s \(100, 60\) and 2 s \(140, 60\) are different places, but placement is fixed; set placement to auto or tracked/,
    );
    await assert.rejects(align(SAMPLE, fg, { anchors: [{ fg: 9, x: 100, y: 60 }] }), /anchor pin at fg 9 s is outside fg \(105 frames/);
  });
});

describe('placement pins: keyframes', () => {
  const content = { x: 0, y: 8, width: 400, height: 224 };
  const keys = [
    { f: 0, x: 10, y: 20, scale: 1 },
    { f: 60, x: 70, y: 20, scale: 1 },
    { f: 61, x: 300, y: 20, scale: 1, cut: true },
    { f: 100, x: 340, y: 20, scale: 1 },
  ];

  it('insert the pinned keyframe (frame corner to content corner), the correction fading to nothing at the neighbours', () => {
    const pins = pinsOf([{ fg: 1, x: 50, y: 10, scale: 0.5 }, { fg: 2, bg: 3 }], 30);
    assert.deepEqual(pins, [{ f: 30, x: 50, y: 10, scale: 0.5, t: 1 }]);
    const { keys: out, pinned } = pinKeys(keys, pins, content);
    assert.deepEqual(pinned, [30]);
    assert.deepEqual(out[1], { f: 30, x: 50, y: 14, scale: 0.5 }, 'content corner: y + 8 · 0.5');
    assert.deepEqual(placementAt(out, 15), { f: 15, x: 30, y: 17, scale: 0.75 }, 'half way to the pin');
    assert.deepEqual(placementAt(out, 60), { ...keys[1] }, 'the next keyframe is untouched');
    assert.equal(out[3].cut, true, 'the cut stays');
  });

  it('keep the tracked scale for a pin without one, and replace a keyframe at the pin frame, its cut kept', () => {
    const { keys: out } = pinKeys(keys, pinsOf([{ fg: 61 / 30, x: 290, y: 0 }], 30), content);
    assert.equal(out.length, keys.length);
    assert.deepEqual(out[2], { f: 61, x: 290, y: 8, scale: 1, cut: true });
  });
});

describe('placement pins: project diagnostics', () => {
  const check = (anchors: unknown[], more: object = {}) => textDiagnostics(parseJson(JSON.stringify({ bg: 'a.mp4', fg: 'b.mp4', anchors, ...more })), path.resolve('demo.vidkompy.json'));

  it('accept a pin, a sync point, and both in one', () => {
    assert.deepEqual(check([{ fg: 0, bg: 1 }, { fg: 1, x: 10, y: 20 }, { fg: 2, bg: 3, x: 10, y: 20, scale: 0.8 }]), []);
  });

  it('say what is missing: x without y, scale without x, a bare time', () => {
    assert.deepEqual(
      check([{ fg: 1, x: 10 }]).map((d) => d.message),
      ['"anchors[0]" gives "x" without "y": a placement pin gives x and y (scale optional); add "y"'],
    );
    assert.deepEqual(
      check([{ fg: 1, bg: 2, scale: 0.5 }]).map((d) => d.message),
      ['"anchors[0]" gives "scale" without "x": a placement pin gives x and y (scale optional); add "x"'],
    );
    assert.deepEqual(check([{ fg: 1 }]).map((d) => d.message), ['"anchors[0]" gives only its fg time; add "bg" (a sync point) or "x" and "y" (a placement pin)']);
    assert.match(check([{ fg: 1, x: 1, y: 2, scale: 0 }])[0].message, /"anchors\[0\]\.scale" must be > 0/);
  });

  it('refuse pins that cannot all hold', () => {
    const fixed = check([{ fg: 0, x: 10, y: 20 }, { fg: 2, x: 10.5, y: 21 }, { fg: 3, x: 40, y: 20 }], { placement: 'fixed' });
    assert.deepEqual(
      fixed.map((d) => `${d.severity} ${d.code} ${d.message}`),
      [
        'error ANCHORS anchors[2] (fg 3 s at x 40, y 20) disagrees with anchors[0] (fg 0 s at x 10, y 20) by more than 2 px, but "placement" is "fixed" (one place); set "placement": "auto" to track the moving window through the pins, or fix the pins',
      ],
    );
    assert.deepEqual(check([{ fg: 0, x: 10, y: 20 }, { fg: 3, x: 40, y: 20 }]), [], 'auto: the window is tracked through them');
    const twice = check([{ fg: 1, x: 10, y: 20 }, { fg: 1, x: 40, y: 20, scale: 0.5 }]);
    assert.deepEqual(twice.map((d) => d.message), ['anchors[1] (fg 1 s at x 40, y 20, scale 0.5) and anchors[0] (fg 1 s at x 10, y 20) pin fg to two places at one time; remove one']);
    const override = check([{ fg: 1, x: 10, y: 20 }], { spatial: { x: 5, y: 5 } });
    assert.deepEqual(override.map((d) => `${d.severity} ${d.message}`), ['warning anchors[0] (fg 1 s at x 10, y 20) is ignored: "spatial" x, y fix the placement; remove the pin\'s x, y or "spatial"\'s x, y']);
  });

  it('hover and completion read the pin fields from the schema', () => {
    assert.match(fieldDoc(['anchors', 0, 'x']) ?? '', /\*\*anchors\[0\]\.x\*\*: Pin: fg's frame corner \(left edge, bars included\) in bg pixels/);
    assert.match(fieldDoc(['anchors', 0, 'scale']) ?? '', /Default: the scale vidkompy finds/);
    assert.deepEqual(Object.keys(schemaAt(['anchors', 0])?.properties ?? {}), ['fg', 'bg', 'x', 'y', 'scale'], 'the keys completion offers in an anchor');
  });

  it('refuse a pin outside bg or past fg\'s end', () => {
    const info = (width: number, height: number, frameCount: number) => ({ width, height, frameCount, fps: 25, duration: frameCount / 25 }) as ProbeInfo;
    const anchors = [{ fg: 1, x: 700, y: 10 }, { fg: 2, x: -500, y: 10, scale: 1 }, { fg: 9, x: -500, y: 10 }, { fg: 1, x: 0, y: 0, scale: 0.5 }];
    const text = JSON.stringify({ anchors });
    const ds = pinRange(parseJson(text), info(720, 405, 190), info(400, 240, 100));
    assert.deepEqual(
      ds.map((d) => d.message),
      [
        'anchors[1] pins fg\'s 400x240 box at (-500, 10) outside bg (720x405); x, y are fg\'s frame corner in bg pixels: move the pin inside bg',
        'anchors[2].fg = 9 s is past fg\'s end (4.00 s); anchors are seconds from each video\'s start',
      ],
    );
    const far = pinRange(parseJson(JSON.stringify({ anchors: [{ fg: 1, x: 720, y: 10 }] })), info(720, 405, 190), info(400, 240, 100));
    assert.match(far[0].message, /anchors\[0\] pins fg's corner \(720, 10\) outside bg \(720x405\)/);
  });
});
