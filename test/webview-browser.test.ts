import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it, type TestContext } from 'node:test';
import { decode } from 'fast-png';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { align } from '../daemon/engine/align';
import type { AlignmentView } from '../protocol/lsp';
import { isFromWebview, type FromWebview, type ToWebview } from '../protocol/webview';
import { previewHtml } from '../webview/src/html';
import { pixel, previewFrame, type PreviewFrame, type Rgb } from './support/frames';
import { derived, SAMPLE, tempDir } from './support/media';
import { toView } from './support/view';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'webview');
const SHOTS = path.join(os.tmpdir(), 'vidkompy-webview-shots');
const skip =
  existsSync(CHROMIUM) || process.env.VIDKOMPY_REQUIRE_BROWSER
    ? false
    : `${CHROMIUM} is absent: install it (apt-get install -y chromium) to run the webview browser tests`;

/** Distinct theme colours, so the plot's pixels say which curve they belong to. */
const THEME: Record<string, string> = {
  '--vscode-editor-background': '#101010',
  '--vscode-foreground': '#d0d0d0',
  '--vscode-charts-blue': '#0000ff',
  '--vscode-charts-orange': '#ff8000',
  '--vscode-charts-purple': '#ff00ff',
  '--vscode-charts-red': '#ff0000',
  '--vscode-charts-green': '#00ff00',
  '--vscode-charts-yellow': '#ffff00',
};

/**
 * VS Code's API as the page will see it, installed before the bundle runs. Messages go to the
 * test's fake extension; the state lives in sessionStorage so that a reload plays the panel being
 * hidden and shown again. CSP violations are collected for the test to read.
 */
const FAKE_VSCODE_API = `(() => {
  const violations = [];
  window.__vkCsp = violations;
  document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective + ' ' + e.blockedURI));
  let acquired = false;
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error('acquireVsCodeApi may only be called once');
    acquired = true;
    return {
      postMessage: (m) => window.__vkToExtension(JSON.parse(JSON.stringify(m))),
      getState: () => JSON.parse(sessionStorage.getItem('__vk_fake_state') || 'null') ?? undefined,
      setState: (s) => sessionStorage.setItem('__vk_fake_state', JSON.stringify(s)),
    };
  };
})();`;

interface Shot extends Rgb {
  channels: number;
}

/** Whether dist/webview is newer than everything it is built from. */
async function bundleIsFresh(): Promise<boolean> {
  const mtime = async (f: string) => (await fs.stat(f).catch(() => null))?.mtimeMs ?? NaN;
  const built = Math.min(await mtime(path.join(DIST, 'main.js')), await mtime(path.join(DIST, 'main.css')));
  if (Number.isNaN(built)) return false;
  const src = path.join(ROOT, 'webview', 'src');
  const inputs = [
    ...(await fs.readdir(src)).map((f) => path.join(src, f)),
    path.join(ROOT, 'protocol', 'webview.ts'),
    path.join(ROOT, 'protocol', 'lsp.ts'),
    path.join(ROOT, 'scripts', 'build.mjs'),
    path.join(ROOT, 'package-lock.json'),
  ];
  for (const f of inputs) if (!((await mtime(f)) <= built)) return false;
  return true;
}

describe('the drift preview in a browser', { skip }, () => {
  let context: BrowserContext;
  let page: Page;
  let server: http.Server;
  let url: string;
  let view: AlignmentView;
  let fgFile: string;
  const posted: FromWebview[] = [];
  const problems: string[] = [];
  const frames = new Map<string, Promise<PreviewFrame>>();
  let last: PreviewFrame | undefined;

  /** The fake extension: answers `ready` with the alignment and `requestFrame` with real frames. */
  async function fromPage(m: unknown): Promise<void> {
    if (!isFromWebview(m)) return void problems.push(`not a webview message: ${JSON.stringify(m)}`);
    posted.push(m);
    try {
      if (m.type === 'ready') await send({ type: 'alignment', view });
      if (m.type === 'requestFrame') {
        const key = `${m.fgFrame}/${m.width}/${view.bgFrameForFg[m.fgFrame]}`;
        if (!frames.has(key)) frames.set(key, previewFrame(view, { bg: SAMPLE, fg: fgFile }, m.fgFrame, m.width));
        last = await frames.get(key)!;
        await send({ type: 'frame', frame: last.result });
      }
    } catch (e) {
      if (!/closed|destroyed/i.test(String(e))) problems.push(`fake extension: ${(e as Error).stack}`);
    }
  }

  /**
   * Page-side code goes in as strings: the root tsconfig has no DOM types, and tsx's helpers
   * (__name) would not exist in the page.
   */
  const inPage = <T = unknown>(js: string) => page.evaluate(`(() => { ${js} })()`) as Promise<T>;
  const send = (m: ToWebview) => inPage(`window.postMessage(${JSON.stringify(m)}, '*');`);

  async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, ms = 20000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await f();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; posted: ${JSON.stringify(posted.slice(-6))}; problems: ${problems.join('\n')}`);
      await new Promise((r) => setTimeout(r, 40));
    }
  }

  const requested = (fgFrame: number, since = 0) =>
    until(`requestFrame ${fgFrame}`, () => posted.slice(since).some((m) => m.type === 'requestFrame' && m.fgFrame === fgFrame));
  /** The canvas shows `fgFrame` in `mode` (main.ts marks what it drew). */
  const drawn = (fgFrame: number, mode?: string) =>
    page.waitForSelector(`#frame[data-fg-frame="${fgFrame}"]${mode ? `[data-mode="${mode}"]` : ''}`, { timeout: 20000 });
  const fakeState = () =>
    inPage<{ fgFrame: number; mode: string; zoom: { min: number; max: number } } | null>(
      `return JSON.parse(sessionStorage.getItem('__vk_fake_state') || 'null');`,
    );

  async function shot(t: TestContext, selector: string, name: string): Promise<Shot> {
    const png = await page.locator(selector).screenshot();
    const file = path.join(SHOTS, `${name}.png`);
    await fs.writeFile(file, png);
    t.diagnostic(`screenshot: ${file}`);
    const d = decode(png);
    return { width: d.width, height: d.height, data: d.data as Uint8Array, channels: d.channels };
  }

  before(async () => {
    // `npm test` has just built everything; rebuilding here would rewrite dist/cli.js under the
    // CLI tests running beside this file. Standalone runs after an edit do rebuild.
    const build = (await bundleIsFresh()) ? Promise.resolve() : promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT });
    fgFile = (await derived(SAMPLE, { crop: { x: 160, y: 80, width: 400, height: 240 }, fps: 30, offset: 1.5, frames: 90 })).fg;
    const [al] = await Promise.all([align(SAMPLE, fgFile), build]);
    const dir = await tempDir('webview');
    const base = toView(al, { project: path.join(dir, 'demo.vidkompy.json') });
    // One anchor where a pin at frame 60 would put it, and a cut marker at 30, to see both drawn.
    view = { ...base, anchors: [{ fg: base.fgTimes[60], bg: base.bgTimeForFg[60] }], cuts: [30] };
    await fs.mkdir(SHOTS, { recursive: true });

    const nonce = randomBytes(18).toString('base64url');
    server = http.createServer(async (req, res) => {
      const p = new URL(req.url ?? '/', 'http://x').pathname;
      if (p === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return void res.end(previewHtml({ scriptUri: `${url}/main.js`, styleUri: `${url}/main.css`, cspSource: url, nonce }));
      }
      const file = { '/main.js': 'main.js', '/main.css': 'main.css', '/main.js.map': 'main.js.map', '/main.css.map': 'main.css.map' }[p];
      if (p === '/favicon.ico') return void res.writeHead(204).end();
      if (!file) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'application/json' });
      res.end(await fs.readFile(path.join(DIST, file)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    context = await chromium.launchPersistentContext(await fs.mkdtemp(path.join(os.tmpdir(), 'vidkompy-chromium-')), {
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1000, height: 1100 },
      deviceScaleFactor: 1,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15000);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    await page.exposeFunction('__vkToExtension', fromPage);
    // VS Code's API as the page will see it, installed before the bundle runs; the state lives in
    // sessionStorage so that a reload plays the panel being hidden and shown again.
    // A string, not a function: tsx's helpers (__name) do not exist in the page.
    await context.addInitScript(FAKE_VSCODE_API);
  });

  after(async () => {
    await context?.close();
    server?.close();
  });

  it('loads under the strict CSP, says it is ready, and shows the first frame', async () => {
    await page.goto(url);
    await until('ready', () => posted.some((m) => m.type === 'ready'));
    await drawn(0, 'composite');
    assert.ok(posted.some((m) => m.type === 'requestFrame' && m.fgFrame === 0 && m.width > 0));
    assert.deepEqual(await inPage('return window.__vkCsp;'), [], 'no CSP violations');
    assert.match(await page.locator('#title').innerText(), /demo\.vidkompy\.json/);
    assert.equal(await page.locator('#scrubber').getAttribute('max'), String(view.bgFrameForFg.length - 1));
  });

  it('plots bg time against fg time along a rising line, the offset flat, the anchor and cut where they belong', async (t) => {
    await inPage(`for (const [k, v] of Object.entries(${JSON.stringify(THEME)})) document.documentElement.style.setProperty(k, v);`);
    await send({ type: 'theme', kind: 'dark' });
    await page.waitForTimeout(100);
    const img = await shot(t, '#plot', 'plot');
    const canvasBox = (await page.locator('#plot').boundingBox())!;
    const over = (await page.locator('#plot .u-over').boundingBox())!;
    const area = {
      left: Math.round(over.x - canvasBox.x),
      top: Math.round(over.y - canvasBox.y),
      width: Math.round(over.width),
      height: Math.round(over.height),
    };
    const px = (x: number, y: number) => pixel(img, x, y, img.channels);
    const isBlue = ([r, g, b]: number[]) => b > 150 && r < 90 && g < 90;
    const isOrange = ([r, g, b]: number[]) => r > 200 && g > 80 && g < 180 && b < 80;
    const isPurple = ([r, g, b]: number[]) => r > 180 && b > 180 && g < 90;
    const isRed = ([r, g, b]: number[]) => r > 180 && g < 70 && b < 70;

    // The map: the mean row of blue pixels in each column lies on one rising straight line.
    const pts: [number, number][] = [];
    const orange: number[] = [];
    for (let x = area.left; x < area.left + area.width; x++) {
      const ys: number[] = [];
      for (let y = area.top; y < area.top + area.height; y++) {
        const p = px(x, y);
        if (isBlue(p)) ys.push(y);
        if (isOrange(p)) orange.push(y);
      }
      if (ys.length) pts.push([x, ys.reduce((a, b) => a + b, 0) / ys.length]);
    }
    assert.ok(pts.length > area.width * 0.9, `the map covers the plot's width (${pts.length} of ${area.width} columns)`);
    const n = pts.length;
    const mx = pts.reduce((a, p) => a + p[0], 0) / n;
    const my = pts.reduce((a, p) => a + p[1], 0) / n;
    const slope = pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
    const worst = Math.max(...pts.map(([x, y]) => Math.abs(my + slope * (x - mx) - y)));
    assert.ok(slope < -0.05, `bg time rises with fg time (slope ${slope.toFixed(3)} px/px)`);
    assert.ok(worst < 4, `straight: no column is more than ${worst.toFixed(1)} px off the fitted line`);
    assert.ok(pts[0][1] > area.top + area.height * 0.6 && pts[n - 1][1] < area.top + area.height * 0.4, 'from bottom left to top right');

    // The offset: present, and within a band (the sample does not drift).
    assert.ok(orange.length > area.width * 0.3, `offset curve drawn (${orange.length} px)`);
    assert.ok(Math.max(...orange) - Math.min(...orange) < area.height / 2, 'offset stays in a band');

    // Marks: purple at the anchor's time, red at the cut's, in plot-area coordinates.
    const xAt = (sec: number) => area.left + ((sec - view.fgTimes[0]) / (view.fgTimes[view.fgTimes.length - 1] - view.fgTimes[0])) * area.width;
    const colHas = (x: number, test: (p: number[]) => boolean) => {
      for (let dx = -2; dx <= 2; dx++) for (let y = area.top; y < area.top + area.height; y++) if (test(px(Math.round(x) + dx, y))) return true;
      return false;
    };
    assert.ok(colHas(xAt(view.anchors[0].fg), isPurple), 'anchor marked');
    assert.ok(colHas(xAt(view.fgTimes[30]), isRed), 'cut marked');
    assert.ok(!colHas(xAt(view.fgTimes[45]), isPurple), 'no anchor elsewhere');
  });

  it("draws the composite: fg pixels inside the box, bg outside, at the images' own pixels", async (t) => {
    await drawn(0, 'composite');
    const img = await shot(t, '#frame', 'frame-composite');
    const f = last!;
    assert.equal(f.result.fgFrame, 0);
    assert.deepEqual([img.width, img.height], [f.bg.width, f.bg.height], 'drawn 1:1');
    const b = f.result.box;
    let checked = 0;
    for (const fx of [0.1, 0.3, 0.5, 0.7, 0.9]) {
      for (const fy of [0.15, 0.5, 0.85]) {
        const x = b.x + 2 + Math.floor(fx * (b.width - 4));
        const y = b.y + 2 + Math.floor(fy * (b.height - 4));
        const got = pixel(img, x, y, img.channels);
        const want = pixel(f.fg, x - b.x, y - b.y);
        assert.ok(
          got.every((v, i) => Math.abs(v - want[i]) <= 2),
          `(${x},${y}) shows fg ${want} (got ${got})`,
        );
        checked++;
      }
    }
    for (const [x, y] of [
      [5, 5],
      [f.bg.width - 6, f.bg.height - 6],
      [b.x + b.width + 10, b.y + 20],
    ]) {
      const got = pixel(img, x, y, img.channels);
      const want = pixel(f.bg, x, y);
      assert.ok(
        got.every((v, i) => Math.abs(v - want[i]) <= 2),
        `(${x},${y}) outside the box shows bg ${want} (got ${got})`,
      );
    }
    assert.equal(checked, 15);
  });

  it('switches modes: difference is near-black over a good alignment, onion mixes, side by side widens', async (t) => {
    const f = last!;
    const b = f.result.box;
    const inside = (img: Shot, fn: (x: number, y: number, got: number[]) => void) => {
      for (let y = b.y + 2; y < b.y + b.height - 2; y += 7) for (let x = b.x + 2; x < b.x + b.width - 2; x += 7) fn(x, y, pixel(img, x, y, img.channels));
    };

    await page.click('vscode-radio[value="difference"]');
    await drawn(f.result.fgFrame, 'difference');
    const diff = await shot(t, '#frame', 'frame-difference');
    let sum = 0;
    let count = 0;
    let worst = 0;
    inside(diff, (x, y, got) => {
      const fg = pixel(f.fg, x - b.x, y - b.y);
      const bg = pixel(f.bg, x, y);
      for (let i = 0; i < 3; i++) {
        worst = Math.max(worst, Math.abs(got[i] - Math.abs(fg[i] - bg[i])));
        sum += got[i];
        count++;
      }
    });
    assert.ok(worst <= 3, `difference is |fg − bg| per pixel (worst ${worst})`);
    assert.ok(sum / count < 12, `near-black where fg sits right (mean ${(sum / count).toFixed(1)})`);
    assert.deepEqual(pixel(diff, 5, 5, diff.channels), pixel(f.bg, 5, 5), 'bg untouched outside the box');

    assert.equal(await page.locator('#opacity').isDisabled(), true, 'opacity only for onion skin');
    await page.click('vscode-radio[value="onion"]');
    await inPage(`const el = document.getElementById('opacity'); el.value = '0.75'; el.dispatchEvent(new Event('input', { bubbles: true }));`);
    await page.waitForSelector('#frame[data-mode="onion"][data-opacity="0.75"]');
    const onion = await shot(t, '#frame', 'frame-onion');
    worst = 0;
    inside(onion, (x, y, got) => {
      const fg = pixel(f.fg, x - b.x, y - b.y);
      const bg = pixel(f.bg, x, y);
      for (let i = 0; i < 3; i++) worst = Math.max(worst, Math.abs(got[i] - (0.75 * fg[i] + 0.25 * bg[i])));
    });
    assert.ok(worst <= 3, `onion skin is 0.75 fg + 0.25 bg (worst ${worst.toFixed(1)})`);

    await page.click('vscode-radio[value="side"]');
    await drawn(f.result.fgFrame, 'side');
    await shot(t, '#frame', 'frame-side');
    const width = await inPage<number>(`return document.getElementById('frame').width;`);
    assert.equal(width, Math.round((f.fg.width * f.bg.height) / f.fg.height) + 8 + f.bg.width, 'fg beside bg');

    await page.click('vscode-radio[value="composite"]');
    await drawn(f.result.fgFrame, 'composite');
  });

  it('scrubs with the keyboard and asks for each frame it lands on; a burst of keys asks once', async (t) => {
    const s = page.locator('#scrubber');
    await s.focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    await requested(3);
    await drawn(3);
    assert.equal(await s.inputValue(), '3');
    assert.match((await s.getAttribute('aria-valuetext')) ?? '', /^fg 3 \(/);
    await page.keyboard.press('End');
    await requested(89);
    await drawn(89);
    await page.keyboard.press('PageDown');
    await requested(59);
    await drawn(59);
    assert.equal(await s.inputValue(), '59', 'a page is a second of fg (30 frames)');
    await page.keyboard.press('Home');
    await drawn(0);

    // Ten key presses within one task: debounced into a single request for where they end.
    const from = posted.length;
    await inPage(`const el = document.getElementById('scrubber');
      for (let i = 0; i < 10; i++) el.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true, cancelable: true }));`);
    await drawn(10);
    await page.waitForTimeout(300);
    const asked = posted.slice(from).filter((m) => m.type === 'requestFrame');
    assert.deepEqual(
      asked.map((m) => m.type === 'requestFrame' && m.fgFrame),
      [10],
    );
    await shot(t, 'body', 'page');
  });

  it('pin posts the anchor for the frame on screen', async () => {
    await page.click('#pin');
    const pin = await until('pin', () => posted.find((m) => m.type === 'pin'));
    assert.deepEqual(pin, { type: 'pin', fgFrame: 10, bgFrame: view.bgFrameForFg[10], fgTime: view.fgTimes[10], bgTime: view.bgTimeForFg[10] });
  });

  it('keeps its place (frame, zoom, mode) across a reload, through getState/setState', async () => {
    const box = (await page.locator('#plot .u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
    await page.mouse.wheel(0, -400);
    await until('a zoom window saved', async () => (await fakeState())?.zoom);
    await page.click('vscode-radio[value="difference"]');
    await drawn(10, 'difference');
    const saved = (await fakeState())!;
    assert.equal(saved.fgFrame, 10);
    assert.equal(saved.mode, 'difference');
    assert.ok(saved.zoom.max - saved.zoom.min < 2.5, `zoomed in: ${JSON.stringify(saved.zoom)}`);

    const readies = posted.filter((m) => m.type === 'ready').length;
    const from = posted.length;
    await page.reload();
    await until('ready again', () => posted.filter((m) => m.type === 'ready').length > readies);
    await requested(10, from);
    await drawn(10, 'difference');
    assert.equal(await page.locator('#scrubber').inputValue(), '10');
    assert.equal(await inPage(`return document.querySelector('vscode-radio[value="difference"]').checked;`), true);
    assert.deepEqual(await fakeState(), saved);
  });

  it('a new alignment (the project file was edited) updates the preview without losing the place', async (t) => {
    const saved = await fakeState();
    const from = posted.length;
    // As if an anchor moved the map one bg frame later.
    view = {
      ...view,
      bgFrameForFg: view.bgFrameForFg.map((j) => j + 1),
      bgTimeForFg: view.bgTimeForFg.map((s) => s + 0.04),
      anchors: [...view.anchors, { fg: view.fgTimes[10], bg: view.bgTimeForFg[10] + 0.04 }],
    };
    await send({ type: 'busy', busy: true, progress: 0.5, stage: 'temporal' });
    assert.equal(await page.locator('#busy').isHidden(), false);
    await send({ type: 'alignment', view });
    await requested(10, from);
    await page.waitForSelector(`#frame[aria-label^="fg frame 10 over bg frame ${view.bgFrameForFg[10]},"]`);
    assert.equal(await page.locator('#busy').isHidden(), true);
    assert.equal(await page.locator('#scrubber').inputValue(), '10');
    assert.deepEqual(await fakeState(), saved, 'frame, zoom and mode kept');
    await shot(t, 'body', 'page-realigned');
  });

  it('the plot zooms and moves the frame from the keyboard, and hovering reads out a frame', async () => {
    await page.focus('#plot');
    await page.keyboard.press('0');
    await until('the whole map again', async () => (await fakeState())?.zoom === null);
    await page.keyboard.press('+');
    const z = await until('zoomed in by a key', async () => (await fakeState())?.zoom);
    const full = view.fgTimes[view.fgTimes.length - 1] - view.fgTimes[0];
    assert.ok(Math.abs(z.max - z.min - full / 2) < 1e-6, JSON.stringify(z));
    await page.keyboard.press('ArrowRight');
    await requested(11);
    const box = (await page.locator('#plot .u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    assert.match(await page.locator('#hover').innerText(), /^fg \d+ \(\d+\.\d{3} s\) → bg \d+/);
  });

  it('posted only typed messages and logged no errors', () => {
    assert.deepEqual(problems, []);
    assert.ok(posted.every(isFromWebview));
  });
});
