import path from 'node:path';
import { modify, type JSONPath } from '../project/jsonc';
import { CodeActionKind, type CodeAction, type Diagnostic, type Range, type TextEdit } from 'vscode-languageserver/node';
import type { Placement } from '../project/placement';
import { nodeAt, stringAt, type ParsedJson, type Span } from '../project/jsonTree';
import { relativeToProject } from '../project/project';
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

/** Offered when the project places fg by search (no x/y yet). */
export function wantsSpatial(parsed: ParsedJson): boolean {
  return !!stringAt(parsed.root, ['bg']) && !!stringAt(parsed.root, ['fg']) && nodeAt(parsed.root, ['spatial', 'x']) === undefined;
}


const PATH_FIELDS: JSONPath[] = [['bg'], ['fg'], ['model', 'path']];

/** "Fix the path": for each missing file, the files of the same name under the project's folders. */
export async function fixPathActions(parsed: ParsedJson, projectFile: string, diagnostics: Diagnostic[], roots: string[], range: (s: Span) => Range, uri: string): Promise<CodeAction[]> {
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
