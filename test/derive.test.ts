import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promises as fs } from 'node:fs';
import { derive, type DeriveSpec } from '../daemon/media/derive';
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
});
