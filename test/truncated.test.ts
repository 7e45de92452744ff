import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { probe } from '../daemon/media/probe';
import { tools } from '../daemon/media/tools';
import { cli } from './support/cli';
import { derived, SAMPLE, tempDir } from './support/media';

/**
 * A fg cut short (a faststart mp4 whose second half never arrived): its index still lists every
 * frame, the decoder stops early without an error. The render must say so, and only go on when forced.
 */

const CROP = { x: 150, y: 90, width: 352, height: 224 };
let dir: string;
let fg: string;

describe('a fg that ends early', () => {
  before(async () => {
    dir = await tempDir('truncated');
    const full = (await derived(SAMPLE, { crop: CROP, fps: 30, offset: 0.8, frames: 60 })).fg;
    fg = path.join(dir, 'cut.mp4');
    // faststart: the index sits in front, so the cut file still opens and still lists 60 frames.
    const r = spawnSync(tools().ffmpeg, ['-v', 'error', '-i', full, '-c', 'copy', '-movflags', '+faststart', fg]);
    assert.equal(r.status, 0, String(r.stderr));
    await fs.truncate(fg, Math.floor((await fs.stat(fg)).size / 2));
    const info = await probe(fg);
    assert.equal(info.indexedFrames, 60, 'the index still lists every frame');
    assert.ok(info.frameCount < 60, `fewer packets arrived (${info.frameCount})`);
  });

  const args = (out: string) => ['comp', '--bg', SAMPLE, '--fg', fg, '--x-shift', '150', '--y-shift', '90', '--scale', '1', '-o', out];
  const common = ['--preset', 'ultrafast', '--threads', '1', '-q'];

  it('is refused with how many frames decode, and no output', async () => {
    const out = path.join(dir, 'refused.mp4');
    const r = await cli(...args(out), ...common);
    assert.equal(r.code, 1, r.err);
    const m = /cut\.mp4: only (\d+) of 60 frames could be decoded \(the file ends early or is damaged\); re-export it; or use --force to render what decodes/.exec(r.err);
    assert.ok(m, r.err);
    assert.ok(Number(m[1]) > 0 && Number(m[1]) < 60, m[0]);
    assert.equal(r.err.trim().split('\n').length, 1, 'one line');
    assert.ok(!existsSync(out), 'nothing written');
  });

  it('renders what decodes with --force', async () => {
    const out = path.join(dir, 'forced.mp4');
    const r = await cli(...args(out), ...common, '--force');
    assert.equal(r.code, 0, r.err);
    const frames = (await probe(out)).frameCount;
    assert.ok(frames > 0 && frames < 60, `${frames} frames rendered`);
  });
});
