import { promises as fs } from 'node:fs';
import path from 'node:path';
import { encodeMethod, ffmpegPath, openEncoder } from '../../media/ffmpeg';
import { readFramesFrom } from '../../media/seek';
import { encoderArgs, type EncodeMethod } from '../../media/hwaccel';
import { mkvFrameHead, mkvHead } from '../../media/mkv';
import { note } from '../../core/notes';
import { OUTPUT_TAG, writtenByVidkompy } from '../../media/probe';
import { threadArgs } from '../../media/tools';
import { pasteBox, type Rect } from '../../core/geometry';
import { commitRename, dropTemp, partialPath, sweepPartials } from '../../core/atomic';
import { type AudioChoice, type CanvasMode, type Preset } from '../../../protocol/project';
import { VidkompyError, throwIfAborted } from '../../core/errors';
import { probe, type ProbeInfo } from '../../media/probe';
import { placedAt, type Alignment } from '../result';

/**
 * Renders fg over bg as an alignment says: both videos are read once, in order; every fg frame is
 * pasted over its mapped bg frame and piped to one encoder that also muxes the audio.
 */

export interface ComposeOptions {
  output: string;
  /** 'fg' (default): fg keeps its own pixels and bg is scaled up around it; 'bg': bg's size. */
  canvas?: CanvasMode;
  /** Feather fg's edges into bg over `margin` pixels. */
  smooth?: boolean;
  margin?: number;
  crf?: number;
  preset?: Preset;
  audio?: AudioChoice;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
  /** Claims the output just before it is renamed into place (see CommitOptions). */
  commit?: () => boolean;
  /** Render what decodes even when fg ends before the frames its container promises. */
  force?: boolean;
  /** Replace an existing output that vidkompy did not write (the CLI's -y). */
  overwrite?: boolean;
  /** What the refusal to replace a foreign file tells the user to do (default: the CLI's -y). */
  overwriteFix?: string;
  /**
   * Render only fg frames [from, to) of the alignment: one chunk of a render split across workers
   * (render/chunks.ts joins them). A chunk is picture only (the join adds the sound once), starts
   * with its own keyframe, is always x264 (so chunks from any machine join without re-encoding), and
   * reads both inputs from the frames it needs on (a seek where the files allow one).
   */
  frames?: FrameRange;
}

/** How long a whole render runs: a variable-rate fg's own duration, else its frames at its rate. */
export function renderLength(al: Alignment): number {
  return al.fg.vfr && al.fg.duration > 0 ? al.fg.duration : al.temporal.bgFrameForFg.length / al.fg.fps;
}

/** fg frames [from, to), as a full decode numbers them. */
export interface FrameRange {
  from: number;
  to: number;
}

export interface ComposeResult {
  output: string;
  width: number;
  height: number;
  frames: number;
  audio: 'fg' | 'bg' | 'none';
  seconds: number;
  /** The H.264 encoder that ran ('x264' or a hardware one), and why that one. */
  encoder: EncodeMethod['name'];
  encoderReason: string;
}

/** Where things go on the output canvas. */
export interface Geometry {
  width: number;
  height: number;
  /** fg's content rect (bars excluded), in fg pixels: what is cut out of fg. */
  fgCrop: Rect;
  /** bg is resampled to the canvas (else only padded to even dimensions). */
  scaled: boolean;
  /** Where that content lands on the canvas, at what size (may extend past the canvas edge); a tracked placement's at fg's first frame. */
  paste: Rect;
}

/** The largest canvas we ask x264 for: 8K, within H.264 level 6.2's frame size. */
const MAX_SIDE = 7680;
const MAX_AREA = 8192 * 4320;

const even = (v: number) => Math.max(2, 2 * Math.round(v / 2));

export function geometry(al: Pick<Alignment, 'bg' | 'fg' | 'spatial'>, mode: CanvasMode = 'fg'): Geometry {
  const { bg, fg, spatial } = al;
  // A tracked window's smallest scale: fg keeps its pixels 1:1 where bg shows it smallest, and is
  // enlarged elsewhere (never shrunk).
  const s = spatial.placement === 'tracked' && spatial.track?.keys.length ? Math.min(...spatial.track.keys.map((k) => k[3])) : spatial.scale;
  // fg is the quality source: when bg shows it smaller (s < 1), enlarge the canvas by 1/s so fg's
  // pixels land 1:1. Never shrink: a fg shown larger than its own size is upscaled into bg.
  let k = mode === 'fg' && s < 1 ? 1 / s : 1;
  const long = Math.max(bg.width, bg.height) * k;
  if (long > MAX_SIDE) k *= MAX_SIDE / long;
  if (bg.width * bg.height * k * k > MAX_AREA) k = Math.sqrt(MAX_AREA / (bg.width * bg.height));
  // x264's 4:2:0 needs even sizes: at k = 1 bg is padded by a line rather than resampled.
  const width = k === 1 ? bg.width + (bg.width & 1) : even(bg.width * k);
  const height = k === 1 ? bg.height + (bg.height & 1) : even(bg.height * k);
  const kx = k === 1 ? 1 : width / bg.width;
  const ky = k === 1 ? 1 : height / bg.height;
  const c = fg.contentRect;
  const paste = pasteBox(spatial, c, kx, ky);
  return { width, height, fgCrop: c, paste, scaled: k !== 1 };
}

/** Where fg's content lands on the canvas at fg frame i: the fixed box, or the tracked window's. */
export function pasteAt(al: Pick<Alignment, 'bg' | 'fg' | 'spatial'>, g: Geometry, i: number): Rect {
  if (al.spatial.placement !== 'tracked') return g.paste;
  // The canvas's pixels per bg pixel, as geometry() chose them (bg is only padded when not scaled).
  const kx = g.scaled ? g.width / al.bg.width : 1;
  const ky = g.scaled ? g.height / al.bg.height : 1;
  return pasteBox(placedAt(al.spatial, i), al.fg.contentRect, kx, ky);
}

/**
 * A yuv420p frame resampled to dw×dh, bilinear at the centre of the area each output pixel stands
 * for (a tracked window's fg, whose size on the canvas changes from frame to frame).
 */
export function resampleYuv420(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  const out = new Uint8Array(dw * dh + 2 * ((dw + 1) >> 1) * ((dh + 1) >> 1));
  const plane = (sOff: number, pw: number, ph: number, dOff: number, qw: number, qh: number) => {
    const fx = pw / qw;
    const fy = ph / qh;
    for (let v = 0; v < qh; v++) {
      const y = Math.max(0, Math.min(ph - 1, (v + 0.5) * fy - 0.5));
      const y0 = Math.min(ph - 2, Math.floor(y));
      const ay = ph < 2 ? 0 : y - Math.max(0, y0);
      const r0 = sOff + Math.max(0, y0) * pw;
      const r1 = ph < 2 ? r0 : r0 + pw;
      for (let u = 0; u < qw; u++) {
        const x = Math.max(0, Math.min(pw - 1, (u + 0.5) * fx - 0.5));
        const x0 = Math.max(0, Math.min(pw - 2, Math.floor(x)));
        const x1 = pw < 2 ? x0 : x0 + 1;
        const ax = x - x0;
        const t = src[r0 + x0] + (src[r0 + x1] - src[r0 + x0]) * ax;
        const b = src[r1 + x0] + (src[r1 + x1] - src[r1 + x0]) * ax;
        out[dOff + v * qw + u] = Math.round(t + (b - t) * ay);
      }
    }
  };
  const cw = (sw + 1) >> 1;
  const ch = (sh + 1) >> 1;
  const qw = (dw + 1) >> 1;
  const qh = (dh + 1) >> 1;
  plane(0, sw, sh, 0, dw, dh);
  plane(sw * sh, cw, ch, dw * dh, qw, qh);
  plane(sw * sh + cw * ch, cw, ch, dw * dh + qw * qh, qw, qh);
  return out;
}

/** Per-column and per-row weights (0..256) that fade fg into bg near edges inside the canvas. */
export function featherRamps(g: Geometry, margin: number): { ax: Uint16Array; ay: Uint16Array } {
  const ramp = (n: number, lo: number, canvas: number) => {
    const a = new Uint16Array(n).fill(256);
    if (margin <= 0) return a;
    const fadeStart = lo > 0; // an edge on the canvas border has nothing to blend into
    const fadeEnd = lo + n < canvas;
    for (let i = 0; i < n; i++) {
      let w = 1;
      if (fadeStart) w = Math.min(w, (i + 0.5) / margin);
      if (fadeEnd) w = Math.min(w, (n - i - 0.5) / margin);
      a[i] = Math.round(256 * Math.max(0, Math.min(1, w)));
    }
    return a;
  };
  return { ax: ramp(g.paste.width, g.paste.x, g.width), ay: ramp(g.paste.height, g.paste.y, g.height) };
}

/**
 * Pastes a yuv420p fg frame (paste.width × paste.height) onto a yuv420p canvas frame in place,
 * clipped to the canvas, optionally weighted by feather ramps.
 */
export function pasteYuv420(canvas: Uint8Array, g: Geometry, fg: Uint8Array, ramps?: { ax: Uint16Array; ay: Uint16Array }): void {
  const { width: W, height: H } = g;
  const { x: px, y: py, width: pw, height: ph } = g.paste;
  const planes = [
    { cOff: 0, cW: W, cH: H, fOff: 0, fW: pw, fH: ph, x: px, y: py, sub: 1 },
    { cOff: W * H, cW: W >> 1, cH: H >> 1, fOff: pw * ph, fW: (pw + 1) >> 1, fH: (ph + 1) >> 1, x: Math.floor(px / 2), y: Math.floor(py / 2), sub: 2 },
  ];
  planes.push({ ...planes[1], cOff: planes[1].cOff + planes[1].cW * planes[1].cH, fOff: planes[1].fOff + planes[1].fW * planes[1].fH });
  for (const p of planes) {
    const x0 = Math.max(0, -p.x);
    const x1 = Math.min(p.fW, p.cW - p.x);
    const y0 = Math.max(0, -p.y);
    const y1 = Math.min(p.fH, p.cH - p.y);
    if (x1 <= x0) continue;
    for (let r = y0; r < y1; r++) {
      const src = p.fOff + r * p.fW;
      const dst = p.cOff + (p.y + r) * p.cW + p.x;
      if (!ramps) {
        canvas.set(fg.subarray(src + x0, src + x1), dst + x0);
        continue;
      }
      const wy = ramps.ay[Math.min(ph - 1, r * p.sub)];
      for (let c = x0; c < x1; c++) {
        const w = (wy * ramps.ax[Math.min(pw - 1, c * p.sub)]) >> 8;
        canvas[dst + c] = (fg[src + c] * w + canvas[dst + c] * (256 - w) + 128) >> 8;
      }
    }
  }
}

const CONTAINERS: Record<string, string> = { '.mp4': 'mp4', '.m4v': 'mp4', '.mov': 'mov', '.mkv': 'matroska' };

/**
 * Checks that `output` can be written before any long work starts, and returns the temp path the
 * encoder writes to (same folder, so the final rename is atomic).
 */
export async function prepareOutput(
  output: string,
  inputs: string[],
  o: Pick<ComposeOptions, 'overwrite' | 'overwriteFix' | 'signal'> = {},
): Promise<{ final: string; temp: string; format: string }> {
  const final = path.resolve(output);
  const ext = path.extname(final).toLowerCase();
  const format = CONTAINERS[ext];
  if (!format) {
    throw new VidkompyError('BAD_ARGS', `${output}: unsupported output type '${ext || '(none)'}'; use .mp4, .mov or .mkv`, output);
  }
  if (inputs.some((i) => path.resolve(i) === final)) {
    throw new VidkompyError('BAD_ARGS', `${output}: the output would overwrite an input`, output, { kind: 'output', want: 'another' });
  }
  const st = await fs.stat(final).catch(() => undefined);
  if (st?.isDirectory()) throw new VidkompyError('UNWRITABLE', `${output}: is a folder`, output, { kind: 'output', want: 'file name' });
  // A file vidkompy did not render may be someone's only copy: it is replaced only when asked.
  if (st && !o.overwrite && !(await writtenByVidkompy(final, o.signal))) {
    throw new VidkompyError('UNWRITABLE', `${output}: exists and was not written by vidkompy, so it is not replaced; ${o.overwriteFix ?? 'pass -y to replace it'}`, output);
  }
  const dir = path.dirname(final);
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new VidkompyError('UNWRITABLE', `${output}: cannot create folder ${dir} (${(e as NodeJS.ErrnoException).code})`, output, {
      kind: 'output',
      want: 'writable folder',
    });
  }
  // Leftovers of writers that died (SIGKILL) go before this one starts.
  sweepPartials(final);
  const temp = partialPath(final);
  try {
    await (await fs.open(temp, 'wx')).close();
  } catch (e) {
    dropTemp(temp);
    throw new VidkompyError('UNWRITABLE', `${output}: cannot write in ${dir} (${(e as NodeJS.ErrnoException).code})`, output, {
      kind: 'output',
      want: 'writable folder',
    });
  }
  return { final, temp, format };
}

/**
 * Audio input arguments and filter for the chosen source. `lead`: fg's probed lead, the seconds its
 * own sound plays before its first picture; the render starts at that picture, so fg's sound is
 * taken from there (else it would run that much ahead of the pictures).
 */
export function audioPlan(al: Alignment, choice: AudioChoice, fgFrames: number, lead = 0): { source: 'fg' | 'bg' | 'none'; args: string[]; filter?: string } {
  const wantFg = choice === 'fg' || (choice === 'auto' && al.fg.hasAudio);
  if (wantFg && al.fg.hasAudio) return { source: 'fg', args: [...(lead > 0 ? ['-ss', lead.toFixed(6)] : []), '-i', ffmpegPath(al.fg.file)] };
  if (choice === 'fg') throw new VidkompyError('BAD_ARGS', `${al.fg.file}: has no audio`, al.fg.file, { kind: 'options', verb: 'use', options: ['audio'], to: 'bg or none' });
  if (choice === 'none' || !al.bg.hasAudio) {
    if (choice === 'bg') throw new VidkompyError('BAD_ARGS', `${al.bg.file}: has no audio`, al.bg.file, { kind: 'options', verb: 'use', options: ['audio'], to: 'fg or none' });
    return { source: 'none', args: [] };
  }
  // bg's sound under the matched span, stretched to fg's length when fg plays at another speed.
  const times = al.temporal.bgTimeForFg;
  const t0 = times[0];
  const t1 = times[times.length - 1] + 1 / al.bg.fps;
  const fgDur = fgFrames / al.fg.fps;
  const tempo = (t1 - t0) / fgDur;
  const filters: string[] = [];
  if (Math.abs(tempo - 1) > 0.002) {
    // atempo takes 0.5..2 per instance; chain for anything beyond.
    let left = tempo;
    for (; left > 2; left /= 2) filters.push('atempo=2');
    for (; left < 0.5; left /= 0.5) filters.push('atempo=0.5');
    filters.push(`atempo=${left.toFixed(6)}`);
  }
  return {
    source: 'bg',
    args: ['-ss', Math.max(0, t0).toFixed(6), '-t', (t1 - t0).toFixed(6), '-i', ffmpegPath(al.bg.file)],
    filter: filters.length ? filters.join(',') : undefined,
  };
}

/** Why a chunk is x264 whatever the machine offers: chunks must share one stream format to join without re-encoding. */
export const CHUNK_ENCODER_REASON = 'chunks of a split render are x264 on every worker, so they join without re-encoding';

export async function compose(al: Alignment, o: ComposeOptions): Promise<ComposeResult> {
  const g = geometry(al, o.canvas);
  const enc = o.frames
    ? { name: 'x264' as const, args: encoderArgs('x264', o.crf, o.preset), reason: CHUNK_ENCODER_REASON }
    : await encodeMethod({ width: g.width, height: g.height, crf: o.crf, preset: o.preset });
  try {
    return await composeWith(al, o, enc);
  } catch (e) {
    // A hardware encoder that passed its trial can still fail on a real render (a session limit, a size it refuses): x264 always can.
    if (enc.name === 'x264' || !(e instanceof VidkompyError) || e.code !== 'ENCODE' || o.signal?.aborted) throw e;
    const reason = `${enc.name} failed on this render (${e.message}), so x264 encoded it`;
    note(reason);
    return composeWith(al, o, { name: 'x264', args: encoderArgs('x264', o.crf, o.preset), reason });
  }
}

/** The frames a render covers, checked against the alignment. */
function rangeOf(al: Alignment, o: ComposeOptions): FrameRange {
  const n = al.temporal.bgFrameForFg.length;
  const r = o.frames ?? { from: 0, to: n };
  if (!(Number.isInteger(r.from) && Number.isInteger(r.to) && r.from >= 0 && r.from < r.to && r.to <= n)) {
    throw new VidkompyError('BAD_ARGS', `${o.output}: frames [${r.from}, ${r.to}) are not a range of fg's ${n} frames`, o.output);
  }
  return r;
}

/**
 * A truncated or damaged fg decodes fewer frames than its index lists, and ffmpeg says nothing:
 * the alignment (made from the same short read) cannot tell, nor can the packet count, so the
 * container's index is the yardstick. One frame of slack: some muxers index a trailing packet that
 * decodes to no frame. A split render asks before it starts; a whole one after it has decoded.
 */
export async function checkDecodedAll(al: Alignment, decoded: number, o: Pick<ComposeOptions, 'force' | 'signal'>, probed?: ProbeInfo): Promise<void> {
  if (o.force) return;
  const fgProbe = probed ?? (await probe(al.fg.file, o.signal));
  const promised = Math.max(al.temporal.bgFrameForFg.length, fgProbe.frameCount, fgProbe.indexedFrames ?? 0);
  if (decoded >= promised - 1) return;
  const why = `${al.fg.file}: only ${decoded} of ${promised} frames could be decoded (the file ends early or is damaged); re-export it`;
  throw new VidkompyError('DECODE', why, al.fg.file, { kind: 'options', verb: 'use', options: ['force'], lead: 'or', to: 'to render what decodes' });
}

async function composeWith(al: Alignment, o: ComposeOptions, enc: EncodeMethod): Promise<ComposeResult> {
  const t0 = performance.now();
  const chunk = !!o.frames;
  const { from, to } = rangeOf(al, o);
  const out = await prepareOutput(o.output, [al.bg.file, al.fg.file], o);
  let encoder: ReturnType<typeof openEncoder> | undefined;
  try {
    const g = geometry(al, o.canvas);
    const map = al.temporal.bgFrameForFg;
    const nF = map.length;
    const want = to - from;
    // fg's first picture, in the file's own time: the render's time 0 (see audioPlan). The same
    // probe tells at the end whether fg decoded whole (checkDecodedAll).
    const fgProbe = chunk ? undefined : await probe(al.fg.file, o.signal);
    const lead = fgProbe?.lead ?? 0;
    const audio = chunk ? { source: 'none' as const, args: [] } : audioPlan(al, o.audio ?? 'auto', nF, lead);
    const { fgCrop: c } = g;
    // A tracked window's fg is decoded at its own size and resized here, frame by frame.
    const tracked = al.spatial.placement === 'tracked';
    const paste = tracked ? { ...g.paste, width: c.width, height: c.height } : g.paste;
    const fgFilter = [
      c.x || c.y || c.width !== al.fg.width || c.height !== al.fg.height ? `crop=${c.width}:${c.height}:${c.x}:${c.y}:exact=1` : '',
      paste.width !== c.width || paste.height !== c.height ? `scale=${paste.width}:${paste.height}:flags=lanczos` : '',
    ].filter(Boolean).join(',');
    const bgFilter = g.scaled
      ? `scale=${g.width}:${g.height}:flags=bicubic`
      : g.width !== al.bg.width || g.height !== al.bg.height
        ? `pad=${g.width}:${g.height}:0:0`
        : undefined;
    const ramps = o.smooth ? featherRamps(g, o.margin ?? 8) : undefined;
    // A variable-rate fg keeps each frame's own time: the canvas goes to the encoder in Matroska
    // with a time per frame (media/mkv.ts) instead of raw frames at one rate. A chunk's times
    // start at its own first frame: the join puts each chunk where its first frame belongs.
    const timed = al.fg.vfr;
    let zero = chunk ? undefined : lead;
    const args = [
      ...(timed ? ['-f', 'matroska'] : ['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${g.width}x${g.height}`, '-framerate', al.fg.fpsRational]),
      '-i', 'pipe:0',
      ...audio.args,
      '-map', '0:v:0',
      ...(audio.source === 'none' ? [] : ['-map', '1:a:0', ...(audio.filter ? ['-filter:a', audio.filter] : []), '-c:a', 'aac', '-b:a', '192k']),
      ...enc.args,
      // A chunk is a piece of a stream: its length is its frames, and the join writes the container's tag and index.
      ...(chunk ? [] : ['-t', renderLength(al).toFixed(6), '-metadata', `${OUTPUT_TAG.key}=${OUTPUT_TAG.value}`]),
      // Every frame at its time: no frame repeated or dropped to fit a constant rate.
      ...(timed ? ['-fps_mode', 'passthrough'] : []),
      ...threadArgs(),
      ...(chunk ? [] : ['-movflags', '+faststart']),
      '-f', out.format, ffmpegPath(out.temp),
    ];
    encoder = openEncoder(args, out.final, o.signal);
    if (timed) await encoder.write(mkvHead(g.width, g.height));
    // A chunk reads both inputs from the frames it needs on (readFramesFrom seeks where it can); a
    // whole render reads them from the start.
    const bgStart = chunk ? map[from] : 0;
    const bgFrames = readFramesFrom({ file: al.bg.file, from: bgStart, total: al.bg.frameCount, fps: al.bg.fps, filter: bgFilter, pixFmt: 'yuv420p', width: g.width, height: g.height, signal: o.signal, what: 'decoding bg for rendering' })[Symbol.asyncIterator]();
    let bgIndex = bgStart - 1;
    let bgFrame: Buffer | undefined;
    let written = 0;
    // The time of the fg frame just read (its decoder reports it before handing the frame over), and of the last one written.
    let fgTime = NaN;
    let lastTime = -Infinity;
    try {
      const fgFrames = readFramesFrom({
        file: al.fg.file, from, total: al.fg.frameCount, fps: al.fg.fps, filter: fgFilter || undefined, pixFmt: 'yuv420p', width: paste.width, height: paste.height, signal: o.signal, what: 'decoding fg for rendering',
        ...(timed ? { onTime: (t: number) => (fgTime = t), fullTimes: true } : {}),
      });
      for await (const f of fgFrames) {
        // fg is authoritative: a frame past the map's end (damaged tail decoded differently) reuses the last mapping.
        const i = from + written;
        const wantBg = map[Math.min(i, nF - 1)];
        const before = bgIndex;
        while (bgIndex < wantBg) {
          const r = await bgFrames.next();
          if (r.done) break;
          bgFrame = r.value;
          bgIndex++;
        }
        if (!bgFrame) throw new VidkompyError('NO_FRAMES', `${al.bg.file}: no frame could be decoded for rendering; re-export the video`, al.bg.file);
        // The decoder hands over a fresh buffer per frame, so a bg frame used once is painted in
        // place; one that the next fg frame may need again (or that the encoder's pipe still holds)
        // is copied first. At 1080p that saves copying 3 MB a frame.
        const reused = bgIndex === before;
        const canvas = reused || map[Math.min(i + 1, nF - 1)] === bgIndex ? Buffer.from(bgFrame) : bgFrame;
        if (tracked) {
          const box = pasteAt(al, g, i);
          const here = { ...g, paste: box };
          const sized = box.width === c.width && box.height === c.height ? f : resampleYuv420(f, c.width, c.height, box.width, box.height);
          pasteYuv420(canvas, here, sized, o.smooth ? featherRamps(here, o.margin ?? 8) : undefined);
        } else pasteYuv420(canvas, g, f, ramps);
        if (timed) {
          // A frame whose time could not be read goes at fg's average rate; times only ever increase.
          zero ??= Number.isFinite(fgTime) ? fgTime : from / al.fg.fps;
          lastTime = Math.max(Number.isFinite(fgTime) ? fgTime - zero : (i - from) / al.fg.fps, lastTime + 1e-6);
          await encoder.write(mkvFrameHead(lastTime, canvas.length));
        }
        await encoder.write(canvas);
        written++;
        if (written % 8 === 0) o.onProgress?.(Math.min(1, written / want));
        throwIfAborted(o.signal);
        if (chunk && written === want) break;
      }
    } finally {
      await bgFrames.return?.(undefined);
    }
    if (written === 0) throw new VidkompyError('NO_FRAMES', `${al.fg.file}: no frame could be decoded for rendering; re-export the video`, al.fg.file);
    if (chunk && written < want) {
      throw new VidkompyError('DECODE', `${al.fg.file}: only ${written} of fg's frames ${from}–${to - 1} could be decoded (the file ends early or is damaged); re-export it`, al.fg.file);
    }
    if (!chunk) await checkDecodedAll(al, written, o, fgProbe);
    await encoder.finish();
    encoder = undefined;
    commitRename(out.temp, out.final, out.final, { signal: o.signal, commit: o.commit });
    o.onProgress?.(1);
    const seconds = (performance.now() - t0) / 1000;
    return { output: out.final, width: g.width, height: g.height, frames: written, audio: audio.source, seconds, encoder: enc.name, encoderReason: enc.reason };
  } catch (e) {
    encoder?.abort();
    await fs.rm(out.temp, { force: true });
    dropTemp(out.temp);
    throw e;
  }
}
