import { promises as fs } from 'node:fs';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { VidkompyError } from '../core/errors';
import { diag, projectChecks, schemaDiagnostics, syntaxDiagnostics, withoutFile, type ProjectDiagnostic } from './diagnostics';
import { MAX_CHARS, parseJson, type ParsedJson, type Span } from './jsonTree';
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

/** At most this many findings per file, then one that counts the rest: thousands of bad items must not cost thousands. */
export const MAX_DIAGNOSTICS = 100;

const RANK: Record<ProjectDiagnostic['severity'], number> = { error: 0, warning: 1, information: 2 };

/** In text order, at most MAX_DIAGNOSTICS (and a count of the rest, as severe as the worst of them). */
export function sortDiagnostics(ds: ProjectDiagnostic[], max = MAX_DIAGNOSTICS): ProjectDiagnostic[] {
  const sorted = [...ds].sort((a, b) => a.offset - b.offset || a.message.localeCompare(b.message));
  if (sorted.length <= max) return sorted;
  const rest = sorted.slice(max);
  const worst = rest.reduce((w, d) => (RANK[d.severity] < RANK[w] ? d.severity : w), rest[0].severity);
  const why = `${rest.length} more findings from here on are not shown (at most ${max} per file); fix these first`;
  const more = diag({ offset: rest[0].offset, length: rest[0].length }, worst, 'LIMIT', why);
  return [...sorted.slice(0, max), more];
}

/** Whether the media checks can run: not without a tree, nor on a broken one (a missing comma is not a missing file). */
export const mediaCheckable = (parsed: ParsedJson, first: ProjectDiagnostic[]): boolean =>
  !!parsed.root && !first.some((d) => d.code === 'syntax');

export async function checkProjectText(projectFile: string, text: string): Promise<ProjectDiagnostic[]> {
  const parsed = parseJson(text);
  const first = textDiagnostics(parsed, projectFile);
  if (!mediaCheckable(parsed, first)) return sortDiagnostics(first);
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
  // Past the size bound a text has one finding, at its start: the index covers no more than the
  // bound, so an oversized document costs no index of its own (8 bytes a line, 8 a byte at worst).
  const doc = TextDocument.create('file:///project', 'json', 0, text.length > MAX_CHARS ? text.slice(0, MAX_CHARS) : text);
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
