/**
 * A 1-hour alignment on synthetic descriptor sequences (no video): bg is 60 min at 30 fps, fg a
 * 50-minute stretch of it starting 5 min in, running 1% fast, with noise. Measures the temporal
 * engine alone — time, peak memory — and checks it lands on the truth.
 */
import { alignTemporal } from '../daemon/engine/temporal/solve';
import { type Descriptors, type DescriptorSet } from '../daemon/engine/descriptors/types';
import { type Engine } from '../protocol/project';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32 - 0.5;
  };
}

function unitRows(n: number, dim: number, row: (i: number, out: Float32Array) => void): Descriptors {
  const v = new Float32Array(n * dim);
  const tmp = new Float32Array(dim);
  for (let i = 0; i < n; i++) {
    row(i, tmp);
    let ss = 0;
    for (let k = 0; k < dim; k++) ss += tmp[k] * tmp[k];
    const inv = 1 / Math.sqrt(ss || 1);
    for (let k = 0; k < dim; k++) v[i * dim + k] = tmp[k] * inv;
  }
  return { n, dim, v };
}

export interface LongResult {
  engine: Engine;
  bgFrames: number;
  fgFrames: number;
  seconds: number;
  peakMiB: number;
  within1: number;
}

export async function benchLong(engine: Engine = 'full'): Promise<LongResult> {
  const fps = 30;
  const nB = 60 * 60 * fps;
  const start = 5 * 60 * fps;
  const speed = 1.01;
  const nF = Math.floor((50 * 60 * fps) / speed);
  const dim = 256;
  const cdim = 48;
  const r = rng(7);
  // Content drifts slowly (an AR(1) walk): neighbouring frames look alike, as in real video.
  const walk = new Float32Array(nB * dim);
  for (let k = 0; k < dim; k++) walk[k] = r();
  for (let j = 1; j < nB; j++) for (let k = 0; k < dim; k++) walk[j * dim + k] = walk[(j - 1) * dim + k] * 0.97 + r() * 0.25;
  const truth = Int32Array.from({ length: nF }, (_, i) => Math.min(nB - 1, Math.round(start + i * speed)));
  const bg = unitRows(nB, dim, (j, out) => out.set(walk.subarray(j * dim, (j + 1) * dim)));
  const fg = unitRows(nF, dim, (i, out) => {
    const j = truth[i];
    for (let k = 0; k < dim; k++) out[k] = walk[j * dim + k] + r() * 0.15;
  });
  const coarse = (d: Descriptors) => unitRows(d.n, cdim, (i, out) => out.set(d.v.subarray(i * d.dim, i * d.dim + cdim)));
  const set: DescriptorSet = { fg, bg, coarseFg: coarse(fg), coarseBg: coarse(bg), maskFraction: 1 };
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t = performance.now();
  // Let the sampler run between levels: the engine is synchronous.
  await new Promise((res) => setTimeout(res, 30));
  const res = alignTemporal(set, { engine, fgFps: fps, bgFps: fps });
  const seconds = (performance.now() - t) / 1000 - 0.03;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  let ok = 0;
  for (let i = 0; i < nF; i++) if (Math.abs(res.bgFrameForFg[i] - truth[i]) <= 1) ok++;
  return { engine, bgFrames: nB, fgFrames: nF, seconds, peakMiB: peak / 2 ** 20, within1: ok / nF };
}

if (require.main === module) {
  benchLong().then((r) => console.log(JSON.stringify(r)));
}
