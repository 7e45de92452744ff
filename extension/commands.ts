import * as path from 'node:path';
import * as vscode from 'vscode';
import { alignRequest, renderRequest, type AlignResult, type RenderResult } from '../protocol/lsp';
import { runBatch } from './batch';
import type { Ctx } from './ctx';
import { errorMessage } from './errors';
import { cancelJobs, runJob } from './jobs';
import { newProject, type NewProjectArgs } from './newProject';
import { clearResult, notify, result } from './notify';
import type { Previews } from './preview';
import { isProjectUri, projectName, resolveProject } from './project';

/**
 * The palette's commands (category "vidkompy"). Align, Render and Run Batch run as LSP requests
 * under one cancellable progress notification each (jobs.ts); cancelling it cancels the request,
 * which stops the daemon's job. Each command returns what it made, for tests and other extensions.
 */

export const COMMANDS = {
  newProject: 'vidkompy.newProject',
  align: 'vidkompy.align',
  render: 'vidkompy.render',
  openPreview: 'vidkompy.openPreview',
  runBatch: 'vidkompy.runBatch',
  cancel: 'vidkompy.cancel',
  showLog: 'vidkompy.showLog',
  restartDaemon: 'vidkompy.restartDaemon',
} as const;

export function registerCommands(ctx: Ctx, previews: Previews): vscode.Disposable[] {
  const reg = (id: string, fn: (...args: unknown[]) => unknown) => vscode.commands.registerCommand(id, fn);
  const target = (arg: unknown, verb: string) => resolveProject(arg, previews.activeProject(), verb);
  return [
    reg(COMMANDS.newProject, (arg) => newProject(ctx, (arg ?? {}) as NewProjectArgs)),
    reg(COMMANDS.align, async (arg) => {
      if (!trusted('Align')) return undefined;
      const project = await target(arg, 'align');
      return project && align(ctx, previews, project);
    }),
    reg(COMMANDS.render, async (arg) => {
      if (!trusted('Render')) return undefined;
      const project = await target(arg, 'render');
      return project && render(ctx, previews, project);
    }),
    reg(COMMANDS.openPreview, async (arg) => {
      if (!trusted('Open Preview')) return false;
      const project = await target(arg, 'preview');
      if (!project) return false;
      previews.show(project);
      return true;
    }),
    reg(COMMANDS.runBatch, (arg) => (trusted('Run Batch') ? runBatch(ctx, arg instanceof vscode.Uri ? arg : undefined) : undefined)),
    reg(COMMANDS.cancel, (arg) => cancelJobs(ctx, arg instanceof vscode.Uri && isProjectUri(arg) ? arg : undefined)),
    reg(COMMANDS.showLog, () => ctx.log.show(true)),
    reg(COMMANDS.restartDaemon, async () => {
      try {
        await ctx.restart();
      } catch (e) {
        void notify('error', `vidkompy: ${errorMessage(e)}`, 'Show Log').then((p) => p && ctx.log.show());
      }
    }),
  ];
}

/** In Restricted Mode projects are checked but nothing runs: ffmpeg on untrusted input and paths. `what`: the command's title. */
function trusted(what: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void notify(
    'warning',
    `vidkompy: ${what} runs only in a trusted workspace. In Restricted Mode vidkompy checks project files but runs no jobs or previews.`,
    'Manage Workspace Trust',
  ).then((pick) => pick && vscode.commands.executeCommand('workbench.trust.manage'));
  return false;
}

async function align(ctx: Ctx, previews: Previews, project: vscode.Uri): Promise<AlignResult | undefined> {
  const name = projectName(project);
  clearResult(project);
  const r = await runJob(ctx, `aligning ${name}`, (client, workDoneToken, token) => client.sendRequest(alignRequest, { project: project.toString(), workDoneToken }, token), {
    project,
  });
  if (!r) return undefined;
  const s = r.spatial;
  const offset = `${r.offsetSeconds >= 0 ? '+' : '−'}${Math.abs(r.offsetSeconds).toFixed(3)} s`;
  const summary = `fg at x=${s.x} y=${s.y} scale ${s.scale}, offset ${offset}, speed ${r.speed.toFixed(4)}, confidence ${r.meanConfidence.toFixed(2)}`;
  ctx.log.info(`aligned ${project.fsPath}: ${summary}${r.cached ? ' (reused)' : ''}`);
  // The preview already open follows the new alignment by itself: no button to open it again.
  const actions = previews.isOpen(project) ? ['Render'] : ['Open Preview', 'Render'];
  void result(project, `vidkompy: ${r.cached ? `${name} is unchanged; its alignment stands` : `aligned ${name}`}: ${summary}.`, ...actions).then((pick) => {
    if (pick === 'Open Preview') void vscode.commands.executeCommand(COMMANDS.openPreview, project);
    else if (pick === 'Render') void vscode.commands.executeCommand(COMMANDS.render, project);
  });
  return r;
}

async function render(ctx: Ctx, previews: Previews, project: vscode.Uri): Promise<RenderResult | undefined> {
  const name = projectName(project);
  // "aligned … Render" has done its job: it does not stay up over the render's progress.
  clearResult(project);
  // Render uses the saved alignment; a missing or stale one (STALE) is fixed by aligning first.
  const realign = { label: 'Align and Render', run: async () => ((await align(ctx, previews, project)) ? render(ctx, previews, project) : undefined) };
  const r = await runJob(ctx, `rendering ${name}`, (client, workDoneToken, token) => client.sendRequest(renderRequest, { project: project.toString(), workDoneToken }, token), {
    project,
    onStale: realign,
  });
  if (!r) return undefined;
  const out = vscode.Uri.parse(r.output);
  ctx.log.info(`rendered ${out.fsPath}: ${r.width}x${r.height}, ${r.frames} frames, audio ${r.audio}`);
  void result(project, `vidkompy: rendered ${path.basename(out.fsPath)} (${r.width}×${r.height}, ${r.frames} frames, audio: ${r.audio}).`, 'Open', 'Reveal in Explorer').then((pick) => {
    if (pick === 'Open') void vscode.commands.executeCommand('vscode.open', out);
    else if (pick) void vscode.commands.executeCommand('revealInExplorer', out);
  });
  return r;
}
