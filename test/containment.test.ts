import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { VidkompyError } from '../daemon/core/errors';
import { writtenByVidkompy } from '../daemon/media/probe';
import { checkProjectText } from '../daemon/project/check';
import { alignProject, renderProject, runProject } from '../daemon/project/jobs';
import { resolveProject, type ProjectFile } from '../daemon/project/project';
import { cli } from './support/cli';
import { derived, SAMPLE, tempDir } from './support/media';

/**
 * A project is data anyone may send: what it writes stays inside its folder (after symlinks), and
 * no front end replaces a file vidkompy did not write unless asked.
 */

let root: string;
let proj: string;
let victim: string;
const VICTIM_BYTES = Buffer.from('someone else\'s only copy, not a video');
const SPATIAL = { x: 160, y: 100, scale: 1 };

const projectFile = () => path.join(proj, 'demo.vidkompy.json');
const project = (o: Partial<ProjectFile>) => resolveProject(projectFile(), { bg: 'bg.mpg', fg: 'fg.mp4', spatial: SPATIAL, render: { preset: 'ultrafast' }, ...o });

/** Every file under `dir`, relative, sorted: what a refused job must leave as it was. */
async function tree(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.map((e) => path.relative(dir, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))).sort();
}

describe('outputs stay inside the project', () => {
  const escapes: [string, () => string][] = [
    ['by ../', () => '../victim.mp4'],
    ['by an absolute path', () => victim],
    ['through a symlinked folder', () => 'link/victim.mp4'],
    ['by ../ into a folder that does not exist yet', () => '../made/x.mp4'],
    ['through a symlinked folder into a folder that does not exist yet', () => 'link/made/x.mp4'],
  ];

  before(async () => {
    root = await tempDir('contain');
    proj = path.join(root, 'proj');
    await fs.mkdir(path.join(root, 'outside'), { recursive: true });
    await fs.mkdir(proj);
    victim = path.join(root, 'victim.mp4');
    await fs.writeFile(victim, VICTIM_BYTES);
    await fs.writeFile(path.join(root, 'outside', 'victim.mp4'), VICTIM_BYTES);
    await fs.symlink(path.join(root, 'outside'), path.join(proj, 'link'));
    const { fg } = await derived(SAMPLE, { crop: { x: 160, y: 100, width: 320, height: 192 }, fps: 30, offset: 1.2, frames: 24 });
    await fs.copyFile(SAMPLE, path.join(proj, 'bg.mpg'));
    await fs.copyFile(fg, path.join(proj, 'fg.mp4'));
  });

  for (const [how, output] of escapes) {
    it(`check reports an error on "output" escaping ${how}`, async () => {
      const value = JSON.stringify(output());
      const text = `{\n  "bg": "bg.mpg",\n  "fg": "fg.mp4",\n  "output": ${value}\n}\n`;
      const ds = (await checkProjectText(projectFile(), text)).filter((d) => d.code === 'OUTSIDE');
      assert.equal(ds.length, 1, JSON.stringify(ds));
      assert.equal(ds[0].severity, 'error');
      assert.deepEqual({ offset: ds[0].offset, length: ds[0].length }, { offset: text.indexOf(value), length: value.length }, 'the output string, quotes included');
      assert.match(ds[0].message, /would be written outside this project: it is outside the project's folder .*; choose a path inside/);
    });

    it(`run and render refuse an output escaping ${how}, writing nothing anywhere`, async () => {
      const before = { root: await tree(root) };
      const p = project({ output: output() });
      for (const job of [() => runProject(p), () => renderProject(p)]) {
        await assert.rejects(job(), (e: VidkompyError) => e.code === 'UNWRITABLE' && /the output .* would be written outside the project/.test(e.message));
      }
      assert.deepEqual(await tree(root), before.root, 'no file, folder, temp or alignment created');
      assert.deepEqual(await fs.readFile(victim), VICTIM_BYTES);
      assert.deepEqual(await fs.readFile(path.join(root, 'outside', 'victim.mp4')), VICTIM_BYTES);
    });
  }

  it('refuses an alignment file that is a symlink out of the project', async () => {
    const p = project({});
    await fs.symlink(victim, p.alignmentFile);
    try {
      const check = await checkProjectText(projectFile(), JSON.stringify({ bg: 'bg.mpg', fg: 'fg.mp4' }));
      assert.deepEqual(check.filter((d) => d.severity === 'error'), []);
      await assert.rejects(alignProject(p), /the alignment file .* would be written outside the project: .* leads to .*victim\.mp4/);
      await assert.rejects(runProject(p), /the alignment file .* would be written outside the project/);
      assert.deepEqual(await fs.readFile(victim), VICTIM_BYTES);
    } finally {
      await fs.rm(p.alignmentFile);
    }
  });

  it('renders an output inside the project, tagged as vidkompy\'s; refuses to replace a file it did not write', async () => {
    const p = project({ output: 'renders/inside.mp4' });
    const text = JSON.stringify({ bg: 'bg.mpg', fg: 'fg.mp4', output: 'renders/inside.mp4' });
    assert.deepEqual((await checkProjectText(projectFile(), text)).filter((d) => d.code === 'OUTSIDE'), []);
    await alignProject(p);
    const r = await renderProject(p);
    assert.equal(r.output, path.join(proj, 'renders', 'inside.mp4'));
    assert.equal(await writtenByVidkompy(r.output), true);
    assert.ok(!(await tree(proj)).some((f) => f.includes('.partial-')), 'no temp file left');

    const foreign = path.join(proj, 'foreign.mp4');
    await fs.writeFile(foreign, VICTIM_BYTES);
    await assert.rejects(
      renderProject(project({ output: 'foreign.mp4' })),
      (e: VidkompyError) => e.code === 'UNWRITABLE' && /foreign\.mp4: exists and was not written by vidkompy, so it is not replaced; move it away, or choose another "output"/.test(e.message),
    );
    assert.deepEqual(await fs.readFile(foreign), VICTIM_BYTES);
  });
});

describe('the CLI does not replace a file it did not write unless -y', () => {
  let dir: string;
  let alFile: string;

  before(async () => {
    dir = await tempDir('overwrite');
    const { fg } = await derived(SAMPLE, { crop: { x: 160, y: 100, width: 320, height: 192 }, fps: 30, offset: 1.2, frames: 24 });
    alFile = path.join(dir, 'pair.align.json');
    const r = await cli('sync', '--bg', SAMPLE, '--fg', fg, '-o', alFile, '--x-shift', '160', '--y-shift', '100', '--scale', '1', '-q');
    assert.equal(r.code, 0, r.err);
  });

  it('refuses an existing foreign file with one line naming it and -y, and leaves it as it was', async () => {
    const out = path.join(dir, 'existing.mp4');
    await fs.writeFile(out, VICTIM_BYTES);
    const r = await cli('comp', '--use-alignment', alFile, '-o', out, '--preset', 'ultrafast', '-q');
    assert.equal(r.code, 1);
    assert.equal(r.err, `vidkompy: ${out}: exists and was not written by vidkompy, so it is not replaced; pass -y to replace it\n`);
    assert.deepEqual(await fs.readFile(out), VICTIM_BYTES);
    assert.deepEqual((await fs.readdir(dir)).filter((f) => f.includes('.partial-')), []);
  });

  it('replaces it with -y, and replaces its own output without -y', async () => {
    const out = path.join(dir, 'existing.mp4');
    const y = await cli('comp', '--use-alignment', alFile, '-o', out, '--preset', 'ultrafast', '-q', '-y');
    assert.equal(y.code, 0, y.err);
    assert.equal(await writtenByVidkompy(out), true);
    const first = (await fs.stat(out)).ino;
    const again = await cli('comp', '--use-alignment', alFile, '-o', out, '--preset', 'ultrafast', '-q');
    assert.equal(again.code, 0, again.err);
    assert.notEqual((await fs.stat(out)).ino, first, 'a new file renamed into place');
    assert.ok(existsSync(out));
  });

  it('says -y in the help', async () => {
    assert.match((await cli('--help')).out, /-y, --overwrite +replace an existing output that vidkompy did not write/);
  });
});
