import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { frameRequest, resultRequest, type AlignmentView, type Job, type Status } from '../protocol/lsp';
import { isFromWebview, type FromWebview, type ThemeMessage, type ToWebview } from '../protocol/webview';
import { previewHtml } from '../webview/src/html';
import type { Ctx } from './ctx';
import { anchorAt, anchorEdit, anchorRange, formattingOf, isJobOf, projectName } from './project';
import { errorMessage } from './errors';

/**
 * The drift preview: one webview panel per project, beside its editor. The page (webview/, its own
 * bundle) owns the UI and restores its own state when shown again; this side answers its messages
 * with the daemon's `vidkompy/result` and `vidkompy/frame`, turns a pin into an undoable edit of the
 * project file, and keeps the page current as the project is edited or re-aligned.
 */

export const PREVIEW_VIEW_TYPE = 'vidkompy.preview';
/** How long after the last keystroke in the project file the preview asks for the result again. */
const EDIT_DEBOUNCE_MS = 500;

export class Previews implements vscode.Disposable {
  private readonly panels = new Map<string, PreviewPanel>();

  constructor(private readonly ctx: Ctx) {}

  /** Opens the preview of `project` beside the editor, or brings its open one forward. */
  show(project: vscode.Uri): PreviewPanel {
    const key = project.toString();
    const open = this.panels.get(key);
    if (open) {
      open.panel.reveal(undefined, true);
      return open;
    }
    const p = new PreviewPanel(this.ctx, project, () => this.panels.delete(key));
    this.panels.set(key, p);
    return p;
  }

  /** The project of the preview that has focus, for commands run from it. */
  activeProject(): vscode.Uri | undefined {
    for (const p of this.panels.values()) if (p.panel.active) return p.project;
    return undefined;
  }

  /** Whether `project` has its preview open. */
  isOpen(project: vscode.Uri): boolean {
    return this.panels.has(project.toString());
  }

  /** The projects with an open preview. */
  projects(): vscode.Uri[] {
    return [...this.panels.values()].map((p) => p.project);
  }

  /** What the preview of `project` was sent, in order (PreviewPanel.shown); [] when none is open. */
  shown(project: vscode.Uri): PreviewPanel['shown'] {
    return [...(this.panels.get(project.toString())?.shown ?? [])];
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.panel.dispose();
  }
}

export class PreviewPanel {
  readonly panel: vscode.WebviewPanel;
  private view: AlignmentView | null = null;
  private busy = false;
  /** Align jobs of this project already seen finished (each refreshes the preview once). */
  private readonly finished = new Set<number>();
  private refreshSeq = 0;
  /** What the page was sent, in order: 'coarse' (a running align's first map), 'result', 'none' (the test API's `previewShown()`). */
  readonly shown: ('coarse' | 'result' | 'none')[] = [];
  private editTimer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly ctx: Ctx,
    readonly project: vscode.Uri,
    onDispose: () => void,
  ) {
    const root = vscode.Uri.joinPath(ctx.extension.extensionUri, 'dist', 'webview');
    this.panel = vscode.window.createWebviewPanel(
      PREVIEW_VIEW_TYPE,
      `Preview ${projectName(project)}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [root] },
    );
    const webview = this.panel.webview;
    webview.html = previewHtml({
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.css')).toString(),
      cspSource: webview.cspSource,
      nonce: randomBytes(18).toString('base64url'),
    });
    for (const j of ctx.status?.jobs ?? []) if (this.owns(j) && j.state !== 'running' && j.state !== 'queued') this.finished.add(j.id);
    this.subscriptions.push(
      webview.onDidReceiveMessage((m: unknown) => {
        if (isFromWebview(m)) void this.onMessage(m);
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.toString() !== project.toString() || !e.contentChanges.length) return;
        clearTimeout(this.editTimer);
        this.editTimer = setTimeout(() => void this.refresh(), EDIT_DEBOUNCE_MS);
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => this.followCursor(e)),
      vscode.window.onDidChangeActiveColorTheme((t) => this.post(themeMessage(t.kind))),
      ctx.onDidReceiveStatus((s) => this.onStatus(s)),
      // A running align's first whole map: drawn at once, provisional, until the job's end brings the result.
      ctx.onDidReceiveCoarseMap((m) => {
        if (!isJobOf(m.view.project, this.project)) return;
        this.refreshSeq++; // a refresh under way would bring the older result over it
        this.view = m.view;
        this.record('coarse');
        this.post({ type: 'alignment', view: m.view });
      }),
      // A restarted daemon numbers its jobs afresh and knows nothing of what was shown: ask again.
      ctx.onDidChangeState((s) => {
        if (s !== 'ready') return;
        this.finished.clear();
        if (this.busy) this.post({ type: 'busy', busy: false });
        this.busy = false;
        void this.refresh();
      }),
    );
    this.panel.onDidDispose(() => {
      clearTimeout(this.editTimer);
      for (const d of this.subscriptions.splice(0)) d.dispose();
      onDispose();
    });
  }

  private record(what: PreviewPanel['shown'][number]): void {
    this.shown.push(what);
    if (this.shown.length > 500) this.shown.shift();
  }

  private post(m: ToWebview): void {
    void this.panel.webview.postMessage(m);
  }

  private get uri(): string {
    return this.project.toString();
  }

  private owns(j: Job): boolean {
    return isJobOf(j.project, this.project);
  }

  private async onMessage(m: FromWebview): Promise<void> {
    switch (m.type) {
      case 'ready':
        // Sent on every load, including after the panel was hidden and shown again.
        if (this.busy) this.post({ type: 'busy', busy: true });
        return this.refresh();
      case 'requestFrame':
        try {
          const client = await this.ctx.ready();
          const frame = await client.sendRequest(frameRequest, { project: this.uri, fgFrame: m.fgFrame, width: m.width, format: 'jpeg' });
          this.post({ type: 'frame', frame });
        } catch (e) {
          this.post({ type: 'error', message: errorMessage(e), fgFrame: m.fgFrame });
        }
        return;
      case 'pin':
        return this.pin(m.fgTime, m.bgTime);
      case 'reveal':
        return this.reveal(m.anchor);
      case 'realign':
        await vscode.commands.executeCommand('vidkompy.align', this.project);
        return;
    }
  }

  /** Asks the daemon for the project's latest alignment and shows it (or why there is none). */
  async refresh(): Promise<void> {
    const seq = ++this.refreshSeq;
    let view: AlignmentView | null = null;
    let reason: string | undefined;
    try {
      const client = await this.ctx.ready();
      view = await client.sendRequest(resultRequest, { project: this.uri });
      if (!view) reason = 'Not aligned yet: press Re-align, or run “vidkompy: Align”.';
    } catch (e) {
      reason = errorMessage(e);
    }
    if (seq !== this.refreshSeq) return; // a newer refresh is on its way
    this.view = view;
    this.record(view ? 'result' : 'none');
    this.post(reason === undefined ? { type: 'alignment', view } : { type: 'alignment', view, reason });
  }

  private onStatus(s: Status): void {
    const mine = s.jobs.filter((j) => j.kind === 'align' && this.owns(j));
    const active = mine.find((j) => j.state === 'running') ?? mine.find((j) => j.state === 'queued');
    if (active) {
      this.busy = true;
      this.post({ type: 'busy', busy: true, progress: active.state === 'running' ? active.progress : undefined, stage: active.stage ?? active.state });
    } else if (this.busy) {
      this.busy = false;
      this.post({ type: 'busy', busy: false });
    }
    const ended = mine.filter((j) => j.state !== 'running' && j.state !== 'queued' && !this.finished.has(j.id));
    for (const j of ended) this.finished.add(j.id);
    if (ended.length) void this.refresh();
  }

  /** A pin from the page: the anchor goes into the project file as an ordinary, undoable, unsaved edit. */
  private async pin(fgTime: number, bgTime: number): Promise<void> {
    try {
      const doc = await vscode.workspace.openTextDocument(this.project);
      const { edit, index } = anchorEdit(doc, { fg: fgTime, bg: bgTime }, formattingOf(doc));
      if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`${path.basename(this.project.fsPath)} could not be edited`);
      const editor = await vscode.window.showTextDocument(doc, { viewColumn: this.editorColumn(), preserveFocus: true, preview: false });
      const range = anchorRange(doc, index);
      editor.selection = new vscode.Selection(range.start, range.end);
      editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    } catch (e) {
      this.post({ type: 'error', message: `Pin: ${errorMessage(e)}` });
    }
  }

  private async reveal(anchor?: number): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(this.project);
    const selection = anchor === undefined ? undefined : anchorRange(doc, anchor);
    await vscode.window.showTextDocument(doc, { viewColumn: this.editorColumn(), selection, preview: false });
  }

  /** The column of the project's editor, else the one left of the preview. */
  private editorColumn(): vscode.ViewColumn {
    const shown = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.uri)?.viewColumn;
    if (shown) return shown;
    const mine = this.panel.viewColumn ?? vscode.ViewColumn.Two;
    return mine > vscode.ViewColumn.One ? mine - 1 : vscode.ViewColumn.Beside;
  }

  /** The cursor on an anchor in the project file moves the page's scrubber there. */
  private followCursor(e: vscode.TextEditorSelectionChangeEvent): void {
    if (e.kind === undefined || e.kind === vscode.TextEditorSelectionChangeKind.Command) return;
    if (e.textEditor.document.uri.toString() !== this.uri || !this.view) return;
    const hit = anchorAt(e.textEditor.document, e.textEditor.document.offsetAt(e.selections[0].active));
    if (!hit) return;
    this.post({ type: 'goto', fgFrame: nearest(this.view.fgTimes, hit.fg) });
  }
}

function nearest(times: number[], t: number): number {
  let best = 0;
  for (let i = 1; i < times.length; i++) if (Math.abs(times[i] - t) < Math.abs(times[best] - t)) best = i;
  return best;
}

function themeMessage(kind: vscode.ColorThemeKind): ThemeMessage {
  const k = { [vscode.ColorThemeKind.Light]: 'light', [vscode.ColorThemeKind.Dark]: 'dark', [vscode.ColorThemeKind.HighContrast]: 'highContrast', [vscode.ColorThemeKind.HighContrastLight]: 'highContrastLight' } as const;
  return { type: 'theme', kind: k[kind] };
}
