import { align, locate } from '../align';
import { frameCorner } from '../core/geometry';
import { round } from '../core/numbers';
import { readProjectAlignment } from '../store';
import { relativeToProject, type ResolvedProject } from './project';

/** A placement as a project's "spatial" field holds it: fg's frame corner in bg pixels, and the scale. */
export interface Placement {
  x: number;
  y: number;
  scale: number;
}

/**
 * Where fg sits in bg: from the saved alignment when it was made from these very files, else by
 * searching. A placement pinned in the project is used for every later alignment, so it must be
 * exact: as in `vidkompy find`, the sampled-frame search is sharpened on time-matched frames (in
 * a pan, frames matched only roughly in time pull the placement a pixel or two).
 */
export type Detected = Placement & { from: 'alignment' | 'search' };

export async function detectPlacement(p: ResolvedProject, signal?: AbortSignal): Promise<Detected> {
  const saved = await readProjectAlignment(p.alignmentFile).catch(() => undefined);
  if (saved && saved.inputs.bg.file === relativeToProject(p.file, p.bg) && saved.inputs.fg.file === relativeToProject(p.file, p.fg)) {
    return { x: saved.spatial.x, y: saved.spatial.y, scale: saved.spatial.scale, from: 'alignment' };
  }
  const s = p.data.spatial ?? {};
  const options = { scale: s.scale, unscaled: s.unscaled, signal };
  const l = await locate(p.bg, p.fg, options);
  if (l.fg.frameCount > 1 && l.bg.frameCount > 1) {
    const { spatial } = await align(p.bg, p.fg, options, l);
    return { x: spatial.x, y: spatial.y, scale: spatial.scale, from: 'search' };
  }
  const corner = frameCorner(l.placement, l.content);
  return { x: round(corner.x, 2), y: round(corner.y, 2), scale: round(l.placement.scale, 5), from: 'search' };
}
