import * as vscode from 'vscode';
import type { Job, Status } from '../protocol/lsp';
import { PROJECT_SUFFIX } from '../protocol/project';
import type { Ctx, DaemonState } from './ctx';

/**
 * The status bar item: the daemon's state, the running job with its percentage (from the
 * `vidkompy/status` notification), else how the last job ended; the execution provider, kernels
 * and queue in the tooltip.
 */

export interface StatusView {
  text: string;
  /** The text without icons, the daemon's state spelled out (screen readers, tests). */
  label: string;
  tooltip: string;
}

const ICON: Record<DaemonState, string> = {
  stopped: '$(circle-slash)',
  starting: '$(loading~spin)',
  ready: '$(check)',
  restarting: '$(loading~spin)',
  crashed: '$(error)',
};

const VERB: Record<Job['kind'], [string, string]> = { align: ['aligning', 'aligned'], render: ['rendering', 'rendered'] };

/** `demo` for a `file:///…/demo.vidkompy.json` job. */
function nameOf(project: string): string {
  const base = decodeURIComponent(project.split('/').pop() ?? project);
  return base.endsWith(PROJECT_SUFFIX) ? base.slice(0, -PROJECT_SUFFIX.length) : base;
}

/** The job to show: the running one, else a queued one, else the last to finish. */
function shownJob(status: Status | null): Job | undefined {
  const jobs = status?.jobs ?? [];
  return jobs.find((j) => j.state === 'running') ?? jobs.find((j) => j.state === 'queued') ?? [...jobs].reverse().find((j) => j.state !== 'queued');
}

export function describeJob(j: Job): string {
  const [ing, ed] = VERB[j.kind];
  const name = nameOf(j.project);
  switch (j.state) {
    case 'running':
      return `${ing} ${name} ${Math.round(j.progress * 100)}%`;
    case 'queued':
      return `${name}: ${j.kind} queued`;
    case 'done':
      return `${name} ${ed}`;
    case 'failed':
      return `${name}: ${j.kind} failed`;
    case 'cancelled':
      return `${name}: ${j.kind} cancelled`;
  }
}

export function statusView(state: DaemonState, status: Status | null, problem?: string): StatusView {
  const job = state === 'ready' ? shownJob(status) : undefined;
  let text: string;
  if (state !== 'ready') text = `${ICON[state]} vidkompy: ${state === 'crashed' ? 'daemon stopped' : state}`;
  else if (!job) text = `${ICON.ready} vidkompy`;
  else {
    const icon = job.state === 'running' || job.state === 'queued' ? '$(sync~spin)' : job.state === 'done' ? '$(check)' : job.state === 'failed' ? '$(error)' : '$(circle-slash)';
    text = `${icon} vidkompy: ${describeJob(job)}`;
  }
  const lines = [`vidkompy daemon${status ? ` ${status.version}` : ''}: ${state}${problem && state === 'crashed' ? ` (${problem})` : ''}`];
  if (status) {
    lines.push(`Execution provider: ${status.provider === 'cuda' ? 'CUDA' : 'CPU'}`, `Kernels: ${status.kernels === 'native' ? 'native' : 'TypeScript'}`);
    for (const j of status.jobs.filter((x) => x.state === 'running' || x.state === 'queued')) lines.push(`Job ${j.id}: ${describeJob(j)}${j.stage ? ` (${j.stage})` : ''}`);
    const last = [...status.jobs].reverse().find((j) => j.state !== 'running' && j.state !== 'queued');
    if (last) lines.push(`Last: ${describeJob(last)}${last.message && last.state !== 'done' ? ` — ${last.message}` : ''}`);
  }
  const words = text.replace(/\$\([^)]*\)\s*/g, '');
  const label = state === 'ready' && !job ? 'vidkompy: daemon ready' : words;
  return { text, label, tooltip: lines.join('\n') };
}

export function createStatusItem(ctx: Ctx): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('vidkompy.status', vscode.StatusBarAlignment.Left, 10);
  item.name = 'vidkompy';
  const update = () => {
    const v = statusView(ctx.state, ctx.status, ctx.problem);
    item.text = v.text;
    const md = new vscode.MarkdownString(v.tooltip.split('\n').join('  \n'));
    md.appendMarkdown('\n\n[Show Log](command:vidkompy.showLog) · [Restart Daemon](command:vidkompy.restartDaemon)');
    if (ctx.status?.jobs.some((j) => j.state === 'running' || j.state === 'queued')) md.appendMarkdown(' · [Cancel](command:vidkompy.cancel)');
    md.isTrusted = { enabledCommands: ['vidkompy.showLog', 'vidkompy.restartDaemon', 'vidkompy.cancel'] };
    item.tooltip = md;
    item.accessibilityInformation = { label: v.label, role: 'button' };
    item.backgroundColor = ctx.state === 'crashed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    item.command = ctx.state === 'crashed' ? 'vidkompy.restartDaemon' : 'vidkompy.showLog';
  };
  update();
  item.show();
  const subs = [ctx.onDidChangeState(update), ctx.onDidReceiveStatus(update)];
  return new vscode.Disposable(() => {
    for (const s of subs) s.dispose();
    item.dispose();
  });
}
