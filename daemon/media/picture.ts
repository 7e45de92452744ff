/**
 * A video's picture as vidkompy sees it: upright (ffmpeg's decoder output is auto-rotated) and
 * with square pixels. Anamorphic video (DVDs, DV, HDV's 1440×1080) stores pixels wider or narrower
 * than tall; every decode stretches it to its shown width first (squarePixels), so a DVD bg and a
 * square-pixel HD fg are compared, placed and rendered as they look. Pure: probe.ts and the
 * decoder (ffmpeg.ts) both read a stream's entries through it.
 */

/** The stream entries of ffprobe's JSON that say how the picture is shown. */
export interface StreamShape {
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  tags?: Record<string, string>;
  side_data_list?: { rotation?: number }[];
}

export interface Shown {
  /** Upright, square-pixel size: what every decode delivers. */
  width: number;
  height: number;
  /** The stored pixels' width over their height as shown, upright (1: square; 4:3 in HDV's 1440×1080). */
  sar: number;
  /** Clockwise degrees the decoder turns the stored picture. */
  rotation: number;
}

/** Pixel shapes within this fraction of square are taken as square (1:1 written as 0.999 by some muxers). */
const SQUARE_WITHIN = 0.01;

/** ffprobe's "4:3" as 4/3; absent, unknown ("0:1", "N/A") or absurd: square. */
function ratio(s: string | undefined): number {
  const [n, d] = (s ?? '').split(':').map(Number);
  const r = n / d;
  return r > 0.1 && r < 10 ? r : 1;
}

/** How a video stream is shown; a still image (`image`) as stored, upright. */
export function shownOf(v: StreamShape, image = false): Shown {
  const tagRot = Number(v.tags?.rotate ?? 0) || 0;
  const sideRot = v.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation ?? 0;
  const rotation = (((Math.round(tagRot || -sideRot) % 360) + 360) % 360) as number;
  const swap = rotation === 90 || rotation === 270;
  const w = (swap ? v.height : v.width) ?? 0;
  const h = (swap ? v.width : v.height) ?? 0;
  // Rotated a quarter turn, a pixel's shown shape turns with it.
  const sar = image ? 1 : swap ? 1 / ratio(v.sample_aspect_ratio) : ratio(v.sample_aspect_ratio);
  if (Math.abs(Math.log(sar)) <= SQUARE_WITHIN) return { width: w, height: h, sar: 1, rotation };
  // Stretched (or narrowed) across, as players show it: the height, and so the lines, stay; even,
  // so the 4:2:0 render needs no padding for it.
  return { width: Math.max(2, 2 * Math.round((w * sar) / 2)), height: h, sar, rotation };
}

/** The filter that makes a decoded picture's pixels square (first in a decode's chain), if they are not. */
export function squarePixels(s: Shown): string | undefined {
  return s.sar === 1 ? undefined : `scale=${s.width}:${s.height}:flags=bicubic,setsar=1`;
}
