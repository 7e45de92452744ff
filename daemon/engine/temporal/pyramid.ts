import { bandedPath, batchDot } from '../../native/kernels';
import type { Descriptors } from '../descriptors/types';
import { robustLine } from '../../core/line';
import { lastAtMost } from '../../core/sorted';
import { ratePieces } from './pieces';
import { FLAT } from './steady';

/**
 * The pyramid's building blocks, shared by the engines: a top level that searches all of bg, and
 * banded levels that follow a path down to every frame.
 */

/** bg frames per batchDot call at the top level: bounds memory however long bg is. */
const CHUNK = 8192;
/** Cost of a cell nobody scored (outside a prior's band). Real costs, 1 − dot, are at most 2. */
export const UNSCORED = 4;

/** A robust scale for cost differences: the median gap between a row's median and minimum cost. */
/**
 * A robust scale for cost differences: the median gap between a row's median and minimum cost.
 * With `around`, each row only looks within `reach` columns of that column, so the scale (and the
 * rate penalty built on it) does not change when the band is widened.
 */
export function costSpread(cost: Float32Array, rows: number, width: Int32Array, stride: number, around?: (r: number) => number, reach = Infinity): number {
  const gaps: number[] = [];
  const stepR = Math.max(1, Math.floor(rows / 200));
  for (let r = 0; r < rows; r += stepR) {
    const c = around ? around(r) : 0;
    const a = around ? Math.max(0, c - reach) : 0;
    const b = around ? Math.min(width[r], c + reach + 1) : width[r];
    const row = Array.from(cost.subarray(r * stride + a, r * stride + b))
      .filter((v) => v < UNSCORED)
      .sort((x, y) => x - y);
    if (row.length > 1) gaps.push(row[Math.floor(row.length / 2)] - row[0]);
  }
  gaps.sort((a, b) => a - b);
  return Math.max(1e-4, gaps[Math.floor(gaps.length / 2)] ?? 0.01);
}

/** Per row: the smaller cost rise `k` columns either side of the path (one side at a band edge). */
function sharpness(cost: Float32Array, rows: number, lo: Int32Array, width: Int32Array, stride: number, path: Int32Array, k: number): Float32Array {
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const c = path[r] - lo[r];
    const at = cost[r * stride + c];
    let rise = Infinity;
    if (c - k >= 0) rise = Math.min(rise, cost[r * stride + c - k] - at);
    if (c + k < width[r]) rise = Math.min(rise, cost[r * stride + c + k] - at);
    out[r] = Number.isFinite(rise) ? Math.max(0, rise) : 0;
  }
  return out;
}

/** Rows r of a descriptor set gathered into one contiguous block, for batchDot. */
function gather(d: Descriptors, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * d.dim);
  for (let r = 0; r < rows.length; r++) out.set(d.v.subarray(rows[r] * d.dim, (rows[r] + 1) * d.dim), r * d.dim);
  return out;
}

export interface Level {
  /** fg frame of each row. */
  rows: Int32Array;
  /** bg frame chosen for each row. */
  path: Int32Array;
  /** cost at the chosen frame, per row. */
  cost: Float32Array;
  /** How much the cost rises a little way either side of the chosen frame (0 where flat). */
  sharp: Float32Array;
  /** Top level only: how the path stands out in the whole matrix (trust.ts judges it). */
  top?: TopStats;
}

/** One monotonic path through the top matrix, summarised: where it runs in bg and how well it fits. */
export interface TopPath {
  /** bg frames at its first and last row. */
  from: number;
  to: number;
  /** Mean over rows of the path's cost, and of each row's median cost minus the path's (its margin). */
  cost: number;
  margin: number;
}

export interface TopStats {
  /** Mean over rows of (row median − row minimum): how different bg frames look to fg at all. */
  spread: number;
  /** Rows whose path cost is the row's minimum, within a tenth of the row's spread. */
  atMin: number;
  /** The best path, then the best ones that avoid the bg span of every path before them. */
  paths: TopPath[];
}

/** The top level's matrix: fg rows every `step` frames × bg blocks, each block's best frame and cost. */
export interface TopMatrix {
  rows: Int32Array;
  block: number;
  nBlk: number;
  /** rows × nBlk: the block's best cost, and which bg frame gave it. */
  cost: Float32Array;
  arg: Int32Array;
  /** bg blocks per row at the nominal rate. */
  rate: number;
}

/**
 * Top of the pyramid: fg rows every `step` frames against all of bg in blocks of half a step.
 * Each (row, block) keeps the block's best frame. bg is scored in bounded chunks.
 */
export function topMatrix(fg: Descriptors, bg: Descriptors, step: number, rate: number, band?: (i: number) => [number, number]): TopMatrix {
  const nF = fg.n;
  const nB = bg.n;
  const rows = Int32Array.from({ length: Math.ceil(nF / step) }, (_, r) => Math.min(nF - 1, r * step));
  const R = step * rate;
  const block = Math.max(1, Math.floor(R / 2));
  const nBlk = Math.ceil(nB / block);
  const cost = new Float32Array(rows.length * nBlk).fill(UNSCORED);
  const arg = new Int32Array(rows.length * nBlk);
  if (band) {
    // A prior (audio) says where each row can be: score only there.
    const ranges = Array.from(rows, (i) => band(i).map((v) => Math.max(0, Math.min(nB, Math.round(v)))));
    const bStart = Int32Array.from(ranges, ([a]) => a);
    const bCount = Int32Array.from(ranges, ([a, b]) => Math.max(0, b - a));
    const dots = batchDot(fg.v, fg.n, bg.v, bg.n, fg.dim, { aIndex: rows, bStart, bCount });
    let o = 0;
    for (let r = 0; r < rows.length; r++) {
      for (let j = bStart[r]; j < bStart[r] + bCount[r]; j++) {
        const c = 1 - dots[o++];
        const k = r * nBlk + Math.floor(j / block);
        if (c < cost[k]) {
          cost[k] = c;
          arg[k] = j;
        }
      }
    }
    return { rows, block, nBlk, cost, arg, rate: R / block };
  }
  const a = gather(fg, rows);
  const chunk = Math.max(block, Math.floor(CHUNK / block) * block);
  for (let j0 = 0; j0 < nB; j0 += chunk) {
    const n = Math.min(chunk, nB - j0);
    const dots = batchDot(a, rows.length, bg.v.subarray(j0 * bg.dim, (j0 + n) * bg.dim), n, bg.dim);
    for (let r = 0; r < rows.length; r++) {
      const o = r * n;
      for (let j = 0; j < n; j++) {
        const c = 1 - dots[o + j];
        const k = r * nBlk + Math.floor((j0 + j) / block);
        if (c < cost[k]) {
          cost[k] = c;
          arg[k] = j0 + j;
        }
      }
    }
  }
  return { rows, block, nBlk, cost, arg, rate: R / block };
}

/** The least-cost monotonic path through the top matrix; each row takes its block's best frame. */
export function topLevel(fg: Descriptors, bg: Descriptors, step: number, rate: number, band?: (i: number) => [number, number]): Level {
  const m = topMatrix(fg, bg, step, rate, band);
  const { rows, nBlk, cost, arg } = m;
  const lo = new Int32Array(rows.length);
  const width = new Int32Array(rows.length).fill(nBlk);
  const lambda = (0.1 * costSpread(cost, rows.length, width, nBlk)) / Math.max(1, m.rate);
  const blocks = bandedPath(cost, rows.length, lo, width, nBlk, m.rate, Math.max(1, Math.ceil(m.rate * 2) + 1), lambda);
  const path = new Int32Array(rows.length);
  const pc = new Float32Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    path[r] = arg[r * nBlk + blocks[r]];
    pc[r] = cost[r * nBlk + blocks[r]];
  }
  const top = topStats(m, blocks, (c) => bandedPath(c, rows.length, lo, width, nBlk, m.rate, Math.max(1, Math.ceil(m.rate * 2) + 1), lambda));
  return { rows, path, cost: pc, sharp: sharpness(cost, rows.length, lo, width, nBlk, blocks, 1), top };
}

/**
 * The evidence in the top matrix for trusting its path: each row's median and minimum over the bg
 * it scored, and the best paths that avoid the span of the ones before (repeated footage fits
 * several spans about equally well; a right pair fits one far better than any other).
 */
function topStats(m: TopMatrix, blocks: Int32Array, solve: (cost: Float32Array) => Int32Array): TopStats {
  const { rows, nBlk, cost, arg } = m;
  const n = rows.length;
  const med = new Float32Array(n);
  const min = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const row = Array.from(cost.subarray(r * nBlk, (r + 1) * nBlk))
      .filter((v) => v < UNSCORED)
      .sort((a, b) => a - b);
    med[r] = row.length ? row[Math.floor(row.length / 2)] : UNSCORED;
    min[r] = row.length ? row[0] : UNSCORED;
  }
  const summary = (b: Int32Array, c: Float32Array): TopPath => {
    let sum = 0;
    let margin = 0;
    for (let r = 0; r < n; r++) {
      const v = c[r * nBlk + b[r]];
      sum += v;
      margin += med[r] - v;
    }
    return { from: arg[b[0]], to: arg[(n - 1) * nBlk + b[n - 1]], cost: sum / n, margin: margin / n };
  };
  let spread = 0;
  let atMin = 0;
  for (let r = 0; r < n; r++) {
    spread += med[r] - min[r];
    if (cost[r * nBlk + blocks[r]] - min[r] <= 0.1 * (med[r] - min[r]) + 1e-6) atMin++;
  }
  const paths = [summary(blocks, cost)];
  // Alternatives: the span (and a tenth of its length either side) of each path found is closed off.
  const masked = cost.slice();
  let b = blocks;
  for (let k = 0; k < 2 && n >= 8; k++) {
    const lo = b[0];
    const hi = b[n - 1];
    const pad = Math.max(1, Math.round((hi - lo) / 10));
    for (let r = 0; r < n; r++) masked.fill(UNSCORED, r * nBlk + Math.max(0, lo - pad), r * nBlk + Math.min(nBlk, hi + pad + 1));
    b = solve(masked);
    const alt = summary(b, masked);
    // A path through closed-off cells is no alternative.
    if (alt.cost >= 2) break;
    // Another place is one the picture leaves between: halfway between it and the best path, fg
    // must fit worse than at either. Without that valley it is the same shot a little later or
    // earlier (a slow pan looks alike a second on at the top level's size), which the finer levels
    // settle; real repeats (a loop, a reused shot) have other footage, or fg's own end, in between.
    let midMargin = 0;
    for (let r = 0; r < n; r++) midMargin += med[r] - cost[r * nBlk + Math.round((blocks[r] + b[r]) / 2)];
    if (midMargin / n < 0.9 * alt.margin) paths.push(alt);
  }
  return { spread: spread / n, atMin: atMin / n, paths };
}

/** A level's path, linearly interpolated at any fg frame (extrapolated along the end segments). */
export function interpolate(level: Level): (i: number) => number {
  const { rows, path } = level;
  if (rows.length < 2) return () => path[0];
  return (i) => {
    // The segment [rows[a], rows[a + 1]] that holds i.
    const a = lastAtMost(rows, i, rows.length - 2);
    const t = (i - rows[a]) / Math.max(1, rows[a + 1] - rows[a]);
    return path[a] + t * (path[a + 1] - path[a]);
  };
}

/**
 * The path's ends are open and the rate penalty is paid per step, so a path that starts late or ends
 * early covers fewer bg frames and pays for fewer steps: where frames are alike, its ends creep
 * inwards (a 29.97→25 fps crop of a slow scene started two frames late). Charging each end a virtual
 * step from (and to) the line through the path's middle makes that creep cost what any other
 * departure from the rate costs; clear evidence still wins. Where the path changes rate (a freeze
 * frame, slow motion: pieces.ts) the middle's line misses the ends; each end's own piece's line is
 * where it would be.
 */
function endsOnLine(
  path: Int32Array,
  cost: Float32Array,
  rows: Int32Array,
  lo: Int32Array,
  width: Int32Array,
  stride: number,
  rate: number,
  maxStep: number,
  lambda: number,
): Int32Array {
  const n = rows.length;
  if (n < 20) return path;
  const mid = Array.from({ length: n - 2 * Math.floor(n * 0.15) }, (_, k) => k + Math.floor(n * 0.15));
  const line = robustLine(
    mid.map((r) => rows[r]),
    mid.map((r) => path[r]),
  );
  const pieces = ratePieces(path);
  const dp = cost.slice();
  for (const r of [0, n - 1]) {
    const own = pieces.length > 1 ? pieces[r === 0 ? 0 : pieces.length - 1] : undefined;
    const at = own ? own.slope * r + own.intercept : line.slope * rows[r] + line.intercept;
    for (let c = 0; c < width[r]; c++) dp[r * stride + c] += lambda * Math.abs(lo[r] + c - at);
  }
  return bandedPath(dp, n, lo, width, stride, rate, maxStep, lambda);
}

/** The rate penalty within one frame of the path, as a share of the full one (see polish). */
const POLISH = 1 / 8;

/**
 * The rate penalty is paid per whole-frame step, so where fg's rate changes (the end of a freeze or
 * of a slow-motion stretch) it rounds the corner: trading a pause on one side for a double step on
 * the other saves two steps' departures, and a few frames a frame off cost less than that when
 * neighbouring frames look alike (a slow pan: 7 fg frames a frame late after a slow-motion
 * stretch). Within one frame of the path, then, the frames decide: the same search again over just
 * the path's frame and its neighbours, at a fraction of the penalty. A stretch it moves is kept only
 * where every moved frame is clearly determined where it lands (evidence, as steady.ts reads it):
 * elsewhere the frames cannot tell, and the full penalty's straight path stays. The ends stay
 * where endsOnLine put them.
 */
function polish(
  cost: Float32Array,
  lo: Int32Array,
  width: Int32Array,
  stride: number,
  path: Int32Array,
  rate: number,
  maxStep: number,
  lambda: number,
  k: number,
): Int32Array {
  const n = path.length;
  if (n < 3) return path;
  const lo1 = new Int32Array(n);
  const w1 = new Int32Array(n);
  const c1 = new Float32Array(n * 3);
  for (let r = 0; r < n; r++) {
    const end = r === 0 || r === n - 1;
    const a = end ? path[r] : Math.max(lo[r], path[r] - 1);
    const b = end ? path[r] : Math.min(lo[r] + width[r] - 1, path[r] + 1);
    lo1[r] = a;
    w1[r] = b - a + 1;
    for (let j = a; j <= b; j++) c1[r * 3 + j - a] = cost[r * stride + j - lo[r]];
  }
  const moved = bandedPath(c1, n, lo1, w1, 3, rate, maxStep, lambda * POLISH);
  const sharp = sharpness(cost, n, lo, width, stride, path, k);
  const sureRise = FLAT * 0.5 * Math.max(1e-6, Float32Array.from(sharp).sort()[Math.floor(n * 0.75)]);
  const at = (r: number, j: number) => cost[r * stride + j - lo[r]];
  const sure = (r: number) => {
    const c = moved[r] - lo[r];
    let rise = Infinity;
    if (c - k >= 0) rise = Math.min(rise, cost[r * stride + c - k] - at(r, moved[r]));
    if (c + k < width[r]) rise = Math.min(rise, cost[r * stride + c + k] - at(r, moved[r]));
    return Number.isFinite(rise) && rise >= sureRise && at(r, moved[r]) < at(r, path[r]);
  };
  const out = Int32Array.from(path);
  for (let r = 0; r < n; ) {
    if (moved[r] === path[r]) {
      r++;
      continue;
    }
    let e = r;
    while (e + 1 < n && moved[e + 1] !== path[e + 1]) e++;
    let ok = true;
    for (let q = r; q <= e && ok; q++) ok = sure(q);
    // Whole stretches: each starts and ends next to a frame both paths share, so either is monotonic.
    if (ok) for (let q = r; q <= e; q++) out[q] = moved[q];
    r = e + 1;
  }
  return out;
}

/**
 * One level below: fg rows every `step` frames, each searching `half` bg frames either side of where
 * the level above (bent through the anchors) puts it. `corners`: at the last level, let clear
 * frames sharpen the path's corners (polish; off for an engine that smooths the map afterwards).
 */
export function bandLevel(
  fg: Descriptors,
  bg: Descriptors,
  step: number,
  centreAt: (i: number) => number,
  half: number,
  rate: number,
  anchors: { fg: number; bg: number }[],
  corners = true,
): Level {
  const nF = fg.n;
  const nB = bg.n;
  const rowList: number[] = [];
  for (let i = 0; i < nF; i += step) rowList.push(i);
  if (rowList[rowList.length - 1] !== nF - 1 && step > 1) rowList.push(nF - 1);
  for (const a of anchors) if (!rowList.includes(a.fg)) rowList.push(a.fg);
  rowList.sort((x, y) => x - y);
  const rows = Int32Array.from(rowList);
  const n = rows.length;
  const stride = 2 * half + 1;
  const lo = new Int32Array(n);
  const width = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const pinned = anchors.find((a) => a.fg === rows[r]);
    const centre = pinned ? pinned.bg : Math.round(centreAt(rows[r]));
    let a = Math.max(0, Math.min(nB - 1, centre - half));
    if (r > 0) a = Math.max(a, lo[r - 1]);
    let b = Math.min(nB - 1, Math.max(a, centre + half));
    if (pinned) a = b = Math.max(a, pinned.bg);
    lo[r] = a;
    width[r] = Math.min(stride, b - a + 1);
  }
  const dots = batchDot(fg.v, fg.n, bg.v, bg.n, fg.dim, { aIndex: rows, bStart: lo, bCount: width });
  const cost = new Float32Array(n * stride).fill(2);
  let o = 0;
  for (let r = 0; r < n; r++) for (let c = 0; c < width[r]; c++) cost[r * stride + c] = 1 - dots[o++];
  const R = step * rate;
  const centres = Int32Array.from(rows, (i, r) => Math.round(centreAt(i)) - lo[r]);
  const lambda = (0.1 * costSpread(cost, n, width, stride, (r) => centres[r], Math.ceil(R) + 4)) / Math.max(1, R);
  const maxStep = Math.max(1, Math.ceil(R * 2) + 1);
  let path = endsOnLine(bandedPath(cost, n, lo, width, stride, R, maxStep, lambda), cost, rows, lo, width, stride, R, maxStep, lambda);
  if (step === 1 && corners) path = polish(cost, lo, width, stride, path, R, maxStep, lambda, Math.max(2, Math.round(R)));
  const pc = new Float32Array(n);
  for (let r = 0; r < n; r++) pc[r] = cost[r * stride + (path[r] - lo[r])];
  return { rows, path, cost: pc, sharp: sharpness(cost, n, lo, width, stride, path, Math.max(2, Math.round(R))) };
}
