import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { WorkDoneProgress, type LanguageClient } from 'vscode-languageclient/node';
import { alignRequest, cancelRequest, renderRequest, type AlignResult, type ProjectParams, type RenderResult } from '../protocol/lsp';
import type { Ctx } from './ctx';
import { errorCode, errorMessage, isCancellation } from './errors';
import type { Previews } from './preview';
import { alignmentOf, isProjectUri, PROJECT_SUFFIX, projectName, projectTemplate, relativePath, resolveProject, VIDEO_GLOB } from './project';

/**
 * The palette's commands (category "vidkompy"). Align and Render run as LSP requests carrying a
 * work-done token, shown as a cancellable notification; cancelling it cancels the request, which
 * stops the daemon's job. Each command returns what it made, for tests and other extensions.
 */

export const COMMANDS = {
  newProject: 'vidkompy.newProject',
  align: 'vidkompy.align',
  render: 'vidkompy.render',
  openPreview: 'vidkompy.openPreview',
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
      return project && align(ctx, project);
    }),
    reg(COMMANDS.render, async (arg) => {
      if (!trusted('Render')) return undefined;
      const project = await target(arg, 'render');
      return project && render(ctx, project);
    }),
    reg(COMMANDS.openPreview, async (arg) => {
      if (!trusted('The preview')) return false;
      const project = await target(arg, 'preview');
      if (!project) return false;
      previews.show(project);
      return true;
    }),
    reg(COMMANDS.cancel, async (arg) => {
      const client = ctx.client;
      if (!client || ctx.state !== 'ready') return 0;
      const project = arg instanceof vscode.Uri && isProjectUri(arg) ? arg.toString() : undefined;
      const { cancelled } = await client.sendRequest(cancelRequest, project ? { project } : {});
      void vscode.window.showInformationMessage(
        cancelled ? `vidkompy: cancelled ${cancelled} job${cancelled === 1 ? '' : 's'}.` : 'vidkompy: no job to cancel.',
      );
      return cancelled;
    }),
    reg(COMMANDS.showLog, () => ctx.log.show(true)),
    reg(COMMANDS.restartDaemon, async () => {
      try {
        await ctx.restart();
      } catch (e) {
        void vscode.window.showErrorMessage(`vidkompy: ${errorMessage(e)}`, 'Show Log').then((p) => p && ctx.log.show());
      }
    }),
  ];
}

/** In Restricted Mode projects are checked but nothing runs: ffmpeg on untrusted input and paths. */
function trusted(what: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window
    .showWarningMessage(
      `vidkompy: ${what} runs only in a trusted workspace. In Restricted Mode vidkompy checks project files but runs no jobs or previews.`,
      'Manage Workspace Trust',
    )
    .then((pick) => pick && vscode.commands.executeCommand('workbench.trust.manage'));
  return false;
}

async function align(ctx: Ctx, project: vscode.Uri): Promise<AlignResult | undefined> {
  const name = projectName(project);
  const r = await runJob(ctx, project, `aligning ${name}`, (client, params, token) => client.sendRequest(alignRequest, params, token));
  if (!r) return undefined;
  const s = r.spatial;
  const offset = `${r.offsetSeconds >= 0 ? '+' : '−'}${Math.abs(r.offsetSeconds).toFixed(3)} s`;
  const summary = `fg at x=${s.x} y=${s.y} scale ${s.scale}, offset ${offset}, speed ${r.speed.toFixed(4)}, confidence ${r.meanConfidence.toFixed(2)}`;
  ctx.log.info(`aligned ${project.fsPath}: ${summary}${r.cached ? ' (reused)' : ''}`);
  void vscode.window
    .showInformationMessage(`vidkompy: ${r.cached ? `${name} is unchanged; its alignment stands` : `aligned ${name}`}: ${summary}.`, 'Open Preview', 'Render')
    .then((pick) => {
      if (pick === 'Open Preview') void vscode.commands.executeCommand(COMMANDS.openPreview, project);
      else if (pick === 'Render') void vscode.commands.executeCommand(COMMANDS.render, project);
    });
  return r;
}

async function render(ctx: Ctx, project: vscode.Uri): Promise<RenderResult | undefined> {
  const name = projectName(project);
  // Render uses the saved alignment; a missing or stale one (STALE) is fixed by aligning first.
  const realign = { label: 'Align and Render', run: async () => ((await align(ctx, project)) ? render(ctx, project) : undefined) };
  const r = await runJob(ctx, project, `rendering ${name}`, (client, params, token) => client.sendRequest(renderRequest, params, token), realign);
  if (!r) return undefined;
  const out = vscode.Uri.parse(r.output);
  ctx.log.info(`rendered ${out.fsPath}: ${r.width}x${r.height}, ${r.frames} frames, audio ${r.audio}`);
  void vscode.window
    .showInformationMessage(
      `vidkompy: rendered ${path.basename(out.fsPath)} (${r.width}×${r.height}, ${r.frames} frames, audio: ${r.audio}).`,
      'Open',
      'Reveal in Explorer',
    )
    .then((pick) => {
      if (pick === 'Open') void vscode.commands.executeCommand('vscode.open', out);
      else if (pick) void vscode.commands.executeCommand('revealInExplorer', out);
    });
  return r;
}

type Send<R> = (client: LanguageClient, params: ProjectParams, token: vscode.CancellationToken) => Promise<R>;

/**
 * One daemon job under a cancellable progress notification: the request carries a fresh work-done
 * token whose `$/progress` drives the bar; cancelling the notification cancels the request.
 * Undefined when it was cancelled or failed (the user has been told).
 */
async function runJob<R>(
  ctx: Ctx,
  project: vscode.Uri,
  title: string,
  send: Send<R>,
  onStale?: { label: string; run: () => Promise<unknown> },
): Promise<R | undefined> {
  try {
    const client = await ctx.ready();
    return await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `vidkompy: ${title}`, cancellable: true },
      async (progress, token) => {
        const workDoneToken = `vidkompy-${randomUUID()}`;
        let done = 0;
        const sub = client.onProgress(WorkDoneProgress.type, workDoneToken, (v) => {
          if (v.kind === 'end') return;
          const pct = Math.max(done, v.percentage ?? done);
          progress.report({ increment: pct - done, message: v.kind === 'report' ? v.message : undefined });
          done = pct;
        });
        try {
          return await send(client, { project: project.toString(), workDoneToken }, token);
        } finally {
          sub.dispose();
        }
      },
    );
  } catch (e) {
    if (isCancellation(e)) {
      void vscode.window.showInformationMessage(`vidkompy: ${title} cancelled.`);
    } else {
      ctx.log.error(`${title}: ${errorMessage(e)}`);
      const fix = onStale && errorCode(e) === 'STALE' ? [onStale.label] : [];
      void vscode.window.showErrorMessage(`vidkompy: ${title} failed: ${errorMessage(e)}`, ...fix, 'Open Project', 'Show Log').then((pick) => {
        if (pick === 'Open Project') void vscode.window.showTextDocument(project);
        else if (pick === 'Show Log') ctx.log.show();
        else if (pick && onStale) void onStale.run();
      });
    }
    return undefined;
  }
}

export interface NewProjectArgs {
  /** Skip the prompts (tests, other extensions): the folder, the two videos and the name. */
  folder?: vscode.Uri;
  bg?: vscode.Uri;
  fg?: vscode.Uri;
  name?: string;
}

/**
 * New Project: pick bg and fg among the workspace's videos, name it, and get `NAME.vidkompy.json`
 * in the workspace folder, opened. Returns its URI.
 */
async function newProject(ctx: Ctx, args: NewProjectArgs): Promise<vscode.Uri | undefined> {
  const folder = args.folder ?? (await pickFolder());
  if (!folder) return undefined;
  const videos = args.bg && args.fg ? [] : await vscode.workspace.findFiles(new vscode.RelativePattern(folder, VIDEO_GLOB), '**/{node_modules,.git}/**', 2000);
  if (!(args.bg && args.fg) && videos.length < 2) {
    void vscode.window.showErrorMessage(`vidkompy: a project needs two videos (bg and fg) in ${folder.fsPath}; found ${videos.length}.`);
    return undefined;
  }
  const pickVideo = async (step: number, which: string, hint: string, not?: vscode.Uri) => {
    const items = videos
      .filter((v) => v.toString() !== not?.toString())
      .sort((a, b) => a.path.localeCompare(b.path))
      .map((uri) => ({ label: path.posix.basename(uri.path), description: path.posix.dirname(relativePath(folder, uri)).replace(/^\.$/, ''), uri }));
    return (
      await vscode.window.showQuickPick(items, {
        title: `New vidkompy project (${step}/3): ${which}`,
        placeHolder: hint,
        matchOnDescription: true,
        ignoreFocusOut: true,
      })
    )?.uri;
  };
  const bg = args.bg ?? (await pickVideo(1, 'background video (bg)', 'The larger picture that fg is placed inside'));
  if (!bg) return undefined;
  const fg = args.fg ?? (await pickVideo(2, 'foreground video (fg)', 'The better source: every fg frame is kept', bg));
  if (!fg) return undefined;
  const exists = async (name: string) => {
    try {
      await vscode.workspace.fs.stat(vscode.Uri.joinPath(folder, name + PROJECT_SUFFIX));
      return true;
    } catch {
      return false;
    }
  };
  const suggested = path.posix.basename(fg.path).replace(/\.[^.]+$/, '');
  const name =
    args.name ??
    (await vscode.window.showInputBox({
      title: 'New vidkompy project (3/3): name',
      prompt: `The project is saved as NAME${PROJECT_SUFFIX} in ${path.basename(folder.fsPath)}`,
      value: suggested,
      ignoreFocusOut: true,
      validateInput: async (v) => {
        if (!v.trim()) return 'A name is needed';
        if (/[\\/:*?"<>|]/.test(v)) return 'A file name cannot contain \\ / : * ? " < > |';
        return (await exists(v.trim())) ? `${v.trim()}${PROJECT_SUFFIX} already exists` : undefined;
      },
    }));
  if (!name) return undefined;
  const file = vscode.Uri.joinPath(folder, name.trim() + PROJECT_SUFFIX);
  if (await exists(name.trim())) {
    void vscode.window.showErrorMessage(`vidkompy: ${path.basename(file.fsPath)} already exists.`);
    return undefined;
  }
  await vscode.workspace.fs.writeFile(file, Buffer.from(projectTemplate(relativePath(folder, bg), relativePath(folder, fg), ctx.config.defaultEngine), 'utf8'));
  await vscode.window.showTextDocument(file, { preview: false });
  ctx.log.info(`new project ${file.fsPath} (alignment will go to ${path.basename(alignmentOf(file).fsPath)})`);
  return file;
}

async function pickFolder(): Promise<vscode.Uri | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 1) return folders[0].uri;
  if (!folders.length) {
    void vscode.window.showErrorMessage('vidkompy: open a folder with your videos first; the project is saved in it.');
    return undefined;
  }
  return (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Where to save the new project' }))?.uri;
}
