import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { WorkDoneProgress, type LanguageClient } from 'vscode-languageclient/node';
import { cancelRequest } from '../protocol/lsp';
import type { Ctx } from './ctx';
import { errorCode, errorMessage, isCancellation } from './errors';
import { notify } from './notify';

/**
 * The jobs a command starts (Align, Render, Run Batch), each under one cancellable progress
 * notification: the request carries a fresh work-done token whose `$/progress` drives the bar, and
 * the notification's Cancel cancels the request. Whoever cancels says so, once: the notification's
 * Cancel is answered by the job ("… cancelled"), vidkompy: Cancel by the command, never both.
 */

interface Running {
  title: string;
  project?: string;
  /** Cancelled by vidkompy: Cancel, which tells the user itself. */
  byCommand: boolean;
}

const running = new Set<Running>();

export type Send<R> = (client: LanguageClient, workDoneToken: string, token: vscode.CancellationToken) => Promise<R>;

export interface JobOptions {
  /** The project the job is about (Open Project on failure; vidkompy: Cancel with a project). */
  project?: vscode.Uri;
  /** Offered on a STALE failure (no alignment, or an outdated one), e.g. Align and Render. */
  onStale?: { label: string; run: () => Promise<unknown> };
}

/** Runs one job under its progress notification; undefined when it was cancelled or failed (the user has been told). */
export async function runJob<R>(ctx: Ctx, title: string, send: Send<R>, o: JobOptions = {}): Promise<R | undefined> {
  const me: Running = { title, project: o.project?.toString(), byCommand: false };
  try {
    const client = await ctx.ready();
    running.add(me);
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
        const onCancel = token.onCancellationRequested(() => ctx.log.info(`cancel requested: ${title} (its notification's Cancel)`));
        try {
          return await send(client, workDoneToken, token);
        } finally {
          sub.dispose();
          onCancel.dispose();
        }
      },
    );
  } catch (e) {
    if (isCancellation(e)) {
      if (!me.byCommand) void notify('info', `vidkompy: ${title} cancelled.`);
    } else {
      ctx.log.error(`${title}: ${errorMessage(e)}`);
      const fix = o.onStale && errorCode(e) === 'STALE' ? [o.onStale.label] : [];
      const open = o.project ? ['Open Project'] : [];
      void notify('error', `vidkompy: ${title} failed: ${errorMessage(e)}`, ...fix, ...open, 'Show Log').then((pick) => {
        if (pick === 'Open Project' && o.project) void vscode.window.showTextDocument(o.project);
        else if (pick === 'Show Log') ctx.log.show();
        else if (pick && o.onStale) void o.onStale.run();
      });
    }
    return undefined;
  } finally {
    running.delete(me);
  }
}

/**
 * vidkompy: Cancel: stops the jobs of `project` (all when undefined) and says so in one message,
 * naming the command jobs it stopped; their own notifications then stay silent.
 */
export async function cancelJobs(ctx: Ctx, project?: vscode.Uri): Promise<number> {
  const client = ctx.client;
  if (!client || ctx.state !== 'ready') {
    void notify('info', 'vidkompy: no job to cancel (the daemon is not running).');
    return 0;
  }
  const key = project?.toString();
  const mine = [...running].filter((r) => key === undefined || r.project === key);
  for (const r of mine) r.byCommand = true;
  let cancelled = 0;
  try {
    ({ cancelled } = await client.sendRequest(cancelRequest, key ? { project: key } : {}));
  } finally {
    if (!cancelled) for (const r of mine) r.byCommand = false;
  }
  ctx.log.info(`cancel requested (vidkompy: Cancel${project ? ` on ${project.fsPath}` : ''}): ${cancelled} job${cancelled === 1 ? '' : 's'} stopped`);
  if (!cancelled) {
    void notify('info', 'vidkompy: no job to cancel.');
  } else {
    const named = mine.map((r) => r.title);
    const others = cancelled - named.length;
    const more = others > 0 ? `${named.length ? ' and ' : ''}${others} other job${others === 1 ? '' : 's'}` : '';
    void notify('info', `vidkompy: cancelled ${named.join(', ')}${more}.`);
  }
  return cancelled;
}
