import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { addonCandidates, KERNEL_NAMES, kernelsBackend, NATIVE_ABI_VERSION, nativeUnavailableReason, type Kernels } from '../daemon/native/kernels';
import * as ref from '../daemon/native/reference';
import { rng } from './support/rng';

/**
 * The native kernels against their TypeScript twins (differential, on random inputs and edge
 * cases, on every instruction set the CPU has), plus hand-computed checks of the twins themselves.
 *
 * The differential tests fail when the addon is not built (CI builds it); set VIDKOMPY_NO_NATIVE=1
 * to skip them on a machine without a compiler.
 */

const ROOT = path.join(__dirname, '..');
const ADDON = path.join(ROOT, 'daemon', 'native', 'build', 'Release', 'vidkompy_kernels.node');
const NO_NATIVE = process.env.VIDKOMPY_NO_NATIVE === '1';

interface Addon extends Kernels {
  abiVersion: number;
  threads: number;
  simdLevel(): string;
  setSimdLevel(level: 'auto' | 'baseline' | 'avx2'): string;
}

let native: Addon | null = null;
let loadError = '';
if (!NO_NATIVE) {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    native = require(ADDON) as Addon;
  } catch (e) {
    loadError = e instanceof Error ? e.message.split('\n')[0] : String(e);
  }
}

/** Instruction sets this CPU can run; every differential test runs on each. */
function simdLevels(n: Addon): Array<'baseline' | 'avx2'> {
  const levels: Array<'baseline' | 'avx2'> = ['baseline'];
  try {
    n.setSimdLevel('avx2');
    levels.push('avx2');
  } catch {
    // no AVX2 here: baseline only
  }
  n.setSimdLevel('auto');
  return levels;
}

/** A test comparing the addon with the twins; `run` gets the addon and must assert. */
function differential(name: string, run: (n: Addon) => void): void {
  test(name, { skip: NO_NATIVE ? 'VIDKOMPY_NO_NATIVE=1: native kernels disabled' : false }, () => {
    if (!native)
      assert.fail(`native addon not loaded from ${ADDON} (${loadError}). Build it with \`npm run build:native\`, or set VIDKOMPY_NO_NATIVE=1 to skip.`);
    const n = native;
    try {
      for (const level of simdLevels(n)) {
        n.setSimdLevel(level);
        run(n);
      }
    } finally {
      n.setSimdLevel('auto');
    }
  });
}

// ---- inputs and comparisons ----

const f32 = (n: number, r: () => number, scale = 1, offset = 0): Float32Array => Float32Array.from({ length: n }, () => offset + scale * (r() * 2 - 1));

function unitRows(rows: number, dim: number, r: () => number): Float32Array {
  const v = f32(rows * dim, r);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += v[i * dim + k] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let k = 0; k < dim; k++) v[i * dim + k] *= inv;
  }
  return v;
}

/** Integer outputs: same type, same values. */
function sameInts(
  actual: ArrayLike<number> & { constructor: { name: string } },
  expected: ArrayLike<number> & { constructor: { name: string } },
  what: string,
): void {
  assert.equal(actual.constructor.name, expected.constructor.name, `${what}: result type`);
  assert.deepEqual(Array.from(actual), Array.from(expected), what);
}

/** Float outputs: same type and length, each within 1e-6 relative (1e-9 absolute near zero). */
function closeFloats(actual: Float32Array | Float64Array, expected: Float32Array | Float64Array, what: string): void {
  assert.equal(actual.constructor.name, expected.constructor.name, `${what}: result type`);
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i],
      e = expected[i];
    assert.ok(Number.isFinite(a), `${what}[${i}] = ${a} is not finite`);
    const tol = Math.max(1e-9, 1e-6 * Math.max(Math.abs(a), Math.abs(e)));
    assert.ok(Math.abs(a - e) <= tol, `${what}[${i}]: native ${a} vs twin ${e}`);
  }
}

/** Same error class from both backends (and a message naming the problem). */
function sameError(run: (k: Kernels) => unknown, n: Kernels, cls: typeof TypeError | typeof RangeError, what: string): void {
  assert.throws(() => run(ref), cls, `twin: ${what}`);
  assert.throws(() => run(n), cls, `native: ${what}`);
}

// The engine's temporal DP as first written (before it became a kernel), kept verbatim: the bandedPath twin
// and the addon must both reproduce it.
function engineMonotonicPath(
  cost: Float32Array,
  rows: number,
  lo: Int32Array,
  width: Int32Array,
  stride: number,
  rate: number,
  maxStep: number,
  lambda: number,
): Int32Array {
  const back = new Int32Array(rows * stride).fill(-1);
  let prev = new Float64Array(stride).fill(Infinity);
  let cur = new Float64Array(stride);
  for (let c = 0; c < width[0]; c++) prev[c] = cost[c];
  for (let r = 1; r < rows; r++) {
    cur.fill(Infinity);
    const dl = lo[r] - lo[r - 1];
    for (let c = 0; c < width[r]; c++) {
      const col = lo[r] + c;
      let best = Infinity;
      let arg = -1;
      for (let step = 0; step <= maxStep; step++) {
        const pc = col - step - lo[r - 1];
        if (pc < 0) break;
        if (pc >= width[r - 1]) continue;
        const v = prev[pc] + lambda * Math.abs(step - rate);
        if (v < best) {
          best = v;
          arg = pc;
        }
      }
      if (arg < 0) {
        const pc = Math.min(width[r - 1] - 1, Math.max(0, c + dl));
        best = prev[pc] + lambda * maxStep;
        arg = pc;
      }
      cur[c] = best + cost[r * stride + c];
      back[r * stride + c] = arg;
    }
    [prev, cur] = [cur, prev];
  }
  const path = new Int32Array(rows);
  let c = 0;
  for (let k = 1; k < width[rows - 1]; k++) if (prev[k] < prev[c]) c = k;
  for (let r = rows - 1; r >= 0; r--) {
    path[r] = lo[r] + c;
    if (r > 0) c = back[r * stride + c];
  }
  return path;
}

/**
 * A random band: widths in [1, stride], lo drifting forward with stalls, and (unless `connected`)
 * occasional steps back and gaps. Connected bands never move back and always touch the previous
 * row's band, so a DTW path exists.
 */
function randomBand(rows: number, stride: number, r: () => number, connected: boolean): { lo: Int32Array; width: Int32Array } {
  const lo = new Int32Array(rows);
  const width = new Int32Array(rows);
  let l = Math.floor(r() * 5);
  for (let i = 0; i < rows; i++) {
    width[i] = 1 + Math.floor(r() * stride);
    if (i > 0) {
      const roll = r();
      const step = connected ? Math.floor(r() * 3) : roll < 0.1 ? -Math.floor(r() * 3) : roll < 0.2 ? 5 + Math.floor(r() * 20) : Math.floor(r() * 3);
      l = Math.max(0, l + step);
      // DTW needs each row's band to overlap or touch the previous one.
      if (connected) l = Math.min(l, lo[i - 1] + width[i - 1]);
    }
    lo[i] = l;
  }
  return { lo, width };
}

/**
 * A band around the diagonal from (0, 0) to (rows−1, cols−1), radius columns either side (Sakoe–Chiba).
 * Each row reaches the column just before the next row's diagonal start, so consecutive rows touch
 * and a DTW path exists even when cols ≫ rows.
 */
function diagonalBand(rows: number, cols: number, radius: number): ref.Band {
  const lo = new Int32Array(rows);
  const width = new Int32Array(rows);
  const slope = rows > 1 ? (cols - 1) / (rows - 1) : 0;
  let stride = 0;
  for (let r = 0; r < rows; r++) {
    const x = r * slope;
    const reach = r === rows - 1 ? cols - 1 : Math.max(Math.ceil(x), Math.floor((r + 1) * slope) - 1);
    lo[r] = Math.max(0, Math.floor(x) - radius);
    width[r] = Math.min(cols - 1, reach + radius) - lo[r] + 1;
    stride = Math.max(stride, width[r]);
  }
  return { lo, width, stride };
}

// =============================================================================================

describe('native kernels: differential against the TypeScript twins', () => {
  differential('the addon is this build (ABI version, exports)', (n) => {
    assert.equal(n.abiVersion, NATIVE_ABI_VERSION);
    for (const k of KERNEL_NAMES) assert.equal(typeof n[k], 'function', k);
    assert.ok(n.threads >= 1);
    assert.equal(kernelsBackend(), 'native', `kernels.ts fell back: ${nativeUnavailableReason()}`);
  });

  differential('batchDot: full matrices and bands, including empty ones and band edges', (n) => {
    const r = rng(5);
    for (const dim of [0, 1, 5, 8, 13, 160])
      for (const [aRows, bRows] of [
        [0, 0],
        [0, 3],
        [3, 0],
        [1, 1],
        [4, 7],
        [9, 5],
      ]) {
        const a = unitRows(aRows, dim, r),
          b = unitRows(bRows, dim, r);
        closeFloats(n.batchDot(a, aRows, b, bRows, dim), ref.batchDot(a, aRows, b, bRows, dim), `full ${aRows}×${bRows}×${dim}`);
        if (aRows === 0) continue;
        // Bands touching both ends of b, empty bands, and repeated a rows.
        const P = 2 * aRows;
        const aIndex = Int32Array.from({ length: P }, (_, i) => i % aRows);
        const bCount = Int32Array.from({ length: P }, (_, i) => (i % 3 === 0 ? 0 : Math.floor(r() * (bRows + 1))));
        const bStart = Int32Array.from({ length: P }, (_, i) => (i % 2 ? bRows - bCount[i] : Math.floor(r() * (bRows - bCount[i] + 1))));
        const pairs = { aIndex, bStart, bCount };
        closeFloats(n.batchDot(a, aRows, b, bRows, dim, pairs), ref.batchDot(a, aRows, b, bRows, dim, pairs), `banded ${aRows}×${bRows}×${dim}`);
      }
  });

  differential('batchDot: threaded sizes; results are bit-identical; self-dots of unit vectors are 1', (n) => {
    const r = rng(6);
    const dim = 160,
      aRows = 64,
      bRows = 300;
    const a = unitRows(aRows, dim, r),
      b = unitRows(bRows, dim, r);
    assert.deepEqual(n.batchDot(a, aRows, b, bRows, dim), ref.batchDot(a, aRows, b, bRows, dim));
    const rows = 500,
      band = 41,
      big = 5184;
    const fa = unitRows(rows, 300, r),
      fb = unitRows(rows + band, 300, r);
    const pairs = {
      aIndex: Int32Array.from({ length: rows }, (_, i) => i),
      bStart: Int32Array.from({ length: rows }, (_, i) => i),
      bCount: new Int32Array(rows).fill(band),
    };
    assert.deepEqual(n.batchDot(fa, rows, fb, rows + band, 300, pairs), ref.batchDot(fa, rows, fb, rows + band, 300, pairs));
    const one = unitRows(3, big, r);
    for (const x of n.batchDot(one, 3, one, 3, big, { aIndex: Int32Array.of(0, 1, 2), bStart: Int32Array.of(0, 1, 2), bCount: Int32Array.of(1, 1, 1) }))
      assert.ok(Math.abs(x - 1) < 1e-6, `self dot ${x}`);
  });

  differential('batchDot: bad arguments throw the same errors', (n) => {
    const a = new Float32Array(6),
      b = new Float32Array(9);
    const pairs = (aIndex: number[], bStart: number[], bCount: number[]) => ({
      aIndex: Int32Array.from(aIndex),
      bStart: Int32Array.from(bStart),
      bCount: Int32Array.from(bCount),
    });
    sameError((k) => k.batchDot(new Float64Array(6) as unknown as Float32Array, 2, b, 3, 3), n, TypeError, 'Float64Array a');
    sameError((k) => k.batchDot(a, 3, b, 3, 3), n, RangeError, 'a too short');
    sameError((k) => k.batchDot(a, 2, b, 3, 3, pairs([2], [0], [1])), n, RangeError, 'aIndex out of range');
    sameError((k) => k.batchDot(a, 2, b, 3, 3, pairs([0], [2], [2])), n, RangeError, 'band past the end of b');
    sameError((k) => k.batchDot(a, 2, b, 3, 3, pairs([0], [0], [-1])), n, RangeError, 'negative count');
    sameError((k) => k.batchDot(a, 2, b, 3, 3, pairs([0, 1], [0], [1])), n, RangeError, 'ragged pairs');
    sameError(
      (k) => k.batchDot(a, 2, b, 3, 3, { aIndex: [0], bStart: Int32Array.of(0), bCount: Int32Array.of(1) } as unknown as ref.DotPairs),
      n,
      TypeError,
      'plain array in pairs',
    );
  });

  differential('hamming64: random, identical and complementary fingerprints, 16- and 32-bit results', (n) => {
    const r = rng(7);
    const words64 = (count: number) => {
      const v = new BigUint64Array(count);
      const v32 = new Uint32Array(v.buffer);
      for (let i = 0; i < v32.length; i++) v32[i] = Math.floor(r() * 4294967296);
      return v;
    };
    for (const words of [0, 1, 4, 1100])
      for (const [aRows, bRows] of [
        [0, 0],
        [0, 2],
        [2, 0],
        [1, 1],
        [5, 3],
        [40, 30],
      ]) {
        const a = words64(aRows * words),
          b = words64(bRows * words);
        sameInts(n.hamming64(a, aRows, b, bRows, words), ref.hamming64(a, aRows, b, bRows, words), `${aRows}×${bRows}×${words} words`);
      }
    const a = words64(4);
    const comp = a.map((x) => ~x & 0xffffffffffffffffn);
    const both = new BigUint64Array([...a, ...comp]);
    sameInts(n.hamming64(a, 1, both, 2, 4), Uint16Array.of(0, 256), 'self and complement');
    const big = words64(2000 * 4);
    sameInts(n.hamming64(big, 2000, big.subarray(0, 400), 100, 4), ref.hamming64(big, 2000, big.subarray(0, 400), 100, 4), 'threaded, subarray input');
    sameError((k) => k.hamming64(a, 2, a, 1, 4), n, RangeError, 'a too short');
    sameError((k) => k.hamming64(new BigInt64Array(4) as unknown as BigUint64Array, 1, a, 1, 4), n, TypeError, 'signed words');
  });

  differential('bandedPath: the engine DP on random bands, fallbacks, ties and edge bands', (n) => {
    const r = rng(8);
    for (let trial = 0; trial < 60; trial++) {
      const rows = [0, 1, 2, 3, 17, 200][trial % 6];
      const stride = 1 + Math.floor(r() * 12);
      const { lo, width } = randomBand(rows, stride, r, trial % 2 === 0);
      const ties = trial % 3 === 0;
      const cost = Float32Array.from({ length: rows * stride }, () => (ties ? Math.floor(r() * 3) : r()));
      const rate = [0, 0.5, 1, 1.7][trial % 4];
      const maxStep = [0, 1, 3, 6][Math.floor(trial / 4) % 4];
      const lambda = ties ? 0 : [0, 0.05, 1][trial % 3];
      const expected = rows ? engineMonotonicPath(cost, rows, lo, width, stride, rate, maxStep, lambda) : new Int32Array(0);
      const what = `trial ${trial}: ${rows} rows, stride ${stride}, rate ${rate}, maxStep ${maxStep}, lambda ${lambda}`;
      sameInts(ref.bandedPath(cost, rows, lo, width, stride, rate, maxStep, lambda), expected, `twin ${what}`);
      sameInts(n.bandedPath(cost, rows, lo, width, stride, rate, maxStep, lambda), expected, `native ${what}`);
    }
    // Constant cost: every step ties, so the smallest step wins everywhere.
    const rows = 50,
      stride = 9;
    const lo = Int32Array.from({ length: rows }, (_, i) => Math.max(0, i - 4));
    const width = new Int32Array(rows).fill(stride);
    const flat = new Float32Array(rows * stride).fill(0.5);
    sameInts(n.bandedPath(flat, rows, lo, width, stride, 1, 3, 0), engineMonotonicPath(flat, rows, lo, width, stride, 1, 3, 0), 'all ties');
  });

  differential('bandedPath: bad arguments throw the same errors', (n) => {
    const cost = new Float32Array(6),
      lo = Int32Array.of(0, 1),
      width = Int32Array.of(3, 3);
    sameError((k) => k.bandedPath(cost, 2, lo, Int32Array.of(3, 0), 3, 1, 2, 0.1), n, RangeError, 'zero width');
    sameError((k) => k.bandedPath(cost, 2, lo, Int32Array.of(3, 4), 3, 1, 2, 0.1), n, RangeError, 'width > stride');
    sameError((k) => k.bandedPath(cost, 3, lo, width, 3, 1, 2, 0.1), n, RangeError, 'lo shorter than rows');
    sameError((k) => k.bandedPath(cost.subarray(0, 5), 2, lo, width, 3, 1, 2, 0.1), n, RangeError, 'cost too short');
    sameError((k) => k.bandedPath(cost, 2, lo, width, 3, Infinity, 2, 0.1), n, RangeError, 'infinite rate');
    sameError((k) => k.bandedPath(cost, 2, [0, 1] as unknown as Int32Array, width, 3, 1, 2, 0.1), n, TypeError, 'plain array lo');
  });

  differential('dtwBand: random connected bands, open ends, jumps, ties', (n) => {
    const r = rng(9);
    for (let trial = 0; trial < 80; trial++) {
      const rows = [1, 2, 3, 12, 60][trial % 5];
      const stride = 1 + Math.floor(r() * 10);
      const { lo, width } = randomBand(rows, stride, r, trial % 7 !== 3);
      const ties = trial % 4 === 0;
      const cost = Float32Array.from({ length: rows * stride }, () => (ties ? Math.floor(r() * 2) : r()));
      const opts: ref.DtwOptions = { openBegin: trial % 2 === 1, openEnd: Math.floor(trial / 2) % 2 === 1 };
      if (trial % 3 === 0) opts.jumpPenalty = [0, 0.5, 3][trial % 9 === 0 ? 0 : trial % 2 ? 1 : 2];
      const what = `trial ${trial}: ${rows} rows, stride ${stride}, ${JSON.stringify(opts)}`;
      let e: ref.DtwResult;
      try {
        e = ref.dtwBand(cost, rows, lo, width, stride, opts);
      } catch (err) {
        // A band that steps back or leaves a gap may have no path: then both must say so.
        assert.ok(err instanceof RangeError && trial % 7 === 3, `${what}: ${err}`);
        assert.throws(() => n.dtwBand(cost, rows, lo, width, stride, opts), RangeError, what);
        continue;
      }
      const a = n.dtwBand(cost, rows, lo, width, stride, opts);
      sameInts(a.path, e.path, `path ${what}`);
      assert.deepEqual({ start: a.start, end: a.end, jumps: a.jumps }, { start: e.start, end: e.end, jumps: e.jumps }, what);
      assert.ok(Math.abs(a.cost - e.cost) <= 1e-6 * Math.max(1, Math.abs(e.cost)), `cost ${what}: ${a.cost} vs ${e.cost}`);
      for (let i = 0; i < rows; i++) assert.ok(e.path[i] >= lo[i] && e.path[i] < lo[i] + width[i], `${what}: row ${i} leaves its band`);
    }
    // Diagonal bands, including cols ≫ rows, and the bench's shape at a smaller size.
    for (const [rows, cols, radius] of [
      [1, 1, 0],
      [1, 9, 0],
      [9, 1, 2],
      [30, 30, 3],
      [10, 100, 2],
      [100, 10, 0],
      [2000, 2000, 40],
    ]) {
      const band = diagonalBand(rows, cols, radius);
      const cost = f32(rows * band.stride, r, 1, 1);
      for (const opts of [{}, { openBegin: true, openEnd: true }, { jumpPenalty: 1 }]) {
        const a = n.dtwBand(cost, rows, band.lo, band.width, band.stride, opts);
        const e = ref.dtwBand(cost, rows, band.lo, band.width, band.stride, opts);
        sameInts(a.path, e.path, `diagonal ${rows}×${cols}±${radius} ${JSON.stringify(opts)}`);
        assert.deepEqual([a.start, a.end, a.jumps], [e.start, e.end, e.jumps]);
        assert.equal(a.cost, e.cost);
      }
    }
    const empty = n.dtwBand(new Float32Array(0), 0, new Int32Array(0), new Int32Array(0), 0);
    assert.deepEqual({ ...empty, path: Array.from(empty.path) }, { path: [], cost: 0, start: -1, end: -1, jumps: [] });
  });

  differential('dtwBand: disconnected bands, infinite costs and bad options throw the same errors', (n) => {
    const cost = new Float32Array(4).fill(1);
    sameError((k) => k.dtwBand(cost, 2, Int32Array.of(0, 5), Int32Array.of(2, 2), 2), n, RangeError, 'gap between bands');
    const blocked = Float32Array.of(1, Infinity, Infinity, 1);
    sameError((k) => k.dtwBand(blocked, 2, Int32Array.of(0, 1), Int32Array.of(2, 2), 2), n, RangeError, 'blocked by infinite costs');
    sameError((k) => k.dtwBand(cost, 2, Int32Array.of(0, 0), Int32Array.of(2, 2), 2, { jumpPenalty: -1 }), n, RangeError, 'negative penalty');
    sameError((k) => k.dtwBand(cost, 2, Int32Array.of(0, 0), Int32Array.of(2, 2), 2, { openEnd: 1 as unknown as boolean }), n, TypeError, 'non-boolean flag');
    sameError((k) => k.dtwBand(cost, 2, Int32Array.of(0, 0), Int32Array.of(2, 2), 2, 'open' as unknown as ref.DtwOptions), n, TypeError, 'string options');
    // With a cut allowed, the gap is crossed by a jump.
    const jumped = n.dtwBand(cost, 2, Int32Array.of(0, 5), Int32Array.of(2, 2), 2, { jumpPenalty: 1 });
    assert.deepEqual(jumped.jumps, ref.dtwBand(cost, 2, Int32Array.of(0, 5), Int32Array.of(2, 2), 2, { jumpPenalty: 1 }).jumps);
    assert.equal(jumped.jumps.length, 1);
  });

  differential('savitzkyGolay: random series, windows, orders, short series, threaded length', (n) => {
    const r = rng(10);
    for (const len of [0, 1, 2, 5, 30, 31, 32, 200])
      for (const [window, order] of [
        [1, 0],
        [3, 1],
        [5, 2],
        [7, 3],
        [31, 3],
        [31, 6],
        [9, 8],
      ]) {
        const y = Float64Array.from({ length: len }, () => r() * 10 - 5);
        closeFloats(n.savitzkyGolay(y, window, order), ref.savitzkyGolay(y, window, order), `n ${len}, window ${window}, order ${order}`);
      }
    const y = Float64Array.from({ length: 100_000 }, (_, i) => Math.sin(i / 300) + r() * 0.1);
    assert.deepEqual(n.savitzkyGolay(y, 31, 3), ref.savitzkyGolay(y, 31, 3));
    sameError((k) => k.savitzkyGolay(y, 4, 2), n, RangeError, 'even window');
    sameError((k) => k.savitzkyGolay(y, 5, 5), n, RangeError, 'order >= window');
    sameError((k) => k.savitzkyGolay(Float32Array.of(1, 2) as unknown as Float64Array, 3, 1), n, TypeError, 'Float32Array input');
  });

  differential('nccGrid: random images and templates, strides, lane tails, grids up to the edges, threaded grids', (n) => {
    const r = rng(11);
    // Images whose sums are exact in any order (bytes, averages of 2x2 blocks) take the native
    // kernel's lattice sums; the others, and one with a single inexact value among exact ones, the lanes.
    const kinds: [string, (len: number) => Float32Array | Uint8Array][] = [
      ['floats', (len) => Float32Array.from({ length: len }, () => r() * 255)],
      ['bytes', (len) => Uint8Array.from({ length: len }, () => Math.floor(r() * 256))],
      ['quarters', (len) => Float32Array.from({ length: len }, () => Math.floor(r() * 1021) / 4)],
      ['quarters and one third', (len) => Float32Array.from({ length: len }, (_, i) => (i === (len >> 1) + 3 ? 1 / 3 : Math.floor(r() * 1021) / 4))],
    ];
    for (const [kind, image] of kinds) {
      for (const [W, H] of [
        [40, 30],
        [301, 177],
      ]) {
        const img = image(W * H);
        for (const [cols, rows, step] of [
          [1, 1, 1],
          [7, 5, 1],
          [8, 8, 2],
          [9, 4, 3],
          [17, 11, 2],
          [33, 20, 1],
          [40, 30, 2],
        ]) {
          const tpl = Float32Array.from({ length: cols * rows }, () => r() * 2 - 1);
          const norm = Math.sqrt(tpl.reduce((a, v) => a + v * v, 0));
          const xMax = W - 1 - (cols - 1) * step;
          const yMax = H - 1 - (rows - 1) * step;
          if (xMax < 0 || yMax < 0) continue;
          for (const [x0, y0, nx, ny] of [
            [0, 0, 1, 1],
            [xMax, yMax, 1, 1],
            [Math.max(0, xMax - 6), Math.max(0, yMax - 4), Math.min(7, xMax + 1), Math.min(5, yMax + 1)],
            [0, 0, 0, 3],
          ]) {
            assert.deepEqual(
              n.nccGrid(img, W, H, tpl, cols, rows, step, norm, x0, y0, nx, ny),
              ref.nccGrid(img, W, H, tpl, cols, rows, step, norm, x0, y0, nx, ny),
              `${kind} ${W}x${H}, ${cols}x${rows} step ${step} at ${x0},${y0} ${nx}x${ny}`,
            );
          }
        }
      }
    }
    // Enough work to run on the thread pool.
    const W = 640,
      H = 360;
    const img = Float32Array.from({ length: W * H }, () => r() * 255);
    const tpl = Float32Array.from({ length: 200 * 120 }, () => r() - 0.5);
    assert.deepEqual(n.nccGrid(img, W, H, tpl, 200, 120, 2, 50, 100, 80, 9, 9), ref.nccGrid(img, W, H, tpl, 200, 120, 2, 50, 100, 80, 9, 9));
    sameError((k) => k.nccGrid(img, W, H, tpl, 200, 120, 2, 50, 242, 0, 1, 1), n, RangeError, 'past the width');
    sameError((k) => k.nccGrid(img, W, H, tpl, 200, 120, 2, 50, 0, 122, 1, 1), n, RangeError, 'past the height');
    sameError((k) => k.nccGrid(img, W, H + 1, tpl, 200, 120, 2, 50, 0, 0, 1, 1), n, RangeError, 'image shorter than width × height');
    sameError((k) => k.nccGrid(img, W, H, tpl, 201, 120, 2, 50, 0, 0, 1, 1), n, RangeError, 'template shorter than cols × rows');
    sameError((k) => k.nccGrid(Float64Array.from(img) as unknown as Float32Array, W, H, tpl, 200, 120, 2, 50, 0, 0, 1, 1), n, TypeError, 'a Float64Array image');
    // Bytes as decoded are read as they are, to the same bits as their float copy.
    const bytes = Uint8Array.from(img, (v) => Math.floor(v));
    const widened = Float32Array.from(bytes);
    assert.deepEqual(n.nccGrid(bytes, W, H, tpl, 200, 120, 2, 50, 100, 80, 9, 9), ref.nccGrid(widened, W, H, tpl, 200, 120, 2, 50, 100, 80, 9, 9));
    assert.deepEqual(ref.nccGrid(bytes, W, H, tpl, 17, 11, 3, 5, 3, 4, 5, 6), n.nccGrid(widened, W, H, tpl, 17, 11, 3, 5, 3, 4, 5, 6));
    // Threaded, on each kind of image, at steps 1 and 2 (lattice sums) and 4 (lanes: 16 lattices cost more than they save).
    for (const [kind, image] of kinds) {
      const im = image(W * H);
      for (const step of [1, 2, 4]) {
        const [cols, rows] = step === 1 ? [150, 90] : [200 / (step / 2), 120 / (step / 2)];
        assert.deepEqual(n.nccGrid(im, W, H, tpl, cols, rows, step, 50, 40, 30, 7, 7), ref.nccGrid(im, W, H, tpl, cols, rows, step, 50, 40, 30, 7, 7), `${kind}, step ${step}`);
      }
    }
  });
  differential('shiftCosts: random frames, lane tails, shifts past the overlap, masks on one or both frames', (n) => {
    const r = rng(12);
    for (const [W, H] of [
      [5, 4],
      [17, 9],
      [96, 54],
      [48, 27],
    ]) {
      const a = Float32Array.from({ length: W * H }, () => Math.round(r() * 255));
      const b = Float32Array.from({ length: W * H }, () => Math.round(r() * 255) + r());
      const mask = Uint8Array.from({ length: W * H }, () => (r() < 0.2 ? 1 : 0));
      for (const [cx, cy, rad] of [
        [0, 0, 0],
        [0, 0, 4],
        [3, -2, 2],
        [-W + 2, 0, 3],
        [W + 5, H + 5, 1],
      ])
        for (const m of [undefined, mask])
          for (const both of [false, true]) {
            const off = r() * 10 - 5;
            assert.deepEqual(
              n.shiftCosts(a, b, W, H, cx, cy, rad, off, m, both),
              ref.shiftCosts(a, b, W, H, cx, cy, rad, off, m, both),
              `${W}x${H} around ${cx},${cy} ±${rad}${m ? ' masked' : ''}${both ? ' both' : ''}`,
            );
          }
    }
    const a = new Float32Array(12);
    sameError((k) => k.shiftCosts(a, a, 4, 4, 0, 0, 1, 0), n, RangeError, 'frame shorter than width × height');
    sameError((k) => k.shiftCosts(a, a, 4, 3, 0.5, 0, 1, 0), n, RangeError, 'fractional centre');
    sameError((k) => k.shiftCosts(a, a, 4, 3, 0, 0, 1, 0, new Uint8Array(3)), n, RangeError, 'short mask');
    sameError((k) => k.shiftCosts(Uint8Array.from(a) as unknown as Float32Array, a, 4, 3, 0, 0, 1, 0), n, TypeError, 'byte frame');
  });
  differential('nccWarp: byte and float images, scales, placements half off the image, many placements per call', (n) => {
    const r = rng(14);
    for (const [W, H] of [
      [2, 2],
      [37, 23],
      [160, 90],
    ]) {
      const bytes = Uint8Array.from({ length: W * H }, () => Math.floor(r() * 256));
      const floats = Float32Array.from(bytes, (v) => v + r());
      for (const [tw, th, step] of [
        [1, 1, 1],
        [9, 5, 1],
        [17, 11, 2.5],
      ]) {
        const tpl = Float32Array.from({ length: tw * th }, () => r() * 2 - 1);
        const norm = Math.sqrt(tpl.reduce((a, v) => a + v * v, 0));
        const m = 40;
        const xs = Float64Array.from({ length: m }, () => r() * W * 1.4 - 0.2 * W);
        const ys = Float64Array.from({ length: m }, () => r() * H * 1.4 - 0.2 * H);
        const ss = Float64Array.from({ length: m }, () => 0.3 + r() * 2);
        for (const img of [bytes, floats])
          for (const k of [1, 0.5, 1.7])
            assert.deepEqual(
              n.nccWarp(img, W, H, tpl, tw, th, norm, step, k, xs, ys, ss),
              ref.nccWarp(img, W, H, tpl, tw, th, norm, step, k, xs, ys, ss),
              `${W}x${H} ${img.constructor.name}, template ${tw}x${th} step ${step}, k ${k}`,
            );
        const first3 = (k: Kernels) => k.nccWarp(bytes, W, H, tpl, tw, th, norm, step, 1, xs, ys, ss, 3);
        assert.deepEqual(first3(n), first3(ref));
      }
    }
    const img = new Uint8Array(12);
    const one = Float64Array.of(0);
    const tpl = Float32Array.of(1);
    sameError((k) => k.nccWarp(img, 1, 12, tpl, 1, 1, 1, 1, 1, one, one, one), n, RangeError, 'an image 1 pixel wide');
    sameError((k) => k.nccWarp(img, 4, 4, tpl, 1, 1, 1, 1, 1, one, one, one), n, RangeError, 'image shorter than width × height');
    sameError((k) => k.nccWarp(img, 4, 3, tpl, 1, 1, 1, 1, 1, one, one, one, 2), n, RangeError, 'count past the placements');
    sameError((k) => k.nccWarp(img, 4, 3, tpl, 1, 1, 1, 1, 1, Float64Array.of(NaN), one, one), n, RangeError, 'a NaN placement');
    sameError((k) => k.nccWarp(new Int16Array(12) as unknown as Uint8Array, 4, 3, tpl, 1, 1, 1, 1, 1, one, one, one), n, TypeError, 'a 16-bit image');
  });
  differential('cutGray: byte and float images, shrunk and enlarged windows, windows past every edge, offsets into out', (n) => {
    const r = rng(21);
    const [W, H] = [97, 61];
    const bytes = Uint8Array.from({ length: W * H }, () => Math.floor(r() * 256));
    // Floats with fractions, and a few outside 0..255: stored as a Uint8Array store wraps them.
    const floats = Float32Array.from(bytes, (v, i) => (i % 97 === 5 ? v * 3 - 200 : v + r()));
    const cases: [number, number, number, number, number, number][] = [
      [0, 0, W, H, 24, 16], // whole image, shrunk ~4x
      [10.3, 7.7, 40.5, 22.25, 20, 11], // a window inside, ~2x
      [-15.5, -9, 60, 40, 30, 20], // past the top-left edge
      [W - 20, H - 10, 50, 30, 17, 9], // past the bottom-right edge
      [3.25, 4.5, 12, 8, 36, 24], // enlarged: one tap
      [0, 0, W, H, 5, 3], // shrunk past 4x: taps capped at 4
      [20, 10, 0.5, -3, 4, 4], // degenerate sizes still cut something
    ];
    for (const img of [bytes, floats])
      for (const [x, y, cw, ch, w, h] of cases) {
        const at = 3;
        const run = (k: Kernels) => {
          const out = new Uint8Array(at + w * h + 2).fill(7);
          k.cutGray(img, W, H, x, y, cw, ch, w, h, out, at);
          return out;
        };
        const got = run(n);
        assert.deepEqual(got, run(ref), `${img.constructor.name} ${[x, y, cw, ch, w, h]}`);
        assert.deepEqual([got[0], got[1], got[2], got[at + w * h], got[at + w * h + 1]], [7, 7, 7, 7, 7], 'only out[at, at + w × h) is written');
      }
    // A whole large frame: rows split across threads, the same bytes.
    const big = Uint8Array.from({ length: 1280 * 720 }, () => Math.floor(r() * 256));
    const whole = (k: Kernels) => {
      const out = new Uint8Array(640 * 360);
      k.cutGray(big, 1280, 720, 0, 0, 1280, 720, 640, 360, out, 0);
      return out;
    };
    assert.deepEqual(whole(n), whole(ref));
    const out = new Uint8Array(16);
    sameError((k) => k.cutGray(new Uint8Array(8), 1, 8, 0, 0, 1, 8, 2, 2, out, 0), n, RangeError, 'an image one pixel wide');
    sameError((k) => k.cutGray(bytes, W, H, 0, 0, 10, 10, 4, 4, out, 1), n, RangeError, 'out too short for at + w × h');
    sameError((k) => k.cutGray(bytes, W, H, NaN, 0, 10, 10, 2, 2, out, 0), n, RangeError, 'a corner not finite');
    sameError((k) => k.cutGray(bytes, W, H, 0, 0, 10, 10, 2, 2, new Float32Array(16) as unknown as Uint8Array, 0), n, TypeError, 'out not bytes');
  });
  differential('resizeArea: byte and float images, regions, down- and upscales, kept subsets, edges', (n) => {
    const r = rng(15);
    // The box filter as engine/image.ts builds it: per destination pixel its first source pixel and tap weights.
    const cover = (src: number, dst: number) => {
      const scale = src / dst;
      const taps = scale < 1 ? 2 : Math.ceil(scale) + 1;
      const start = new Int32Array(dst);
      const weights = new Float32Array(dst * taps);
      for (let d = 0; d < dst; d++) {
        const a = scale < 1 ? Math.max(0, Math.min(src - 1, (d + 0.5) * scale - 0.5)) : d * scale;
        const b = scale < 1 ? a + 1 : (d + 1) * scale;
        start[d] = Math.min(src - 1, Math.floor(a));
        for (let k = 0; k < taps && start[d] + k < src; k++) {
          weights[d * taps + k] = Math.max(0, Math.min(b, start[d] + k + 1) - Math.max(a, start[d] + k)) / scale;
        }
      }
      return { start, weights, taps };
    };
    const [W, H] = [123, 71];
    const bytes = Uint8Array.from({ length: W * H }, () => Math.floor(r() * 256));
    const floats = Float32Array.from(bytes, (v) => v + r());
    for (const [x0, y0, sw, sh] of [
      [0, 0, W, H],
      [7, 3, 100, 60],
      [W - 9, H - 5, 9, 5],
    ])
      for (const [dw, dh] of [
        [sw, sh],
        [Math.max(1, Math.round(sw / 3)), Math.max(1, Math.round(sh / 3))],
        [Math.round(sw * 0.37) || 1, Math.round(sh * 0.71) || 1],
        [sw * 2 + 1, sh + 3],
        [1, 1],
      ])
        for (const step of [1, 2, 5]) {
          const cx = cover(sw, dw);
          const cy = cover(sh, dh);
          for (const img of [bytes, floats]) {
            const run = (k: Kernels) => k.resizeArea(img, W, H, x0, y0, sw, sh, cx.start, cx.weights, cx.taps, cy.start, cy.weights, cy.taps, dw, dh, step);
            assert.deepEqual(run(n), run(ref), `${img.constructor.name} ${sw}x${sh} at ${x0},${y0} to ${dw}x${dh}, step ${step}`);
          }
        }
    const c = cover(4, 2);
    const img = new Uint8Array(12);
    sameError((k) => k.resizeArea(img, 4, 3, 1, 0, 4, 3, c.start, c.weights, c.taps, c.start, c.weights, c.taps, 2, 2, 1), n, RangeError, 'a region past the image');
    sameError((k) => k.resizeArea(img, 4, 3, 0, 0, 4, 3, c.start, c.weights, c.taps, c.start, c.weights, c.taps, 3, 2, 1), n, RangeError, 'startX shorter than dw');
    sameError((k) => k.resizeArea(img, 4, 3, 0, 0, 4, 3, Int32Array.of(0, 4), c.weights, c.taps, c.start, c.weights, c.taps, 2, 2, 1), n, RangeError, 'startX outside the region');
    sameError((k) => k.resizeArea(new Float64Array(12) as unknown as Float32Array, 4, 3, 0, 0, 4, 3, c.start, c.weights, c.taps, c.start, c.weights, c.taps, 2, 2, 1), n, TypeError, 'a Float64Array image');
  });
  differential('fft2d and spectrumCorrelate: forward and inverse, all or some rows, square and not, the same bits', (n) => {
    const r = rng(16);
    const twiddles = (len: number) => {
      const cos = Float64Array.from({ length: len >> 1 }, (_, i) => Math.cos((2 * Math.PI * i) / len));
      const sin = Float64Array.from({ length: len >> 1 }, (_, i) => Math.sin((2 * Math.PI * i) / len));
      return { cos, sin };
    };
    for (const [w, h] of [
      [1, 1],
      [2, 8],
      [16, 16],
      [128, 64],
      [8, 2],
      [32, 1],
    ])
      // Counts in whole batches of four transforms, with some left over, and alone.
      for (const count of new Set([h, Math.max(1, h >> 1), h - 1, 0]))
        for (const inverse of [false, true]) {
          const re = Float64Array.from({ length: w * h }, () => r() * 255);
          const im = Float64Array.from({ length: w * h }, () => (r() < 0.5 ? 0 : r() * 255));
          const [tw, th] = [twiddles(w), twiddles(h)];
          const run = (k: Kernels) => {
            const [a, b] = [re.slice(), im.slice()];
            k.fft2d(a, b, w, h, count, inverse, tw.cos, tw.sin, th.cos, th.sin);
            return [a, b];
          };
          const got = run(n);
          assert.deepEqual(got, run(ref), `${w}x${h}, ${count} rows, ${inverse ? 'inverse' : 'forward'}`);
          if (count === h && !inverse && w * h > 1) assert.notDeepEqual(got[0], re, 'the transform is done in place');
        }
    const a = Float64Array.from({ length: 64 }, () => r() - 0.5);
    const b = Float64Array.from({ length: 64 }, () => r() - 0.5);
    const spectrum = (k: Kernels, into?: 'inputs') => {
      const [i1, i2] = [a.slice(), b.slice()];
      const out = into ? [i1, i2] : [new Float64Array(64), new Float64Array(64)];
      k.spectrumCorrelate(i1, i2, b, a, out[0], out[1]);
      return out;
    };
    const s = spectrum(n);
    assert.deepEqual(s, spectrum(ref));
    assert.ok(s[0].some((v) => v !== 0) && s[1].some((v) => v !== 0), 'written into the outputs');
    // Written over its own inputs (the outputs may be them): the same values.
    assert.deepEqual(spectrum(n, 'inputs'), s);
    assert.deepEqual(spectrum(ref, 'inputs'), s);
    const t = twiddles(8);
    sameError((k) => k.fft2d(new Float64Array(24), new Float64Array(24), 8, 3, 3, false, t.cos, t.sin, t.cos, t.sin), n, RangeError, 'a height not a power of two');
    sameError((k) => k.fft2d(new Float64Array(64), new Float64Array(64), 8, 8, 9, false, t.cos, t.sin, t.cos, t.sin), n, RangeError, 'more rows than the height');
    sameError((k) => k.fft2d(new Float64Array(32), new Float64Array(64), 8, 8, 8, false, t.cos, t.sin, t.cos, t.sin), n, RangeError, 're shorter than w × h');
    sameError((k) => k.fft2d(new Float64Array(64), new Float64Array(64), 8, 8, 8, false, t.cos.subarray(1), t.sin, t.cos, t.sin), n, RangeError, 'too few twiddles');
    sameError((k) => k.fft2d(new Float32Array(64) as unknown as Float64Array, new Float64Array(64), 8, 8, 8, false, t.cos, t.sin, t.cos, t.sin), n, TypeError, 'a Float32Array');
    sameError((k) => k.spectrumCorrelate(a, b, a.subarray(1), b, a.slice(), b.slice()), n, RangeError, 'spectra of different lengths');
    sameError((k) => k.spectrumCorrelate(a, b, b, a, new Float64Array(63), b.slice()), n, RangeError, 'an output shorter than the spectra');
  });
});

// =============================================================================================

describe('TypeScript twins: hand-computed values', () => {
  test('shiftCosts: the mean squared difference at each shift, as the motion check first summed it', () => {
    // The motion check's cost before it became a kernel: one running sum, pixel by pixel.
    const msd = (a: Float32Array, b: Float32Array, w: number, h: number, dx: number, dy: number, off: number, mask?: Uint8Array, both = false) => {
      let s = 0;
      let n = 0;
      for (let y = Math.max(0, -dy); y < Math.min(h, h - dy); y++)
        for (let x = Math.max(0, -dx); x < Math.min(w, w - dx); x++) {
          const k = mask ? (1 - mask[y * w + x]) * (both ? 1 - mask[(y + dy) * w + x + dx] : 1) : 1;
          const d = a[y * w + x] - b[(y + dy) * w + x + dx] + off;
          s += k * d * d;
          n += k;
        }
      return n >= 16 ? s / n : Infinity;
    };
    const r = rng(13);
    const [w, h] = [23, 13];
    const a = Float32Array.from({ length: w * h }, () => r() * 255);
    // b is a moved by (2, -1) plus a little noise: the cost is least there.
    const b = Float32Array.from({ length: w * h }, (_, i) => a[Math.min(w * h - 1, Math.max(0, i - 2 + w))] + r());
    const mask = Uint8Array.from({ length: w * h }, () => (r() < 0.3 ? 1 : 0));
    for (const m of [undefined, mask])
      for (const both of [false, true]) {
        const got = ref.shiftCosts(a, b, w, h, 1, -1, 3, 0.5, m, both);
        for (let q = 0; q < 49; q++) {
          const want = msd(a, b, w, h, 1 + (q % 7) - 3, -1 + Math.floor(q / 7) - 3, 0.5, m, both);
          assert.ok(want === Infinity ? got[q] === Infinity : Math.abs(got[q] - want) <= 1e-9 * want, `shift ${q}: ${got[q]} vs ${want}`);
        }
      }
    // Fewer than 16 pixels in common: no cost.
    assert.equal(ref.shiftCosts(a, b, w, h, 22, 0, 0, 0)[0], Infinity);
  });

  test('batchDot: full and banded', () => {
    const a = Float32Array.of(1, 0, /**/ 0, 1);
    const b = Float32Array.of(1, 0, /**/ 0.6, 0.8, /**/ 0, -1);
    assert.deepEqual(Array.from(ref.batchDot(a, 2, b, 3, 2)), [1, Math.fround(0.6), 0, 0, Math.fround(0.8), -1]);
    const banded = ref.batchDot(a, 2, b, 3, 2, { aIndex: Int32Array.of(1, 0), bStart: Int32Array.of(1, 2), bCount: Int32Array.of(2, 1) });
    assert.deepEqual(Array.from(banded), [Math.fround(0.8), -1, 0]);
  });

  test('hamming64: popcounts of known words', () => {
    const a = new BigUint64Array([0n, 0xffn]);
    const b = new BigUint64Array([0xffffffffffffffffn, 0x0fn, 1n << 63n]);
    const d = ref.hamming64(a, 2, b, 3, 1);
    assert.ok(d instanceof Uint16Array);
    assert.deepEqual(Array.from(d), [64, 4, 1, 56, 4, 9]);
    assert.ok(ref.hamming64(new BigUint64Array(1100), 1, new BigUint64Array(1100), 1, 1100) instanceof Uint32Array);
  });

  test('bandedPath: follows a cheap diagonal and keeps the rate through a flat stretch', () => {
    const rows = 6,
      stride = 6;
    const lo = new Int32Array(rows);
    const width = new Int32Array(rows).fill(stride);
    const cost = new Float32Array(rows * stride).fill(1);
    for (let r = 0; r < rows; r++) cost[r * stride + r] = 0;
    assert.deepEqual(Array.from(ref.bandedPath(cost, rows, lo, width, stride, 1, 2, 0.1)), [0, 1, 2, 3, 4, 5]);
    // Every cell equal: the rate prior alone decides, so steps of 1 from the cheapest start.
    const flat = new Float32Array(rows * stride).fill(1);
    assert.deepEqual(Array.from(ref.bandedPath(flat, rows, lo, width, stride, 1, 2, 0.1)), [0, 1, 2, 3, 4, 5]);
  });

  /** |x_i − y_j| over a band, as DTW costs. */
  function absCost(x: number[], y: number[], band: ref.Band): Float32Array {
    const cost = new Float32Array(x.length * band.stride).fill(Infinity);
    for (let i = 0; i < x.length; i++) for (let c = 0; c < band.width[i]; c++) cost[i * band.stride + c] = Math.abs(x[i] - y[band.lo[i] + c]);
    return cost;
  }
  const full = (rows: number, cols: number): ref.Band => ({ lo: new Int32Array(rows), width: new Int32Array(rows).fill(cols), stride: cols });
  const signal = Array.from({ length: 80 }, (_, i) => Math.sin(i * 0.37) * 10 + ((i * 7919) % 13));

  test('dtwBand: identical sequences follow the diagonal at zero cost', () => {
    const x = signal.slice(0, 30);
    const band = diagonalBand(30, 30, 4);
    const res = ref.dtwBand(absCost(x, x, band), 30, band.lo, band.width, band.stride);
    assert.deepEqual(
      Array.from(res.path),
      Array.from({ length: 30 }, (_, i) => i),
    );
    assert.equal(res.cost, 0);
    assert.equal(res.start, 0);
    assert.equal(res.end, 29);
    assert.deepEqual(res.jumps, []);
  });

  test('dtwBand: subsequence DTW finds an embedded segment', () => {
    const x = signal.slice(30, 50);
    const band = full(x.length, signal.length);
    const res = ref.dtwBand(absCost(x, signal, band), x.length, band.lo, band.width, band.stride, { openBegin: true, openEnd: true });
    assert.equal(res.start, 30);
    assert.equal(res.end, 49);
    assert.equal(res.cost, 0);
    assert.deepEqual(
      Array.from(res.path),
      Array.from({ length: 20 }, (_, i) => 30 + i),
    );
    // Closed ends must start at column 0 and end at the last column instead.
    const closed = ref.dtwBand(absCost(x, signal, band), x.length, band.lo, band.width, band.stride);
    assert.equal(closed.start, 0);
    assert.equal(closed.end, signal.length - 1);
    assert.ok(closed.cost > 0);
  });

  test('dtwBand: a cut in bg is reported as one jump', () => {
    const x = [...signal.slice(0, 20), ...signal.slice(45, 65)];
    const band = full(x.length, signal.length);
    const cost = absCost(x, signal, band);
    const res = ref.dtwBand(cost, x.length, band.lo, band.width, band.stride, { openEnd: true, jumpPenalty: 0.5 });
    assert.deepEqual(res.jumps, [{ row: 20, from: 19, to: 45 }]);
    assert.equal(res.cost, 0.5);
    assert.equal(res.start, 0);
    assert.equal(res.end, 64);
    // Without cuts the path must crawl through the skipped frames and costs more.
    assert.ok(ref.dtwBand(cost, x.length, band.lo, band.width, band.stride, { openEnd: true }).cost > 1);
  });

  test('nccGrid: 1 for a gain-and-offset copy, −1 for a negative, 0 on a flat window, at the right grid cells', () => {
    const W = 20,
      H = 12;
    const img = new Float32Array(W * H).fill(7);
    // A 6×4 patch at (9, 5), seen with step 1; elsewhere flat.
    const patch = Float32Array.from({ length: 24 }, (_, i) => (i * 37) % 11);
    for (let r = 0; r < 4; r++) for (let c = 0; c < 6; c++) img[(5 + r) * W + 9 + c] = 3 * patch[r * 6 + c] + 20;
    const mean = patch.reduce((a, v) => a + v, 0) / 24;
    const tpl = Float32Array.from(patch, (v) => v - mean);
    const norm = Math.sqrt(tpl.reduce((a, v) => a + v * v, 0));
    const g = ref.nccGrid(img, W, H, tpl, 6, 4, 1, norm, 8, 4, 3, 3);
    assert.ok(Math.abs(g[4] - 1) < 1e-12, `centre cell (9, 5): ${g[4]}`);
    for (let q = 0; q < 9; q++) if (q !== 4) assert.ok(g[q] < 0.99, `cell ${q}: ${g[q]}`);
    const neg = ref.nccGrid(
      img,
      W,
      H,
      Float32Array.from(tpl, (v) => -v),
      6,
      4,
      1,
      norm,
      9,
      5,
      1,
      1,
    );
    assert.ok(Math.abs(neg[0] + 1) < 1e-12);
    assert.deepEqual(Array.from(ref.nccGrid(img, W, H, tpl, 6, 4, 1, norm, 0, 0, 2, 1)), [0, 0], 'flat window');
  });

  test('savitzkyGolay: polynomials up to the order pass through unchanged, edges included', () => {
    const quad = Float64Array.from({ length: 40 }, (_, i) => 0.5 * i * i - 3 * i + 7);
    const sq = ref.savitzkyGolay(quad, 7, 2);
    for (let i = 0; i < quad.length; i++)
      assert.ok(Math.abs(sq[i] - quad[i]) < 1e-9 * Math.max(1, Math.abs(quad[i])), `quadratic at ${i}: ${sq[i]} vs ${quad[i]}`);
    const cubic = Float64Array.from({ length: 25 }, (_, i) => 0.01 * i ** 3 - i);
    const sc = ref.savitzkyGolay(cubic, 31, 3); // shorter than the window: one fit over everything
    for (let i = 0; i < cubic.length; i++) assert.ok(Math.abs(sc[i] - cubic[i]) < 1e-9 * Math.max(1, Math.abs(cubic[i])), `cubic at ${i}`);
    const line = Float64Array.from({ length: 10 }, (_, i) => 2 * i + 1);
    assert.ok(ref.savitzkyGolay(line, 5, 1).every((v, i) => Math.abs(v - line[i]) < 1e-12));
  });

  test('savitzkyGolay: a slow sine is nearly unchanged, noise is reduced', () => {
    const n = 2000;
    const sine = Float64Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * i) / 400));
    const s = ref.savitzkyGolay(sine, 11, 2);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(s[i] - sine[i]));
    assert.ok(worst < 1e-3, `max deviation ${worst}`);
    const r = rng(11);
    const noisy = Float64Array.from(sine, (v) => v + (r() - 0.5) * 0.2);
    const smooth = ref.savitzkyGolay(noisy, 31, 2);
    let before = 0,
      after = 0;
    for (let i = 0; i < n; i++) {
      before += (noisy[i] - sine[i]) ** 2;
      after += (smooth[i] - sine[i]) ** 2;
    }
    assert.ok(after < before / 3, `noise energy ${before} → ${after}`);
    // Window 1 is the identity.
    assert.deepEqual(ref.savitzkyGolay(noisy, 1, 0), noisy);
  });
});

// =============================================================================================

describe('kernels.ts: loading and fallback', () => {
  test('looks next to itself and under the package root (for the dist/ bundle)', () => {
    const fromDist = addonCandidates(path.join(ROOT, 'dist'));
    assert.ok(fromDist.includes(ADDON), fromDist.join(', '));
    assert.equal(addonCandidates(path.join(ROOT, 'daemon', 'native'))[0], ADDON);
  });

  test('VIDKOMPY_NO_NATIVE=1 serves the twins and warns once, through the logger hook', () => {
    const script = `
      const k = require('./daemon/native/kernels');
      const lines = [];
      k.setKernelLogger((line) => lines.push(line));
      const a = k.savitzkyGolay(Float64Array.of(1, 2, 3, 4, 5), 3, 1);
      k.hamming64(new BigUint64Array([1n]), 1, new BigUint64Array([3n]), 1, 1);
      k.setKernelLogger(null);
      process.stdout.write(JSON.stringify({ backend: k.kernelsBackend(), lines, first: a[0] }));
      k.batchDot(new Float32Array(2), 1, new Float32Array(2), 1, 2); // no second warning on stderr
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, VIDKOMPY_NO_NATIVE: '1' },
    });
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { backend: string; lines: string[]; first: number };
    assert.equal(out.backend, 'typescript');
    assert.equal(out.lines.length, 1, out.lines.join(''));
    assert.match(out.lines[0], /^vidkompy: native kernels unavailable \(disabled by VIDKOMPY_NO_NATIVE=1\).*\n$/);
    assert.ok(Math.abs(out.first - 1) < 1e-12);
    assert.doesNotMatch(res.stderr, /native kernels unavailable/);
  });

  test('without a logger hook the warning goes to stderr, once', () => {
    const script = `
      const k = require('./daemon/native/kernels');
      k.bandedPath(new Float32Array(1), 1, new Int32Array(1), Int32Array.of(1), 1, 1, 1, 0);
      k.bandedPath(new Float32Array(1), 1, new Int32Array(1), Int32Array.of(1), 1, 1, 1, 0);
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, VIDKOMPY_NO_NATIVE: '1' },
    });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stderr.match(/native kernels unavailable/g)?.length, 1, res.stderr);
  });
});
