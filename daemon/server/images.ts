import { encodeJpeg } from './jpeg';

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

export function dataUrl(img: Rgb): string {
  // Previews are JPEG only: photographic frames at a fraction of PNG's size.
  const j = encodeJpeg(img.data, img.width, img.height);
  return `data:image/jpeg;base64,${Buffer.from(j.buffer, j.byteOffset, j.byteLength).toString('base64')}`;
}
