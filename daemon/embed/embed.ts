import { existsSync } from 'node:fs';
import { note } from '../core/notes';
import { fileNotFound, VidkompyError, throwIfAborted } from '../core/errors';
import { type Descriptors, type DescriptorSet } from '../engine/descriptors/types';
import type { Rect } from '../core/geometry';
import { readFrames } from '../media/ffmpeg';
import { cacheKey, defaultCacheDir, fileHash, readEntry, writeEntry } from './cache';
import { checkSpec, loadModel, type LoadedModel, type ModelSpec } from './model';
import { firstLine, loadOrt, type Provider } from './provider';
import { Bounded } from './queue';
import { channelTables, frameToTensor, unitRows } from './tensor';

/**
 * Frame embeddings of one region of a video: the `embedding` frame descriptor. The region is
 * decoded straight to the model's input size by ffmpeg, frames are batched, and the next batch
 * decodes (in ffmpeg, and into the queue) while the current one runs through the model.
 */

export interface EmbedOptions {
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
  /** Cache folder (default: $XDG_CACHE_HOME/vidkompy or ~/.cache/vidkompy); false: no cache. */
  cacheDir?: string | false;
  /** For progress: how many frames the video has (from probe). */
  expectedFrames?: number;
  /** Frames per inference run (default 32; a model with a fixed batch dimension uses its own). */
  batchSize?: number;
}

export interface EmbedStats {
  /** Frames decoded and inferred in this call: 0 on a cache hit. */
  decoded: number;
  inferred: number;
  cacheHit: boolean;
  seconds: number;
  /** Set when the result could not be cached (the run itself succeeded). */
  cacheError?: string;
  /** Set when the cache held a damaged entry for this input: why it was discarded (and recomputed). */
  discarded?: string;
}

export interface EmbedOutput {
  /** One unit-norm row per frame, in decode order. */
  descriptors: Descriptors;
  /** Presentation time of each frame in seconds (empty when the decoder gave none). */
  times: Float64Array;
  /** Where the embeddings were computed (on a cache hit: where they were computed then). */
  provider: Provider;
  providerReason: string;
  stats: EmbedStats;
}

export const DEFAULT_BATCH = 32;

function checkRegion(file: string, r: Rect): void {
  const ok = [r.x, r.y, r.width, r.height].every(Number.isInteger) && r.x >= 0 && r.y >= 0 && r.width >= 4 && r.height >= 4;
  if (!ok) throw new VidkompyError('BAD_ARGS', `${file}: region ${JSON.stringify(r)} is not whole pixels inside the frame (x, y ≥ 0, width, height ≥ 4); fix the region`, file);
}

export async function embedVideo(file: string, region: Rect, model: ModelSpec, opts: EmbedOptions = {}): Promise<EmbedOutput> {
  const t0 = performance.now();
  throwIfAborted(opts.signal);
  checkRegion(file, region);
  checkSpec(model);
  if (!existsSync(file)) throw fileNotFound(file);
  if (!existsSync(model.path)) throw new VidkompyError('ENOENT', `${model.path}: model file not found; check the model path`, model.path);
  const seconds = () => (performance.now() - t0) / 1000;
  const cacheDir = opts.cacheDir === false ? null : (opts.cacheDir ?? defaultCacheDir());
  let key: string | null = null;
  let discarded: string | undefined;
  if (cacheDir) {
    const [video, weights] = await Promise.all([fileHash(file, cacheDir), fileHash(model.path, cacheDir)]);
    const { input, size, mean, std, output, layout } = model;
    const { x, y, width, height } = region;
    key = cacheKey({ video, weights, region: { x, y, width, height }, spec: { input, size, mean, std, output, layout } });
    const found = await readEntry(cacheDir, key);
    if (found && 'damaged' in found) {
      discarded = found.damaged;
      // Recomputed below and written over: one bad entry costs one inference, never a wrong alignment.
      note(`vidkompy: cache: discarded a damaged embedding cache entry for ${file} (${found.damaged}): ${found.file}; computing the embeddings again`);
    }
    const hit = found && 'entry' in found ? found.entry : undefined;
    if (hit) {
      opts.onProgress?.(1);
      return {
        descriptors: { n: hit.n, dim: hit.dim, v: hit.v },
        times: hit.times,
        provider: hit.provider,
        providerReason: `cached (computed on ${hit.provider})`,
        stats: { decoded: 0, inferred: 0, cacheHit: true, seconds: seconds() },
      };
    }
  }
  const m = await loadModel(model);
  const run = await infer(file, region, m, opts);
  const stats: EmbedStats = { decoded: run.decoded, inferred: run.inferred, cacheHit: false, seconds: 0, discarded };
  if (cacheDir && key && run.descriptors.n > 0) {
    // The cache is an optimisation: an unwritable cache folder must not fail the alignment.
    await writeEntry(cacheDir, key, { ...run.descriptors, provider: m.provider, times: run.times }).catch((e: unknown) => {
      stats.cacheError = firstLine(e);
    });
  }
  stats.seconds = seconds();
  opts.onProgress?.(1);
  return { descriptors: run.descriptors, times: run.times, provider: m.provider, providerReason: m.providerReason, stats };
}

interface Batch {
  data: Float32Array;
  count: number;
}

async function infer(file: string, region: Rect, m: LoadedModel, opts: EmbedOptions) {
  const ort = await loadOrt();
  const { spec } = m;
  const [W, H] = spec.size;
  const frameFloats = W * H * 3;
  const batch = m.fixedBatch ?? Math.max(1, opts.batchSize ?? DEFAULT_BATCH);
  const tables = channelTables(spec);
  // Two batches queued ahead: decoding never waits for inference unless inference is the bottleneck.
  const q = new Bounded<Batch>(2);
  const spare: Float32Array[] = [];
  const fresh = (): Batch => ({ data: spare.pop() ?? new Float32Array(batch * frameFloats), count: 0 });
  const times: number[] = [];
  let decoded = 0;
  // exact=1: on 4:2:0 input the crop would otherwise snap odd offsets to the chroma grid. Area
  // scaling averages every source pixel (no aliasing), so frames of any size reduce alike.
  const filter = `crop=${region.width}:${region.height}:${region.x}:${region.y}:exact=1,scale=${W}:${H}:flags=area`;
  const producer = (async () => {
    let cur = fresh();
    const frames = readFrames({ file, filter, pixFmt: 'rgb24', width: W, height: H, onTime: (t) => times.push(t), signal: opts.signal, analysis: true, what: 'decoding for embeddings' });
    for await (const f of frames) {
      frameToTensor(f, W, H, tables, spec.layout, cur.data, cur.count * frameFloats);
      cur.count++;
      decoded++;
      if (cur.count === batch) {
        await q.put(cur);
        if (q.isClosed) break;
        cur = fresh();
      }
    }
    if (cur.count && !q.isClosed) await q.put(cur);
    q.close();
  })().catch((e: unknown) => q.fail(e));

  let out = new Float32Array(0);
  let dim = m.dim;
  let n = 0;
  try {
    for (let b = await q.take(); b; b = await q.take()) {
      throwIfAborted(opts.signal);
      const rows = b.count;
      const feed = m.fixedBatch ?? rows;
      // A fixed-batch model gets its batch filled up with blank frames; their rows are dropped.
      if (rows < feed) b.data.fill(0, rows * frameFloats, feed * frameFloats);
      const shape = spec.layout === 'nchw' ? [feed, 3, H, W] : [feed, H, W, 3];
      const input = new ort.Tensor('float32', feed * frameFloats === b.data.length ? b.data : b.data.subarray(0, feed * frameFloats), shape);
      let result;
      try {
        result = await m.session.run({ [spec.input]: input }, [spec.output]);
      } catch (e) {
        throw new VidkompyError('BAD_ARGS', `${spec.path}: inference failed on input [${shape.join(', ')}] (${firstLine(e)}); check the model spec's size and layout`, spec.path);
      }
      const o = result[spec.output] as InstanceType<typeof ort.Tensor>;
      const d = o.dims.slice(1).reduce((a, c) => a * c, 1);
      if (o.type !== 'float32' || o.dims[0] !== feed || d < 1) {
        throw new VidkompyError('BAD_ARGS', `${spec.path}: output "${spec.output}" is ${o.type} [${o.dims.join(', ')}] for ${feed} frames; vidkompy needs float32 [${feed}, D]: pick another output`, spec.path);
      }
      if (dim === null) dim = d;
      if (d !== dim) throw new VidkompyError('BAD_ARGS', `${spec.path}: output "${spec.output}" changed width (${dim}, then ${d}); vidkompy needs a fixed embedding width`, spec.path);
      if ((n + rows) * dim > out.length) {
        const grown = new Float32Array(Math.max((n + rows) * dim, 2 * out.length, ((opts.expectedFrames ?? 0) + batch) * dim));
        grown.set(out.subarray(0, n * dim));
        out = grown;
      }
      unitRows(o.data as Float32Array, rows, dim, out, n);
      const bad = firstNonFinite(out, n * dim, (n + rows) * dim);
      if (bad >= 0) {
        const why = `output "${spec.output}" is not a finite number for frame ${Math.floor(bad / dim)} of ${file}`;
        throw new VidkompyError('BAD_ARGS', `${spec.path}: ${why}; check the model`, spec.path);
      }
      n += rows;
      spare.push(b.data);
      if (opts.expectedFrames) opts.onProgress?.(Math.min(0.99, n / opts.expectedFrames));
    }
  } catch (e) {
    q.close();
    await producer;
    throw e;
  }
  await producer;
  if (n === 0) throw new VidkompyError('NO_FRAMES', `${file}: no frame could be decoded; re-export the video`, file);
  return {
    descriptors: { n, dim: dim!, v: out.slice(0, n * dim!) },
    times: times.length === n ? Float64Array.from(times) : new Float64Array(0),
    decoded,
    inferred: n,
  };
}

/** The index of the first NaN or infinity in a[from, to), or -1. */
export function firstNonFinite(a: Float32Array, from: number, to: number): number {
  for (let i = from; i < to; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

/**
 * Embeddings as the temporal engines' descriptors. Learned features are already compact, so the
 * coarse search uses the same vectors, and every dimension counts (maskFraction 1).
 */
export function embeddingDescriptors(fg: Pick<EmbedOutput, 'descriptors'>, bg: Pick<EmbedOutput, 'descriptors'>): DescriptorSet {
  const f = fg.descriptors;
  const b = bg.descriptors;
  if (f.dim !== b.dim) {
    throw new VidkompyError('BAD_ARGS', `fg and bg embeddings differ in width (${f.dim} vs ${b.dim}); embed both videos with the same model`);
  }
  return { fg: f, bg: b, coarseFg: f, coarseBg: b, maskFraction: 1 };
}
