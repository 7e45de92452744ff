import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { cli } from './support/cli';
import { derived, loopedSilent, SAMPLE, tempDir } from './support/media';
import { synthBg } from './support/synth';

/**
 * Refusal when unsure (daemon/engine/trust.ts): pairs that cannot be aligned right — fg unrelated
 * to bg, bg and fg swapped, bg shorter than fg, repeated footage without sound — stop `sync` and
 * `comp` with the reason in one line, exit 1, and write nothing; `--force` goes ahead; a right pair
 * is accepted with its trust figure reported.
 */

const CROP = { x: 90, y: 70, width: 480, height: 270 };
let dir: string;

async function refused(args: string[], outputs: string[], reason: RegExp, tries = /--force/): Promise<string> {
  const r = await cli(...args, '-q');
  assert.equal(r.code, 1, `exit 1, got ${r.code}: ${r.err}`);
  const line = r.err.trim();
  assert.equal(line.split('\n').length, 1, `one line: ${line}`);
  assert.match(line, /not sure of this alignment \(trust \d\.\d\d, below 0\.5\)/);
  assert.match(line, reason);
  assert.match(line, tries, `says what to try: ${line}`);
  for (const f of outputs) assert.ok(!existsSync(f), `${f} was not written`);
  return line;
}

describe('refusal when unsure', () => {
  before(async () => {
    dir = await tempDir('refusal');
  });

  it('a right pair is accepted, its trust figure reported', async () => {
    const { fg } = await derived(SAMPLE, { crop: CROP, fps: 30, offset: 1.5 });
    const out = path.join(dir, 'right.json');
    const r = await cli('sync', '--bg', SAMPLE, '--fg', fg, '-o', out, '--json', '-q');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.trust.verdict, 'sure');
    assert.ok(j.trust.score >= 0.9, `trust ${j.trust.score}`);
    const saved = JSON.parse(await fs.readFile(out, 'utf8'));
    assert.deepEqual(saved.trust, j.trust, 'the alignment file keeps the trust figure');
    const line = await cli('sync', '--bg', SAMPLE, '--fg', fg, '-o', out, '-q');
    assert.match(line.out, /trust 1\.00 \(sure\)/);
  });

  it('fg whose window pans over bg (pan-and-scan), placement fixed: refused as moving, naming where it moves', async () => {
    const { fg } = await derived(SAMPLE, { crop: { x: 40, y: 60, width: 400, height: 240 }, pan: { dx: 30, dy: 0 }, offset: 0.5, fps: 30 });
    const out = path.join(dir, 'pan.mp4');
    const line = await refused(
      ['comp', '--bg', SAMPLE, '--fg', fg, '-o', out, '--placement', 'fixed'],
      [out],
      /fg's window moves over bg \(its corner at x \d+ → \d+ → \d+/,
      /use --placement tracked/,
    );
    assert.match(line, /placement is set to fixed/);
    // The x it names runs the way the window does: 30 px a second, left to right.
    const xs = /at x (\d+) → (\d+) → (\d+)/.exec(line)!.slice(1).map(Number);
    assert.ok(xs[0] < xs[1] && xs[1] < xs[2] && xs[2] - xs[0] > 100, `x ${xs.join(', ')}`);
  });

  it('fg unrelated to bg: refused; --force aligns anyway', async () => {
    const bg = await synthBg({ width: 480, height: 270, fps: 25, duration: 6 });
    const { fg } = await derived(SAMPLE, { crop: { x: 200, y: 100, width: 320, height: 180 }, frames: 100 });
    const out = path.join(dir, 'unrelated.json');
    await refused(['sync', '--bg', bg, '--fg', fg, '-o', out], [out], /fg shows part of bg/);
    const forced = await cli('sync', '--bg', bg, '--fg', fg, '-o', out, '--force', '--json', '-q');
    assert.equal(forced.code, 0, forced.err);
    assert.equal(JSON.parse(forced.out).trust.verdict, 'unsure');
    assert.ok(existsSync(out));
  });

  it('bg and fg swapped: "bg appears inside fg — swap them?", nothing rendered', async () => {
    const { fg: crop } = await derived(SAMPLE, { crop: CROP });
    const out = path.join(dir, 'swapped.mp4');
    await refused(['comp', '--bg', crop, '--fg', SAMPLE, '-o', out], [out], /bg appears inside fg — swap them\?/, /check the --bg\/--fg order/);
    const left = (await fs.readdir(dir)).filter((f) => f.includes('swapped'));
    assert.deepEqual(left, [], 'no partial output either');
  });

  it('bg shorter than fg: refused', async () => {
    const { fg: short } = await derived(SAMPLE, { crop: { x: 0, y: 0, width: 720, height: 404 }, frames: 60 });
    const { fg } = await derived(SAMPLE, { crop: CROP });
    const out = path.join(dir, 'short.json');
    await refused(['sync', '--bg', short, '--fg', fg, '-o', out], [out], /bg looks shorter than fg/);
  });

  it('repeated footage without sound: refused, naming the places that fit', async () => {
    const bg = await loopedSilent(SAMPLE, 3, 720, 404);
    const { fg } = await derived(bg, { crop: { x: 100, y: 60, width: 400, height: 240 }, offset: 9, frames: 100 });
    const out = path.join(dir, 'repeated.json');
    const line = await refused(['sync', '--bg', bg, '--fg', fg, '-o', out], [out], /fg fits 3 places in bg about equally well/);
    // The loop is 7.6 s long: fg starts 9 s in, so at 1.4, 9 and 16.6 s.
    const times = [...line.matchAll(/(\d+\.\d+) s/g)].map((m) => Number(m[1]));
    for (const t of [1.4, 9, 16.6]) assert.ok(times.some((v) => Math.abs(v - t) < 0.2), `${t} s among ${JSON.stringify(times)}: ${line}`);
  });
});
