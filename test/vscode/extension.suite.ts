import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type Mocha from 'mocha';
import * as vscode from 'vscode';
import type { AlignResult, BatchResult, RenderResult } from '../../protocol/lsp';
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

    it('aligns through vidkompy.align, writes the alignment and reports it in the status bar, the coarse map first', async () => {
      const uri = file(FILES.project);
      await vscode.window.showTextDocument(uri);
      const mark = api.statusTexts().length;
      const r = await vscode.commands.executeCommand<AlignResult | undefined>('vidkompy.align', uri);
      assert.ok(r, 'the command returns the result');
      assert.equal(r.spatial.x, 150);
      assert.equal(r.spatial.y, 90);
      assert.equal(r.spatial.scale, 1);
      assert.ok(Math.abs(r.offsetSeconds - 0.8) < 0.05, `offset ${r.offsetSeconds}`);
      assert.equal(vscode.Uri.parse(r.alignment).fsPath, file(FILES.alignment).fsPath);
      assert.ok(existsSync(file(FILES.alignment).fsPath), 'the alignment file is on disk');
      await until('the status bar to report the alignment', () => ALIGNED_STATUS.test(api.status().text));
      // The engine's first pass gave a whole map while the job ran: the status bar said so, then the result.
      const seen = api.statusTexts().slice(mark);
      const coarse = seen.findIndex((t) => /vidkompy: aligning demo \d+% · coarse offset [+−]\d+\.\d{3} s/.test(t));
      const aligned = seen.findIndex((t, i) => i > coarse && ALIGNED_STATUS.test(t));
      assert.ok(coarse >= 0 && aligned > coarse, `coarse map → aligned in: ${seen.join(' | ')}`);
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

    it('offers no Open Preview once the preview is open', async () => {
      const said = api.notices().length;
      const r = await vscode.commands.executeCommand<AlignResult | undefined>('vidkompy.align', file(FILES.project));
      assert.ok(r?.cached, 'unchanged: the alignment stands');
      const [n] = api.notices().slice(said);
      assert.match(n?.message ?? '', /vidkompy: demo is unchanged; its alignment stands/);
      assert.deepEqual(n.actions, ['Render'], 'Render only: the preview is already open');
    });

    it('the open preview draws an align\'s coarse map as soon as it exists, then the result', async () => {
      const uri = file(FILES.project);
      const mark = api.previewShown(uri.fsPath).length;
      // A missing alignment is aligned afresh (a fresh one would be reused, with no map to show early).
      await fs.rm(file(FILES.alignment).fsPath);
      const r = await vscode.commands.executeCommand<AlignResult | undefined>('vidkompy.align', uri);
      assert.equal(r?.cached, false);
      const shown = await until('the result after the coarse map', () => {
        const s = api.previewShown(uri.fsPath).slice(mark);
        const c = s.indexOf('coarse');
        return c >= 0 && s.indexOf('result', c) > c && s;
      });
      assert.ok(shown.length >= 2, shown.join(' → '));
      await until('the status bar to say aligned', () => ALIGNED_STATUS.test(api.status().text));
    });

    it('re-aligns by itself after an option edit: the status bar goes stale → aligning → aligned', async () => {
      const uri = file(FILES.project);
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(doc);
      const alignment = file(FILES.alignment).fsPath;
      const options = async () => JSON.parse(await fs.readFile(alignment, 'utf8')).options as { window?: number };
      assert.equal((await options()).window, undefined);
      const mark = api.statusTexts().length;
      const edit = new vscode.WorkspaceEdit();
      const withWindow = JSON.stringify({ ...JSON.parse(doc.getText()), window: 12 }, null, 2) + '\n';
      edit.replace(uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), withWindow);
      assert.ok(await vscode.workspace.applyEdit(edit));
      await until('the alignment to follow the edit', async () => (await options()).window === 12, 30_000);
      await until('the status bar to say aligned', () => ALIGNED_STATUS.test(api.status().text));
      const seen = api.statusTexts().slice(mark);
      const stale = seen.findIndex((t) => /vidkompy: demo stale/.test(t));
      const aligning = seen.findIndex((t, i) => i > stale && /vidkompy: (aligning demo|demo: align queued)/.test(t));
      const aligned = seen.findIndex((t, i) => i > aligning && ALIGNED_STATUS.test(t));
      assert.ok(stale >= 0 && aligning > stale && aligned > aligning, `stale → aligning → aligned in: ${seen.join(' | ')}`);
      assert.ok(doc.isDirty, 'the edit is not saved: the alignment follows the editor');
      // Undone: re-aligned back, by the same way.
      await vscode.window.showTextDocument(doc);
      await vscode.commands.executeCommand('undo');
      await until('the alignment to follow the undo', async () => (await options()).window === undefined, 30_000);
      await until('the status bar to say aligned again', () => ALIGNED_STATUS.test(api.status().text));
      assert.equal(doc.isDirty, false);
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

    it('runs every project of a folder with vidkompy.runBatch: both outputs, one summary', async () => {
      const dir = file('batch');
      await fs.mkdir(dir.fsPath, { recursive: true });
      for (const [name, engine] of [['a', 'full'], ['b', 'fast']]) {
        const project = { bg: `../${FILES.bg}`, fg: `../${FILES.fg}`, engine, output: `${name}.mp4`, render: { preset: 'ultrafast', crf: 35 } };
        await fs.writeFile(path.join(dir.fsPath, `${name}.vidkompy.json`), JSON.stringify(project, null, 2) + '\n');
      }
      const said = api.notices().length;
      const r = await vscode.commands.executeCommand<BatchResult | undefined>('vidkompy.runBatch', dir);
      assert.ok(r, 'the command returns the batch\'s result');
      assert.deepEqual([r.jobs, r.done, r.failed], [2, 2, 0], JSON.stringify(r.results));
      for (const name of ['a', 'b']) assert.ok((await fs.stat(path.join(dir.fsPath, `${name}.mp4`))).size > 1000, `${name}.mp4 rendered`);
      const summary = api.notices().slice(said);
      assert.equal(summary.length, 1, `one message: ${summary.map((n) => n.message).join(' | ')}`);
      assert.match(summary[0].message, /^vidkompy: batch of 2 projects: 2 done, 0 up to date, 0 failed in \d+\.\d s\.$/);
      const log = await until('the summary in the log', async () => {
        const t = await fs.readFile(api.logFile(), 'utf8').catch(() => '');
        return /batch of 2 projects: 2 done/.test(t) && t;
      });
      for (const name of ['a', 'b']) assert.match(log, new RegExp(`done: .*batch[/\\\\]${name}\\.vidkompy\\.json in \\d+\\.\\d s`));
    });

    it('keeps vidkompy\'s temp files out of the Explorer and file searches', async () => {
      const exclude = vscode.workspace.getConfiguration('files').get<Record<string, boolean>>('exclude') ?? {};
      assert.equal(exclude['**/.*.partial-*'], true, JSON.stringify(exclude));
      await fs.writeFile(path.join(folder.fsPath, '.demo.partial-4242-x1.mp4'), 'partial');
      await fs.writeFile(path.join(folder.fsPath, 'visible-4242.mp4'), 'whole');
      const found = await until('the visible file to be found', async () => {
        const f = await vscode.workspace.findFiles('*4242*');
        return f.some((u) => u.path.endsWith('visible-4242.mp4')) && f;
      });
      assert.deepEqual(found.map((u) => path.basename(u.fsPath)), ['visible-4242.mp4'], 'the partial file is excluded');
      await fs.rm(path.join(folder.fsPath, '.demo.partial-4242-x1.mp4'));
      await fs.rm(path.join(folder.fsPath, 'visible-4242.mp4'));
    });

    it('cancels a running align with vidkompy.cancel, says so once, and leaves no alignment behind', async () => {
      const uri = file(FILES.other);
      const said = api.notices().length;
      const running = vscode.commands.executeCommand<AlignResult | undefined>('vidkompy.align', uri);
      await until('the align job to run', () => /aligning other/.test(api.status().text), 20_000);
      assert.equal(await vscode.commands.executeCommand('vidkompy.cancel'), 1);
      assert.equal(await running, undefined, 'the command reports no result');
      assert.equal(existsSync(path.join(folder.fsPath, 'other.vidkompy.align.json')), false);
      await until('the status bar to show the cancel', () => /other: align cancelled/.test(api.status().text));
      assert.deepEqual(
        api.notices().slice(said).map((n) => n.message),
        ['vidkompy: cancelled aligning other.'],
        'one message: the cancel\'s, not the job\'s too',
      );
    });

    it('logs the version, the tools, the provider, and each job with its duration and outcome', async () => {
      const version = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.version as string;
      const log = await until(
        'the log to have the cancel',
        async () => {
          const t = await fs.readFile(api.logFile(), 'utf8').catch(() => '');
          return /job \d+: align \S*other\.vidkompy\.json: cancelled/.test(t) && t;
        },
        20_000,
      );
      assert.match(log, new RegExp(`vidkompy ${version.replace(/\./g, '\\.')} \\(extension ${version.replace(/\./g, '\\.')}\\); the daemon runs on `));
      const ffmpeg = /ffmpeg: (\/\S+) \(version (\S+)\)/.exec(log);
      assert.ok(ffmpeg && existsSync(ffmpeg[1]), `the ffmpeg path, and it exists: ${ffmpeg?.[1]}`);
      assert.match(log, /ffprobe: \/\S+ \(version /);
      assert.match(log, /embedding provider: (CPU|CUDA) \(/);
      assert.match(log, /kernels: (native|TypeScript)/);
      assert.match(log, /hardware decoding: \S+ \(/);
      assert.match(log, /hardware encoding: \S+ \(/);
      assert.match(log, /job \d+: align \S*demo\.vidkompy\.json: done in \d+\.\d\d s/);
      assert.match(log, /job \d+: render \S*demo\.vidkompy\.json: done in \d+\.\d\d s/);
      assert.match(log, /job \d+: align \(after an edit\) \S*demo\.vidkompy\.json: done in \d+\.\d\d s/);
      assert.match(log, /job \d+: batch \S*batch: done in \d+\.\d\d s/);
      assert.match(log, /cancel requested \(vidkompy: Cancel\): 1 job stopped/);
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
