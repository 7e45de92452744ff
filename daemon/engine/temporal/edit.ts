import { batchDot, dtwBand } from '../../native/kernels';
import type { Descriptors, DescriptorSet } from '../descriptors/types';
import { topMatrix } from './pyramid';
import { alignTemporal, checkAnchors, type TemporalOptions, type TemporalResult } from './solve';
import { robustLine } from '../../core/line';

/**
 * The `edit` engine, for an fg that is an edit of bg: stretches of bg in order, with parts cut out
 * (or fg covering only part of bg).
 *
 * 1. The top level's matrix (sampled fg frames × bg blocks), searched by subsequence DTW that may
 *    also jump forward at a fixed penalty: a jump is a cut.
 * 2. Each stretch between cuts is aligned on its own by the pyramid, restricted to its bg span.
 * 3. Between two stretches the cut lies somewhere between two sampled frames: every fg frame there
 *    is scored against both stretches' maps, and the cut goes where the total cost is least.
 */
export interface Cut {
  /** First fg frame after the cut. */
  fg: number;
  /** bg frame under the last fg frame before the cut, and under the first after it. */
  bgFrom: number;
  bgTo: number;
}

export interface EditResult extends TemporalResult {
  cuts: Cut[];
}

/** A jump costs this many rows' worth of local timing evidence. */
const JUMP_COST = 8;
const TOP_ROWS = 400;

function rowsOf(d: Descriptors, from: number, to: number): Descriptors {
  return { n: to - from, dim: d.dim, v: d.v.subarray(from * d.dim, to * d.dim) };
}

function slice(d: DescriptorSet, f0: number, f1: number, b0: number, b1: number): DescriptorSet {
  return {
    fg: rowsOf(d.fg, f0, f1),
    bg: rowsOf(d.bg, b0, b1),
    coarseFg: rowsOf(d.coarseFg, f0, f1),
    coarseBg: rowsOf(d.coarseBg, b0, b1),
    maskFraction: d.maskFraction,
  };
}

/** Median over rows of the cost rise `k` columns either side of the row's best column. */
function localContrast(cost: Float32Array, rows: number, cols: number, k: number): number {
  const rises: number[] = [];
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let b = 0;
    for (let c = 1; c < cols; c++) if (cost[o + c] < cost[o + b]) b = c;
    const side = Math.min(b - k >= 0 ? cost[o + b - k] : Infinity, b + k < cols ? cost[o + b + k] : Infinity);
    if (Number.isFinite(side)) rises.push(side - cost[o + b]);
  }
  rises.sort((a, b) => a - b);
  return Math.max(1e-4, rises[rises.length >> 1] ?? 0.01);
}

/** Costs of fg frames [f0, f1) against the bg frames a map gives them. */
function costsAlong(d: DescriptorSet, f0: number, map: (i: number) => number, count: number): Float64Array {
  const aIndex = Int32Array.from({ length: count }, (_, k) => f0 + k);
  const bStart = Int32Array.from(aIndex, (i) => Math.max(0, Math.min(d.bg.n - 1, map(i))));
  const dots = batchDot(d.fg.v, d.fg.n, d.bg.v, d.bg.n, d.fg.dim, { aIndex, bStart, bCount: new Int32Array(count).fill(1) });
  return Float64Array.from(dots, (v) => 1 - v);
}

export function alignEdit(d: DescriptorSet, o: TemporalOptions): EditResult {
  const nF = d.fg.n;
  const nB = d.bg.n;
  const anchors = checkAnchors(o.anchors ?? [], nF, nB);
  const step = Math.max(1, Math.ceil(nF / TOP_ROWS));
  const rate = o.bgFps / o.fgFps;
  const m = topMatrix(d.coarseFg, d.coarseBg, step, rate);
  const rows = m.rows.length;
  const lo = new Int32Array(rows);
  const width = new Int32Array(rows).fill(m.nBlk);
  // The scale of timing evidence: how much worse a row's match gets a couple of fg rows' worth of bg
  // away from its best. (Not the spread to far-away frames: in a slow pan neighbouring frames look
  // alike, and a penalty on that scale would make riding through a cut cheaper than jumping it.)
  const local = localContrast(m.cost, rows, m.nBlk, Math.max(1, Math.round(2 * m.rate)));
  // Every visited cell also pays `local`: DTW would otherwise catch up with a cut by racing through
  // the skipped frames instead of jumping.
  const biased = Float32Array.from(m.cost, (c) => c + local);
  const dtw = dtwBand(biased, rows, lo, width, m.nBlk, { openBegin: true, openEnd: true, jumpPenalty: JUMP_COST * local });
  o.onProgress?.(0.3);

  // Stretches between jumps, as ranges of top rows.
  const starts = [0, ...dtw.jumps.map((j) => j.row)].filter((r, k, a) => k === 0 || r > a[k - 1]);
  const pieces = starts.map((r0, k) => {
    const r1 = k + 1 < starts.length ? starts[k + 1] : rows;
    // fg frames: from just after the previous stretch's last sure row to this stretch's last row's
    // successor, so neighbouring stretches overlap exactly where the cut is uncertain.
    const f0 = k === 0 ? 0 : m.rows[r0 - 1] + 1;
    const f1 = r1 < rows ? m.rows[r1] : nF;
    let bMin = Infinity;
    let bMax = -Infinity;
    for (let r = r0; r < r1; r++) {
      const b = m.arg[r * m.nBlk + dtw.path[r]];
      bMin = Math.min(bMin, b);
      bMax = Math.max(bMax, b);
    }
    const margin = Math.ceil(2 * m.rate * m.block) + 8;
    const b0 = Math.max(0, Math.floor(bMin) - margin);
    const b1 = Math.min(nB, Math.ceil(bMax) + margin + 1);
    const sub = alignTemporal(slice(d, f0, f1, b0, b1), {
      ...o,
      engine: 'full',
      anchors: anchors.filter((a) => a.fg >= f0 && a.fg < f1 && a.bg >= b0 && a.bg < b1).map((a) => ({ fg: a.fg - f0, bg: a.bg - b0 })),
      onProgress: undefined,
    });
    const map = (i: number) => sub.bgFrameForFg[Math.max(0, Math.min(sub.bgFrameForFg.length - 1, i - f0))] + b0;
    return { f0, f1, map, sub };
  });
  o.onProgress?.(0.8);

  // Place each cut inside the overlap of neighbouring stretches.
  const cuts: Cut[] = [];
  const path = new Int32Array(nF);
  const confidence = new Float32Array(nF);
  const evidence = new Float32Array(nF);
  let from = 0;
  for (let k = 0; k < pieces.length; k++) {
    const p = pieces[k];
    let to = p.f1;
    if (k + 1 < pieces.length) {
      const q = pieces[k + 1];
      const a = q.f0;
      const b = p.f1;
      const ca = costsAlong(d, a, p.map, b - a);
      const cb = costsAlong(d, a, q.map, b - a);
      // switch at t: frames [a, t) follow p, [t, b) follow q.
      let best = a;
      let run = 0;
      for (let u = a; u < b; u++) run += cb[u - a];
      let bestCost = run;
      for (let t = a + 1; t <= b; t++) {
        run += ca[t - 1 - a] - cb[t - 1 - a];
        if (run < bestCost) {
          bestCost = run;
          best = t;
        }
      }
      to = best;
      // A real cut skips bg frames; stretches that merely meet are one stretch.
      if (q.map(best) - p.map(best - 1) > 2 * rate + 2) cuts.push({ fg: best, bgFrom: p.map(best - 1), bgTo: q.map(best) });
    }
    for (let i = from; i < to; i++) {
      path[i] = p.map(i);
      confidence[i] = p.sub.confidence[i - p.f0];
      evidence[i] = p.sub.evidence[i - p.f0];
    }
    from = to;
  }
  for (let i = 1; i < nF; i++) if (path[i] < path[i - 1]) path[i] = path[i - 1];
  const fit = robustLine(Int32Array.from({ length: nF }, (_, i) => i), path);
  o.onProgress?.(1);
  const window = Math.max(...pieces.map((p) => p.sub.window));
  return { bgFrameForFg: path, confidence, evidence, window, slope: fit.slope, intercept: fit.intercept, maskFraction: d.maskFraction, cuts };
}
