import * as vscode from 'vscode';
import type { CoarseMap, Job, Status } from '../protocol/lsp';
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

const VERB: Record<Job['kind'], [string, string]> = { align: ['aligning', 'aligned'], render: ['rendering', 'rendered'], batch: ['running the batch in', 'batch done'] };

/** `demo` for a `file:///…/demo.vidkompy.json` job; a batch's folder name. */
function nameOf(project: string): string {
  const base = decodeURIComponent(project.split('/').pop() ?? project);
  return base.endsWith(PROJECT_SUFFIX) ? base.slice(0, -PROJECT_SUFFIX.length) : base;
}

/** A reason short enough for the status bar (the tooltip has it whole). */
export function short(reason: string, max = 60): string {
  const one = reason.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1).trimEnd()}…` : one;
}

/** The job to show: the running one, else a queued one, else the last to finish. */
function shownJob(status: Status | null): Job | undefined {
  const jobs = status?.jobs ?? [];
  return jobs.find((j) => j.state === 'running') ?? jobs.find((j) => j.state === 'queued') ?? [...jobs].reverse().find((j) => j.state !== 'queued');
}

/** A failed align the engine was not sure of: refused (its message says why and what to give). */
const refused = (j: Pick<Job, 'code'>) => j.code === 'UNSURE';

export function describeJob(j: Job): string {
  const [ing, ed] = VERB[j.kind];
  const name = nameOf(j.project);
  switch (j.state) {
    case 'running':
      return j.kind === 'batch' ? `batch in ${name} ${Math.round(j.progress * 100)}%` : `${ing} ${name} ${Math.round(j.progress * 100)}%`;
    case 'queued':
      return `${name}: ${j.kind} queued`;
    case 'done':
      return j.kind === 'batch' ? `${ed} in ${name}` : `${name} ${ed}`;
    case 'failed':
      return `${name}: ${j.kind} ${refused(j) ? 'refused' : 'failed'}${j.message ? `: ${short(j.message)}` : ''}`;
    case 'cancelled':
      return `${name}: ${j.kind} cancelled`;
  }
}

/** What the status bar knows beyond the daemon's jobs: a project edited since its alignment (extension/live.ts). */
export interface LiveView {
  /** The project's file name without the suffix. */
  name: string;
  state: 'stale' | 'skipped' | 'failed' | 'refused';
  reason?: string;
  /** Why it was not re-aligned (skipped): the status bar says it in a few words, the tooltip in full. */
  why?: 'never aligned' | 'errors' | 'inputs changed';
}

const SKIPPED: Record<NonNullable<LiveView['why']>, string> = {
  'never aligned': 'not aligned yet',
  errors: 'stale: fix the errors first',
  'inputs changed': 'stale: new videos, run Align',
};

function describeLive(l: LiveView): { icon: string; text: string; line: string } {
  const why = l.reason ? `: ${short(l.reason)}` : '';
  switch (l.state) {
    case 'stale':
      return { icon: '$(circle-large-outline)', text: `${l.name} stale${why}`, line: `${l.name}: edited since its alignment${l.reason ? ` (${l.reason})` : ''}` };
    case 'skipped':
      return { icon: '$(info)', text: `${l.name} ${l.why ? SKIPPED[l.why] : `stale${why}`}`, line: `${l.name}: not re-aligned: ${l.reason}` };
    case 'failed':
      return { icon: '$(error)', text: `${l.name}: align failed${why}`, line: `${l.name}: the re-alignment failed: ${l.reason}` };
    case 'refused':
      return { icon: '$(error)', text: `${l.name}: align refused${why}`, line: `${l.name}: the re-alignment was refused: ${l.reason}` };
  }
}

/** bg − fg at fg's first frame, signed, in seconds. */
function coarseOffset(m: CoarseMap): string {
  const v = m.view;
  const o = (v.bgTimeForFg[0] ?? 0) - (v.fgTimes[0] ?? 0);
  return `${o < 0 ? '−' : '+'}${Math.abs(o).toFixed(3)} s`;
}

/**
 * `coarse`: the first whole map of each align still running (Ctx.coarse): the status bar says one
 * exists, with its offset, until the job ends and the result replaces it.
 */
export function statusView(state: DaemonState, status: Status | null, problem?: string, live?: LiveView, coarse?: ReadonlyMap<string, CoarseMap>): StatusView {
  const job = state === 'ready' ? shownJob(status) : undefined;
  const first = job?.kind === 'align' && job.state === 'running' ? coarse?.get(job.project) : undefined;
  const busy = job && (job.state === 'running' || job.state === 'queued');
  const edited = state === 'ready' && !busy && live ? describeLive(live) : undefined;
  let text: string;
  if (state !== 'ready') text = `${ICON[state]} vidkompy: ${state === 'crashed' ? 'daemon stopped' : state}`;
  else if (edited) text = `${edited.icon} vidkompy: ${edited.text}`;
  else if (!job) text = `${ICON.ready} vidkompy`;
  else {
    const icon = busy ? '$(sync~spin)' : job.state === 'done' ? '$(check)' : job.state === 'failed' ? '$(error)' : '$(circle-slash)';
    text = `${icon} vidkompy: ${describeJob(job)}${first ? ` · coarse offset ${coarseOffset(first)}` : ''}`;
  }
  const lines = [`vidkompy daemon${status ? ` ${status.version}` : ''}: ${state}${problem && state === 'crashed' ? ` (${problem})` : ''}`];
  if (edited) lines.push(edited.line);
  if (first) {
    const s = first.view.spatial;
    lines.push(`Coarse map after ${first.seconds.toFixed(1)} s (the first pass): offset ${coarseOffset(first)}, fg at x=${s.x} y=${s.y}; provisional in the preview until the alignment is refined`);
  }
  if (status) {
    lines.push(`Execution provider: ${status.provider === 'cuda' ? 'CUDA' : 'CPU'}`, `Kernels: ${status.kernels === 'native' ? 'native' : 'TypeScript'}`);
    for (const j of status.jobs.filter((x) => x.state === 'running' || x.state === 'queued')) lines.push(`Job ${j.id}: ${describeJob(j)}${j.stage ? ` (${j.stage})` : ''}`);
    const last = [...status.jobs].reverse().find((j) => j.state !== 'running' && j.state !== 'queued');
    if (last) lines.push(`Last: ${describeJob({ ...last, message: undefined })}${last.message && last.state !== 'done' ? ` — ${last.message}` : ''}`);
  }
  const words = text.replace(/\$\([^)]*\)\s*/g, '');
  const label = state === 'ready' && !job && !edited ? 'vidkompy: daemon ready' : words;
  return { text, label, tooltip: lines.join('\n') };
}

/** The status bar item, and every text it has shown (the test API's `statusTexts()`). */
export interface StatusItem extends vscode.Disposable {
  texts(): string[];
}

const KEEP_TEXTS = 2000;

export function createStatusItem(ctx: Ctx, live: { view(): LiveView | undefined; onDidChange: vscode.Event<void> }): StatusItem {
  const item = vscode.window.createStatusBarItem('vidkompy.status', vscode.StatusBarAlignment.Left, 10);
  item.name = 'vidkompy';
  const history: string[] = [];
  const update = () => {
    const v = statusView(ctx.state, ctx.status, ctx.problem, live.view(), ctx.coarse);
    if (history[history.length - 1] !== v.text) {
      history.push(v.text);
      if (history.length > KEEP_TEXTS) history.shift();
    }
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
  const subs = [
    ctx.onDidChangeState(update),
    ctx.onDidReceiveStatus(update),
    ctx.onDidReceiveCoarseMap(update),
    live.onDidChange(update),
    vscode.window.onDidChangeActiveTextEditor(update),
  ];
  return {
    texts: () => [...history],
    dispose: () => {
      for (const s of subs) s.dispose();
      item.dispose();
    },
  };
}
