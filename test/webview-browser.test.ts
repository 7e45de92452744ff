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
import { trackAt } from '../protocol/placement';
import { isFromWebview, type FromWebview, type ToWebview } from '../protocol/webview';
import { previewHtml } from '../webview/src/html';
import { pixel, previewFrame, type PreviewFrame, type Rgb } from './support/frames';
import { derived, SAMPLE, tempDir } from './support/media';
import { toView } from './support/view';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'webview');
/** Left by every run for review (git-ignored; README, Developing). */
const SHOTS = path.join(ROOT, 'test-output', 'screenshots');
/** A narrow, short panel: VS Code's side bar, or a preview beside the editor on a laptop. */
const NARROW = { width: 360, height: 600 };
const WIDE = { width: 1000, height: 1100 };
const MODE_LIST = ['composite', 'side', 'onion', 'difference'] as const;
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

const isBlue = ([r, g, b]: number[]) => b > 150 && r < 90 && g < 90;
/** The fitted offset line, drawn opaque. */
const isOrange = ([r, g, b]: number[]) => r > 200 && g > 80 && g < 180 && b < 80;
/** A per-frame offset dot: the same orange, faint. */
const isDot = ([r, g, b]: number[]) => r > 95 && r < 195 && g > 35 && g < 115 && b < 45 && r > 1.35 * g;
const isPurple = ([r, g, b]: number[]) => r > 180 && b > 180 && g < 90;
const isRed = ([r, g, b]: number[]) => r > 180 && g < 70 && b < 70;
const isGreen = ([r, g, b]: number[]) => g > 150 && r < 110 && b < 80;
/** The uncertain shading: yellow, faint, over the dark background. */
const isShaded = ([r, g, b]: number[]) => r > 45 && g > 45 && Math.abs(r - g) < 12 && b < 0.5 * r;
/** A placement plot's y line: green. */
const isLime = ([r, g, b]: number[]) => g > 150 && r < 110 && b < 110;
/** The frame's box outline. */
const isYellow = ([r, g, b]: number[]) => r > 180 && g > 180 && b < 90;
/** The cursor: the foreground grey. */
const isCursor = ([r, g, b]: number[]) => r > 120 && Math.abs(r - g) < 16 && Math.abs(g - b) < 16;

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
  const protocol = path.join(ROOT, 'protocol');
  const inputs = [
    ...(await fs.readdir(src)).map((f) => path.join(src, f)),
    ...(await fs.readdir(protocol)).map((f) => path.join(protocol, f)),
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
        const key = `${m.fgFrame}/${m.width}/${view.bgFrameForFg[m.fgFrame]}/${view.spatial.placement ?? 'fixed'}`;
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

  /** The text of `group` (a label wrapping its control) and `control` sit on one row, side by side. */
  async function assertBeside(group: string, control: string): Promise<void> {
    type Rect = { x: number; y: number; width: number; height: number };
    const { label: l, control: c } = await inPage<{ label: Rect; control: Rect }>(`
      const range = document.createRange();
      range.selectNodeContents(document.querySelector('${group}').firstChild);
      const rect = (b) => ({ x: b.x, y: b.y, width: b.width, height: b.height });
      return { label: rect(range.getBoundingClientRect()), control: rect(document.querySelector('${control}').getBoundingClientRect()) };`);
    const gap = c.x - (l.x + l.width);
    assert.ok(Math.abs(l.y + l.height / 2 - (c.y + c.height / 2)) < 8, `the label and its control share a row (${JSON.stringify([l, c])})`);
    assert.ok(gap >= -1 && gap < 16, `the control follows its label (gap ${gap.toFixed(1)} px)`);
  }

  /** Side by side: "fg frame N" over the left pane, "bg frame M" over the right one. */
  async function assertPaneLabels(fgFrame: number, bgFrame: number, fgShare: number): Promise<void> {
    assert.equal(await page.locator('#pane-fg').innerText(), `fg frame ${fgFrame}`);
    assert.equal(await page.locator('#pane-bg').innerText(), `bg frame ${bgFrame}`);
    const c = (await page.locator('#frame').boundingBox())!;
    const fgL = (await page.locator('#pane-fg').boundingBox())!;
    const bgL = (await page.locator('#pane-bg').boundingBox())!;
    const split = c.x + c.width * fgShare;
    assert.ok(fgL.x >= c.x - 1 && fgL.x + fgL.width <= split + 1, `the fg label over the fg pane (${fgL.x}..${fgL.x + fgL.width} in ${c.x}..${split})`);
    assert.ok(bgL.x >= split - 1 && bgL.x + bgL.width <= c.x + c.width + 1, `the bg label over the bg pane (${bgL.x}..${bgL.x + bgL.width} in ${split}..${c.x + c.width})`);
    assert.ok(fgL.y + fgL.height <= c.y + 1 && bgL.y + bgL.height <= c.y + 1, 'above the pictures, not over them');
  }

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
    // An uncertain span at 40..50 (the sample has none: nothing there is static).
    // bg times at whole frames (as an alignment without sub-frame times has them): each frame's own
    // offset then saw-tooths by ±half a bg frame, which the plot must draw honestly around its line.
    const whole = base.bgFrameForFg.map((j) => j / base.bg.fps);
    view = { ...base, bgTimeForFg: whole, anchors: [{ fg: base.fgTimes[60], bg: whole[60] }], cuts: [30], uncertain: [[40, 50]] };
    await fs.rm(SHOTS, { recursive: true, force: true });
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
      viewport: WIDE,
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

  it('plots the map, the fitted offset as a smooth line with the per-frame offsets as dots, and every mark, each in the legend', async (t) => {
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
    /** Least squares line through (x, y) points, and the worst distance of a point from it. */
    const line = (pts: [number, number][]) => {
      const n = pts.length;
      const mx = pts.reduce((a, p) => a + p[0], 0) / n;
      const my = pts.reduce((a, p) => a + p[1], 0) / n;
      const slope = pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
      return { slope, worst: Math.max(...pts.map(([x, y]) => Math.abs(my + slope * (x - mx) - y))) };
    };

    // Per column: the mean row of the map (blue) and of the fitted offset (opaque orange), and the
    // rows of the per-frame dots (faint orange); the strip along the bottom is left out.
    const map: [number, number][] = [];
    const fit: [number, number][] = [];
    const dots: number[] = [];
    for (let x = area.left; x < area.left + area.width; x++) {
      const blue: number[] = [];
      const orange: number[] = [];
      for (let y = area.top; y < area.top + area.height - 6; y++) {
        const p = px(x, y);
        if (isBlue(p)) blue.push(y);
        if (isOrange(p)) orange.push(y);
        else if (isDot(p)) dots.push(y);
      }
      if (blue.length) map.push([x, blue.reduce((a, b) => a + b, 0) / blue.length]);
      if (orange.length) fit.push([x, orange.reduce((a, b) => a + b, 0) / orange.length]);
    }
    assert.ok(map.length > area.width * 0.9, `the map covers the plot's width (${map.length} of ${area.width} columns)`);
    const m = line(map);
    assert.ok(m.slope < -0.05, `bg time rises with fg time (slope ${m.slope.toFixed(3)} px/px)`);
    assert.ok(m.worst < 4, `straight: no column is more than ${m.worst.toFixed(1)} px off the fitted line`);
    assert.ok(map[0][1] > area.top + area.height * 0.6 && map[map.length - 1][1] < area.top + area.height * 0.4, 'from bottom left to top right');

    // The offset: fg at 30 fps over bg at 25 fps is a clean rate change, so each frame's own offset
    // is a saw-tooth of ±half a bg frame (±20 ms). The line drawn is the fit: straight within each
    // stretch between cuts (the cut at 30 may move it by less than a bg frame) and flat; the saw
    // shows only as faint dots around it.
    assert.ok(fit.length > area.width * 0.9, `the fitted offset covers the plot's width (${fit.length} of ${area.width} columns)`);
    const xAt = (sec: number) => area.left + ((sec - view.fgTimes[0]) / (view.fgTimes[view.fgTimes.length - 1] - view.fgTimes[0])) * area.width;
    // Frame 29 to frame 30 is the step itself.
    const cutX = xAt(view.fgTimes[30]);
    for (const part of [fit.filter(([x]) => x < xAt(view.fgTimes[29]) - 2), fit.filter(([x]) => x > cutX + 2)]) {
      const f = line(part);
      assert.ok(f.worst < 1.2, `the offset line is smooth: no column is more than ${f.worst.toFixed(2)} px off a straight line`);
      assert.ok(Math.abs(f.slope) < 0.01, `and flat (the sample does not drift): ${f.slope.toFixed(4)} px/px`);
    }
    const fitYs = fit.map((p) => p[1]);
    assert.ok(Math.max(...fitYs) - Math.min(...fitYs) < 3, `the whole line within ${(Math.max(...fitYs) - Math.min(...fitYs)).toFixed(1)} px`);
    const raw = view.fgTimes.map((ft, i) => view.bgTimeForFg[i] - ft);
    const sawMs = (Math.max(...raw) - Math.min(...raw)) * 1000;
    assert.ok(sawMs > 30, `the per-frame offsets do step (${sawMs.toFixed(0)} ms)`);
    const dotSpread = Math.max(...dots) - Math.min(...dots);
    assert.ok(dots.length > 100, `per-frame offsets drawn as dots (${dots.length} px)`);
    assert.ok(dotSpread >= 8, `the dots spread (${dotSpread} px) where the line does not`);
    const mid = fitYs.reduce((a, b) => a + b, 0) / fitYs.length;
    assert.ok(Math.abs((Math.max(...dots) + Math.min(...dots)) / 2 - mid) < 3, 'the dots straddle the fitted line');

    // Marks at their frames, in plot-area coordinates.
    const colHas = (x: number, test: (p: number[]) => boolean, rows = [area.top, area.top + area.height]) => {
      for (let dx = -2; dx <= 2; dx++) for (let y = rows[0]; y < rows[1]; y++) if (test(px(Math.round(x) + dx, y))) return true;
      return false;
    };
    assert.ok(colHas(xAt(view.anchors[0].fg), isPurple), 'anchor marked');
    assert.ok(!colHas(xAt(view.fgTimes[45]), isPurple), 'no anchor elsewhere');
    assert.ok(colHas(xAt(view.fgTimes[30]), isRed), 'cut marked');
    assert.ok(colHas(xAt(view.fgTimes[0]) + 2, isCursor), 'the cursor on frame 0');
    assert.ok(!colHas(xAt(view.fgTimes[20]), isCursor), 'no cursor elsewhere');
    const strip = [area.top + area.height - 4, area.top + area.height - 1];
    assert.ok(colHas(xAt(view.fgTimes[20]), isGreen, strip), 'confidence strip: green where frames match well');
    // The uncertain span 40..50: shaded from top to bottom (rows away from the lines), nowhere else.
    const shadedRows = (x: number) => {
      let k = 0;
      for (let y = area.top + 2; y < area.top + area.height - 8; y += 4) if (isShaded(px(Math.round(x), y))) k++;
      return k / Math.floor((area.height - 10) / 4);
    };
    const [u0, u1] = view.uncertain![0];
    for (const i of [u0, (u0 + u1) >> 1, u1]) assert.ok(shadedRows(xAt(view.fgTimes[i])) > 0.8, `frame ${i} is shaded uncertain (${shadedRows(xAt(view.fgTimes[i])).toFixed(2)})`);
    for (const i of [15, 25, 70]) assert.ok(shadedRows(xAt(view.fgTimes[i])) < 0.1, `frame ${i} is not shaded`);

    // The legend: one entry per kind of mark drawn above, in the plot's colours.
    const legend = await inPage<string[]>(`return [...document.querySelectorAll('#legend li')].map((li) => li.dataset.mark);`);
    assert.deepEqual(legend, ['map', 'fit', 'frames', 'confidence', 'uncertain', 'anchor', 'cut', 'cursor']);
    const swatch = (k: string) => inPage<string>(`return getComputedStyle(document.querySelector('#legend .swatch.${k}')).backgroundColor;`);
    assert.equal(await swatch('map'), 'rgb(0, 0, 255)');
    assert.equal(await swatch('fit'), 'rgb(255, 128, 0)');
    assert.equal(await swatch('anchor'), 'rgb(255, 0, 255)');
    await shot(t, '#plot-section', 'plot-with-legend');
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

    await page.click('#mode input[value="difference"]');
    await drawn(f.result.fgFrame, 'difference');
    const diff = await shot(t, '#frame', 'frame-difference');
    await shot(t, 'body', 'wide-difference');
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

    assert.equal(await page.locator('#opacity').isHidden(), true, 'opacity only for onion skin');
    await page.click('#mode input[value="onion"]');
    assert.equal(await page.locator('#opacity').isVisible(), true, 'opacity shown for onion skin');
    await assertBeside('#opacity-group', '#opacity');
    await inPage(`const el = document.getElementById('opacity'); el.value = '0.75'; el.dispatchEvent(new Event('input', { bubbles: true }));`);
    await page.waitForSelector('#frame[data-mode="onion"][data-opacity="0.75"]');
    const onion = await shot(t, '#frame', 'frame-onion');
    await shot(t, 'body', 'wide-onion');
    worst = 0;
    inside(onion, (x, y, got) => {
      const fg = pixel(f.fg, x - b.x, y - b.y);
      const bg = pixel(f.bg, x, y);
      for (let i = 0; i < 3; i++) worst = Math.max(worst, Math.abs(got[i] - (0.75 * fg[i] + 0.25 * bg[i])));
    });
    assert.ok(worst <= 3, `onion skin is 0.75 fg + 0.25 bg (worst ${worst.toFixed(1)})`);

    assert.equal(await page.locator('#panes').isHidden(), true, 'pane labels only side by side');
    await page.click('#mode input[value="side"]');
    await drawn(f.result.fgFrame, 'side');
    assert.equal(await page.locator('#opacity').isHidden(), true, 'no opacity side by side');
    await shot(t, '#frame', 'frame-side');
    await shot(t, 'body', 'wide-side');
    const width = await inPage<number>(`return document.getElementById('frame').width;`);
    const fgW = Math.round((f.fg.width * f.bg.height) / f.fg.height);
    assert.equal(width, fgW + 8 + f.bg.width, 'fg beside bg');
    await assertPaneLabels(f.result.fgFrame, f.result.bgFrame, fgW / width);

    await page.click('#mode input[value="composite"]');
    await drawn(f.result.fgFrame, 'composite');
    await shot(t, 'body', 'wide-composite');
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
    await page.click('#mode input[value="difference"]');
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
    assert.equal(await inPage(`return document.querySelector('#mode input[value="difference"]').checked;`), true);
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

  it('an align\'s coarse map is drawn at once, marked provisional, with no frames asked for; the result replaces it', async (t) => {
    const from = posted.length;
    const final = view;
    await send({ type: 'busy', busy: true, progress: 0.4, stage: 'decoding' });
    // The first pass's map, two bg frames off the result.
    const coarse: AlignmentView = {
      ...final,
      bgFrameForFg: final.bgFrameForFg.map((j) => j + 2),
      bgTimeForFg: final.bgTimeForFg.map((s) => s + 0.08),
      provisional: true,
    };
    await send({ type: 'alignment', view: coarse });
    await page.waitForSelector('#provisional:not([hidden])');
    assert.match(await page.locator('#status').innerText(), /Coarse map shown; refining \(decoding\)/);
    assert.equal(await page.locator('#busy').isHidden(), false, 'its align still runs');
    assert.equal(await inPage(`return document.querySelector('#pin').disabled;`), true, 'no pin on a coarse map');
    await shot(t, 'body', 'page-coarse-map');
    // The page posts in order: once a Project file click has arrived, anything the coarse map caused has too.
    await page.locator('#reveal').click();
    const reveal = await until('the reveal', () => posted.slice(from).findIndex((m) => m.type === 'reveal') + 1);
    assert.deepEqual(posted.slice(from, from + reveal - 1).filter((m) => m.type === 'requestFrame'), [], 'no frames of a map with no saved alignment');
    await send({ type: 'alignment', view: final });
    await requested(10, from);
    await page.waitForSelector('#provisional[hidden]', { state: 'attached' });
    await page.waitForSelector(`#frame[aria-label^="fg frame 10 over bg frame ${final.bgFrameForFg[10]},"]`);
    assert.equal(await page.locator('#busy').isHidden(), true);
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

  it('fits a narrow, short panel: the frame on screen without scrolling in every mode, no control wrapping alone', async (t) => {
    await page.setViewportSize(NARROW);
    try {
      for (const mode of MODE_LIST) {
        const from = posted.length;
        await page.click(`#mode input[value="${mode}"]`);
        const fgFrame = Number(await page.locator('#scrubber').inputValue());
        await drawn(fgFrame, mode);
        // The frame is asked for at the narrow width (once the resize settled), and drawn from it.
        const width = await inPage<number>(`return document.getElementById('frame').width;`);
        await shot(t, 'body', `narrow-${mode}`);
        const box = (await page.locator('#frame').boundingBox())!;
        const scroll = await inPage<{ y: number; h: number; w: number }>(
          `const e = document.scrollingElement; return { y: window.scrollY, h: e.scrollHeight, w: e.scrollWidth };`,
        );
        assert.equal(scroll.y, 0);
        assert.ok(scroll.h <= NARROW.height && scroll.w <= NARROW.width, `${mode}: the page does not scroll (${scroll.w}×${scroll.h} px)`);
        assert.ok(box.width > 150 && box.height > 60, `${mode}: a frame worth seeing (${box.width}×${box.height} CSS px, ${width} image px)`);
        assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= NARROW.width && box.y + box.height <= NARROW.height, `${mode}: the frame inside the viewport: ${JSON.stringify(box)}`);
        if (mode === 'side') {
          const f = last!;
          await assertPaneLabels(fgFrame, view.bgFrameForFg[fgFrame], Math.round((f.fg.width * f.bg.height) / f.fg.height) / width);
        }
        if (mode === 'onion') await assertBeside('#opacity-group', '#opacity');
        assert.equal(await page.locator('#opacity').isVisible(), mode === 'onion', `${mode}: opacity only for onion skin`);
        assert.ok(posted.slice(from).every((m) => m.type !== 'requestFrame' || m.width <= NARROW.width), 'frames asked at the panel width');

        // Rows of controls: every visible item's row; no row holds nothing but one button, and what
        // belongs together (the zoom buttons, the title's buttons, a legend entry) stays on one row.
        const rows = await inPage<{ bar: string; row: string[] }[]>(`
          const out = [];
          for (const bar of document.querySelectorAll('.bar')) {
            if (!bar.offsetParent) continue;
            const byTop = new Map();
            for (const el of bar.children) {
              const r = el.getBoundingClientRect();
              if (!r.width || !r.height) continue;
              const k = Math.round(r.top + r.height / 2);
              const key = [...byTop.keys()].find((t) => Math.abs(t - k) < 8) ?? k;
              byTop.set(key, [...(byTop.get(key) ?? []), el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + String(el.className).split(' ')[0] : '')]);
            }
            for (const row of byTop.values()) out.push({ bar: bar.querySelector('h2')?.id || bar.getAttribute('aria-label') || 'bar', row });
          }
          return out;`);
        const alone = rows.filter((r) => r.row.length === 1 && /^vscode-button/.test(r.row[0]));
        assert.deepEqual(alone, [], `${mode}: a button alone on a row: ${JSON.stringify(rows)}`);
        const split = await inPage<string[]>(`
          const out = [];
          for (const g of document.querySelectorAll('.group, #legend li')) {
            if (!g.offsetParent) continue;
            const tops = [...g.children].map((c) => c.getBoundingClientRect()).filter((r) => r.width && r.height).map((r) => Math.round(r.top + r.height / 2));
            if (tops.length && Math.max(...tops) - Math.min(...tops) > 8) out.push(g.id || g.className || g.dataset.mark);
            const r = g.getBoundingClientRect();
            if (r.right > innerWidth + 0.5) out.push((g.id || g.className || g.dataset.mark) + ' runs off the panel');
          }
          // The modes: in one row, or two by two; never one alone on a row.
          const rows = new Map();
          for (const c of document.querySelectorAll('#mode .segment')) {
            const r = c.getBoundingClientRect();
            const k = Math.round(r.top);
            rows.set(k, (rows.get(k) ?? 0) + 1);
            if (r.right > innerWidth + 0.5) out.push(c.textContent.trim() + ' runs off the panel');
          }
          for (const [top, count] of rows) if (count < 2) out.push('a mode alone on the row at ' + top);
          return out;`);
        assert.deepEqual(split, [], `${mode}: a group split across rows or cut off`);
        const clipped = await inPage<string[]>(
          `return [...document.querySelectorAll('#mode .segment, #legend li')].filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent.trim());`,
        );
        assert.deepEqual(clipped, [], `${mode}: labels shown whole`);
      }
    } finally {
      await page.setViewportSize(WIDE);
    }
  });

  it('a tracked placement: x, y and scale through its keyframes below the drift plot, the marker and the box follow the scrubber', async (t) => {
    const fixed = view;
    const n = fixed.bgFrameForFg.length;
    const sp = fixed.spatial;
    // A window that pans right and down while it shrinks, slower down after frame 45 (keys by hand).
    const keys = [
      [0, sp.x - 60, sp.y - 30, 1],
      [45, sp.x, sp.y, 0.9],
      [n - 1, sp.x + 60, sp.y + 10, 0.8],
    ];
    const track = { tolerance: 0.5, keys };
    view = { ...fixed, spatial: { ...sp, x: keys[0][1], y: keys[0][2], scale: 1, placement: 'tracked', track } };
    await inPage(`for (const [k, v] of Object.entries(${JSON.stringify(THEME)})) document.documentElement.style.setProperty(k, v);`);
    await send({ type: 'theme', kind: 'dark' });
    await page.focus('#plot');
    await page.keyboard.press('0');
    await until('the whole map', async () => (await fakeState())?.zoom === null);
    await page.click('#mode input[value="composite"]');
    await send({ type: 'alignment', view });
    await send({ type: 'goto', fgFrame: 10 });
    await page.waitForSelector('#placement-plot[data-keyframes="3"][data-fg-frame="10"]', { state: 'attached' });
    await page.waitForSelector('#frame[data-fg-frame="10"][data-mode="composite"]');
    assert.equal(await page.locator('#placement-section').isVisible(), true);
    const r1 = (v: number) => Math.round(v * 10) / 10;
    assert.equal(
      await page.locator('#placement-plot').getAttribute('aria-label'),
      `Placement over fg time: 3 keyframes: x ${r1(keys[0][1])} → ${r1(keys[2][1])}, y ${r1(keys[0][2])} → ${r1(keys[2][2])} bg px, scale 1.000 → 0.800`,
    );
    assert.match(await page.locator('#summary').innerText(), /^fg moves: 3 keyframes/);
    const legend = await inPage<string[]>(`return [...document.querySelectorAll('#placement-legend li')].map((li) => li.dataset.mark);`);
    assert.deepEqual(legend, ['x', 'y', 'scale', 'keyframe', 'cursor']);

    const over = async () => {
      const plotBox = (await page.locator('#placement-plot').boundingBox())!;
      const o = (await page.locator('#placement-plot .u-over').boundingBox())!;
      return { left: Math.round(o.x - plotBox.x), top: Math.round(o.y - plotBox.y), width: Math.round(o.width), height: Math.round(o.height) };
    };
    const area = await over();
    const xAt = (f: number) => area.left + ((view.fgTimes[f] - view.fgTimes[0]) / (view.fgTimes[n - 1] - view.fgTimes[0])) * area.width;
    /** Columns where `test` holds over at least `run` rows in a row: a keyframe's square is tall, a line is not. */
    const tallColumns = (img: Shot, test: (p: number[]) => boolean, run: number) => {
      const cols: number[] = [];
      for (let x = area.left; x < area.left + area.width; x++) {
        let k = 0;
        for (let y = area.top; y < area.top + area.height; y++) {
          k = test(pixel(img, x, y, img.channels)) ? k + 1 : 0;
          if (k >= run) {
            cols.push(x);
            break;
          }
        }
      }
      // Columns a few pixels apart are one square (its two sides): its centre.
      const groups: number[][] = [];
      for (const x of cols) {
        const g = groups[groups.length - 1];
        if (g && x - g[g.length - 1] <= 8) g.push(x);
        else groups.push([x]);
      }
      return groups.map((g) => (g[0] + g[g.length - 1]) / 2);
    };
    const columnHas = (img: Shot, x: number, test: (p: number[]) => boolean) => {
      for (let dx = -2; dx <= 2; dx++) {
        for (let y = area.top; y < area.top + area.height; y++) if (test(pixel(img, Math.round(x) + dx, y, img.channels))) return true;
      }
      return false;
    };

    const at10 = await shot(t, '#placement-plot', 'placement');
    await shot(t, 'body', 'wide-tracked');
    const keyXs = keys.map((k) => xAt(k[0]));
    for (const [name, test] of [
      ['x', isBlue],
      ['y', isLime],
      ['scale', isOrange],
    ] as const) {
      const squares = tallColumns(at10, test, 5);
      assert.equal(squares.length, keys.length, `${name}: one square per keyframe (at columns ${squares.join(', ')}; keys at ${keyXs.map(Math.round).join(', ')})`);
      squares.forEach((x, i) => assert.ok(Math.abs(x - keyXs[i]) <= 5, `${name}: keyframe ${i} at its frame's time (${x} vs ${keyXs[i].toFixed(1)})`));
    }
    assert.ok(columnHas(at10, xAt(10), isCursor), 'the marker on frame 10');
    assert.ok(!columnHas(at10, xAt(40), isCursor), 'not on frame 40');
    const readout = (f: number) => {
      const p = trackAt(track, f);
      return `fg ${f}: x ${r1(p.x)} y ${r1(p.y)} scale ${p.scale.toFixed(3)}`;
    };
    assert.equal(await page.locator('#placement-now').innerText(), readout(10));

    /** The frame's box outline (dashed) runs down the column left of the box, over its height. */
    const outlined = (img: Shot, b: { x: number; y: number; width: number; height: number }) => {
      let k = 0;
      for (let y = b.y; y < b.y + b.height; y++) if (isYellow(pixel(img, b.x - 1, y, img.channels))) k++;
      return k / b.height;
    };
    const f10 = last!;
    assert.equal(f10.result.fgFrame, 10);
    const frame10 = await shot(t, '#frame', 'frame-tracked-10');
    assert.ok(outlined(frame10, f10.result.box) > 0.4, `the box of frame 10 outlined (${outlined(frame10, f10.result.box).toFixed(2)})`);

    // The scrubber moves a second on: the marker, the readout and the box follow.
    const s = page.locator('#scrubber');
    await s.focus();
    await page.keyboard.press('PageUp');
    await page.waitForSelector('#placement-plot[data-fg-frame="40"]', { state: 'attached' });
    await drawn(40, 'composite');
    const at40 = await shot(t, '#placement-plot', 'placement-40');
    assert.ok(columnHas(at40, xAt(40), isCursor), 'the marker on frame 40');
    assert.ok(!columnHas(at40, xAt(10), isCursor), 'no longer on frame 10');
    assert.equal(await page.locator('#placement-now').innerText(), readout(40));
    const valueText = (await s.getAttribute('aria-valuetext')) ?? '';
    assert.ok(valueText.startsWith('fg 40 (') && valueText.endsWith(` · fg at ${readout(40).slice('fg 40: '.length)}`), `the scrubber says where fg is: ${valueText}`);
    const f40 = last!;
    assert.equal(f40.result.fgFrame, 40);
    assert.ok(f40.result.box.x - f10.result.box.x >= 20, `the box moved right: ${JSON.stringify([f10.result.box, f40.result.box])}`);
    const frame40 = await shot(t, '#frame', 'frame-tracked-40');
    assert.ok(outlined(frame40, f40.result.box) > 0.4, 'the box of frame 40 outlined');
    assert.ok(outlined(frame40, f10.result.box) < 0.1, 'not where frame 10 had it');
    let inside = 0;
    for (const [fx, fy] of [[0.2, 0.3], [0.5, 0.5], [0.8, 0.7]]) {
      const b = f40.result.box;
      const x = b.x + Math.floor(fx * b.width);
      const y = b.y + Math.floor(fy * b.height);
      const got = pixel(frame40, x, y, frame40.channels);
      const want = pixel(f40.fg, x - b.x, y - b.y);
      assert.ok(got.every((v, i) => Math.abs(v - want[i]) <= 2), `(${x},${y}) shows fg in frame 40's box`);
      inside++;
    }
    assert.equal(inside, 3);

    // A narrow, short panel keeps the frame on screen with both plots.
    await page.setViewportSize(NARROW);
    try {
      await page.waitForTimeout(200);
      await shot(t, 'body', 'narrow-tracked');
      const scroll = await inPage<{ h: number; w: number }>(`const e = document.scrollingElement; return { h: e.scrollHeight, w: e.scrollWidth };`);
      assert.ok(scroll.h <= NARROW.height && scroll.w <= NARROW.width, `the page does not scroll (${scroll.w}×${scroll.h} px)`);
      const box = (await page.locator('#frame').boundingBox())!;
      const plotBox = (await page.locator('#placement-plot').boundingBox())!;
      assert.ok(box.height > 60 && box.y + box.height <= NARROW.height, `a frame worth seeing, inside the viewport: ${JSON.stringify(box)}`);
      assert.ok(plotBox.height >= 60, `the placement plot readable: ${JSON.stringify(plotBox)}`);
      const clipped = await inPage<string[]>(
        `return [...document.querySelectorAll('#placement-legend li')].filter((e) => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > innerWidth).map((e) => e.textContent.trim());`,
      );
      assert.deepEqual(clipped, [], 'legend entries whole');
    } finally {
      await page.setViewportSize(WIDE);
    }

    // A fixed placement again: no placement plot; the summary says where fg sits.
    view = fixed;
    await send({ type: 'alignment', view });
    await page.waitForSelector('#placement-section[hidden] #placement-plot[data-keyframes="0"]', { state: 'attached' });
    assert.match(await page.locator('#summary').innerText(), /^fg at x=/);
    assert.equal(await inPage<boolean>(`return document.body.classList.contains('tracked');`), false);
  });

  it('posted only typed messages and logged no errors', () => {
    assert.deepEqual(problems, []);
    assert.ok(posted.every(isFromWebview));
  });
});
