/**
 * The facts of a vidkompy project that every side must agree on — the daemon, the CLI, the
 * extension, the webview, the JSON schemas and package.json — defined here once. Plain data,
 * importing nothing outside protocol/. `test/facts.test.ts` fails when a schema or package.json
 * drifts from these lists.
 */
import type { Engine } from './engines';
export { ENGINES, type Engine } from './engines';

/** The engine of a project that names none, unless the `vidkompy.defaultEngine` setting says otherwise. */
export const DEFAULT_ENGINE: Engine = 'full';

/** Frame descriptors an alignment can compare. */
export const FEATURES = ['pixels', 'hash', 'embedding'] as const;
export type Features = (typeof FEATURES)[number];
export const DEFAULT_FEATURES: Features = 'pixels';

/** Where the sound of a render comes from. */
export const AUDIO_CHOICES = ['auto', 'fg', 'bg', 'none'] as const;
export type AudioChoice = (typeof AUDIO_CHOICES)[number];
export const DEFAULT_AUDIO: AudioChoice = 'auto';

/** The render's canvas: fg's pixels 1:1 (bg scaled around it) or bg's size. */
export const CANVAS_MODES = ['fg', 'bg'] as const;
export type CanvasMode = (typeof CANVAS_MODES)[number];

/** x264 presets, fastest first. */
export const PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;
export type Preset = (typeof PRESETS)[number];
export const DEFAULT_CRF = 18;
export const DEFAULT_PRESET: Preset = 'medium';

/** Tensor layouts of a model's image input. */
export const MODEL_LAYOUTS = ['nchw', 'nhwc'] as const;
export type ModelLayout = (typeof MODEL_LAYOUTS)[number];

/** How to feed frames to an ONNX model; see daemon/embed/model.ts. */
export interface ModelSpec {
  path: string;
  input: string;
  /** Input width and height in pixels. */
  size: [number, number];
  mean: [number, number, number];
  std: [number, number, number];
  output: string;
  layout: ModelLayout;
}

/**
 * An external model's preprocessing when the project or the CLI leaves it out: what a typical
 * ImageNet export takes.
 */
export const MODEL_DEFAULTS: Omit<ModelSpec, 'path'> = {
  input: 'input',
  output: 'output',
  size: [224, 224],
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  layout: 'nchw',
};

/** ONNX Runtime execution providers vidkompy can run a model on (alignments and the status report which ran). */
export const PROVIDERS = ['cpu', 'cuda'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** Where fg's placement came from: the spatial search, or the user (project or CLI). */
export const SPATIAL_METHODS = ['auto', 'manual'] as const;
export type SpatialMethod = (typeof SPATIAL_METHODS)[number];

/**
 * Where fg sits over time: `fixed` one placement for the whole video (a window that moves is
 * refused as 'moving'), `tracked` a placement per frame (a window that pans or zooms over bg),
 * `auto` fixed unless the moving detection fires, then tracked (and reported).
 */
export const PLACEMENT_KINDS = ['fixed', 'tracked'] as const;
/** What an alignment found: an alignment file's `spatial.placement` (absent: fixed). */
export type TrackedPlacement = (typeof PLACEMENT_KINDS)[number];
export const PLACEMENTS = ['auto', ...PLACEMENT_KINDS] as const;
export type PlacementMode = (typeof PLACEMENTS)[number];
export const DEFAULT_PLACEMENT: PlacementMode = 'auto';

/**
 * A project's (and the engine's) anchor, seconds from each video's start: a sync point (`bg`: the
 * frame map passes through it), a placement pin (`x`, `y`: fg's frame corner in bg pixels at that
 * fg time, `scale` optional: the found one), or both. schemas/project.schema.json describes it.
 */
export interface Anchor {
  fg: number;
  bg?: number;
  x?: number;
  y?: number;
  scale?: number;
}

/** Anchor's fields, in the order files write them: test/facts.test.ts holds both project schemas to it. */
export const ANCHOR_FIELDS = ['fg', 'bg', 'x', 'y', 'scale'] as const satisfies readonly (keyof Anchor)[];

/** An anchor that is a sync point. */
export type TimeAnchor = Anchor & { bg: number };
/** An anchor that pins the placement. */
export type PinAnchor = Anchor & { x: number; y: number };

export const isTimeAnchor = (a: Anchor): a is TimeAnchor => typeof a.bg === 'number';
export const isPinAnchor = (a: Anchor): a is PinAnchor => typeof a.x === 'number' && typeof a.y === 'number';

/** An alignment's trust verdict: `unsure` is refused unless forced (daemon/engine/trust.ts). */
export const TRUST_VERDICTS = ['sure', 'unsure'] as const;
export type TrustVerdict = (typeof TRUST_VERDICTS)[number];
/**
 * Why an alignment is unsure: fg unrelated to bg (weak), bg inside fg (swapped), bg too short, a
 * speed no video has, several places in time (ambiguous), a window that moves, two placements in
 * space, a map whose bg frames do not move as fg's frames do (motion).
 */
export const TRUST_PROBLEMS = ['weak', 'swapped', 'bg-short', 'speed', 'ambiguous', 'moving', 'placement', 'motion'] as const;
export type TrustProblem = (typeof TRUST_PROBLEMS)[number];

export const PROJECT_SUFFIX = '.vidkompy.json';
export const ALIGN_SUFFIX = '.vidkompy.align.json';
export const PROJECT_GLOB = `**/*${PROJECT_SUFFIX}`;
export const VIDEO_EXTENSIONS = ['.mp4', '.mov', '.mkv', '.avi', '.mpg', '.mpeg', '.webm', '.m4v'] as const;
export const OUTPUT_EXTENSIONS = ['.mp4', '.m4v', '.mov', '.mkv'] as const;
/** Marks a file being written (renamed into place when done): `.NAME.partial-PID-ID.ext`. */
export const PARTIAL_MARK = '.partial-';
/** Marks one chunk of a render split across workers, beside its output until they are joined: `.NAME.chunk-ID-K.mp4`. */
export const CHUNK_MARK = '.chunk-';

/** The steps of an alignment, in order, and how progress names them. */
export const STAGES = ['probe', 'spatial', 'decode', 'temporal', 'refine'] as const;
export type Stage = (typeof STAGES)[number];
export const STAGE_LABEL: Record<Stage, string> = { probe: 'probing', spatial: 'locating', decode: 'decoding', temporal: 'matching', refine: 'refining' };

/**
 * Hardware decoders vidkompy may use (ffmpeg's `-hwaccel` names), in the order `auto` tries them.
 * Frames come back to system memory (no `-hwaccel_output_format`), so every raw pipe stays as it is.
 */
export const HWACCELS = ['cuda', 'vaapi', 'qsv', 'videotoolbox'] as const;
export type Hwaccel = (typeof HWACCELS)[number];
/** `--hwaccel`: the first hardware decoder whose trial passes, the CPU only, or one by name. */
export const HWACCEL_CHOICES = ['auto', 'none', ...HWACCELS] as const;
export type HwaccelChoice = (typeof HWACCEL_CHOICES)[number];

/** Hardware H.264 encoders vidkompy may use (ffmpeg's names), in the order `auto` tries them. */
export const HW_ENCODERS = ['h264_nvenc', 'h264_qsv', 'h264_vaapi', 'h264_videotoolbox'] as const;
export type HwEncoder = (typeof HW_ENCODERS)[number];
/** `--encoder`: the first hardware encoder whose trial passes, x264 (libx264, the CPU), or one by name. */
export const ENCODER_CHOICES = ['auto', 'x264', ...HW_ENCODERS] as const;
export type EncoderChoice = (typeof ENCODER_CHOICES)[number];
