import { readFrames } from '../../media/ffmpeg';
import type { FeatureSeq } from './types';
import type { Rect } from '../../core/geometry';

/**
 * Analysis size for a region: long side ≤ `maxSide`, and all pixels of both videos within a budget
 * (each pixel costs a byte here, four more as a float descriptor and at most one more in the coarse
 * level: 64 Mi pixels ≈ 320–400 MB), so memory stays bounded however long the videos are — longer
 * videos are compared at lower resolution.
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

/** Every frame of one region, grey, at w×h: what the pixel descriptors and the seek checks compare. */
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
