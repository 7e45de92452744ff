import path from 'node:path';
import { getLocation, type JSONPath } from '../project/jsonc';
import { CompletionItemKind, type CompletionItem, type Range } from 'vscode-languageserver/node';
import { keysOf, nodeAt, type ParsedJson, type Span } from '../project/jsonTree';
import { relativeToProject, VIDEO_EXTENSIONS } from '../project/project';
import { schemaAt } from '../project/schema';
import { findFiles } from './files';

/**
 * Completion in a project file: the keys the schema allows where the cursor is (minus those already
 * there), enum values and booleans, and video files for "bg" and "fg", relative to the project.
 */

export interface CompletionContext {
  parsed: ParsedJson;
  projectFile: string;
  offset: number;
  /** Folders to search for videos: the project's, and the workspace folder holding it. */
  roots: string[];
  range: (s: Span) => Range;
}

const isVideo = (name: string) => VIDEO_EXTENSIONS.includes(path.extname(name).toLowerCase());
const isModel = (name: string) => name.toLowerCase().endsWith('.onnx');

export async function complete(c: CompletionContext): Promise<CompletionItem[]> {
  // getLocation parses the text again, recursively: not past the analysis bounds (see jsonTree.ts).
  if (c.parsed.limit) return [];
  const loc = getLocation(c.parsed.text, c.offset);
  // What the typed text (a string token under the cursor) spans: the item replaces all of it.
  const prev = loc.previousNode;
  const typed: Span =
    prev && prev.type === 'string' && c.offset >= prev.offset && c.offset <= prev.offset + prev.length
      ? { offset: prev.offset, length: prev.length }
      : { offset: c.offset, length: 0 };
  const replace = c.range(typed);
  const item = (label: string, insert: string, kind: CompletionItemKind, documentation?: string, detail?: string): CompletionItem => ({
    label,
    kind,
    detail,
    documentation: documentation ? { kind: 'markdown', value: documentation } : undefined,
    filterText: insert,
    textEdit: { range: replace, newText: insert },
  });

  if (loc.isAtPropertyKey) {
    const objectPath = loc.path.slice(0, -1);
    const schema = schemaAt(objectPath);
    const present = new Set(keysOf(nodeAt(c.parsed.root, objectPath)));
    const hasColon = prev?.parent?.type === 'property' && prev.parent.colonOffset !== undefined && prev.parent.colonOffset >= 0;
    return Object.entries(schema?.properties ?? {})
      .filter(([k]) => k !== '$schema' && (!present.has(k) || k === loc.path[loc.path.length - 1]))
      .map(([k, s]) => item(k, hasColon ? JSON.stringify(k) : `${JSON.stringify(k)}: `, CompletionItemKind.Property, s.description));
  }
  return valueItems(c, loc.path, item);
}

async function valueItems(
  c: CompletionContext,
  at: JSONPath,
  item: (label: string, insert: string, kind: CompletionItemKind, doc?: string, detail?: string) => CompletionItem,
): Promise<CompletionItem[]> {
  const schema = schemaAt(at);
  if (!schema) return [];
  if (schema.enum) return schema.enum.map((v) => item(String(v), JSON.stringify(v), CompletionItemKind.EnumMember, schema.description));
  if (schema.type === 'boolean') return [true, false].map((v) => item(String(v), String(v), CompletionItemKind.Value));
  const key = at.join('.');
  const match = key === 'bg' || key === 'fg' ? isVideo : key === 'model.path' ? isModel : undefined;
  if (!match) return [];
  const files = new Set<string>();
  for (const root of c.roots) for (const f of await findFiles(root, match)) files.add(f);
  return [...files].map((f) => {
    const rel = relativeToProject(c.projectFile, f);
    return item(rel, JSON.stringify(rel), CompletionItemKind.File, undefined, key === 'model.path' ? 'ONNX model' : 'video');
  });
}
