/**
 * Rectangles and the one formula that places fg in bg. The alignment stores fg's frame corner (bars
 * included, so a user's x/y mean the same thing as the CLI's --x-shift/--y-shift); everything that
 * draws fg needs where its content lands instead. The render and the preview call these, so their
 * boxes cannot drift apart.
 */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A placement of fg in bg: fg's frame corner in bg pixels, and bg pixels per fg pixel. */
export interface Placed {
  x: number;
  y: number;
  scale: number;
}

/** fg's frame corner from where its content sits (both in bg pixels). */
export function frameCorner(contentAt: Placed, content: Rect): { x: number; y: number } {
  return { x: contentAt.x - content.x * contentAt.scale, y: contentAt.y - content.y * contentAt.scale };
}

/** Where fg's content lands from its frame corner (the inverse of frameCorner). */
export function contentCorner(frame: Placed, content: Rect): { x: number; y: number } {
  return { x: frame.x + content.x * frame.scale, y: frame.y + content.y * frame.scale };
}

/**
 * fg's content on a canvas that is bg resampled by (kx, ky): its box in canvas pixels. A scale of
 * exactly 1 keeps the content's own size, so fg is pasted 1:1 with no resampling.
 */
export function pasteBox(frame: Placed, content: Rect, kx: number, ky = kx): Rect {
  const at = contentCorner(frame, content);
  const s = frame.scale;
  return {
    x: Math.round(at.x * kx),
    y: Math.round(at.y * ky),
    width: Math.max(1, Math.abs(s * kx - 1) < 1e-9 ? content.width : Math.round(content.width * s * kx)),
    height: Math.max(1, Math.abs(s * ky - 1) < 1e-9 ? content.height : Math.round(content.height * s * ky)),
  };
}
