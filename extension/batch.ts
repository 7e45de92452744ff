import * as vscode from 'vscode';
import { batchRequest, type BatchJobResult, type BatchResult } from '../protocol/lsp';
import type { Ctx } from './ctx';
import { runJob } from './jobs';
import { notify } from './notify';
import { isProjectUri } from './project';

/**
 * vidkompy: Run Batch: every `*.vidkompy.json` of the workspace (or of the folder it was run on)
 * through the daemon: on this machine, or on the job queue the `vidkompy.queue` setting names.
 * One progress notification says how many are done, failed and running; at the end one message
 * sums it up and the log has a line per project.
 */

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function resultLine(r: BatchJobResult): string {
  const file = vscode.Uri.parse(r.project).fsPath;
  const took = r.seconds !== undefined ? ` in ${r.seconds.toFixed(1)} s${r.aligned ? ' (aligned)' : ''}` : '';
  if (r.error) return `  ${r.status}: ${file}${took}: ${r.error}`;
  return `  ${r.status}: ${file}${took}${r.output ? ` → ${vscode.Uri.parse(r.output).fsPath}` : ''}`;
}

export async function runBatch(ctx: Ctx, folder?: vscode.Uri): Promise<BatchResult | undefined> {
  const folders = folder ? [folder] : (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri);
  if (!folders.length) {
    void notify('error', 'vidkompy: open a folder first; Run Batch runs every *.vidkompy.json project in it.');
    return undefined;
  }
  // The batch's worker processes read the files on disk: unsaved edits would silently not count.
  const unsaved = vscode.workspace.textDocuments.filter((d) => d.isDirty && isProjectUri(d.uri));
  if (unsaved.length) {
    const pick = await notify('warning', `vidkompy: ${plural(unsaved.length, 'project')} ${unsaved.length === 1 ? 'has' : 'have'} unsaved edits; Run Batch runs projects as saved.`, 'Save and Run', 'Run As Saved');
    if (!pick) return undefined;
    if (pick === 'Save and Run') await Promise.all(unsaved.map((d) => d.save()));
  }
  const where = ctx.config.queue ? ' on the job queue' : '';
  const title = `running the batch${where}`;
  ctx.log.info(`batch${where}: ${folders.map((f) => f.fsPath).join(', ')}`);
  const params = (workDoneToken: string) => ({ folders: folders.map((f) => f.toString()), workDoneToken });
  const r = await runJob(ctx, title, (client, workDoneToken, token) => client.sendRequest(batchRequest, params(workDoneToken), token));
  if (!r) return undefined;
  const counts = [`${r.done} done`, `${r.upToDate} up to date`, `${r.failed} failed`, ...(r.cancelled ? [`${r.cancelled} cancelled`] : [])].join(', ');
  const head = `batch of ${plural(r.jobs, 'project')}${r.queue ? ` on ${r.queue}` : ''}: ${counts} in ${r.seconds.toFixed(1)} s`;
  (r.failed ? ctx.log.warn : ctx.log.info).call(ctx.log, [head, ...r.results.map(resultLine)].join('\n'));
  const firstError = r.results.find((x) => x.status === 'failed')?.error;
  const message = `vidkompy: ${head}.${firstError ? ` First failure: ${firstError}` : ''}`;
  void notify(r.failed ? 'warning' : 'info', message, 'Show Log').then((pick) => pick && ctx.log.show());
  return r;
}
