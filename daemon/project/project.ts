import path from 'node:path';
import {
  ALIGN_SUFFIX,
  DEFAULT_ENGINE,
  DEFAULT_FEATURES,
  MODEL_DEFAULTS,
  OUTPUT_EXTENSIONS as OUTPUTS,
  PROJECT_SUFFIX,
  VIDEO_EXTENSIONS as VIDEOS,
  type Anchor,
  type AudioChoice,
  type CanvasMode,
  type Engine,
  type Features,
  type ModelSpec,
  type PlacementMode,
  type Preset,
} from '../../protocol/project';
import { ENGINES, FEATURES } from '../../protocol/project';
import type { AlignRequest } from '../align';
import { VidkompyError } from '../core/errors';
import type { ComposeOptions } from '../engine';

// The daemon imports these project facts from here; protocol/project.ts defines them.
export { ALIGN_SUFFIX, MODEL_DEFAULTS, PROJECT_SUFFIX, type Preset } from '../../protocol/project';
/** Engines a project may name (the schema's list); the engine's `ENGINES` says which this version runs. */
export { ENGINES as PROJECT_ENGINES, type Engine as ProjectEngine } from '../../protocol/project';
/** Widened to plain strings so any file's extension can be looked up without a cast. */
export const VIDEO_EXTENSIONS: readonly string[] = VIDEOS;
export const OUTPUT_EXTENSIONS: readonly string[] = OUTPUTS;

/** A `*.vidkompy.json` file as written; `schemas/project.schema.json` describes it. */
export interface ProjectFile {
  $schema?: string;
  bg: string;
  fg: string;
  output?: string;
  engine?: Engine;
  window?: number;
  spatial?: { x?: number; y?: number; scale?: number; unscaled?: boolean };
  features?: Features;
  model?: Partial<ModelSpec> & { path: string };
  audio?: AudioChoice;
  render?: { crf?: number; preset?: Preset; canvas?: CanvasMode; smooth?: boolean; margin?: number };
  anchors?: Anchor[];
  /** Where fg sits over time (protocol/project.ts PLACEMENTS; default auto). */
  placement?: PlacementMode;
  /** Keep an alignment the engine is unsure of (see engine/trust.ts). */
  force?: boolean;
}

export type { Anchor } from '../../protocol/project';

export function isProjectFile(file: string): boolean {
  return file.endsWith(PROJECT_SUFFIX);
}

/** `demo` for `demo.vidkompy.json` (any other name keeps its stem). */
export function projectName(file: string): string {
  const base = path.basename(file);
  return base.endsWith(PROJECT_SUFFIX) ? base.slice(0, -PROJECT_SUFFIX.length) : path.basename(base, path.extname(base));
}

export function alignmentFileOf(projectFile: string): string {
  return path.join(path.dirname(path.resolve(projectFile)), projectName(projectFile) + ALIGN_SUFFIX);
}

/** A path as the project writes it: relative to the project's folder, `/`-separated. */
export function relativeToProject(projectFile: string, file: string): string {
  return path.relative(path.dirname(path.resolve(projectFile)), path.resolve(file)).split(path.sep).join('/') || '.';
}

/** A project with every path absolute and every default filled in: what the jobs run on. */
export interface ResolvedProject {
  file: string;
  bg: string;
  fg: string;
  output: string;
  alignmentFile: string;
  engine: Engine;
  features: Features;
  /** The external ONNX model, absolute, defaults filled in (undefined: the built-in one). */
  model?: ModelSpec;
  data: ProjectFile;
}

export function resolveProject(file: string, data: ProjectFile, defaultEngine: Engine = DEFAULT_ENGINE): ResolvedProject {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  return {
    file: abs,
    bg: path.resolve(dir, data.bg),
    fg: path.resolve(dir, data.fg),
    output: path.resolve(dir, data.output ?? `${projectName(abs)}.mp4`),
    alignmentFile: alignmentFileOf(abs),
    engine: data.engine ?? defaultEngine,
    features: data.features ?? DEFAULT_FEATURES,
    model: data.model && { ...MODEL_DEFAULTS, ...data.model, path: path.resolve(dir, data.model.path) },
    data,
  };
}

/**
 * Why this version cannot align the project as written, if it cannot: one sentence per problem.
 * The schema knows every engine and descriptor of the family; the engine says which it has.
 */
export function unavailable(p: { engine: string; features: string }, engines: readonly string[] = ENGINES, features: readonly string[] = FEATURES): string[] {
  const out: string[] = [];
  if (!engines.includes(p.engine)) out.push(`engine "${p.engine}" is not available in this version; use ${engines.map((e) => `"${e}"`).join(', ')}`);
  if (!features.includes(p.features)) out.push(`features "${p.features}" is not available in this version; use ${features.map((f) => `"${f}"`).join(', ')}`);
  return out;
}

/** The engine options for the project, refusing what this version cannot run. */
export function alignOptionsOf(p: ResolvedProject): AlignRequest {
  const why = unavailable(p);
  if (why.length) throw new VidkompyError('BAD_ARGS', `${p.file}: ${why.join('; ')}`, p.file);
  const s = p.data.spatial ?? {};
  return {
    engine: p.engine as Engine,
    features: p.features,
    model: p.features === 'embedding' ? p.model : undefined,
    window: p.data.window,
    x: s.x,
    y: s.y,
    scale: s.scale,
    unscaled: s.unscaled,
    anchors: p.data.anchors,
    placement: p.data.placement,
    force: p.data.force,
  };
}

export function composeOptionsOf(p: ResolvedProject): ComposeOptions {
  const r = p.data.render ?? {};
  return { output: p.output, canvas: r.canvas, smooth: r.smooth, margin: r.margin, crf: r.crf, preset: r.preset, audio: p.data.audio };
}
