import type { Rect } from '../../core/geometry';

/**
 * Letterbox / pillarbox detection: the largest centred-ish rectangle outside of which every sampled
 * frame is black. Bars are not picture, so they are neither matched nor painted over bg.
 */
const BLACK = 24;
const MIN_BAR_FRACTION = 0.02;

export function contentRect(frames: Uint8Array[], width: number, height: number): Rect {
  if (!frames.length) return { x: 0, y: 0, width, height };
  // A line is "bar" when nearly all its pixels are dark in every sampled frame (a few bright pixels
  // from compression noise or subtitles are tolerated).
  const darkRow = (y: number) =>
    frames.every((f) => {
      let bright = 0;
      for (let x = 0; x < width; x++) if (f[y * width + x] > BLACK) bright++;
      return bright <= width * 0.01;
    });
  const darkCol = (x: number) =>
    frames.every((f) => {
      let bright = 0;
      for (let y = 0; y < height; y++) if (f[y * width + x] > BLACK) bright++;
      return bright <= height * 0.01;
    });
  let top = 0;
  while (top < height / 2 && darkRow(top)) top++;
  let bottom = height;
  while (bottom > height / 2 && darkRow(bottom - 1)) bottom--;
  let left = 0;
  while (left < width / 2 && darkCol(left)) left++;
  let right = width;
  while (right > width / 2 && darkCol(right - 1)) right--;
  // Thin dark edges are picture (or encoder padding), not bars; an all-dark video has no bars at all.
  if (top < height * MIN_BAR_FRACTION) top = 0;
  if (height - bottom < height * MIN_BAR_FRACTION) bottom = height;
  if (left < width * MIN_BAR_FRACTION) left = 0;
  if (width - right < width * MIN_BAR_FRACTION) right = width;
  if (bottom - top < height * 0.2 || right - left < width * 0.2) return { x: 0, y: 0, width, height };
  return { x: left, y: top, width: right - left, height: bottom - top };
}
