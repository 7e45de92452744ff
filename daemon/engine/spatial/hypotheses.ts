import { requireFramesAt } from '../../media/decode';
import type { AlignContext } from '../context';
import { timeOf, type FeatureSeq } from '../descriptors/types';
import { integral, resize, template, toGray, type Gray } from '../image';
import { correlate, fft2, nextPow2, spectrumOf } from './fft';
import { pickPairs } from './joint';
import { contentOf, fixedScale } from './locate';
import { maxNcc, refine, scaleGrid, type Placement } from './search';

/**
 * Placement from evidence over time. The coarse search compares sampled frames of the two videos
 * taken at different moments: with a moving camera, a small bg or a scene change, the best of those
 * pairs can be a chance match in a wrong basin, which then looks right on the few frames it was
 * refined on (NCC 0.99) while most of fg does not match. What gives it away is the temporal pass:
 * across all of fg, a right placement's frames match their bg frames about as well as the pixels
 * allow (mean similarity 0.98–1.00 on the corpus's right pairs in pixels, 0.94 for a tiny inset
 * over fast motion), a wrong one's do not (0.56–0.93). The bar is each descriptor kind's own (`DescriptorKind.supported`).
 *
 * When that support is weak, the pass's own map offers what the coarse search lacked: frame pairs
 * from the same moment. Searched together — one position and scale that fits all the pairs, each
 * pair's NCC map averaged — they point at the placement the whole video supports, which the caller
 * then verifies with a temporal pass of its own and keeps only if fg's frames match better there.
 */

/** Time-matched pairs the search uses, spread across fg. */
const PAIRS = 6;
/** bg frames either side of each pair's match that it is also compared with. */
const REACH = 2;
/** Steps of the sampled search's scale grid (1.06 each) per step of this one: 1.19, which the refinement's ±10% closes. */
const SCALE_STRIDE = 3;
/** Coarse working size, px on bg's longer side: finer than the sampled search (128), still cheap. */
const SIZE = 256;

/** Mean of a per-frame similarity: how well one placement explains fg over the whole video. */
export function support(confidence: Float32Array): number {
  let s = 0;
  for (const c of confidence) s += c;
  return s / Math.max(1, confidence.length);
}

/**
 * The placement that best fits frame pairs matched in time by `map`: fg frames spread over the
 * video (the best-matched one of each stretch) with their bg frames, searched over all of bg and a
 * scale sweep, then refined at full size. Undefined when nothing fits.
 */
export async function placementOnMatched(
  ctx: AlignContext,
  around: Placement,
  map: Int32Array,
  confidence: Float32Array,
  seqs: { fg: FeatureSeq; bg: FeatureSeq },
): Promise<Placement | undefined> {
  const { o } = ctx;
  const { bg } = ctx.loc;
  const { bgs, fgs } = await matchedPairs(ctx, map, confidence, seqs);
  const c = Math.min(1, SIZE / Math.max(bg.width, bg.height));
  const sw = Math.max(8, Math.round(bg.width * c));
  const sh = Math.max(8, Math.round(bg.height * c));
  const hit = pairedCoarse(
    bgs.map((cands) => cands.map((b) => resize(b, sw, sh))),
    fgs,
    c,
    around.scale,
    fixedScale(o),
  );
  if (!hit) return undefined;
  return refine(
    bgs.map((cands, k) => ({ bg: cands, fg: fgs[k] })),
    hit,
    { from: Math.min(1, 2 * c), scaleUncertainty: 0.1, fixedScale: fixedScale(o) },
  );
}

/**
 * How well `at` fits the frame pairs its own map matched: refined there at full size (its score is
 * the pairs' NCC). A placement that explains fg's frames over time but fits none of them at full
 * size is no placement: a small smooth region (0.28 of a panning window's size) is about as
 * similar to every frame at analysis size, and would win on that alone.
 */
export async function fitOnMatched(
  ctx: AlignContext,
  at: Placement,
  map: Int32Array,
  confidence: Float32Array,
  seqs: { fg: FeatureSeq; bg: FeatureSeq },
): Promise<Placement> {
  const { bg } = ctx.loc;
  const { bgs, fgs } = await matchedPairs(ctx, map, confidence, seqs);
  const c = Math.min(1, SIZE / Math.max(bg.width, bg.height));
  return refine(
    bgs.map((cands, k) => ({ bg: cands, fg: fgs[k] })),
    at,
    { from: Math.min(1, 2 * c), scaleUncertainty: 0.1, fixedScale: fixedScale(ctx.o) },
  );
}

/**
 * fg frames spread over the video (the best-matched one of each stretch) with the bg frames around
 * their match at full size: the map may be a few frames off where the placement is wrong, so each
 * fg frame meets the bg frames around its match, and the one that fits best at each position counts.
 */
async function matchedPairs(
  ctx: AlignContext,
  map: Int32Array,
  confidence: Float32Array,
  seqs: { fg: FeatureSeq; bg: FeatureSeq },
): Promise<{ bgs: Gray[][]; fgs: Gray[] }> {
  const { o } = ctx;
  const { bg, fg, content } = ctx.loc;
  const picks = [...new Set(pickPairs(confidence, PAIRS))];
  const near = (i: number) => {
    const out: number[] = [];
    for (let j = Math.max(0, map[i] - REACH); j <= Math.min(seqs.bg.n - 1, map[i] + REACH); j++) out.push(j);
    return out;
  };
  const bgIdx = picks.map(near);
  const [bgFrames, fgFrames] = await Promise.all([
    requireFramesAt(
      bg,
      bgIdx.flat().map((j) => timeOf(seqs.bg, bg, j)),
      { signal: o.signal, analysis: true },
    ),
    requireFramesAt(
      fg,
      picks.map((i) => timeOf(seqs.fg, fg, i)),
      { signal: o.signal, analysis: true },
    ),
  ]);
  let at = 0;
  const bgs = bgIdx.map((js) => js.map(() => toGray(bgFrames[at++], bg.width, bg.height)));
  const fgs = fgFrames.map((f) => contentOf(toGray(f, fg.width, fg.height), content));
  return { bgs, fgs };
}

/**
 * The coarse search on paired frames: at each scale, each pair's NCC over every position, averaged
 * over the pairs; the best average wins. Unlike the sampled search (best of any pair), a chance
 * match on one pair cannot outweigh a place every pair agrees on.
 */
export function pairedCoarse(bg: Gray[][], fg: Gray[], c: number, around: number, fixed?: number): Placement | undefined {
  const bw = bg[0][0].width;
  const bh = bg[0][0].height;
  const W = nextPow2(bw);
  const H = nextPow2(bh);
  // Candidates packed in pairs: one complex transform serves two real images (as in the sampled search).
  const specs = bg.map((cands) => {
    const out = [];
    for (let m = 0; m < cands.length; m += 2) out.push(fft2(cands[m].data, bw, bh, W, H, cands[m + 1]?.data));
    return out;
  });
  const ints = bg.map((cands) => cands.map(integral));
  // Every third step of the sampled search's grid (a wrong basin can be at any scale: one found was
  // 4× off), through the questioned placement's own scale: the refinement closes the step.
  const grid = scaleGrid(fg[0].width, fg[0].height, c, bw, bh, fixed);
  const near = grid.reduce((b, v, i) => (Math.abs(Math.log(v / around)) < Math.abs(Math.log(grid[b] / around)) ? i : b), 0);
  const scales = grid.filter((_, i) => fixed !== undefined || (i - near) % SCALE_STRIDE === 0);
  let best: Placement | undefined;
  const tSpec = spectrumOf(W, H);
  const cSpec = spectrumOf(W, H);
  for (const s of scales) {
    const tw = Math.max(1, Math.round(fg[0].width * s * c));
    const th = Math.max(1, Math.round(fg[0].height * s * c));
    if (tw > bw || th > bh) continue;
    const nx = bw - tw + 1;
    const ny = bh - th + 1;
    const sum = new Float64Array(nx * ny);
    const top = new Float64Array(nx * ny);
    let used = 0;
    for (let k = 0; k < bg.length; k++) {
      const t = template(resize(fg[k], tw, th));
      if (t.norm < 1e-3) continue;
      used++;
      const ts = fft2(t.data, tw, th, W, H, undefined, tSpec);
      top.fill(-1);
      for (let p = 0; p < specs[k].length; p++) {
        const corr = correlate(specs[k][p], ts, ny, cSpec);
        for (const [m, part] of [
          [2 * p, corr.re],
          [2 * p + 1, corr.im],
        ] as const) {
          if (m < bg[k].length) maxNcc(part, W, ints[k][m], t, nx, ny, top);
        }
      }
      for (let q = 0; q < sum.length; q++) sum[q] += top[q];
    }
    if (!used) continue;
    for (let q = 0; q < sum.length; q++) {
      const score = sum[q] / used;
      if (!best || score > best.score) best = { x: (q % nx) / c, y: Math.floor(q / nx) / c, scale: s, score };
    }
  }
  return best;
}
