import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { runTool } from '../daemon/media/ffmpeg';
import { cli } from './support/cli';
import { derived, HAVE_SHARED, media, NO_SHARED, SAMPLE, tempDir } from './support/media';
import { synthBg } from './support/synth';

/**
 * Bad input: every case gets exit code 1, one line naming the file and the problem, and no output
 * (not even a partial one) left in the output folder.
 */

let dir: string;
let fg: string;
const ff = (args: string[]) => runTool('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { file: 'test fixture', what: 'making a fixture' });

async function expectFailure(args: string[], pattern: RegExp, file: string): Promise<string> {
  const out = path.join(dir, `out-${Math.random().toString(36).slice(2)}.mp4`);
  const r = await cli('comp', ...args, '-o', out, '-q');
  assert.equal(r.code, 1, `exit code 1: ${r.err}`);
  assert.match(r.err, pattern);
  assert.ok(r.err.includes(file), `names the file ${file}: ${r.err}`);
  assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
  const left = (await fs.readdir(dir)).filter((f) => f.startsWith('out-') || f.includes('partial'));
  assert.deepEqual(left, [], 'no output or partial output left behind');
  return r.err;
}

describe('bad input gets a clear error and loses nothing', () => {
  before(async () => {
    dir = await tempDir('errors');
    fg = (await derived(SAMPLE, { crop: { x: 100, y: 60, width: 320, height: 200 }, offset: 1, frames: 60 })).fg;
  });

  it('missing file', async () => {
    const missing = path.join(dir, 'nope.mp4');
    await expectFailure(['--bg', missing, '--fg', fg], /file not found; check the path/, missing);
  });

  it('not a video', async () => {
    const text = path.join(dir, 'notes.mp4');
    await fs.writeFile(text, 'this is not a video\n'.repeat(100));
    await expectFailure(['--bg', text, '--fg', fg], /not a readable video/, text);
  });

  it('empty file', async () => {
    const empty = path.join(dir, 'empty.mp4');
    await fs.writeFile(empty, '');
    await expectFailure(['--bg', SAMPLE, '--fg', empty], /empty/, empty);
  });

  it('a file with no video stream', async () => {
    const audio = path.join(dir, 'tone.m4a');
    await ff(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', audio]);
    await expectFailure(['--bg', SAMPLE, '--fg', audio], /has no video stream \(only audio streams\)/, audio);
  });

  it('a video stream with zero frames', async () => {
    const zero = path.join(dir, 'zero.avi');
    await ff(['-f', 'lavfi', '-i', 'color=s=64x64', '-frames:v', '0', '-c:v', 'mpeg4', zero]);
    await expectFailure(['--bg', SAMPLE, '--fg', zero], /no frames/, zero);
  });

  it('a truncated file', async () => {
    const whole = await fs.readFile(fg);
    const cut = path.join(dir, 'cut.mp4');
    // fg is written without faststart: the index (moov) is at the end, so half a file is unreadable.
    await fs.writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    await expectFailure(['--bg', SAMPLE, '--fg', cut], /not a readable video|truncated/, cut);
  });

  it('fg larger than bg', async () => {
    const big = (await derived(SAMPLE, { size: { width: 1440, height: 810 }, frames: 30 })).fg;
    const small = (await derived(SAMPLE, { crop: { x: 0, y: 0, width: 360, height: 200 }, frames: 30 })).fg;
    const r = await cli('find', big, small);
    assert.equal(r.code, 1);
    assert.match(r.err, /is larger than bg/);
    assert.ok(r.err.includes(big));
  });

  it('fg not found in bg', async () => {
    const other = await synthBg({ width: 320, height: 180, fps: 25, duration: 2 });
    const err = await expectFailure(['--bg', SAMPLE, '--fg', other], /fg was not found inside bg/, other);
    assert.doesNotMatch(err, /flipped/, 'no hint where none applies');
  });

  it('a mirrored fg: says so, and how to flip it back', async () => {
    const flipped = path.join(dir, 'mirrored.mp4');
    await ff(['-i', fg, '-vf', 'hflip', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', flipped]);
    await expectFailure(['--bg', SAMPLE, '--fg', flipped], /fg is bg's picture flipped left to right: re-export fg flipped back \(ffmpeg -vf hflip\)/, flipped);
  });

  it('an unwritable output path fails at once', async () => {
    const file = path.join(dir, 'a-file');
    await fs.writeFile(file, 'x');
    const r = await cli('comp', '--bg', SAMPLE, '--fg', fg, '-o', path.join(file, 'out.mp4'), '-q');
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot (create folder|write)/);
    // Before any alignment work, indeed before the inputs are read: a missing fg is not what it says.
    const early = await cli('comp', '--bg', SAMPLE, '--fg', path.join(dir, 'no-such-fg.mp4'), '-o', path.join(file, 'out.mp4'), '-q');
    assert.equal(early.code, 1);
    assert.match(early.err, /a-file.*cannot (create folder|write)/);
    assert.doesNotMatch(early.err, /no-such-fg/);
    await fs.rm(file);
  });

  it('an output that would overwrite an input', async () => {
    const r = await cli('comp', '--bg', SAMPLE, '--fg', fg, '-o', fg, '-q');
    assert.equal(r.code, 1);
    assert.match(r.err, /overwrite an input/);
  });

  it('usage errors exit 2 with a hint', async () => {
    for (const args of [['comp', '--fg', fg], ['comp', '--bg', SAMPLE, '--fg', fg, '--engine', 'warp'], ['sync', '--bg', SAMPLE, '--fg', fg], ['frobnicate'], ['comp', '--crf', 'x']]) {
      const r = await cli(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, /see vidkompy --help/);
    }
  });

  it('paths with spaces and non-ASCII characters work', async () => {
    const odd = path.join(dir, 'with spaces', 'ñandú vidéo');
    await fs.mkdir(odd, { recursive: true });
    const bg = path.join(odd, 'fond d’écran.mpg');
    const f = path.join(odd, 'premier plan — 1.mp4');
    await fs.copyFile(SAMPLE, bg);
    await fs.copyFile(fg, f);
    const out = path.join(odd, 'résultat final.mp4');
    const r = await cli('comp', '--bg', bg, '--fg', f, '-o', out, '--json', '--preset', 'ultrafast');
    assert.equal(r.code, 0, r.err);
    const res = JSON.parse(r.out);
    assert.equal(res.output, out);
    assert.deepEqual([res.spatial.x, res.spatial.y], [100, 60]);
    assert.ok((await fs.stat(out)).size > 1000);
  });

  it('a damaged input (box.mp4: broken slices) still aligns', { skip: HAVE_SHARED ? false : NO_SHARED }, async () => {
    const box = media('box.mp4');
    const f = (await derived(box, { crop: { x: 200, y: 100, width: 320, height: 240 }, offset: 2, frames: 90 })).fg;
    const r = await cli('sync', '--bg', box, '--fg', f, '-o', path.join(dir, 'box.json'), '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual([JSON.parse(r.out).spatial.x, JSON.parse(r.out).spatial.y], [200, 100]);
  });
});
