import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type Mocha from 'mocha';
import * as vscode from 'vscode';
import type { AlignResult, RenderResult } from '../../protocol/lsp';
import type { VidkompyApi } from '../../extension/main';
import { anchorEdit, formattingOf } from '../../extension/project';
import { ALIGNED_STATUS, BROKEN_MESSAGE, FILES } from './sample';

/**
 * The extension in a real VS Code, through the real API: activation and the daemon, diagnostics
 * of a broken project, Align through the command, the preview panel, New Project, the pin edit,
 * cancelling, a manual restart and recovery from a crash.
 */

const EXTENSION_ID = 'vidkompy.vidkompy';

async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function extensionSuite({ describe, it, before }: Mocha.MochaGlobals): void {
  describe('the vidkompy extension in VS Code', () => {
    let api: VidkompyApi;
    let folder: vscode.Uri;
    const file = (name: string) => vscode.Uri.joinPath(folder, name);

    before(async () => {
      const f = vscode.workspace.workspaceFolders?.[0];
      assert.ok(f, 'a workspace folder is open');
      folder = f.uri;
      const ext = vscode.extensions.getExtension<VidkompyApi>(EXTENSION_ID);
      assert.ok(ext, `${EXTENSION_ID} is installed`);
      api = await ext.activate();
    });

    it('activates and starts the daemon', async () => {
      await api.ready();
      await until('the status bar to say ready', () => api.status().state === 'ready');
      await until('the daemon\'s first status', () => /Execution provider/.test(api.status().tooltip));
      assert.match(api.status().tooltip, /Execution provider: (CPU|CUDA)/);
      assert.match(api.status().tooltip, /Kernels: (native|TypeScript)/);
    });

    it('shows a broken project\'s missing fg as an error diagnostic', async () => {
      const uri = file(FILES.broken);
      await vscode.window.showTextDocument(uri);
      const d = await until('the ENOENT diagnostic', () => vscode.languages.getDiagnostics(uri).find((x) => x.source === 'vidkompy' && BROKEN_MESSAGE.test(x.message)));
      assert.equal(d.severity, vscode.DiagnosticSeverity.Error);
      assert.equal(d.range.start.line, 2, 'on the fg line');
      const good = file(FILES.project);
      await vscode.window.showTextDocument(good);
      // The good project gets its (empty) diagnostics too, not an error.
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(vscode.languages.getDiagnostics(good).filter((x) => x.severity === vscode.DiagnosticSeverity.Error), []);
    });

    it('aligns through vidkompy.align, writes the alignment and reports it in the status bar', async () => {
      const uri = file(FILES.project);
      await vscode.window.showTextDocument(uri);
      const r = await vscode.commands.executeCommand<AlignResult | undefined>('vidkompy.align', uri);
      assert.ok(r, 'the command returns the result');
      assert.equal(r.spatial.x, 150);
      assert.equal(r.spatial.y, 90);
      assert.equal(r.spatial.scale, 1);
      assert.ok(Math.abs(r.offsetSeconds - 0.8) < 0.05, `offset ${r.offsetSeconds}`);
      assert.equal(vscode.Uri.parse(r.alignment).fsPath, file(FILES.alignment).fsPath);
      assert.ok(existsSync(file(FILES.alignment).fsPath), 'the alignment file is on disk');
      await until('the status bar to report the alignment', () => ALIGNED_STATUS.test(api.status().text));
    });

    it('renders through vidkompy.render from the saved alignment', async () => {
      const uri = file(FILES.project);
      const r = await vscode.commands.executeCommand<RenderResult | undefined>('vidkompy.render', uri);
      assert.ok(r, 'the command returns the result');
      assert.equal(vscode.Uri.parse(r.output).fsPath, file('demo.mp4').fsPath);
      assert.equal(r.frames, 60);
      assert.ok(r.width >= 352 && r.height >= 224, `fg's pixels 1:1 in bg's picture (${r.width}x${r.height})`);
      assert.ok((await fs.stat(file('demo.mp4').fsPath)).size > 1000, 'the video is on disk');
      await until('the status bar to report the render', () => /vidkompy: demo rendered/.test(api.status().text));
    });

    it('opens the preview beside the editor', async () => {
      const uri = file(FILES.project);
      assert.equal(await vscode.commands.executeCommand('vidkompy.openPreview', uri), true);
      const tab = await until('the preview tab', () =>
        vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('vidkompy.preview')),
      );
      assert.equal(tab.label, 'Preview demo');
      assert.notEqual(tab.group.viewColumn, vscode.window.tabGroups.all.find((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === uri.toString()))?.viewColumn, 'beside the project');
      assert.deepEqual(api.previews(), [uri.fsPath]);
      // A second Open Preview brings the same panel forward.
      await vscode.commands.executeCommand('vidkompy.openPreview', uri);
      assert.equal(api.previews().length, 1);
    });

    it('pins an anchor as an ordinary, undoable edit that keeps the anchors in time order', async () => {
      const uri = file('pins.vidkompy.json');
      const text = '{\n    "bg": "bg.mpg",\n    "fg": "clips/fg.mp4",\n    "anchors": [\n        { "fg": 0.5, "bg": 1.3 }\n    ]\n}\n';
      await fs.writeFile(uri.fsPath, text);
      const doc = await vscode.workspace.openTextDocument(uri);
      const editor = await vscode.window.showTextDocument(doc);
      const first = anchorEdit(doc, { fg: 0.1, bg: 0.9000001 }, formattingOf(doc));
      assert.equal(first.index, 0, 'before the existing, later anchor');
      assert.ok(await vscode.workspace.applyEdit(first.edit));
      const second = anchorEdit(doc, { fg: 1.25, bg: 2.05 }, formattingOf(doc));
      assert.equal(second.index, 2);
      assert.ok(await vscode.workspace.applyEdit(second.edit));
      const anchors = JSON.parse(doc.getText()).anchors;
      assert.deepEqual(anchors, [{ fg: 0.1, bg: 0.9 }, { fg: 0.5, bg: 1.3 }, { fg: 1.25, bg: 2.05 }]);
      assert.match(doc.getText(), /\n {8}\{/, 'four-space indentation kept');
      assert.ok(doc.isDirty, 'not saved');
      assert.equal(await fs.readFile(uri.fsPath, 'utf8'), text, 'the file on disk is untouched');
      await vscode.window.showTextDocument(editor.document);
      await vscode.commands.executeCommand('undo');
      await vscode.commands.executeCommand('undo');
      assert.equal(doc.getText(), text, 'undo takes both pins back');
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    });

    it('makes a new project from two picked videos', async () => {
      const made = await vscode.commands.executeCommand<vscode.Uri | undefined>('vidkompy.newProject', {
        folder,
        bg: file(FILES.bg),
        fg: file(FILES.fg),
        name: 'made',
      });
      assert.ok(made);
      assert.equal(path.basename(made.fsPath), 'made.vidkompy.json');
      const data = JSON.parse(await fs.readFile(made.fsPath, 'utf8'));
      assert.equal(data.bg, FILES.bg);
      assert.equal(data.fg, FILES.fg);
      assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, made.fsPath, 'opened');
      // The daemon validates it like any project: both videos exist, so no errors.
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(vscode.languages.getDiagnostics(made).filter((x) => x.severity === vscode.DiagnosticSeverity.Error).map((x) => x.message), []);
    });

    it('cancels a running align with vidkompy.cancel and leaves no alignment behind', async () => {
      const uri = file(FILES.other);
      const running = vscode.commands.executeCommand<AlignResult | undefined>('vidkompy.align', uri);
      await until('the align job to run', () => /aligning other/.test(api.status().text), 20_000);
      assert.equal(await vscode.commands.executeCommand('vidkompy.cancel'), 1);
      assert.equal(await running, undefined, 'the command reports no result');
      assert.equal(existsSync(path.join(folder.fsPath, 'other.vidkompy.align.json')), false);
      await until('the status bar to show the cancel', () => /other: align cancelled/.test(api.status().text));
    });

    it('restarts the daemon on request', async () => {
      await vscode.commands.executeCommand('vidkompy.restartDaemon');
      await until('ready again', () => api.status().state === 'ready');
    });

    /** The daemon: the extension host's child running dist/daemon.js (Linux: pgrep). */
    const daemonPid = () => {
      try {
        return Number(execFileSync('pgrep', ['-n', '-P', String(process.pid), '-f', 'dist/daemon.js'], { encoding: 'utf8' }).trim()) || undefined;
      } catch {
        return undefined;
      }
    };
    /** Kills the daemon and waits for the states that follow until `last`. */
    const crash = async (last: string): Promise<string[]> => {
      const pid = await until('the daemon process', daemonPid, 10_000);
      const before = api.states().length;
      process.kill(pid, 'SIGKILL');
      const states = await until(`"${last}" after the crash`, () => (api.states().slice(before).includes(last) ? api.states().slice(before) : undefined), 30_000).catch((e: Error) => {
        throw new Error(`${e.message}; states since: ${api.states().slice(before).join(' → ')}`);
      });
      assert.notEqual(daemonPid(), pid, 'the killed daemon is gone');
      return states;
    };

    it('restarts the daemon after it crashes, and keeps serving diagnostics', async function () {
      if (process.platform !== 'linux') return this.skip();
      const uri = file(FILES.broken);
      await vscode.window.showTextDocument(uri);
      assert.deepEqual(await crash('ready'), ['restarting', 'ready'], 'restarted once, by the client');
      await until('the diagnostic from the new daemon', () => vscode.languages.getDiagnostics(uri).some((x) => BROKEN_MESSAGE.test(x.message)));
    });

    it('gives up after 5 crashes in 3 minutes, until the user restarts it', async function () {
      if (process.platform !== 'linux') return this.skip();
      // One restart of the budget went to the test before.
      for (let i = 2; i <= 5; i++) assert.deepEqual(await crash('ready'), ['restarting', 'ready'], `restart ${i} of 5`);
      assert.deepEqual(await crash('crashed'), ['crashed'], 'the sixth crash in 3 minutes is not restarted');
      assert.match(api.status().text, /vidkompy: daemon stopped/);
      await vscode.commands.executeCommand('vidkompy.restartDaemon');
      await until('ready after Restart Daemon', () => api.status().state === 'ready');
    });
  });
}
