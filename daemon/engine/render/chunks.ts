import { promises as fs, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CHUNK_MARK } from '../../../protocol/project';
import { commitRename, dropTemp, partialPath, sweepPartials } from '../../core/atomic';
import { cancelled, VidkompyError } from '../../core/errors';
import { ffmpegPath, runTool } from '../../media/ffmpeg';
import { frameTimes } from '../../media/seek';
import { OUTPUT_TAG, probe } from '../../media/probe';
import type { Alignment } from '../result';
import { audioPlan, CHUNK_ENCODER_REASON, geometry, prepareOutput, renderLength, type ComposeOptions, type ComposeResult, type FrameRange } from './compose';

/**
 * One long render split into time chunks that several workers render at once (compose with
 * `frames`), then joined without re-encoding: ffmpeg's concat demuxer copies the chunks' streams one
 * after another, and the sound is encoded once over the whole, as a whole render does. Each chunk
 * starts with its own keyframe and carries its frames from time 0, at fg's rate or (a variable-rate
 * fg) at fg's own times, each chunk then lasting until the next one's first frame: the joined
 * stream's timestamps run on without a gap or a repeat.
 */

/** fg's frames in chunks of about `seconds` each; undefined when that makes fewer than two. */
export function planChunks(frames: number, fps: number, seconds: number): FrameRange[] | undefined {
  if (!(seconds > 0) || !(fps > 0)) return undefined;
  const n = Math.floor(frames / (seconds * fps));
  if (n < 2) return undefined;
  return Array.from({ length: n }, (_, k) => ({ from: Math.round((k * frames) / n), to: Math.round(((k + 1) * frames) / n) }));
}

const ID = /^[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*$/;

/** Where chunk `k` of a render of `output` (one render: `id`) is written: hidden, beside the output. */
export function chunkFile(output: string, id: string, k: number): string {
  if (!ID.test(id)) throw new VidkompyError('INTERNAL', `'${id}' is not a chunk id`);
  const final = path.resolve(output);
  const ext = path.extname(final);
  return path.join(path.dirname(final), `.${path.basename(final, ext)}${CHUNK_MARK}${id}-${String(k).padStart(4, '0')}.mp4`);
}

/**
 * Removes chunk files of renders of `output` other than `keep`'s: what an interrupted split render
 * left (its worker machine lost, say). Called when the same output is rendered again.
 */
export function sweepChunks(output: string, keep?: string): void {
  const final = path.resolve(output);
  const ext = path.extname(final);
  const head = `.${path.basename(final, ext)}${CHUNK_MARK}`;
  let names: string[];
  try {
    names = readdirSync(path.dirname(final));
  } catch {
    return;
  }
  for (const n of names) {
    const m = n.startsWith(head) ? /^(.+)-\d{4}\.mp4$/.exec(n.slice(head.length)) : null;
    if (!m || m[1] === keep) continue;
    try {
      rmSync(path.join(path.dirname(final), n), { force: true });
    } catch {
      // Not ours to remove: its name still marks it as a chunk.
    }
  }
}

/** Removes the given chunk files and what dead writers left of them. */
export function removeChunkFiles(files: string[]): void {
  for (const f of files) {
    try {
      rmSync(f, { force: true });
    } catch {
      // Marked as a chunk by its name: the next render of the output sweeps it.
    }
    sweepPartials(f);
  }
}

interface ChunkStream {
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  nb_read_packets?: string;
  extradata_hash?: string;
}

/**
 * Every chunk is there with its frames, and all were encoded alike (same codec, size and headers):
 * the concat demuxer copies them without a look, and an MP4 keeps one set of decoder headers.
 */
async function checkChunks(chunks: { file: string; range: FrameRange }[], signal?: AbortSignal): Promise<void> {
  let first: string | undefined;
  for (const [k, { file, range }] of chunks.entries()) {
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile()) throw new VidkompyError('ENOENT', `${file}: chunk ${k + 1} of ${chunks.length} of the render is missing; render the project again`, file);
    const args = ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_data_hash', 'sha256'];
    args.push('-show_entries', 'stream=codec_name,width,height,pix_fmt,nb_read_packets,extradata_hash', '-of', 'json', ffmpegPath(file));
    const { stdout } = await runTool('ffprobe', args, { file, what: 'checking a chunk', signal });
    const s = (JSON.parse(stdout.toString('utf8')) as { streams?: ChunkStream[] }).streams?.[0];
    const frames = Number(s?.nb_read_packets);
    if (frames !== range.to - range.from) {
      throw new VidkompyError('ENCODE', `${file}: chunk ${k + 1} of ${chunks.length} holds ${frames || 0} frames, not ${range.to - range.from}; render the project again`, file);
    }
    const format = `${s?.codec_name} ${s?.width}x${s?.height} ${s?.pix_fmt} ${s?.extradata_hash}`;
    first ??= format;
    if (format !== first) {
      throw new VidkompyError('ENCODE', `${file}: chunk ${k + 1} was encoded unlike chunk 1 (${format} vs ${first}); give every worker the same vidkompy and ffmpeg`, file);
    }
  }
}

export type JoinOptions = Pick<ComposeOptions, 'output' | 'canvas' | 'audio' | 'signal' | 'commit' | 'overwrite' | 'overwriteFix' | 'onProgress'>;

/**
 * Joins the chunks of a split render into `output`, in order, without re-encoding the picture, and
 * muxes the sound once (as a whole render would); written to a temp file and renamed into place.
 */
export async function joinChunks(al: Alignment, chunks: { file: string; range: FrameRange }[], o: JoinOptions): Promise<ComposeResult> {
  const t0 = performance.now();
  const nF = al.temporal.bgFrameForFg.length;
  const covered = chunks.every((c, k) => c.range.from === (k ? chunks[k - 1].range.to : 0)) && chunks.at(-1)?.range.to === nF;
  if (!covered) throw new VidkompyError('INTERNAL', `${o.output}: the chunks do not cover fg's ${nF} frames in order`, o.output);
  await checkChunks(chunks, o.signal);
  const audio = audioPlan(al, o.audio ?? 'auto', nF, (await probe(al.fg.file, o.signal)).lead);
  const out = await prepareOutput(o.output, [al.bg.file, al.fg.file], o);
  const list = partialPath(path.join(path.dirname(out.final), `.${path.basename(out.final)}.concat.txt`));
  try {
    // ffconcat quoting: inside '…', a quote is closed, escaped and reopened.
    const quoted = (f: string) => `'${ffmpegPath(f).replace(/'/g, "'\\''")}'`;
    // A variable-rate fg's chunk lasts from its first frame's time to the next chunk's (fg's packet
    // times, as the chunk's own frames were timed): its own length would end at its last frame's
    // start, or a guess of that frame's duration, and shift every chunk after it.
    const times = al.fg.vfr ? await frameTimes(al.fg.file, o.signal) : undefined;
    const lasts = (k: number) => (times && times.length >= nF && k + 1 < chunks.length ? `duration ${(times[chunks[k + 1].range.from] - times[chunks[k].range.from]).toFixed(6)}\n` : '');
    await fs.writeFile(list, `ffconcat version 1.0\n${chunks.map((c, k) => `file ${quoted(c.file)}\n${lasts(k)}`).join('')}`);
    const args = [
      '-nostdin', '-hide_banner', '-v', 'error', '-y',
      // -safe 0: the list names absolute file: paths, which safe mode refuses.
      '-f', 'concat', '-safe', '0', '-i', ffmpegPath(list),
      ...audio.args,
      '-map', '0:v:0', '-c:v', 'copy',
      ...(audio.source === 'none' ? [] : ['-map', '1:a:0', ...(audio.filter ? ['-filter:a', audio.filter] : []), '-c:a', 'aac', '-b:a', '192k']),
      '-t', renderLength(al).toFixed(6),
      '-metadata', `${OUTPUT_TAG.key}=${OUTPUT_TAG.value}`,
      '-movflags', '+faststart', '-f', out.format, ffmpegPath(out.temp),
    ];
    try {
      await runTool('ffmpeg', args, { file: out.final, what: `joining ${chunks.length} chunks`, signal: o.signal });
    } catch (e) {
      if (o.signal?.aborted) throw cancelled();
      // A full disk or a flaky share: worth another try, like a failed encode.
      if (e instanceof VidkompyError && e.code !== 'ENOENT' && e.code !== 'CANCELLED') throw new VidkompyError('ENCODE', e.message, out.final);
      throw e;
    }
    commitRename(out.temp, out.final, out.final, { signal: o.signal, commit: o.commit });
  } catch (e) {
    await fs.rm(out.temp, { force: true });
    dropTemp(out.temp);
    throw e;
  } finally {
    await fs.rm(list, { force: true });
    dropTemp(list);
  }
  o.onProgress?.(1);
  const g = geometry(al, o.canvas);
  const seconds = (performance.now() - t0) / 1000;
  return { output: out.final, width: g.width, height: g.height, frames: nF, audio: audio.source, seconds, encoder: 'x264', encoderReason: CHUNK_ENCODER_REASON };
}
