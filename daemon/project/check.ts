import { promises as fs } from 'node:fs';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { VidkompyError } from '../core/errors';
import { projectChecks, schemaDiagnostics, syntaxDiagnostics, withoutFile, type ProjectDiagnostic } from './diagnostics';
import { parseJson, type ParsedJson, type Span } from './jsonTree';
import { mediaDiagnostics } from './mediaChecks';

/**
 * The whole check of one project file, in two halves: what the text alone shows (instant, run on
 * every keystroke) and what the media show (probes, cached). The editor publishes the first half
 * at once and the second when it lands; `vidkompy check` waits for both.
 */

export function textDiagnostics(parsed: ParsedJson, projectFile: string): ProjectDiagnostic[] {
  const syntax = syntaxDiagnostics(parsed);
  // A broken tree makes schema findings noise (a missing comma is not a missing "fg").
  if (syntax.length) return syntax;
  return [...schemaDiagnostics(parsed), ...projectChecks(parsed, projectFile)];
}

export function sortDiagnostics(ds: ProjectDiagnostic[]): ProjectDiagnostic[] {
  return [...ds].sort((a, b) => a.offset - b.offset || a.message.localeCompare(b.message));
}

export async function checkProjectText(projectFile: string, text: string): Promise<ProjectDiagnostic[]> {
  const parsed = parseJson(text);
  const first = textDiagnostics(parsed, projectFile);
  if (first.some((d) => d.code === 'syntax')) return first;
  return sortDiagnostics([...first, ...(await mediaDiagnostics(parsed, projectFile))]);
}

export async function readProjectText(projectFile: string): Promise<string> {
  try {
    return await fs.readFile(projectFile, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new VidkompyError('ENOENT', `${projectFile}: ${code === 'ENOENT' ? 'project file not found' : `cannot be read (${code})`}; check the path`, projectFile);
  }
}

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

/** LSP ranges (0-based line, UTF-16 character) of spans in `text`: line starts indexed once. */
export function rangeMapper(text: string): (span: Span) => Range {
  const doc = TextDocument.create('file:///project', 'json', 0, text);
  return (s) => ({ start: doc.positionAt(s.offset), end: doc.positionAt(s.offset + s.length) });
}

/** `file:line:col: severity: message`, 1-based, as compilers print it (editors and CI parse it). */
export function formatDiagnostics(file: string, text: string, ds: ProjectDiagnostic[]): string[] {
  const range = rangeMapper(text);
  return ds.map((d) => {
    const { start } = range(d);
    return `${file}:${start.line + 1}:${start.character + 1}: ${d.severity}: ${d.message}`;
  });
}

/** `vidkompy check`: every project's findings as lines, and how many are errors. */
export async function checkProjectFiles(files: string[]): Promise<{ lines: string[]; errors: number }> {
  const lines: string[] = [];
  let errors = 0;
  for (const file of files) {
    let text: string;
    try {
      text = await readProjectText(file);
    } catch (e) {
      if (!(e instanceof VidkompyError)) throw e;
      lines.push(`${file}:1:1: error: ${withoutFile(e.message, file)}`);
      errors++;
      continue;
    }
    const ds = await checkProjectText(file, text);
    lines.push(...formatDiagnostics(file, text, ds));
    errors += ds.filter((d) => d.severity === 'error').length;
  }
  return { lines, errors };
}
