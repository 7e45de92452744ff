import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { liveTemps, watchTemps } from '../core/atomic';
import { cancelled, fileNotFound, VidkompyError } from '../core/errors';
import { memoByFile } from '../core/identity';
import { note } from '../core/notes';
import type { Preset } from '../../protocol/project';
import { recordDecode } from './decodestats';
import { asShown, shownOf, type Shown, type StreamShape } from './picture';
import { chooseDecoder, chooseEncoder, type DecodeMethod, type EncodeMethod, type RunOutcome } from './hwaccel';
import { REAPER_SOURCE } from './reaper';
import { sharedThreadArgs, threadArgs, tools } from './tools';

/**
 * The one place that spawns ffmpeg/ffprobe: argument arrays only (no shell), stderr turned into
 * readable errors, raw frames streamed through pipes with back-pressure.
 */

const STDERR_KEEP = 16 * 1024;

/**
 * A path as ffmpeg/ffprobe must read it: absolute with the `file:` protocol, so that a name that
 * starts with '-' is not an option and one with ':' or '|' ("concat:a.mp4|b.mp4") is not a protocol.
 */
export function ffmpegPath(file: string): string {
  return 'file:' + path.resolve(file);
}

/** ffmpeg/ffprobe children of this thread that have not exited yet. */
const liveChildren = new Set<ChildProcess>();
let reaper: ChildProcess | undefined;

/** Tells the reaper (started on first need) one event; see reaper.ts. */
function tellReaper(msg: [string, number | string]): void {
  if (!reaper) {
    try {
      reaper = spawn(process.execPath, ['-e', REAPER_SOURCE], { stdio: ['pipe', 'ignore', 'ignore'], windowsHide: true });
    } catch {
      return; // Without a reaper only a SIGKILL of this process can leave anything behind.
    }
    reaper.on('error', () => undefined);
    reaper.stdin!.on('error', () => undefined);
    // Neither the child nor its pipe may keep this process alive; the pipe closes when we die.
    reaper.unref();
    (reaper.stdin as unknown as { unref?: () => void }).unref?.();
    for (const c of liveChildren) if (c.pid) reaper.stdin!.write(JSON.stringify(['pid', c.pid]) + '\n');
    for (const f of liveTemps) reaper.stdin!.write(JSON.stringify(['file', f]) + '\n');
    if (msg[0] === 'file' || msg[0] === 'pid') return;
  }
  if (reaper.stdin!.writable) reaper.stdin!.write(JSON.stringify(msg) + '\n');
}

watchTemps((op, file) => tellReaper([op === 'add' ? 'file' : 'unfile', file]));

/**
 * Ends every child and removes every temp file of this thread now, synchronously: for a signal
 * handler (the CLI's Ctrl-C) and for process exit, where no await runs.
 */
export function reapNow(): void {
  for (const c of liveChildren) c.kill('SIGKILL');
  for (const f of liveTemps) {
    try {
      // recursive: a scratch folder (core/atomic.ts makeTempDir) goes with its contents.
      rmSync(f, { force: true, recursive: true });
    } catch {
      // Marked as partial by its name: the next write of the same output sweeps it.
    }
  }
  liveTemps.clear();
}

process.on('exit', reapNow);

function spawnTool(bin: string, args: string[]): ChildProcessWithoutNullStreams {
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
  if (child.pid) {
    const pid = child.pid;
    liveChildren.add(child);
    tellReaper(['pid', pid]);
    // Forgotten once it has exited, so the reaper never kills a recycled pid.
    child.once('exit', () => {
      liveChildren.delete(child);
      tellReaper(['unpid', pid]);
    });
  }
  return child;
}

function keepTail(acc: string, chunk: Buffer): string {
  const s = acc + chunk.toString('utf8');
  return s.length > STDERR_KEEP ? s.slice(s.length - STDERR_KEEP) : s;
}

/** Turns ffmpeg's stderr into one actionable sentence about `file`. */
export function explainFailure(file: string, stderr: string, what: string): VidkompyError {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(Input|Output|Stream mapping|Press|\s*Duration|\s*Metadata)/.test(l));
  const s = stderr;
  if (/No such file or directory/.test(s)) {
    return fileNotFound(file);
  }
  if (/Permission denied/.test(s)) {
    return new VidkompyError('UNWRITABLE', `${file}: permission denied; check the file's permissions`, file);
  }
  if (/moov atom not found|Invalid data found when processing input|could not find codec parameters|End of file/i.test(s)) {
    return new VidkompyError(
      'NOT_VIDEO',
      `${file}: not a readable video (ffmpeg: ${lastMeaningful(lines)}); the file may be truncated or not a video: re-export it or check the path`,
      file,
    );
  }
  return new VidkompyError('DECODE', `${file}: ${what} failed (ffmpeg: ${lastMeaningful(lines)})`, file);
}

function lastMeaningful(lines: string[]): string {
  // "Stream map '0:a:0' matches no streams" says what is wrong; the hint and the cascade ffmpeg 7+
  // prints after it ("Failed to set value…", "Error opening output files") do not.
  const consequence = /^(Error opening (output|input) files?|Error parsing options|Failed to set value|Conversion failed)/i;
  const errorish = lines.filter((l) => /error|invalid|not|fail|unable|cannot|matches no streams/i.test(l) && !consequence.test(l));
  const pick = (errorish.length ? errorish : lines).slice(-1)[0] ?? 'no message';
  return pick.replace(/^\[[^\]]+\]\s*/, '').slice(0, 300);
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs a tool to completion; rejects with an explained error on a non-zero exit. */
export async function runTool(
  which: 'ffmpeg' | 'ffprobe',
  args: string[],
  opts: { file: string; what: string; signal?: AbortSignal },
): Promise<RunResult> {
  const bin = tools()[which];
  await checkVersion(which, bin);
  const child = spawnTool(bin, args);
  child.stdin.end();
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => (err = keepTail(err, c)));
  const onAbort = () => child.kill('SIGKILL');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const [code] = await waitExit(child, bin);
    if (opts.signal?.aborted) throw cancelled();
    if (code !== 0) throw explainFailure(opts.file, err, opts.what);
    return { stdout: Buffer.concat(out), stderr: err };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

function waitExit(child: ChildProcessWithoutNullStreams, bin: string): Promise<[number | null]> {
  // Plain listeners, not events.once: once(child, 'close') would reject with the raw spawn error
  // before it could be explained.
  return new Promise((resolve, reject) => {
    child.once('error', (e) =>
      reject(new VidkompyError('TOOL_MISSING', `${bin}: cannot run (${e.message}); run 'npm ci' or set VIDKOMPY_FFMPEG / VIDKOMPY_FFPROBE`, bin)),
    );
    child.once('close', (code) => resolve([code]));
  });
}

/** The oldest ffmpeg/ffprobe vidkompy runs: 5.1, the first with `-fps_mode` (its libavutil is 57.28). */
const MIN_VERSION = { label: '5.1', libavutil: [57, 28] as const };

/**
 * What `-version` says: the release name as printed ("8.0.1", "5.1.9-0+deb12u1", "N-47683-g0e8eb07980"
 * for a git snapshot) and the libavutil it was built with, which every build prints, snapshots too.
 */
export function parseVersion(text: string): { name?: string; libavutil?: [number, number] } {
  const name = /\bversion\s+(\S+)/.exec(text)?.[1];
  const m = /^\s*libavutil\s+(\d+)\.\s*(\d+)\./m.exec(text);
  return { name, libavutil: m ? [Number(m[1]), Number(m[2])] : undefined };
}

/** Whether a build that printed `text` is new enough; true when it does not say (a wrapper, an odd build). */
export function versionOk(text: string): boolean {
  const v = parseVersion(text).libavutil;
  if (!v) return true;
  const [major, minor] = MIN_VERSION.libavutil;
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

const versions = new Map<string, Promise<{ code: number | null; text: string }>>();

/**
 * What `BIN -version` says, asked once per binary: the version check and the hardware report (keyed
 * by the version line) both need it. A binary that cannot be started is asked again next time.
 */
function versionOf(bin: string): Promise<{ code: number | null; text: string }> {
  let p = versions.get(bin);
  if (!p) {
    p = (async () => {
      const child = spawnTool(bin, ['-hide_banner', '-version']);
      child.stdin.end();
      let text = '';
      child.stdout.on('data', (c: Buffer) => (text = keepTail(text, c)));
      child.stderr.resume();
      const [code] = await waitExit(child, bin);
      return { code, text };
    })();
    versions.set(bin, p);
    p.catch(() => versions.delete(bin));
  }
  return p;
}

/** The binary in use for `which` and the release it names ("8.0.1"), for the editor's log; never throws. */
export async function toolVersion(which: 'ffmpeg' | 'ffprobe'): Promise<{ path: string; version: string }> {
  const bin = tools()[which];
  try {
    const { code, text } = await versionOf(bin);
    if (code !== 0) return { path: bin, version: `unknown (-version exited ${code})` };
    const v = parseVersion(text);
    return { path: bin, version: v.name ?? (v.libavutil ? `libavutil ${v.libavutil.join('.')}` : 'unknown') };
  } catch (e) {
    return { path: bin, version: `cannot run (${(e as Error)?.message ?? e})` };
  }
}

/**
 * Refuses an ffmpeg or ffprobe older than 5.1 (a system one, or one named in the settings), with the
 * fix in the message: an old build lacks options vidkompy passes (`-fps_mode`) and years of decoder
 * fixes, on the one component that parses untrusted media.
 */
export async function checkVersion(which: 'ffmpeg' | 'ffprobe', bin: string = tools()[which]): Promise<void> {
  const { code, text } = await versionOf(bin);
  if (code !== 0 || versionOk(text)) return;
  const v = parseVersion(text);
  const name = `${v.name ?? 'of unknown version'} (libavutil ${v.libavutil?.join('.')})`;
  const env = which === 'ffmpeg' ? 'VIDKOMPY_FFMPEG' : 'VIDKOMPY_FFPROBE';
  throw new VidkompyError(
    'TOOL_MISSING',
    `${bin}: ${which} ${name} is too old, vidkompy needs ${MIN_VERSION.label} or newer; point ${env} or the vidkompy.${which}Path setting at a newer ${which}, or unset both to use the bundled one ('npm ci' installs it)`,
    bin,
  );
}

/** The running ffmpeg's `-version`, as a capability check's outcome (never throws). */
function ffmpegVersion(): Promise<RunOutcome> {
  return versionOf(tools().ffmpeg).then(
    ({ code, text }) => ({ code, stdout: text, stderr: '' }),
    (e: unknown) => ({ code: null, stdout: '', stderr: String((e as Error)?.message ?? e) }),
  );
}

/**
 * Arguments that make ffmpeg emit every decoded frame exactly once. rawvideo output is treated as
 * constant-rate, so by default ffmpeg would duplicate or drop frames to fill timestamp gaps (VFR
 * input, damaged slices) and frame indices would stop meaning the same thing between passes.
 * `-fps_mode` is ffmpeg 5.1's name for the old `-vsync`; older builds are refused by checkVersion.
 */
export async function passthroughArgs(): Promise<string[]> {
  await checkVersion('ffmpeg');
  return ['-fps_mode', 'passthrough'];
}

export type PixFmt = 'gray' | 'yuv420p' | 'rgb24';

export interface FrameStreamOptions {
  file: string;
  /** ffmpeg arguments before -i (seek, skip_frame). */
  inputArgs?: string[];
  /** -vf filter chain, if any. */
  filter?: string;
  pixFmt: PixFmt;
  width: number;
  height: number;
  /** stop after this many frames. */
  maxFrames?: number;
  /**
   * Skip the H.264/HEVC deblocking filter (a quarter of the decode time). For analysis frames
   * scaled far down it changes nothing that matters; never for pictures that are shown or rendered.
   * Analysis decodes also run on their share of the cores (sharedThreadArgs): align runs several at once.
   */
  analysis?: boolean;
  /**
   * Called with each frame's presentation time (seconds from the start, or from the seek point),
   * just before that frame is yielded. NaN where ffmpeg reported none.
   */
  onTime?: (t: number) => void;
  signal?: AbortSignal;
  what?: string;
}

export function frameBytes(pixFmt: PixFmt, w: number, h: number): number {
  if (pixFmt === 'gray') return w * h;
  if (pixFmt === 'rgb24') return w * h * 3;
  return w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2);
}

// Times near zero print in exponent form ("pts_time:6.51042e-05").
const PTS_TIME = /\bn:\s*(\d+)\s+pts:\s*-?\d+\s+pts_time:\s*(-?[\d.]+(?:e[-+]?\d+)?)/;

/** The presentation time on one line of ffmpeg's showinfo log, if it has one. */
export function showinfoTime(line: string): number | undefined {
  const m = PTS_TIME.exec(line);
  return m ? Number(m[2]) : undefined;
}

/** A capability check that hangs (a wedged GPU driver) is given up after this long. */
const CHECK_TIMEOUT_MS = 20_000;

/** Runs ffmpeg for a capability check: never throws; a failure is its exit code and stderr. */
function checkRun(args: string[]): Promise<RunOutcome> {
  return new Promise((resolve) => {
    const child = spawnTool(tools().ffmpeg, args);
    child.stdin.end();
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err = keepTail(err, c)));
    const timer = setTimeout(() => {
      err += `\ntimed out after ${CHECK_TIMEOUT_MS / 1000} s`;
      child.kill('SIGKILL');
    }, CHECK_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout: out, stderr: `${err}\n${e.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: out, stderr: err });
    });
  });
}

/** How whole-stream reads decode with the ffmpeg in use: a hardware decoder that passed its trial, else the CPU. */
export function decodeMethod(): Promise<DecodeMethod> {
  return chooseDecoder(tools().ffmpeg, checkRun, ffmpegVersion);
}

/** The H.264 encoder for a render: a hardware one that passed its trial, else x264. */
export function encodeMethod(o: { width: number; height: number; crf?: number; preset?: Preset }): Promise<EncodeMethod> {
  return chooseEncoder(tools().ffmpeg, checkRun, o, ffmpegVersion);
}

const CPU_DECODE: DecodeMethod = { name: 'cpu', args: [], reason: 'CPU' };
/** Files whose hardware decode failed in this process, and why: they stay on the CPU, so passes agree. */
const cpuOnly = new Map<string, string>();

/** Files that fell back from hardware to CPU decoding at run time, with the reason (for -v and reports). */
export function decodeFallbacks(): ReadonlyMap<string, string> {
  return cpuOnly;
}

/**
 * Decodes `file` to raw frames of a fixed size, one Buffer per frame. The consumer pulls: while it
 * works on a frame the pipe fills and ffmpeg blocks, so memory stays flat however long the video.
 * Whole-stream reads use the hardware decoder when one works; reads of a few frames (maxFrames)
 * stay on the CPU, where opening a GPU context would cost more than the frames. A hardware decode
 * that fails is redone on the CPU from the frame where it stopped (H.264 decoding is bit-exact, so
 * the frames agree), and that file stays on the CPU from then on.
 */
export async function* readFrames(o: FrameStreamOptions): AsyncGenerator<Buffer> {
  // An abort listener added now would never fire, and a read stopped early never looks again.
  if (o.signal?.aborted) throw cancelled();
  const hw = o.maxFrames === undefined && !cpuOnly.has(o.file) ? await decodeMethod() : CPU_DECODE;
  let yielded = 0;
  if (hw.args.length) {
    try {
      for await (const f of decodeOnce(o, hw, 0)) {
        yielded++;
        yield f;
      }
      return;
    } catch (e) {
      const code = e instanceof VidkompyError ? e.code : undefined;
      if (o.signal?.aborted || code === 'CANCELLED' || code === 'ENOENT' || code === 'TOOL_MISSING') throw e;
      const reason = `${hw.name} decoding failed (${(e as Error).message})`;
      cpuOnly.set(o.file, reason);
      note(`${o.file}: ${reason}; decoding on the CPU from frame ${yielded}`);
    }
  }
  yield* decodeOnce(o, CPU_DECODE, yielded);
}

/**
 * How `file` (this version of it) is shown: probe's finding (shownBy.remember), else, for a decode
 * that no probe in this process preceded (a render from a saved alignment, a worker), the stream's
 * shape entries only. Undefined where that fails: the decode itself then reports what is wrong.
 */
export const shownBy = memoByFile<Shown | undefined>(64, async (file) => {
  const args = ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,sample_aspect_ratio,field_order:stream_tags=rotate:stream_side_data=rotation', '-of', 'json', ffmpegPath(file)];
  try {
    const { stdout } = await runTool('ffprobe', args, { file, what: 'probing' });
    const v = (JSON.parse(stdout.toString('utf8')) as { streams?: StreamShape[] }).streams?.[0];
    return v ? shownOf(v) : undefined;
  } catch {
    return undefined;
  }
});

/** One ffmpeg decode; the first `skip` frames are decoded but not handed over (a resumed read). */
async function* decodeOnce(o: FrameStreamOptions, method: DecodeMethod, skip: number): AsyncGenerator<Buffer> {
  const size = frameBytes(o.pixFmt, o.width, o.height);
  const filters = [asShown(o.filter, await shownBy(o.file)), o.onTime ? 'showinfo' : undefined].filter(Boolean).join(',');
  const args = ['-nostdin', '-hide_banner', '-v', o.onTime ? 'info' : 'error', ...(o.analysis ? ['-skip_loop_filter', 'all'] : []),
    ...method.args, ...(o.inputArgs ?? []), ...(o.analysis ? sharedThreadArgs() : threadArgs()),
    '-i', ffmpegPath(o.file), '-map', '0:v:0', '-an', '-sn', '-dn'];
  if (filters) args.push('-vf', filters);
  // Every decoded frame exactly once, in order: frame indices then mean the same in every pass.
  args.push(...(await passthroughArgs()));
  if (o.maxFrames !== undefined) args.push('-frames:v', String(o.maxFrames));
  // One thread for the rawvideo "encoder" (a copy): with frame threads it holds the last frames
  // back until the input ends, so a read whose filter passes only a few frames would wait for the
  // whole rest of the file to be decoded before its last frames arrive.
  args.push('-threads', '1', '-f', 'rawvideo', '-pix_fmt', o.pixFmt, 'pipe:1');
  const bin = tools().ffmpeg;
  const child = spawnTool(bin, args);
  child.stdin.end();
  const counted = recordDecode({ file: o.file, purpose: o.what ?? 'decoding', stream: 'video', width: o.width, height: o.height, decoder: method.name });
  let err = '';
  let partial = '';
  // showinfo's lines come on stderr, the frames on stdout: two pipes that race each other. Times
  // are queued and each frame waits for its own before it is yielded.
  const times: number[] = [];
  let stderrDone = false;
  let wake: (() => void) | undefined;
  child.stderr.on('data', (c: Buffer) => {
    err = keepTail(err, c);
    if (!o.onTime) return;
    const lines = (partial + c.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      const t = showinfoTime(l);
      if (t !== undefined) times.push(t);
    }
    wake?.();
  });
  child.stderr.on('close', () => {
    stderrDone = true;
    wake?.();
  });
  const timeOf = async (k: number): Promise<number> => {
    while (times.length <= k && !stderrDone) await new Promise<void>((r) => (wake = r));
    return times[k] ?? NaN;
  };
  let frame = Buffer.allocUnsafe(size);
  let filled = 0;
  let count = 0;
  for await (const chunk of stdoutOf(child, bin, { ...o, what: o.what ?? 'decoding', stderr: () => err })) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(size - filled, chunk.length - off);
      chunk.copy(frame, filled, off, off + n);
      filled += n;
      off += n;
      if (filled === size) {
        if (counted) counted.frames++;
        if (count < skip) {
          count++;
          filled = 0;
          continue;
        }
        if (o.onTime) o.onTime(await timeOf(count));
        count++;
        yield frame;
        frame = Buffer.allocUnsafe(size);
        filled = 0;
      }
    }
  }
}

export interface AudioStreamOptions {
  file: string;
  /** Samples per second of the mono output. */
  sampleRate: number;
  signal?: AbortSignal;
  what?: string;
}

/**
 * Decodes the first audio stream of `file` to mono float samples at `sampleRate`, chunk by chunk as
 * ffmpeg writes them: the consumer pulls, so memory stays flat however long the sound.
 */
export async function* readAudio(o: AudioStreamOptions): AsyncGenerator<Float32Array> {
  // An abort listener added now would never fire: check first rather than decode it all for nothing.
  if (o.signal?.aborted) throw cancelled();
  const args = ['-nostdin', '-hide_banner', '-v', 'error', ...threadArgs(), '-i', ffmpegPath(o.file), '-map', '0:a:0', '-vn'];
  args.push('-ac', '1', '-ar', String(o.sampleRate), '-f', 'f32le', 'pipe:1');
  const bin = tools().ffmpeg;
  const child = spawnTool(bin, args);
  child.stdin.end();
  recordDecode({ file: o.file, purpose: o.what ?? 'decoding the sound', stream: 'audio', width: 0, height: 0, decoder: 'audio' });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err = keepTail(err, c)));
  // A pipe chunk may end inside a sample: its bytes wait for the next chunk.
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of stdoutOf(child, bin, { ...o, what: o.what ?? 'decoding the sound', stderr: () => err })) {
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const samples = new Float32Array(buf.length >> 2);
    for (let i = 0; i < samples.length; i++) samples[i] = buf.readFloatLE(i * 4);
    carry = buf.subarray(samples.length * 4);
    if (samples.length) yield samples;
  }
}

/**
 * A decoding ffmpeg's stdout, chunk by chunk as the consumer pulls (back-pressure through the pipe),
 * then its exit checked: a cancel as CANCELLED, a failure explained from its stderr. A consumer
 * that stops early (break, an error) must not leave ffmpeg running: it is killed.
 */
async function* stdoutOf(
  child: ChildProcessWithoutNullStreams,
  bin: string,
  o: { file: string; what: string; signal?: AbortSignal; stderr: () => string },
): AsyncGenerator<Buffer> {
  const exited = waitExit(child, bin);
  exited.catch(() => undefined);
  const onAbort = () => child.kill('SIGKILL');
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let done = false;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) yield chunk;
    const [code] = await exited;
    if (o.signal?.aborted) throw cancelled();
    if (code !== 0) throw explainFailure(o.file, o.stderr(), o.what);
    done = true;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    if (!done && child.exitCode === null) child.kill('SIGKILL');
  }
}

export interface FrameSink {
  write(frame: Uint8Array): Promise<void>;
  /** Closes stdin and waits for ffmpeg to finish the file. */
  finish(): Promise<void>;
  abort(): void;
}

/** Spawns an encoder that reads raw frames on stdin; write() resolves when the pipe can take more. */
export function openEncoder(args: string[], outFile: string, signal?: AbortSignal): FrameSink {
  const bin = tools().ffmpeg;
  const child = spawnTool(bin, ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args]);
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err = keepTail(err, c)));
  const exited = waitExit(child, bin);
  exited.catch(() => undefined);
  let broken: Error | undefined;
  child.stdin.on('error', (e) => (broken = e));
  const onAbort = () => child.kill('SIGKILL');
  signal?.addEventListener('abort', onAbort, { once: true });
  const fail = async (): Promise<never> => {
    await exited.catch(() => undefined);
    if (signal?.aborted) throw cancelled();
    const why = lastMeaningful(err.split('\n').filter(Boolean));
    if (/Permission denied|Read-only file system/i.test(err)) {
      throw new VidkompyError('UNWRITABLE', `${outFile}: cannot write the output (${why})`, outFile, { kind: 'output', want: 'writable folder' });
    }
    throw new VidkompyError('ENCODE', `${outFile}: encoding failed (ffmpeg: ${why})`, outFile);
  };
  return {
    async write(frame) {
      if (broken || child.exitCode !== null) return fail();
      if (!child.stdin.write(frame)) {
        // Wait for the pipe to take more, or for ffmpeg to die (then drain never comes).
        let onDrain!: () => void;
        const drained = new Promise<void>((r) => child.stdin.once('drain', (onDrain = r)));
        await Promise.race([drained, exited.catch(() => undefined)]);
        child.stdin.off('drain', onDrain);
        if (child.exitCode !== null) return fail();
      }
    },
    async finish() {
      child.stdin.end();
      const [code] = await exited.catch(() => [1] as [number]);
      signal?.removeEventListener('abort', onAbort);
      if (code !== 0 || broken) return fail();
    },
    abort() {
      signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
