import assert from 'node:assert/strict';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import Ajv from 'ajv';
import { decode as decodeJpeg } from 'jpeg-js';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  CancellationTokenSource,
  CodeActionRequest,
  CodeActionResolveRequest,
  CompletionRequest,
  DidChangeConfigurationNotification,
  HoverRequest,
  type CodeAction,
  type CompletionItem,
  type Diagnostic,
  type MarkupContent,
  type TextEdit,
} from 'vscode-languageserver-protocol/node';
import { probe } from '../daemon/media/probe';
import { tools } from '../daemon/media/tools';
import { alignRequest, cancelRequest, frameRequest, probeRequest, renderRequest, resultRequest, statusRequest, type Status } from '../protocol/lsp';
import { BIN, runBin } from './support/cli';
import { ensureBuilt, startClient, type TestClient } from './support/lspClient';
import { derived, SAMPLE, tempDir } from './support/media';
import { failure } from './support/lspClient';

/**
 * The daemon as editors see it: the real server (dist/daemon.js) over stdio, driven by a real LSP
 * client, on a bg from the bundled sample and a fg derived from it (a 352x224 crop at 150,90,
 * 30 fps from 0.8 s, 60 frames).
 */

const CROP = { x: 150, y: 90, width: 352, height: 224 };
const ajv = new Ajv({ allErrors: true, strict: false });
const validateAlignment = ajv.compile(JSON.parse(readFileSync(path.resolve(__dirname, '..', 'schemas', 'project-alignment.schema.json'), 'utf8')));

let dir: string;
let client: TestClient;

/** The LSP position of the `nth` occurrence of `needle` in `text` (and of its end). */
function at(text: string, needle: string, nth = 0): { start: { line: number; character: number }; end: { line: number; character: number } } {
  let offset = -1;
  for (let i = 0; i <= nth; i++) offset = text.indexOf(needle, offset + 1);
  assert.ok(offset >= 0, `${needle} is in the text`);
  const doc = TextDocument.create('file:///x', 'json', 1, text);
  return { start: doc.positionAt(offset), end: doc.positionAt(offset + needle.length) };
}

/** Diagnostic messages may be markup since LSP 3.18; the daemon sends plain strings. */
const text_ = (d: { message: string | MarkupContent }) => (typeof d.message === 'string' ? d.message : d.message.value);

const projectText = (o: Record<string, unknown>) => JSON.stringify(o, null, 2) + '\n';
const uriOf = (f: string) => pathToFileURL(f).href;

async function writeProject(name: string, o: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, projectText(o));
  return file;
}

/** The daemon still answers after whatever came before. */
async function alive(): Promise<Status> {
  const s = await client.conn.sendRequest(statusRequest);
  assert.equal(s.protocol, 1);
  return s;
}

const GOOD = { bg: 'bg.mpg', fg: 'clips/fg.mp4', spatial: { x: 150, y: 90, scale: 1 }, render: { preset: 'veryslow', crf: 30 } };

describe('the vidkompy daemon over stdio', () => {
  before(async () => {
    ensureBuilt();
    dir = await tempDir('daemon');
    const { fg } = await derived(SAMPLE, { crop: CROP, fps: 30, offset: 0.8, frames: 60 });
    await fs.mkdir(path.join(dir, 'clips'));
    await fs.copyFile(SAMPLE, path.join(dir, 'bg.mpg'));
    await fs.copyFile(fg, path.join(dir, 'clips', 'fg.mp4'));
    await fs.writeFile(path.join(dir, 'notes.txt'), 'not a video\n'.repeat(50));
    await fs.writeFile(path.join(dir, 'clips', 'junk.mp4'), 'not a video either\n'.repeat(50));
    client = await startClient({ root: dir });
  });
  after(async () => {
    const code = await client?.close();
    assert.equal(code, 0, `the daemon exits cleanly after shutdown and exit: ${client?.stderr()}`);
  });

  it('reports a broken project at exact ranges, offers to fix the path, and clears once fixed', async () => {
    const file = path.join(dir, 'broken.vidkompy.json');
    const text = [
      '{',
      '  "bg": "bg.mpg",',
      '  "fg": "fg.mp4",',
      '  "engine": "mask",',
      '  "features": "hash",',
      '  "render": { "crf": 99, "preset": "medium" },',
      '  "anchors": [{ "fg": 1, "bg": 2 }, { "fg": 0.5, "bg": 3 }],',
      '  "colour": true',
      '}',
      '',
    ].join('\n');
    const uri = client.open(file, text);
    const pub = await client.diagnostics(uri, (p) => p.version === 1 && p.diagnostics.some((d) => d.code === 'ENOENT'));
    const byCode = (code: string) => pub.diagnostics.filter((d) => d.code === code);
    assert.equal(pub.diagnostics.length, 5, JSON.stringify(pub.diagnostics, null, 1));

    const [missing] = byCode('ENOENT');
    assert.deepEqual(missing.range, { start: { line: 2, character: 8 }, end: { line: 2, character: 16 } }, 'the fg value, quotes included');
    assert.match(text_(missing), /fg "fg\.mp4" not found .*fix the path/);
    assert.equal(missing.severity, 1);

    const [features] = byCode('FEATURES');
    assert.deepEqual(features.range, { start: { line: 4, character: 14 }, end: { line: 4, character: 20 } });
    assert.match(text_(features), /^the mask engine compares pixels/);

    const schema = byCode('schema');
    const crf = schema.find((d) => /render\.crf/.test(text_(d)))!;
    assert.deepEqual(crf.range, { start: { line: 5, character: 21 }, end: { line: 5, character: 23 } });
    assert.match(text_(crf), /"render\.crf" must be ≤ 51/);
    const unknown = schema.find((d) => /colour/.test(text_(d)))!;
    assert.deepEqual(unknown.range, at(text, '"colour"'), 'the unknown key itself');

    const [order] = byCode('ANCHORS');
    assert.deepEqual(order.range, at(text, '{ "fg": 0.5, "bg": 3 }'), 'the anchor that goes back in time');
    assert.match(text_(order), /anchors\[1\].*does not come after anchors\[0\].*in fg time/);

    const actions = (await client.conn.sendRequest(CodeActionRequest.method, {
      textDocument: { uri },
      range: missing.range,
      context: { diagnostics: [missing], only: ['quickfix'] },
    })) as CodeAction[];
    assert.equal(actions.length, 1, JSON.stringify(actions));
    assert.equal(actions[0].title, 'Fix the path: use "clips/fg.mp4"');
    assert.deepEqual(actions[0].edit?.changes?.[uri], [{ range: missing.range, newText: '"clips/fg.mp4"' }]);

    const fixed = text
      .replace('"fg.mp4"', '"clips/fg.mp4"')
      .replace('"hash"', '"pixels"')
      .replace('99', '23')
      .replace('"fg": 0.5', '"fg": 1.5')
      .replace(',\n  "colour": true', '');
    client.change(uri, fixed, 2);
    const clean = await client.diagnostics(uri, (p) => p.version === 2);
    assert.deepEqual(clean.diagnostics, []);
  });

  it('reports JSON syntax errors, non-videos and anchors past the end', async () => {
    const bad = 'notes.vidkompy.json';
    const text = '{\n  "bg": "clips/junk.mp4",\n  "fg": "clips/fg.mp4",\n  "anchors": [{ "fg": 2.5, "bg": 1 }]\n}\n';
    const uri = client.open(path.join(dir, bad), text);
    const pub = await client.diagnostics(uri, (p) => p.diagnostics.length >= 2);
    const notVideo = pub.diagnostics.find((d) => d.code === 'NOT_VIDEO')!;
    assert.ok(notVideo, JSON.stringify(pub.diagnostics));
    assert.deepEqual(notVideo.range, at(text, '"clips/junk.mp4"'));
    assert.match(text_(notVideo), /^bg "clips\/junk\.mp4": not a readable video/);
    const past = pub.diagnostics.find((d) => d.code === 'ANCHORS')!;
    assert.deepEqual(past.range, at(text, '2.5'));
    assert.match(text_(past), /anchors\[0\]\.fg = 2\.5 s is past fg's end \(2\.00 s\)/);

    client.change(uri, '{\n  "bg": "bg.mpg"\n  "fg": "clips/fg.mp4"\n}\n', 2);
    const syntax = await client.diagnostics(uri, (p) => p.version === 2);
    assert.equal(syntax.diagnostics.length, 1);
    assert.deepEqual(syntax.diagnostics[0].range.start, { line: 2, character: 2 }, 'where the comma is missing');
    assert.match(text_(syntax.diagnostics[0]), /a ',' is expected here/);
  });

  it('is the one voice on project files: schema and syntax errors even for a client that says it validates', async () => {
    const own = await startClient({ root: dir, init: { clientValidatesSchema: true } });
    try {
      const text = '{\n  "bg": "bg.mpg",\n  "fg": "clips/nowhere.mp4",\n  "engine": "warp"\n}\n';
      const uri = own.open(path.join(dir, 'own-schema.vidkompy.json'), text);
      const all = await own.diagnostics(uri, (p) => p.diagnostics.some((d) => d.code === 'ENOENT'));
      assert.deepEqual(all.diagnostics.map((d) => d.code).sort(), ['ENOENT', 'schema'], 'the missing file and the bad engine value');
      own.change(uri, '{\n  "bg": "bg.mpg"\n  "fg": "clips/fg.mp4"\n}\n', 2);
      const syntax = await own.diagnostics(uri, (p) => p.version === 2);
      assert.deepEqual(
        syntax.diagnostics.map((d) => d.code),
        ['syntax'],
      );
    } finally {
      await own.close();
    }
  });

  it('hovers field docs and probe summaries', async () => {
    const file = path.join(dir, 'hover.vidkompy.json');
    const text = projectText({ bg: 'bg.mpg', fg: 'clips/fg.mp4', engine: 'full' });
    const uri = client.open(file, text);
    const onKey = await client.conn.sendRequest(HoverRequest.method, { textDocument: { uri }, position: at(text, 'engine').start });
    assert.match((onKey as { contents: MarkupContent }).contents.value, /\*\*engine\*\*: Temporal engine\. `full` compares all of fg's picture/);
    const onBg = (await client.conn.sendRequest(HoverRequest.method, { textDocument: { uri }, position: at(text, 'bg.mpg').start })) as {
      contents: MarkupContent;
      range: unknown;
    };
    assert.match(onBg.contents.value, /720×405, 25 fps, 190 frames, 7\.60 s, mpeg2video, no audio/);
    assert.deepEqual(onBg.range, at(text, '"bg.mpg"'));
    const onFg = (await client.conn.sendRequest(HoverRequest.method, { textDocument: { uri }, position: at(text, 'fg.mp4').start })) as {
      contents: MarkupContent;
    };
    assert.match(onFg.contents.value, /352×224, 30 fps, 60 frames, 2\.00 s, h264/);
  });

  it('completes keys in context, enum values and video paths', async () => {
    const file = path.join(dir, 'complete.vidkompy.json');
    const text = '{\n  "bg": "",\n  "audio": "",\n  "render": {  }\n}\n';
    const uri = client.open(file, text);
    const complete = async (line: number, character: number) =>
      ((await client.conn.sendRequest(CompletionRequest.method, { textDocument: { uri }, position: { line, character } })) as CompletionItem[]).map((i) => i);

    const keys = await complete(3, 14);
    assert.deepEqual(keys.map((i) => i.label).sort(), ['canvas', 'crf', 'margin', 'preset', 'smooth']);
    assert.deepEqual((keys.find((i) => i.label === 'crf')!.textEdit as TextEdit).newText, '"crf": ');

    const audio = await complete(2, 12);
    assert.deepEqual(
      audio.map((i) => i.label),
      ['auto', 'fg', 'bg', 'none'],
    );
    assert.deepEqual((audio[0].textEdit as TextEdit).range, at(text, '""', 1), 'replaces the typed string');

    const videos = await complete(1, 9);
    assert.deepEqual(videos.map((i) => i.label).sort(), ['bg.mpg', 'clips/fg.mp4', 'clips/junk.mp4'], 'video files under the project folder, not notes.txt');
    assert.equal((videos.find((i) => i.label === 'clips/fg.mp4')!.textEdit as TextEdit).newText, '"clips/fg.mp4"');

    const top = await complete(1, 0);
    assert.ok(top.some((i) => i.label === 'anchors') && !top.some((i) => i.label === 'bg'), 'top-level keys not yet present');
  });

  it('aligns with work-done progress and a coarse map first, writes a schema-valid alignment, then reuses it', async () => {
    const file = await writeProject('good.vidkompy.json', GOOD);
    const progress = client.watchProgress('align-1');
    const coarseBefore = client.coarse.length;
    const r = await client.conn.sendRequest(alignRequest, { project: uriOf(file), workDoneToken: 'align-1' });
    assert.equal(r.cached, false);
    assert.deepEqual(r.spatial, { x: 150, y: 90, scale: 1, confidence: 1 });
    assert.equal(r.offsetSeconds, 0.8);
    assert.equal(r.alignment, uriOf(path.join(dir, 'good.vidkompy.align.json')));
    assert.equal(progress[0]?.kind, 'begin');
    assert.ok(
      progress.some((p) => p.kind === 'report' && p.percentage! > 0),
      JSON.stringify(progress),
    );
    assert.equal(progress.at(-1)?.kind, 'end');
    const pct = progress.filter((p) => p.kind === 'report').map((p) => (p as { percentage: number }).percentage);
    assert.deepEqual(
      pct,
      [...pct].sort((a, b) => a - b),
      'progress never runs backwards',
    );

    const text = await fs.readFile(path.join(dir, 'good.vidkompy.align.json'), 'utf8');
    const saved = JSON.parse(text) as { inputs: { fg: { file: string } }; temporal: { frames: number } };
    assert.ok(validateAlignment(saved), JSON.stringify(validateAlignment.errors));
    assert.equal(saved.inputs.fg.file, 'clips/fg.mp4');
    assert.doesNotMatch(text, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no absolute paths');
    assert.doesNotMatch(text, /timings|"time"|date/i);
    assert.equal(saved.temporal.frames, 60);

    // The engine's first whole map came while the job ran, marked provisional, near the result.
    const coarse = client.coarse.slice(coarseBefore);
    assert.equal(coarse.length, 1, 'one coarse map per align');
    const [m] = coarse;
    assert.equal(m.view.project, uriOf(file));
    assert.equal(m.view.provisional, true);
    assert.equal(m.view.bgFrameForFg.length, 60);
    assert.equal(m.view.bg.codec, 'mpeg2video');
    assert.ok(Math.abs(m.view.bgTimeForFg[0] - m.view.fgTimes[0] - r.offsetSeconds) <= 0.1, `coarse offset ${m.view.bgTimeForFg[0]} vs ${r.offsetSeconds}`);
    assert.ok(m.seconds >= 0);
    const before = client.statuses[m.statusesBefore - 1];
    assert.ok(before?.jobs.some((j) => j.project === uriOf(file) && j.kind === 'align' && j.state === 'running'), 'sent while the job was running, before its end');

    const again = await client.conn.sendRequest(alignRequest, { project: uriOf(file) });
    assert.equal(again.cached, true);
    assert.equal(client.coarse.length, coarseBefore + 1, 'a reused alignment sends no coarse map');
    assert.equal(await fs.readFile(path.join(dir, 'good.vidkompy.align.json'), 'utf8'), text, 'untouched when reused');

    const status = await alive();
    assert.ok(status.jobs.some((j) => j.kind === 'align' && j.state === 'done' && j.project === uriOf(file)));
    assert.ok(
      client.statuses.some((s) => s.jobs.some((j) => j.state === 'running')),
      'status notifications while running',
    );
  });

  it('serves the alignment view and preview frames', async () => {
    const project = uriOf(path.join(dir, 'good.vidkompy.json'));
    const view = await client.conn.sendRequest(resultRequest, { project });
    assert.ok(view);
    assert.equal(view.stale, false);
    assert.equal(view.bgFrameForFg.length, 60);
    assert.equal(view.bgFrameForFg[0], 20);
    assert.equal(view.fg.width, 352);
    assert.equal(view.bg.codec, 'mpeg2video');
    const f = await client.conn.sendRequest(frameRequest, { project, fgFrame: 30, width: 360, format: 'jpeg' });
    assert.equal(f.bgFrame, view.bgFrameForFg[30]);
    assert.deepEqual(f.box, { x: 75, y: 45, width: 176, height: 112 }, 'fg placed at half size on a 360 px preview');
    for (const img of [f.fg, f.bg, f.composite]) assert.match(img, /^data:image\/jpeg;base64,\/9j\//);
    const size = (url: string) => {
      const { width, height } = decodeJpeg(Buffer.from(url.split(',')[1], 'base64'));
      return [width, height];
    };
    assert.deepEqual(size(f.bg), [360, 203]);
    assert.deepEqual(size(f.composite), [360, 203]);
    const c = view.fg.contentRect;
    assert.deepEqual(size(f.fg), [360, Math.round((c.height * 360) / c.width)], "fg's content alone, at the preview width");
    const plain = await client.conn.sendRequest(frameRequest, { project, fgFrame: 0, width: 200 });
    assert.match(plain.composite, /^data:image\/jpeg;base64,\/9j\//, 'JPEG when no format is named');
    const png = await failure(client.conn.sendRequest(frameRequest, { project, fgFrame: 0, width: 200, format: 'png' as 'jpeg' }));
    assert.equal(png.data?.code, 'BAD_ARGS');
    assert.match(png.message, /format must be "jpeg"/);
  });

  it('validates during a render, and cancels it mid-way by $/cancelRequest or vidkompy/cancel, leaving no output', async () => {
    const file = path.join(dir, 'good.vidkompy.json');
    const output = path.join(dir, 'good.mp4');
    for (const how of ['token', 'request'] as const) {
      const token = `render-${how}`;
      const progress = client.watchProgress(token);
      const source = new CancellationTokenSource();
      const pending = client.conn.sendRequest(renderRequest, { project: uriOf(file), workDoneToken: token }, source.token);
      let settled = false;
      void pending.then(
        () => (settled = true),
        () => (settled = true),
      );
      await client.until('render progress', () => progress.some((p) => p.kind === 'report'));
      if (how === 'request') {
        // Validation answers while the job runs: it never waits on the queue.
        const uri = client.open(path.join(dir, 'during.vidkompy.json'), projectText({ bg: 'bg.mpg', fg: 'clips/fg.mp4', window: 0 }));
        const during = await client.diagnostics(uri);
        assert.match(text_(during.diagnostics[0]), /"window" must be ≥ 1/);
        assert.equal(settled, false, 'the render was still running');
      }
      if (how === 'token') source.cancel();
      else assert.deepEqual(await client.conn.sendRequest(cancelRequest, { project: uriOf(file) }), { cancelled: 1 });
      const e = await failure(pending);
      assert.equal(e.code, -32800, 'RequestCancelled');
      assert.equal(e.data?.code, 'CANCELLED');
      assert.equal(existsSync(output), false, 'no output');
      assert.deepEqual(
        (await fs.readdir(dir)).filter((f) => f.includes('partial')),
        [],
        'no partial file',
      );
    }
    const s = await alive();
    assert.equal(s.jobs.filter((j) => j.kind === 'render' && j.state === 'cancelled').length, 2);
  });

  it('answers bad requests with errors and keeps serving', async () => {
    const bad = await failure(client.conn.sendRequest(alignRequest, {} as never));
    assert.equal(bad.code, -32602);
    assert.equal(bad.data?.code, 'BAD_ARGS');
    assert.match(text_(bad), /vidkompy\/align: params\.project must be a file URI/);
    await alive();

    const unknown = await failure(client.conn.sendRequest(renderRequest, { project: uriOf(path.join(dir, 'nope.vidkompy.json')) }));
    assert.equal(unknown.data?.code, 'ENOENT');
    assert.match(unknown.message, /nope\.vidkompy\.json: project file not found/);
    await alive();

    const notVideo = await failure(client.conn.sendRequest(probeRequest, { uri: uriOf(path.join(dir, 'clips', 'junk.mp4')) }));
    assert.equal(notVideo.data?.code, 'NOT_VIDEO');
    await alive();

    const mixed = await writeProject('mixed.vidkompy.json', { ...GOOD, engine: 'mask', features: 'embedding' });
    const refused = await failure(client.conn.sendRequest(alignRequest, { project: uriOf(mixed) }));
    assert.equal(refused.data?.code, 'BAD_ARGS');
    assert.match(refused.message, /mixed\.vidkompy\.json: the mask engine compares pixels/);

    const frame = await failure(client.conn.sendRequest(frameRequest, { project: uriOf(path.join(dir, 'good.vidkompy.json')), fgFrame: 1e6, width: 100 }));
    assert.match(text_(frame), /fgFrame must be an integer in 0\.\.59/);

    const nothing = await failure(client.conn.sendRequest(frameRequest, null as never));
    assert.equal(nothing.data?.code, 'BAD_ARGS');

    const info = await client.conn.sendRequest(probeRequest, { uri: uriOf(path.join(dir, 'bg.mpg')) });
    assert.deepEqual([info.width, info.height, info.frameCount, info.codec], [720, 405, 190, 'mpeg2video']);
    assert.equal(client.child.exitCode, null, 'still running');
  });

  it('inserts the detected spatial offset (searched, then sharpened on time-matched frames)', async () => {
    const file = path.join(dir, 'place.vidkompy.json');
    const text = projectText({ bg: 'bg.mpg', fg: 'clips/fg.mp4', spatial: { unscaled: true } });
    const uri = client.open(file, text);
    const actions = (await client.conn.sendRequest(CodeActionRequest.method, {
      textDocument: { uri },
      range: at(text, 'spatial'),
      context: { diagnostics: [] },
    })) as CodeAction[];
    const action = actions.find((a) => a.title === 'Insert the detected spatial offset');
    assert.ok(action && !action.edit, 'offered without running the search');
    const resolved = (await client.conn.sendRequest(CodeActionResolveRequest.method, action)) as CodeAction;
    const edits = resolved.edit?.changes?.[uri] as TextEdit[];
    const after = JSON.parse(TextDocument.applyEdits(TextDocument.create(uri, 'json', 1, text), edits));
    assert.deepEqual(after.spatial, { unscaled: true, x: 150, y: 90, scale: 1 });
    assert.equal(after.fg, 'clips/fg.mp4', 'the rest untouched');
  });

  it('applies settings pushed by the client', async () => {
    await fs.copyFile(path.join(dir, 'clips', 'fg.mp4'), path.join(dir, 'clips', 'fresh.mp4'));
    await client.conn.sendNotification(DidChangeConfigurationNotification.method, {
      settings: { vidkompy: { ffprobePath: path.join(dir, 'no-such-ffprobe') } },
    });
    const uri = client.open(path.join(dir, 'settings.vidkompy.json'), projectText({ bg: 'bg.mpg', fg: 'clips/fresh.mp4' }));
    const broken = await client.diagnostics(uri, (p) => p.diagnostics.length > 0);
    assert.equal(broken.diagnostics[0].code, 'TOOL_MISSING', JSON.stringify(broken.diagnostics));
    assert.match(text_(broken.diagnostics[0]), /no-such-ffprobe/);
    await client.conn.sendNotification(DidChangeConfigurationNotification.method, { settings: { vidkompy: { ffprobePath: tools().ffprobe } } });
    const ok = await client.diagnostics(uri, (p) => p.diagnostics.length === 0);
    assert.deepEqual(ok.diagnostics, [] as Diagnostic[]);
  });
});

describe('the vidkompy command for projects', () => {
  let cdir: string;
  before(async () => {
    ensureBuilt();
    cdir = await tempDir('project-cli');
    const { fg } = await derived(SAMPLE, { crop: CROP, fps: 30, offset: 0.8, frames: 60 });
    await fs.copyFile(SAMPLE, path.join(cdir, 'bg.mpg'));
    await fs.copyFile(fg, path.join(cdir, 'fg.mp4'));
  });

  it('check prints file:line:col diagnostics and exits 1 on errors, 0 when clean', async () => {
    await fs.writeFile(path.join(cdir, 'bad.vidkompy.json'), '{\n  "bg": "bg.mpg",\n  "fg": "missing.mp4",\n  "window": 0\n}\n');
    await fs.writeFile(path.join(cdir, 'ok.vidkompy.json'), projectText({ bg: 'bg.mpg', fg: 'fg.mp4', engine: 'mask' }));
    const bad = await runBin(['check', 'bad.vidkompy.json', 'ok.vidkompy.json'], { cwd: cdir });
    assert.equal(bad.code, 1, bad.err);
    assert.deepEqual(bad.out.trim().split('\n'), [
      `bad.vidkompy.json:3:9: error: fg "missing.mp4" not found (looked for ${path.join(cdir, 'missing.mp4')}); fix the path, relative to this project file`,
      'bad.vidkompy.json:4:13: error: "window" must be ≥ 1',
    ]);
    const none = await runBin(['check', 'none.vidkompy.json'], { cwd: cdir });
    assert.equal(none.code, 1);
    assert.equal(none.out, 'none.vidkompy.json:1:1: error: project file not found; check the path\n');
    const ok = await runBin(['check', 'ok.vidkompy.json'], { cwd: cdir });
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.equal(ok.out, '');
  });

  it('run aligns and renders as the project says, then reuses the alignment', async () => {
    const project = path.join(cdir, 'demo.vidkompy.json');
    await fs.writeFile(
      project,
      projectText({ bg: 'bg.mpg', fg: 'fg.mp4', output: 'out/demo.mp4', spatial: { x: 150, y: 90, scale: 1 }, render: { preset: 'ultrafast', canvas: 'bg' } }),
    );
    const first = await runBin(['run', project], { cwd: cdir });
    assert.equal(first.code, 0, first.err);
    assert.match(
      first.out,
      /^wrote .*out\/demo\.mp4 \(720x406, 60 frames, audio: none\) with a new alignment .*demo\.vidkompy\.align\.json: fg at x=150 y=90 scale=1/,
    );
    const info = await probe(path.join(cdir, 'out', 'demo.mp4'));
    assert.equal(info.frameCount, 60);
    const second = await runBin(['run', project, '--json'], { cwd: cdir });
    assert.equal(second.code, 0, second.err);
    const r = JSON.parse(second.out);
    assert.equal(r.cached, true);
    assert.equal(r.frames, 60);
  });

  it('daemon --stdio starts the same server from the CLI', async () => {
    const c = await startClient({ root: cdir, command: [BIN, 'daemon', '--stdio'] });
    try {
      const s = await c.conn.sendRequest(statusRequest);
      assert.equal(s.protocol, 1);
      assert.match(s.version, /^\d+\.\d+\.\d+$/);
    } finally {
      assert.equal(await c.close(), 0);
    }
    const usage = await runBin(['daemon']);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /speaks LSP over stdio only/);
  });
});
