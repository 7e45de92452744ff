import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  AUDIO_CHOICES,
  DEFAULT_CRF,
  DEFAULT_FEATURES,
  DEFAULT_PRESET,
  ENCODER_CHOICES,
  ENGINES,
  FEATURES,
  HWACCEL_CHOICES,
  MODEL_DEFAULTS,
  MODEL_LAYOUTS,
  PLACEMENTS,
  PRESETS,
  STAGE_LABEL,
  type CanvasMode,
  type ModelSpec,
  type Stage,
} from '../../protocol/project';
import { align, locate, type AlignRequest, type SpatialOptions } from '../align';
import { writeFileAtomic } from '../core/atomic';
import { VidkompyError } from '../core/errors';
import { compose, prepareOutput, type Alignment } from '../engine';
import { alignmentText, readAlignment, savedTrust } from '../store';
import { setNoteSink } from '../core/notes';
import { derive } from '../media/derive';
import { setThreadBudget, tools } from '../media/tools';
import { decodeFallbacks, decodeMethod, reapNow } from '../media/ffmpeg';
import { encoderChoice, hwaccelChoice, setHwPreference } from '../media/hwaccel';
import { progressBar, type Progress } from './progress';
import { fromProjectAlignment } from '../store';
import { checkProjectFiles } from '../project/check';
import { loadProject, runProject } from '../project/jobs';
import { startServer, STDIO_USAGE } from '../server/server';
import { BATCH_HELP, cmdBatch, cmdWorker } from '../batch/cli';
import { VERSION } from '../version';
import { MIN_SECONDS, SELFTEST_DEFAULTS, selftest } from '../selftest/run';
import { formatReport } from '../selftest/report';
import { CASE_NAMES, DEFAULT_START_MAX } from '../selftest/cases';

const MODEL_SIZE = MODEL_DEFAULTS.size.join('x');

const HELP = `vidkompy ${VERSION}: overlay a foreground video onto a background video, aligned in space and time

Usage:
  vidkompy comp --bg BG --fg FG [-o OUT.mp4] [options]   align and render fg over bg
  vidkompy sync --bg BG --fg FG -o ALIGNMENT.json         align only; write the alignment
  vidkompy find FG BG [--json]                            where FG (image or video) sits in BG
  vidkompy demo [DIR]                                     round trip on the bundled sample
  vidkompy check PROJECT.vidkompy.json [...]              check projects: file:line:col: severity: message; exit 1 on errors
  vidkompy run PROJECT.vidkompy.json                      align a project (reusing a fresh saved alignment) and render it
  vidkompy selftest BG [FG] [--seconds N] [--json]        check vidkompy on your footage: known-truth pairs made from it,
                                                          aligned blind and scored (below)
  vidkompy daemon --stdio                                 the language server for editors (LSP over stdio)
${BATCH_HELP}

Alignment options (comp, sync):
  --engine NAME          temporal engine: full (default), mask (ignores static borders and bars),
                         fast (perceptual hashes), precise (pyramid + drift correction),
                         edit (fg is an edit of bg: finds the cuts)
  --features NAME        frame descriptor: pixels (default), hash, embedding (ONNX; built-in model)
  --model FILE.onnx      your own ONNX image model for --features embedding, with
                         --model-input NAME --model-output NAME --model-size WxH (default ${MODEL_SIZE})
                         --model-mean R,G,B --model-std R,G,B (default ImageNet) --model-layout ${MODEL_LAYOUTS.join('|')}
  -w, --window N         search band half-width in bg frames (default: automatic)
  --x-shift X --y-shift Y  place fg's top-left corner at X,Y in bg pixels (skips spatial search)
  --scale S              fg's scale in bg (with --x-shift/--y-shift, or to fix the search's scale)
  --zero-shift           same as --x-shift 0 --y-shift 0 --scale 1
  --unscaled             only consider scale 1 (fg is a same-resolution crop of bg)
  --placement MODE       ${PLACEMENTS.join('|')}: fg's window fixed, or tracked per frame where it pans or
                         zooms over bg (default auto: tracked when one placement does not explain fg)

Render options (comp):
  -o, --output FILE      .mp4, .mov or .mkv (default: BG_overlay_FG.mp4 beside BG)
  -y, --overwrite        replace an existing output that vidkompy did not write (its own are replaced anyway)
  --alignment FILE       also write the alignment JSON; with --use-alignment, read it instead
  --use-alignment FILE   render from a saved alignment without aligning again
  --bg-size              render at bg's size (default: fg's pixels 1:1, bg scaled up around it)
  --smooth               feather fg's edges into bg
  --force                render even when fg decodes fewer frames than it lists (a cut-short file), and
                         keep an alignment vidkompy is unsure of (refused otherwise, with the reason)
  --margin N             feather width in pixels (default 8)
  --audio ${AUDIO_CHOICES.join('|')}  sound source (default auto: fg's, else bg's matched span)
  --crf N                x264 quality (default ${DEFAULT_CRF})   --preset NAME  x264 preset (default ${DEFAULT_PRESET})
  --encoder NAME         ${ENCODER_CHOICES.join('|')} (default auto: a hardware encoder that works, else x264)

Selftest options (selftest BG [FG]; also takes the alignment options above, as a batch would use them):
  --seconds N            length of the excerpt each pair is made from (default ${SELFTEST_DEFAULTS.seconds}, at least ${MIN_SECONDS})
  --start S              where the excerpt starts, seconds (default: the middle of the clip, at most ${DEFAULT_START_MAX} s in)
  --size N               the excerpt's longer side at most, pixels (default ${SELFTEST_DEFAULTS.size})
  --cases A,B            only these cases: ${CASE_NAMES.join(', ')}
  From an excerpt of BG (and of FG, when given) it makes fg clips with known placement and timing:
  crops at scale 0.5, 0.75, 1, 1.25 and 2, another frame rate, an offset, 2% drift, a cut, grading and
  a burnt-in overlay (right pairs), and a rotated crop, an unrelated pattern, bg and fg swapped and a
  bg shorter than fg (wrong pairs); aligns each blind and prints per pair the trust and verdict, the share of fg frames within one bg frame,
  the largest frame error, the time error (ms), the placement (px) and scale (%) error and the seconds
  taken; with FG, also the trust of BG + FG themselves. Temp files go to a private temp folder,
  removed at the end. Exit 0 when every right pair is accepted and accurate (placement within one fg
  pixel, at least 95% of frames within one bg frame) and every wrong pair refused; 1 otherwise.

General:
  --json                 print the result as JSON on stdout
  -v, --verbose          print timings and details
  -q, --quiet            no progress bar
  --threads N            CPU threads for decoding, encoding, kernels and the model (default: all)
  --hwaccel NAME         ${HWACCEL_CHOICES.join('|')}: hardware decoding (default auto: one that works, else the CPU)
  -h, --help, --version

Environment: VIDKOMPY_FFMPEG, VIDKOMPY_FFPROBE override the bundled ffmpeg/ffprobe;
VIDKOMPY_THREADS, VIDKOMPY_HWACCEL, VIDKOMPY_ENCODER are the defaults for --threads, --hwaccel, --encoder.
Exit status: 0 on success, 1 on an error (one line on stderr), 2 on a usage error.`;

const options = {
  bg: { type: 'string' },
  fg: { type: 'string' },
  output: { type: 'string', short: 'o' },
  overwrite: { type: 'boolean', short: 'y' },
  engine: { type: 'string' },
  features: { type: 'string' },
  model: { type: 'string' },
  'model-input': { type: 'string' },
  'model-output': { type: 'string' },
  'model-size': { type: 'string' },
  'model-mean': { type: 'string' },
  'model-std': { type: 'string' },
  'model-layout': { type: 'string' },
  window: { type: 'string', short: 'w' },
  'x-shift': { type: 'string' },
  'y-shift': { type: 'string' },
  scale: { type: 'string' },
  'zero-shift': { type: 'boolean' },
  unscaled: { type: 'boolean' },
  placement: { type: 'string' },
  alignment: { type: 'string' },
  'use-alignment': { type: 'string' },
  'bg-size': { type: 'boolean' },
  smooth: { type: 'boolean' },
  force: { type: 'boolean' },
  margin: { type: 'string' },
  audio: { type: 'string' },
  crf: { type: 'string' },
  preset: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  quiet: { type: 'boolean', short: 'q' },
  threads: { type: 'string' },
  hwaccel: { type: 'string' },
  encoder: { type: 'string' },
  seconds: { type: 'string' },
  start: { type: 'string' },
  cases: { type: 'string' },
  size: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} satisfies ParseArgsConfig['options'];

type Values = ReturnType<typeof parse>['values'];

class UsageError extends Error {}

function parse(argv: string[]) {
  // The Python tool spelled flags with underscores (--x_shift): accept both.
  const args = argv.map((a) => (a.startsWith('--') ? a.replace(/^--([^=]+)/, (_, k: string) => `--${k.replace(/_/g, '-')}`) : a));
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify.*$/s, ''));
  }
}

function num(v: Values, key: keyof Values, { int = false, min = -Infinity, max = Infinity } = {}): number | undefined {
  const raw = v[key];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n)) || n < min || n > max) {
    throw new UsageError(
      `--${key} ${raw}: expected ${int ? 'an integer' : 'a number'}${min > -Infinity ? ` ≥ ${min}` : ''}${max < Infinity ? ` ≤ ${max}` : ''}`,
    );
  }
  return n;
}

function oneOf<T extends string>(v: Values, key: keyof Values, allowed: readonly T[]): T | undefined {
  const raw = v[key] as string | undefined;
  if (raw === undefined) return undefined;
  if (!allowed.includes(raw as T)) throw new UsageError(`--${key} ${raw}: expected one of ${allowed.join(', ')}`);
  return raw as T;
}

function spatialOptions(v: Values): SpatialOptions {
  if (v['zero-shift']) return { x: 0, y: 0, scale: 1 };
  const x = num(v, 'x-shift');
  const y = num(v, 'y-shift');
  if ((x === undefined) !== (y === undefined)) throw new UsageError('give both --x-shift and --y-shift, or neither');
  return { x, y, scale: num(v, 'scale', { min: 0.01, max: 100 }), unscaled: v.unscaled };
}

function alignOptions(v: Values): AlignRequest {
  return {
    ...spatialOptions(v),
    engine: oneOf(v, 'engine', ENGINES),
    window: num(v, 'window', { int: true, min: 1 }),
    features: oneOf(v, 'features', FEATURES),
    model: modelSpec(v),
    placement: oneOf(v, 'placement', PLACEMENTS),
  };
}

/** An external ONNX model from the --model flags (MODEL_DEFAULTS: a typical ImageNet export). */
function modelSpec(v: Values): ModelSpec | undefined {
  if (!v.model) {
    if (v['model-input'] || v['model-output'] || v['model-size'] || v['model-mean'] || v['model-std'] || v['model-layout'])
      throw new UsageError('the --model-* flags need --model FILE.onnx');
    return undefined;
  }
  const triple = (key: 'model-mean' | 'model-std', dflt: [number, number, number]): [number, number, number] => {
    const raw = v[key];
    if (raw === undefined) return dflt;
    const t = raw.split(',').map(Number);
    if (t.length !== 3 || !t.every(Number.isFinite)) throw new UsageError(`--${key} ${raw}: expected three numbers R,G,B`);
    return [t[0], t[1], t[2]];
  };
  const size = (v['model-size'] ?? MODEL_SIZE).split('x').map(Number);
  if (size.length !== 2 || !size.every((n) => Number.isInteger(n) && n > 0))
    throw new UsageError(`--model-size ${v['model-size']}: expected WxH, e.g. 224x224`);
  return {
    path: path.resolve(v.model),
    input: v['model-input'] ?? MODEL_DEFAULTS.input,
    output: v['model-output'] ?? MODEL_DEFAULTS.output,
    size: [size[0], size[1]],
    mean: triple('model-mean', MODEL_DEFAULTS.mean),
    std: triple('model-std', MODEL_DEFAULTS.std),
    layout: oneOf(v, 'model-layout', MODEL_LAYOUTS) ?? MODEL_DEFAULTS.layout,
  };
}

function requireInputs(v: Values): { bg: string; fg: string } {
  if (!v.bg || !v.fg) throw new UsageError('give both --bg BG and --fg FG');
  return { bg: v.bg, fg: v.fg };
}

function reporter(p: Progress): (stage: Stage, f: number) => void {
  return (stage, f) => p.update(STAGE_LABEL[stage], f);
}

/** Where a tracked window ends: its last keyframe. */
function trackEnd(t: NonNullable<Alignment['spatial']['track']>): string {
  const [f, x, y, scale] = t.keys[t.keys.length - 1];
  return `x=${x} y=${y} scale=${scale} at fg frame ${f}`;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function describe(al: Alignment): string {
  const s = al.spatial;
  const t = al.temporal;
  return (
    (s.placement === 'tracked' && s.track
      ? `fg's window moves over bg: placement tracked, ${s.track.keys.length} keyframes from x=${s.x} y=${s.y} scale=${s.scale} to ${trackEnd(s.track)} (confidence ${s.confidence.toFixed(2)}); `
      : `fg at x=${s.x} y=${s.y} scale=${s.scale} (confidence ${s.confidence.toFixed(2)}); `) +
    // A still fg (one frame) has a moment in bg but no speed.
    `bg offset ${t.offsetSeconds.toFixed(3)} s${t.bgFrameForFg.length > 1 ? `, speed ${t.speed.toFixed(4)}` : ''}, ${t.engine} engine on ${t.features ?? DEFAULT_FEATURES}${t.provider ? ` (ONNX on ${t.provider.toUpperCase()})` : ''}, mean confidence ${t.meanConfidence.toFixed(2)}` +
    (t.cuts?.length ? `; cuts at fg frames ${t.cuts.map((c) => c.fg).join(', ')}` : '') +
    (al.trust
      ? `; trust ${al.trust.score.toFixed(2)} (${al.trust.verdict}${al.trust.verdict === 'unsure' ? `, forced: ${al.trust.reasons.join('; ')}` : ''})`
      : '')
  );
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/**
 * Which decoder and encoder ran, and why: for --json and -v. A hardware method asked for by name
 * that fell back is said on stderr even without -v, since the user expected it.
 */
async function hardware(io: Io, v: Values, enc?: { encoder: string; encoderReason: string }) {
  const d = await decodeMethod();
  const falls = [...decodeFallbacks()].map(([f, why]) => `${f}: ${why}, decoded on the CPU`);
  const h = { decoder: d.name, decoderReason: [d.reason, ...falls].join('; '), ...enc };
  const asked = hwaccelChoice();
  if (asked !== 'auto' && asked !== 'none' && d.name === 'cpu') io.err(`vidkompy: --hwaccel ${asked} is not usable here (${d.reason}); decoded on the CPU`);
  const askedEnc = encoderChoice();
  if (enc && askedEnc !== 'auto' && askedEnc !== 'x264' && enc.encoder === 'x264') {
    io.err(`vidkompy: --encoder ${askedEnc} is not usable here (${enc.encoderReason}); encoded with x264`);
  }
  if (v.verbose && !v.json) {
    io.out(`decoder: ${h.decoder} (${h.decoderReason})`);
    if (enc) io.out(`encoder: ${enc.encoder} (${enc.encoderReason})`);
  }
  return h;
}

async function cmdSync(v: Values, io: Io, p: Progress): Promise<void> {
  const { bg, fg } = requireInputs(v);
  if (!v.output) throw new UsageError('sync needs -o ALIGNMENT.json');
  const al = await align(bg, fg, { ...alignOptions(v), force: v.force, onProgress: reporter(p) });
  p.done();
  await writeFileAtomic(v.output, alignmentText(al, v.output));
  const hw = await hardware(io, v);
  if (v.json) {
    const { offsetSeconds, speed } = al.temporal;
    const trust = savedTrust(al.trust);
    io.out(JSON.stringify({ alignment: path.resolve(v.output), spatial: al.spatial, offsetSeconds, speed, trust, timings: al.timings, ...hw }));
  } else {
    io.out(`wrote ${v.output}: ${describe(al)}`);
    if (v.verbose) io.out(`timings (s): ${JSON.stringify(al.timings)}`);
  }
}

async function cmdComp(v: Values, io: Io, p: Progress): Promise<void> {
  let al: Alignment;
  const pinned = v['use-alignment'];
  const inputs = pinned ? undefined : requireInputs(v);
  const output = v.output ?? defaultOutput(inputs?.bg ?? v.bg, inputs?.fg ?? v.fg);
  const renderOpts = {
    canvas: (v['bg-size'] ? 'bg' : 'fg') as CanvasMode,
    smooth: v.smooth,
    force: v.force,
    margin: num(v, 'margin', { int: true, min: 0, max: 1000 }),
    crf: num(v, 'crf', { int: true, min: 0, max: 51 }),
    preset: oneOf(v, 'preset', PRESETS),
    audio: oneOf(v, 'audio', AUDIO_CHOICES),
    overwrite: v.overwrite,
  };
  // Fail on an unwritable (or someone else's) output now, not after minutes of aligning.
  const check = await prepareOutput(output, inputs ? [inputs.bg, inputs.fg] : [], renderOpts);
  await fs.rm(check.temp, { force: true });
  if (pinned) {
    al = await readAlignment(pinned);
  } else {
    al = await align(inputs!.bg, inputs!.fg, { ...alignOptions(v), force: v.force, onProgress: reporter(p) });
    if (v.alignment) await writeFileAtomic(v.alignment, alignmentText(al, v.alignment));
  }
  const r = await compose(al, { ...renderOpts, output, onProgress: (f) => p.update('rendering', f) });
  p.done();
  const hw = await hardware(io, v, { encoder: r.encoder, encoderReason: r.encoderReason });
  if (v.json) {
    const timings = { ...al.timings, render: r.seconds };
    const { offsetSeconds, speed } = al.temporal;
    const { output, width, height, frames, audio } = r;
    const trust = savedTrust(al.trust);
    io.out(JSON.stringify({ output, width, height, frames, audio, spatial: al.spatial, offsetSeconds, speed, trust, timings, ...hw }));
  } else {
    io.out(`wrote ${output} (${r.width}x${r.height}, ${plural(r.frames, 'frame')}, audio: ${r.audio}): ${describe(al)}`);
    if (v.verbose) io.out(`timings (s): ${JSON.stringify({ ...al.timings, render: Number(r.seconds.toFixed(3)) })}`);
  }
}

function defaultOutput(bg?: string, fg?: string): string {
  if (!bg || !fg) throw new UsageError('give -o OUT.mp4');
  const stem = (f: string) => path.basename(f, path.extname(f));
  return path.join(path.dirname(bg), `${stem(bg)}_overlay_${stem(fg)}.mp4`);
}

async function cmdFind(v: Values, io: Io, p: Progress, positionals: string[]): Promise<void> {
  const [fg, bg] = positionals;
  if (!fg || !bg || positionals.length > 2) throw new UsageError('usage: vidkompy find FG BG');
  const opts = { ...spatialOptions(v), onProgress: reporter(p) };
  const l = await locate(bg, fg, opts);
  let r = {
    x: l.placement.x - l.content.x * l.placement.scale,
    y: l.placement.y - l.content.y * l.placement.scale,
    scale: l.placement.scale,
    confidence: l.placement.score,
  };
  // Between two videos a frame matched only roughly in time can pull the placement a pixel or two
  // (a pan looks like a shift): align them in time, which refines the placement on exact pairs.
  // find reports where fg fits best, sure or not: nothing is rendered from it.
  // A still fg is one moment of bg: aligned in time, it is placed on that very frame.
  if (l.bg.frameCount > 1 && l.method === 'auto') r = (await align(bg, fg, { ...opts, force: true }, l)).spatial;
  p.done();
  const out = {
    x: Number(r.x.toFixed(2)),
    y: Number(r.y.toFixed(2)),
    scale: Number(r.scale.toFixed(5)),
    confidence: Number(r.confidence.toFixed(4)),
    contentRect: l.content,
  };
  if (v.json) io.out(JSON.stringify(out));
  else io.out(`x=${out.x} y=${out.y} scale=${out.scale} confidence=${out.confidence.toFixed(3)}`);
}

/** The bundled sample: shipped in the package, found relative to the bundle (dist/) or the source. */
async function sampleFile(): Promise<string> {
  for (const dir of [path.join(__dirname, '..'), path.join(__dirname, '..', '..'), process.cwd()]) {
    const f = path.join(dir, 'media', 'cityCC0.mpg');
    if (await fs.stat(f).catch(() => undefined)) return f;
  }
  throw new VidkompyError('ENOENT', 'media/cityCC0.mpg: the bundled sample is missing; reinstall vidkompy');
}

async function cmdDemo(v: Values, io: Io, p: Progress, positionals: string[]): Promise<void> {
  const dir = path.resolve(positionals[0] ?? 'vidkompy-demo');
  await fs.mkdir(dir, { recursive: true });
  const bg = await sampleFile();
  const fg = path.join(dir, 'fg.mp4');
  if (!v.json) io.out(`demo: deriving a fg from ${path.relative(process.cwd(), bg)}: a 400x240 crop at (151, 83), 30 fps, starting 1.5 s in, graded`);
  p.update('deriving', 0);
  const truth = await derive(bg, fg, {
    crop: { x: 151, y: 83, width: 400, height: 240 },
    fps: 30,
    offset: 1.5,
    grade: { contrast: 1.15, brightness: 0.03, saturation: 1.2 },
  });
  const al = await align(bg, fg, { onProgress: reporter(p) });
  await writeFileAtomic(path.join(dir, 'alignment.json'), alignmentText(al, path.join(dir, 'alignment.json')));
  const out = path.join(dir, 'composite.mp4');
  const r = await compose(al, { output: out, overwrite: v.overwrite, onProgress: (f) => p.update('rendering', f) });
  p.done();
  const map = al.temporal.bgFrameForFg;
  const errs = truth.bgFrameForFg.map((t, i) => Math.abs(map[i] - t));
  const within1 = errs.filter((e) => e <= 1).length / errs.length;
  const summary = {
    truth: { x: truth.x, y: truth.y, scale: truth.scale },
    found: { x: al.spatial.x, y: al.spatial.y, scale: al.spatial.scale },
    framesWithin1: Number((within1 * 100).toFixed(1)),
    maxFrameError: Math.max(...errs),
    output: r.output,
    alignment: path.join(dir, 'alignment.json'),
    timings: { ...al.timings, render: Number(r.seconds.toFixed(3)) },
  };
  if (v.json) io.out(JSON.stringify(summary));
  else {
    io.out(`found: ${describe(al)}`);
    io.out(
      `truth: x=${truth.x} y=${truth.y} scale=${truth.scale}; ${summary.framesWithin1}% of ${errs.length} fg frames within 1 bg frame of the truth (max error ${summary.maxFrameError})`,
    );
    io.out(`wrote ${out} (${r.width}x${r.height}, ${r.frames} frames) and ${summary.alignment} in ${(al.timings.total + r.seconds).toFixed(1)} s`);
  }
}

async function cmdCheck(io: Io, positionals: string[]): Promise<number> {
  if (!positionals.length) throw new UsageError('usage: vidkompy check PROJECT.vidkompy.json [...]');
  const { lines, errors } = await checkProjectFiles(positionals);
  for (const l of lines) io.out(l);
  return errors ? 1 : 0;
}

async function cmdRun(v: Values, io: Io, p: Progress, positionals: string[]): Promise<void> {
  if (positionals.length !== 1) throw new UsageError('usage: vidkompy run PROJECT.vidkompy.json');
  const project = await loadProject(positionals[0]);
  const { alignment, cached, render: r } = await runProject(project, { onAlignProgress: reporter(p), onRenderProgress: (f) => p.update('rendering', f) });
  p.done();
  const al = fromProjectAlignment(alignment, project.file);
  if (v.json) {
    io.out(
      JSON.stringify({
        output: r.output,
        alignment: project.alignmentFile,
        cached,
        width: r.width,
        height: r.height,
        frames: r.frames,
        audio: r.audio,
        spatial: al.spatial,
        offsetSeconds: al.temporal.offsetSeconds,
        speed: al.temporal.speed,
        trust: savedTrust(al.trust),
      }),
    );
  } else {
    io.out(
      `wrote ${r.output} (${r.width}x${r.height}, ${plural(r.frames, 'frame')}, audio: ${r.audio}) with ${cached ? 'the saved' : 'a new'} alignment ${project.alignmentFile}: ${describe(al)}`,
    );
  }
}

async function cmdSelftest(v: Values, io: Io, p: Progress, positionals: string[]): Promise<number> {
  const [bg, fg] = positionals;
  if (!bg || positionals.length > 2) throw new UsageError('usage: vidkompy selftest BG [FG]');
  if (v['x-shift'] !== undefined || v['y-shift'] !== undefined || v.scale !== undefined || v['zero-shift'])
    throw new UsageError('selftest finds each placement itself: --x-shift, --y-shift, --scale and --zero-shift do not apply');
  const cases = v.cases?.split(',').map((c) => c.trim());
  const unknown = cases?.find((c) => !CASE_NAMES.includes(c));
  if (unknown !== undefined) throw new UsageError(`--cases: no case '${unknown}' (the cases: ${CASE_NAMES.join(', ')})`);
  const r = await selftest({
    bg,
    fg,
    cases,
    seconds: num(v, 'seconds', { min: MIN_SECONDS, max: 600 }) ?? SELFTEST_DEFAULTS.seconds,
    start: num(v, 'start', { min: 0 }),
    size: num(v, 'size', { int: true, min: 160, max: 4096 }) ?? SELFTEST_DEFAULTS.size,
    align: alignOptions(v),
    onProgress: (label, f) => p.update(label, f),
  });
  p.done();
  if (v.json) io.out(JSON.stringify(r));
  else for (const l of formatReport(r)) io.out(l);
  return r.summary.passed ? 0 : 1;
}

/** Never resolves: the server ends the process when the client says exit (or closes stdin). */
function cmdDaemon(args: string[]): Promise<number> {
  if (!args.includes('--stdio')) throw new UsageError(STDIO_USAGE);
  startServer();
  return new Promise<number>(() => undefined);
}

export async function main(
  argv: string[],
  io: Io = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') },
): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    io.out(HELP);
    return cmd ? 0 : 2;
  }
  if (cmd === '--version') {
    io.out(VERSION);
    return 0;
  }
  let p: Progress | undefined;
  // A queue worker stops gracefully on SIGTERM (its own handler): it finishes or hands back its job.
  const stopSignals = cmd === 'daemon' || cmd === 'worker' ? () => undefined : exitOnSignals(io, () => p?.done());
  try {
    // The client adds its own flags (--clientProcessId=N): the daemon takes its arguments as they come.
    if (cmd === 'daemon') return await cmdDaemon(rest);
    if (cmd === 'batch') return await cmdBatch(rest, io);
    if (cmd === 'worker') return await cmdWorker(rest, io);
    const { values: v, positionals } = parse(rest);
    if (v.help) {
      io.out(HELP);
      return 0;
    }
    const threads = num(v, 'threads', { int: true, min: 1, max: 1024 });
    if (threads !== undefined) setThreadBudget(threads);
    setHwPreference({ hwaccel: oneOf(v, 'hwaccel', HWACCEL_CHOICES), encoder: oneOf(v, 'encoder', ENCODER_CHOICES) });
    p = progressBar(!v.quiet && !v.json);
    if (v.verbose) io.err(`ffmpeg: ${tools().ffmpeg}\nffprobe: ${tools().ffprobe}`);
    setNoteSink(v.verbose ? io.err : undefined);
    const needsNoPositionals = () => {
      if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    };
    switch (cmd) {
      case 'comp':
        needsNoPositionals();
        await cmdComp(v, io, p);
        break;
      case 'sync':
        needsNoPositionals();
        await cmdSync(v, io, p);
        break;
      case 'find':
      case 'align':
        await cmdFind(v, io, p, positionals);
        break;
      case 'demo':
        await cmdDemo(v, io, p, positionals);
        break;
      case 'check':
        return await cmdCheck(io, positionals);
      case 'run':
        await cmdRun(v, io, p, positionals);
        break;
      case 'selftest':
        return await cmdSelftest(v, io, p, positionals);
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
    return 0;
  } catch (e) {
    p?.done();
    if (e instanceof UsageError) {
      io.err(`vidkompy: ${e.message} (see vidkompy --help)`);
      return 2;
    }
    if (e instanceof VidkompyError) {
      io.err(`vidkompy: ${e.message}`);
      return 1;
    }
    io.err(`vidkompy: internal error: ${(e as Error).stack ?? e}`);
    return 1;
  } finally {
    stopSignals();
  }
}

/**
 * Ctrl-C / SIGTERM: ffmpeg children would otherwise finish (or keep) a truncated file and the temp
 * output would stay behind. Kill them, remove the temps, one line, exit 128+signal. Synchronous:
 * nothing awaited in the middle of a render would ever run.
 */
function exitOnSignals(io: Io, clearProgress: () => void): () => void {
  const codes = { SIGINT: 130, SIGTERM: 143 } as const;
  const on = (sig: keyof typeof codes) => {
    reapNow();
    clearProgress();
    io.err(`vidkompy: interrupted (${sig}); stopped ffmpeg and removed the partial output`);
    process.exit(codes[sig]);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return () => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  };
}
