import { promises as fs } from 'node:fs';
import path from 'node:path';
import { VidkompyError } from '../core/errors';
import type { Alignment } from '../engine/result';
import type { Trust } from '../engine/trust';
import { probe } from '../media/probe';
import { validateCliAlignment } from '../project/schema';
import { checkedJson } from './checked';

/**
 * The CLI's alignment file (`vidkompy sync`, `comp --alignment`; `schemas/alignment.schema.json`):
 * the engine's result as it stands, timings included, with paths relative to the file so a folder
 * can move as a whole. It is stale when an input's size or frame count changed (a project's
 * alignment, which is committed, is checked by content hash instead: see projectAlignment.ts).
 */

/** The alignment as the text of `file`. */
export function alignmentText(al: Alignment, file: string): string {
  const base = path.dirname(path.resolve(file));
  const rel = (f: string) => path.relative(base, path.resolve(f)).split(path.sep).join('/');
  const value = { ...al, bg: { ...al.bg, file: rel(al.bg.file) }, fg: { ...al.fg, file: rel(al.fg.file) }, trust: savedTrust(al.trust) };
  return checkedJson(value, file, validateCliAlignment, 'alignment.schema.json');
}

/** The trust figure as files keep it: the verdict and its reasons, not the measurements behind them. */
export function savedTrust(t: Trust | undefined): Trust | undefined {
  if (!t) return undefined;
  const { signals: _s, ...kept } = t;
  return { ...kept, reasons: [...kept.reasons] };
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
