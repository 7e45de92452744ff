import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { passthroughArgs, readFrames, runTool } from '../daemon/media/ffmpeg';
import { probe } from '../daemon/media/probe';
import { dataUrl } from '../daemon/server/images';
import { alignRequest, frameRequest, resultRequest, type AlignmentView } from '../protocol/lsp';
import { ensureBuilt, startClient, type TestClient } from './support/lspClient';
import { derived, SAMPLE, tempDir } from './support/media';

/**
 * The preview tells the truth: the bg and fg pictures of `vidkompy/frame` are exactly frame
 * bgFrameForFg[i] of bg and frame i of fg as a sequential decode counts them (what the render
 * pastes together), byte for byte, on MPEG-PS (the bundled sample, where seeks land frames late),
 * H.264 with B-frames and a variable-frame-rate bg; across the sample's scene cut (bg frame 116).
 * And it is fast: the first frame and the steps of a scrub are timed.
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
async function sequential(file: string, filter: string, width: number, height: number): Promise<Rgb[]> {
  const out: Rgb[] = [];
  for await (const f of readFrames({ file, filter, pixFmt: 'rgb24', width, height })) out.push({ data: new Uint8Array(f), width, height });
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
