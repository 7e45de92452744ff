/**
 * Kernel benchmark: each kernel on the same inputs through the native addon and through its
 * TypeScript twin, at the sizes the engine meets. ratio = TS time / native time.
 *
 *   node --import tsx bench/kernels.ts
 *
 * Needs the built addon (npm run build:native). Each result is also checked to be identical across
 * backends: a fast kernel that disagrees with its twin is a bug, not a speed-up.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Kernels } from '../daemon/native/kernels';
import * as ts from '../daemon/native/reference';

export interface KernelBenchRow {
  kernel: string;
  nativeMs: number;
  tsMs: number;
  ratio: number;
  size: string;
}

function loadNative(): Kernels {
  const file = path.join(__dirname, '..', 'daemon', 'native', 'build', 'Release', 'vidkompy_kernels.node');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as Kernels;
  } catch (e) {
    throw new Error(`bench/kernels: cannot load ${file} (${e instanceof Error ? e.message.split('\n')[0] : e}); run \`npm run build:native\` first`, { cause: e });
  }
}

/** Deterministic inputs (xorshift32), so runs are comparable. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function unitRows(rows: number, dim: number, seed: number): Float32Array {
  const r = rng(seed);
  const v = new Float32Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) {
      const x = r() - 0.5;
      v[i * dim + k] = x;
      s += x * x;
    }
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < dim; k++) v[i * dim + k] *= inv;
  }
  return v;
}

/**
 * Fastest of `repeat` runs, after one untimed run that warms the JIT and the caches. The fastest,
 * not the mean: on a shared machine the slow runs measure the neighbours, not the kernel.
 */
function time<T>(fn: () => T, repeat: number): { ms: number; out: T } {
  let out = fn();
  let best = Infinity;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    out = fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, out };
}

function sameResult(kernel: string, a: unknown, b: unknown): void {
  const flat = (x: unknown): ArrayLike<number> => {
    if (ArrayBuffer.isView(x)) return x as unknown as ArrayLike<number>;
    const r = x as { path: Int32Array; cost: number };
    return [...r.path, r.cost];
  };
  const fa = flat(a), fb = flat(b);
  if (fa.length !== fb.length) throw new Error(`bench/kernels: ${kernel}: backends returned ${fa.length} vs ${fb.length} values`);
  for (let i = 0; i < fa.length; i++)
    if (!Object.is(fa[i], fb[i])) throw new Error(`bench/kernels: ${kernel}: backends differ at ${i}: ${fa[i]} vs ${fb[i]}`);
}

interface Case {
  kernel: string;
  size: string;
  repeat: { native: number; ts: number };
  run: (k: Kernels) => unknown;
}

function cases(): Case[] {
  const out: Case[] = [];

  {
    const rows = 20000, band = 41, dim = 5184;
    const bRows = rows + band;
    const a = unitRows(rows, dim, 2);
    const b = unitRows(bRows, dim, 3);
    const aIndex = new Int32Array(rows).map((_, i) => i);
    const bStart = new Int32Array(rows).map((_, i) => i);
    const bCount = new Int32Array(rows).fill(band);
    const pairs = { aIndex, bStart, bCount };
    out.push({
      kernel: 'batchDot banded',
      size: `${rows} rows × ${band} band × dim ${dim}`,
      repeat: { native: 2, ts: 1 },
      run: (k) => k.batchDot(a, rows, b, bRows, dim, pairs),
    });
  }

  {
    const aRows = 300, bRows = 20000, dim = 160;
    const a = unitRows(aRows, dim, 4);
    const b = unitRows(bRows, dim, 5);
    out.push({
      kernel: 'batchDot full',
      size: `${aRows} × ${bRows} × dim ${dim}`,
      repeat: { native: 3, ts: 1 },
      run: (k) => k.batchDot(a, aRows, b, bRows, dim),
    });
  }

  {
    const n = 2000, words = 4;
    const r = rng(6);
    const fill = () => {
      const v = new BigUint64Array(n * words);
      const v32 = new Uint32Array(v.buffer);
      for (let i = 0; i < v32.length; i++) v32[i] = r() * 4294967296;
      return v;
    };
    const a = fill(), b = fill();
    out.push({ kernel: 'hamming64', size: `${n} × ${n} × ${words} words`, repeat: { native: 15, ts: 2 }, run: (k) => k.hamming64(a, n, b, n, words) });
  }

  {
    const rows = 100000, stride = 41;
    const r = rng(7);
    const cost = new Float32Array(rows * stride).map(() => r());
    const lo = new Int32Array(rows).map((_, i) => Math.max(0, i - 20));
    const width = new Int32Array(rows).fill(stride);
    out.push({
      kernel: 'bandedPath',
      size: `${rows} rows × stride ${stride}, maxStep 3`,
      repeat: { native: 10, ts: 3 },
      run: (k) => k.bandedPath(cost, rows, lo, width, stride, 1, 3, 0.05),
    });
  }

  {
    // A ±40 band around the diagonal of a square matrix, as the DTW engines search.
    const rows = 20000, radius = 40;
    const lo = new Int32Array(rows).map((_, i) => Math.max(0, i - radius));
    const width = new Int32Array(rows).map((_, i) => Math.min(rows - 1, i + radius) - lo[i] + 1);
    const band = { lo, width, stride: 2 * radius + 1 };
    const r = rng(8);
    const cost = new Float32Array(rows * band.stride).map(() => r());
    const size = `${rows} rows × width ${band.stride}`;
    out.push({ kernel: 'dtwBand', size, repeat: { native: 15, ts: 3 }, run: (k) => k.dtwBand(cost, rows, band.lo, band.width, band.stride) });
    out.push({
      kernel: 'dtwBand open+jumps',
      size,
      repeat: { native: 15, ts: 3 },
      run: (k) => k.dtwBand(cost, rows, band.lo, band.width, band.stride, { openBegin: true, openEnd: true, jumpPenalty: 2 }),
    });
  }

  {
    const n = 1_000_000;
    const r = rng(9);
    const y = new Float64Array(n).map((_, i) => Math.sin(i / 500) + 0.1 * r());
    out.push({ kernel: 'savitzkyGolay', size: `${n} points, window 31, order 3`, repeat: { native: 15, ts: 3 }, run: (k) => k.savitzkyGolay(y, 31, 3) });
  }
  {
    // The spatial refinement's inner loop: a 1280×720 template kept at step 4 in a 1080p frame, 5×5 positions.
    const r = rng(10);
    const img = Float32Array.from({ length: 1920 * 1080 }, () => r() * 255);
    const tpl = Float32Array.from({ length: 320 * 180 }, () => r() - 0.5);
    out.push({ kernel: 'nccGrid', size: '320×180 template (step 4) in 1920×1080, 5×5 positions', repeat: { native: 20, ts: 3 }, run: (k) => k.nccGrid(img, 1920, 1080, tpl, 320, 180, 4, 50, 398, 198, 5, 5) });
    // A full-size level as decoded (bytes) and a halved one (quarter values): their sums under the
    // template are exact, and the native kernel takes them from lattice prefix sums.
    const bytes = Uint8Array.from(img, (v) => Math.floor(v));
    const halved = Float32Array.from({ length: 960 * 540 }, () => Math.floor(r() * 1021) / 4);
    const t240 = tpl.subarray(0, 240 * 240);
    out.push({ kernel: 'nccGrid bytes', size: '240×240 template (step 1) in 1920×1080 bytes, 7×7 positions', repeat: { native: 20, ts: 3 }, run: (k) => k.nccGrid(bytes, 1920, 1080, t240, 240, 240, 1, 50, 398, 198, 7, 7) });
    out.push({ kernel: 'nccGrid halved', size: '240×240 template (step 1) in a 960×540 halved level, 7×7 positions', repeat: { native: 20, ts: 3 }, run: (k) => k.nccGrid(halved, 960, 540, t240, 240, 240, 1, 50, 300, 198, 7, 7) });
  }
  {
    // The motion check's inner loop: two 96×54 analysis frames, shifts within ±4 (half size first in the engine).
    const r = rng(11);
    const a = Float32Array.from({ length: 96 * 54 }, () => r() * 255);
    const b = Float32Array.from({ length: 96 * 54 }, () => r() * 255);
    const mask = Uint8Array.from({ length: 96 * 54 }, () => (r() < 0.1 ? 1 : 0));
    out.push({ kernel: 'shiftCosts', size: '96×54, ±4 (81 shifts)', repeat: { native: 400, ts: 100 }, run: (k) => k.shiftCosts(a, b, 96, 54, 0, 0, 4, 1.5) });
    out.push({ kernel: 'shiftCosts masked', size: '96×54, ±4, mask on both', repeat: { native: 400, ts: 100 }, run: (k) => k.shiftCosts(a, b, 96, 54, 0, 0, 4, 1.5, mask, true) });
  }
  {
    // Tracking's inner loop: a 160×90 template over a 320×180 working frame, a 3×3×3 grid of placements.
    const r = rng(12);
    const img = Uint8Array.from({ length: 320 * 180 }, () => Math.floor(r() * 256));
    const tpl = Float32Array.from({ length: 160 * 90 }, () => r() - 0.5);
    const xs = Float64Array.from({ length: 27 }, (_, i) => 80 + (i % 3));
    const ys = Float64Array.from({ length: 27 }, (_, i) => 45 + (Math.floor(i / 3) % 3));
    const ss = Float64Array.from({ length: 27 }, (_, i) => 1 + 0.01 * (Math.floor(i / 9) - 1));
    out.push({ kernel: 'nccWarp', size: '160×90 template, 320×180 frame, 27 placements', repeat: { native: 100, ts: 20 }, run: (k) => k.nccWarp(img, 320, 180, tpl, 160, 90, 50, 1, 1, xs, ys, ss) });
  }
  {
    // Tracking's cut of each frame it compares: a moving window of a 640×360 working frame at 96×54.
    const r = rng(15);
    const img = Uint8Array.from({ length: 640 * 360 }, () => Math.floor(r() * 256));
    const cut = new Uint8Array(96 * 54);
    out.push({
      kernel: 'cutGray',
      size: '400×225 window of a 640×360 frame cut at 96×54 (4×4 taps)',
      repeat: { native: 400, ts: 100 },
      run: (k) => {
        k.cutGray(img, 640, 360, 100.5, 60.25, 400, 225, 96, 54, cut, 0);
        return cut.slice();
      },
    });
  }
  {
    // The spatial refinement's resizes: a 1080p frame to 1024×576 (the box filter as engine/image.ts builds it).
    const r = rng(13);
    const img = Uint8Array.from({ length: 1920 * 1080 }, () => Math.floor(r() * 256));
    const box = (src: number, dst: number) => {
      const scale = src / dst;
      const taps = Math.ceil(scale) + 1;
      const start = Int32Array.from({ length: dst }, (_, d) => Math.min(src - 1, Math.floor(d * scale)));
      const weights = new Float32Array(dst * taps).fill(1 / taps);
      return { start, weights, taps };
    };
    const [cx, cy] = [box(1920, 1024), box(1080, 576)];
    out.push({
      kernel: 'resizeArea',
      size: '1920×1080 bytes to 1024×576',
      repeat: { native: 20, ts: 5 },
      run: (k) => k.resizeArea(img, 1920, 1080, 0, 0, 1920, 1080, cx.start, cx.weights, cx.taps, cy.start, cy.weights, cy.taps, 1024, 576, 1),
    });
  }
  {
    // The coarse spatial search's correlation of a template with a packed pair of bg samples: 128×128 spectra, 72 rows kept.
    const r = rng(14);
    const [a, b, c, d] = [0, 1, 2, 3].map(() => Float64Array.from({ length: 128 * 128 }, () => r() - 0.5));
    const cos = Float64Array.from({ length: 64 }, (_, i) => Math.cos((2 * Math.PI * i) / 128));
    const sin = Float64Array.from({ length: 64 }, (_, i) => Math.sin((2 * Math.PI * i) / 128));
    // Reused by every run, as the coarse search reuses one.
    const s = { re: new Float64Array(128 * 128), im: new Float64Array(128 * 128) };
    out.push({
      kernel: 'fft2d',
      size: '128×128 correlation (spectrumCorrelate, inverse fft2d of 72 rows)',
      repeat: { native: 200, ts: 50 },
      run: (k) => {
        k.spectrumCorrelate(a, b, c, d, s.re, s.im);
        k.fft2d(s.re, s.im, 128, 128, 72, true, cos, sin, cos, sin);
        const both = new Float64Array(2 * s.re.length);
        both.set(s.re);
        both.set(s.im, s.re.length);
        return both;
      },
    });
  }
  return out;
}

export async function benchKernels(): Promise<KernelBenchRow[]> {
  const native = loadNative();
  const twin: Kernels = ts;
  const rows: KernelBenchRow[] = [];
  for (const c of cases()) {
    const n = time(() => c.run(native), c.repeat.native);
    const t = time(() => c.run(twin), c.repeat.ts);
    sameResult(c.kernel, n.out, t.out);
    rows.push({ kernel: c.kernel, nativeMs: n.ms, tsMs: t.ms, ratio: t.ms / n.ms, size: c.size });
    await new Promise((resolve) => setImmediate(resolve)); // let a caller's progress output through
  }
  return rows;
}

function table(rows: KernelBenchRow[]): string {
  const head = ['kernel', 'native ms', 'TS ms', 'ratio', 'size'];
  const body = rows.map((r) => [r.kernel, r.nativeMs.toFixed(1), r.tsMs.toFixed(1), `${r.ratio.toFixed(1)}×`, r.size]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
}

if (require.main === module) {
  benchKernels().then(
    (rows) => process.stdout.write(`${table(rows)}\n`),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
