import { promises as fs } from 'node:fs';
import path from 'node:path';
import { VidkompyError } from '../core/errors';
import type { Features, ModelSpec, PlacementMode } from '../../protocol/project';
import { subFrame, timeAt, type Alignment, type VideoSummary } from '../engine';
import { checkedJson } from './checked';
import { round } from '../core/numbers';
import type { Engine } from '../../protocol/project';
import type { Rect } from '../core/geometry';
import { cachedHash, type FileHash } from '../project/filecache';
import { decodeMap, encodeMap, type Segment } from './frameMap';
import { savedTrust } from './alignmentFile';
import type { Trust } from '../engine/trust';
import { relativeToProject, type Anchor, type ResolvedProject } from '../project/project';
import { validateAlignmentFile } from '../project/schema';

/**
 * `NAME.vidkompy.align.json`: a project's alignment, made to be committed. Everything in it follows
 * from the inputs' content and the options, so aligning twice writes the same bytes; what would
 * change from run to run or machine to machine (timings, dates, absolute paths) stays out.
 * `schemas/project-alignment.schema.json` describes it.
 */

/** An input as recorded: its file and content hash, and the engine's probe summary of it. */
export interface InputRecord extends FileRecord, Omit<VideoSummary, 'file'> {}

/** The options that shape an alignment; render options do not, and are not here. */
export interface AlignmentOptionsRecord {
  engine: Engine;
  features: Features;
  /** The external model's preprocessing, its path relative to the project (embedding only). */
  model?: Omit<ModelSpec, 'path'> & { file: string };
  window?: number;
  spatial?: { x?: number; y?: number; scale?: number; unscaled?: boolean };
  anchors?: Anchor[];
  /** The project's placement mode, when it set one (absent: auto). */
  placement?: PlacementMode;
}

type Cut = NonNullable<Alignment['temporal']['cuts']>[number];

export interface ProjectAlignment {
  version: 1;
  project: string;
  inputs: { bg: InputRecord; fg: InputRecord & { contentRect: Rect }; model?: FileRecord };
  options: AlignmentOptionsRecord;
  spatial: Alignment['spatial'];
  temporal: {
    engine: Engine;
    features: Features;
    offsetSeconds: number;
    speed: number;
    meanConfidence: number;
    frames: number;
    segments: Segment[];
    exceptions: [number, number][];
    bgTimeForFg?: number[];
    confidence: number[];
    cuts?: Cut[];
    uncertain?: [number, number][];
  };
  trust?: Trust;
}

/** A file the alignment depends on: where, and its content. */
export interface FileRecord {
  file: string;
  sha256: string;
  size: number;
}

/** Keys always in this order and nothing undefined: equal options serialise to equal strings. */
export function optionsRecord(o: AlignmentOptionsRecord): AlignmentOptionsRecord {
  const s = o.spatial;
  const spatial = s && { x: s.x, y: s.y, scale: s.scale, unscaled: s.unscaled };
  const m = o.model;
  const defined = <T extends object>(v: T | undefined) =>
    v && Object.values(v).some((e) => e !== undefined) ? (JSON.parse(JSON.stringify(v)) as T) : undefined;
  return {
    engine: o.engine,
    features: o.features,
    model: m && { file: m.file, input: m.input, output: m.output, size: m.size, mean: m.mean, std: m.std, layout: m.layout },
    window: o.window,
    spatial: defined(spatial),
    anchors: o.anchors?.length ? o.anchors.map((a) => defined({ fg: a.fg, bg: a.bg, x: a.x, y: a.y, scale: a.scale })!) : undefined,
    placement: o.placement,
  };
}

/** The options a project asks for now, in the record's form. */
export function projectOptionsRecord(p: ResolvedProject): AlignmentOptionsRecord {
  const m = p.features === 'embedding' ? p.model : undefined;
  return optionsRecord({
    engine: p.engine as Engine,
    features: p.features,
    model: m && { ...m, file: relativeToProject(p.file, m.path) },
    window: p.data.window,
    spatial: p.data.spatial,
    anchors: p.data.anchors,
    placement: p.data.placement,
  });
}

function inputRecord(projectFile: string, v: VideoSummary, h: FileHash): InputRecord {
  return {
    file: relativeToProject(projectFile, v.file),
    sha256: h.sha256,
    size: h.size,
    width: v.width,
    height: v.height,
    fps: v.fps,
    fpsRational: v.fpsRational,
    frameCount: v.frameCount,
    duration: v.duration,
    vfr: v.vfr,
    hasAudio: v.hasAudio,
  };
}

const frameTime = (frame: number, fps: number) => round(frame / fps, 6);

/**
 * The sub-frame bg times of a map over a constant-rate bg (temporal/subframe.ts): what the engine
 * reports for such a bg, so a file need not store them and can rebuild them from the map.
 */
function steadyTimes(map: number[], cuts: Cut[] | undefined, fps: number): number[] {
  const last = Math.max(...map, 0) + 1;
  return Array.from(subFrame(map, (cuts ?? []).map((c) => c.fg)), (f) => round(timeAt(f, (j) => frameTime(j, fps), last), 6));
}

export function toProjectAlignment(al: Alignment, p: ResolvedProject, hashes: InputHashes): ProjectAlignment {
  const t = al.temporal;
  const map = t.bgFrameForFg;
  const { segments, exceptions } = encodeMap(map);
  // Constant-rate bg: the times follow from the frames, and only a variable-rate bg needs them kept.
  const follow = steadyTimes(map, t.cuts, al.bg.fps);
  const timesFollow = t.bgTimeForFg.every((s, i) => Math.abs(s - follow[i]) < 1e-6);
  return {
    version: 1,
    project: path.basename(p.file),
    inputs: {
      bg: inputRecord(p.file, al.bg, hashes.bg),
      fg: { ...inputRecord(p.file, al.fg, hashes.fg), contentRect: { ...al.fg.contentRect } },
      model: hashes.model && { file: relativeToProject(p.file, p.model!.path), sha256: hashes.model.sha256, size: hashes.model.size },
    },
    options: projectOptionsRecord(p),
    spatial: { ...al.spatial },
    temporal: {
      engine: t.engine,
      features: t.features ?? 'pixels',
      offsetSeconds: t.offsetSeconds,
      speed: t.speed,
      meanConfidence: round(t.meanConfidence, 4),
      frames: map.length,
      segments,
      exceptions,
      bgTimeForFg: timesFollow ? undefined : t.bgTimeForFg,
      confidence: t.confidence.map((c) => round(c, 2)),
      cuts: t.cuts?.length ? t.cuts.map((c) => ({ fg: c.fg, bgFrom: c.bgFrom, bgTo: c.bgTo })) : undefined,
      uncertain: t.uncertain?.length ? t.uncertain.map(([a, b]): [number, number] => [a, b]) : undefined,
    },
    trust: savedTrust(al.trust),
  };
}

/** One object per line where people look, numbers on one line (the CLI alignment's format). */
export function serialiseProjectAlignment(pa: ProjectAlignment): string {
  return checkedJson(pa, `the alignment of ${pa.project}`, validateAlignmentFile, 'project-alignment.schema.json');
}

/** The engine's Alignment for compose(), with absolute paths. */
export function fromProjectAlignment(pa: ProjectAlignment, projectFile: string): Alignment {
  const dir = path.dirname(path.resolve(projectFile));
  const video = ({ file, sha256: _h, size: _s, ...rest }: InputRecord): VideoSummary => ({ ...rest, file: path.resolve(dir, file) });
  const t = pa.temporal;
  let map: number[];
  try {
    map = decodeMap(t.frames, t);
  } catch (e) {
    throw corrupt(projectFile, (e as Error).message);
  }
  return {
    version: 1,
    bg: video(pa.inputs.bg),
    fg: { ...video(pa.inputs.fg), contentRect: pa.inputs.fg.contentRect },
    spatial: pa.spatial,
    temporal: {
      engine: t.engine,
      features: t.features,
      bgFrameForFg: map,
      bgTimeForFg: t.bgTimeForFg ?? steadyTimes(map, t.cuts, pa.inputs.bg.fps),
      confidence: t.confidence,
      offsetSeconds: t.offsetSeconds,
      speed: t.speed,
      meanConfidence: t.meanConfidence,
      cuts: t.cuts,
      uncertain: t.uncertain,
    },
    ...(pa.trust ? { trust: pa.trust } : {}),
    timings: {},
  };
}

function corrupt(file: string, why: string): VidkompyError {
  return new VidkompyError('BAD_ARGS', `${file}: not a valid vidkompy project alignment (${why}); delete it and align the project again`, file);
}

/** The saved alignment, or undefined when there is none yet. */
export async function readProjectAlignment(file: string): Promise<ProjectAlignment | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new VidkompyError('BAD_ARGS', `${file}: cannot be read (${(e as NodeJS.ErrnoException).code}); check its permissions`, file);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw corrupt(file, `not JSON: ${(e as Error).message}`);
  }
  const errors = validateAlignmentFile(value);
  if (errors.length) throw corrupt(file, `${errors[0].instancePath || '/'} ${errors[0].message}`);
  return value as ProjectAlignment;
}

/**
 * Why a saved alignment no longer describes the project, one reason per change; empty when it
 * still does. Inputs are compared by content hash (cached by path, size and mtime), so touching a
 * file does not make its alignment stale but re-exporting it does.
 */
export async function staleReasons(pa: ProjectAlignment, p: ResolvedProject): Promise<string[]> {
  const reasons: string[] = [];
  const want = projectOptionsRecord(p);
  const had = optionsRecord(pa.options);
  for (const key of ['engine', 'features', 'model', 'window', 'spatial', 'anchors', 'placement'] as const) {
    const a = JSON.stringify(had[key]);
    const b = JSON.stringify(want[key]);
    if (a !== b) reasons.push(`option "${key}" changed (${a ?? 'unset'} → ${b ?? 'unset'})`);
  }
  return [...reasons, ...(await inputStaleReasons(pa, p))];
}

/**
 * Why the inputs recorded in a saved alignment are not the project's (file names or content
 * hashes); empty when they are. The preview opens only the project's files, and only when this is
 * empty: the alignment file is data anyone can edit, never a list of files to decode.
 */
export async function inputStaleReasons(pa: ProjectAlignment, p: ResolvedProject): Promise<string[]> {
  const reasons: string[] = [];
  const files: [string, FileRecord | undefined, string | undefined][] = [
    ['bg', pa.inputs.bg, p.bg],
    ['fg', pa.inputs.fg, p.fg],
    ['model', pa.inputs.model, p.features === 'embedding' ? p.model?.path : undefined],
  ];
  for (const [what, rec, file] of files) {
    if (!rec || !file) continue; // a model added or dropped already shows as an option change
    const now = relativeToProject(p.file, file);
    if (rec.file !== now) {
      reasons.push(`${what} is now "${now}" (was "${rec.file}")`);
      continue;
    }
    const h = await cachedHash(file).catch(() => undefined);
    if (!h) reasons.push(`${what} "${rec.file}" cannot be read`);
    else if (h.sha256 !== rec.sha256) reasons.push(`${what} "${rec.file}" changed since it was aligned (content hash differs)`);
  }
  return reasons;
}

export interface InputHashes {
  bg: FileHash;
  fg: FileHash;
  model?: FileHash;
}

export async function inputHashes(p: Pick<ResolvedProject, 'bg' | 'fg' | 'features' | 'model'>): Promise<InputHashes> {
  const model = p.features === 'embedding' ? p.model?.path : undefined;
  const [bg, fg, m] = await Promise.all([cachedHash(p.bg), cachedHash(p.fg), model ? cachedHash(model) : undefined]);
  return { bg, fg, model: m };
}
