import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_CRF,
  DEFAULT_PRESET,
  ENCODER_CHOICES,
  HW_ENCODERS,
  HWACCEL_CHOICES,
  HWACCELS,
  type EncoderChoice,
  type HwEncoder,
  type Hwaccel,
  type HwaccelChoice,
  type Preset,
} from '../../protocol/project';
import { writeFileAtomic } from '../core/atomic';

/**
 * Hardware decoding and encoding, when the ffmpeg in use offers it and it works on this machine.
 * Offering is not working: a static ffmpeg lists vaapi on a server without a GPU, and an NVENC build
 * lists h264_nvenc where no NVIDIA driver is loaded. So every method is tried once on a tiny input,
 * the outcome (with the reason a method failed) kept in memory and on disk per ffmpeg path, version
 * and host, and the CPU is used whenever nothing passes. Spawning stays in ffmpeg.ts, which passes
 * its runner in (this module importing ffmpeg.ts would make an import circle).
 */

export interface RunOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}
/** Runs ffmpeg with these arguments and never throws: a failure is a non-zero code and its stderr. */
export type Runner = (args: string[]) => Promise<RunOutcome>;
/** `ffmpeg -version`, asked once by the caller (the version check wants it too); default: run it. */
export type VersionQuery = () => Promise<RunOutcome>;

export interface DecodeMethod {
  name: Hwaccel | 'cpu';
  /** Input options, before -i. */
  args: string[];
  /** Why this method: the trial that passed, or what ruled each hardware decoder out. */
  reason: string;
}

export interface EncodeMethod {
  name: HwEncoder | 'x264';
  /** Output options for the video stream: codec, quality, speed, pixel format. */
  args: string[];
  reason: string;
}

export interface Trial {
  ok: boolean;
  reason: string;
}

/** What one ffmpeg binary offers and what worked, as kept on disk. */
interface Report {
  ffmpeg: string;
  version: string;
  host: string;
  checked: number;
  hwaccels?: string[];
  encoders?: string[];
  decode: Partial<Record<Hwaccel, Trial>>;
  encode: Partial<Record<HwEncoder, Trial>>;
}

/** A day: a driver installed or a GPU added is noticed by tomorrow (or at once, by deleting the file). */
const REPORT_TTL_MS = 24 * 3600 * 1000;
/**
 * Hardware H.264 encoders take at most 4096 pixels a side (NVENC, Quick Sync, most VA-API drivers),
 * while a canvas may reach 7680: larger ones go to x264 without asking.
 */
export const HW_ENCODE_MAX_SIDE = 4096;
const FAILED = new RegExp(
  'Failed setup for format|hwaccel initiali[sz]ation returned error|cannot be initiali[sz]ed|Device creation failed|No device available' +
    '|Could not dynamically load|Cannot load|Failed to (?:create|open|initiali[sz]e|get)',
  'i',
);

let preference: { hwaccel?: HwaccelChoice; encoder?: EncoderChoice } = {};
let cacheDirOverride: string | false | undefined;
const reports = new Map<string, Promise<Report>>();
const chosen = new Map<string, Promise<DecodeMethod | Omit<EncodeMethod, 'args'>>>();

/**
 * What the user asked for (the CLI's --hwaccel/--encoder); undefined: VIDKOMPY_HWACCEL /
 * VIDKOMPY_ENCODER, else auto. Set on every CLI run, so one in-process run never leaks into the next.
 */
export function setHwPreference(p: { hwaccel?: HwaccelChoice; encoder?: EncoderChoice }): void {
  preference = { ...p };
  chosen.clear();
}

export function hwaccelChoice(): HwaccelChoice {
  const env = process.env.VIDKOMPY_HWACCEL as HwaccelChoice | undefined;
  return preference.hwaccel ?? (env && HWACCEL_CHOICES.includes(env) ? env : 'auto');
}

export function encoderChoice(): EncoderChoice {
  const env = process.env.VIDKOMPY_ENCODER as EncoderChoice | undefined;
  return preference.encoder ?? (env && ENCODER_CHOICES.includes(env) ? env : 'auto');
}

/** Where reports are kept: a folder, false for memory only, undefined for the default. For tests and the daemon's setting. */
export function setHwCacheDirectory(dir: string | false | undefined): void {
  cacheDirOverride = dir;
  reports.clear();
  chosen.clear();
}

/** $XDG_CACHE_HOME/vidkompy, else ~/.cache/vidkompy: the embedding cache's folder (daemon/embed/cache.ts). */
function cacheDir(): string | false {
  if (cacheDirOverride !== undefined) return cacheDirOverride;
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'vidkompy');
}

/** Names under "Hardware acceleration methods:" in `ffmpeg -hwaccels`. */
export function parseHwaccels(stdout: string): string[] {
  const lines = stdout.split('\n').map((l) => l.trim());
  const at = lines.findIndex((l) => /acceleration methods/i.test(l));
  return lines.slice(at + 1).filter((l) => /^[\w-]+$/.test(l));
}

/** Video encoder names in `ffmpeg -encoders` (" V....D h264_nvenc  NVIDIA NVENC ..."). */
export function parseEncoders(stdout: string): string[] {
  return [...stdout.matchAll(/^\s*V[A-Z.]{5}\s+([\w-]+)\s/gm)].map((m) => m[1]);
}

/**
 * The line of stderr that names the cause: the first complaint, since ffmpeg follows a device that
 * will not open ("No VA display found for device") with consequences ("Error parsing global options").
 */
function why(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const bad = lines.filter((l) => /error|fail|invalid|not|unable|cannot|\bno\b.*\b(?:found|available)\b|timed out/i.test(l));
  return (bad[0] ?? lines[lines.length - 1] ?? 'no message').replace(/^\[[^\]]+\]\s*/, '').slice(0, 200);
}

const tier = (p: Preset, fast: string, medium: string, slow: string) => {
  const i = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'].indexOf(p);
  return i < 3 ? fast : i < 6 ? medium : slow;
};

/**
 * The encoder's output options for --crf and --preset, which are x264's scales. Hardware encoders
 * get their nearest constant-quality mode at the same number and a speed tier, not x264's exact
 * quality: files differ in size at the same number. Pixel formats: NVENC and VideoToolbox take
 * yuv420p as x264 does; Quick Sync wants nv12; VA-API wants frames uploaded to the GPU.
 */
export function encoderArgs(name: HwEncoder | 'x264', crf = DEFAULT_CRF, preset: Preset = DEFAULT_PRESET): string[] {
  const q = String(crf);
  switch (name) {
    case 'x264':
      return ['-c:v', 'libx264', '-crf', q, '-preset', preset, '-pix_fmt', 'yuv420p'];
    case 'h264_nvenc':
      // Legacy preset names: both 2018 and current ffmpeg accept them.
      return ['-c:v', 'h264_nvenc', '-rc', 'vbr', '-cq', q, '-b:v', '0', '-preset', tier(preset, 'fast', 'medium', 'slow'), '-pix_fmt', 'yuv420p'];
    case 'h264_qsv':
      return ['-c:v', 'h264_qsv', '-global_quality', q, '-preset', tier(preset, 'veryfast', 'medium', 'veryslow'), '-pix_fmt', 'nv12'];
    case 'h264_vaapi':
      // -vaapi_device is a global option, valid anywhere on the command line.
      return ['-vaapi_device', process.env.VIDKOMPY_VAAPI_DEVICE || '/dev/dri/renderD128', '-vf', 'format=nv12,hwupload', '-c:v', 'h264_vaapi', '-qp', q];
    case 'h264_videotoolbox':
      // VideoToolbox's constant quality runs 1..100, higher is better (Apple silicon only: Intel Macs fail the trial).
      return ['-c:v', 'h264_videotoolbox', '-q:v', String(Math.max(1, Math.min(100, Math.round(100 - crf * 1.9)))), '-pix_fmt', 'yuv420p'];
  }
}

function reportFile(dir: string, ffmpeg: string, version: string): string {
  const key = createHash('sha256').update(`${ffmpeg}\0${version}\0${os.hostname()}`).digest('hex').slice(0, 16);
  return path.join(dir, 'hwaccel', `${key}.json`);
}

async function loadReport(ffmpeg: string, askVersion: VersionQuery): Promise<Report> {
  const v = await askVersion();
  const version = v.code === 0 ? (v.stdout.split('\n')[0] ?? '').trim() : '';
  const fresh: Report = { ffmpeg, version, host: os.hostname(), checked: Date.now(), decode: {}, encode: {} };
  const dir = cacheDir();
  if (!version || !dir) return fresh;
  try {
    const r = JSON.parse(await fs.readFile(reportFile(dir, ffmpeg, version), 'utf8')) as Report;
    const ok = r && r.ffmpeg === ffmpeg && r.version === version && r.host === fresh.host && typeof r.decode === 'object' && typeof r.encode === 'object';
    if (ok && Date.now() - r.checked < REPORT_TTL_MS) return r;
  } catch {
    // Absent or unreadable: detected again.
  }
  return fresh;
}

async function saveReport(r: Report): Promise<void> {
  const dir = cacheDir();
  if (!dir || !r.version) return;
  const file = reportFile(dir, r.ffmpeg, r.version);
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, JSON.stringify(r, null, 2) + '\n');
  } catch {
    // A read-only cache costs a re-detection next time, nothing else.
  }
}

function report(ffmpeg: string, version: VersionQuery): Promise<Report> {
  let p = reports.get(ffmpeg);
  if (!p) {
    p = loadReport(ffmpeg, version);
    reports.set(ffmpeg, p);
  }
  return p;
}

/** A tiny H.264 clip to decode; H.264 because that is what hardware decoders take first. */
async function trialClip(run: Runner): Promise<{ file: string; error?: string; done: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vidkompy-hw-'));
  const file = path.join(dir, 'trial.mp4');
  // 256x144: above every hardware decoder's minimum size.
  const source = ['-f', 'lavfi', '-i', 'testsrc=s=256x144:r=25:d=0.2'];
  const r = await run(['-nostdin', '-hide_banner', '-v', 'error', ...source, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', 'file:' + file]);
  const done = () => fs.rm(dir, { recursive: true, force: true });
  return r.code === 0 ? { file, done } : { file, error: `could not make a test clip (${why(r.stderr)})`, done };
}

/** Decodes the clip with `-hwaccel name` as our pipes do (frames back in memory, scaled on the CPU). */
async function trialDecode(name: Hwaccel, clip: { file: string; error?: string }, run: Runner): Promise<Trial> {
  if (clip.error) return { ok: false, reason: clip.error };
  // -v warning: libavcodec falls back to software silently at error level, so its warning is the failure.
  const input = ['-hwaccel', name, '-i', 'file:' + clip.file];
  const r = await run(['-nostdin', '-hide_banner', '-v', 'warning', ...input, '-vf', 'scale=32:32,format=gray', '-f', 'null', '-']);
  if (r.code !== 0 || FAILED.test(r.stderr)) return { ok: false, reason: `trial decode failed (${why(r.stderr)})` };
  return { ok: true, reason: 'trial decode passed' };
}

async function trialEncode(name: HwEncoder, run: Runner): Promise<Trial> {
  // 256x256: NVENC refuses frames below its minimum size (e.g. 145 pixels wide on some GPUs).
  const source = ['-f', 'lavfi', '-i', 'color=s=256x256:d=0.04'];
  const r = await run(['-nostdin', '-hide_banner', '-v', 'error', ...source, ...encoderArgs(name), '-frames:v', '1', '-f', 'null', '-']);
  if (r.code !== 0) return { ok: false, reason: `trial encode failed (${why(r.stderr)})` };
  return { ok: true, reason: 'trial encode passed' };
}

const listed = (l: string[]) => (l.length ? l.join(', ') : 'none');

/** The decoder for whole-stream reads: the preference, checked once per ffmpeg; the CPU when nothing passes. */
export function chooseDecoder(ffmpeg: string, run: Runner, version: VersionQuery = () => run(['-hide_banner', '-version'])): Promise<DecodeMethod> {
  const choice = hwaccelChoice();
  const key = `decode\0${ffmpeg}\0${choice}`;
  let p = chosen.get(key) as Promise<DecodeMethod> | undefined;
  if (!p) {
    p = pickDecoder(ffmpeg, run, version, choice);
    chosen.set(key, p);
  }
  return p;
}

async function pickDecoder(ffmpeg: string, run: Runner, version: VersionQuery, choice: HwaccelChoice): Promise<DecodeMethod> {
  const cpu = (reason: string): DecodeMethod => ({ name: 'cpu', args: [], reason });
  if (choice === 'none') return cpu('hardware decoding off (hwaccel none)');
  const r = await report(ffmpeg, version);
  if (!r.hwaccels) {
    const h = await run(['-hide_banner', '-hwaccels']);
    r.hwaccels = h.code === 0 ? parseHwaccels(h.stdout) : [];
  }
  const offered = r.hwaccels;
  const candidates = choice === 'auto' ? HWACCELS.filter((h) => offered.includes(h)) : [choice];
  if (!candidates.length) return cpu(`this ffmpeg offers none of ${HWACCELS.join(', ')} (its -hwaccels: ${listed(offered)})`);
  if (choice !== 'auto' && !offered.includes(choice)) return cpu(`this ffmpeg does not offer ${choice} (its -hwaccels: ${listed(offered)})`);
  const failed: string[] = [];
  let clip: Awaited<ReturnType<typeof trialClip>> | undefined;
  try {
    for (const h of candidates) {
      let t = r.decode[h];
      if (!t) {
        clip ??= await trialClip(run);
        t = r.decode[h] = await trialDecode(h, clip, run);
      }
      if (t.ok) return { name: h, args: ['-hwaccel', h], reason: `${h}: ${t.reason}` };
      failed.push(`${h}: ${t.reason}`);
    }
  } finally {
    await clip?.done();
    await saveReport(r);
  }
  return cpu(failed.join('; '));
}

/** The encoder for a render of `width`×`height`: the preference, checked once per ffmpeg; x264 when nothing passes. */
export async function chooseEncoder(
  ffmpeg: string,
  run: Runner,
  o: { width: number; height: number; crf?: number; preset?: Preset },
  version: VersionQuery = () => run(['-hide_banner', '-version']),
): Promise<EncodeMethod> {
  const choice = encoderChoice();
  const with_ = (m: Omit<EncodeMethod, 'args'>): EncodeMethod => ({ ...m, args: encoderArgs(m.name, o.crf, o.preset) });
  if (choice === 'x264') return with_({ name: 'x264', reason: 'x264 asked for (encoder x264)' });
  if (Math.max(o.width, o.height) > HW_ENCODE_MAX_SIDE) {
    return with_({ name: 'x264', reason: `${o.width}x${o.height} is larger than hardware H.264 encoders take (${HW_ENCODE_MAX_SIDE} a side)` });
  }
  const key = `encode\0${ffmpeg}\0${choice}`;
  let p = chosen.get(key) as Promise<Omit<EncodeMethod, 'args'>> | undefined;
  if (!p) {
    p = pickEncoder(ffmpeg, run, version, choice);
    chosen.set(key, p);
  }
  return with_(await p);
}

async function pickEncoder(
  ffmpeg: string,
  run: Runner,
  version: VersionQuery,
  choice: Exclude<EncoderChoice, 'x264'>,
): Promise<Omit<EncodeMethod, 'args'>> {
  const x264 = (reason: string): Omit<EncodeMethod, 'args'> => ({ name: 'x264', reason });
  const r = await report(ffmpeg, version);
  if (!r.encoders) {
    const e = await run(['-hide_banner', '-encoders']);
    r.encoders = e.code === 0 ? parseEncoders(e.stdout).filter((n) => (HW_ENCODERS as readonly string[]).includes(n)) : [];
  }
  const offered = r.encoders;
  const candidates = choice === 'auto' ? HW_ENCODERS.filter((e) => offered.includes(e)) : [choice];
  if (!candidates.length) return x264(`this ffmpeg offers none of ${HW_ENCODERS.join(', ')}`);
  if (choice !== 'auto' && !offered.includes(choice)) return x264(`this ffmpeg does not offer ${choice} (its hardware H.264 encoders: ${listed(offered)})`);
  const failed: string[] = [];
  try {
    for (const e of candidates) {
      const t = (r.encode[e] ??= await trialEncode(e, run));
      if (t.ok) return { name: e, reason: `${e}: ${t.reason}` };
      failed.push(`${e}: ${t.reason}`);
    }
  } finally {
    await saveReport(r);
  }
  return x264(failed.join('; '));
}
