import assert from 'node:assert/strict';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import Ajv from 'ajv';
import { readFrames, runTool } from '../daemon/media/ffmpeg';
import { asShown } from '../daemon/media/picture';
import { probe } from '../daemon/media/probe';
import { tools } from '../daemon/media/tools';
import { cli, runBin } from './support/cli';
import { derived, SAMPLE, tempDir } from './support/media';

const schema = JSON.parse(readFileSync(path.resolve(__dirname, '..', 'schemas', 'alignment.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true }).compile(schema);

let dir: string;
let fg: string;
const CROP = { x: 150, y: 90, width: 352, height: 224 };
const round3 = (v: number) => Math.round(v * 1000) / 1000;

describe('the vidkompy command', () => {
  before(async () => {
    dir = await tempDir('cli');
    fg = (await derived(SAMPLE, { crop: CROP, fps: 30, offset: 0.8, frames: 120 })).fg;
  });

  it('prints help and its version', async () => {
    const h = await runBin(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.out, /vidkompy comp --bg BG --fg FG/);
    const v = await runBin(['--version']);
    assert.match(v.out.trim(), /^\d+\.\d+\.\d+$/);
    const none = await runBin([]);
    assert.equal(none.code, 2, 'no command is a usage error');
  });

  it('sync writes a schema-valid alignment with relative paths, and prints nothing on stderr when not a terminal', async () => {
    const out = path.join(dir, 'sub', 'pair.align.json');
    const r = await runBin(['sync', '--bg', SAMPLE, '--fg', fg, '-o', out]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '', 'no progress bar when stderr is not a TTY');
    assert.match(r.out, /^wrote .*pair\.align\.json: fg at x=150 y=90 scale=1/);
    const text = await fs.readFile(out, 'utf8');
    const al = JSON.parse(text) as { bg: { file: string }; fg: { file: string }; temporal: { bgFrameForFg: number[] } };
    assert.ok(validate(al), JSON.stringify(validate.errors));
    assert.ok(!path.isAbsolute(al.bg.file) && !path.isAbsolute(al.fg.file), 'paths relative to the alignment file');
    assert.equal(path.resolve(path.dirname(out), al.bg.file), SAMPLE);
    assert.equal(al.temporal.bgFrameForFg.length, 120);
    assert.match(text, /"bgFrameForFg": \[\d+(,\d+)+\]/, 'frame map on one line for diffs');
  });

  it('--threads reaches every ffmpeg that decodes or encodes, and refuses a budget below one', async () => {
    // A wrapper in front of the real ffmpeg records each command line.
    const log = path.join(dir, 'ffmpeg-calls.log');
    const wrapper = path.join(dir, 'ffmpeg-logged');
    await fs.writeFile(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${tools().ffmpeg}' "$@"\n`, { mode: 0o755 });
    const out = path.join(dir, 'threads.mp4');
    const r = await runBin(['comp', '--bg', SAMPLE, '--fg', fg, '-o', out, '--threads', '1', '--preset', 'ultrafast', '-q'], { env: { ...process.env, VIDKOMPY_FFMPEG: wrapper } });
    assert.equal(r.code, 0, r.err);
    assert.equal((await probe(out)).frameCount, 120);
    const calls = (await fs.readFile(log, 'utf8')).trim().split('\n');
    const decodes = calls.filter((c) => c.endsWith('pipe:1'));
    assert.ok(decodes.length >= 4, `sampling, analysis and rendering decodes (${decodes.length})`);
    for (const c of decodes) assert.match(c, /-threads 1 -i /, c);
    // The render's encoder, not the tiny clip the hardware-decode trial makes with libx264.
    const encoder = calls.find((c) => c.includes('libx264') && c.includes('-movflags'));
    assert.match(encoder ?? '', /-threads 1 -movflags/);
    const bad = await runBin(['sync', '--bg', SAMPLE, '--fg', fg, '--threads', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--threads 0: expected an integer ≥ 1/);
  });

  it('comp renders from a saved alignment without aligning again', async () => {
    const alFile = path.join(dir, 'pinned.json');
    assert.equal((await cli('sync', '--bg', SAMPLE, '--fg', fg, '-o', alFile, '-q')).code, 0);
    const out = path.join(dir, 'pinned.mp4');
    const r = await runBin(['comp', '--use-alignment', alFile, '-o', out, '--json', '--preset', 'ultrafast']);
    assert.equal(r.code, 0, r.err);
    const res = JSON.parse(r.out);
    assert.equal(res.frames, 120);
    assert.equal(res.timings.spatial, JSON.parse(await fs.readFile(alFile, 'utf8')).timings.spatial, 'timings come from the saved alignment');
    const info = await probe(out);
    assert.equal(info.frameCount, 120);
    assert.deepEqual([info.width, info.height], [720, 406]);
  });

  it('refuses a stale alignment', async () => {
    const alFile = path.join(dir, 'stale.json');
    assert.equal((await cli('sync', '--bg', SAMPLE, '--fg', fg, '-o', alFile, '-q')).code, 0);
    const other = (await derived(SAMPLE, { crop: CROP, fps: 30, offset: 0.8, frames: 90 })).fg;
    const al = JSON.parse(await fs.readFile(alFile, 'utf8'));
    al.fg.file = path.relative(dir, other);
    await fs.writeFile(alFile, JSON.stringify(al));
    const out = path.join(dir, 'stale.mp4');
    const r = await cli('comp', '--use-alignment', alFile, '-o', out);
    assert.equal(r.code, 1);
    assert.match(r.err, /the alignment is stale: fg .* is now 352x224, 90 frames \(was 352x224, 120\); align again/);
    assert.equal(existsSync(out), false);
  });

  it('comp writes the alignment too, and names the output after its inputs by default', async () => {
    const bg = path.join(dir, 'city.mpg');
    const f = path.join(dir, 'inset.mp4');
    await fs.copyFile(SAMPLE, bg);
    await fs.copyFile(fg, f);
    const alFile = path.join(dir, 'comp.align.json');
    const r = await cli('comp', '--bg', bg, '--fg', f, '--alignment', alFile, '--preset', 'ultrafast', '-q', '-v');
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(path.join(dir, 'city_overlay_inset.mp4')));
    assert.match(r.out, /timings \(s\): \{"spatial"/);
    assert.ok(validate(JSON.parse(await fs.readFile(alFile, 'utf8'))));
  });

  it('find locates an image inside an image, an image inside a video and a video inside a video', async () => {
    const full = path.join(dir, 'frame.png');
    const part = path.join(dir, 'part.png');
    const ff = (args: string[]) => runTool('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { file: 'fixture', what: 'fixture' });
    await ff(['-i', SAMPLE, '-vf', 'select=eq(n\\,50)', '-vsync', '0', '-frames:v', '1', full]);
    await ff(['-i', full, '-vf', 'crop=200:120:333:177', part]);
    const r = await runBin(['find', part, full, '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual([j.x, j.y, j.scale], [333, 177, 1]);
    assert.ok(j.confidence > 0.95);
    // The still is one moment of the video: found on that very frame, not on a sampled neighbour.
    const inVideo = await runBin(['find', part, SAMPLE, '--json']);
    assert.equal(inVideo.code, 0, inVideo.err);
    const k = JSON.parse(inVideo.out);
    assert.deepEqual([k.x, k.y, k.scale], [333, 177, 1], inVideo.out);
    assert.ok(k.confidence > 0.98, inVideo.out);
    // And composed: one frame over its moment (a still has no speed for the trust figure to doubt).
    const still = await cli('comp', '--bg', SAMPLE, '--fg', part, '-o', path.join(dir, 'still.mp4'), '--json', '-q');
    assert.equal(still.code, 0, still.err);
    const c = JSON.parse(still.out);
    assert.equal(c.frames, 1);
    assert.deepEqual([c.spatial.x, c.spatial.y, c.spatial.scale, c.trust.verdict], [333, 177, 1, 'sure']);
    assert.equal(c.offsetSeconds, 2, 'frame 50 of the 25 fps sample');

    const v = await cli('align', fg, SAMPLE);
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /^x=150 y=90 scale=1 confidence=0\.9\d\d/);
  });

  it('an anamorphic bg (stored squeezed, flagged 4:3) is aligned and rendered as shown, with square pixels', async () => {
    // The sample squeezed to three quarters of its width and flagged 4:3, as HDV and anamorphic DV
    // and DVDs are stored; fg a crop of the sample as shown, with square pixels.
    const x264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16'];
    const ff = (args: string[]) => runTool('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { file: 'fixture', what: 'fixture' });
    const squeezed = path.join(dir, 'anamorphic.mp4');
    await ff(['-i', SAMPLE, '-t', '5', '-vf', 'scale=540:404,setsar=4/3', ...x264, squeezed]);
    const info = await probe(squeezed);
    assert.deepEqual([info.width, info.height, round3(info.sar)], [720, 404, 1.333], 'probed as shown');
    // Placed at the crop (the squeezed picture keeps 540 pixels' worth of detail across), and
    // rendered as shown: bg's shape, square pixels, every fg frame.
    const out = path.join(dir, 'anamorphic-out.mp4');
    const r = await cli('comp', '--bg', squeezed, '--fg', fg, '-o', out, '--bg-size', '--json', '-q');
    assert.equal(r.code, 0, r.err);
    const c = JSON.parse(r.out);
    const { x, y, scale } = c.spatial;
    assert.ok(Math.abs(x - CROP.x) <= 1.5 && Math.abs(y - CROP.y) <= 1.5 && Math.abs(scale - 1) < 0.01, JSON.stringify(c.spatial));
    assert.equal(c.trust.verdict, 'sure');
    const o = await probe(out);
    assert.deepEqual([o.width, o.height, o.sar, o.frameCount], [720, 404, 1, 120]);
    // A decode that no probe in this process preceded (a render from a saved alignment on a worker)
    // delivers the picture as shown too: every frame at 720×404, not 540×404 bytes read as fewer frames.
    const copy = path.join(dir, 'anamorphic-copy.mp4');
    await fs.copyFile(squeezed, copy);
    let n = 0;
    for await (const f of readFrames({ file: copy, pixFmt: 'gray', width: 720, height: 404 })) n += f.length === 720 * 404 ? 1 : 0;
    assert.equal(n, info.frameCount);
    // The stretch goes after the frame picks, before whatever looks at the picture; a deinterlacer
    // before the picks, where it sees the frames either side.
    const shown = { width: 720, height: 404, sar: 4 / 3, rotation: 0, interlaced: false };
    const picks = 'select=between(t\\,1\\,2),crop=10:10:0:0';
    assert.equal(asShown(picks, shown), 'select=between(t\\,1\\,2),scale=720:404:flags=bicubic,setsar=1,crop=10:10:0:0');
    assert.equal(asShown(picks, { ...shown, interlaced: true }), 'bwdif=mode=send_frame:parity=auto:deint=interlaced,select=between(t\\,1\\,2),scale=720:404:flags=bicubic,setsar=1,crop=10:10:0:0');
    assert.equal(asShown('crop=10:10:0:0', { ...shown, width: 540, sar: 1 }), 'crop=10:10:0:0');
  });

  it('an interlaced bg (two fields a moment apart, as broadcast and DVDs store it) is deinterlaced: aligned, and rendered without combing', async () => {
    // 50 moments a second stored as 25 interlaced frames, each of two fields 20 ms apart; fg a
    // progressive crop of the moments the top fields show.
    const ff = (args: string[]) => runTool('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { file: 'fixture', what: 'fixture' });
    const source = ['-f', 'lavfi', '-i', 'testsrc2=s=480x360:r=50:d=3.5'];
    const bg = path.join(dir, 'interlaced.mp4');
    await ff([...source, '-vf', 'tinterlace=mode=interleave_top,setfield=tff', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '12', '-flags', '+ildct+ilme', '-x264-params', 'tff=1', bg]);
    const fgFile = path.join(dir, 'progressive.mp4');
    await ff([...source, '-vf', 'select=not(mod(n\\,2)),setpts=N/25/TB,crop=200:120:160:200', '-r', '25', '-ss', '1', '-t', '2', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '12', fgFile]);
    assert.equal((await probe(bg)).interlaced, true);
    assert.equal((await probe(fgFile)).interlaced, false);
    const out = path.join(dir, 'interlaced-out.mp4');
    const r = await cli('comp', '--bg', bg, '--fg', fgFile, '-o', out, '--bg-size', '--json', '-q');
    assert.equal(r.code, 0, r.err);
    const c = JSON.parse(r.out);
    assert.deepEqual([c.spatial.x, c.spatial.y, c.spatial.scale, c.offsetSeconds, c.trust.verdict], [160, 200, 1, 1, 'sure']);
    // Combing over the whole picture: each line against the mean of its neighbours, over the same against lines two
    // apart. Interlaced motion makes the first far larger (fields from different moments).
    const combing = async (file: string) => {
      const { stdout } = await runTool('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { file, what: 'decoding' });
      const w = 480;
      const h = 360;
      let near = 0;
      let far = 0;
      for (let f = 0; f + w * h <= stdout.length; f += w * h)
        for (let y = 2; y < h - 2; y++)
          for (let x = 0; x < w; x++) {
            const p = (k: number) => stdout[f + (y + k) * w + x];
            near += Math.abs(p(0) - (p(-1) + p(1)) / 2);
            far += Math.abs(p(0) - (p(-2) + p(2)) / 2);
          }
      return near / far;
    };
    const [stored, rendered] = [await combing(bg), await combing(out)];
    assert.ok(stored > 1, `the interlaced bg is combed where it moves (progressive testsrc2: 0.66) (${stored.toFixed(2)})`);
    assert.ok(rendered < 0.8, `the render's is not (${rendered.toFixed(2)}, stored ${stored.toFixed(2)})`);
  });

  it('accepts the Python tool\'s underscore flags and a manual placement', async () => {
    const r = await cli('sync', '--bg', SAMPLE, '--fg', fg, '-o', path.join(dir, 'manual.json'), '--x_shift', '150', '--y_shift', '90', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.spatial, { x: 150, y: 90, scale: 1, confidence: 1, method: 'manual' });
  });

  it('the demo round-trips the bundled sample', async () => {
    const d = path.join(dir, 'demo');
    const r = await runBin(['demo', d, '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.found, j.truth);
    assert.ok(j.framesWithin1 >= 95, `${j.framesWithin1}% within 1 frame`);
    assert.ok(existsSync(path.join(d, 'composite.mp4')) && existsSync(path.join(d, 'alignment.json')));
  });
});
