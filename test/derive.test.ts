import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promises as fs } from 'node:fs';
import { derive, pathWindow, type DeriveSpec } from '../daemon/media/derive';
import { readFrames } from '../daemon/media/ffmpeg';
import { probe } from '../daemon/media/probe';
import { SAMPLE, tempDir } from './support/media';

/** Every frame of `file`, grey, at its own size. */
async function grey(file: string): Promise<{ frames: Uint8Array[]; width: number; height: number }> {
  const p = await probe(file);
  const frames: Uint8Array[] = [];
  for await (const f of readFrames({ file, pixFmt: 'gray', width: p.width, height: p.height })) frames.push(Uint8Array.from(f));
  return { frames, width: p.width, height: p.height };
}

/** Mean absolute difference between fg's frame and bg's w×h window at (x, y). */
function mad(fg: Uint8Array, bg: Uint8Array, bgWidth: number, x: number, y: number, w: number, h: number): number {
  let sum = 0;
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) sum += Math.abs(fg[r * w + c] - bg[(y + r) * bgWidth + x + c]);
  return sum / (w * h);
}

/** Mean absolute difference between fg's frame and bg's w×h window at fractional (x, y), bilinear. */
function madAt(fg: Uint8Array, bg: Uint8Array, bw: number, bh: number, x: number, y: number, w: number, h: number): number {
  let sum = 0;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const fx = Math.min(bw - 1, x + c);
      const fy = Math.min(bh - 1, y + r);
      const x0 = Math.min(bw - 2, Math.floor(fx));
      const y0 = Math.min(bh - 2, Math.floor(fy));
      const [ax, ay] = [fx - x0, fy - y0];
      const p = y0 * bw + x0;
      const top = bg[p] + (bg[p + 1] - bg[p]) * ax;
      const bot = bg[p + bw] + (bg[p + bw + 1] - bg[p + bw]) * ax;
      sum += Math.abs(fg[r * w + c] - (top + (bot - top) * ay));
    }
  }
  return sum / (w * h);
}

/**
 * derive() cuts a fixed crop in the decoder and a pan's in the encoder (daemon/media/derive.ts):
 * either way each fg frame must be bg's frame the truth names, at the place it names. Checked on
 * the pixels, against the window a couple of pixels off and the neighbouring frame.
 */
describe('derive: fg frames are the bg pixels the truth says', () => {
  let dir = '';
  after(() => fs.rm(dir, { recursive: true, force: true }));

  const cases: [string, DeriveSpec, (i: number) => { x: number; y: number }][] = [
    // Odd offsets: a crop rounded to the chroma grid would be a pixel off.
    ['fixed crop, 24 fps, 1% fast', { crop: { x: 161, y: 101, width: 320, height: 192 }, fps: 24, offset: 1, speed: 1.01, frames: 30 }, () => ({ x: 161, y: 101 })],
    // The sample runs at 25 fps: 25 px a second is a pixel a frame.
    ['panning crop', { crop: { x: 40, y: 30, width: 320, height: 180 }, pan: { dx: 25, dy: 25 }, frames: 30 }, (i) => ({ x: 40 + i, y: 30 + i })],
  ];
  for (const [name, spec, corner] of cases) {
    it(name, async () => {
      dir ||= await tempDir('derive');
      const out = path.join(dir, `${name.replace(/\W+/g, '-')}.mp4`);
      const truth = await derive(SAMPLE, out, { ...spec, crf: 10 });
      const bg = await grey(SAMPLE);
      const fg = await grey(out);
      const { width: w, height: h } = spec.crop!;
      assert.equal(fg.width, w);
      assert.equal(fg.frames.length, spec.frames);
      assert.deepEqual([truth.x, truth.y, truth.scale], [spec.crop!.x, spec.crop!.y, 1]);
      for (let i = 0; i < fg.frames.length; i++) {
        const j = truth.bgFrameForFg[i];
        const { x, y } = corner(i);
        const right = mad(fg.frames[i], bg.frames[j], bg.width, x, y, w, h);
        const shifted = mad(fg.frames[i], bg.frames[j], bg.width, x + 2, y + 1, w, h);
        assert.ok(right < 2.5, `${name}: fg frame ${i} differs from bg frame ${j} at ${x},${y} by ${right.toFixed(2)} levels on average`);
        assert.ok(right < shifted / 2, `${name}: fg frame ${i} fits bg 2,1 px off (${shifted.toFixed(2)}) about as well as at the truth (${right.toFixed(2)})`);
      }
    });
  }

  // A window following a path, as a hand-held re-frame does: it starts from rest, speeds up,
  // slows down and turns back. The truth's placement of each frame must be exact.
  it('a window that follows a smooth path: the truth is the window of every frame, the points are hit, and the pixels agree', async () => {
    dir ||= await tempDir('derive');
    const out = path.join(dir, 'path.mp4');
    // At 25 fps the points fall on frames 0, 10, 20 and 29.
    const spec: DeriveSpec = {
      crop: { x: 0, y: 0, width: 160, height: 288 },
      pan: { path: [[0, 40, 30], [0.4, 90.5, 60.25], [0.8, 70, 50], [1.16, 120, 20]], ease: 'smooth' },
      offset: 0.6,
      frames: 30,
      crf: 10,
    };
    const truth = await derive(SAMPLE, out, spec);
    const pl = truth.placements!;
    assert.equal(pl.length, 30);
    for (const [f, x, y] of [[0, 40, 30], [10, 90.5, 60.25], [20, 70, 50], [29, 120, 20]]) {
      assert.ok(Math.abs(pl[f].x - x) < 1e-9 && Math.abs(pl[f].y - y) < 1e-9 && pl[f].scale === 1, `frame ${f} at its point: ${JSON.stringify(pl[f])}`);
    }
    assert.deepEqual([truth.x, truth.y, truth.scale], [40, 30, 1]);
    // From rest: the first step is far shorter than the straight line's (50.5 px over 10 frames).
    assert.ok(pl[1].x - pl[0].x < 2, `starts from rest: ${pl[1].x - pl[0].x}`);
    // Speeds up and slows down: faster mid-way to the second point than near it, and turns back after it.
    assert.ok(pl[6].x - pl[5].x > 2 * (pl[10].x - pl[9].x), `${pl[6].x - pl[5].x} then ${pl[10].x - pl[9].x}`);
    assert.ok(pl[12].x < pl[11].x && pl[24].x > pl[23].x, 'turns back, then forward again');
    const bg = await grey(SAMPLE);
    const fg = await grey(out);
    assert.equal(fg.frames.length, 30);
    for (let i = 0; i < fg.frames.length; i += 3) {
      const j = truth.bgFrameForFg[i];
      const { x, y } = pl[i];
      const right = madAt(fg.frames[i], bg.frames[j], bg.width, bg.height, x, y, 160, 288);
      const shifted = madAt(fg.frames[i], bg.frames[j], bg.width, bg.height, x + 1.5, y - 1, 160, 288);
      assert.ok(right < 2.5, `fg frame ${i} differs from bg frame ${j} at ${x.toFixed(2)},${y.toFixed(2)} by ${right.toFixed(2)} levels on average`);
      assert.ok(right < shifted / 2, `fg frame ${i} fits bg 1.5,1 px off (${shifted.toFixed(2)}) about as well as at the truth (${right.toFixed(2)})`);
    }
  });

  it('a path is checked: malformed points, and a window that leaves bg between its points', async () => {
    const crop = { x: 0, y: 0, width: 100, height: 100 };
    assert.throws(() => pathWindow(crop, { path: [] }, 25), /at least one/);
    assert.throws(() => pathWindow(crop, { path: [[0, 1, 2], [0, 3, 4]] }, 25), /pan\.path\[1\].*t rising/);
    assert.throws(() => pathWindow(crop, { path: [[0, 1, Number.NaN]] }, 25), /pan\.path\[0\]/);
    assert.throws(() => pathWindow(crop, { path: [[0, 1, 2, -5]] }, 25), /sizes positive/);
    // Linear: halfway between points at half time; held after the last.
    const at = pathWindow(crop, { path: [[0, 10, 20], [1, 30, 40, 50, 60]] }, 10);
    assert.deepEqual(at(5), { x: 20, y: 30, width: 75, height: 80 });
    assert.deepEqual(at(20), { x: 30, y: 40, width: 50, height: 60 });
    // Smooth, the window carried fast into its last point overshoots it past bg's edge (560 is
    // the last corner a 160 px window fits 720 px at): derive refuses the frames outside bg.
    dir ||= await tempDir('derive');
    const spec: DeriveSpec = { crop: { x: 0, y: 0, width: 160, height: 160 }, pan: { path: [[0, 0, 0], [0.2, 500, 0], [0.4, 560, 0]], ease: 'smooth' }, frames: 12 };
    await assert.rejects(derive(SAMPLE, path.join(dir, 'out.mp4'), spec), /fg frame \d+'s window .* is outside/);
  });
});
