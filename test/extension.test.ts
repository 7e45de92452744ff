import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, promises as fs, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { freePort, installCodeServer, QUIET_SETTINGS, ROOT, startServer, userDataDir, type CodeServerInstall, type Server } from './support/codeServer';
import { sampleWorkspace, type SampleWorkspace } from './support/vscodeWorkspace';
import { CHROMIUM, launchChromium, until, Workbench } from './support/workbench';
import { buildVscodeTests } from './vscode/build';
import type { TestReport } from './vscode/index';
import { ALIGNED_STATUS, BROKEN_MESSAGE, REPORT_ENV } from './vscode/sample';

/**
 * The extension in a real VS Code (../shared/notes/vscode-offline.md), two ways:
 *
 * 1. As users get it: packaged with `vsce package`, installed from the .vsix into code-server, and
 *    driven in Chromium as a person would (explorer, F1 and a command's title, Problems, status
 *    bar, the preview's webview).
 * 2. test/vscode's suite, through the real `vscode` API: VS Code's own server loads the extension
 *    from this working tree and runs the suite (the smoke-test driver's payload), which writes a
 *    JSON report that this file reads.
 *
 * code-server comes from the npm registry (cached in the OS temp dir); if it cannot be
 * installed these tests fail and say so.
 */

const run = promisify(execFile);
const EXTENSION_ID = 'vidkompy.vidkompy';
const STATUS_ITEM = `${EXTENSION_ID}.vidkompy.status`;
const SHOTS = path.join(os.tmpdir(), 'vidkompy-extension-shots');
const VSCE = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
const TARGET = `${process.platform}-${process.arch}`;
const skip = existsSync(CHROMIUM) || process.env.VIDKOMPY_REQUIRE_BROWSER ? false : `${CHROMIUM} is absent: install it (apt-get install -y chromium) to run the VS Code tests`;

/** Whether dist/ is newer than everything the extension, the daemon and the webview are built from. */
async function distIsFresh(): Promise<boolean> {
  const newest = async (dir: string): Promise<number> => {
    let t = 0;
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) t = Math.max(t, e.name === 'build' ? 0 : await newest(p));
      else if (/\.(ts|css|json)$/.test(e.name)) t = Math.max(t, statSync(p).mtimeMs);
    }
    return t;
  };
  const built = ['extension.js', 'daemon.js', 'webview/main.js'].map((f) => path.join(ROOT, 'dist', f));
  if (!built.every((f) => existsSync(f))) return false;
  const oldest = Math.min(...built.map((f) => statSync(f).mtimeMs));
  const sources = await Promise.all(['extension', 'daemon', 'protocol', path.join('webview', 'src'), 'schemas'].map((d) => newest(path.join(ROOT, d))));
  return Math.max(...sources, statSync(path.join(ROOT, 'scripts', 'build.mjs')).mtimeMs, statSync(path.join(ROOT, 'package.json')).mtimeMs) <= oldest;
}

describe('the extension in a real VS Code', { skip, timeout: 15 * 60_000 }, () => {
  let install: CodeServerInstall;
  let work: string;
  let vsix: string;
  let browser: BrowserContext;
  const servers: Server[] = [];

  before(
    async () => {
      work = await fs.mkdtemp(path.join(os.tmpdir(), 'vidkompy-extension-'));
      await fs.mkdir(SHOTS, { recursive: true });
      const building = (async () => {
        // `npm test` has just built dist/; rebuilding here would rewrite dist/cli.js under the CLI tests.
        if (!(await distIsFresh())) await run(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT });
      })();
      [install] = await Promise.all([installCodeServer(), building]);
      vsix = path.join(work, 'vidkompy.vsix');
      // Offline: vsce needs nothing from the network to package.
      await run(process.execPath, [VSCE, 'package', '--target', TARGET, '--skip-license', '--out', vsix], { cwd: ROOT, maxBuffer: 32 << 20 });
      browser = await launchChromium();
    },
    { timeout: 12 * 60_000 },
  );

  after(async () => {
    await browser?.close().catch(() => undefined);
    for (const s of servers) await s.stop();
    // Screenshots stay in SHOTS; the servers' folders, the .vsix and the workspaces go.
    for (const d of [work, ...workspaces]) if (d) await fs.rm(d, { recursive: true, force: true }).catch(() => undefined);
  });

  const workspaces: string[] = [];
  const workspace = async (name: string) => {
    const ws = await sampleWorkspace(name);
    workspaces.push(ws.folder);
    return ws;
  };

  it('packages only what runs: the bundles, schemas, binaries and the sample', async (t) => {
    const { stdout } = await run(process.execPath, [VSCE, 'ls'], { cwd: ROOT, maxBuffer: 32 << 20 });
    const files = stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    for (const f of ['package.json', 'dist/extension.js', 'dist/daemon.js', 'dist/jobWorker.js', 'dist/webview/main.js', 'dist/webview/main.css', 'schemas/project.schema.json', 'schemas/project-alignment.schema.json', 'media/cityCC0.mpg']) {
      assert.ok(files.includes(f), `${f} is in the .vsix`);
    }
    assert.ok(files.some((f) => /^node_modules\/@backendsuraj\/offline-ffmpeg-[^/]+\/bin\/ffmpeg(\.exe)?$/.test(f)), 'the ffmpeg binary is in the .vsix');
    assert.ok(files.some((f) => /^node_modules\/@backendsuraj\/offline-ffprobe-[^/]+\/bin\/ffprobe(\.exe)?$/.test(f)), 'the ffprobe binary is in the .vsix');
    const ours = files.filter((f) => !f.startsWith('node_modules/'));
    const leaked = ours.filter((f) => /\.(ts|map)$/.test(f) || /^(extension|test|bench|scratch|\.ci|\.vscode|docs|webview|scripts|bin)\//.test(f) || /^daemon\/(?!native\/build\/Release\/[^/]+\.node$)/.test(f));
    assert.deepEqual(leaked, [], 'no sources, tests, maps or scratch');
    const packages = new Set(files.filter((f) => f.startsWith('node_modules/')).map((f) => f.split('/').slice(1, f.startsWith('node_modules/@') ? 3 : 2).join('/')));
    const allowed = /^(@backendsuraj\/offline-ff(mpeg|probe)-|onnxruntime-node$|onnxruntime-common$)/;
    assert.deepEqual([...packages].filter((p) => !allowed.test(p)), [], 'of node_modules only what the bundles leave external');
    const size = statSync(vsix).size;
    t.diagnostic(`${path.basename(vsix)}: ${(size / 2 ** 20).toFixed(1)} MiB, ${files.length} files`);
    // ffmpeg 8 and ffprobe 8 static builds are ~70 MiB each compressed: the bound is for everything else creeping in.
    assert.ok(size < 180 * 2 ** 20, `the .vsix stays under 180 MiB (${size} bytes)`);
  });

  describe('packaged, in code-server, driven through the UI', () => {
    let ws: SampleWorkspace;
    let wb: Workbench;

    before(async () => {
      ws = await workspace('ui');
      const dir = path.join(work, 'code-server');
      const ud = await userDataDir(dir);
      const ext = path.join(dir, 'extensions');
      const config = path.join(dir, 'config.yaml');
      await run(install.node, [install.entry, '--config', config, '--user-data-dir', ud, '--extensions-dir', ext, '--install-extension', vsix], { maxBuffer: 8 << 20 });
      assert.ok(existsSync(path.join(ext, `${EXTENSION_ID}-${JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')).version}`, 'dist', 'extension.js')), 'installed from the .vsix');
      const port = await freePort();
      const args = ['--config', config, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--user-data-dir', ud, '--extensions-dir', ext, ws.folder];
      servers.push(await startServer(install.node, [install.entry, ...args], port));
      wb = new Workbench(await browser.newPage());
      await wb.open(`${servers.at(-1)!.url}/?folder=${encodeURIComponent(ws.folder)}`);
    });

    const failureContext = async (name: string) => `\nscreenshot: ${await wb.screenshot(path.join(SHOTS, `${name}.png`))}\npage: ${wb.problems.slice(-5).join('\n')}`;

    it('activates on the workspace: the status bar shows the daemon ready', async () => {
      await until('the status bar to say the daemon is ready', async () => /daemon ready/.test(await wb.statusItem(STATUS_ITEM)), 90_000).catch(async (e) => {
        throw new Error(`${e.message}${await failureContext('ready')}`);
      });
    });

    it('shows the broken project\'s missing fg in the Problems panel', async () => {
      await wb.clickFile('broken.vidkompy.json');
      await wb.runCommand('View: Focus Problems');
      const text = await until('the diagnostic in Problems', async () => {
        const s = await wb.problemsText();
        return BROKEN_MESSAGE.test(s) && s;
      }).catch(async (e) => {
        throw new Error(`${e.message}${await failureContext('problems')}`);
      });
      assert.match(text, /broken\.vidkompy\.json/);
      assert.match(text, /ENOENT/);
    });

    it('aligns with "vidkompy: Align": the alignment is written and the status bar says so', async () => {
      await wb.clickFile('demo.vidkompy.json');
      await wb.runCommand('vidkompy: Align');
      await until('the alignment file', () => existsSync(ws.files.alignment), 120_000).catch(async (e) => {
        throw new Error(`${e.message}${await failureContext('align')}`);
      });
      await until('the status bar to report it', async () => ALIGNED_STATUS.test(await wb.statusItem(STATUS_ITEM)), 15_000);
      const a = JSON.parse(await fs.readFile(ws.files.alignment, 'utf8'));
      assert.deepEqual([a.spatial.x, a.spatial.y, a.spatial.scale], [150, 90, 1], 'fg found where it was cut from');
    });

    it('opens the preview: the drift plot and the frame are drawn, and Pin edits the project', async (t) => {
      await wb.runCommand('vidkompy: Open Preview');
      const frame = await wb.webviewFrame('#plot').catch(async (e) => {
        throw new Error(`${e.message}${await failureContext('preview')}`);
      });
      const plot = await until(
        'the plot canvas to be drawn',
        () =>
          frame.evaluate<{ width: number; height: number; painted: number; colours: number } | null>(`(() => {
            const c = document.querySelector('#plot canvas');
            if (!c || !c.width || !c.height) return null;
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let painted = 0;
            const colours = new Set();
            for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) { painted++; colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); }
            return painted > 500 && colours.size > 3 ? { width: c.width, height: c.height, painted, colours: colours.size } : null;
          })()`),
        30_000,
      );
      t.diagnostic(`plot canvas ${plot.width}x${plot.height}: ${plot.painted} painted pixels, ${plot.colours} colours`);
      assert.match(await frame.locator('#summary').innerText(), /x=150 y=90/);
      // The frame canvas shows fg frame 0: a vidkompy/frame round trip through the extension.
      await frame.waitForSelector('#frame[data-fg-frame="0"]', { timeout: 30_000 });
      await wb.screenshot(path.join(SHOTS, 'preview.png'));

      // Pin: an anchor lands in the project file as an unsaved edit; the file on disk is untouched.
      const onDisk = await fs.readFile(ws.files.project, 'utf8');
      await frame.locator('#pin').click();
      const text = await until('the anchor in the editor', async () => {
        const s = await wb.editorText('demo.vidkompy.json');
        return /"anchors"/.test(s) && s;
      });
      assert.match(text, /"fg": 0,?/);
      assert.equal(await fs.readFile(ws.files.project, 'utf8'), onDisk, 'not saved');
      const tabs = () => wb.page.locator('.tabs-container .tab').evaluateAll((els) => els.map((e) => `${e.getAttribute('aria-label')} [${e.className}]`));
      await until('the project\'s tab to show the unsaved edit', async () => (await tabs()).some((x) => /demo\.vidkompy\.json/.test(x) && /\bdirty\b/.test(x)), 10_000).catch(async (e) => {
        throw new Error(`${e.message}: ${(await tabs()).join('; ')}`);
      });
      await wb.screenshot(path.join(SHOTS, 'pinned.png'));
    });

    /** The toasts of vidkompy on screen now. */
    const ours = async () => (await wb.toasts()).filter((t) => /vidkompy/.test(t));
    const clearToasts = () => wb.runCommand('Notifications: Clear All Notifications');

    it('keeps temp files out of the Explorer', async () => {
      const partial = path.join(ws.folder, '.demo.partial-4242-x1.mp4');
      await fs.writeFile(partial, 'partial');
      await fs.writeFile(path.join(ws.folder, 'shown-4242.mp4'), 'whole');
      const names = await until('the new file in the Explorer', async () => {
        const n = await wb.explorerNames();
        return n.includes('shown-4242.mp4') && n;
      }).catch(async (e) => {
        throw new Error(`${e.message}${await failureContext('explorer')}`);
      });
      assert.ok(!names.some((n) => n.includes('.partial-')), `no temp file listed: ${names.join(', ')}`);
      await fs.rm(partial);
      await fs.rm(path.join(ws.folder, 'shown-4242.mp4'));
    });

    it('says "aligned … Render" without Open Preview while the preview is open, and takes it down when the render starts', async () => {
      // The pin above is an edit of an option: the project re-aligns by itself first.
      await until('the re-alignment after the pin', async () => ALIGNED_STATUS.test(await wb.statusItem(STATUS_ITEM)), 60_000);
      await clearToasts();
      await wb.clickFile('demo.vidkompy.json');
      await wb.runCommand('vidkompy: Align');
      const aligned = await until('the aligned message', async () => (await ours()).find((t) => /vidkompy: (aligned demo|demo is unchanged)/.test(t)), 60_000).catch(async (e) => {
        throw new Error(`${e.message}${await failureContext('aligned-message')}`);
      });
      assert.match(aligned, /Render/);
      assert.doesNotMatch(aligned, /Open Preview/, 'the preview is open already');
      await wb.runCommand('vidkompy: Render');
      const shown = await until('the rendered message', async () => {
        const t = await ours();
        return t.some((x) => /vidkompy: rendered demo\.mp4/.test(x)) && t;
      }, 60_000).catch(async (e) => {
        throw new Error(`${e.message}${await failureContext('rendered-message')}`);
      });
      assert.deepEqual(shown.filter((t) => /aligned demo|demo is unchanged/.test(t)), [], `the aligned message is down: ${shown.join(' | ')}`);
      await wb.screenshot(path.join(SHOTS, 'rendered.png'));
    });

    it('after a cancel says so once: from the progress notification, and from vidkompy: Cancel', async () => {
      const onlyOne = async (what: string, message: RegExp, name: string) => {
        await until('the status bar to show the cancel', async () => /other: align cancelled/.test(await wb.statusItem(STATUS_ITEM)), 30_000);
        const t = await until(what, async () => {
          const now = await ours();
          return now.some((x) => message.test(x)) && now;
        }).catch(async (e) => {
          throw new Error(`${e.message}${await failureContext(name)}`);
        });
        assert.equal(t.length, 1, `one message after the cancel: ${t.join(' | ')}`);
      };
      await clearToasts();
      await wb.clickFile('other.vidkompy.json');
      await wb.runCommand('vidkompy: Align');
      await until('the progress notification', async () => (await ours()).some((t) => /aligning other/.test(t)), 20_000);
      await wb.clickToastButton('aligning other', 'Cancel');
      await onlyOne('the cancel message', /vidkompy: aligning other cancelled\./, 'cancel-notification');

      await clearToasts();
      await wb.runCommand('vidkompy: Align');
      await until('the progress notification', async () => (await ours()).some((t) => /aligning other/.test(t)), 20_000);
      await wb.runCommand('vidkompy: Cancel');
      await onlyOne('the cancel command\'s message', /vidkompy: cancelled aligning other\./, 'cancel-command');
      assert.equal(existsSync(path.join(ws.folder, 'other.vidkompy.align.json')), false, 'nothing written');
    });

    it('New Project\'s pickers show each video\'s duration, picture size, frame rate and file size', async () => {
      await clearToasts();
      await wb.runCommand('vidkompy: New Project', 'New vidkompy project (1/3)');
      const detail = /\d+:\d\d\.\d · \d+×\d+ · [\d.]+ fps( \(variable\))? · [\d.]+ (bytes|KB|MB)/;
      const rows = await until('every video described', async () => {
        const r = await wb.quickPickRows();
        return r.length >= 3 && r.every((x) => detail.test(x)) && r;
      }, 30_000).catch(async (e) => {
        throw new Error(`${e.message}: ${(await wb.quickPickRows()).join(' | ')}${await failureContext('new-project')}`);
      });
      for (const name of ['bg.mpg', 'fg.mp4', 'other.mp4']) assert.ok(rows.some((r) => r.includes(name)), `${name} listed: ${rows.join(' | ')}`);
      // fg: the 352x224 crop at 30 fps, 2 s (test/vscode/sample.ts).
      assert.match(rows.find((r) => r.includes('fg.mp4'))!, /0:02\.0 · 352×224 · 30 fps · /);
      await wb.screenshot(path.join(SHOTS, 'new-project.png'));
      await wb.page.keyboard.press('Escape');
    });
  });

  describe('packaged, in code-server, in Restricted Mode', () => {
    it('checks the project but runs no job: Align explains why and writes nothing', async () => {
      const ws = await workspace('restricted');
      const dir = path.join(work, 'code-server-restricted');
      // Workspace trust on, and no prompt: the folder opens untrusted, in Restricted Mode.
      const ud = await userDataDir(dir, { ...QUIET_SETTINGS, 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' });
      const ext = path.join(work, 'code-server', 'extensions');
      const port = await freePort();
      const args = ['--config', path.join(dir, 'config.yaml'), '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--user-data-dir', ud, '--extensions-dir', ext, ws.folder];
      const server = await startServer(install.node, [install.entry, ...args], port);
      servers.push(server);
      const wb = new Workbench(await browser.newPage());
      await wb.open(`${server.url}/?folder=${encodeURIComponent(ws.folder)}`);
      const shot = async (e: Error) => {
        throw new Error(`${e.message}\nscreenshot: ${await wb.screenshot(path.join(SHOTS, 'restricted.png'))}\npage: ${wb.problems.slice(-5).join('\n')}`);
      };
      await until('the daemon (it validates in Restricted Mode too)', async () => /daemon ready/.test(await wb.statusItem(STATUS_ITEM)), 90_000).catch(shot);
      await wb.clickFile('broken.vidkompy.json');
      await wb.runCommand('View: Focus Problems');
      await until('the diagnostic in Problems', async () => BROKEN_MESSAGE.test(await wb.problemsText())).catch(shot);
      await wb.clickFile('demo.vidkompy.json');
      await wb.runCommand('vidkompy: Align');
      const toast = wb.page.locator('.notifications-toasts .notification-list-item', { hasText: 'runs only in a trusted workspace' });
      await toast.first().waitFor({ timeout: 15_000 }).catch(shot);
      assert.match(await toast.first().innerText(), /Manage Workspace Trust/);
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(existsSync(ws.files.alignment), false, 'no alignment written');
      assert.equal(await wb.page.locator('.codelens-decoration', { hasText: 'Align' }).count(), 0, 'no Align/Render/Preview lenses');
      await wb.page.close();
      await server.stop();
    });
  });

  describe('test/vscode, in VS Code\'s server with the extension under development', () => {
    it('passes', async (t) => {
      const ws = await workspace('api');
      const testsPath = await buildVscodeTests();
      const dir = path.join(work, 'vscode-server');
      const ud = await userDataDir(dir);
      const report = path.join(dir, 'report.json');
      const port = await freePort();
      const args = ['--host', '127.0.0.1', '--port', String(port), '--without-connection-token', '--accept-server-license-terms', '--enable-smoke-test-driver'];
      args.push('--user-data-dir', ud, '--server-data-dir', path.join(dir, 'server-data'), '--extensions-dir', path.join(dir, 'extensions'));
      const server = await startServer(install.node, [install.serverMain, ...args], port, { [REPORT_ENV]: report });
      servers.push(server);
      const remote = (p: string) => `vscode-remote://127.0.0.1:${port}${p}`;
      const payload = [
        ['extensionDevelopmentPath', remote(ROOT)],
        ['extensionTestsPath', remote(testsPath)],
        ['skipWelcome', 'true'],
      ];
      const wb = new Workbench(await browser.newPage());
      await wb.page.goto(`${server.url}/?folder=${encodeURIComponent(ws.folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
      await until('the report of test/vscode', () => existsSync(report), 6 * 60_000).catch(async (e) => {
        throw new Error(`${e.message}\nscreenshot: ${await wb.screenshot(path.join(SHOTS, 'vscode-server.png'))}\nserver: ${server.output().slice(-3000)}`);
      });
      const r = JSON.parse(await fs.readFile(report, 'utf8')) as TestReport;
      t.diagnostic(`VS Code ${r.vscodeVersion} (${r.uiKind}): ${r.passed.length} passed, ${r.failed.length} failed, ${r.pending.length} skipped in ${(r.durationMs / 1000).toFixed(1)} s`);
      for (const p of r.passed) t.diagnostic(`ok ${p.title} (${p.ms} ms)`);
      assert.deepEqual(r.failed, [], 'every test in test/vscode passes');
      assert.ok(r.passed.length >= 16, `all of test/vscode ran (${r.passed.length})`);
      await wb.page.close();
    });
  });
});
