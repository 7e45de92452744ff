import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { passthroughArgs, readFrames, runTool } from '../daemon/media/ffmpeg';
import { probe } from '../daemon/media/probe';
import { dataUrl, pasteRgb, resizeRgb } from '../daemon/server/images';
import { summary, type Alignment } from '../daemon/engine/result';
import { loadProject } from '../daemon/project/jobs';
import { inputHashes, serialiseProjectAlignment, toProjectAlignment } from '../daemon/store';
import { alignRequest, frameRequest, resultRequest, type AlignmentView } from '../protocol/lsp';
import { ensureBuilt, startClient, type TestClient } from './support/lspClient';
import { derived, SAMPLE, tempDir } from './support/media';

/**
 * The preview tells the truth: the bg and fg pictures of `vidkompy/frame` are exactly frame
 * bgFrameForFg[i] of bg and frame i of fg as a sequential decode counts them (what the render
 * pastes together), byte for byte, on MPEG-PS (the bundled sample, where seeks land frames late),
 * H.264 with B-frames and a variable-frame-rate bg; across the sample's scene cut (bg frame 116).
 * And it is fast: the first frame and the steps of a scrub are timed. A tracked placement (a window
 * that pans and zooms over bg) is pasted at each frame's own window.
 */

const CROP = { x: 150, y: 90, width: 352, height: 224 };
const CUT = 116;
const WIDTH = 360;
/** x264's 4:2:0 wants even sizes: the sample's last line goes (fg's corner stays where it is). */
const EVEN = 'crop=720:404:0:0';

let dir: string;
let client: TestClient;

type Rgb = { data: Uint8Array; width: number; height: number };

/** Every frame of `file` through `filter`, in decode order: the yardstick (no seek anywhere). */
async function sequential(file: string, filter: string, width: number, height: number, maxFrames?: number): Promise<Rgb[]> {
  const out: Rgb[] = [];
  for await (const f of readFrames({ file, filter, pixFmt: 'rgb24', width, height, maxFrames })) out.push({ data: new Uint8Array(f), width, height });
  return out;
}

async function encode(out: string, vf: string[], codec: string[]): Promise<void> {
  const args = ['-nostdin', '-v', 'error', '-y', '-i', SAMPLE, ...vf, ...(await passthroughArgs()), ...codec, '-an', out];
  await runTool('ffmpeg', args, { file: out, what: 'making a test input' });
}

const project = (name: string) => pathToFileURL(path.join(dir, `${name}.vidkompy.json`)).href;

describe('preview frames are the frames the render uses', () => {
  before(async () => {
    ensureBuilt();
    dir = await tempDir('preview');
    const { fg } = await derived(SAMPLE, { crop: CROP, fps: 30, offset: 0.8, frames: 150 });
    await fs.copyFile(fg, path.join(dir, 'fg.mp4'));
    await fs.copyFile(SAMPLE, path.join(dir, 'ps.mpg'));
    await encode(path.join(dir, 'bframes.mp4'), ['-vf', EVEN], ['-c:v', 'libx264', '-bf', '3', '-g', '48', '-crf', '20', '-preset', 'veryfast']);
    // Two of every ten frames dropped, timestamps kept: frame durations of 40 and 120 ms.
    const vfr = ['-vf', `select=not(between(mod(n\\,10)\\,3\\,4)),${EVEN}`];
    await encode(path.join(dir, 'vfr.mp4'), vfr, ['-c:v', 'libx264', '-bf', '2', '-crf', '20', '-preset', 'veryfast']);
    for (const [name, bg] of [['ps', 'ps.mpg'], ['bframes', 'bframes.mp4'], ['vfr', 'vfr.mp4']]) {
      const text = JSON.stringify({ bg, fg: 'fg.mp4', spatial: { x: CROP.x, y: CROP.y, scale: 1 }, engine: 'fast' }, null, 2) + '\n';
      await fs.writeFile(path.join(dir, `${name}.vidkompy.json`), text);
    }
    client = await startClient({ root: dir });
  });
  after(async () => {
    assert.equal(await client?.close(), 0, client?.stderr());
  });

  it('the inputs are what the test claims', async () => {
    const [ps, bf, vfr] = await Promise.all(['ps.mpg', 'bframes.mp4', 'vfr.mp4'].map((f) => probe(path.join(dir, f))));
    assert.equal(ps.codec, 'mpeg2video');
    assert.equal(bf.codec, 'h264');
    assert.equal(vfr.vfr, true, 'the select leaves gaps: a variable rate');
  });

  for (const name of ['ps', 'bframes', 'vfr']) {
    it(`${name}: bg and fg pictures match the sequential decode at positions across the cut`, async (t) => {
      await client.conn.sendRequest(alignRequest, { project: project(name) });
      const view = (await client.conn.sendRequest(resultRequest, { project: project(name) })) as AlignmentView;
      assert.ok(view && !view.stale);
      const n = view.bgFrameForFg.length;
      const bgFile = path.join(dir, JSON.parse(await fs.readFile(path.join(dir, `${name}.vidkompy.json`), 'utf8')).bg as string);
      const bgH = Math.round((view.bg.height * WIDTH) / view.bg.width);
      const c = view.fg.contentRect;
      const fgH = Math.round((c.height * WIDTH) / c.width);
      const [bgRef, fgRef] = await Promise.all([
        sequential(bgFile, `scale=${WIDTH}:${bgH}:flags=area`, WIDTH, bgH),
        sequential(path.join(dir, 'fg.mp4'), `crop=${c.width}:${c.height}:${c.x}:${c.y}:exact=1,scale=${WIDTH}:${fgH}:flags=area`, WIDTH, fgH),
      ]);
      // The cut in bg's own numbering (the VFR bg lost frames before it).
      const cut = name === 'vfr' ? CUT - 2 * Math.floor(CUT / 10) - Math.max(0, Math.min(2, (CUT % 10) - 2)) : CUT;
      const nearCut = view.bgFrameForFg.flatMap((j, i) => (Math.abs(j - cut) <= 2 ? [i] : []));
      assert.ok(nearCut.length >= 3, `fg frames map around the cut at bg ${cut}: ${view.bgFrameForFg.join(',')}`);
      const spread = Array.from({ length: 14 }, (_, k) => Math.round((k * (n - 1)) / 13));
      // Far jumps first, so that frames are asked for out of order, as a scrub does.
      const positions = [...new Set([...spread.filter((_, k) => k % 2), ...nearCut, ...spread.filter((_, k) => !(k % 2))])];
      const wrong: string[] = [];
      for (const i of positions) {
        const f = await client.conn.sendRequest(frameRequest, { project: project(name), fgFrame: i, width: WIDTH });
        const j = view.bgFrameForFg[i];
        assert.equal(f.bgFrame, j);
        if (f.bg !== dataUrl(bgRef[j])) wrong.push(`fg ${i}: bg is not bg frame ${j}`);
        if (f.fg !== dataUrl(fgRef[i])) wrong.push(`fg ${i}: fg is not fg frame ${i}`);
      }
      t.diagnostic(`${name}: ${positions.length} positions checked, ${nearCut.length} at the cut`);
      assert.deepEqual(wrong, [], 'every picture is the frame its label names');
    });
  }

  // Speed is a benchmark's goal, not a unit test's (the machine is shared): `npm run bench` measures
  // scrubbing on the bench pair against its targets; here the figures are only reported.
  it('scrubs: the first frame at a new width, then every step is the frame it names', async (t) => {
    const width = 320;
    const t0 = performance.now();
    const f0 = await client.conn.sendRequest(frameRequest, { project: project('ps'), fgFrame: 0, width });
    const first = performance.now() - t0;
    assert.ok(f0.box.width <= width, 'the box fits the preview width');
    // The last fg frame maps to the last bg frame the map uses: both proxies are then complete.
    const view = (await client.conn.sendRequest(resultRequest, { project: project('ps') })) as AlignmentView;
    const n = view.bgFrameForFg.length;
    const t1 = performance.now();
    await client.conn.sendRequest(frameRequest, { project: project('ps'), fgFrame: n - 1, width });
    const full = performance.now() - t1 + first;
    const steps: number[] = [];
    const wrong: string[] = [];
    for (let i = 0; i < n; i += 3) {
      const s = performance.now();
      const f = await client.conn.sendRequest(frameRequest, { project: project('ps'), fgFrame: i, width });
      steps.push(performance.now() - s);
      if (f.fgFrame !== i || f.bgFrame !== view.bgFrameForFg[i]) wrong.push(`fg ${i}: got fg ${f.fgFrame}, bg ${f.bgFrame}`);
      if (!f.composite.startsWith('data:image/jpeg;base64,')) wrong.push(`fg ${i}: no composite`);
    }
    steps.sort((a, b) => a - b);
    const q = (p: number) => steps[Math.min(steps.length - 1, Math.floor(p * steps.length))];
    const max = steps[steps.length - 1];
    const line =
      `first frame ${first.toFixed(0)} ms; both proxies (${n} fg frames) ${full.toFixed(0)} ms; ` +
      `${steps.length} steps: median ${q(0.5).toFixed(1)} ms, p90 ${q(0.9).toFixed(1)} ms, max ${max.toFixed(1)} ms`;
    t.diagnostic(line);
    console.log(`preview timing: ${line}`);
    assert.deepEqual(wrong, [], 'every step answers with its own frames');
  });
});

/** Mean absolute difference of two pictures of one size over the rectangle r (all channels). */
function meanDiff(a: Rgb, b: Rgb, r: { x: number; y: number; width: number; height: number }): number {
  let sum = 0;
  let count = 0;
  for (let y = Math.max(0, r.y); y < Math.min(a.height, r.y + r.height); y++) {
    for (let x = Math.max(0, r.x); x < Math.min(a.width, r.x + r.width); x++) {
      for (let c = 0; c < 3; c++) sum += Math.abs(a.data[(y * a.width + x) * 3 + c] - b.data[(y * b.width + x) * 3 + c]);
      count += 3;
    }
  }
  return sum / Math.max(1, count);
}

describe('preview frames of a tracked placement', () => {
  /** fg is bg's window panning right and down while it shrinks to 0.8 (derive's `pan.to`): its truth is every frame's window. */
  const PAN = { crop: { x: 40, y: 80, width: 400, height: 240 }, pan: { to: { x: 280, y: 130, width: 320, height: 192 } }, frames: 60 };
  let tdir: string;
  let tclient: TestClient;
  let truth: Awaited<ReturnType<typeof derived>>['truth'];
  let uri: string;

  before(async () => {
    ensureBuilt();
    tdir = await tempDir('preview-tracked');
    const d = await derived(SAMPLE, PAN);
    truth = d.truth;
    await fs.copyFile(d.fg, path.join(tdir, 'fg.mp4'));
    await fs.copyFile(SAMPLE, path.join(tdir, 'bg.mpg'));
    const file = path.join(tdir, 'pan.vidkompy.json');
    await fs.writeFile(file, JSON.stringify({ bg: 'bg.mpg', fg: 'fg.mp4', engine: 'fast', placement: 'tracked' }, null, 2) + '\n');
    uri = pathToFileURL(file).href;
    // The alignment written by hand, as the engine would save it: the truth's map, and its window as
    // two keyframes (derive moves it linearly, so the line between them is the truth at every frame).
    const p = await loadProject(file);
    const [bg, fg, hashes] = await Promise.all([probe(p.bg), probe(p.fg), inputHashes(p)]);
    const n = truth.bgFrameForFg.length;
    const at = (i: number) => truth.placements![i];
    const al: Alignment = {
      version: 1,
      bg: summary(bg),
      fg: { ...summary(fg), contentRect: { x: 0, y: 0, width: fg.width, height: fg.height } },
      spatial: {
        ...at(0),
        confidence: 1,
        method: 'auto',
        placement: 'tracked',
        track: { tolerance: 0.5, keys: [0, n - 1].map((i) => [i, at(i).x, at(i).y, at(i).scale]) },
      },
      temporal: {
        engine: 'fast',
        features: 'pixels',
        bgFrameForFg: truth.bgFrameForFg,
        bgTimeForFg: truth.bgTimeForFg,
        confidence: new Array<number>(n).fill(1),
        offsetSeconds: truth.bgTimeForFg[0],
        speed: 1,
        meanConfidence: 1,
      },
      timings: {},
    };
    await fs.writeFile(p.alignmentFile, serialiseProjectAlignment(toProjectAlignment(al, p, hashes)));
    tclient = await startClient({ root: tdir });
  });
  after(async () => {
    assert.equal(await tclient?.close(), 0, tclient?.stderr());
  });

  it('the view carries the keyframes; each frame is fg pasted at its own window, which is where bg shows it', async (t) => {
    const view = (await tclient.conn.sendRequest(resultRequest, { project: uri })) as AlignmentView;
    assert.ok(view && !view.stale);
    const n = view.bgFrameForFg.length;
    assert.equal(view.spatial.placement, 'tracked');
    assert.deepEqual(
      view.spatial.track?.keys,
      [0, n - 1].map((i) => [i, truth.placements![i].x, truth.placements![i].y, truth.placements![i].scale]),
      'the keys, not one entry per frame',
    );
    const k = WIDTH / view.bg.width;
    const bgH = Math.round(view.bg.height * k);
    const c = view.fg.contentRect;
    const fgH = Math.round((c.height * WIDTH) / c.width);
    const last = Math.max(...view.bgFrameForFg) + 1;
    const [bgRef, fgRef] = await Promise.all([
      sequential(path.join(tdir, 'bg.mpg'), `scale=${WIDTH}:${bgH}:flags=area`, WIDTH, bgH, last),
      sequential(path.join(tdir, 'fg.mp4'), `crop=${c.width}:${c.height}:${c.x}:${c.y}:exact=1,scale=${WIDTH}:${fgH}:flags=area`, WIDTH, fgH),
    ]);
    // The window at frame i, at preview size, from the truth alone.
    const truthBox = (i: number) => {
      const w = truth.placements![i];
      return { x: Math.round(w.x * k), y: Math.round(w.y * k), width: Math.round(c.width * w.scale * k), height: Math.round(c.height * w.scale * k) };
    };
    const boxes: string[] = [];
    for (const i of [0, Math.round(n / 3), n - 1]) {
      const f = await tclient.conn.sendRequest(frameRequest, { project: uri, fgFrame: i, width: WIDTH });
      const j = view.bgFrameForFg[i];
      const box = truthBox(i);
      assert.deepEqual(f.box, box, `fg ${i}: the box is this frame's window`);
      const pasted = pasteRgb(bgRef[j], resizeRgb(fgRef[i], box.width, box.height), box.x, box.y);
      assert.ok(f.composite === dataUrl(pasted), `fg ${i}: the composite is fg pasted at its window over bg frame ${j}, byte for byte`);
      // fg is bg's own window: pasted where it belongs, it all but vanishes into bg; pasted at the
      // first frame's box (the fixed placement), it does not.
      const right = meanDiff(pasted, bgRef[j], box);
      const b0 = truthBox(0);
      const atFirst = pasteRgb(bgRef[j], resizeRgb(fgRef[i], b0.width, b0.height), b0.x, b0.y);
      const wrong = meanDiff(atFirst, bgRef[j], b0);
      boxes.push(`fg ${i}: box ${JSON.stringify(box)}, |composite − bg| ${right.toFixed(2)} (at the first frame's box: ${wrong.toFixed(2)})`);
      // Whole preview pixels: a window half a pixel off its box and the resampling leave some difference.
      assert.ok(right < 25, `fg ${i}: fg at its window matches bg under it (mean |diff| ${right.toFixed(2)})`);
      if (i > 0) assert.ok(wrong > 2.5 * right, `fg ${i}: at the first frame's box it would not (${wrong.toFixed(2)} vs ${right.toFixed(2)})`);
    }
    t.diagnostic(boxes.join('; '));
    assert.notDeepEqual(truthBox(0), truthBox(n - 1), 'the window moves');
  });
});
