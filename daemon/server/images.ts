import { deflateSync } from 'node:zlib';
import { encode as encodeJpegRgba } from 'jpeg-js';

/** Small RGB images for previews: resample, paste, and encode as data: URLs. */
export interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Bilinear resample (previews are small: only output pixels cost anything). */
export function resizeRgb(src: Rgb, width: number, height: number): Rgb {
  if (src.width === width && src.height === height) return src;
  const out = new Uint8Array(width * height * 3);
  const sx = src.width / width;
  const sy = src.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.max(0, Math.min(src.height - 1, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(src.height - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.max(0, Math.min(src.width - 1, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(src.width - 1, x0 + 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const a = src.data[(y0 * src.width + x0) * 3 + c] * (1 - wx) + src.data[(y0 * src.width + x1) * 3 + c] * wx;
        const b = src.data[(y1 * src.width + x0) * 3 + c] * (1 - wx) + src.data[(y1 * src.width + x1) * 3 + c] * wx;
        out[(y * width + x) * 3 + c] = Math.round(a * (1 - wy) + b * wy);
      }
    }
  }
  return { data: out, width, height };
}

/** `top` drawn over a copy of `base` with its corner at (x, y), clipped to `base`. */
export function pasteRgb(base: Rgb, top: Rgb, x: number, y: number): Rgb {
  const out = new Uint8Array(base.data);
  const x0 = Math.max(0, x);
  const x1 = Math.min(base.width, x + top.width);
  for (let r = Math.max(0, y); r < Math.min(base.height, y + top.height); r++) {
    if (x1 <= x0) break;
    const src = ((r - y) * top.width + (x0 - x)) * 3;
    out.set(top.data.subarray(src, src + (x1 - x0) * 3), (r * base.width + x0) * 3);
  }
  return { data: out, width: base.width, height: base.height };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** An 8-bit RGB PNG: filter 0 on every row, zlib from Node. */
export function encodePng(img: Rgb): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(img.width, 0);
  ihdr.writeUInt32BE(img.height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const stride = img.width * 3;
  const raw = Buffer.alloc((stride + 1) * img.height);
  for (let y = 0; y < img.height; y++) raw.set(img.data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

export function encodeJpeg(img: Rgb, quality = 82): Buffer {
  const rgba = new Uint8Array(img.width * img.height * 4);
  for (let i = 0, j = 0; i < img.data.length; i += 3, j += 4) {
    rgba[j] = img.data[i];
    rgba[j + 1] = img.data[i + 1];
    rgba[j + 2] = img.data[i + 2];
    rgba[j + 3] = 255;
  }
  return encodeJpegRgba({ data: rgba, width: img.width, height: img.height }, quality).data;
}

export function dataUrl(img: Rgb, format: 'jpeg' | 'png'): string {
  const bytes = format === 'png' ? encodePng(img) : encodeJpeg(img);
  return `data:image/${format};base64,${bytes.toString('base64')}`;
}
