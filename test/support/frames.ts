import { encode } from 'fast-png';
import { readFrames } from '../../daemon/media/ffmpeg';
import type { AlignmentView, FrameResult } from '../../protocol/lsp';
import { trackAt } from '../../protocol/placement';

/** An RGB picture, 3 bytes a pixel, rows top to bottom. */
export interface Rgb {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A FrameResult, and the pixels behind its data: URLs so tests can check what the page draws. */
export interface PreviewFrame {
  result: FrameResult;
  fg: Rgb;
  bg: Rgb;
  composite: Rgb;
}

/**
 * What the daemon's `vidkompy/frame` answers, made the plain way: fg frame `fgFrame` (its content,
 * scaled to where it lands) and its mapped bg frame, decoded exactly by index from the start (no
 * seek, so no doubt which frame it is), at a preview `width` no wider than bg; the composite is fg
 * pasted over bg in the box. Everything is rounded to whole pixels, so a page that draws the
 * pictures 1:1 reproduces these bytes exactly.
 */
export async function previewFrame(view: AlignmentView, files: { bg: string; fg: string }, fgFrame: number, width: number): Promise<PreviewFrame> {
  const bgFrame = view.bgFrameForFg[fgFrame];
  if (bgFrame === undefined) throw new Error(`fg frame ${fgFrame} is outside the map (${view.bgFrameForFg.length} frames)`);
  const W = Math.max(16, Math.min(Math.round(width), view.bg.width));
  const k = W / view.bg.width;
  const H = Math.round(view.bg.height * k);
  const c = view.fg.contentRect;
  // A tracked window is where its keyframes put it at this frame.
  const sp = view.spatial.placement === 'tracked' && view.spatial.track ? trackAt(view.spatial.track, fgFrame) : view.spatial;
  const s = sp.scale;
  const box = {
    x: Math.round((sp.x + c.x * s) * k),
    y: Math.round((sp.y + c.y * s) * k),
    width: Math.max(1, Math.round(c.width * s * k)),
    height: Math.max(1, Math.round(c.height * s * k)),
  };
  const [fg, bg] = await Promise.all([
    frameAt(files.fg, fgFrame, `crop=${c.width}:${c.height}:${c.x}:${c.y},scale=${box.width}:${box.height}:flags=area`, box.width, box.height),
    frameAt(files.bg, bgFrame, `scale=${W}:${H}:flags=area`, W, H),
  ]);
  const composite = paste(bg, fg, box.x, box.y);
  return {
    result: { fgFrame, bgFrame, fg: dataUrl(fg), bg: dataUrl(bg), composite: dataUrl(composite), box },
    fg,
    bg,
    composite,
  };
}

/** Frame `index` (decode order, as the alignment counts) of `file`, through `filter`. */
async function frameAt(file: string, index: number, filter: string, width: number, height: number): Promise<Rgb> {
  for await (const f of readFrames({ file, filter: `select=eq(n\\,${index}),${filter}`, pixFmt: 'rgb24', width, height, maxFrames: 1, what: `reading frame ${index}` })) {
    return { width, height, data: new Uint8Array(f) };
  }
  throw new Error(`${file}: no frame ${index}`);
}

export function paste(under: Rgb, over: Rgb, x: number, y: number): Rgb {
  const out = new Uint8Array(under.data);
  for (let r = 0; r < over.height; r++) {
    const ty = y + r;
    if (ty < 0 || ty >= under.height) continue;
    for (let q = 0; q < over.width; q++) {
      const tx = x + q;
      if (tx < 0 || tx >= under.width) continue;
      const o = (r * over.width + q) * 3;
      out.set(over.data.subarray(o, o + 3), (ty * under.width + tx) * 3);
    }
  }
  return { width: under.width, height: under.height, data: out };
}

export function pixel(img: { width: number; data: ArrayLike<number> }, x: number, y: number, channels = 3): [number, number, number] {
  const o = (y * img.width + x) * channels;
  return [img.data[o], img.data[o + 1], img.data[o + 2]];
}

export function dataUrl(img: Rgb): string {
  const png = encode({ width: img.width, height: img.height, data: img.data, channels: 3, depth: 8 });
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}
