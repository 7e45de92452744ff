import path from 'node:path';
import type { JobResult } from './job';

/** The batch in numbers; `ok` only when every project is done or already up to date. */
export function summarise(results: JobResult[]) {
  const count = (s: JobResult['status']) => results.filter((r) => r.status === s).length;
  const s = { jobs: results.length, done: count('done'), upToDate: count('up to date'), failed: count('failed'), cancelled: count('cancelled') };
  return { ...s, ok: s.done + s.upToDate === s.jobs };
}

const shown = (f: string) => {
  const rel = path.relative(process.cwd(), f);
  return rel && !rel.startsWith('..') ? rel : f;
};

/** One line per project (status, project, what it wrote or why it failed), then the totals. */
export function summaryTable(results: JobResult[]): string[] {
  const width = Math.max(6, ...results.map((r) => r.status.length));
  const lines = results.map((r) => {
    const how = [r.aligned ? 'aligned' : '', r.chunks ? `${r.chunks} chunks` : ''].filter(Boolean);
    const took = r.seconds !== undefined ? ` (${[`${r.seconds.toFixed(1)} s`, ...how].join(', ')})` : '';
    const detail = r.error ?? `${r.output ? shown(r.output) : ''}${took}`;
    return `${r.status.padEnd(width)}  ${shown(r.project)}  ${detail}`;
  });
  const s = summarise(results);
  const parts = [`${s.done} done`, `${s.upToDate} up to date`, `${s.failed} failed`, ...(s.cancelled ? [`${s.cancelled} cancelled`] : [])];
  return [...lines, `${s.jobs} project${s.jobs === 1 ? '' : 's'}: ${parts.join(', ')}`];
}

/** The whole batch as one JSON object (`--json`). */
export function summaryJson(results: JobResult[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...summarise(results), ...extra, results });
}
