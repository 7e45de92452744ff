import { cutGray as cutGrayKernel, nccWarp } from '../../native/kernels';
import { resize, type Gray } from '../image';
import type { Sample } from './keyframes';

/**
 * Where a moving window sits in one time-matched pair: fg's frame searched over its bg frame near a
 * predicted placement, coarse to fine (a quarter, half and full working resolution), by NCC of fg's
 * grey picture against bg sampled where each fg pixel lands. Subpixel by a parabola through the
 * best score's neighbours in x, y and scale. Pure: frames in, placement out.
 */

/** One frame at a few resolutions: level L is 2^-L of the working size. */
export type Pyramid = Gray[];

export function pyramid(img: Gray, levels = 3): Pyramid {
  const out: Gray[] = [img];
  for (let l = 1; l < levels; l++) {
    const p = out[l - 1];
    if (p.width < 16 || p.height < 16) break;
    out.push(resize(p, Math.max(1, Math.round(p.width / 2)), Math.max(1, Math.round(p.height / 2))));
  }
  return out;
}

/** A zero-mean template of fg at one level, with what maps it back to fg's content pixels. */
interface Tpl {
  data: Float32Array;
  w: number;
  h: number;
  norm: number;
  /** fg content pixels per template pixel. */
  step: number;
}

function templateOf(fg: Gray, w: number, h: number, cw: number): Tpl {
  const r = resize(fg, w, h).data;
  let mean = 0;
  for (let p = 0; p < r.length; p++) mean += r[p];
  mean /= r.length;
  const data = new Float32Array(r.length);
  let n2 = 0;
  for (let p = 0; p < r.length; p++) {
    data[p] = r[p] - mean;
    n2 += data[p] * data[p];
  }
  return { data, w, h, norm: Math.sqrt(n2), step: cw / w };
}

export interface TrackFrame {
  /** bg frame's pyramid (working size: k working pixels per bg pixel). */
  bg: Pyramid;
  /** fg content at working size (kf working pixels per fg content pixel). */
  fg: Gray;
}

export interface SearchOptions {
  /** Working pixels per bg pixel at level 0. */
  k: number;
  /** fg's content size, fg pixels. */
  cw: number;
  ch: number;
  /** How far from the prediction the window may be, bg pixels, and the scale, as a fraction. */
  radius: number;
  scaleRadius: number;
  /** Only this scale (fg known not to zoom: --unscaled, a manual scale). */
  fixedScale?: number;
  /** The finest pyramid level searched (0: working size; 1: a quick look at half of it). */
  finest?: number;
  /**
   * The coarsest level searched (default: the top). Lower where the prediction is good to a pixel or
   * two: at a quarter of working size a scale step is a few per cent and the climb may leave the basin.
   */
  coarsest?: number;
}

/** The best placement of fg's content near `p` (content corner, bg px) in one pair, with its NCC as `score`. */
export function searchNear(fr: TrackFrame, p: Sample, o: SearchOptions): Sample & { score: number } {
  const levels = fr.bg.length;
  let cur: { x: number; y: number; scale: number; v?: number } = { x: p.x, y: p.y, scale: o.fixedScale ?? p.scale };
  let best = -2;
  const finest = Math.min(levels - 1, o.finest ?? 0);
  const coarse = Math.max(finest, Math.min(levels - 1, o.coarsest ?? levels - 1));
  for (let l = coarse; l >= finest; l--) {
    const bg = fr.bg[l];
    const k = o.k / 2 ** l;
    const tw = Math.max(4, Math.round(o.cw * cur.scale * k));
    const th = Math.max(4, Math.round(o.ch * cur.scale * k));
    const t = templateOf(fr.fg, tw, th, o.cw);
    // Steps of one level pixel; the coarsest level covers the radius, finer ones its neighbours.
    const step = 1 / k;
    const reach = l === coarse ? Math.max(1, Math.ceil(o.radius * k)) : 1;
    const sStep = o.fixedScale !== undefined ? 0 : Math.max(0.002, 1 / (o.cw * cur.scale * k));
    const sReach = o.fixedScale !== undefined ? 0 : l === coarse ? Math.max(1, Math.ceil(o.scaleRadius / sStep)) : 1;
    // NCC of the template with its content corner at (x, y) bg pixels and scale s, bg sampled where
    // each template pixel lands (native/kernels nccWarp: the hot loop of tracking); pixels that fall
    // off bg count against it. Many placements per call where they do not depend on each other.
    const scores = (xs: Float64Array, ys: Float64Array, ss: Float64Array, count: number): Float64Array =>
      bg.width < 2 || bg.height < 2
        ? new Float64Array(count).fill(-1)
        : nccWarp(bg.data, bg.width, bg.height, t.data, t.w, t.h, t.norm, t.step, k, xs, ys, ss, count);
    const score = (x: number, y: number, s: number) => {
      oneX[0] = x;
      oneY[0] = y;
      oneS[0] = s;
      return scores(oneX, oneY, oneS, 1)[0];
    };
    const side = 2 * reach + 1;
    const count = (2 * sReach + 1) * side * side;
    const [xs, ys, ss] = [new Float64Array(count), new Float64Array(count), new Float64Array(count)];
    for (let i = 0, si = -sReach; si <= sReach; si++) {
      const s = cur.scale * (1 + si * sStep);
      for (let dy = -reach; dy <= reach; dy++) {
        for (let dx = -reach; dx <= reach; dx++, i++) {
          xs[i] = cur.x + dx * step;
          ys[i] = cur.y + dy * step;
          ss[i] = s;
        }
      }
    }
    const grid = scores(xs, ys, ss, count);
    let top = { ...cur, v: -2 };
    for (let i = 0; i < count; i++) if (grid[i] > top.v) top = { x: xs[i], y: ys[i], scale: ss[i], v: grid[i] };
    // Climb at this level until the best is the middle of its neighbourhood (a few steps at most).
    // At the finest level the neighbours along each axis only: the coarser ones found the basin.
    const around = l === 0 ? AXES : NEIGHBOURS;
    for (let it = 0; it < 6; it++) {
      let moved = false;
      for (const [dx, dy, ds] of around) {
        if (ds && !sStep) continue;
        const x = top.x + dx * step;
        const y = top.y + dy * step;
        const s = top.scale * (1 + ds * sStep);
        const v = score(x, y, s);
        if (v > top.v + 1e-9) {
          top = { x, y, scale: s, v };
          moved = true;
        }
      }
      if (!moved) break;
    }
    cur = top;
    best = top.v;
    if (l === 0 && finest === 0) {
      // Subpixel: a parabola through the best and its two neighbours, along each axis.
      const para = (m: number, pl: number, mi: number) => {
        const den = pl + mi - 2 * m;
        return den < -1e-12 ? Math.max(-0.5, Math.min(0.5, (mi - pl) / (2 * den))) : 0;
      };
      const ox = para(top.v, score(top.x + step, top.y, top.scale), score(top.x - step, top.y, top.scale));
      const oy = para(top.v, score(top.x, top.y + step, top.scale), score(top.x, top.y - step, top.scale));
      const os = sStep ? para(top.v, score(top.x, top.y, top.scale * (1 + sStep)), score(top.x, top.y, top.scale * (1 - sStep))) : 0;
      cur = { x: top.x + ox * step, y: top.y + oy * step, scale: top.scale * (1 + os * sStep), v: top.v };
      best = Math.max(top.v, score(cur.x, cur.y, cur.scale));
    }
  }
  return { f: p.f, x: cur.x, y: cur.y, scale: cur.scale, score: best };
}

// One placement's x, y and scale, for the single scores of the climb.
const [oneX, oneY, oneS] = [new Float64Array(1), new Float64Array(1), new Float64Array(1)];

const AXES: [number, number, number][] = [
  [1, 0, 0],
  [-1, 0, 0],
  [0, 1, 0],
  [0, -1, 0],
  [0, 0, 1],
  [0, 0, -1],
];
const NEIGHBOURS: [number, number, number][] = [];
for (let ds = -1; ds <= 1; ds++) for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) if (dx || dy || ds) NEIGHBOURS.push([dx, dy, ds]);

/**
 * A window (content corner and scale, bg px) of a grey frame cut out at w×h: each output pixel the
 * mean of a few bilinear taps over the bg area it stands for, so a shrunk window is not aliased.
 * The same cut makes fg's analysis frames (its whole picture) and bg's (the window at its time),
 * so the two are filtered alike.
 */
export function cutGray(img: Gray, x: number, y: number, width: number, height: number, w: number, h: number, out: Uint8Array, at = 0): void {
  // native/kernels cutGray: the taps' loop, once per frame compared while tracking.
  cutGrayKernel(img.data, img.width, img.height, x, y, width, height, w, h, out, at);
}
