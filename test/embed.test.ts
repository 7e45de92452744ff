import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { decodeEntry, defaultCacheDir, encodeEntry } from '../daemon/embed/cache';
import { embeddingDescriptors, embedVideo, type EmbedOutput } from '../daemon/embed/embed';
import { builtinModel, checkModel, loadModel, type ModelSpec } from '../daemon/embed/model';
import { CUDA_LIBRARY, openSession, ortBinDir, planProvider } from '../daemon/embed/provider';
import { channelTables, frameToTensor, unitRows } from '../daemon/embed/tensor';
import { VidkompyError } from '../daemon/core/errors';
import { analysisSize, extractFeatures } from '../daemon/engine/descriptors/frames';
import { alignTemporal } from '../daemon/engine/temporal/solve';
import { pixelDescriptors } from '../daemon/engine/descriptors/pixels';
import type { DeriveSpec } from '../daemon/media/derive';
import { probe } from '../daemon/media/probe';
import { derived, HAVE_SHARED, media, NO_SHARED, SAMPLE, tempDir } from './support/media';
import { MAKE_MODEL, makeModel, nhwcFixedBatchModel, rank3Model } from './support/onnx-models';

const MODEL = builtinModel();
const GRADE = { contrast: 1.25, brightness: 0.04, saturation: 0.6, gamma: 1.3 };
const NO_CACHE = { cacheDir: false } as const;

function dot(a: EmbedOutput, i: number, b: EmbedOutput, j: number): number {
  const d = a.descriptors.dim;
  let s = 0;
  for (let k = 0; k < d; k++) s += a.descriptors.v[i * d + k] * b.descriptors.v[j * d + k];
  return s;
}

/** Share of fg frames mapped within one bg frame of the truth, and the worst miss. */
function within1(map: ArrayLike<number>, truth: number[]): { within1: number; maxErr: number } {
  const n = Math.min(map.length, truth.length);
  let ok = 0;
  let maxErr = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.abs(map[i] - truth[i]);
    if (e <= 1) ok++;
    maxErr = Math.max(maxErr, e);
  }
  return { within1: ok / n, maxErr };
}

async function rejectsWith(p: Promise<unknown>, ...parts: (string | RegExp)[]): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof VidkompyError, `not a VidkompyError: ${String(e)}`);
    for (const part of parts) assert.match(e.message, typeof part === 'string' ? new RegExp(part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : part);
    return e.message;
  }
  assert.fail('expected a rejection');
}

describe('embeddings: the built-in model on CPU', () => {
  // Same frame graded and re-encoded vs. frames one second apart: fg is bg's full (even-sized)
  // frame with an eq grade at crf 30, frame for frame, so fg frame i is bg frame i.
  const clips: [string, string, number | undefined][] = [
    ['cityCC0.mpg (bundled)', SAMPLE, undefined],
    ['box.mp4', media('box.mp4'), 100],
    ['diver.mov', media('diver.mov'), 100],
    ['cockatoo.mp4', media('cockatoo.mp4'), 100],
    ['balle-jbart.mp4', media('balle-jbart.mp4'), 100],
    ['chaplin.mp4', media('chaplin.mp4'), 100],
  ];
  for (const [name, file, frames] of clips) {
    const shared = file !== SAMPLE;
    it(`same frame graded + re-encoded beats 1 s apart: ${name}`, { skip: shared && !HAVE_SHARED ? NO_SHARED : false }, async (t) => {
      const p = await probe(file);
      const full = { x: 0, y: 0, width: p.width & ~1, height: p.height & ~1 };
      const { fg, truth } = await derived(file, { crop: full, grade: GRADE, crf: 30, frames });
      const [a, b] = await Promise.all([embedVideo(fg, full, MODEL, NO_CACHE), embedVideo(file, full, MODEL, NO_CACHE)]);
      assert.equal(a.provider, 'cpu');
      const gap = Math.round(p.fps);
      let wins = 0;
      let total = 0;
      let margin = 0;
      for (let i = 0; i < Math.min(a.descriptors.n, truth.bgFrameForFg.length); i += 2) {
        const j = truth.bgFrameForFg[i];
        const far = [j - gap, j + gap].filter((k) => k >= 0 && k < b.descriptors.n);
        if (!far.length) continue;
        const same = dot(a, i, b, j);
        const other = Math.max(...far.map((k) => dot(a, i, b, k)));
        total++;
        if (same > other) wins++;
        margin += same - other;
      }
      margin /= total;
      t.diagnostic(`${name}: ${wins}/${total} frames closer to their own graded copy; mean margin ${margin.toFixed(3)} (dim ${a.descriptors.dim})`);
      assert.ok(total >= 20, `too few frames compared (${total})`);
      assert.ok(wins / total >= 0.9, `${name}: only ${wins}/${total} frames closer to their graded copy than to 1 s away`);
      assert.ok(margin > 0.01, `${name}: mean margin ${margin.toFixed(4)} is too thin`);
    });
  }

  it('aligns a graded, cropped, re-timed pair to ≥ 95% within one frame (and compares with pixels)', async (t) => {
    const spec: DeriveSpec = { crop: { x: 160, y: 80, width: 400, height: 240 }, fps: 30, offset: 1.5, grade: GRADE, crf: 28 };
    const { fg, truth } = await derived(SAMPLE, spec);
    const [fp, bp] = await Promise.all([probe(fg), probe(SAMPLE)]);
    const fgRect = { x: 0, y: 0, width: fp.width, height: fp.height };
    const bgRect = spec.crop!;
    const [a, b] = await Promise.all([embedVideo(fg, fgRect, MODEL, NO_CACHE), embedVideo(SAMPLE, bgRect, MODEL, NO_CACHE)]);
    const tm = alignTemporal(embeddingDescriptors(a, b), { engine: 'full', fgFps: fp.fps, bgFps: bp.fps });
    const emb = within1(tm.bgFrameForFg, truth.bgFrameForFg);

    const { w, h } = analysisSize(fgRect, fp.frameCount + bp.frameCount);
    const [ff, bf] = await Promise.all([extractFeatures(fg, fgRect, w, h, fp.frameCount), extractFeatures(SAMPLE, bgRect, w, h, bp.frameCount)]);
    const px = within1(alignTemporal(pixelDescriptors(ff, bf, 'full'), { engine: 'full', fgFps: fp.fps, bgFps: bp.fps }).bgFrameForFg, truth.bgFrameForFg);
    t.diagnostic(
      `embeddings: ${(emb.within1 * 100).toFixed(1)}% within 1 frame (max error ${emb.maxErr}); pixels: ${(px.within1 * 100).toFixed(1)}% (max ${px.maxErr}); ${a.descriptors.n} fg frames`,
    );
    assert.ok(emb.within1 >= 0.95, `embeddings: only ${(emb.within1 * 100).toFixed(1)}% within one frame`);
    for (let i = 1; i < tm.bgFrameForFg.length; i++) assert.ok(tm.bgFrameForFg[i] >= tm.bgFrameForFg[i - 1], `map not monotonic at ${i}`);
  });
});

describe('embeddings: models brought by the user', () => {
  it('rejects a rank-3 input with the file, the shapes and the fix', async () => {
    const g = await makeModel();
    const dir = await tempDir('embed-models');
    const file = path.join(dir, 'rank3.onnx');
    await fs.writeFile(file, rank3Model(g));
    const msg = await rejectsWith(loadModel({ ...MODEL, path: file }), file, 'rank 3', '[N, 64, 64]', 'rank-4 image batch input');
    assert.match(msg, /\[N, 3, 64, 64\]/);
  });

  it('rejects an output name the model does not have, listing the real ones', async () => {
    await rejectsWith(
      loadModel({ ...MODEL, output: 'features' }),
      MODEL.path,
      'no output "features"',
      'embedding float32 [N, 1088]',
      `set the spec's "output"`,
    );
    await rejectsWith(loadModel({ ...MODEL, input: 'images' }), 'no input "images"', 'frames float32 [N, 3, 64, 64]', `set the spec's "input"`);
  });

  it('says which spec field to change when layout or size do not fit', async () => {
    await rejectsWith(loadModel({ ...MODEL, layout: 'nhwc' }), MODEL.path, 'set "layout" to "nchw"');
    await rejectsWith(loadModel({ ...MODEL, size: [96, 64] }), 'set "size" to [64, 64]');
    await rejectsWith(
      Promise.resolve().then(() => loadModel({ ...MODEL, std: [1, 0, 1] })),
      'std [1,0,1] has a zero',
    );
    await rejectsWith(
      Promise.resolve().then(() => loadModel({ ...MODEL, path: '/nonexistent/model.onnx' })),
      '/nonexistent/model.onnx: model file not found',
    );
    const dir = await tempDir('embed-models');
    const junk = path.join(dir, 'junk.onnx');
    await fs.writeFile(junk, 'not a model');
    await rejectsWith(loadModel({ ...MODEL, path: junk }), junk, 'not a model onnxruntime can load');
  });

  it('checks output rank and flattens [N, ...] outputs', () => {
    const spec: ModelSpec = { ...MODEL, path: 'm.onnx' };
    const input = { name: 'frames', isTensor: true, type: 'float32', shape: ['batch', 3, 64, 64] };
    assert.deepEqual(checkModel(spec, { inputs: [input], outputs: [{ name: 'embedding', isTensor: true, type: 'float32', shape: ['batch', 16, 2, 2] }] }), {
      fixedBatch: null,
      dim: 64,
    });
    assert.throws(
      () => checkModel(spec, { inputs: [input], outputs: [{ name: 'embedding', isTensor: true, type: 'float32', shape: [512] }] }),
      /m\.onnx: output embedding float32 \[512\] has rank 1; .*\[N, D\]/,
    );
    assert.throws(
      () => checkModel(spec, { inputs: [input, { name: 'mask', isTensor: true, type: 'float32', shape: [1] }], outputs: [] }),
      /m\.onnx: the model needs more inputs than frames \(mask/,
    );
  });

  it('runs an NHWC model with a fixed batch, padding the last batch', async () => {
    const g = await makeModel();
    const dir = await tempDir('embed-models');
    const file = path.join(dir, 'nhwc.onnx');
    await fs.writeFile(file, nhwcFixedBatchModel(g));
    const spec: ModelSpec = { path: file, input: 'image', output: 'features', size: [32, 32], mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], layout: 'nhwc' };
    const { fg } = await derived(SAMPLE, { crop: { x: 0, y: 0, width: 320, height: 240 }, frames: 25 });
    const out = await embedVideo(fg, { x: 0, y: 0, width: 320, height: 240 }, spec, NO_CACHE);
    assert.deepEqual([out.descriptors.n, out.descriptors.dim, out.stats.inferred, out.times.length], [25, 48, 25, 25]);
    for (let i = 0; i < out.descriptors.n; i++) {
      let ss = 0;
      for (let k = 0; k < 48; k++) ss += out.descriptors.v[i * 48 + k] ** 2;
      assert.ok(Math.abs(ss - 1) < 1e-4, `row ${i} norm² ${ss}`);
    }
  });
});

describe('embeddings: cache', () => {
  it('a second run decodes and infers nothing; another region misses', async (t) => {
    const cacheDir = await tempDir('embed-cache');
    const region = { x: 160, y: 80, width: 400, height: 240 };
    const first = await embedVideo(SAMPLE, region, MODEL, { cacheDir, expectedFrames: 190 });
    assert.deepEqual([first.stats.cacheHit, first.stats.decoded, first.stats.inferred], [false, 190, 190]);
    const again = await embedVideo(SAMPLE, region, MODEL, { cacheDir });
    assert.deepEqual([again.stats.cacheHit, again.stats.decoded, again.stats.inferred], [true, 0, 0]);
    assert.deepEqual(again.descriptors, first.descriptors);
    assert.deepEqual(again.times, first.times);
    assert.equal(again.provider, first.provider);
    // Keyed by content, not name: a copy elsewhere hits too.
    const copy = path.join(cacheDir, 'copy.mpg');
    await fs.copyFile(SAMPLE, copy);
    const copied = await embedVideo(copy, region, MODEL, { cacheDir });
    assert.equal(copied.stats.cacheHit, true);
    const moved = await embedVideo(SAMPLE, { ...region, x: 162 }, MODEL, { cacheDir });
    assert.deepEqual([moved.stats.cacheHit, moved.stats.decoded, moved.stats.inferred], [false, 190, 190]);
    t.diagnostic(
      `first ${first.stats.seconds.toFixed(2)} s (decoded ${first.stats.decoded}, inferred ${first.stats.inferred}); cached ${again.stats.seconds.toFixed(3)} s (decoded 0, inferred 0); other region ${moved.stats.seconds.toFixed(2)} s`,
    );
  });

  it('round-trips an entry and refuses a truncated or foreign one', () => {
    const e = { n: 2, dim: 3, provider: 'cpu' as const, v: Float32Array.of(1, 0, 0, 0, 0.6, 0.8), times: Float64Array.of(0, 0.04) };
    const bytes = Buffer.from(encodeEntry('k1', e));
    assert.deepEqual(decodeEntry('k1', bytes), e);
    assert.equal(decodeEntry('k2', bytes), null);
    assert.equal(decodeEntry('k1', bytes.subarray(0, bytes.length - 1)), null);
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' }), path.join('/x/cache', 'vidkompy'));
  });

  it('stops ffmpeg and rejects when cancelled', async () => {
    const ac = new AbortController();
    const p = embedVideo(SAMPLE, { x: 0, y: 0, width: 720, height: 404 }, MODEL, {
      ...NO_CACHE,
      signal: ac.signal,
      expectedFrames: 190,
      onProgress: (f) => f > 0.2 && ac.abort(),
    });
    await assert.rejects(p, (e: unknown) => e instanceof VidkompyError && e.code === 'CANCELLED');
  });
});

describe('embeddings: the built-in model file', () => {
  it('is byte-identical to a fresh generation', async () => {
    const dir = await tempDir('embed-gen');
    const out = path.join(dir, 'regenerated.onnx');
    await promisify(execFile)(process.execPath, [MAKE_MODEL, out]);
    const [fresh, committed] = await Promise.all([fs.readFile(out), fs.readFile(MODEL.path)]);
    assert.ok(committed.length < 100_000, `model is ${committed.length} bytes`);
    assert.ok(
      fresh.equals(committed),
      `models/vidkompy-features.onnx differs from a fresh generation (${fresh.length} vs ${committed.length} bytes): run 'node scripts/make-model.mjs' and commit the result`,
    );
    const g = await makeModel();
    assert.ok(Buffer.from(g.featureModel()).equals(committed), 'in-process generation differs');
  });
});

describe('embeddings: execution provider', () => {
  const binDir = ortBinDir();
  const cudaHere = !!binDir && existsSync(path.join(binDir, CUDA_LIBRARY));

  it('runs on CPU and says why when no CUDA provider library is installed', { skip: cudaHere ? `${CUDA_LIBRARY} is installed here` : false }, async () => {
    const plan = planProvider({}, binDir);
    assert.equal(plan.tryCuda, false);
    assert.match(plan.reason, new RegExp(`no CUDA provider library \\(.*${CUDA_LIBRARY} is absent; docs/gpu.md`));
    const m = await loadModel(MODEL);
    assert.equal(m.provider, 'cpu');
    assert.match(m.providerReason, /^cpu: no CUDA provider library/);
  });

  it('follows VIDKOMPY_ONNX_PROVIDER and refuses unknown values', () => {
    assert.deepEqual(planProvider({ VIDKOMPY_ONNX_PROVIDER: 'cpu' }, binDir), { tryCuda: false, reason: 'VIDKOMPY_ONNX_PROVIDER=cpu' });
    assert.equal(planProvider({ VIDKOMPY_ONNX_PROVIDER: 'CUDA' }, binDir).tryCuda, true);
    assert.throws(() => planProvider({ VIDKOMPY_ONNX_PROVIDER: 'tpu' }, binDir), /VIDKOMPY_ONNX_PROVIDER=tpu: unknown provider; use cpu or cuda/);
  });

  it('falls back to CPU when CUDA is asked for but cannot start', { skip: cudaHere ? `${CUDA_LIBRARY} is installed here` : false }, async () => {
    // onnxruntime logs its own load failure on stderr; the session still opens, on CPU.
    const s = await openSession(MODEL.path, { tryCuda: true, reason: 'VIDKOMPY_ONNX_PROVIDER=cuda' });
    assert.equal(s.provider, 'cpu');
    assert.match(s.reason, /^cpu: VIDKOMPY_ONNX_PROVIDER=cuda, but CUDA failed \(.+\); check CUDA 12 and cuDNN 9/);
    await s.session.release();
  });
});

describe('embeddings: tensors', () => {
  it('converts rgb24 to normalised NCHW and NHWC', () => {
    const rgb = Uint8Array.of(0, 255, 51, 255, 0, 102);
    const tables = channelTables({ mean: [0, 0.5, 0], std: [1, 0.5, 0.2] });
    const nchw = new Float32Array(7).fill(9);
    frameToTensor(rgb, 2, 1, tables, 'nchw', nchw, 1);
    assert.deepEqual(
      Array.from(nchw, (v) => Math.round(v * 1000) / 1000),
      [9, 0, 1, 1, -1, 1, 2],
    );
    const nhwc = new Float32Array(6);
    frameToTensor(rgb, 2, 1, tables, 'nhwc', nhwc, 0);
    assert.deepEqual(
      Array.from(nhwc, (v) => Math.round(v * 1000) / 1000),
      [0, 1, 1, 1, -1, 2],
    );
  });

  it('scales rows to unit norm and leaves blank rows at zero', () => {
    const out = new Float32Array(6);
    unitRows(Float32Array.of(3, 4, 0, 0, 0, 0), 2, 3, out, 0);
    assert.deepEqual(
      Array.from(out, (v) => Math.round(v * 1000) / 1000),
      [0.6, 0.8, 0, 0, 0, 0],
    );
  });
});
