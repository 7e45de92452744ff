import { correlate, fft2, nextPow2, spectrumOf, type Spectrum } from './fft';
import { nccGrid } from '../../native/kernels';
import { integral, resize, resizeWindow, resizedTemplate, template, toGray, withoutPixels, type Gray, type Template } from '../image';
import { foreignAt, type ForeignMask } from '../descriptors/foreign';

/**
 * Where fg sits in bg: position of fg's top-left corner in bg pixels and the scale fg is shown at.
 * Coarse: FFT-based NCC over a scale grid on small frames, maximised over sampled frame pairs.
 * Fine: a pyramid of direct NCC searches around the estimate on time-matched full-resolution pairs.
 */
export interface Placement {
  x: number;
  y: number;
  scale: number;
  /** Mean NCC of fg's content over bg at the placement, in [-1, 1]. */
  score: number;
}

export interface CoarseHit extends Placement {
  bgSample: number;
  fgSample: number;
  /**
   * The best hits of other basins (another place, or a scale 15% and more away), best first, at
   * most two: where the sampled frames mislead the sweep (fast motion, frames from different
   * moments), a tiny template's chance match can beat the right place by a hair, and only a pass
   * over time tells them apart (align.ts tries them when the first placement explains fg poorly).
   */
  others?: Placement[];
}

const SCALE_STEP = 1.06;
/**
 * fg may be a lower-resolution copy of its region (an SD master over an HD bg, a web copy): it is
 * then shown enlarged in bg. Past 8× there is too little of fg left to place it reliably.
 */
export const MAX_SCALE = 8;
/** fg shown at down to 1/12 of its size in bg (a 4K fg over a small bg); the template floor decides first. */
const MIN_SCALE = 1 / 12;
const MIN_TEMPLATE = 10;
const MIN_PLACED = 32;
/** Candidate frames per pair that the full scale search sees at once. */
const WINDOW = 5;

export interface CoarseOptions {
  /** Only this scale is tried (manual override or --unity-scale). */
  fixedScale?: number;
  /** Largest scale considered (default: fg must fit in bg, enlarged up to MAX_SCALE). */
  maxScale?: number;
}

/**
 * The scales a coarse search at size factor `c` tries for a fw×fh fg over a bgW×bgH (coarse) bg:
 * from the smallest template that still means something up to fg filling bg (or MAX_SCALE).
 */
export function scaleGrid(fw: number, fh: number, c: number, bgW: number, bgH: number, fixedScale?: number, maxScale = MAX_SCALE): number[] {
  const fitScale = Math.min(bgW / (fw * c), bgH / (fh * c));
  const sMax = Math.min(maxScale, fitScale);
  // Too small a template matches anything: fg must cover at least MIN_PLACED pixels of bg.
  const sMin = Math.max(MIN_TEMPLATE / (Math.min(fw, fh) * c), MIN_PLACED / Math.min(fw, fh), MIN_SCALE);
  const scales: number[] = [];
  if (fixedScale !== undefined) {
    if (fixedScale * fw * c <= bgW + 0.5 && fixedScale * fh * c <= bgH + 0.5) scales.push(fixedScale);
    return scales;
  }
  // The grid runs through 1 when it can: unscaled crops are the common case, and an exact 1 lets
  // the unity preference of the searches see them.
  const anchor = sMax >= 1 && sMin <= 1 ? 1 : sMax;
  for (let s = anchor; s >= sMin; s /= SCALE_STEP) scales.push(s);
  for (let s = anchor * SCALE_STEP; s <= sMax; s *= SCALE_STEP) scales.push(s);
  return scales;
}

/**
 * `bg` samples are given at coarse size (bgSmallW × bgSmallH, a factor `c` of bg's size); `fg`
 * samples are fg's content at full resolution. Positions returned are in full bg pixels.
 */
export function coarseSearch(bg: Uint8Array[], bgSmallW: number, bgSmallH: number, c: number, fg: Gray[], opts: CoarseOptions = {}): CoarseHit | undefined {
  if (!bg.length || !fg.length) return undefined;
  const fw = fg[0].width;
  const fh = fg[0].height;
  const scales = scaleGrid(fw, fh, c, bgSmallW, bgSmallH, opts.fixedScale, opts.maxScale);
  if (!scales.length) return undefined;
  const { W, H, bgImgs, bgSpec, bgInt } = transformed(bg, bgSmallW, bgSmallH);
  const mid = Math.floor(fg.length / 2);
  // One template spectrum and one correlation at a time: reused throughout.
  const tSpec = spectrumOf(W, H);
  const cSpec = spectrumOf(W, H);

  const evalScale = (s: number, fgIdx: number[]): CoarseHit | undefined => {
    const tw = Math.max(1, Math.round(fw * s * c));
    const th = Math.max(1, Math.round(fh * s * c));
    if (tw > bgSmallW || th > bgSmallH) return undefined;
    let best: CoarseHit | undefined;
    for (const fi of fgIdx) {
      const t = template(resize(fg[fi], tw, th));
      if (t.norm < 1e-3) continue;
      const ts = fft2(t.data, tw, th, W, H, undefined, tSpec);
      for (let k = 0; k < bgSpec.length; k++) {
        const corr = correlate(bgSpec[k], ts, bgSmallH - th + 1, cSpec);
        for (const [bi, part] of [
          [2 * k, corr.re],
          [2 * k + 1, corr.im],
        ] as const) {
          if (bi >= bgImgs.length) continue;
          const hit = bestNcc(part, W, bgInt[bi], t, bgSmallW, bgSmallH);
          if (hit && (!best || hit.score > best.score)) {
            best = { x: hit.x / c, y: hit.y / c, scale: s, score: hit.score, bgSample: bi, fgSample: fi };
          }
        }
      }
    }
    return best;
  };

  // Sweep scales with the middle fg sample, then re-score the best few with every sample.
  const sweep = scales.map((s) => evalScale(s, [mid])).filter((h): h is CoarseHit => !!h);
  if (!sweep.length) return undefined;
  sweep.sort((a, b) => b.score - a.score);
  const all = fg.map((_, i) => i);
  const finalists = sweep.slice(0, 3).map((h) => (fg.length > 1 ? (evalScale(h.scale, all) ?? h) : h));
  finalists.sort((a, b) => b.score - a.score);
  let best = finalists[0];
  const unity = sweep.find((h) => h.scale === 1);
  if (unity && unity.score >= best.score - 0.02) best = fg.length > 1 ? (evalScale(1, all) ?? unity) : unity;
  const others: Placement[] = [];
  for (const h of sweep) {
    if (others.length >= 2 || h.score < best.score - OTHER_BELOW) break;
    if ([best, ...others].some((o) => sameBasin(o, h, fw, fh))) continue;
    others.push({ x: h.x, y: h.y, scale: h.scale, score: h.score });
  }
  return others.length ? { ...best, others } : best;
}

/**
 * Where fg sits by consensus of its samples: at each scale and position, each fg sample's best NCC
 * over the bg samples, averaged over fg's samples; the best positions of distinct basins, best
 * first (at most `count`). The coarse search's single best pair is at the mercy of frames from
 * different moments: on a smooth, fast-moving picture (a diver in open water) every scale finds
 * some bg sample at NCC 0.9 somewhere, and a tiny template wins by a hair. At the right place every
 * fg sample has its moment nearby in bg; a chance match is somewhere else for each sample.
 * Five times the coarse sweep's cost (a few seconds): asked only when the first placement
 * explains fg poorly (align.ts).
 */
export function consensusSearch(bg: Uint8Array[], bgSmallW: number, bgSmallH: number, c: number, fg: Gray[], opts: CoarseOptions = {}, count = 2): Placement[] {
  if (!bg.length || !fg.length) return [];
  const fw = fg[0].width;
  const fh = fg[0].height;
  const { W, H, bgImgs, bgSpec, bgInt } = transformed(bg, bgSmallW, bgSmallH);
  const hits: Placement[] = [];
  const tSpec = spectrumOf(W, H);
  const cSpec = spectrumOf(W, H);
  for (const s of scaleGrid(fw, fh, c, bgSmallW, bgSmallH, opts.fixedScale, opts.maxScale)) {
    const tw = Math.max(1, Math.round(fw * s * c));
    const th = Math.max(1, Math.round(fh * s * c));
    if (tw > bgSmallW || th > bgSmallH) continue;
    const nx = bgSmallW - tw + 1;
    const ny = bgSmallH - th + 1;
    const sum = new Float64Array(nx * ny);
    const best = new Float64Array(nx * ny);
    let used = 0;
    for (const f of fg) {
      const t = template(resize(f, tw, th));
      if (t.norm < 1e-3) continue;
      used++;
      best.fill(-1);
      const ts = fft2(t.data, tw, th, W, H, undefined, tSpec);
      for (let k = 0; k < bgSpec.length; k++) {
        const corr = correlate(bgSpec[k], ts, ny, cSpec);
        maxNcc(corr.re, W, bgInt[2 * k], t, nx, ny, best);
        if (2 * k + 1 < bgImgs.length) maxNcc(corr.im, W, bgInt[2 * k + 1], t, nx, ny, best);
      }
      for (let i = 0; i < best.length; i++) sum[i] += best[i];
    }
    if (!used) continue;
    let at = 0;
    for (let i = 1; i < sum.length; i++) if (sum[i] > sum[at]) at = i;
    hits.push({ x: (at % nx) / c, y: Math.floor(at / nx) / c, scale: s, score: sum[at] / used });
  }
  hits.sort((a, b) => b.score - a.score);
  const out: Placement[] = [];
  for (const h of hits) {
    if (out.length >= count) break;
    if (!out.some((o) => sameBasin(o, h, fw, fh))) out.push(h);
  }
  return out;
}

interface Transformed {
  W: number;
  H: number;
  bgImgs: Gray[];
  bgSpec: Spectrum[];
  bgInt: ReturnType<typeof integral>[];
}

/** bg's samples as grey images, their transforms (packed in pairs: one complex transform serves two real images) and integrals. */
function transformed(bg: Uint8Array[], w: number, h: number): Transformed {
  const W = nextPow2(w);
  const H = nextPow2(h);
  const bgImgs = bg.map((b) => toGray(b, w, h));
  const bgSpec: Spectrum[] = [];
  for (let k = 0; k < bgImgs.length; k += 2) bgSpec.push(fft2(bgImgs[k].data, w, h, W, H, bgImgs[k + 1]?.data));
  return { W, H, bgImgs, bgSpec, bgInt: bgImgs.map(integral) };
}

/** Per position, the larger of `best` and the template's NCC over one image (from its correlation surface, stride w). */
export function maxNcc(corr: Float64Array, w: number, ii: ReturnType<typeof integral>, t: Template, nx: number, ny: number, best: Float64Array): void {
  const n = t.width * t.height;
  // The window's sums from the integral images, inline (as in bestNcc).
  const { s: S, s2: S2, w: iw1 } = ii;
  for (let y = 0; y < ny; y++) {
    const r0 = y * iw1;
    const r1 = (y + t.height) * iw1;
    for (let x = 0; x < nx; x++) {
      const a = r0 + x;
      const c = r1 + x;
      const s = S[c + t.width] - S[a + t.width] - S[c] + S[a];
      const s2 = S2[c + t.width] - S2[a + t.width] - S2[c] + S2[a];
      const v = s2 - (s * s) / n;
      if (v <= 1e-6) continue;
      const score = corr[y * w + x] / (t.norm * Math.sqrt(v));
      if (score > best[y * nx + x]) best[y * nx + x] = score;
    }
  }
}

/** Other basins worth a pass over time: within this much of the best coarse NCC. */
const OTHER_BELOW = 0.05;

/** Two coarse hits in one basin: scales within 15%, and fg's centre within a tenth of its placed width. */
function sameBasin(a: Placement, b: Placement, fw: number, fh: number): boolean {
  if (Math.abs(Math.log(a.scale / b.scale)) >= Math.log(1.15)) return false;
  const d = Math.hypot(a.x + (fw * a.scale) / 2 - b.x - (fw * b.scale) / 2, a.y + (fh * a.scale) / 2 - b.y - (fh * b.scale) / 2);
  return d < 0.1 * fw * Math.max(a.scale, b.scale) + 8;
}

/** Best NCC position of a template over one image, from a correlation surface (`corr`, stride w). */
function bestNcc(
  corr: Float64Array,
  w: number,
  ii: ReturnType<typeof integral>,
  t: Template,
  iw: number,
  ih: number,
): { x: number; y: number; score: number } | undefined {
  const tw = t.width;
  const th = t.height;
  const n = tw * th;
  // The window's sums from the integral images, inline: a pair returned per position of every
  // correlation surface of the coarse search was a third of this loop's time.
  const { s: S, s2: S2, w: iw1 } = ii;
  let bx = -1;
  let by = -1;
  let bs = -Infinity;
  for (let y = 0; y + th <= ih; y++) {
    const r0 = y * iw1;
    const r1 = (y + th) * iw1;
    for (let x = 0; x + tw <= iw; x++) {
      const a = r0 + x;
      const c = r1 + x;
      const s = S[c + tw] - S[a + tw] - S[c] + S[a];
      const s2 = S2[c + tw] - S2[a + tw] - S2[c] + S2[a];
      const v = s2 - (s * s) / n;
      if (v <= 1e-6) continue;
      const score = corr[y * w + x] / (t.norm * Math.sqrt(v));
      if (bx < 0 || score > bs) {
        bx = x;
        by = y;
        bs = score;
      }
    }
  }
  return bx < 0 ? undefined : { x: bx, y: by, score: bs };
}

export interface RefinePair {
  /**
   * Candidate bg frames for this fg frame (its best match in time and a few around it): in a pan,
   * a placement a pixel off matches a frame off, so space and time are searched together.
   */
  bg: Gray[];
  /** fg's content at full resolution. */
  fg: Gray;
}

export interface RefineOptions {
  /** Only this scale is searched. */
  fixedScale?: number;
  /** First pyramid level, as a fraction of full size; levels double up to 1. */
  from: number;
  /** How far (relative) the true scale may be from `start.scale`. */
  scaleUncertainty: number;
  /** Stop after the first level: enough to choose among candidate frames. */
  pickOnly?: boolean;
  /** Scale candidates either side of the current scale at a level (default 4). */
  scaleSteps?: number;
  /** fg's burnt-in graphics (descriptors/foreign.ts): left out of every template. */
  foreign?: ForeignMask;
}

/** Template pixels scored per position: beyond ~60k, a regular subset is as decisive and far cheaper. */
function strideFor(pixels: number): number {
  return Math.max(1, Math.round(Math.sqrt(pixels / 60_000)));
}

export interface Refined extends Placement {
  /** Per pair, the index of the bg candidate that matched best. */
  picks: number[];
}

/**
 * Pyramid refinement: at each level search positions within a few pixels and scales within the
 * remaining uncertainty, scoring the mean over pairs of each pair's best NCC over its candidates;
 * then keep refining at full size until the scale is known to one pixel of fg's width. After the
 * first level only the candidates next to each pair's best stay in play.
 */
export function refine(pairs: RefinePair[], start: Placement, opts: RefineOptions): Refined {
  // Many candidates: first pick each pair's frame at the starting scale (cheap), then search scale
  // with only that frame and its neighbours, instead of every scale against every frame.
  // The pick, on a coarser scale grid, can be a frame or two off, so the window follows the
  // refined picks until they settle inside it.
  if (!opts.pickOnly && pairs.some((p) => p.bg.length > WINDOW)) {
    // Half the starting resolution is enough to choose among frames (the window then narrows it).
    const first = refine(pairs, start, { ...opts, from: opts.from / 2, scaleSteps: 2, pickOnly: true });
    let picks = first.picks;
    let at: Placement = { ...start, x: first.x, y: first.y };
    for (let round = 0; ; round++) {
      const offsets = pairs.map((p, k) => Math.max(0, Math.min(p.bg.length - WINDOW, picks[k] - (WINDOW >> 1))));
      const narrowed = pairs.map((p, k) => ({ fg: p.fg, bg: p.bg.slice(offsets[k], offsets[k] + WINDOW) }));
      const r = refine(narrowed, at, opts);
      const next = r.picks.map((c, k) => c + offsets[k]);
      const onEdge = r.picks.some((c, k) => (c === 0 && offsets[k] > 0) || (c === WINDOW - 1 && offsets[k] + WINDOW < pairs[k].bg.length));
      if (!onEdge || round === 3) return { ...r, picks: next };
      picks = next;
      at = r;
    }
  }
  const bgW = pairs[0].bg[0].width;
  const bgH = pairs[0].bg[0].height;
  const fw = pairs[0].fg.width;
  const fh = pairs[0].fg.height;
  let { x, y, scale } = start;
  let score = start.score;
  let u = opts.fixedScale !== undefined ? 0 : opts.scaleUncertainty;
  if (opts.fixedScale !== undefined) scale = opts.fixedScale;
  const levels: number[] = [];
  for (let f = opts.from; f < 1; f *= 2) levels.push(f);
  levels.push(1);
  let radius = 3;
  let extra = 0;
  let active = pairs.map((p) => p.bg.map((_, c) => c));
  let picks = pairs.map(() => 0);
  const bgAt = new Map<string, ReturnType<typeof resizeWindow>>();
  // The same template sizes come back at full size across iterations: resize each once.
  const templates = new Map<string, Template>();
  for (let li = 0; li < levels.length; li++) {
    const f = levels[li];
    const bw = Math.max(1, Math.round(bgW * f));
    const bh = Math.max(1, Math.round(bgH * f));
    // One template pixel is the finest scale step that means anything at this level.
    const delta = 1 / Math.max(1, fw * scale * f);
    const step = u > 0 ? Math.max(delta, u / (opts.scaleSteps ?? 4)) : 1;
    const candidates: number[] = [];
    if (u > 0) for (let k = -Math.round(u / step); k <= Math.round(u / step); k++) candidates.push(scale * Math.exp(k * step));
    else candidates.push(scale);
    // The part of the level any candidate's square of positions reads (the placement stays put
    // within a level): only that is resized, each frame once per level.
    const cx = Math.round(x * f);
    const cy = Math.round(y * f);
    const widest = Math.min(bw, Math.max(...candidates.map((s) => Math.round(fw * s * f))));
    const tallest = Math.min(bh, Math.max(...candidates.map((s) => Math.round(fh * s * f))));
    const wx = Math.max(0, cx - radius);
    const wy = Math.max(0, cy - radius);
    const win = { x: wx, y: wy, width: Math.max(1, Math.min(bw, cx + radius + widest) - wx), height: Math.max(1, Math.min(bh, cy + radius + tallest) - wy) };
    // The kernel reads a full-size level's bytes as they are (a float copy of each 1080p frame cost
    // more than the search on it).
    const bgOf = (k: number, c: number) => {
      const key = `${f}:${k}:${c}:${win.x}:${win.y}:${win.width}:${win.height}`;
      let g = bgAt.get(key);
      if (!g) bgAt.set(key, (g = resizeWindow(pairs[k].bg[c], bw, bh, win)));
      return g;
    };
    let best: Refined | undefined;
    const seen = new Set<number>();
    const chosen = new Array<number>(pairs.length);
    for (const s of candidates) {
      const tw = Math.round(fw * s * f);
      const th = Math.round(fh * s * f);
      if (tw < 4 || th < 4 || tw > bw || th > bh || seen.has(tw * 100003 + th)) continue;
      seen.add(tw * 100003 + th);
      const tpls = pairs.map((p, k) => {
        const key = `${k}:${tw}:${th}`;
        let t = templates.get(key);
        if (!t) {
          t = resizedTemplate(p.fg, tw, th, strideFor(tw * th));
          if (opts.foreign) t = withoutPixels(t, foreignAt(opts.foreign, tw, th));
          templates.set(key, t);
        }
        return t;
      });
      // The square of positions starts at the window's corner.
      const [xa, ya] = [wx, wy];
      const nx = Math.min(bw - tw, cx + radius) - xa + 1;
      const ny = Math.min(bh - th, cy + radius) - ya + 1;
      if (nx <= 0 || ny <= 0) continue;
      // Per pair, its best candidate frame at each position of the square (the first on ties).
      const perPair = pairs.map((_, k) => {
        const top = new Float64Array(nx * ny).fill(-Infinity);
        const arg = new Int32Array(nx * ny);
        const t = tpls[k];
        for (const c of active[k]) {
          const { g, x: gx, y: gy } = bgOf(k, c);
          const [cols, rows] = [Math.ceil(t.width / t.step), Math.ceil(t.height / t.step)];
          const v = nccGrid(g.data, g.width, g.height, t.data, cols, rows, t.step, t.norm, xa - gx, ya - gy, nx, ny);
          for (let q = 0; q < v.length; q++) {
            if (v[q] > top[q]) {
              top[q] = v[q];
              arg[q] = c;
            }
          }
        }
        return { top, arg };
      });
      for (let q = 0; q < nx * ny; q++) {
        let acc = 0;
        for (let k = 0; k < pairs.length; k++) acc += perPair[k].top[q];
        acc /= pairs.length;
        if (!best || acc > best.score) {
          for (let k = 0; k < pairs.length; k++) chosen[k] = perPair[k].arg[q];
          best = {
            x: (xa + (q % nx)) / f,
            y: (ya + Math.floor(q / nx)) / f,
            scale: opts.fixedScale ?? (u > 0 ? tw / (fw * f) : s),
            score: acc,
            picks: chosen.slice(),
          };
        }
      }
    }
    if (!best) break;
    if (opts.pickOnly) return best;
    const moved = Math.abs(best.x - x) * f >= radius || Math.abs(best.y - y) * f >= radius;
    ({ x, y, scale, score, picks } = best);
    // Keep the neighbours of each pair's best frame into the first full-size level (coarser levels
    // can favour a frame next to the right one), then only the best.
    active = picks.map((c, k) => active[k].filter((a) => (f < 1 ? Math.abs(a - c) <= 1 : a === c)));
    u = u > 0 ? step : 0;
    radius = 2;
    // At full size: repeat while the scale is still coarser than a pixel or the best sat on the
    // edge of the searched square (the optimum may lie beyond it).
    if (f === 1 && (u > delta * 1.01 || moved) && extra++ < 4) levels.push(1);
  }
  // Prefer scale 1 when it is as good: a crop is far more common than a 1-2% resize.
  if (opts.fixedScale === undefined && scale !== 1 && Math.abs(scale - 1) < 0.02 && fw <= bgW && fh <= bgH) {
    const narrowed = pairs.map((p, k) => ({ fg: p.fg, bg: [p.bg[picks[k]]] }));
    const unity = refine(narrowed, { x, y, scale: 1, score }, { from: 1, scaleUncertainty: 0, fixedScale: 1, foreign: opts.foreign });
    if (unity.score >= score - 0.002) return { ...unity, picks };
  }
  return { x: Math.round(x), y: Math.round(y), scale, score, picks };
}
