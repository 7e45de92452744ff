import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { align } from '../daemon/engine/align';
import { chunkFile, joinChunks } from '../daemon/engine/render/chunks';
import { compose, featherRamps, geometry, pasteYuv420 } from '../daemon/engine/render/compose';
import type { Alignment } from '../daemon/engine/result';
import { readFrames, runTool } from '../daemon/media/ffmpeg';
import { probe } from '../daemon/media/probe';
import { tempDir } from './support/media';
import { synthPair, type SynthBg, type SynthFg } from './support/synth';

/** Every frame of a video, grey, at its own size (small test clips only). */
async function frames(file: string, width: number, height: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const f of readFrames({ file, pixFmt: 'gray', width, height })) out.push(Buffer.from(f));
  return out;
}

/** Mean absolute difference between a rect of `a` (stride aw) and a rect of `b` (stride bw). */
function mad(a: Buffer, aw: number, ax: number, ay: number, b: Buffer, bw: number, bx: number, by: number, w: number, h: number): number {
  let s = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) s += Math.abs(a[(ay + y) * aw + ax + x] - b[(by + y) * bw + bx + x]);
  return s / (w * h);
}

/**
 * A variable-rate fg: three of every ten frames of a synthetic crop dropped, the others kept at
 * their times (and the sound as it was), so its rate varies between 30 and 7.5 fps as a phone's or
 * a screen recording's does; aligned, with the checks every render of it must pass.
 */
async function variableRate(name: string) {
  const { bg, fg: even, truth } = await synthPair(BG, { ...CROP, audio: true });
  const dir = await tempDir(name);
  const fg = path.join(dir, 'vfr.mp4');
  const drop = 'select=not(between(mod(n\\,10)\\,3\\,5))';
  await runTool('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', even, '-vf', drop, '-fps_mode', 'passthrough', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '12', '-c:a', 'copy', fg], { file: fg, what: 'dropping frames' });
  const kept = truth.bgFrameForFg.map((_, k) => k).filter((k) => k % 10 < 3 || k % 10 > 5);
  const fgInfo = await probe(fg);
  assert.ok(fgInfo.vfr, 'the test fg has a variable rate');
  assert.equal(fgInfo.frameCount, kept.length);
  const al = await align(bg, fg);
  const times = async (file: string) => {
    const { stdout } = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', file], { file, what: 'listing frame times' });
    return stdout.toString().split('\n').filter(Boolean).map((l) => Number(l.replace(',', '')));
  };
  /** Every fg frame once at fg's own time, showing fg over the right bg frame, with fg's sound and length. */
  const check = async (out: string) => {
    const [outT, fgT] = await Promise.all([times(out), times(fg)]);
    assert.equal(outT.length, kept.length, 'every fg frame, none repeated');
    const off = outT.map((t, i) => Math.abs(t - fgT[i]));
    assert.ok(Math.max(...off) < 0.001, `each frame at fg's own time (largest difference ${Math.max(...off).toFixed(4)} s)`);
    // The frame after a gap shows what fg shows there, over the bg frame of that moment.
    const outF = await frames(out, 320, 180);
    const fgF = await frames(fg, fgInfo.width, fgInfo.height);
    const bgF = await frames(bg, 320, 180);
    for (const i of [3, 10, kept.length - 1]) {
      const under = mad(outF[i], 320, CROP.x, CROP.y, fgF[i], fgInfo.width, 0, 0, CROP.width, CROP.height);
      assert.ok(under < 2.5, `frame ${i}: pixels under fg match fg (MAD ${under.toFixed(2)})`);
      const j = truth.bgFrameForFg[kept[i]];
      const around = mad(outF[i], 320, 0, 0, bgF[j], 320, 0, 0, 320, CROP.y - 2);
      assert.ok(around < 2.5, `frame ${i}: pixels around fg match bg frame ${j} (MAD ${around.toFixed(2)})`);
    }
    const info = await probe(out);
    assert.ok(info.audio, 'fg audio muxed');
    assert.ok(Math.abs(info.duration - fgInfo.duration) < 0.1, `duration follows fg: ${info.duration} vs ${fgInfo.duration}`);
  };
  return { dir, al, kept, check };
}

/** Area-downscale a grey frame by an integer factor. */
function shrink(f: Buffer, w: number, h: number, k: number): Buffer {
  const W = Math.floor(w / k);
  const H = Math.floor(h / k);
  const out = Buffer.alloc(W * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) s += f[(y * k + dy) * w + x * k + dx];
      out[y * W + x] = Math.round(s / (k * k));
    }
  return out;
}

const BG: SynthBg = { width: 320, height: 180, fps: 25, duration: 4, audio: true };
const CROP: SynthFg = { x: 61, y: 37, width: 160, height: 96, scale: 1, fps: 30, offset: 1, speed: 1, duration: 2.5 };

describe('compose', () => {
  it('puts every fg frame over the right bg frame at the found place, with bg audio', async () => {
    const { bg, fg, truth } = await synthPair(BG, CROP);
    const al = await align(bg, fg);
    const dir = await tempDir('compose');
    const out = path.join(dir, 'out.mp4');
    const r = await compose(al, { output: out, crf: 12, preset: 'veryfast' });
    const info = await probe(out);
    const fgInfo = await probe(fg);
    assert.equal(r.frames, fgInfo.frameCount);
    assert.equal(info.frameCount, fgInfo.frameCount, 'every fg frame is in the output');
    assert.ok(Math.abs(info.fps - fgInfo.fps) < 0.01, `output at fg's rate: ${info.fps}`);
    assert.equal(r.audio, 'bg');
    assert.ok(info.audio, 'bg audio muxed');
    assert.deepEqual([info.width, info.height], [320, 180]);

    const outF = await frames(out, 320, 180);
    const fgF = await frames(fg, fgInfo.width, fgInfo.height);
    const bgF = await frames(bg, 320, 180);
    for (const i of [0, 17, 40, outF.length - 1]) {
      const under = mad(outF[i], 320, CROP.x, CROP.y, fgF[i], fgInfo.width, 0, 0, CROP.width, CROP.height);
      assert.ok(under < 2.5, `frame ${i}: pixels under fg match fg (MAD ${under.toFixed(2)})`);
      // A strip above fg: bg's pixels, from the truth's bg frame, not from one far away.
      const j = truth.bgFrameForFg[i];
      const around = mad(outF[i], 320, 0, 0, bgF[j], 320, 0, 0, 320, CROP.y - 2);
      const far = mad(outF[i], 320, 0, 0, bgF[Math.max(0, j - 12)], 320, 0, 0, 320, CROP.y - 2);
      assert.ok(around < 2.5, `frame ${i}: pixels around fg match bg frame ${j} (MAD ${around.toFixed(2)})`);
      assert.ok(far > around * 2, `frame ${i}: and not a bg frame 12 earlier (${far.toFixed(2)} vs ${around.toFixed(2)})`);
    }
  });

  it('keeps fg at its own resolution when bg shows it at half scale, or renders at bg size', async () => {
    const fgSpec: SynthFg = { x: 80, y: 40, width: 120, height: 72, scale: 0.5, fps: 25, offset: 0.5, speed: 1, duration: 2 };
    const { bg, fg, truth } = await synthPair({ ...BG, audio: false }, fgSpec);
    const al = await align(bg, fg);
    assert.equal(al.spatial.scale, 0.5);
    const dir = await tempDir('compose-half');
    const big = await compose(al, { output: path.join(dir, 'big.mp4'), crf: 12, preset: 'veryfast', audio: 'none' });
    assert.deepEqual([big.width, big.height], [640, 360], 'canvas is bg scaled up by 1/scale');
    const outF = await frames(big.output, 640, 360);
    const fgF = await frames(fg, 240, 144);
    const i = 20;
    const under = mad(outF[i], 640, 160, 80, fgF[i], 240, 0, 0, 240, 144);
    assert.ok(under < 2.5, `fg pasted 1:1 at (160, 80): MAD ${under.toFixed(2)}`);

    const small = await compose(al, { output: path.join(dir, 'small.mp4'), canvas: 'bg', crf: 12, preset: 'veryfast', audio: 'none' });
    assert.deepEqual([small.width, small.height], [320, 180]);
    const smallF = await frames(small.output, 320, 180);
    const bgF = await frames(bg, 320, 180);
    const shrunk = shrink(fgF[i], 240, 144, 2);
    assert.ok(mad(smallF[i], 320, 80, 40, shrunk, 120, 0, 0, 120, 72) < 3, 'fg scaled down into its place in bg');
    assert.ok(mad(smallF[i], 320, 0, 0, bgF[truth.bgFrameForFg[i]], 320, 0, 0, 320, 38) < 2.5, 'bg around it');
  });

  it('enlarges a lower-resolution fg (shown at 2× in bg) into its place, on a canvas of bg size', async () => {
    const fgSpec: SynthFg = { x: 60, y: 30, width: 160, height: 96, scale: 2, fps: 25, offset: 0.5, speed: 1, duration: 2 };
    const { bg, fg, truth } = await synthPair({ ...BG, audio: false }, fgSpec);
    const al = await align(bg, fg);
    assert.deepEqual([al.spatial.x, al.spatial.y, al.spatial.scale], [60, 30, 2], 'found at scale 2');
    const dir = await tempDir('compose-double');
    const r = await compose(al, { output: path.join(dir, 'out.mp4'), crf: 12, preset: 'veryfast', audio: 'none' });
    assert.deepEqual([r.width, r.height], [320, 180], "bg's size: fg is resampled up, the canvas is not");
    const outF = await frames(r.output, 320, 180);
    const bgF = await frames(bg, 320, 180);
    for (const i of [5, 30]) {
      const j = truth.bgFrameForFg[i];
      // fg is bg's region at half resolution: enlarged back, it looks like that region (softer).
      const under = mad(outF[i], 320, 60, 30, bgF[j], 320, 60, 30, 160, 96);
      const shifted = mad(outF[i], 320, 60, 30, bgF[j], 320, 68, 34, 160, 96);
      assert.ok(under < 6, `frame ${i}: fg enlarged over its region (MAD ${under.toFixed(2)})`);
      assert.ok(shifted > under * 2, `frame ${i}: and not 8 px off (${shifted.toFixed(2)} vs ${under.toFixed(2)})`);
    }
  });

  it('does not paint fg letterbox bars over bg', async () => {
    const fgSpec: SynthFg = {
      x: 40,
      y: 30,
      width: 200,
      height: 100,
      scale: 1,
      fps: 25,
      offset: 0.5,
      speed: 1,
      duration: 2,
      bars: { top: 20, bottom: 20, left: 0, right: 0 },
    };
    const { bg, fg, truth } = await synthPair({ ...BG, audio: false }, fgSpec);
    const al = await align(bg, fg);
    assert.deepEqual(al.fg.contentRect, { x: 0, y: 20, width: 200, height: 100 });
    assert.deepEqual([al.spatial.x, al.spatial.y], [40, 10], 'reported corner is fg frame corner, bars included');
    const dir = await tempDir('compose-bars');
    const r = await compose(al, { output: path.join(dir, 'o.mkv'), crf: 12, preset: 'veryfast' });
    const outF = await frames(r.output, 320, 180);
    const bgF = await frames(bg, 320, 180);
    const i = 10;
    // Where the top bar would land (y 10..30), bg shows through.
    const barArea = mad(outF[i], 320, 40, 10, bgF[truth.bgFrameForFg[i]], 320, 40, 10, 200, 18);
    assert.ok(barArea < 2.5, `bg shows where fg has bars: MAD ${barArea.toFixed(2)}`);
  });

  it('takes fg audio when fg has it, and feathers edges with --smooth', async () => {
    const { bg, fg } = await synthPair(BG, { ...CROP, audio: true, duration: 1.5 });
    const al = await align(bg, fg);
    const dir = await tempDir('compose-audio');
    const r = await compose(al, { output: path.join(dir, 'o.mov'), smooth: true, margin: 6, crf: 12, preset: 'veryfast' });
    assert.equal(r.audio, 'fg');
    const info = await probe(r.output);
    assert.ok(info.audio);
    assert.ok(Math.abs(info.duration - 1.5) < 0.1, `duration follows fg: ${info.duration}`);
  });

  it('keeps a variable-rate fg frame for frame at its own times, with its own sound', async () => {
    const v = await variableRate('compose-vfr');
    const out = path.join(v.dir, 'out.mp4');
    const r = await compose(v.al, { output: out, crf: 12, preset: 'veryfast' });
    assert.equal(r.frames, v.kept.length);
    assert.equal(r.audio, 'fg');
    await v.check(out);
  });

  it('keeps a variable-rate fg at its own times when the render is split into chunks and joined', async () => {
    // Each chunk starts just after a gap (frame 11 is fg's 16th, 0.133 s after the 10th): a chunk
    // that lasted its own frames would end a frame after its last and pull every later chunk early.
    const v = await variableRate('compose-vfr-chunks');
    const out = path.join(v.dir, 'out.mp4');
    const nF = v.al.temporal.bgFrameForFg.length;
    const ranges = [{ from: 0, to: 11 }, { from: 11, to: 31 }, { from: 31, to: nF }];
    const chunks = [];
    for (const [k, range] of ranges.entries()) {
      const file = chunkFile(out, 'vfr', k);
      const r = await compose(v.al, { output: file, frames: range, crf: 12, preset: 'veryfast' });
      assert.equal(r.frames, range.to - range.from);
      chunks.push({ file, range });
    }
    const r = await joinChunks(v.al, chunks, { output: out });
    assert.equal(r.audio, 'fg');
    await v.check(out);
  });

  it("keeps fg's sound with its pictures when the video starts after the sound", async () => {
    // A beep at 1.5 s of the file's time; the video starts 0.5 s in (a recorder's or a cut's offset),
    // so the beep belongs under fg's picture 1.0 s after its first: where the render must put it.
    const { bg, fg: silent } = await synthPair(BG, CROP);
    const dir = await tempDir('compose-lead');
    const fg = path.join(dir, 'late.mp4');
    const beep = 'aevalsrc=exprs=if(between(t\\,1.5\\,1.6)\\,sin(2*PI*1000*t)\\,0):s=48000:d=3';
    await runTool('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', beep, '-itsoffset', '0.5', '-i', silent, '-map', '0:a', '-map', '1:v', '-c:v', 'copy', '-c:a', 'aac', fg], { file: fg, what: 'muxing' });
    const fgInfo = await probe(fg);
    assert.ok(Math.abs(fgInfo.lead - 0.5) < 0.01, `the video starts 0.5 s after the sound (${fgInfo.lead})`);
    const al = await align(bg, fg);
    const r = await compose(al, { output: path.join(dir, 'out.mp4'), crf: 12, preset: 'veryfast' });
    assert.equal(r.audio, 'fg');
    const { stdout } = await runTool('ffmpeg', ['-nostdin', '-v', 'error', '-i', r.output, '-map', '0:a', '-ac', '1', '-ar', '8000', '-f', 'f32le', 'pipe:1'], { file: r.output, what: 'decoding the sound' });
    const pcm = new Float32Array(new Uint8Array(stdout).buffer, 0, stdout.length >> 2);
    const onset = pcm.findIndex((v) => Math.abs(v) > 0.2) / 8000;
    assert.ok(Math.abs(onset - 1.0) < 0.03, `the beep 1.0 s after the first picture (at ${onset.toFixed(3)} s)`);
  });

  it('refuses an unwritable output before aligning and leaves no partial file', async () => {
    const { bg, fg } = await synthPair(BG, CROP);
    const al = await align(bg, fg);
    const dir = await tempDir('compose-ro');
    await fs.chmod(dir, 0o500);
    try {
      if (process.getuid?.() === 0) {
        // root ignores permissions: use a path under a regular file instead.
        const file = path.join(dir, 'file');
        await fs.chmod(dir, 0o700);
        await fs.writeFile(file, 'x');
        await assert.rejects(compose(al, { output: path.join(file, 'out.mp4') }), /cannot (create|write)/);
      } else {
        await assert.rejects(compose(al, { output: path.join(dir, 'out.mp4') }), /cannot write/);
      }
    } finally {
      await fs.chmod(dir, 0o700);
    }
    assert.deepEqual(
      (await fs.readdir(dir)).filter((f) => f.includes('partial')),
      [],
    );
  });

  it('a cancelled render leaves nothing behind', async () => {
    const { bg, fg } = await synthPair(BG, CROP);
    const al = await align(bg, fg);
    const dir = await tempDir('compose-cancel');
    const ac = new AbortController();
    const out = path.join(dir, 'out.mp4');
    const p = compose(al, { output: out, signal: ac.signal, onProgress: (f) => f > 0.1 && ac.abort() });
    await assert.rejects(p, /cancelled/);
    assert.equal(existsSync(out), false);
    assert.deepEqual(await fs.readdir(dir), []);
  });
});

describe('compose geometry and pixels', () => {
  const base = {
    bg: { width: 640, height: 360 },
    fg: { width: 400, height: 300, contentRect: { x: 0, y: 30, width: 400, height: 240 } },
  } as unknown as Alignment;

  it('scales the canvas by 1/scale and pastes fg 1:1', () => {
    const g = geometry({ ...base, spatial: { x: 100, y: 50, scale: 0.5, confidence: 1, method: 'auto' } });
    assert.deepEqual([g.width, g.height], [1280, 720]);
    assert.deepEqual(g.paste, { x: 200, y: 130, width: 400, height: 240 }, '(100 + 0) * 2, (50 + 30 * 0.5) * 2');
    assert.equal(g.scaled, true);
  });

  it('renders at bg size on request, and pads odd bg sizes instead of resampling', () => {
    const g = geometry({ ...base, spatial: { x: 100, y: 50, scale: 0.5, confidence: 1, method: 'auto' } }, 'bg');
    assert.deepEqual([g.width, g.height, g.paste.width, g.paste.height, g.paste.x, g.paste.y], [640, 360, 200, 120, 100, 65]);
    const odd = geometry({
      ...base,
      bg: { ...base.bg, width: 721, height: 405 },
      spatial: { x: 3, y: 4, scale: 1, confidence: 1, method: 'auto' },
    } as Alignment);
    assert.deepEqual([odd.width, odd.height, odd.scaled], [722, 406, false]);
  });

  it('keeps bg size for a fg shown enlarged (scale > 1) and pastes it enlarged', () => {
    const g = geometry({ ...base, spatial: { x: 100, y: 50, scale: 1.25, confidence: 1, method: 'auto' } });
    assert.deepEqual([g.width, g.height, g.scaled], [640, 360, false]);
    assert.deepEqual(g.paste, { x: 100, y: 88, width: 500, height: 300 }, '(50 + 30 * 1.25), 400 * 1.25 by 240 * 1.25');
  });

  it('caps the canvas at 8K', () => {
    const g = geometry({
      ...base,
      bg: { ...base.bg, width: 1920, height: 1080 },
      spatial: { x: 0, y: 0, scale: 0.1, confidence: 1, method: 'auto' },
    } as Alignment);
    assert.ok(g.width <= 7680 && g.height <= 4320, `${g.width}x${g.height}`);
  });

  it('pastes luma exactly and blends feathered edges only inside the canvas', () => {
    const g = { width: 8, height: 4, fgCrop: { x: 0, y: 0, width: 4, height: 2 }, paste: { x: 3, y: 1, width: 4, height: 2 }, scaled: false };
    const canvas = new Uint8Array(8 * 4 + 2 * 4 * 2).fill(10);
    const fg = new Uint8Array(4 * 2 + 2 * 2 * 1).fill(200);
    pasteYuv420(canvas, g, fg);
    const luma = Array.from(canvas.subarray(0, 32));
    assert.deepEqual(luma.slice(8, 16), [10, 10, 10, 200, 200, 200, 200, 10]);
    assert.deepEqual(luma.slice(0, 8), new Array(8).fill(10));
    // fg spans the canvas's full height at its left edge: only its right edge meets bg.
    const edge = { ...g, paste: { x: 0, y: 0, width: 4, height: 4 } };
    const ramps = featherRamps(edge, 2);
    assert.deepEqual(Array.from(ramps.ay), [256, 256, 256, 256], 'no fade on the canvas border');
    assert.deepEqual(Array.from(ramps.ax), [256, 256, 192, 64], 'fade over 2 px where fg meets bg');
    const c2 = new Uint8Array(canvas.length).fill(0);
    pasteYuv420(c2, edge, new Uint8Array(4 * 4 + 2 * 2 * 2).fill(200), ramps);
    assert.deepEqual(Array.from(c2.subarray(0, 8)), [200, 200, 150, 50, 0, 0, 0, 0]);
  });

  it('clips a paste that runs past the canvas', () => {
    const g = { width: 4, height: 2, fgCrop: { x: 0, y: 0, width: 4, height: 2 }, paste: { x: 2, y: 0, width: 4, height: 2 }, scaled: false };
    const canvas = new Uint8Array(4 * 2 + 2 * 2 * 1).fill(0);
    pasteYuv420(canvas, g, new Uint8Array(4 * 2 + 2 * 2).fill(9));
    assert.deepEqual(Array.from(canvas.subarray(0, 8)), [0, 0, 9, 9, 0, 0, 9, 9]);
  });
});
