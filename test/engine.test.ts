import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { contentRect } from '../daemon/engine/spatial/content';
import { correlate, fft2, nextPow2 } from '../daemon/engine/spatial/fft';
import { crop, ncc, resize, resizedTemplate, resizeRegion, resizeWindow, template, toGray, type Gray } from '../daemon/engine/image';
import { layoutJson, readAlignment } from '../daemon/store';
import { coarseSearch, refine } from '../daemon/engine/spatial/search';
import { jointRefine, pickPairs, seekCost } from '../daemon/engine/spatial/joint';
import type { AlignContext } from '../daemon/engine/context';
import { countDecodes, decodeStats } from '../daemon/media/decodestats';
import { alignTemporal, usualSlope } from '../daemon/engine/temporal/solve';
import { steadyPacing } from '../daemon/engine/temporal/steady';
import { ratePieces, usualRate } from '../daemon/engine/temporal/pieces';
import { subFrame, timeAt } from '../daemon/engine/temporal/subframe';
import { frameMap } from '../daemon/media/derive';
import { uncertainSpans } from '../daemon/engine/temporal/uncertain';
import { foreignPixels } from '../daemon/engine/descriptors/foreign';
import { pixelDescriptors, pixelsKind } from '../daemon/engine/descriptors/pixels';
import { robustLine } from '../daemon/core/line';
import { explainFailure, passthroughArgs, readFrames, runTool, showinfoTime } from '../daemon/media/ffmpeg';
import { probe } from '../daemon/media/probe';
import { derived, HAVE_SHARED, media, NO_SHARED, SAMPLE, tempDir } from './support/media';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

/** A smooth random texture (sum of blurred noise), the kind of image NCC search is made for. */
function texture(w: number, h: number, seed: number): Gray {
  const r = rng(seed);
  const coarse = new Float32Array(((w >> 3) + 2) * ((h >> 3) + 2)).map(() => r() * 255);
  const cw = (w >> 3) + 2;
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const fx = x / 8;
      const fy = y / 8;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const ax = fx - x0;
      const ay = fy - y0;
      const v =
        (1 - ay) * ((1 - ax) * coarse[y0 * cw + x0] + ax * coarse[y0 * cw + x0 + 1]) +
        ay * ((1 - ax) * coarse[(y0 + 1) * cw + x0] + ax * coarse[(y0 + 1) * cw + x0 + 1]);
      data[y * w + x] = v * 0.8 + r() * 0.2 * 255;
    }
  return { data, width: w, height: h };
}

describe('probe', () => {
  it('reads the bundled sample', async () => {
    const p = await probe(SAMPLE);
    assert.deepEqual([p.width, p.height, p.fps, p.frameCount, p.codec, p.vfr, p.audio], [720, 405, 25, 190, 'mpeg2video', false, null]);
  });

  const table: [string, number, number, number, number, boolean][] = [
    ['box.mp4', 640, 480, 29.97, 456, true],
    ['vtest.avi', 768, 576, 10, 795, false],
    ['cockatoo.mp4', 1280, 720, 20, 280, true],
    ['diver.mov', 640, 480, 25, 351, true],
    // Stored 720×576 with 16:15 pixels (PAL 4:3): shown, and decoded, 768×576.
    ['balle-jbart.mp4', 768, 576, 25, 255, true],
    ['chaplin.mp4', 640, 360, 25, 241, true],
  ];
  for (const [name, w, h, fps, frames, audio] of table) {
    it(`reads ${name}`, { skip: HAVE_SHARED ? false : NO_SHARED }, async () => {
      const p = await probe(media(name));
      assert.deepEqual([p.width, p.height, p.frameCount, !!p.audio], [w, h, frames, audio]);
      assert.ok(Math.abs(p.nominalFps - fps) < 0.01, `${p.nominalFps}`);
    });
  }

  it('applies rotation metadata to the display size', async () => {
    const dir = await tempDir('probe');
    const plain = path.join(dir, 'plain.mp4');
    const file = path.join(dir, 'rotated.mp4');
    // A phone-style clip: stored landscape, flagged to display rotated (set on a remux, as cameras do).
    await runTool('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=160x90:d=0.5', '-c:v', 'libx264', plain], {
      file,
      what: 'fixture',
    });
    // ffmpeg 7+ sets the display matrix with -display_rotation (the old rotate tag is ignored).
    await runTool('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-display_rotation:v:0', '90', '-i', plain, '-c', 'copy', file], { file, what: 'fixture' });
    const p = await probe(file);
    assert.ok([90, 270].includes(p.rotation), `rotation ${p.rotation}`);
    assert.deepEqual([p.width, p.height], [90, 160]);
    let n = 0;
    for await (const f of readFrames({ file, pixFmt: 'gray', width: p.width, height: p.height })) {
      assert.equal(f.length, 90 * 160);
      n++;
    }
    assert.equal(n, p.frameCount, 'the decoder output is rotated to match');
  });

  it('decodes every frame once, in order, with timestamps', async () => {
    const times: number[] = [];
    let n = 0;
    for await (const f of readFrames({ file: SAMPLE, pixFmt: 'gray', width: 96, height: 54, filter: 'scale=96:54', onTime: (t) => times.push(t) })) {
      assert.equal(f.length, 96 * 54);
      n++;
    }
    assert.equal(n, 190);
    assert.equal(times.length, 190);
    for (let i = 1; i < times.length; i++) assert.ok(Math.abs(times[i] - times[i - 1] - 0.04) < 1e-6);
    assert.ok((await passthroughArgs()).includes('passthrough'));
  });

  it('reads showinfo times, including the exponent form ffmpeg uses near zero', () => {
    const line = '[Parsed_showinfo_0 @ 0x1] n:   0 pts:      1 pts_time:6.51042e-05 pos:  1234 fmt:gray';
    assert.equal(showinfoTime(line), 6.51042e-5);
    assert.equal(showinfoTime('[Parsed_showinfo_0 @ 0x1] n: 12 pts: 6144 pts_time:0.4 pos: 9'), 0.4);
    assert.equal(showinfoTime('frame=  10 fps=0.0 q=-0.0 size=N/A'), undefined);
  });

  it('stops ffmpeg when the reader stops early', async () => {
    let n = 0;
    for await (const _ of readFrames({ file: SAMPLE, pixFmt: 'gray', width: 720, height: 405 })) if (++n === 3) break;
    assert.equal(n, 3);
  });

  it('turns ffmpeg stderr into an error naming the file and the fix', () => {
    const e = explainFailure('/x/a.mp4', '[mov,mp4] moov atom not found\n/x/a.mp4: Invalid data found when processing input', 'probing');
    assert.equal(e.code, 'NOT_VIDEO');
    assert.match(e.message, /^\/x\/a\.mp4: not a readable video .*re-export it or check the path$/);
  });
});

describe('content rect (letterbox detection)', () => {
  const frame = (w: number, h: number, bars: { top: number; bottom: number; left: number; right: number }, seed: number) => {
    const t = texture(w, h, seed);
    const out = new Uint8Array(w * h);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const inside = y >= bars.top && y < h - bars.bottom && x >= bars.left && x < w - bars.right;
        out[y * w + x] = inside ? 40 + t.data[y * w + x] * 0.8 : (x * 7 + y) % 211 === 0 ? 30 : 8;
      }
    return out;
  };
  it('finds bars on every side and ignores thin dark edges', () => {
    const bars = { top: 20, bottom: 22, left: 12, right: 0 };
    const f = [1, 2, 3].map((s) => frame(200, 150, bars, s));
    assert.deepEqual(contentRect(f, 200, 150), { x: 12, y: 20, width: 188, height: 108 });
    const thin = [1, 2].map((s) => frame(200, 150, { top: 2, bottom: 0, left: 0, right: 0 }, s));
    assert.deepEqual(contentRect(thin, 200, 150), { x: 0, y: 0, width: 200, height: 150 });
  });
  it('treats an all-dark video as having no bars', () => {
    assert.deepEqual(contentRect([new Uint8Array(100 * 80)], 100, 80), { x: 0, y: 0, width: 100, height: 80 });
  });
});

describe('FFT correlation and spatial search', () => {
  it('picks the refinement\'s frames where a seek decodes least, among the nearly most confident', () => {
    const conf = Float32Array.from({ length: 30 }, (_, i) => (i === 4 || i === 14 || i === 24 ? 0.999 : 0.99));
    conf[7] = 0.9985;
    conf[20] = 0.9; // cheap to read, but matched poorly: never picked
    // Keyframes every 10 frames of a 10 fps bg: frame i's read decodes (i mod 10) frames first.
    const bg = { width: 100, height: 100, fps: 10 };
    const loc = { bg, fg: { ...bg, fps: 5 }, keys: { bg: [0, 1, 2] } } as unknown as Parameters<typeof seekCost>[0];
    const cost = seekCost(loc, (i) => i / 10, () => 0)!;
    assert.ok(Math.abs(cost(13) - 0.3 * 100 * 100 * 10) < 1e-6);
    assert.deepEqual(pickPairs(conf, 3), [4, 14, 24]);
    // Frame 7 is within the slack of 4 and decodes 7 frames to 4's 4: 4 stays; in the others
    // every frame but 20 is 0.009 below the best, outside the slack.
    assert.deepEqual(pickPairs(conf, 3, cost), [4, 14, 24]);
    conf[10] = 0.9988;
    conf[1] = 0.9987;
    assert.deepEqual(pickPairs(conf, 3, cost), [1, 10, 24]);
    // Unknown keyframes: no preference.
    assert.equal(seekCost({ ...loc, keys: {} }, (i) => i, () => 0), undefined);
    // Before the first known keyframe the read decodes from the start.
    assert.ok(Math.abs(seekCost({ ...loc, keys: { bg: [1.5] } }, (i) => i / 10, () => 0)!(12) - 1.2 * 100 * 100 * 10) < 1e-6);
  });

  it('a second joint refinement reads no frame the first read, and places fg the same', async () => {
    const { fg: fgFile, truth } = await derived(SAMPLE, { crop: { x: 120, y: 70, width: 400, height: 240 }, fps: 30, offset: 0.8, frames: 120 });
    const [bg, fg] = await Promise.all([probe(SAMPLE), probe(fgFile)]);
    const content = { x: 0, y: 0, width: fg.width, height: fg.height };
    const start = { x: truth.x + 2, y: truth.y - 1, scale: 1, score: 0.9 };
    const loc = { bg, fg, content, placement: start, method: 'auto' as const, c: 1 };
    // No analysis frames (w = 0): the frames' times are the only check, as for the hash kind.
    const seq = (n: number) => ({ seq: { data: new Uint8Array(0), n, w: 0, h: 0, times: new Float64Array(0) } });
    const pass = { bgRect: { x: 0, y: 0, width: bg.width, height: bg.height }, fgRect: content, fgF: seq(fg.frameCount), bgF: seq(bg.frameCount) };
    const tm = { bgFrameForFg: Int32Array.from(truth.bgFrameForFg), confidence: new Float32Array(truth.bgFrameForFg.length).fill(0.99) };
    const ctx = (seen?: Map<string, Uint8Array>) => ({ loc, engine: 'full', kind: pixelsKind, o: {}, ids: { bg: SAMPLE, fg: fgFile }, audio: Promise.resolve(undefined), early: new Map(), seen }) as unknown as AlignContext;
    // Decodes per input: the picks of a short clip (a few seconds apart) are read by one decoder
    // per input, not one per pick; MPEG-PS (bg) may need a second, from further back, where a seek
    // landed late.
    const reads = async (run: () => Promise<unknown>) => {
      countDecodes(true);
      try {
        await run();
        const stats = decodeStats();
        const of = (file: string) => stats.filter((d) => d.file === file);
        return { total: stats.length, bg: of(SAMPLE).length, fg: of(fgFile).length, bgFrames: of(SAMPLE).reduce((n, d) => n + d.frames, 0) };
      } finally {
        countDecodes(false);
      }
    };
    const oneReadEach = (r: Awaited<ReturnType<typeof reads>>, reach: number) => {
      assert.equal(r.fg, 1, `fg's three picks in one read: ${JSON.stringify(r)}`);
      assert.ok(r.bg >= 1 && r.bg <= 2, `bg's three picks in one read (and one from further back at most): ${JSON.stringify(r)}`);
      assert.ok(r.bgFrames >= 3 * (2 * reach + 1), `every candidate frame of bg read: ${JSON.stringify(r)}`);
    };
    const seen = new Map<string, Uint8Array>();
    const shared = ctx(seen);
    let first: Awaited<ReturnType<typeof jointRefine>> | undefined;
    let again: typeof first;
    oneReadEach(await reads(async () => (first = await jointRefine(shared, start, pass, tm, 1, 3))), 3);
    assert.ok(seen.size >= 3 * 7 + 3, 'the refinement\'s frames are kept for the next');
    assert.equal((await reads(async () => (again = await jointRefine(shared, start, pass, tm, 1, 2)))).total, 0, 'a narrower refinement on the same picks decodes nothing');
    // Without the kept frames the same refinement reads them all again and finds the same placement.
    let fresh: typeof first;
    oneReadEach(await reads(async () => (fresh = await jointRefine(ctx(), start, pass, tm, 1, 2))), 2);
    assert.deepEqual(again!.placement, fresh!.placement);
    assert.deepEqual(again!.picks, fresh!.picks);
    assert.ok(Math.abs(first!.placement.x - truth.x) <= 0.5 && Math.abs(first!.placement.y - truth.y) <= 0.5, JSON.stringify(first!.placement));
  });

  it('matches brute-force correlation, for a packed pair of images', () => {
    const a = texture(37, 23, 1);
    const b = texture(37, 23, 2);
    const t = crop(texture(37, 23, 3), 5, 4, 11, 7);
    const W = nextPow2(37);
    const H = nextPow2(23);
    const spec = fft2(a.data, 37, 23, W, H, b.data);
    const ts = fft2(t.data, 11, 7, W, H);
    const c = correlate(spec, ts, 23 - 7 + 1);
    for (const [img, part] of [
      [a, c.re],
      [b, c.im],
    ] as const) {
      for (let v = 0; v + 7 <= 23; v += 3)
        for (let u = 0; u + 11 <= 37; u += 5) {
          let s = 0;
          for (let y = 0; y < 7; y++) for (let x = 0; x < 11; x++) s += t.data[y * 11 + x] * img.data[(v + y) * 37 + u + x];
          assert.ok(Math.abs(part[v * W + u] - s) < 1e-6 * Math.abs(s) + 1e-3, `(${u},${v}): ${part[v * W + u]} vs ${s}`);
        }
    }
  });

  it('finds a planted crop at scale 1 and a shrunken copy at its scale, to the pixel', () => {
    const bg = texture(320, 180, 7);
    const fg = crop(bg, 101, 43, 120, 80);
    const c = 128 / 320;
    const small = resize(bg, 128, 72);
    const bytes = Uint8Array.from(small.data, (v) => Math.round(v));
    const hit = coarseSearch([bytes], 128, 72, c, [fg]);
    assert.ok(hit && Math.abs(hit.x - 101) < 4 && Math.abs(hit.y - 43) < 4 && hit.scale === 1, JSON.stringify(hit));
    const p = refine([{ bg: [bg], fg }], hit!, { from: 2 * c, scaleUncertainty: 0.045 });
    assert.deepEqual([p.x, p.y, p.scale], [101, 43, 1]);
    assert.ok(p.score > 0.999);

    // fg at twice the resolution of the region it covers: scale 0.5.
    const big = resize(crop(bg, 60, 50, 100, 60), 200, 120);
    const hit2 = coarseSearch([bytes], 128, 72, c, [big]);
    assert.ok(hit2 && Math.abs(hit2.scale - 0.5) < 0.04, JSON.stringify(hit2));
    const p2 = refine([{ bg: [bg], fg: big }], hit2!, { from: 2 * c, scaleUncertainty: 0.045 });
    assert.deepEqual([p2.x, p2.y], [60, 50]);
    assert.ok(Math.abs(p2.scale * 200 - 100) <= 1, `${p2.scale}`);
  });

  it('picks the time-matched candidate frame along with the placement', () => {
    const a = texture(200, 120, 11);
    const b = texture(200, 120, 12);
    const fg = crop(b, 40, 30, 80, 50);
    const p = refine([{ bg: [a, b, a], fg }], { x: 42, y: 29, scale: 1, score: 0 }, { from: 0.5, scaleUncertainty: 0, fixedScale: 1 });
    assert.deepEqual([p.x, p.y, p.picks[0]], [40, 30, 1]);
  });

  it('ncc is 1 for a gain-and-offset copy and 0 for a flat input', () => {
    const a = texture(20, 10, 5).data;
    assert.ok(
      Math.abs(
        ncc(
          a,
          a.map((v) => v * 1.7 + 12),
        ) - 1,
      ) < 1e-9,
    );
    assert.equal(ncc(a, new Float32Array(a.length).fill(3)), 0);
  });

  it('toGray and resize keep means', () => {
    const g = toGray(
      Uint8Array.from({ length: 64 }, (_, i) => i * 4),
      8,
      8,
    );
    const r = resize(g, 4, 4);
    const mean = (x: ArrayLike<number>) => Array.from(x).reduce((s, v) => s + v, 0) / x.length;
    assert.ok(Math.abs(mean(r.data) - mean(g.data)) < 1e-4);
    // A quarter is two halvings: each output pixel the mean of its 4×4 block.
    const q = resize(g, 2, 2);
    const block = (bx: number, by: number) => mean(Array.from({ length: 16 }, (_, i) => g.data[(by * 4 + (i >> 2)) * 8 + bx * 4 + (i & 3)]));
    assert.deepEqual(
      Array.from(q.data, (v) => Math.round(v * 1e4)),
      [block(0, 0), block(1, 0), block(0, 1), block(1, 1)].map((v) => Math.round(v * 1e4)),
    );
  });

  it('a template resized at its kept pixels only is the template of the full resize, value for value', () => {
    const img = texture(304, 176, 9);
    for (const [dw, dh, step] of [
      [250, 140, 3],
      [152, 88, 2],
      [304, 176, 4],
      [400, 240, 5],
      [97, 61, 1],
      [150, 87, 4],
      [76, 44, 2],
    ]) {
      const fast = resizedTemplate(img, dw, dh, step);
      const full = template(resize(img, dw, dh), step);
      assert.deepEqual([fast.width, fast.height, fast.step, fast.norm], [full.width, full.height, full.step, full.norm], `${dw}x${dh} step ${step}`);
      assert.deepEqual(fast.data, full.data, `${dw}x${dh} step ${step}`);
    }
  });

  it('a region resized in place is its crop resized, value for value (the seek check reduces every fetched frame so)', () => {
    const img = texture(304, 176, 5);
    const bytes = toGray(Uint8Array.from(img.data, (v) => Math.max(0, Math.min(255, Math.round(v)))), img.width, img.height);
    for (const src of [img, bytes]) {
      for (const [x, y, w, h, dw, dh] of [
        [40, 16, 200, 120, 96, 54],
        [0, 0, 304, 176, 96, 54],
        [3, 5, 301, 171, 17, 9],
        [10, 10, 160, 96, 80, 48],
        [7, 2, 64, 40, 100, 70],
      ]) {
        const fast = resizeRegion(src, { x, y, width: w, height: h }, dw, dh);
        const slow = resize(crop(src, x, y, w, h), dw, dh);
        assert.deepEqual([fast.width, fast.height], [dw, dh]);
        assert.deepEqual(Array.from(fast.data), Array.from(slow.data), `${w}x${h}+${x}+${y} to ${dw}x${dh}`);
      }
    }
  });

  it('a window of a resize is that part of the whole resize, value for value (the refinement resizes only what it searches)', () => {
    const img = texture(320, 176, 9);
    const bytes = toGray(Uint8Array.from(img.data, (v) => Math.max(0, Math.min(255, Math.round(v)))), img.width, img.height);
    for (const src of [img, bytes]) {
      // Halving once and twice, the general box filter (down, odd sizes, up) and no resize at all;
      // windows inside, at the corners and the whole picture.
      for (const [dw, dh] of [[160, 88], [80, 44], [171, 94], [97, 53], [400, 220], [320, 176]]) {
        const whole = resize(src, dw, dh);
        for (const [x, y, w, h] of [[10, 7, 40, 30], [0, 0, 23, 11], [dw - 19, dh - 13, 19, 13], [0, 0, dw, dh], [dw - 1, 0, 1, dh]]) {
          const win = resizeWindow(src, dw, dh, { x, y, width: w, height: h });
          // No resize: the image itself, read at the window's own corner.
          const got = dw === src.width ? crop(win.g, x - win.x, y - win.y, w, h) : win.g;
          if (dw !== src.width) assert.deepEqual([win.x, win.y, got.width, got.height], [x, y, w, h]);
          assert.deepEqual(Array.from(got.data), Array.from(crop(whole, x, y, w, h).data), `${w}x${h}+${x}+${y} of ${dw}x${dh}`);
        }
      }
    }
  });
});

describe('temporal building blocks', () => {
  it('the map passes through manual anchors and stays right elsewhere', () => {
    const r = rng(3);
    const unit = (n: number, dim: number, from: (i: number, k: number) => number) => {
      const v = new Float32Array(n * dim);
      for (let i = 0; i < n; i++) {
        let ss = 0;
        for (let k = 0; k < dim; k++) ss += (v[i * dim + k] = from(i, k)) ** 2;
        for (let k = 0; k < dim; k++) v[i * dim + k] /= Math.sqrt(ss);
      }
      return { n, dim, v };
    };
    const bg = unit(200, 16, () => r() - 0.5);
    const fg = unit(100, 16, (i, k) => bg.v[(i + 30) * 16 + k] + (r() - 0.5) * 0.05);
    const set = { fg, bg, coarseFg: fg, coarseBg: bg, maskFraction: 1 };
    const free = alignTemporal(set, { engine: 'full', fgFps: 25, bgFps: 25 });
    assert.deepEqual(
      Array.from(free.bgFrameForFg),
      Array.from({ length: 100 }, (_, i) => i + 30),
    );
    const pinned = alignTemporal(set, { engine: 'full', fgFps: 25, bgFps: 25, anchors: [{ fg: 50, bg: 85 }] });
    assert.equal(pinned.bgFrameForFg[50], 85, 'the anchor is honoured');
    assert.equal(pinned.bgFrameForFg[10], 40, 'far from the anchor the content decides');
    assert.equal(pinned.bgFrameForFg[95], 125);
    assert.throws(() => alignTemporal(set, { engine: 'full', fgFps: 25, bgFps: 25, anchors: [{ fg: 50, bg: 250 }] }), /outside the videos/);
    assert.throws(
      () =>
        alignTemporal(set, {
          engine: 'full',
          fgFps: 25,
          bgFps: 25,
          anchors: [
            { fg: 20, bg: 90 },
            { fg: 60, bg: 80 },
          ],
        }),
      /anchors out of order/,
    );
  });

  it('small analysis frames (long videos) share their vectors with the coarse level, and are mapped the same', () => {
    // A random walk of frames, fg every bg frame from 40 on: at 24×14 the coarse grid would be the
    // fine one, so one set of vectors serves both (an hour-long pair's copy was 260 MB); at 96×54
    // the coarse level is a block average of far fewer cells.
    const r = rng(11);
    const seqOf = (w: number, h: number, n: number, from: (i: number, p: number) => number) => {
      const data = new Uint8Array(n * w * h);
      for (let i = 0; i < n; i++) for (let p = 0; p < w * h; p++) data[i * w * h + p] = from(i, p);
      return { data, n, w, h, times: new Float64Array(0) };
    };
    for (const [w, h] of [
      [24, 14],
      [96, 54],
    ]) {
      const walk = new Float32Array(w * h).map(() => 128);
      const bg = seqOf(w, h, 300, () => 0);
      for (let i = 0; i < 300; i++)
        for (let p = 0; p < w * h; p++) bg.data[i * w * h + p] = walk[p] = Math.min(255, Math.max(0, walk[p] + (r() - 0.5) * 40));
      const fg = seqOf(w, h, 200, (i, p) => Math.min(255, bg.data[(i + 40) * w * h + p] * 0.9 + 12));
      const d = pixelDescriptors(fg, bg, 'full');
      if (w === 24) {
        assert.equal(d.coarseFg.v, d.fg.v, 'the same vectors, not a copy');
        assert.equal(d.coarseBg.v, d.bg.v);
      } else {
        assert.ok(d.coarseFg.dim < d.fg.dim / 16 && d.coarseFg.v !== d.fg.v, `coarse ${d.coarseFg.dim} of ${d.fg.dim}`);
      }
      const map = alignTemporal(d, { engine: 'full', fgFps: 25, bgFps: 25 });
      assert.deepEqual(Array.from(map.bgFrameForFg), Array.from({ length: 200 }, (_, i) => i + 40), `${w}×${h}`);
    }
  });

  it('a robust line ignores outliers', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const ys = xs.map((x) => 2 * x + 3);
    ys[10] = 500;
    ys[30] = -200;
    const l = robustLine(xs, ys);
    assert.ok(Math.abs(l.slope - 2) < 1e-9 && Math.abs(l.intercept - 3) < 1e-9, JSON.stringify(l));
  });
});

describe('alignment files', () => {
  it('layoutJson keeps number arrays on one line and drops undefined keys', () => {
    const text = layoutJson({ version: 1, temporal: { bgFrameForFg: [1, 2, 3], x: undefined } });
    assert.equal(text, '{\n  "version": 1,\n  "temporal": {\n    "bgFrameForFg": [1,2,3]\n  }\n}\n');
  });

  it('readAlignment rejects files that are not alignments', async () => {
    const dir = await tempDir('align-file');
    const f = path.join(dir, 'x.json');
    await fs.writeFile(f, '{"hello": 1}');
    await assert.rejects(readAlignment(f), /not a vidkompy alignment \(version 1\); write one with 'vidkompy sync'/);
    await fs.writeFile(f, '{oops');
    await assert.rejects(readAlignment(f), /not valid JSON/);
    await assert.rejects(readAlignment(path.join(dir, 'missing.json')), /file not found/);
  });
});

describe('graphics, pacing and uncertainty (pure)', () => {
  const seq = (frames: Uint8Array[], w: number, h: number) => ({ data: Buffer.concat(frames), n: frames.length, w, h, times: new Float64Array(0) });

  it('finds a burnt-in box that bg does not have, and nothing in a clean pair', () => {
    const w = 40;
    const h = 24;
    const r = rng(7);
    const bg: Uint8Array[] = [];
    const fg: Uint8Array[] = [];
    for (let i = 0; i < 30; i++) {
      const b = Uint8Array.from({ length: w * h }, () => 40 + Math.floor(r() * 170));
      bg.push(b);
      const f = Uint8Array.from(b, (v) => Math.min(255, Math.round(v * 1.1 + 5)));
      // A timecode-like box, bottom left, whose content changes every frame.
      for (let y = 18; y < 22; y++) for (let x = 2; x < 12; x++) f[y * w + x] = (i + x) % 2 ? 250 : 5;
      fg.push(f);
    }
    const map = Array.from({ length: 30 }, (_, i) => i);
    const m = foreignPixels(seq(fg, w, h), seq(bg, w, h), map)!;
    assert.ok(m, 'found');
    let inBox = 0;
    let outside = 0;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        if (!m[y * w + x]) continue;
        if (y >= 17 && y < 23 && x >= 1 && x < 13) inBox++;
        else outside++;
      }
    assert.equal(inBox, 72, 'every pixel of the 10×4 box is left out, with its one-pixel rim');
    assert.ok(outside <= 8, `and little else: ${outside}`);
    assert.equal(foreignPixels(seq(bg, w, h), seq(bg, w, h), map), undefined, 'a clean pair leaves nothing out');
  });

  it('paces a flat stretch at the rate of its neighbours, keeps pinned frames, never runs backwards', () => {
    const path = Int32Array.from([0, 1, 2, 3, 9, 2, 7, 4, 8, 9, 10]);
    const ev = [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1];
    assert.deepEqual(Array.from(steadyPacing(path, ev, 1, 100, new Set())), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const end = steadyPacing(Int32Array.from([0, 2, 4, 6, 0, 0, 0]), [1, 1, 1, 1, 0, 0, 0], 2, 10, new Set());
    assert.deepEqual(Array.from(end), [0, 2, 4, 6, 8, 9, 9], 'at the fitted rate past the last good frame, within bg');
    const pinned = steadyPacing(Int32Array.from([0, 1, 7, 3, 4]), [1, 0, 0, 0, 1], 1, 10, new Set([2]));
    assert.deepEqual(Array.from(pinned), [0, 1, 7, 7, 7], 'an anchor stays; runs shorter than three frames are left');
  });

  it('reports runs of flat or badly matched frames as inclusive spans', () => {
    const conf = Array.from({ length: 40 }, (_, i) => (i >= 30 && i < 34 ? 0.5 : 0.99));
    const ev = Array.from({ length: 40 }, (_, i) => (i >= 5 && i < 15 ? 0 : 1));
    ev[20] = 0;
    assert.deepEqual(uncertainSpans(conf, ev), [
      [5, 14],
      [30, 33],
    ]);
    assert.deepEqual(uncertainSpans(Array(10).fill(0.99), Array(10).fill(1)), []);
  });
});

describe('sub-frame timing (pure)', () => {
  it('puts a fg frame at another rate between the bg frames it stands for, within half a frame of the map', () => {
    // fg at 30 fps over bg at 25: fg frame i stands for bg frame i · 5/6, starting at bg 10.
    const exact = Array.from({ length: 90 }, (_, i) => 10 + (i * 5) / 6);
    const map = exact.map(Math.round);
    const f = subFrame(map);
    let sum = 0;
    for (let i = 0; i < map.length; i++) {
      assert.ok(Math.abs(f[i] - map[i]) <= 0.5, `within half a frame of the map at ${i}`);
      assert.ok(Math.abs(f[i] - exact[i]) < 0.2, `frame ${i}: ${f[i]} vs ${exact[i]}`);
      sum += Math.abs(f[i] - exact[i]);
    }
    // Whole frames are 0.25 off on average here; the local line about a third of that (most of it
    // the +1/12 bias of rounding halves up, which the map it is fitted on carries).
    assert.ok(sum / map.length < 0.1, `mean error ${(sum / map.length).toFixed(3)} bg frames`);
    assert.ok(Math.abs(timeAt(f[1], (j) => j / 25, 200) - exact[1] / 25) < 0.005, 'the time between the two frames');
  });

  it('does not fit across a cut, and leaves a same-rate map on whole frames', () => {
    const map = [...Array.from({ length: 30 }, (_, i) => i), ...Array.from({ length: 30 }, (_, i) => 60 + i)];
    const f = subFrame(map, [30]);
    assert.deepEqual(Array.from(f), map, 'exact integers either side of the cut');
  });

  it('does not fit across a freeze frame or a slow-motion stretch: the held frame stays exact', () => {
    // 25 → 30 fps, fg holds bg 3 s (frame 75) for 1 s, then a 2 s stretch at half speed.
    const bg = { fps: 25, frameCount: 400 };
    const t = frameMap(bg, { fps: 30, offset: 0.5, frames: 330, holds: [{ at: 3, seconds: 1 }], ramps: [{ start: 6, end: 8, speed: 0.5 }] });
    const f = subFrame(t.frames);
    const err = f.map((v, i) => Math.abs(v - t.times[i] * 25));
    const held = t.frames.flatMap((v, i) => (t.times[i] === 3 ? [i] : []));
    assert.ok(held.length >= 30, `the hold: ${held.length} frames`);
    for (const i of held.slice(1, -1)) assert.equal(f[i], 75, `held frame ${i} on bg frame 75 exactly`);
    const mean = err.reduce((a, b) => a + b, 0) / err.length;
    assert.ok(mean < 0.1, `mean error ${mean.toFixed(3)} bg frames`);
  });
});

describe('rate pieces (pure)', () => {
  const bg = { fps: 25, frameCount: 400 };
  const near = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol;

  it('finds a freeze frame and a slow-motion stretch, each piece at its own rate, and fg’s usual rate outside them', () => {
    const t = frameMap(bg, { fps: 30, offset: 0.5, frames: 330, holds: [{ at: 3, seconds: 1 }], ramps: [{ start: 6, end: 8, speed: 0.5 }] });
    const p = ratePieces(t.frames);
    assert.equal(p.length, 5, JSON.stringify(p));
    // Rates: 25/30 = 0.833 bg frames per fg frame, 0 in the hold, 0.417 at half speed.
    for (const [k, rate] of [0.833, 0, 0.833, 0.417, 0.833].entries()) assert.ok(near(p[k].slope, rate, 0.02), `piece ${k}: ${JSON.stringify(p[k])}`);
    // The hold starts at fg frame 75 (bg 3 s, 2.5 s of fg from 0.5 s) and lasts 30 frames, give or take the frame both share.
    assert.ok(near(p[1].first, 75, 1) && near(p[1].last, 104, 1), JSON.stringify(p[1]));
    assert.ok(near(usualRate(t.frames, p)!, 25 / 30, 0.005), String(usualRate(t.frames, p)));
  });

  it('sees one piece in a steady map, in drift, and in a rate change without pieces; cuts split the search', () => {
    for (const spec of [{ fps: 30 }, { fps: 24, speed: 1.02 }, { fps: 60, speed: 0.98 }, {}]) {
      const t = frameMap(bg, { ...spec, frames: 300 });
      assert.equal(ratePieces(t.frames).length, 1, JSON.stringify(spec));
      assert.equal(usualRate(t.frames, ratePieces(t.frames)), undefined);
    }
    const cut = frameMap(bg, { segments: [{ start: 0, end: 4 }, { start: 6, end: 10 }] });
    assert.deepEqual(
      ratePieces(cut.frames, [100]).map((q) => [q.first, q.last]),
      [
        [0, 99],
        [100, 199],
      ],
    );
  });

  it('fg’s usual speed: through a freeze and slow motion, but not for a wrong map that holds still a while, nor across paced stretches', () => {
    const t = frameMap(bg, { fps: 30, offset: 0.5, frames: 330, holds: [{ at: 3, seconds: 1 }], ramps: [{ start: 6, end: 8, speed: 0.5 }] });
    const sure = new Float32Array(330).fill(1);
    assert.ok(near(usualSlope(Int32Array.from(t.frames), sure)!, 25 / 30, 0.005));
    // The same map where the frames around the freeze could not be told apart (steady pacing's lines).
    const flat = Float32Array.from(sure, (v, i) => (i >= 70 && i < 110 ? 0 : v));
    assert.equal(usualSlope(Int32Array.from(t.frames), flat), undefined);
    // The map the sample's 160×96 crop got when it was matched 20 frames off (bench/trust.ts,
    // "misaligned"): it holds bg frame 115 for 20 frames, but wanders elsewhere; one line (0.59×) stays.
    const wrong = [
      73, 73, 74, 76, 77, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 87, 88, 89, 90, 91, 92, 93, 95, 96, 96, 97, 98, 99, 99, 100, 101, 102, 103, 104, 105, 106,
      106, 107, 108, 109, 110, 111, 112, 113, 113, 114, 115, 115, 115, 115, 115, 115, 115, 115, 115, 115, 115, 115, 115, 115, 115, 115, 115, 115, 115, 116, 116,
      116, 116, 116, 116, 116, 116, 117, 118, 119, 120, 120, 121, 121, 122, 123, 123, 123, 124, 125, 127, 128, 128, 128, 128, 131, 131, 131, 131, 131, 131, 132,
      133, 134, 134, 134, 135, 136, 137, 139, 139, 140, 141, 142, 143, 144, 145, 147, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 161,
      163, 163, 164, 165, 166, 167, 168, 169, 170, 171,
    ];
    assert.ok(ratePieces(wrong).length > 1, 'it does look like pieces');
    assert.equal(usualSlope(Int32Array.from(wrong), new Float32Array(wrong.length).fill(1)), undefined);
  });

  it('sees no change in jumpy maps (nothing straight on both sides)', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let k = 0; k < 50; k++) {
      const map: number[] = [];
      for (let i = 0, v = 0; i < 300; i++) map.push((v += Math.floor(rnd() * 5)));
      assert.equal(ratePieces(map).length, 1, `map ${k}`);
    }
  });
});
