import * as vscode from 'vscode';
// The ES module build: the package's UMD main hides its requires from esbuild (see daemon/project/jsonc.ts).
import { parseTree, type ParseError } from 'jsonc-parser/lib/esm/main.js';
import { liveAlignRequest, type LiveAlignResult, type Status } from '../protocol/lsp';
import { LIVE_ALIGN_DEBOUNCE_MS } from '../protocol/settings';
import type { Ctx } from './ctx';
import { errorCode, errorMessage, isCancellation } from './errors';
import { isJobOf, isProjectUri, projectName } from './project';
import type { LiveView } from './status';

/**
 * Live re-alignment: an edit of a project file marks its alignment stale, and LIVE_ALIGN_DEBOUNCE_MS
 * after the last keystroke, when the text parses, the daemon is asked to re-align it
 * (vidkompy/liveAlign). The daemon decides whether that is cheap and allowed (no errors, aligned
 * before, the same videos) and runs it as a quiet job: the status bar is its only surface, going
 * stale → aligning → aligned, or saying why not. A newer edit cancels the one in flight.
 */

interface Entry {
  uri: vscode.Uri;
  view?: LiveView;
  /** Job ids up to this one are older than the edit: only a later finished align makes it current. */
  after: number;
  timer?: NodeJS.Timeout;
  cts?: vscode.CancellationTokenSource;
}

const maxJobId = (s: Status | null) => (s?.jobs ?? []).reduce((m, j) => Math.max(m, j.id), 0);

export class LiveAlign implements vscode.Disposable {
  private readonly entries = new Map<string, Entry>();
  private readonly changed = new vscode.EventEmitter<void>();
  /** The status bar's view of some project changed. */
  readonly onDidChange = this.changed.event;
  private last: string | undefined;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly ctx: Ctx) {
    this.subscriptions = [
      this.changed,
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
      vscode.workspace.onDidCloseTextDocument((d) => this.forget(d.uri)),
      ctx.onDidReceiveStatus((s) => this.onStatus(s)),
      // A restarted daemon numbers its jobs from 1 again.
      ctx.onDidChangeState((s) => {
        if (s === 'ready') for (const e of this.entries.values()) e.after = 0;
      }),
    ];
  }

  /** What the status bar says of the active editor's project, else of the project edited last. */
  view(): LiveView | undefined {
    const active = vscode.window.activeTextEditor?.document.uri;
    const key = active && isProjectUri(active) ? active.toString() : this.last;
    return key === undefined ? undefined : this.entries.get(key)?.view;
  }

  private set(e: Entry, view: LiveView | undefined): void {
    e.view = view;
    e.after = maxJobId(this.ctx.status);
    this.changed.fire();
  }

  private onEdit(ev: vscode.TextDocumentChangeEvent): void {
    const uri = ev.document.uri;
    if (!ev.contentChanges.length || !isProjectUri(uri) || uri.scheme !== 'file') return;
    if (!this.ctx.config.liveAlign || !vscode.workspace.isTrusted || this.ctx.state !== 'ready') return;
    const key = uri.toString();
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { uri, after: 0 }));
    // The edit supersedes a re-alignment still under way: the daemon stops it.
    e.cts?.cancel();
    clearTimeout(e.timer);
    this.last = key;
    this.set(e, { name: projectName(uri), state: 'stale' });
    const entry = e;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      void this.realign(entry, ev.document);
    }, LIVE_ALIGN_DEBOUNCE_MS);
  }

  private async realign(e: Entry, doc: vscode.TextDocument): Promise<void> {
    if (doc.isClosed) return;
    const errors: ParseError[] = [];
    parseTree(doc.getText(), errors, { disallowComments: true, allowTrailingComma: false });
    if (errors.length) return this.set(e, { name: projectName(e.uri), state: 'stale', reason: 'the file is not valid JSON yet' });
    const cts = (e.cts = new vscode.CancellationTokenSource());
    const name = projectName(e.uri);
    try {
      const client = await this.ctx.ready();
      const r: LiveAlignResult = await client.sendRequest(liveAlignRequest, { project: e.uri.toString(), version: doc.version }, cts.token);
      if (cts.token.isCancellationRequested) return;
      if (r.state === 'aligned') {
        const a = r.result;
        this.ctx.log.info(`re-aligned ${e.uri.fsPath} after an edit in ${r.seconds.toFixed(2)} s: fg at x=${a.spatial.x} y=${a.spatial.y} scale ${a.spatial.scale}, offset ${a.offsetSeconds.toFixed(3)} s`);
        this.set(e, undefined);
      } else if (r.state === 'fresh') {
        this.set(e, undefined);
      } else if (r.why !== 'superseded') {
        this.ctx.log.info(`not re-aligned after an edit: ${r.reason}`);
        this.set(e, { name, state: 'skipped', reason: r.reason, why: r.why });
      }
    } catch (err) {
      if (isCancellation(err) || cts.token.isCancellationRequested) return;
      const reason = errorMessage(err);
      this.ctx.log.warn(`re-aligning ${e.uri.fsPath} after an edit: ${reason}`);
      this.set(e, { name, state: errorCode(err) === 'UNSURE' ? 'refused' : 'failed', reason });
    } finally {
      if (e.cts === cts) e.cts = undefined;
      cts.dispose();
    }
  }

  /** A finished align newer than the edit (the live one, or the user's) makes the project current. */
  private onStatus(s: Status): void {
    let changed = false;
    for (const e of this.entries.values()) {
      // An edit still waiting out its debounce is newer than any job.
      if (!e.view || e.timer) continue;
      const current = s.jobs.some((j) => j.kind === 'align' && j.state === 'done' && j.id > e.after && isJobOf(j.project, e.uri));
      if (!current) continue;
      e.view = undefined;
      changed = true;
    }
    if (changed) this.changed.fire();
  }

  private forget(uri: vscode.Uri): void {
    const e = this.entries.get(uri.toString());
    if (!e) return;
    e.cts?.cancel();
    clearTimeout(e.timer);
    this.entries.delete(uri.toString());
    this.changed.fire();
  }

  dispose(): void {
    for (const e of this.entries.values()) {
      e.cts?.cancel();
      clearTimeout(e.timer);
    }
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}
