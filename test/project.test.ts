import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import Ajv from 'ajv';
import { align } from '../daemon/engine/align';
import { VidkompyError } from '../daemon/core/errors';
import { fromProjectAlignment, inputHashes, serialiseProjectAlignment, staleReasons, toProjectAlignment, type ProjectAlignment } from '../daemon/store';
import { formatDiagnostics, textDiagnostics } from '../daemon/project/check';
import { cachedProbe } from '../daemon/project/filecache';
import { decodeMap, encodeMap, pieceFrame } from '../daemon/store/frameMap';
import { alignProject, renderProject } from '../daemon/project/jobs';
import { parseJson } from '../daemon/project/jsonTree';
import { mediaDiagnostics } from '../daemon/project/mediaChecks';
import { alignOptionsOf, resolveProject, unavailable, type ProjectFile } from '../daemon/project/project';
import { derived, SAMPLE, tempDir } from './support/media';

/**
 * Project files and their saved alignments, without the daemon: the checks behind every
 * diagnostic, the frame-map encoding, and the rules that decide when an alignment is stale.
 */

const SCHEMAS = path.resolve(__dirname, '..', 'schemas');
const readSchema = (name: string) => JSON.parse(readFileSync(path.join(SCHEMAS, name), 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false });
const validateProjectSchema = ajv.compile(readSchema('project.schema.json'));
const validateAlignmentSchema = ajv.compile(readSchema('project-alignment.schema.json'));

/** Round half up of c + s·i: what a steady-rate map looks like (as derive() makes them). */
const steady = (n: number, c: number, s: number) => Array.from({ length: n }, (_, i) => Math.floor(c + s * i + 0.5));

describe('the frame map as pieces and exceptions', () => {
  it('stores a steady frame-rate conversion as one piece with no exceptions, however long', () => {
    for (const [n, c, s] of [
      [60, 20, 25 / 30],
      [108_000, 20, 25 / 30],
      [108_000, 37.3, 25 / (30000 / 1001)],
      [90_000, 3.71, 30000 / 1001 / 25],
    ]) {
      const map = steady(n, c, s);
      const e = encodeMap(map);
      assert.equal(e.segments.length, 1, `${n} frames at ${s}`);
      assert.deepEqual(e.exceptions, []);
      assert.deepEqual(decodeMap(n, e), map);
    }
  });

  it('keeps cuts as pieces and jitter as exceptions, and always decodes to the same map', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const jitter = steady(20_000, 5.2, 0.8341).map((v) => (rnd() < 0.01 ? v + (rnd() < 0.5 ? -1 : 1) : v));
    const cuts = [...steady(500, 10, 1), ...steady(500, 900, 1), ...steady(500, 300, 1)];
    const j = encodeMap(jitter);
    assert.ok(j.segments.length <= 3, `${j.segments.length} pieces`);
    assert.ok(j.exceptions.length < 300, `${j.exceptions.length} exceptions for ~200 jittered frames`);
    assert.deepEqual(decodeMap(jitter.length, j), jitter);
    const c = encodeMap(cuts);
    assert.deepEqual(c.segments.map((s) => s.fg), [[0, 499], [500, 999], [1000, 1499]]);
    assert.deepEqual(c.exceptions, []);
    assert.deepEqual(decodeMap(cuts.length, c), cuts);
  });

  it('computes a piece in integers, rounding half up', () => {
    assert.equal(pieceFrame({ fg: [0, 2], bg: [10, 11] }, 1), 11, '10.5 rounds up');
    assert.equal(pieceFrame({ fg: [0, 6], bg: [20, 25] }, 3), 23, '22.5 rounds up');
    assert.equal(pieceFrame({ fg: [0, 3], bg: [0.333, 1.333] }, 2), 1, '0.999 rounds to 1');
    assert.equal(pieceFrame({ fg: [4, 4], bg: [7, 7] }, 4), 7, 'a one-frame piece');
    assert.throws(() => decodeMap(10, { segments: [{ fg: [0, 4], bg: [0, 4] }], exceptions: [] }), /cover fg frames 0\.\.4, not 0\.\.9/);
    assert.throws(() => decodeMap(5, { segments: [{ fg: [1, 4], bg: [0, 4] }], exceptions: [] }), /does not continue from frame 0/);
  });
});

describe('the project schemas', () => {
  it('document every field of a project with a description, and examples except for file paths', () => {
    // An example path would be offered by editors that complete from the schema: a file that is not there.
    const paths = new Set(['bg', 'fg', 'output', 'model', 'model.path']);
    const missing: string[] = [];
    const walk = (s: Record<string, unknown>, at: string) => {
      const props = (s.properties ?? {}) as Record<string, Record<string, unknown>>;
      for (const [k, v] of Object.entries(props)) {
        const here = at ? `${at}.${k}` : k;
        if (typeof v.description !== 'string' || !v.description) missing.push(`${here}: description`);
        if (paths.has(here)) {
          if (v.examples !== undefined) missing.push(`${here}: no examples (a path)`);
        } else if (!Array.isArray(v.examples) || !v.examples.length) missing.push(`${here}: examples`);
        walk(v, here);
        if (v.items) walk(v.items as Record<string, unknown>, `${here}[]`);
      }
    };
    walk(readSchema('project.schema.json'), '');
    assert.deepEqual(missing, []);
  });

  it('accept a project using every field', () => {
    const validate = validateProjectSchema;
    const full = {
      bg: 'bg.mp4',
      fg: 'fg.mp4',
      output: 'out.mkv',
      engine: 'precise',
      window: 30,
      spatial: { x: 1, y: 2, scale: 0.5, unscaled: false },
      features: 'embedding',
      model: { path: 'm.onnx', input: 'x', size: [224, 224], mean: [0, 0, 0], std: [1, 1, 1], output: 'y', layout: 'nhwc' },
      audio: 'bg',
      render: { crf: 20, preset: 'fast', canvas: 'bg', smooth: true, margin: 4 },
      anchors: [{ fg: 0, bg: 1 }],
    };
    assert.ok(validate(full), JSON.stringify(validate.errors));
  });
});

describe('diagnostics of the text', () => {
  const FILE = '/projects/demo.vidkompy.json';
  const check = (text: string) => textDiagnostics(parseJson(text), FILE);
  const spanText = (text: string, d: { offset: number; length: number }) => text.slice(d.offset, d.offset + d.length);

  it('point schema errors at the key or value they are about', () => {
    const text = '{\n  "bg": "a.mp4",\n  "window": "ten",\n  "spatial": { "x": 3 },\n  "audio": "loud"\n}\n';
    const ds = check(text);
    const by = (re: RegExp) => ds.find((d) => re.test(d.message))!;
    assert.equal(spanText(text, by(/missing "fg"/)), '{', 'a missing key: the object that lacks it');
    assert.equal(by(/missing "fg"/).message, 'the project is missing "fg" (the foreground video, relative to this project file: the better source); add it');
    assert.equal(spanText(text, by(/"window" must be an integer/)), '"ten"');
    assert.equal(spanText(text, by(/gives "x" without "y"/)), '"x"');
    assert.equal(spanText(text, by(/"audio" must be one of/)), '"loud"');
    assert.equal(ds.length, 4, JSON.stringify(ds));
    assert.deepEqual(formatDiagnostics('demo.vidkompy.json', text, [by(/window/)]), ['demo.vidkompy.json:3:13: error: "window" must be an integer']);
  });

  it('report JSON syntax alone, with the exact position', () => {
    const comma = check('{ "bg": "a.mp4", }');
    assert.equal(comma.length, 1, JSON.stringify(comma));
    assert.equal(comma[0].code, 'syntax');
    assert.deepEqual([comma[0].offset, comma[0].length], [15, 1], 'the comma itself');
    assert.match(comma[0].message, /a trailing comma is not allowed; remove the ',' before '}'/);
    const missing = check('{\n  "bg": "a.mp4"\n  "fg": "b.mp4"\n}');
    assert.deepEqual(formatDiagnostics('p.vidkompy.json', '{\n  "bg": "a.mp4"\n  "fg": "b.mp4"\n}', missing), ["p.vidkompy.json:3:3: error: JSON syntax: a ',' is expected here"]);
    const comment = check('{ // note\n "bg": "a", "fg": "b" }');
    assert.match(comment[0].message, /comments are not allowed in JSON/);
    assert.match(check('[1]')[0].message, /a vidkompy project is a JSON object/);
  });

  it('catch combinations that cannot run', () => {
    const text = JSON.stringify({ bg: 'a.mp4', fg: 'b.mp4', output: 'a.mp4', engine: 'mask', features: 'hash', model: { path: 'm.onnx' } });
    const ds = check(text);
    const codes = ds.map((d) => `${d.severity} ${d.code}`).sort();
    assert.deepEqual(codes, ['error FEATURES', 'error OUTPUT', 'warning UNUSED'], JSON.stringify(ds));
    assert.ok(ds.some((d) => /output "a\.mp4" would overwrite bg/.test(d.message)));
    const avi = check(JSON.stringify({ bg: 'a.mp4', fg: 'b.mp4', output: 'c.avi' }));
    assert.match(avi[0].message, /output "c\.avi": vidkompy renders \.mp4, \.m4v, \.mov, \.mkv; change the extension/);
  });

  it('say which engine or descriptor this version lacks', () => {
    assert.deepEqual(unavailable({ engine: 'edit', features: 'embedding' }, ['full', 'mask'], ['pixels']), [
      'engine "edit" is not available in this version; use "full", "mask"',
      'features "embedding" is not available in this version; use "pixels"',
    ]);
    assert.deepEqual(unavailable({ engine: 'full', features: 'pixels' }), []);
  });
});

describe('projects on real media', () => {
  let dir: string;
  let fgFile: string;
  const project = (o: Partial<ProjectFile>) => resolveProject(path.join(dir, 'demo.vidkompy.json'), { bg: 'bg.mpg', fg: 'fg.mp4', ...o });

  before(async () => {
    dir = await tempDir('project');
    const { fg } = await derived(SAMPLE, { crop: { x: 160, y: 100, width: 320, height: 192 }, fps: 30, offset: 1.2, frames: 48 });
    await fs.copyFile(SAMPLE, path.join(dir, 'bg.mpg'));
    fgFile = path.join(dir, 'fg.mp4');
    await fs.copyFile(fg, fgFile);
  });

  it('checks the media: missing files, swapped inputs, anchors past the end', async () => {
    const text = JSON.stringify({ bg: 'fg.mp4', fg: 'bg.mpg', spatial: { unscaled: true }, anchors: [{ fg: 1, bg: 1.5 }, { fg: 2, bg: 1.7 }] });
    const ds = await mediaDiagnostics(parseJson(text), path.join(dir, 'demo.vidkompy.json'));
    const codes = ds.map((d) => `${d.severity} ${d.code}`).sort();
    assert.deepEqual(codes, ['error ANCHORS', 'error FG_LARGER', 'error TOO_LONG'], JSON.stringify(ds, null, 1));
    assert.match(ds.find((d) => d.code === 'TOO_LONG')!.message, /fg runs 7\.60 s \(190 frames at 25 fps\) but bg only 1\.60 s \(48 at 30 fps\).*at most 10% longer than bg; check the bg\/fg order/);
    assert.match(ds.find((d) => d.code === 'FG_LARGER')!.message, /fg \(720x405\) is larger than bg \(320x192\): at scale 1 \("unscaled": true\) it cannot sit inside bg/);
    assert.ok(ds.some((d) => /anchors\[1\]\.bg = 1\.7 s is past bg's end \(1\.60 s\)/.test(d.message)));

    const scaled = await mediaDiagnostics(parseJson(JSON.stringify({ bg: 'fg.mp4', fg: 'bg.mpg' })), path.join(dir, 'demo.vidkompy.json'));
    assert.equal(scaled.find((d) => d.code === 'FG_LARGER')?.severity, 'warning', 'may still be found scaled down');
    const missing = await mediaDiagnostics(parseJson(JSON.stringify({ bg: 'bg.mpg', fg: 'sub/none.mp4' })), path.join(dir, 'demo.vidkompy.json'));
    assert.deepEqual(missing.map((d) => d.code), ['ENOENT']);
    assert.deepEqual(await mediaDiagnostics(parseJson(JSON.stringify({ bg: 'bg.mpg', fg: 'fg.mp4' })), path.join(dir, 'demo.vidkompy.json')), []);
  });

  it('probes once per file version', async () => {
    const a = await cachedProbe(fgFile);
    assert.equal(await cachedProbe(fgFile), a, 'the same answer, not a new probe');
    const later = new Date(Date.now() + 5000);
    await fs.utimes(fgFile, later, later);
    const b = await cachedProbe(fgFile);
    assert.notEqual(b, a, 'a touched file is probed again');
    assert.deepEqual({ ...b }, { ...a });
  });

  it('saves a deterministic, diff-friendly alignment that turns back into the engine alignment', async () => {
    const p = project({ spatial: { x: 160, y: 100, scale: 1 }, render: { preset: 'ultrafast' } });
    const al = await align(p.bg, p.fg, alignOptionsOf(p));
    const pa = toProjectAlignment(al, p, await inputHashes(p));
    const text = serialiseProjectAlignment(pa);
    const validate = validateAlignmentSchema;
    assert.ok(validate(JSON.parse(text)), JSON.stringify(validate.errors));
    assert.equal(serialiseProjectAlignment(JSON.parse(text) as ProjectAlignment), text, 'parse and write back: the same bytes');
    assert.deepEqual(Object.keys(pa), ['version', 'project', 'inputs', 'options', 'spatial', 'temporal', 'trust']);
    assert.equal(pa.inputs.bg.file, 'bg.mpg');
    assert.doesNotMatch(text, /timings|"total"/);
    assert.ok(!text.includes(dir), 'no absolute paths');
    assert.match(text, /"segments": \[\n\s+\{\n\s+"fg": \[0,47\],/);
    assert.equal(pa.temporal.segments.length, 1, 'a steady 25 → 30 fps map is one piece');

    const back = fromProjectAlignment(pa, p.file);
    assert.deepEqual(back.temporal.bgFrameForFg, al.temporal.bgFrameForFg);
    assert.deepEqual(back.temporal.bgTimeForFg, al.temporal.bgTimeForFg);
    assert.deepEqual(back.temporal.confidence, al.temporal.confidence.map((c) => Math.round(c * 100) / 100));
    assert.deepEqual(back.bg, al.bg);
    assert.deepEqual(back.fg, al.fg);
    assert.deepEqual(back.spatial, al.spatial);

    const outcome = await alignProject(p);
    assert.equal(outcome.cached, false);
    assert.equal(await fs.readFile(p.alignmentFile, 'utf8'), text, 'aligning again writes the same bytes');
    const mtime = (await fs.stat(p.alignmentFile)).mtimeMs;
    assert.equal((await alignProject(p)).cached, true);
    assert.equal((await fs.stat(p.alignmentFile)).mtimeMs, mtime, 'a fresh alignment is not rewritten');
  });

  it('refuses to render from a stale alignment, saying what changed and to re-align', async () => {
    const p = project({ spatial: { x: 160, y: 100, scale: 1 } });
    const saved = JSON.parse(await fs.readFile(p.alignmentFile, 'utf8')) as ProjectAlignment;
    assert.deepEqual(await staleReasons(saved, p), []);

    const windowed = project({ spatial: { x: 160, y: 100, scale: 1 }, window: 5 });
    assert.deepEqual(await staleReasons(saved, windowed), ['option "window" changed (unset → 5)']);
    await assert.rejects(renderProject(windowed), (e: VidkompyError) => e.code === 'STALE' && /the saved alignment is stale: option "window" changed.*re-align the project/.test(e.message));

    await fs.appendFile(fgFile, Buffer.from([0]));
    assert.deepEqual(await staleReasons(saved, p), ['fg "fg.mp4" changed since it was aligned (content hash differs)']);
    await assert.rejects(renderProject(p), (e: VidkompyError) => e.code === 'STALE' && e.message.startsWith(p.alignmentFile) && /fg "fg\.mp4" changed/.test(e.message));
    await assert.rejects(renderProject(project({ fg: 'other.mp4' })), /fg is now "other\.mp4" \(was "fg\.mp4"\)/);
    await fs.rm(p.alignmentFile);
    await assert.rejects(renderProject(p), (e: VidkompyError) => e.code === 'STALE' && /no alignment yet .*align the project first/.test(e.message));
  });
});
