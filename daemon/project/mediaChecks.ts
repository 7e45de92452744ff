import { promises as fs } from 'node:fs';
import path from 'node:path';
import { VidkompyError } from '../core/errors';
import type { ProbeInfo } from '../media/probe';
import { anchorNodes, diag, pinNodes, withoutFile, type ProjectDiagnostic } from './diagnostics';
import { containmentDiagnostics } from './containment';
import { cachedProbe } from './filecache';
import { nodeAt, spanOf, stringAt, type ParsedJson } from './jsonTree';

/**
 * Checks that need the media: do the files exist and hold video, and can this pair align at all.
 * Probes are cached by (path, size, mtime), so re-checking on every keystroke costs a stat.
 */

/** fg may run at most this much longer than bg: the map is steady, so fg would have to play slower. */
export const MAX_FG_OVER_BG = 1.1;

/** Seconds the video's frames cover (duration can be off in damaged files; frames are counted). */
export const playSeconds = (p: ProbeInfo) => (p.fps > 0 ? p.frameCount / p.fps : p.duration);

/** `probe` false (Restricted Mode): files are only checked to exist, nothing decodes them. */
export async function mediaDiagnostics(
  parsed: ParsedJson,
  projectFile: string,
  probeFn: (file: string) => Promise<ProbeInfo> = cachedProbe,
  o: { probe?: boolean } = {},
): Promise<ProjectDiagnostic[]> {
  const exists = async (file: string) => {
    if (!(await fs.stat(file).catch(() => undefined))) throw new VidkompyError('ENOENT', `${file}: file not found`, file);
    return undefined;
  };
  const root = parsed.root;
  const dir = path.dirname(path.resolve(projectFile));
  const out: ProjectDiagnostic[] = [];
  const probeSide = async (side: 'bg' | 'fg'): Promise<ProbeInfo | undefined> => {
    const ref = stringAt(root, [side]);
    if (!ref || !ref.value) return undefined;
    const file = path.resolve(dir, ref.value);
    try {
      return await (o.probe === false ? exists(file) : probeFn(file));
    } catch (e) {
      if (!(e instanceof VidkompyError)) throw e;
      const message =
        e.code === 'ENOENT'
          ? `${side} "${ref.value}" not found (looked for ${file}); fix the path, relative to this project file`
          : `${side} "${ref.value}": ${withoutFile(e.message, file)}`;
      out.push(diag(spanOf(ref.node), 'error', e.code, message));
      return undefined;
    }
  };
  const [bg, fg, contained] = await Promise.all([probeSide('bg'), probeSide('fg'), containmentDiagnostics(parsed, projectFile)]);
  out.push(...contained);
  const model = stringAt(root, ['model', 'path']);
  if (model && !(await fs.stat(path.resolve(dir, model.value)).catch(() => undefined))) {
    out.push(diag(spanOf(model.node), 'error', 'ENOENT', `model "${model.value}" not found (looked for ${path.resolve(dir, model.value)}); fix the path, relative to this project file`));
  }
  if (bg && fg) out.push(...pairDiagnostics(parsed, bg, fg));
  for (const [side, info] of [['bg', bg], ['fg', fg]] as const) if (info) out.push(...anchorRange(parsed, side, info));
  if (bg && fg) out.push(...pinRange(parsed, bg, fg));
  return out;
}

/** What makes a pair of good videos impossible (or unlikely) to align as configured. */
function pairDiagnostics(parsed: ParsedJson, bg: ProbeInfo, fg: ProbeInfo): ProjectDiagnostic[] {
  const root = parsed.root;
  const out: ProjectDiagnostic[] = [];
  const fgRef = stringAt(root, ['fg']);
  if (!fgRef) return out;
  const at = spanOf(fgRef.node);
  const scale = nodeAt(root, ['spatial', 'scale'])?.value;
  const unscaled = nodeAt(root, ['spatial', 'unscaled'])?.value === true;
  if (typeof scale !== 'number' && (fg.width > bg.width || fg.height > bg.height)) {
    const size = `fg (${fg.width}x${fg.height}) is larger than bg (${bg.width}x${bg.height})`;
    out.push(
      unscaled
        ? diag(at, 'error', 'FG_LARGER', `${size}: at scale 1 ("unscaled": true) it cannot sit inside bg; check the bg/fg order, or remove "unscaled"`)
        : diag(at, 'warning', 'FG_LARGER', `${size}: at scale 1 it cannot sit inside bg, so it will be searched for scaled down; check the bg/fg order, or give "spatial": { "scale": S }`),
    );
  }
  // Every fg frame gets a bg frame along one steady rate: a fg much longer than bg would have to
  // play that much slower than bg, which real footage of the same scene almost never does.
  const fgSpan = playSeconds(fg);
  const bgSpan = playSeconds(bg);
  if (fgSpan > bgSpan * MAX_FG_OVER_BG) {
    out.push(
      diag(
        at,
        'error',
        'TOO_LONG',
        `fg runs ${fgSpan.toFixed(2)} s (${fg.frameCount} frames at ${round2(fg.fps)} fps) but bg only ${bgSpan.toFixed(2)} s (${bg.frameCount} at ${round2(bg.fps)} fps): every fg frame needs a bg frame, so fg may be at most ${Math.round((MAX_FG_OVER_BG - 1) * 100)}% longer than bg; check the bg/fg order, or trim fg`,
      ),
    );
  }
  return out;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** Anchors are seconds from each video's start: they must fall inside it. */
function anchorRange(parsed: ParsedJson, side: 'bg' | 'fg', info: ProbeInfo): ProjectDiagnostic[] {
  const span = playSeconds(info);
  return anchorNodes(parsed.root)
    .filter((a) => a[side] > span)
    .map((a) => {
      const node = nodeAt(a.node, [side]) ?? a.node;
      return diag(spanOf(node), 'error', 'ANCHORS', `anchors[${a.index}].${side} = ${a[side]} s is past ${side}'s end (${span.toFixed(2)} s); anchors are seconds from each video's start`);
    });
}

/**
 * A pin must put fg somewhere over bg, within fg's time (a time-pair anchor's fg time is checked
 * above). A pin without a scale is checked at its top-left corner only: the scale is found later.
 */
export function pinRange(parsed: ParsedJson, bg: ProbeInfo, fg: ProbeInfo): ProjectDiagnostic[] {
  const out: ProjectDiagnostic[] = [];
  const fgSpan = playSeconds(fg);
  const timed = new Set(anchorNodes(parsed.root).map((a) => a.index));
  for (const p of pinNodes(parsed.root)) {
    if (p.fg > fgSpan && !timed.has(p.index)) {
      const node = nodeAt(p.node, ['fg']) ?? p.node;
      out.push(diag(spanOf(node), 'error', 'ANCHORS', `anchors[${p.index}].fg = ${p.fg} s is past fg's end (${fgSpan.toFixed(2)} s); anchors are seconds from each video's start`));
    }
    const w = fg.width * (p.scale ?? 0);
    const h = fg.height * (p.scale ?? 0);
    if (p.x >= bg.width || p.y >= bg.height || (p.scale !== undefined && (p.x + w <= 0 || p.y + h <= 0))) {
      const size = p.scale !== undefined ? `fg's ${Math.round(w)}x${Math.round(h)} box at (${p.x}, ${p.y})` : `fg's corner (${p.x}, ${p.y})`;
      out.push(
        diag(
          spanOf(p.node),
          'error',
          'ANCHORS',
          `anchors[${p.index}] pins ${size} outside bg (${bg.width}x${bg.height}); x, y are fg's frame corner in bg pixels: move the pin inside bg`,
        ),
      );
    }
  }
  return out;
}
