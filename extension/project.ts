import * as path from 'node:path';
import * as vscode from 'vscode';
import { notify } from './notify';
// The ES module build: the package's UMD main hides its requires from esbuild (see daemon/project/jsonc.ts).
import { findNodeAtLocation, modify, parseTree, type FormattingOptions, type Node } from 'jsonc-parser/lib/esm/main.js';
import { ALIGN_SUFFIX, DEFAULT_AUDIO, DEFAULT_CRF, DEFAULT_PRESET, PROJECT_GLOB, PROJECT_SUFFIX, VIDEO_EXTENSIONS, type Engine } from '../protocol/project';

/**
 * Project files as the editor sees them: which project a command is about, the template of a new
 * one, and the edits the preview makes to one (anchors), as ordinary undoable WorkspaceEdits.
 */

export { ALIGN_SUFFIX, PROJECT_GLOB, PROJECT_SUFFIX } from '../protocol/project';
/** The videos New Project offers; glob matching is case-sensitive, so both spellings of each extension. */
export const VIDEO_GLOB = `**/*.{${VIDEO_EXTENSIONS.flatMap((e) => [e.slice(1), e.slice(1).toUpperCase()]).join(',')}}`;
const EXCLUDE_GLOB = '**/{node_modules,.git}/**';

export const isProjectUri = (uri: vscode.Uri): boolean => uri.path.endsWith(PROJECT_SUFFIX);

/** Whether a job's project (a URI string from the daemon) is `project`, however either URI is spelled. */
export function isJobOf(jobProject: string, project: vscode.Uri): boolean {
  try {
    return vscode.Uri.parse(jobProject).fsPath === project.fsPath;
  } catch {
    return false;
  }
}

/** `demo` for `…/demo.vidkompy.json`. */
export function projectName(uri: vscode.Uri): string {
  const base = path.posix.basename(uri.path);
  return base.endsWith(PROJECT_SUFFIX) ? base.slice(0, -PROJECT_SUFFIX.length) : base;
}

/** The project an alignment file belongs to (`demo.vidkompy.align.json` → `demo.vidkompy.json`). */
export function projectOfAlignment(uri: vscode.Uri): vscode.Uri | undefined {
  return uri.path.endsWith(ALIGN_SUFFIX) ? uri.with({ path: uri.path.slice(0, -ALIGN_SUFFIX.length) + PROJECT_SUFFIX }) : undefined;
}

export function alignmentOf(project: vscode.Uri): vscode.Uri {
  return project.with({ path: project.path.slice(0, -PROJECT_SUFFIX.length) + ALIGN_SUFFIX });
}

/**
 * The project a command is about: the one it was given (CodeLens, menus, the preview), else the
 * active editor's, else the workspace's only one, else the user's pick. Undefined when there is
 * none (the user has been told) or the pick was dismissed.
 */
export async function resolveProject(arg: unknown, fallback: vscode.Uri | undefined, verb: string): Promise<vscode.Uri | undefined> {
  const given = arg instanceof vscode.Uri ? arg : typeof arg === 'string' && arg ? vscode.Uri.parse(arg) : undefined;
  if (given) {
    if (isProjectUri(given)) return given;
    const owner = projectOfAlignment(given);
    if (owner) return owner;
  }
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && isProjectUri(active)) return active;
  if (fallback) return fallback;
  const found = await vscode.workspace.findFiles(PROJECT_GLOB, EXCLUDE_GLOB, 200);
  if (found.length === 1) return found[0];
  if (!found.length) {
    const pick = await notify('error', `vidkompy: no *${PROJECT_SUFFIX} project in this workspace to ${verb}.`, 'New Project');
    if (pick) await vscode.commands.executeCommand('vidkompy.newProject');
    return undefined;
  }
  const items = found
    .sort((a, b) => a.path.localeCompare(b.path))
    .map((uri) => ({ label: projectName(uri), description: vscode.workspace.asRelativePath(uri), uri }));
  return (await vscode.window.showQuickPick(items, { title: `vidkompy: which project to ${verb}?`, matchOnDescription: true }))?.uri;
}

/** The text of a new project, paths relative to its folder. */
export function projectTemplate(bg: string, fg: string, engine: Engine): string {
  return JSON.stringify({ bg, fg, engine, audio: DEFAULT_AUDIO, render: { crf: DEFAULT_CRF, preset: DEFAULT_PRESET } }, null, 2) + '\n';
}

/** `file` relative to `dir`, `/`-separated, as project files write paths. */
export function relativePath(dir: vscode.Uri, file: vscode.Uri): string {
  return path.posix.relative(dir.path, file.path) || '.';
}

export interface AnchorTimes {
  fg: number;
  bg: number;
}

/** Times as the project stores them: microseconds are plenty, and keep the file readable. */
const roundTime = (t: number) => Math.round(t * 1e6) / 1e6;

/**
 * The edit that adds `anchor` to the project's `anchors` (created if missing), kept in fg time
 * order; an anchor already at the same fg time is replaced. Formatting follows the document.
 */
export function anchorEdit(doc: vscode.TextDocument, anchor: AnchorTimes, formatting: FormattingOptions): { edit: vscode.WorkspaceEdit; index: number } {
  const text = doc.getText();
  const value = { fg: roundTime(anchor.fg), bg: roundTime(anchor.bg) };
  const existing = anchorTimes(parseTree(text));
  const same = existing.findIndex((a) => Math.abs(a.fg - value.fg) < 1e-6);
  const index = same >= 0 ? same : insertionIndex(existing, value.fg);
  const edits = modify(text, ['anchors', index], value, { formattingOptions: formatting, isArrayInsertion: same < 0 });
  const edit = new vscode.WorkspaceEdit();
  for (const e of edits) edit.replace(doc.uri, new vscode.Range(doc.positionAt(e.offset), doc.positionAt(e.offset + e.length)), e.content);
  return { edit, index };
}

function insertionIndex(anchors: AnchorTimes[], fg: number): number {
  const i = anchors.findIndex((a) => a.fg > fg);
  return i < 0 ? anchors.length : i;
}

function anchorTimes(root: Node | undefined): AnchorTimes[] {
  const arr = root && findNodeAtLocation(root, ['anchors']);
  if (arr?.type !== 'array') return [];
  return (arr.children ?? []).map((n) => {
    const num = (k: string) => {
      const v = findNodeAtLocation(n, [k])?.value;
      return typeof v === 'number' ? v : NaN;
    };
    return { fg: num('fg'), bg: num('bg') };
  });
}

/** Where `anchors[index]` is in the document (the whole anchors array when index is absent, else the start). */
export function anchorRange(doc: vscode.TextDocument, index?: number): vscode.Range {
  const root = parseTree(doc.getText());
  const node = root && (index === undefined ? findNodeAtLocation(root, ['anchors']) : findNodeAtLocation(root, ['anchors', index]));
  if (!node) return new vscode.Range(0, 0, 0, 0);
  return new vscode.Range(doc.positionAt(node.offset), doc.positionAt(node.offset + node.length));
}

/** Which `anchors` entry contains `offset`, if any. */
export function anchorAt(doc: vscode.TextDocument, offset: number): { index: number; fg: number } | undefined {
  const root = parseTree(doc.getText());
  const arr = root && findNodeAtLocation(root, ['anchors']);
  if (arr?.type !== 'array') return undefined;
  const index = (arr.children ?? []).findIndex((n) => offset >= n.offset && offset <= n.offset + n.length);
  if (index < 0) return undefined;
  const fg = findNodeAtLocation(arr.children![index], ['fg'])?.value;
  return typeof fg === 'number' ? { index, fg } : undefined;
}

/** The editor's indentation for `doc` (an open editor's, else the document's own first indent). */
export function formattingOf(doc: vscode.TextDocument): FormattingOptions {
  const editor = vscode.window.visibleTextEditors.find((e) => e.document === doc);
  if (editor) {
    const { tabSize, insertSpaces } = editor.options;
    return { tabSize: typeof tabSize === 'number' ? tabSize : 2, insertSpaces: insertSpaces !== false, eol: doc.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n' };
  }
  const indent = /\n([ \t]+)\S/.exec(doc.getText())?.[1] ?? '  ';
  return { tabSize: indent.startsWith('\t') ? 4 : indent.length, insertSpaces: !indent.startsWith('\t'), eol: doc.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n' };
}
