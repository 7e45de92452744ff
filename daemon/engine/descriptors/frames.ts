import { readFrames } from '../../media/ffmpeg';
import type { Rect } from '../../core/geometry';
import { emptyHashSeq, hashFrame, HASH_SIZE, HIST_BINS, type HashSeq } from './hash';

/** Every frame of one region of a video, grey, at analysis size: the input of the temporal engines. */
export interface FeatureSeq {
  /** n frames × (w × h) bytes. */
  data: Uint8Array;
  n: number;
  w: number;
  h: number;
  /** Presentation time of each frame in seconds, from the decoder (empty when unknown). */
  times: Float64Array;
}

/**
 * Analysis size for a region: long side ≤ `maxSide`, and all pixels of both videos within a budget
 * (each pixel costs a byte here and four more as a float descriptor: 64 Mi pixels ≈ 320 MB), so
 * memory stays bounded however long the videos are — longer videos are compared at lower resolution.
 */
export function analysisSize(region: Rect, totalFrames: number, maxSide = 96, budgetPixels = 64 << 20): { w: number; h: number } {
  let side = maxSide;
  for (;;) {
    const k = side / Math.max(region.width, region.height);
    const w = Math.max(4, Math.round(region.width * k));
    const h = Math.max(4, Math.round(region.height * k));
    if (w * h * totalFrames <= budgetPixels || side <= 16) return { w, h };
    side = Math.floor(side * 0.8);
  }
}

export async function extractFeatures(
  file: string,
  region: Rect,
  w: number,
  h: number,
  expectedFrames: number,
  onFrame?: (n: number) => void,
  signal?: AbortSignal,
): Promise<FeatureSeq> {
  const dim = w * h;
  let data = new Uint8Array(dim * Math.max(1, expectedFrames + 8));
  let n = 0;
  // exact=1: on 4:2:0 input ffmpeg's crop would otherwise round odd offsets down to the chroma grid
  // and shift the region by a pixel (luma is cut exactly; chroma is dropped anyway). Grey last:
  // converting a full-size frame to grey costs more than the crop and scale together.
  const filter = `crop=${region.width}:${region.height}:${region.x}:${region.y}:exact=1,scale=${w}:${h}:flags=area,format=gray`;
  const times: number[] = [];
  const onTime = (t: number) => times.push(t);
  for await (const f of readFrames({ file, filter, pixFmt: 'gray', width: w, height: h, onTime, signal, analysis: true, what: 'decoding for alignment' })) {
    if ((n + 1) * dim > data.length) {
      const grown = new Uint8Array(data.length * 2);
      grown.set(data);
      data = grown;
    }
    data.set(f, n * dim);
    n++;
    onFrame?.(n);
  }
  return { data: data.subarray(0, n * dim), n, w, h, times: times.length === n ? Float64Array.from(times) : new Float64Array(0) };
}

/**
 * Fingerprints of every frame of one region (the `fast` engine): 32×32 RGB thumbnails straight from
 * ffmpeg, hashed as they stream in; the grey thumbnails double as a small FeatureSeq.
 */
export async function extractHashFeatures(
  file: string,
  region: Rect,
  expectedFrames: number,
  onFrame?: (n: number) => void,
  signal?: AbortSignal,
): Promise<{ hashes: HashSeq; seq: FeatureSeq }> {
  let hashes = emptyHashSeq(Math.max(1, expectedFrames + 8));
  let n = 0;
  const times: number[] = [];
  const filter = `crop=${region.width}:${region.height}:${region.x}:${region.y}:exact=1,scale=${HASH_SIZE}:${HASH_SIZE}:flags=area`;
  for await (const f of readFrames({ file, filter, pixFmt: 'rgb24', width: HASH_SIZE, height: HASH_SIZE, onTime: (t) => times.push(t), signal, analysis: true, what: 'decoding for alignment' })) {
    if (n >= hashes.n) hashes = grow(hashes, hashes.n * 2);
    hashFrame(f, hashes, n++);
    onFrame?.(n);
  }
  hashes = grow(hashes, n);
  const seq = { data: hashes.grey, n, w: HASH_SIZE, h: HASH_SIZE, times: times.length === n ? Float64Array.from(times) : new Float64Array(0) };
  return { hashes, seq };
}

function grow(h: HashSeq, n: number): HashSeq {
  const out = emptyHashSeq(n);
  const m = Math.min(n, h.n);
  out.p.set(h.p.subarray(0, m));
  out.a.set(h.a.subarray(0, m));
  out.d.set(h.d.subarray(0, m));
  out.hist.set(h.hist.subarray(0, m * HIST_BINS));
  out.grey.set(h.grey.subarray(0, m * HASH_SIZE * HASH_SIZE));
  return out;
}
