/**
 * A baseline JPEG encoder for preview pictures (RGB in, 4:2:0, standard Huffman tables). jpeg-js
 * took 40–90 ms for a 320×180 picture (4:4:4, a plain array of output bytes), three pictures a
 * scrub step: over the preview's 100 ms a step. This one works in typed arrays and subsamples
 * chroma as every camera does: a few milliseconds a picture.
 */

// Natural (row-major) index → position in zig-zag order.
const ZIGZAG = [
  0, 1, 5, 6, 14, 15, 27, 28, 2, 4, 7, 13, 16, 26, 29, 42, 3, 8, 12, 17, 25, 30, 41, 43, 9, 11, 18, 24, 31, 40, 44, 53, 10, 19, 23, 32, 39, 45, 52, 54, 20, 22,
  33, 38, 46, 51, 55, 60, 21, 34, 37, 47, 50, 56, 59, 61, 35, 36, 48, 49, 57, 58, 62, 63,
];
const Y_QT = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109,
  103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const C_QT = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
  ...new Array<number>(32).fill(99),
];
const AASF = [1.0, 1.387039845, 1.306562965, 1.175875602, 1.0, 0.785694958, 0.5411961, 0.275899379];

// JPEG Annex K tables: code counts per length 1..16, then the symbols.
const DC_Y = { counts: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] };
const DC_C = { counts: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] };
const AC_Y = {
  counts: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  values: hex(
    '01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728' +
      '292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a83848586878889' +
      '8a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2' +
      'e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa',
  ),
};
const AC_C = {
  counts: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  values: hex(
    '000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a26' +
      '2728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a828384858687' +
      '88898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9da' +
      'e2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa',
  ),
};

function hex(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i += 2) out.push(parseInt(s.slice(i, i + 2), 16));
  return out;
}

interface Huffman {
  code: Uint16Array;
  size: Uint8Array;
}

function huffman(t: { counts: number[]; values: number[] }): Huffman {
  const code = new Uint16Array(256);
  const size = new Uint8Array(256);
  let c = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let j = 0; j < t.counts[len - 1]; j++) {
      code[t.values[k]] = c++;
      size[t.values[k]] = len;
      k++;
    }
    c <<= 1;
  }
  return { code, size };
}

const H = { dcY: huffman(DC_Y), dcC: huffman(DC_C), acY: huffman(AC_Y), acC: huffman(AC_C) };

interface Tables {
  /** Quantisers in zig-zag order, as written in the file. */
  qY: Uint8Array;
  qC: Uint8Array;
  /** AAN scale and quantiser folded together, natural order. */
  fY: Float32Array;
  fC: Float32Array;
}

const tablesByQuality = new Map<number, Tables>();

function tables(quality: number): Tables {
  let t = tablesByQuality.get(quality);
  if (t) return t;
  const q = Math.max(1, Math.min(100, Math.round(quality)));
  const sf = q < 50 ? Math.floor(5000 / q) : Math.floor(200 - q * 2);
  const qY = new Uint8Array(64);
  const qC = new Uint8Array(64);
  for (let i = 0; i < 64; i++) {
    qY[ZIGZAG[i]] = Math.max(1, Math.min(255, Math.floor((Y_QT[i] * sf + 50) / 100)));
    qC[ZIGZAG[i]] = Math.max(1, Math.min(255, Math.floor((C_QT[i] * sf + 50) / 100)));
  }
  const fY = new Float32Array(64);
  const fC = new Float32Array(64);
  for (let r = 0; r < 8; r++) {
    for (let c = 0; c < 8; c++) {
      const k = r * 8 + c;
      fY[k] = 1 / (qY[ZIGZAG[k]] * AASF[r] * AASF[c] * 8);
      fC[k] = 1 / (qC[ZIGZAG[k]] * AASF[r] * AASF[c] * 8);
    }
  }
  t = { qY, qC, fY, fC };
  tablesByQuality.set(quality, t);
  return t;
}

/** The AAN forward DCT of an 8×8 block in place, then quantised into `out` (zig-zag order). */
function fdctQuant(d: Float32Array, f: Float32Array, out: Int32Array): void {
  for (let p = 0; p < 64; p += 8) dct8(d, p, 1);
  for (let p = 0; p < 8; p++) dct8(d, p, 8);
  for (let i = 0; i < 64; i++) out[ZIGZAG[i]] = Math.round(d[i] * f[i]);
}

/** One 8-point AAN DCT in place: eight values from `p`, `s` apart (a row: s = 1; a column: s = 8). */
function dct8(d: Float32Array, p: number, s: number): void {
  const t0 = d[p] + d[p + 7 * s], t7 = d[p] - d[p + 7 * s], t1 = d[p + s] + d[p + 6 * s], t6 = d[p + s] - d[p + 6 * s];
  const t2 = d[p + 2 * s] + d[p + 5 * s], t5 = d[p + 2 * s] - d[p + 5 * s], t3 = d[p + 3 * s] + d[p + 4 * s], t4 = d[p + 3 * s] - d[p + 4 * s];
  const t10 = t0 + t3, t13 = t0 - t3, t11 = t1 + t2, t12 = t1 - t2;
  d[p] = t10 + t11;
  d[p + 4 * s] = t10 - t11;
  const z1 = (t12 + t13) * 0.707106781;
  d[p + 2 * s] = t13 + z1;
  d[p + 6 * s] = t13 - z1;
  const s10 = t4 + t5, s11 = t5 + t6, s12 = t6 + t7;
  const z5 = (s10 - s12) * 0.382683433, z2 = 0.5411961 * s10 + z5, z4 = 1.306562965 * s12 + z5, z3 = s11 * 0.707106781;
  const z11 = t7 + z3, z13 = t7 - z3;
  d[p + 5 * s] = z13 + z2;
  d[p + 3 * s] = z13 - z2;
  d[p + s] = z11 + z4;
  d[p + 7 * s] = z11 - z4;
}

class Writer {
  buf: Uint8Array;
  pos = 0;
  private acc = 0;
  private n = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  ensure(more: number): void {
    if (this.pos + more <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.pos + more));
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }
  bytes(a: ArrayLike<number>): void {
    this.ensure(a.length);
    for (let i = 0; i < a.length; i++) this.buf[this.pos++] = a[i];
  }
  /** `len` bits of `v`, most significant first, with 0xFF stuffed as 0xFF 0x00. */
  bits(v: number, len: number): void {
    this.acc = (this.acc << len) | (v & ((1 << len) - 1));
    this.n += len;
    while (this.n >= 8) {
      const b = (this.acc >>> (this.n - 8)) & 0xff;
      this.buf[this.pos++] = b;
      if (b === 0xff) this.buf[this.pos++] = 0;
      this.n -= 8;
    }
    this.acc &= (1 << this.n) - 1;
  }
  flush(): void {
    if (this.n > 0) this.bits(0x7f, 8 - this.n);
  }
}

function encodeBlock(w: Writer, q: Int32Array, prevDc: number, dc: Huffman, ac: Huffman): number {
  // At most 64 codes of 16+11 bits, doubled by stuffing: 512 bytes is plenty.
  w.ensure(512);
  const diff = q[0] - prevDc;
  const put = (h: Huffman, sym: number) => w.bits(h.code[sym], h.size[sym]);
  const magnitude = (v: number) => {
    const a = v < 0 ? -v : v;
    const cat = a === 0 ? 0 : 32 - Math.clz32(a);
    return { cat, bits: v < 0 ? v + (1 << cat) - 1 : v };
  };
  const d = magnitude(diff);
  put(dc, d.cat);
  if (d.cat) w.bits(d.bits, d.cat);
  let end = 63;
  while (end > 0 && q[end] === 0) end--;
  let run = 0;
  for (let i = 1; i <= end; i++) {
    if (q[i] === 0) {
      run++;
      continue;
    }
    while (run > 15) {
      put(ac, 0xf0);
      run -= 16;
    }
    const m = magnitude(q[i]);
    put(ac, (run << 4) | m.cat);
    w.bits(m.bits, m.cat);
    run = 0;
  }
  if (end < 63) put(ac, 0);
  return q[0];
}

function dht(w: Writer, cls: number, t: { counts: number[]; values: number[] }): void {
  w.bytes([cls, ...t.counts, ...t.values]);
}

/** `rgb` (3 bytes a pixel) as a baseline JPEG. */
export function encodeJpeg(rgb: Uint8Array, width: number, height: number, quality = 82): Uint8Array {
  const t = tables(quality);
  const w = new Writer(Math.max(4096, width * height));
  const u16 = (v: number) => [v >> 8, v & 0xff];
  w.bytes([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  w.bytes([0xff, 0xdb, ...u16(2 + 2 * 65), 0, ...t.qY, 1, ...t.qC]);
  w.bytes([0xff, 0xc0, 0, 17, 8, ...u16(height), ...u16(width), 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  const dhtLen = 2 + [DC_Y, AC_Y, DC_C, AC_C].reduce((s, x) => s + 17 + x.values.length, 0);
  w.bytes([0xff, 0xc4, ...u16(dhtLen)]);
  dht(w, 0x00, DC_Y);
  dht(w, 0x10, AC_Y);
  dht(w, 0x01, DC_C);
  dht(w, 0x11, AC_C);
  w.bytes([0xff, 0xda, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
  const blk = new Float32Array(64);
  const cb = new Float32Array(64);
  const cr = new Float32Array(64);
  const q = new Int32Array(64);
  let dcY = 0;
  let dcB = 0;
  let dcR = 0;
  for (let my = 0; my < height; my += 16) {
    for (let mx = 0; mx < width; mx += 16) {
      cb.fill(0);
      cr.fill(0);
      for (let b = 0; b < 4; b++) {
        const bx = mx + (b & 1) * 8;
        const by = my + (b >> 1) * 8;
        for (let y = 0; y < 8; y++) {
          // Edges repeat the last row and column, as encoders do.
          const row = Math.min(height - 1, by + y) * width;
          for (let x = 0; x < 8; x++) {
            const o = (row + Math.min(width - 1, bx + x)) * 3;
            const r = rgb[o];
            const g = rgb[o + 1];
            const bl = rgb[o + 2];
            blk[y * 8 + x] = 0.299 * r + 0.587 * g + 0.114 * bl - 128;
            const c = (((b >> 1) * 8 + y) >> 1) * 8 + (((b & 1) * 8 + x) >> 1);
            cb[c] += 0.25 * (-0.168736 * r - 0.331264 * g + 0.5 * bl);
            cr[c] += 0.25 * (0.5 * r - 0.418688 * g - 0.081312 * bl);
          }
        }
        fdctQuant(blk, t.fY, q);
        dcY = encodeBlock(w, q, dcY, H.dcY, H.acY);
      }
      fdctQuant(cb, t.fC, q);
      dcB = encodeBlock(w, q, dcB, H.dcC, H.acC);
      fdctQuant(cr, t.fC, q);
      dcR = encodeBlock(w, q, dcR, H.dcC, H.acC);
    }
  }
  w.flush();
  w.bytes([0xff, 0xd9]);
  return w.buf.subarray(0, w.pos);
}
