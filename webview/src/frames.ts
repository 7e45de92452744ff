/**
 * The frame view: fg over its mapped bg frame, drawn on one canvas at the images' own pixels.
 *
 * - composite: the daemon's composite, exactly what a render would put out;
 * - side: fg (scaled to bg's height) beside bg;
 * - onion: fg over bg at the chosen opacity, to see edges line up;
 * - difference: |bg − fg| inside the box: black where the alignment is right, the moving edges
 *   light up where it is a frame or a pixel off.
 *
 * The box (where fg's content lands on bg) is outlined on bg in every mode.
 */
import type { FrameResult } from '../../protocol/lsp';
import type { Mode } from './state';
import type { Palette } from './theme';

export interface Pictures {
  frame: FrameResult;
  fg: HTMLImageElement;
  bg: HTMLImageElement;
  composite: HTMLImageElement;
}

/** Gap between the two pictures in side-by-side mode, in image pixels. */
export const SIDE_GAP = 8;

async function image(src: string): Promise<HTMLImageElement> {
  const img = new Image();
  img.src = src;
  await img.decode();
  return img;
}

export async function loadPictures(frame: FrameResult): Promise<Pictures> {
  const [fg, bg, composite] = await Promise.all([image(frame.fg), image(frame.bg), image(frame.composite)]);
  return { frame, fg, bg, composite };
}

export interface Layout {
  width: number;
  height: number;
  /** Where bg goes on the canvas (fg's box is relative to it). */
  bgX: number;
  /** fg's picture in side-by-side mode. */
  side?: { width: number; height: number };
}

export function layout(mode: Mode, bg: { width: number; height: number }, fg: { width: number; height: number }): Layout {
  if (mode !== 'side') return { width: bg.width, height: bg.height, bgX: 0 };
  const h = bg.height;
  const w = fg.height > 0 ? Math.round((fg.width * h) / fg.height) : 0;
  return { width: w + SIDE_GAP + bg.width, height: h, bgX: w + SIDE_GAP, side: { width: w, height: h } };
}

/** Draws `p` in `mode`; sizes the canvas to the pictures (CSS scales it down where the panel is narrow). */
export function drawFrame(canvas: HTMLCanvasElement, p: Pictures, mode: Mode, opacity: number, colours: Palette): void {
  const bgSize = { width: p.bg.naturalWidth, height: p.bg.naturalHeight };
  const L = layout(mode, bgSize, { width: p.fg.naturalWidth, height: p.fg.naturalHeight });
  if (canvas.width !== L.width) canvas.width = L.width;
  if (canvas.height !== L.height) canvas.height = L.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.save();
  ctx.globalCompositeOperation = 'source-over';
  ctx.globalAlpha = 1;
  ctx.clearRect(0, 0, L.width, L.height);
  const b = p.frame.box;
  switch (mode) {
    case 'composite':
      ctx.drawImage(p.composite, 0, 0, bgSize.width, bgSize.height);
      break;
    case 'side':
      if (L.side) ctx.drawImage(p.fg, 0, 0, L.side.width, L.side.height);
      ctx.drawImage(p.bg, L.bgX, 0);
      break;
    case 'onion':
      ctx.drawImage(p.bg, 0, 0);
      ctx.globalAlpha = opacity;
      ctx.drawImage(p.fg, b.x, b.y, b.width, b.height);
      break;
    case 'difference':
      ctx.drawImage(p.bg, 0, 0);
      ctx.globalCompositeOperation = 'difference';
      ctx.drawImage(p.fg, b.x, b.y, b.width, b.height);
      break;
  }
  ctx.restore();
  drawBox(ctx, { ...b, x: b.x + L.bgX }, colours.box);
}

/** A dashed outline just outside the box, so the pixels inside stay the picture's own. */
function drawBox(ctx: CanvasRenderingContext2D, b: FrameResult['box'], colour: string): void {
  ctx.save();
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1;
  ctx.setLineDash([4, 3]);
  ctx.strokeRect(Math.round(b.x) - 0.5, Math.round(b.y) - 0.5, Math.round(b.width) + 1, Math.round(b.height) + 1);
  ctx.restore();
}
