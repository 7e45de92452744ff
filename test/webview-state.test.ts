import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlignmentView, FrameResult } from '../protocol/lsp';
import { contentSecurityPolicy, previewHtml } from '../webview/src/html';
import { isFromWebview, isToWebview, type FromWebview, type ToWebview } from '../protocol/webview';
import { fitDrift, fittedOffsets, robustLine } from '../protocol/drift';
import { robustLine as engineLine } from '../daemon/core/line';
import { driftPerMinute, fitOf, markKinds, MARKS } from '../webview/src/marks';
import { describePlacement, describeTrack, PLACEMENT_MARKS, placementMarks, placementSeries, trackOf } from '../webview/src/placement';
import { trackAt, type Track } from '../protocol/placement';
import { placedAt, type Alignment } from '../daemon/engine/result';
import { placementAt, type Keyframe } from '../daemon/engine/spatial/keyframes';
import {
  bounds,
  clampSpan,
  DEBOUNCE_MS,
  follow,
  FRAME_TIMEOUT_MS,
  frameAtTime,
  initialState,
  keyTarget,
  panBy,
  place,
  previewWidth,
  pxToTime,
  reduce,
  restorePlace,
  timeToPx,
  zoomAbout,
  type Action,
  type Effect,
  type State,
} from '../webview/src/state';

/** A map like the sample's: fg at 30 fps over bg at 25 fps, starting 1.5 s into bg. */
function view(n = 90, project = 'file:///p/demo.vidkompy.json', shift = 0): AlignmentView {
  const fgTimes = Array.from({ length: n }, (_, i) => i / 30);
  const bgFrameForFg = fgTimes.map((t) => Math.round((1.5 + t) * 25) + shift);
  const video = { uri: 'file:///p/v.mp4', width: 720, height: 405, fps: 25, frameCount: 190, duration: 7.6, codec: 'h264', vfr: false, rotation: 0, audio: null };
  return {
    project,
    bg: video,
    fg: { ...video, width: 400, height: 240, fps: 30, frameCount: n, duration: n / 30, contentRect: { x: 0, y: 0, width: 400, height: 240 } },
    spatial: { x: 160, y: 80, scale: 1, confidence: 0.99 },
    bgFrameForFg,
    bgTimeForFg: bgFrameForFg.map((j) => j / 25),
    fgTimes,
    confidence: fgTimes.map(() => 0.95),
    anchors: [],
    cuts: [],
    stale: false,
  };
}

function frame(fgFrame: number, bgFrame = 0): FrameResult {
  return { fgFrame, bgFrame, fg: 'data:,', bg: 'data:,', composite: 'data:,', box: { x: 1, y: 2, width: 3, height: 4 } };
}

/** Runs actions in order at the given times; returns the final state and every effect. */
function run(s: State, steps: [number, Action][]): { state: State; effects: Effect[] } {
  const effects: Effect[] = [];
  for (const [now, a] of steps) {
    const r = reduce(s, a, now);
    s = r.state;
    effects.push(...r.effects);
  }
  return { state: s, effects };
}

const msg = (message: ToWebview): Action => ({ type: 'message', message });
const posts = (effects: Effect[]): FromWebview[] => effects.flatMap((e) => (e.kind === 'post' ? [e.message] : []));
const requests = (effects: Effect[]) => posts(effects).filter((m) => m.type === 'requestFrame');

/** A page that has its layout and an alignment, and shows frame 0. */
function ready(v = view()): State {
  const r = run(initialState(), [
    [0, { type: 'resize', width: 640 }],
    [100, { type: 'flush' }],
    [100, msg({ type: 'alignment', view: v })],
    [150, msg({ type: 'frame', frame: frame(0) })],
  ]);
  assert.equal(r.state.inFlight, null);
  return r.state;
}

describe('webview state: messages', () => {
  it('a null alignment keeps the reason and the place; a new one asks for the current frame', () => {
    let s = initialState({ project: 'file:///p/demo.vidkompy.json', fgFrame: 12, mode: 'difference' });
    s = run(s, [[0, { type: 'resize', width: 640 }], [90, { type: 'flush' }]]).state;
    const none = reduce(s, msg({ type: 'alignment', view: null, reason: 'not aligned yet' }), 100);
    assert.equal(none.state.reason, 'not aligned yet');
    assert.equal(none.state.fgFrame, 12);
    assert.deepEqual(requests(none.effects), [], 'nothing to ask for without a map');
    const got = reduce(none.state, msg({ type: 'alignment', view: view() }), 200);
    assert.equal(got.state.reason, null);
    assert.equal(got.state.fgFrame, 12, 'restored place kept');
    assert.equal(got.state.mode, 'difference');
    assert.deepEqual(requests(got.effects), [{ type: 'requestFrame', fgFrame: 12, width: 640 }]);
  });

  it('busy, error and theme messages', () => {
    let s = ready();
    s = reduce(s, msg({ type: 'busy', busy: true, progress: 0.25, stage: 'temporal' }), 200).state;
    assert.deepEqual(s.busy, { progress: 0.25, stage: 'temporal' });
    s = reduce(s, msg({ type: 'busy', busy: false }), 210).state;
    assert.equal(s.busy, null);
    s = reduce(s, msg({ type: 'error', message: 'fg.mp4: file not found' }), 220).state;
    assert.equal(s.error, 'fg.mp4: file not found');
    const v = s.themeVersion;
    s = reduce(s, msg({ type: 'theme', kind: 'light' }), 230).state;
    assert.equal(s.themeVersion, v + 1);
  });

  it('a failed frame request is not asked again in a loop, but a move asks again', () => {
    let s = ready();
    let r = run(s, [[200, { type: 'scrub', fgFrame: 5 }], [300, { type: 'flush' }]]);
    assert.deepEqual(requests(r.effects).map((m) => m.type === 'requestFrame' && m.fgFrame), [5]);
    r = run(r.state, [[350, msg({ type: 'error', message: 'decode failed', fgFrame: 5 })], [400, { type: 'flush' }]]);
    assert.equal(r.state.error, 'decode failed');
    assert.equal(r.state.inFlight, null);
    assert.deepEqual(requests(r.effects), []);
    s = r.state;
    r = run(s, [[500, { type: 'scrub', fgFrame: 6 }], [600, { type: 'flush' }]]);
    assert.deepEqual(requests(r.effects).map((m) => m.type === 'requestFrame' && m.fgFrame), [6]);
  });

  it('goto moves and asks at once', () => {
    const r = reduce(ready(), msg({ type: 'goto', fgFrame: 40 }), 300);
    assert.equal(r.state.fgFrame, 40);
    assert.deepEqual(requests(r.effects), [{ type: 'requestFrame', fgFrame: 40, width: 640 }]);
  });

  it('the message guards accept what the types describe and reject the rest', () => {
    assert.ok(isToWebview({ type: 'alignment', view: null, reason: 'x' }));
    assert.ok(isToWebview({ type: 'alignment', view: view() }));
    assert.ok(isToWebview({ type: 'frame', frame: frame(3) }));
    assert.ok(!isToWebview({ type: 'frame', frame: null }));
    assert.ok(!isToWebview({ type: 'alignment', view: { project: 'x' } }));
    const tracked = (track: unknown) => ({ type: 'alignment', view: { ...view(), spatial: { ...view().spatial, placement: 'tracked', track } } });
    assert.ok(isToWebview(tracked({ tolerance: 0.5, keys: [[0, 1, 2, 1]], cuts: [0] })));
    for (const bad of [{ keys: [] }, { keys: [[0, 1, 2]] }, { keys: [[0, 1, 2, '1']] }, { keys: 'x' }, { keys: [[0, 1, 2, 1]], cuts: [0.5] }]) {
      assert.ok(!isToWebview(tracked(bad)), `a track the plot cannot read: ${JSON.stringify(bad)}`);
    }
    assert.ok(!isToWebview({ type: 'toString' }));
    assert.ok(!isToWebview('alignment'));
    assert.ok(!isToWebview(null));
    assert.ok(isFromWebview({ type: 'pin', fgFrame: 1, bgFrame: 2, fgTime: 0, bgTime: 0 }));
    assert.ok(!isFromWebview({ type: 'frame' }));
  });
});

describe('webview state: scrubbing', () => {
  it('keys step, page by a second of fg, jump to the ends and clamp', () => {
    assert.equal(keyTarget('ArrowRight', 5, 90, 30), 6);
    assert.equal(keyTarget('ArrowUp', 5, 90, 30), 6);
    assert.equal(keyTarget('ArrowLeft', 5, 90, 30), 4);
    assert.equal(keyTarget('ArrowDown', 0, 90, 30), 0);
    assert.equal(keyTarget('PageUp', 5, 90, 30), 35);
    assert.equal(keyTarget('PageUp', 80, 90, 30), 89);
    assert.equal(keyTarget('PageDown', 20, 90, 30), 0);
    assert.equal(keyTarget('Home', 50, 90, 30), 0);
    assert.equal(keyTarget('End', 5, 90, 30), 89);
    assert.equal(keyTarget('a', 5, 90, 30), null);

    let s = ready();
    s = reduce(s, { type: 'key', key: 'End' }, 200).state;
    assert.equal(s.fgFrame, 89);
    s = reduce(s, { type: 'key', key: 'ArrowRight' }, 210).state;
    assert.equal(s.fgFrame, 89, 'clamped at the end');
    s = reduce(s, { type: 'key', key: 'PageDown' }, 220).state;
    assert.equal(s.fgFrame, 59, 'a page is fg.fps frames');
    s = reduce(s, { type: 'scrub', fgFrame: -4 }, 230).state;
    assert.equal(s.fgFrame, 0);
    s = reduce(s, { type: 'scrub', fgFrame: 7.6 }, 240).state;
    assert.equal(s.fgFrame, 8, 'whole frames');
  });

  it('scrubbing while zoomed keeps the frame in view', () => {
    let s = ready();
    s = reduce(s, { type: 'zoomTo', span: { min: 0, max: 1 } }, 200).state;
    s = reduce(s, { type: 'scrub', fgFrame: 45 }, 210).state;
    const t = s.view!.fgTimes[45];
    assert.ok(s.zoom && s.zoom.min <= t && t <= s.zoom.max, JSON.stringify(s.zoom));
    assert.ok(Math.abs(s.zoom!.max - s.zoom!.min - 1) < 1e-9, 'zoom level kept');
  });
});

describe('webview state: zoom and pan', () => {
  const b = { min: 0, max: 10 };

  it('time and pixels round-trip', () => {
    const span = { min: 2.5, max: 7.25 };
    for (const t of [2.5, 3, 5.125, 7.25, 9]) assert.ok(Math.abs(pxToTime(timeToPx(t, span, 613), span, 613) - t) < 1e-12);
    for (const px of [0, 1, 306.5, 613]) assert.ok(Math.abs(timeToPx(pxToTime(px, span, 613), span, 613) - px) < 1e-9);
    assert.equal(timeToPx(2.5, span, 613), 0);
    assert.equal(timeToPx(7.25, span, 613), 613);
  });

  it('zooming about the cursor keeps the point under the cursor fixed', () => {
    const span = { min: 2, max: 8 };
    const width = 500;
    for (const px of [37, 250, 480]) {
      const at = pxToTime(px, span, width);
      for (const f of [0.5, 0.8, 1.25]) {
        const z = zoomAbout(span, f, at, b, 0.1);
        assert.ok(Math.abs(timeToPx(at, z, width) - px) < 1e-9, `px ${px} factor ${f}: ${JSON.stringify(z)}`);
        assert.ok(Math.abs(z.max - z.min - 6 * f) < 1e-9);
      }
    }
  });

  it('clamps to the data: never past either end, never narrower than the minimum nor wider than everything', () => {
    assert.deepEqual(zoomAbout({ min: 0, max: 10 }, 4, 5, b, 0.1), b);
    const left = zoomAbout({ min: 0, max: 4 }, 1.5, 0.2, b, 0.1);
    assert.ok(left.min >= 0 && Math.abs(left.max - left.min - 6) < 1e-9, JSON.stringify(left));
    const tiny = zoomAbout({ min: 4, max: 5 }, 0.001, 4.5, b, 0.25);
    assert.ok(Math.abs(tiny.max - tiny.min - 0.25) < 1e-9);
    assert.deepEqual(panBy({ min: 2, max: 4 }, -5, b), { min: 0, max: 2 });
    assert.deepEqual(panBy({ min: 2, max: 4 }, 100, b), { min: 8, max: 10 });
    assert.deepEqual(panBy({ min: 2, max: 4 }, 1, b), { min: 3, max: 5 });
    assert.deepEqual(clampSpan({ min: -3, max: 20 }, b, 1), b);
    assert.deepEqual(follow({ min: 2, max: 4 }, 3, b), { min: 2, max: 4 });
    const f = follow({ min: 2, max: 4 }, 6, b);
    assert.ok(f.min <= 6 && 6 <= f.max && Math.abs(f.max - f.min - 2) < 1e-9);
  });

  it('through the reducer: zoom in, pan, zoom out to everything (stored as null)', () => {
    let s = ready();
    const full = bounds(s.view!);
    s = reduce(s, { type: 'zoom', factor: 0.5, at: 1 }, 200).state;
    assert.ok(s.zoom && Math.abs(s.zoom.max - s.zoom.min - (full.max - full.min) / 2) < 1e-9);
    assert.ok(Math.abs(timeToPx(1, s.zoom, 100) - timeToPx(1, full, 100)) < 1e-9, 'the time under the cursor stays put');
    const before = s.zoom;
    s = reduce(s, { type: 'pan', by: 0.2 }, 210).state;
    assert.ok(Math.abs(s.zoom!.min - before.min - 0.2) < 1e-9);
    s = reduce(s, { type: 'zoom', factor: 8, at: 1 }, 220).state;
    assert.equal(s.zoom, null, 'the whole map is no zoom');
    s = reduce(s, { type: 'zoomTo', span: { min: 0.5, max: 0.6 } }, 230).state;
    assert.ok(Math.abs(s.zoom!.max - s.zoom!.min - 8 / 30) < 1e-9, 'at least 8 frames wide');
  });

  it('nearest frame at a time, and the preview width in steps', () => {
    const v = view();
    assert.equal(frameAtTime(v, -1), 0);
    assert.equal(frameAtTime(v, 0.049), 1);
    assert.equal(frameAtTime(v, 0.51), 15);
    assert.equal(frameAtTime(v, 99), 89);
    assert.equal(previewWidth(700, 1), 640);
    assert.equal(previewWidth(700, 2), 1280);
    assert.equal(previewWidth(40, 1), 40);
    assert.equal(previewWidth(0, 1), 0);
  });
});

describe('webview state: a new alignment keeps the user\'s place', () => {
  it('same frame, same zoom window, and the frame is fetched again', () => {
    let s = ready();
    s = run(s, [[200, { type: 'scrub', fgFrame: 40 }], [300, { type: 'flush' }], [320, msg({ type: 'frame', frame: frame(40) })]]).state;
    s = reduce(s, { type: 'zoomTo', span: { min: 1, max: 2 } }, 330).state;
    const r = reduce(s, msg({ type: 'alignment', view: view(90, undefined, 1) }), 400);
    assert.equal(r.state.fgFrame, 40);
    assert.deepEqual(r.state.zoom, { min: 1, max: 2 });
    assert.equal(r.state.view!.bgFrameForFg[40], s.view!.bgFrameForFg[40] + 1);
    assert.deepEqual(requests(r.effects), [{ type: 'requestFrame', fgFrame: 40, width: 640 }], 'its bg frame may have moved');
  });

  it('a shorter map clamps the frame and the window', () => {
    let s = ready();
    s = reduce(s, { type: 'scrub', fgFrame: 80 }, 200).state;
    s = reduce(s, { type: 'zoomTo', span: { min: 2, max: 2.9 } }, 210).state;
    s = reduce(s, msg({ type: 'alignment', view: view(40) }), 300).state;
    assert.equal(s.fgFrame, 39);
    const b = bounds(s.view!);
    assert.ok(s.zoom && s.zoom.max <= b.max + 1e-9 && s.zoom.min >= b.min, JSON.stringify(s.zoom));
    assert.ok(Math.abs(s.zoom.max - s.zoom.min - 0.9) < 1e-9, 'same zoom level, moved inside');
  });

  it('a provisional (coarse) map is drawn but asks for no frames and pins nothing; the result then asks', () => {
    let s = ready();
    s = run(s, [[200, { type: 'scrub', fgFrame: 40 }], [300, { type: 'flush' }], [320, msg({ type: 'frame', frame: frame(40) })]]).state;
    s = reduce(s, msg({ type: 'busy', busy: true, progress: 0.3, stage: 'decoding' }), 330).state;
    const coarse = reduce(s, msg({ type: 'alignment', view: { ...view(90, undefined, 2), provisional: true } }), 400);
    assert.equal(coarse.state.view?.provisional, true);
    assert.equal(coarse.state.fgFrame, 40, 'the place is kept');
    assert.deepEqual(coarse.state.busy, { progress: 0.3, stage: 'decoding' }, 'its align still runs: the progress stays');
    assert.deepEqual(requests(coarse.effects), [], 'no saved alignment behind it: no frames');
    const moved = run(coarse.state, [[500, { type: 'scrub', fgFrame: 50 }], [600, { type: 'flush' }], [610, { type: 'pin' }]]);
    assert.deepEqual(posts(moved.effects), [], 'scrubbing a coarse map asks for nothing, and a pin is refused');
    assert.equal(moved.state.fgFrame, 50);
    const final = reduce(moved.state, msg({ type: 'alignment', view: view(90, undefined, 1) }), 700);
    assert.equal(final.state.busy, null);
    assert.deepEqual(requests(final.effects), [{ type: 'requestFrame', fgFrame: 50, width: 640 }], 'the result brings the frame');
  });

  it('another project starts from the beginning', () => {
    let s = ready();
    s = reduce(s, { type: 'scrub', fgFrame: 50 }, 200).state;
    s = reduce(s, { type: 'zoomTo', span: { min: 1, max: 2 } }, 210).state;
    s = reduce(s, msg({ type: 'alignment', view: view(90, 'file:///p/other.vidkompy.json') }), 300).state;
    assert.equal(s.fgFrame, 0);
    assert.equal(s.zoom, null);
  });

  it('the persisted place survives a JSON round trip and junk is ignored', () => {
    let s = ready();
    s = run(s, [[200, { type: 'scrub', fgFrame: 33 }], [210, { type: 'zoomTo', span: { min: 0.5, max: 1.5 } }], [220, { type: 'mode', mode: 'onion' }], [230, { type: 'opacity', value: 0.3 }]]).state;
    const again = initialState(JSON.parse(JSON.stringify(place(s))));
    assert.deepEqual(place(again), place(s));
    assert.deepEqual(restorePlace({ fgFrame: -1, mode: 'sideways', opacity: 7, zoom: { min: 3, max: 1 } }), {});
    assert.deepEqual(restorePlace('garbage'), {});
  });
});

describe('webview state: frame requests', () => {
  it('debounced: a burst of scrubs asks once, for the last frame, after the quiet time', () => {
    const s = ready();
    const burst: [number, Action][] = [1, 2, 3, 4, 5, 6].map((f, i) => [200 + i * 10, { type: 'key', key: 'ArrowRight' }]);
    const r = run(s, burst);
    assert.deepEqual(requests(r.effects), [], 'nothing while keys are still coming');
    const wakes = r.effects.filter((e) => e.kind === 'wake');
    assert.ok(wakes.length === 6 && wakes.every((e) => e.kind === 'wake' && e.ms === DEBOUNCE_MS));
    const f = reduce(r.state, { type: 'flush' }, 260 + DEBOUNCE_MS);
    assert.deepEqual(requests(f.effects), [{ type: 'requestFrame', fgFrame: 6, width: 640 }]);
  });

  it('never more than one outstanding; the latest wins when the reply comes', () => {
    let s = ready();
    let r = run(s, [[200, { type: 'scrub', fgFrame: 10 }], [300, { type: 'flush' }]]);
    assert.equal(requests(r.effects).length, 1);
    s = r.state;
    r = run(s, [
      [310, { type: 'scrub', fgFrame: 20 }],
      [400, { type: 'flush' }],
      [410, { type: 'scrub', fgFrame: 30 }],
      [500, { type: 'flush' }],
    ]);
    assert.deepEqual(requests(r.effects), [], 'frame 10 is still on its way');
    r = run(r.state, [[600, msg({ type: 'frame', frame: frame(10) })]]);
    assert.equal(r.state.frame?.fgFrame, 10, 'shown: nearer than what was there');
    assert.deepEqual(requests(r.effects), [{ type: 'requestFrame', fgFrame: 30, width: 640 }], '20 is skipped');
    r = run(r.state, [[700, msg({ type: 'frame', frame: frame(30) })], [800, { type: 'flush' }]]);
    assert.deepEqual(requests(r.effects), [], 'up to date');
    assert.equal(r.state.inFlight, null);
  });

  it('a lost reply is asked again after the timeout; a late stale reply is ignored', () => {
    let s = ready();
    let r = run(s, [[200, { type: 'scrub', fgFrame: 10 }], [300, { type: 'flush' }]]);
    s = r.state;
    r = run(s, [[400, { type: 'flush' }]]);
    assert.deepEqual(requests(r.effects), []);
    assert.ok(r.effects.some((e) => e.kind === 'wake' && e.ms === 300 + FRAME_TIMEOUT_MS - 400), 'wakes when the wait is over');
    r = run(r.state, [[300 + FRAME_TIMEOUT_MS, { type: 'flush' }]]);
    assert.deepEqual(requests(r.effects), [{ type: 'requestFrame', fgFrame: 10, width: 640 }]);
    r = run(r.state, [[6000, { type: 'scrub', fgFrame: 12 }], [6100, { type: 'flush' }], [6200, msg({ type: 'frame', frame: frame(11) })]]);
    assert.notEqual(r.state.frame?.fgFrame, 11);
  });

  it('a resize asks for the same frame at the new width, once the resizing stops', () => {
    const s = ready();
    const r = run(s, [[200, { type: 'resize', width: 960 }], [210, { type: 'resize', width: 1024 }]]);
    assert.deepEqual(requests(r.effects), []);
    const f = reduce(r.state, { type: 'flush' }, 300);
    assert.deepEqual(requests(f.effects), [{ type: 'requestFrame', fgFrame: 0, width: 1024 }]);
  });

  it('nothing is asked before the layout is known', () => {
    const r = run(initialState(), [[0, msg({ type: 'alignment', view: view() })], [100, { type: 'flush' }]]);
    assert.deepEqual(requests(r.effects), []);
  });
});

describe('webview state: user requests', () => {
  it('pin sends the current fg frame with its mapped bg frame and both times', () => {
    let s = ready();
    s = reduce(s, { type: 'scrub', fgFrame: 45 }, 200).state;
    const r = reduce(s, { type: 'pin' }, 210);
    const v = s.view!;
    assert.deepEqual(posts(r.effects), [{ type: 'pin', fgFrame: 45, bgFrame: v.bgFrameForFg[45], fgTime: v.fgTimes[45], bgTime: v.bgTimeForFg[45] }]);
    assert.equal(r.state, s, 'the webview changes nothing itself: the edit comes back as a new alignment');
    assert.deepEqual(posts(reduce(initialState(), { type: 'pin' }, 0).effects), [], 'nothing to pin without a map');
  });

  it('reveal and realign are passed on; mode and opacity are checked', () => {
    const s = ready();
    assert.deepEqual(posts(reduce(s, { type: 'reveal', anchor: 2 }, 0).effects), [{ type: 'reveal', anchor: 2 }]);
    assert.deepEqual(posts(reduce(s, { type: 'reveal' }, 0).effects), [{ type: 'reveal' }]);
    assert.deepEqual(posts(reduce(s, { type: 'realign' }, 0).effects), [{ type: 'realign' }]);
    assert.equal(reduce(s, { type: 'mode', mode: 'side' }, 0).state.mode, 'side');
    assert.equal(reduce(s, { type: 'mode', mode: 'bogus' as never }, 0).state.mode, s.mode);
    assert.equal(reduce(s, { type: 'opacity', value: 3 }, 0).state.opacity, 1);
  });
});

describe('webview plot: the drift line and the marks', () => {
  /** bg frame times for fg frames at `fgFps` when bg time = speed · fg time + start, rounded to bg's frames. */
  const map = (n: number, fgFps: number, bgFps: number, start: number, speed = 1) => {
    const fgTimes = Array.from({ length: n }, (_, i) => i / fgFps);
    return { fgTimes, bgTimeForFg: fgTimes.map((t) => Math.round((start + speed * t) * bgFps) / bgFps), bgFps };
  };

  it('fits a clean rate change exactly, however short: no saw-tooth and no false drift', () => {
    for (const [n, fgFps, bgFps] of [
      [90, 30, 25],
      [40, 30, 25],
      [300, 25, 30],
      [600, 30000 / 1001, 24],
    ]) {
      const m = map(n, fgFps, bgFps, 1.5);
      const [seg] = fitDrift(m);
      const fitted = fittedOffsets([seg], m.fgTimes);
      const raw = m.fgTimes.map((t, i) => m.bgTimeForFg[i] - t);
      const saw = Math.max(...raw) - Math.min(...raw);
      // The true offset is 1.5 s at every frame; the per-frame offsets scatter around it by up to half a bg frame.
      assert.ok(saw > 0.5 / bgFps, `${n} frames ${fgFps.toFixed(2)}→${bgFps}: the per-frame offset saws by ${(saw * 1000).toFixed(1)} ms`);
      const worst = Math.max(...fitted.map((o) => Math.abs(o - 1.5)));
      assert.ok(worst < 0.02 / bgFps, `${n} frames ${fgFps.toFixed(2)}→${bgFps}: fitted offset within ${(worst * 1000).toFixed(3)} ms of 1.5 s`);
    }
  });

  it('a slow drift is a straight slope, not a staircase; stray frames do not move it', () => {
    // 29.97 fps content labelled 30 in bg: one bg frame of drift every 33 s, over two minutes.
    const m = map(3600, 30, 30, 2, 1.001);
    const [seg] = fitDrift(m);
    assert.ok(Math.abs(seg.slope - 1.001) < 1e-6, `slope ${seg.slope}`);
    assert.ok(Math.abs(seg.intercept - 2) < 0.002, `intercept ${seg.intercept}`);
    const stray = { ...m, bgTimeForFg: m.bgTimeForFg.map((b, i) => (i % 97 === 0 ? b + 0.5 : b)) };
    const [s2] = fitDrift(stray);
    assert.ok(Math.abs(s2.slope - 1.001) < 1e-5 && Math.abs(s2.intercept - 2) < 0.005, JSON.stringify(s2));
    // The plain least-squares line through the same whole frames is tilted by the saw's phase.
    const short = map(90, 30, 25, 1.4);
    const ls = robustLine(short.fgTimes, short.bgTimeForFg);
    const [fit] = fitDrift(short);
    assert.ok(Math.abs(fit.slope - 1) < Math.abs(ls.slope - 1) / 10, `band centre ${fit.slope} vs least squares ${ls.slope}`);
  });

  it('breaks at cuts with one slope for all stretches; uncertain frames are left out', () => {
    const a = map(60, 30, 25, 1.5);
    const b = map(60, 30, 25, 9.0);
    const fgTimes = [...a.fgTimes, ...b.fgTimes.map((t) => t + 2)];
    const bgTimeForFg = [...a.bgTimeForFg, ...b.bgTimeForFg.map((t) => t + 2)];
    // Frames 70..80 matched to nonsense, and said to be uncertain.
    for (let i = 70; i <= 80; i++) bgTimeForFg[i] = 40 + i;
    const segs = fitDrift({ fgTimes, bgTimeForFg, bgFps: 25, cuts: [60], uncertain: [[70, 80]] });
    assert.deepEqual(
      segs.map((s) => [s.first, s.last]),
      [
        [0, 59],
        [60, 119],
      ],
    );
    assert.ok(segs.every((s) => Math.abs(s.slope - 1) < 1e-6), JSON.stringify(segs));
    const off = fittedOffsets(segs, fgTimes);
    assert.ok(Math.abs(off[10] - 1.5) < 0.002 && Math.abs(off[100] - 9) < 0.002, `${off[10]} ${off[100]}`);
    // A one-frame stretch runs through its own point.
    const one = fitDrift({ fgTimes: [0, 0.04, 0.08], bgTimeForFg: [1, 1.04, 5], bgFps: 25, cuts: [2] });
    assert.equal(fittedOffsets(one, [0, 0.04, 0.08])[2], 5 - 0.08);
    assert.deepEqual(fitDrift({ fgTimes: [], bgTimeForFg: [], bgFps: 25 }), []);
  });

  it('the engine and the preview share one robust line', () => {
    assert.equal(engineLine, robustLine);
  });

  it('the legend lists exactly the kinds of mark a view draws; a drift is reported only when the map shows one', () => {
    const v = view();
    assert.deepEqual(markKinds(v), ['map', 'fit', 'frames', 'confidence', 'cursor']);
    const full = { ...v, anchors: [{ fg: 1, bg: 2.5 }], cuts: [40], uncertain: [[10, 20]] as [number, number][] };
    assert.deepEqual(markKinds(full), Object.keys(MARKS));
    assert.equal(driftPerMinute(v), null, '30 fps over 25 fps with no drift');
    assert.ok(Math.abs(fitOf(v).fitted[0] - 1.5) < 1e-3, `offset ${fitOf(v).fitted[0]}`);
    // 0.5% fast: 0.3 s of bg a minute; over 3 s that is 15 ms, less than the bg frame it is measured in.
    const fast = (n: number) => {
      const w = view(n);
      return { ...w, bgTimeForFg: w.fgTimes.map((t) => Math.round((1.5 + 1.005 * t) * 25) / 25) };
    };
    assert.equal(driftPerMinute(fast(90)), null);
    const d = driftPerMinute(fast(900));
    assert.ok(d !== null && Math.abs(d - 0.3) < 0.001, `drift ${d}`);
  });
});

describe('webview plot: the placement of a tracked alignment', () => {
  /** Pans right, stops, then a cut to another window that shrinks. */
  const track: Track = {
    tolerance: 0.5,
    keys: [
      [0, 100, 50, 1],
      [30, 160, 60, 1],
      [45, 160, 60, 1],
      [60, 300, 10, 0.9],
      [89, 320, 20, 0.8],
    ],
    cuts: [60],
  };
  const tracked = (v = view()): AlignmentView => ({ ...v, spatial: { ...v.spatial, x: 100, y: 50, placement: 'tracked', track } });

  it('one formula: the preview reads the keys as the engine does, at every frame and between frames', () => {
    const spatial: Alignment['spatial'] = { x: 100, y: 50, scale: 1, confidence: 1, method: 'auto', placement: 'tracked', track };
    // The tracker's own reading of its keyframes (spatial/keyframes.ts), written apart from it.
    const keyframes: Keyframe[] = track.keys.map(([f, x, y, scale]) => ({ f, x, y, scale, ...(track.cuts?.includes(f) ? { cut: true } : {}) }));
    for (let f = -2; f <= 92; f += 0.5) {
      assert.deepEqual(trackAt(track, f), placedAt(spatial, f), `frame ${f}`);
      const { x, y, scale } = placementAt(keyframes, f);
      assert.deepEqual(trackAt(track, f), { x, y, scale }, `frame ${f}, as the tracker reads it`);
    }
    assert.deepEqual(trackAt(track, 15), { x: 130, y: 55, scale: 1 }, 'half way along a line');
    assert.deepEqual(trackAt(track, 59), { x: 160, y: 60, scale: 1 }, 'held up to the cut');
    assert.deepEqual(trackAt(track, 60), { x: 300, y: 10, scale: 0.9 }, 'the cut jumps');
  });

  it('a fixed view has no placement plot; a tracked one has its track', () => {
    assert.equal(trackOf(view()), null);
    assert.equal(trackOf({ ...view(), spatial: { ...view().spatial, placement: 'fixed' } }), null);
    assert.equal(trackOf(tracked()), track);
  });

  it('the lines run through fg\'s ends, every keyframe and the frame before a cut, broken at the cut: the placement at every frame', () => {
    const v = tracked();
    const s = placementSeries(v, track);
    const t = (f: number) => v.fgTimes[f];
    const gap = (t(59) + t(60)) / 2;
    assert.deepEqual(s.t, [t(0), t(30), t(45), t(59), gap, t(60), t(89)]);
    assert.deepEqual(s.x, [100, 160, 160, 160, null, 300, 320]);
    assert.deepEqual(s.scale, [1, 1, 1, 1, null, 0.9, 0.8]);
    // Straight between the points drawn, at every frame: what the plot shows is the placement.
    const drawnAt = (time: number): number => {
      const i = s.t.findIndex((x, k) => x === time || (x < time && s.t[k + 1] > time));
      if (s.t[i] === time) return s.x[i]!;
      const [a, b] = [s.x[i], s.x[i + 1]];
      assert.ok(a !== null && b !== null, `no break inside a frame's run (${time})`);
      return a + ((b - a) * (time - s.t[i])) / (s.t[i + 1] - s.t[i]);
    };
    for (let f = 0; f < v.fgTimes.length; f++) {
      assert.ok(Math.abs(drawnAt(v.fgTimes[f]) - trackAt(track, f).x) < 1e-6, `frame ${f}: drawn ${drawnAt(v.fgTimes[f])}, placed ${trackAt(track, f).x}`);
    }
    // Keys past the map are left out (a shorter map); a track that starts late is held from frame 0.
    const late: Track = { tolerance: 0.5, keys: [[10, 5, 6, 1], [200, 9, 9, 1]] };
    const l = placementSeries(v, late);
    assert.deepEqual([l.t[0], l.x[0]], [t(0), 5]);
    assert.equal(l.t[l.t.length - 1], t(89));
  });

  it('the legend has a cut only when the track has one; the labels say the keyframes and the ranges', () => {
    const v = tracked();
    assert.deepEqual(placementMarks(v, track), Object.keys(PLACEMENT_MARKS));
    assert.deepEqual(placementMarks(v, { ...track, cuts: undefined }), ['x', 'y', 'scale', 'keyframe', 'cursor']);
    assert.equal(describeTrack(v, track), '5 keyframes, 1 cut: x 100 → 320, y 50 → 20 bg px, scale 1.000 → 0.800');
    assert.equal(describePlacement(trackAt(track, 10)), 'x 120 y 53.3 scale 1.000');
  });
});

describe('webview page', () => {
  it('has a strict CSP: the webview source only, data: images, the script by nonce, nothing inline', () => {
    const nonce = 'abcdefghijklmnopqrstuvwxyz012345';
    const src = 'https://file+.vscode-resource.vscode-cdn.net';
    const html = previewHtml({ scriptUri: `${src}/dist/webview/main.js`, styleUri: `${src}/dist/webview/main.css`, cspSource: src, nonce });
    const csp = contentSecurityPolicy(src, nonce);
    assert.ok(html.includes(`content="${csp}"`));
    assert.match(csp, /^default-src 'none';/);
    assert.match(csp, new RegExp(`img-src ${src.replace(/[.+]/g, '\\$&')} data:`));
    assert.match(csp, new RegExp(`script-src ${src.replace(/[.+]/g, '\\$&')} 'nonce-${nonce}'`));
    assert.doesNotMatch(csp, /unsafe-(inline|eval)/);
    assert.deepEqual(html.match(/<script[^>]*>/g), [`<script nonce="${nonce}" src="${src}/dist/webview/main.js">`]);
    assert.doesNotMatch(html, /\sstyle=|<style/, 'no inline styles');
    assert.doesNotMatch(html, /\son[a-z]+=/, 'no inline handlers');
    assert.throws(() => previewHtml({ scriptUri: 'a', styleUri: 'b', cspSource: src, nonce: 'short' }), /nonce/);
    assert.ok(previewHtml({ scriptUri: 'x"><script>', styleUri: 'b', cspSource: src, nonce }).includes('x&quot;&gt;&lt;script&gt;'), 'attributes escaped');
  });
});
