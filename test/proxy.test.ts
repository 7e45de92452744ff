import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { passthroughArgs, readFrames, runTool } from '../daemon/media/ffmpeg';
import { probe } from '../daemon/media/probe';
import { createProxyStore, type ProxySpec } from '../daemon/server/proxy';
import { SAMPLE, tempDir } from './support/media';

/**
 * The preview's proxy store, with real ffmpeg: every frame it hands out is the frame of that index
 * in a sequential decode, byte for byte, whatever order it is asked in (jumps that seek, steps
 * forward and back, two requests at once) and however small its memory budget; the frames it keeps
 * never exceed the budget, and a forward scrub is served from frames decoded ahead.
 */

const W = 160;
const H = 90;
let dir: string;
let h264: string;

async function sequential(file: string, filter: string, width: number, height: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const f of readFrames({ file, filter, pixFmt: 'rgb24', width, height })) out.push(new Uint8Array(f));
  return out;
}

describe('preview proxies', () => {
  before(async () => {
    dir = await tempDir('proxy');
    h264 = path.join(dir, 'long.mp4');
    // 20 s with B-frames and a keyframe every 2 s: jumps seek, and are checked by time.
    const args = ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=30:d=20', ...(await passthroughArgs())];
    args.push('-c:v', 'libx264', '-bf', '3', '-g', '60', '-preset', 'veryfast', '-crf', '24', h264);
    await runTool('ffmpeg', args, { file: h264, what: 'making a test input' });
  });

  it('hands out exactly the sequential decode’s frames, in any order, within a small budget', async (t) => {
    const info = await probe(h264);
    const filter = `scale=${W}:${H}:flags=area`;
    const ref = await sequential(h264, filter, W, H);
    assert.equal(ref.length, 600);
    const frameBytes = W * H * 3;
    const budget = 50 * frameBytes;
    const store = createProxyStore(budget);
    const spec: ProxySpec = { file: h264, width: W, height: H, filter, total: ref.length, fps: info.fps };
    // A jump, a forward scrub, a scrub back past where the decoder began, far jumps both ways, the ends.
    const order = [0, 1, 2, 300, ...Array.from({ length: 40 }, (_, k) => 301 + k), ...Array.from({ length: 30 }, (_, k) => 299 - k), 599, 42, 450, 451, 5, 598];
    const wrong: number[] = [];
    for (const i of order) {
      const f = await store.frame(spec, i);
      if (!Buffer.from(f).equals(Buffer.from(ref[i]))) wrong.push(i);
      assert.ok(store.stats.bytes <= budget, `kept ${store.stats.bytes} bytes, budget ${budget}`);
    }
    assert.deepEqual(wrong, [], 'every frame is the one its index names');
    // The scrubs were served by the running decoder or from memory, not a decoder start (a seek) a step.
    t.diagnostic(JSON.stringify(store.stats));
    assert.equal(store.stats.singles, 0, JSON.stringify(store.stats));
    assert.ok(store.stats.starts <= 12, `decoder starts ${JSON.stringify(store.stats)}`);
    store.clear();
  });

  it('two requests at once far apart both get their own frame', async () => {
    const info = await probe(h264);
    const filter = `scale=${W}:${H}:flags=area`;
    const ref = await sequential(h264, filter, W, H);
    const store = createProxyStore(64 * 2 ** 20);
    const spec: ProxySpec = { file: h264, width: W, height: H, filter, total: ref.length, fps: info.fps };
    const [a, b, c] = await Promise.all([store.frame(spec, 100), store.frame(spec, 500), store.frame(spec, 101)]);
    assert.ok(Buffer.from(a).equals(Buffer.from(ref[100])));
    assert.ok(Buffer.from(b).equals(Buffer.from(ref[500])));
    assert.ok(Buffer.from(c).equals(Buffer.from(ref[101])));
    store.clear();
  });

  it('MPEG-PS (seeks land late there): frames after a jump are still the right ones', async () => {
    const info = await probe(SAMPLE);
    const w = 200;
    const h = Math.round((info.height * w) / info.width);
    const filter = `scale=${w}:${h}:flags=area`;
    const ref = await sequential(SAMPLE, filter, w, h);
    const store = createProxyStore(16 * 2 ** 20);
    const spec: ProxySpec = { file: SAMPLE, width: w, height: h, filter, total: ref.length, fps: info.fps };
    const wrong: number[] = [];
    for (const i of [ref.length - 1, 112, 116, 117, 118, 60, 59, 3, 200]) {
      if (i >= ref.length) continue;
      const f = await store.frame(spec, i);
      if (!Buffer.from(f).equals(Buffer.from(ref[i]))) wrong.push(i);
    }
    assert.deepEqual(wrong, []);
    store.clear();
  });
});
