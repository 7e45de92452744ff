import { promises as fs } from 'node:fs';
import path from 'node:path';
import { assertFinite } from '../core/finite';
import { probe, type ProbeInfo } from '../media/probe';
import { VidkompyError } from './errors';
import type { Rect } from '../media/decode';
import type { Engine } from './temporal';

/** The alignment result file; `schemas/alignment.schema.json` describes it. */
export interface VideoSummary {
  file: string;
  width: number;
  height: number;
  fps: number;
  fpsRational: string;
  frameCount: number;
  duration: number;
  vfr: boolean;
  hasAudio: boolean;
}

export interface Alignment {
  version: 1;
  bg: VideoSummary;
  fg: VideoSummary & { contentRect: Rect };
  spatial: { x: number; y: number; scale: number; confidence: number; method: 'auto' | 'manual' };
  temporal: {
    engine: Engine;
    /** The frame descriptor compared (absent: pixels), and for embeddings the ONNX execution provider that ran. */
    features?: 'pixels' | 'hash' | 'embedding';
    /** Half-width (bg frames) of the band the final pass searched: at least the --window asked for. */
    window?: number;
    /** The audio prior, when both videos had sound: bg s = offset + speed · fg s, and how many windows agreed. */
    audio?: { offset: number; speed: number; agreement: number };
    provider?: 'cpu' | 'cuda';
    bgFrameForFg: number[];
    bgTimeForFg: number[];
    confidence: number[];
    /** bg time at fg's first frame, and bg seconds per fg second (1 = same speed). */
    offsetSeconds: number;
    speed: number;
    meanConfidence: number;
    /** edit engine: where fg cuts from one stretch of bg to a later one. */
    cuts?: { fg: number; bgFrom: number; bgTo: number }[];
  };
  timings: Record<string, number>;
}

export function summary(p: ProbeInfo, count = p.frameCount): VideoSummary {
  return {
    file: p.file,
    width: p.width,
    height: p.height,
    fps: round(p.fps, 6),
    fpsRational: p.fpsRational,
    frameCount: count,
    duration: round(p.duration, 6),
    vfr: p.vfr,
    hasAudio: !!p.audio,
  };
}

export function round(v: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}

/**
 * JSON for people and diffs: objects indented, arrays of numbers kept on one line, keys in the
 * order the code builds them.
 */
export function serialise(al: Alignment, file?: string): string {
  assertFinite(al, file ?? 'the alignment');
  if (file) {
    // Paths relative to the alignment file, so the folder can move or be committed as a whole.
    const base = path.dirname(path.resolve(file));
    const rel = (f: string) => path.relative(base, path.resolve(f)).split(path.sep).join('/');
    al = { ...al, bg: { ...al.bg, file: rel(al.bg.file) }, fg: { ...al.fg, file: rel(al.fg.file) } };
  }
  const fmt = (v: unknown, indent: string): string => {
    if (Array.isArray(v)) {
      if (v.every((e) => typeof e === 'number')) return `[${v.join(',')}]`;
      return `[\n${v.map((e) => indent + '  ' + fmt(e, indent + '  ')).join(',\n')}\n${indent}]`;
    }
    if (v && typeof v === 'object') {
      const entries = Object.entries(v).filter(([, e]) => e !== undefined);
      return `{\n${entries.map(([k, e]) => `${indent}  ${JSON.stringify(k)}: ${fmt(e, indent + '  ')}`).join(',\n')}\n${indent}}`;
    }
    return JSON.stringify(v);
  };
  return fmt(al, '') + '\n';
}

/** Reads a saved alignment and checks it still describes the files it names. */
export async function readAlignment(file: string): Promise<Alignment> {
  let al: Alignment;
  try {
    al = JSON.parse(await fs.readFile(file, 'utf8')) as Alignment;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `not valid JSON (${(e as Error).message})`;
    throw new VidkompyError('BAD_ARGS', `${file}: ${why}; give an alignment written by 'vidkompy sync'`, file);
  }
  const t = al?.temporal;
  if (al?.version !== 1 || !al.bg?.file || !al.fg?.file || !al.spatial || !Array.isArray(t?.bgFrameForFg) || !t.bgFrameForFg.length) {
    throw new VidkompyError('BAD_ARGS', `${file}: not a vidkompy alignment (version 1); write one with 'vidkompy sync'`, file);
  }
  const base = path.dirname(path.resolve(file));
  for (const side of ['bg', 'fg'] as const) {
    const v = al[side];
    v.file = path.resolve(base, v.file);
    const now = await probe(v.file);
    if (now.width !== v.width || now.height !== v.height || Math.abs(now.frameCount - v.frameCount) > 2) {
      throw new VidkompyError(
        'STALE',
        `${file}: the alignment is stale: ${side} ${v.file} is now ${now.width}x${now.height}, ${now.frameCount} frames (was ${v.width}x${v.height}, ${v.frameCount}); align again`,
        file,
      );
    }
  }
  return al;
}
