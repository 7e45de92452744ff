import path from 'node:path';
import { modify, type JSONPath } from '../project/jsonc';
import { CodeActionKind, type CodeAction, type Diagnostic, type Range, type TextEdit } from 'vscode-languageserver/node';
import type { Placement } from '../project/placement';
import { promises as fs } from 'node:fs';
import { nodeAt, spanOf, stringAt, type ParsedJson, type Span } from '../project/jsonTree';
import { relativeToProject, VIDEO_EXTENSIONS } from '../project/project';
import { schemaAt } from '../project/schema';
import { spotAt } from './hover';
import { findFiles } from './files';

/**
 * Two edits the daemon can make for the user: put a found placement into "spatial" (which then
 * skips the spatial search), and point a broken path at the file of that name that does exist.
 */

export const SPATIAL_TITLE = 'Insert the detected spatial offset';

/** Data a spatial action carries until resolved: which document (resolved on its text then). */
export interface SpatialActionData {
  kind: 'spatial';
  uri: string;
}

const FORMAT = { formattingOptions: { insertSpaces: true, tabSize: 2, eol: '\n' } };

/** Text edits that set `path` to `value`, formatted like the rest of the file. */
export function setValueEdits(parsed: ParsedJson, path: JSONPath, value: unknown, range: (s: Span) => Range): TextEdit[] {
  // modify() parses the text again, recursively: not past the analysis bounds (see jsonTree.ts).
  if (parsed.limit) return [];
  return modify(parsed.text, path, value, FORMAT).map((e) => ({ range: range(e), newText: e.content }));
}

/** The "spatial" object with a placement in it; other spatial keys stay as they were. */
export function spatialWith(parsed: ParsedJson, p: Placement): Record<string, unknown> {
  const had = (nodeAt(parsed.root, ['spatial'])?.type === 'object' ? (parsed.value as { spatial: Record<string, unknown> }).spatial : {}) ?? {};
  return { ...had, x: p.x, y: p.y, scale: p.scale };
}

/**
 * Offered when the project places fg by search (no x/y yet), bg and fg exist, and the cursor is
 * where the offset would go: on the root object's own text or inside "spatial", not on any field.
 */
export async function wantsSpatial(parsed: ParsedJson, projectFile: string, offset: number): Promise<boolean> {
  const bg = stringAt(parsed.root, ['bg']);
  const fg = stringAt(parsed.root, ['fg']);
  if (!bg || !fg || nodeAt(parsed.root, ['spatial', 'x']) !== undefined) return false;
  const spot = spotAt(parsed, offset);
  if (spot && spot.path.length > 0 && spot.path[0] !== 'spatial') return false;
  const dir = path.dirname(projectFile);
  const exists = async (rel: string) => (await fs.stat(path.resolve(dir, rel)).catch(() => undefined))?.isFile() === true;
  return (await exists(bg.value)) && (await exists(fg.value));
}

/** Levenshtein distance: how a mistyped name is matched with what was meant. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The candidate nearest to `typed`, when it is near enough to be a typo of it. */
export function closest(typed: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(typed.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD > 0 && bestD <= Math.max(2, Math.ceil(typed.length / 3)) ? best : undefined;
}

/** "Change to …": a schema error on an unknown key or a value outside an enum, fixed to the nearest allowed one. */
export function fixTypoActions(
  parsed: ParsedJson,
  diagnostics: Diagnostic[],
  range: (s: Span) => Range,
  offsetAt: (p: Range['start']) => number,
  uri: string,
): CodeAction[] {
  const out: CodeAction[] = [];
  for (const d of diagnostics.filter((x) => x.code === 'schema')) {
    const spot = spotAt(parsed, offsetAt(d.range.start) + 1);
    if (!spot || spot.node.type !== 'string') continue;
    const typed = spot.node.value as string;
    const allowed = spot.isKey
      ? Object.keys(schemaAt(spot.path.slice(0, -1))?.properties ?? {}).filter((k) => k !== '$schema')
      : (schemaAt(spot.path)?.enum ?? []).filter((v): v is string => typeof v === 'string');
    if (spot.isKey && allowed.includes(typed)) continue;
    const to = closest(typed, allowed);
    if (!to) continue;
    out.push({
      title: `Change to "${to}"`,
      kind: CodeActionKind.QuickFix,
      diagnostics: [d],
      isPreferred: true,
      edit: { changes: { [uri]: [{ range: range(spanOf(spot.node)), newText: JSON.stringify(to) }] } },
    });
  }
  return out;
}

const isVideo = (name: string) => VIDEO_EXTENSIONS.includes(path.extname(name).toLowerCase());

const PATH_FIELDS: JSONPath[] = [['bg'], ['fg'], ['model', 'path']];

/** "Fix the path": for each missing file, the files of the same name under the project's folders. */
export async function fixPathActions(
  parsed: ParsedJson,
  projectFile: string,
  diagnostics: Diagnostic[],
  roots: string[],
  range: (s: Span) => Range,
  uri: string,
): Promise<CodeAction[]> {
  const out: CodeAction[] = [];
  for (const d of diagnostics.filter((x) => x.code === 'ENOENT')) {
    for (const field of PATH_FIELDS) {
      const ref = stringAt(parsed.root, field);
      if (!ref) continue;
      const r = range({ offset: ref.node.offset, length: ref.node.length });
      if (r.start.line !== d.range.start.line || r.start.character !== d.range.start.character) continue;
      const name = path.basename(ref.value);
      const found = new Set<string>();
      for (const root of roots) for (const f of await findFiles(root, (n) => n === name, { maxDepth: 8, maxEntries: 20000, maxResults: 5 })) found.add(f);
      if (!found.size && field[0] !== 'model') {
        // No file of that name: a mistyped one, matched to the nearest existing video.
        const videos = new Set<string>();
        for (const root of roots) for (const f of await findFiles(root, isVideo)) videos.add(relativeToProject(projectFile, f));
        const near = closest(ref.value, [...videos]);
        if (near) found.add(path.resolve(path.dirname(projectFile), near));
      }
      for (const f of found) {
        const rel = relativeToProject(projectFile, f);
        out.push({
          title: `Fix the path: use "${rel}"`,
          kind: CodeActionKind.QuickFix,
          diagnostics: [d],
          isPreferred: found.size === 1,
          edit: { changes: { [uri]: [{ range: r, newText: JSON.stringify(rel) }] } },
        });
      }
    }
  }
  return out;
}
