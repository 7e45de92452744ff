import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Alignment } from '../daemon/engine';
import type { Provider as EmbedProvider } from '../daemon/embed/provider';
import type { ModelSpec as EmbedModelSpec } from '../daemon/embed/model';
import { VERSION } from '../daemon/version';
import { dropTemp, partialPath } from '../daemon/core/atomic';
import {
  ALIGN_SUFFIX,
  ANCHOR_FIELDS,
  AUDIO_CHOICES,
  CANVAS_MODES,
  DEFAULT_AUDIO,
  DEFAULT_CRF,
  DEFAULT_ENGINE,
  DEFAULT_FEATURES,
  DEFAULT_PLACEMENT,
  DEFAULT_PRESET,
  ENGINES,
  FEATURES,
  MODEL_DEFAULTS,
  MODEL_LAYOUTS,
  OUTPUT_EXTENSIONS,
  PRESETS,
  PROJECT_GLOB,
  PROJECT_SUFFIX,
  PARTIAL_MARK,
  PLACEMENT_KINDS,
  PLACEMENTS,
  PROVIDERS,
  SPATIAL_METHODS,
  TRUST_PROBLEMS,
  TRUST_VERDICTS,
  type Features,
  type ModelSpec,
  type Provider,
  type SpatialMethod,
} from '../protocol/project';
import { DEFAULT_SETTINGS, SETTINGS_SECTION } from '../protocol/settings';
import { cli } from './support/cli';

/**
 * The facts of protocol/ (project.ts, settings.ts, errors.ts) are defined once; the JSON schemas
 * and package.json are data that cannot import them, so this suite holds them to the same values.
 * A failure names the file and the field to fix, and the protocol constant it must match.
 */

const ROOT = path.resolve(__dirname, '..');
// Parsed JSON, walked by key: any keeps the field lookups readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const readJson = (file: string): Json => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8'));
const PKG = readJson('package.json');

/** The node at a JSON pointer (`/properties/engine`), or a failure naming the file and pointer. */
function at(file: string, doc: Json, pointer: string): Json {
  let node: Json = doc;
  for (const key of pointer.split('/').slice(1)) node = node?.[key];
  assert.ok(node !== undefined, `${file}: ${pointer} is missing`);
  return node;
}

/** Every `enum` in a schema, by pointer (examples skipped: they illustrate, they do not constrain). */
function enumsOf(node: unknown, pointer = ''): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  if (!node || typeof node !== 'object') return out;
  const o: Json = node;
  if (Array.isArray(o.enum)) out.set(pointer, o.enum);
  for (const [k, v] of Object.entries(o)) if (k !== 'examples') for (const [p, e] of enumsOf(v, `${pointer}/${k}`)) out.set(p, e);
  return out;
}

/** `"Default: `x`."` in a field's description must name the protocol default. */
function assertDefault(file: string, doc: Json, pointer: string, shown: string, source: string): void {
  const d = String(at(file, doc, pointer).description ?? '');
  assert.ok(d.includes(shown), `${file} ${pointer}/description: should state the default ${shown} (${source}); it says: ${d}`);
}

const PROJECT_SCHEMA = 'schemas/project.schema.json';
const ALIGNMENT_SCHEMA = 'schemas/alignment.schema.json';
const PROJECT_ALIGNMENT_SCHEMA = 'schemas/project-alignment.schema.json';
const P = 'protocol/project.ts';

/** Every enum each schema may have, and the protocol list it must equal. */
const SCHEMA_ENUMS: Record<string, Record<string, [readonly unknown[], string]>> = {
  [PROJECT_SCHEMA]: {
    '/properties/engine': [ENGINES, 'ENGINES'],
    '/properties/features': [FEATURES, 'FEATURES'],
    '/properties/model/properties/layout': [MODEL_LAYOUTS, 'MODEL_LAYOUTS'],
    '/properties/audio': [AUDIO_CHOICES, 'AUDIO_CHOICES'],
    '/properties/render/properties/preset': [PRESETS, 'PRESETS'],
    '/properties/render/properties/canvas': [CANVAS_MODES, 'CANVAS_MODES'],
    '/properties/placement': [PLACEMENTS, 'PLACEMENTS'],
  },
  [ALIGNMENT_SCHEMA]: {
    '/properties/trust/properties/verdict': [TRUST_VERDICTS, 'TRUST_VERDICTS'],
    '/properties/trust/properties/problem': [TRUST_PROBLEMS, 'TRUST_PROBLEMS'],
    '/properties/spatial/properties/method': [SPATIAL_METHODS, 'SPATIAL_METHODS'],
    '/properties/spatial/properties/placement': [PLACEMENT_KINDS, 'PLACEMENT_KINDS'],
    '/properties/temporal/properties/engine': [ENGINES, 'ENGINES'],
    '/properties/temporal/properties/features': [FEATURES, 'FEATURES'],
    '/properties/temporal/properties/provider': [PROVIDERS, 'PROVIDERS'],
  },
  [PROJECT_ALIGNMENT_SCHEMA]: {
    '/properties/trust/properties/verdict': [TRUST_VERDICTS, 'TRUST_VERDICTS'],
    '/properties/trust/properties/problem': [TRUST_PROBLEMS, 'TRUST_PROBLEMS'],
    '/properties/options/properties/engine': [ENGINES, 'ENGINES'],
    '/properties/options/properties/features': [FEATURES, 'FEATURES'],
    '/properties/options/properties/model/properties/layout': [MODEL_LAYOUTS, 'MODEL_LAYOUTS'],
    '/properties/options/properties/placement': [PLACEMENTS, 'PLACEMENTS'],
    '/properties/spatial/properties/method': [SPATIAL_METHODS, 'SPATIAL_METHODS'],
    '/properties/spatial/properties/placement': [PLACEMENT_KINDS, 'PLACEMENT_KINDS'],
    '/properties/temporal/properties/engine': [ENGINES, 'ENGINES'],
    '/properties/temporal/properties/features': [FEATURES, 'FEATURES'],
  },
};

describe('the JSON schemas agree with protocol/project.ts', () => {
  for (const [file, expected] of Object.entries(SCHEMA_ENUMS)) {
    it(`${file}: every enum is a protocol list, in its order`, () => {
      const found = enumsOf(readJson(file));
      for (const [pointer, [list, name]] of Object.entries(expected)) {
        const e = found.get(pointer);
        assert.ok(e, `${file}: ${pointer} should have "enum": ${JSON.stringify(list)} (${P} ${name}); it has none`);
        assert.deepEqual(e, [...list], `${file} ${pointer}/enum: ${JSON.stringify(e)} differs from ${P} ${name}; set it to ${JSON.stringify(list)}`);
      }
      for (const pointer of found.keys()) {
        const why = 'a list that is not in protocol/; define it there and add it to SCHEMA_ENUMS in test/facts.test.ts';
        assert.ok(pointer in expected, `${file} ${pointer}/enum: ${why}`);
      }
    });
  }

  it(`${PROJECT_SCHEMA}: the defaults the descriptions state`, () => {
    const s = readJson(PROJECT_SCHEMA);
    const m = '/properties/model/properties';
    assertDefault(PROJECT_SCHEMA, s, '/properties/engine', `else \`${DEFAULT_ENGINE}\``, `${P} DEFAULT_ENGINE`);
    assertDefault(PROJECT_SCHEMA, s, '/properties/engine', `\`${SETTINGS_SECTION}.defaultEngine\``, 'protocol/settings.ts');
    assertDefault(PROJECT_SCHEMA, s, '/properties/features', `Default: \`${DEFAULT_FEATURES}\``, `${P} DEFAULT_FEATURES`);
    assertDefault(PROJECT_SCHEMA, s, '/properties/audio', `Default: \`${DEFAULT_AUDIO}\``, `${P} DEFAULT_AUDIO`);
    assertDefault(PROJECT_SCHEMA, s, '/properties/placement', `Default: \`${DEFAULT_PLACEMENT}\``, `${P} DEFAULT_PLACEMENT`);
    assertDefault(PROJECT_SCHEMA, s, '/properties/render/properties/crf', `Default: ${DEFAULT_CRF}.`, `${P} DEFAULT_CRF`);
    assertDefault(PROJECT_SCHEMA, s, '/properties/render/properties/preset', `Default: \`${DEFAULT_PRESET}\``, `${P} DEFAULT_PRESET`);
    assertDefault(PROJECT_SCHEMA, s, `${m}/input`, `Default: \`${MODEL_DEFAULTS.input}\``, `${P} MODEL_DEFAULTS.input`);
    assertDefault(PROJECT_SCHEMA, s, `${m}/output`, `Default: \`${MODEL_DEFAULTS.output}\``, `${P} MODEL_DEFAULTS.output`);
    assertDefault(PROJECT_SCHEMA, s, `${m}/layout`, `Default: \`${MODEL_DEFAULTS.layout}\``, `${P} MODEL_DEFAULTS.layout`);
    assertDefault(PROJECT_SCHEMA, s, `${m}/size`, `Default: [${MODEL_DEFAULTS.size.join(', ')}]`, `${P} MODEL_DEFAULTS.size`);
    assertDefault(PROJECT_SCHEMA, s, `${m}/mean`, `[${MODEL_DEFAULTS.mean.join(', ')}]`, `${P} MODEL_DEFAULTS.mean`);
    assertDefault(PROJECT_SCHEMA, s, `${m}/std`, `[${MODEL_DEFAULTS.std.join(', ')}]`, `${P} MODEL_DEFAULTS.std`);
  });

  it(`${PROJECT_SCHEMA}: output extensions and file names`, () => {
    const s = readJson(PROJECT_SCHEMA);
    const output = String(at(PROJECT_SCHEMA, s, '/properties/output').description);
    const field = `${PROJECT_SCHEMA} /properties/output/description`;
    for (const ext of OUTPUT_EXTENSIONS) assert.ok(output.includes(ext), `${field}: should list ${ext} (${P} OUTPUT_EXTENSIONS)`);
    const listed = output.match(/\.[a-z0-9]+(?=[,) ])/g) ?? [];
    for (const ext of listed) assert.ok((OUTPUT_EXTENSIONS as readonly string[]).includes(ext), `${field}: lists ${ext}, not in ${P} OUTPUT_EXTENSIONS`);
    const d = String(s.description);
    const names = [`NAME${PROJECT_SUFFIX}`, `NAME${ALIGN_SUFFIX}`];
    assert.ok(names.every((n) => d.includes(n)), `${PROJECT_SCHEMA} /description: should name ${names.join(' and ')} (${P} PROJECT_SUFFIX, ALIGN_SUFFIX)`);
  });

  it('the model fields are ModelSpec, in both project schemas', () => {
    const keys = Object.keys(MODEL_DEFAULTS).sort();
    const project = Object.keys(at(PROJECT_SCHEMA, readJson(PROJECT_SCHEMA), '/properties/model/properties')).sort();
    assert.deepEqual(project, ['path', ...keys].sort(), `${PROJECT_SCHEMA} /properties/model/properties: keys should be path and ${P} MODEL_DEFAULTS's`);
    const pointer = '/properties/options/properties/model';
    const options = at(PROJECT_ALIGNMENT_SCHEMA, readJson(PROJECT_ALIGNMENT_SCHEMA), pointer);
    const want = ['file', ...keys].sort();
    const field = `${PROJECT_ALIGNMENT_SCHEMA} ${pointer}`;
    assert.deepEqual(Object.keys(options.properties).sort(), want, `${field}/properties: keys should be file and ${P} MODEL_DEFAULTS's`);
    assert.deepEqual([...options.required].sort(), want, `${field}/required: should be file and ${P} MODEL_DEFAULTS's keys`);
  });
});

describe('anchors agree with protocol/', () => {
  it('the anchor fields are Anchor\'s, in both project schemas', () => {
    const project = at(PROJECT_SCHEMA, readJson(PROJECT_SCHEMA), '/properties/anchors/items');
    assert.deepEqual(Object.keys(project.properties), [...ANCHOR_FIELDS], `${PROJECT_SCHEMA} /properties/anchors/items/properties: keys should be ${P} ANCHOR_FIELDS`);
    assert.deepEqual(project.required, ['fg'], `${PROJECT_SCHEMA} /properties/anchors/items/required: only fg (an anchor is a sync point, a pin, or both)`);
    const pointer = '/properties/options/properties/anchors/items';
    const saved = at(PROJECT_ALIGNMENT_SCHEMA, readJson(PROJECT_ALIGNMENT_SCHEMA), pointer);
    assert.deepEqual(Object.keys(saved.properties), [...ANCHOR_FIELDS], `${PROJECT_ALIGNMENT_SCHEMA} ${pointer}/properties: keys should be ${P} ANCHOR_FIELDS`);
  });
});

describe('package.json agrees with protocol/', () => {
  const props = at('package.json', PKG, '/contributes/configuration/properties');
  const CONFIG = 'package.json contributes.configuration.properties';
  const S = 'protocol/settings.ts';

  it('contributes the settings of protocol/settings.ts, with their defaults', () => {
    const want = Object.keys(DEFAULT_SETTINGS).map((k) => `${SETTINGS_SECTION}.${k}`);
    assert.deepEqual(Object.keys(props), want, `${CONFIG}: keys should be ${want.join(', ')} (${S} DEFAULT_SETTINGS)`);
    for (const [k, v] of Object.entries(DEFAULT_SETTINGS)) {
      const p = props[`${SETTINGS_SECTION}.${k}`];
      const field = `${CONFIG}["${SETTINGS_SECTION}.${k}"]`;
      assert.deepEqual(p.default, v, `${field}.default: ${JSON.stringify(p.default)}, but ${S} DEFAULT_SETTINGS.${k} is ${JSON.stringify(v)}`);
      const type = typeof v === 'number' ? (Number.isInteger(v) ? ['integer', 'number'] : ['number']) : [typeof v];
      assert.ok(type.includes(p.type), `${field}.type: "${p.type}", but ${S} Settings.${k} is a ${typeof v}`);
    }
    const title = at('package.json', PKG, '/contributes/configuration/title');
    assert.equal(title, SETTINGS_SECTION, `package.json contributes.configuration.title: should be "${SETTINGS_SECTION}" (${S} SETTINGS_SECTION)`);
  });

  it('vidkompy.defaultEngine offers ENGINES, each described', () => {
    const key = `${SETTINGS_SECTION}.defaultEngine`;
    const p = props[key];
    const field = `${CONFIG}["${key}"]`;
    assert.deepEqual(p.enum, [...ENGINES], `${field}.enum: ${JSON.stringify(p.enum)} differs from ${P} ENGINES; set it to ${JSON.stringify(ENGINES)}`);
    assert.equal(p.enumDescriptions?.length, ENGINES.length, `${field}.enumDescriptions: one per engine of ${P} ENGINES (${ENGINES.length})`);
  });

  it('restricts only settings that exist', () => {
    const restricted: string[] = at('package.json', PKG, '/capabilities/untrustedWorkspaces/restrictedConfigurations');
    const field = 'package.json capabilities.untrustedWorkspaces.restrictedConfigurations';
    for (const r of restricted) assert.ok(r in props, `${field}: "${r}" is not a contributed setting (${S})`);
  });

  it('validates, activates on and offers commands for the file names of protocol/project.ts', () => {
    const validation: { fileMatch: string; url: string }[] = at('package.json', PKG, '/contributes/jsonValidation');
    // Project files have one voice, the daemon's (diagnostics, hover, completion); VS Code's JSON
    // service validating them too would repeat every message. Alignment files have no daemon voice.
    const want = [{ fileMatch: `*${ALIGN_SUFFIX}`, url: `./${PROJECT_ALIGNMENT_SCHEMA}` }];
    assert.deepEqual(validation, want, `package.json contributes.jsonValidation: should be ${JSON.stringify(want)} (${P} PROJECT_SUFFIX, ALIGN_SUFFIX)`);
    const activation: string[] = PKG.activationEvents;
    const activate = [`workspaceContains:${PROJECT_GLOB}`];
    assert.deepEqual(activation, activate, `package.json activationEvents: should be ${JSON.stringify(activate)} (${P} PROJECT_GLOB)`);
    // Menu `when` clauses match file names by regular expression: each must accept exactly project files.
    const menus = at('package.json', PKG, '/contributes/menus') as Record<string, { command: string; when?: string }[]>;
    let seen = 0;
    for (const [where, items] of Object.entries(menus)) {
      for (const item of items) {
        const re = item.when?.match(/resourceFilename =~ \/(.*?)\/(?:\s|$)/)?.[1];
        if (re === undefined) continue;
        seen++;
        const match = (name: string) => new RegExp(re).test(name);
        const field = `package.json contributes.menus["${where}"] ${item.command} when: /${re}/`;
        assert.ok(match(`demo${PROJECT_SUFFIX}`), `${field} should match demo${PROJECT_SUFFIX} (${P} PROJECT_SUFFIX)`);
        const others = [`demo${ALIGN_SUFFIX}`, `demo${PROJECT_SUFFIX}.bak`, 'demo.json'];
        for (const o of others) assert.ok(!match(o), `${field} matches ${o}: it should match only names ending in ${PROJECT_SUFFIX} (${P} PROJECT_SUFFIX)`);
      }
    }
    assert.ok(seen > 0, 'package.json contributes.menus: no when clause matches project files any more; update this test');
  });

  it('keeps the temp files of protocol/project.ts out of the Explorer', () => {
    const exclude = at('package.json', PKG, '/contributes/configurationDefaults/files.exclude');
    const glob = `**/.*${PARTIAL_MARK}*`;
    assert.deepEqual(exclude, { [glob]: true }, `package.json contributes.configurationDefaults["files.exclude"]: should be {"${glob}": true} (${P} PARTIAL_MARK)`);
    // The glob as VS Code reads it (a segment starting with a dot, holding the mark), on a real temp name.
    const full = partialPath(path.join(ROOT, 'out.mp4'));
    dropTemp(full);
    const temp = path.basename(full);
    assert.match(temp, new RegExp(`^\\.[^/]*${PARTIAL_MARK.replace(/[.-]/g, '\\$&')}[^/]*$`), `${temp} matches ${glob}`);
  });

  it('states the version the CLI and the daemon report', async () => {
    assert.match(PKG.version, /^\d+\.\d+\.\d+/);
    assert.equal(VERSION, PKG.version, `daemon/version.ts: ${VERSION}, but package.json says ${PKG.version}`);
    assert.equal((await cli('--version')).out.trim(), PKG.version, 'vidkompy --version should print package.json version');
  });
});

/** true when A and B are the same type. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

describe('the copies protocol/ cannot reach yet agree with it', () => {
  it('the engine, compose, embed and result types equal protocol/project.ts (checked by npm run typecheck)', () => {
    // These modules keep their own spelling of the facts for now; typecheck fails here when one drifts.
    const same: [
      Same<EmbedModelSpec, ModelSpec>,
      Same<EmbedProvider, Provider>,
      Same<NonNullable<Alignment['temporal']['provider']>, Provider>,
      Same<NonNullable<Alignment['temporal']['features']>, Features>,
      Same<Alignment['spatial']['method'], SpatialMethod>,
    ] = [true, true, true, true, true];
    assert.ok(same.every(Boolean));
  });

  it('vidkompy --help names every engine, descriptor, audio choice and model layout', async () => {
    const help = (await cli('--help')).out;
    for (const [name, list] of [['ENGINES', ENGINES], ['FEATURES', FEATURES], ['AUDIO_CHOICES', AUDIO_CHOICES], ['MODEL_LAYOUTS', MODEL_LAYOUTS]] as const) {
      for (const v of list) assert.match(help, new RegExp(`\\b${v}\\b`), `daemon/cli/main.ts HELP: should mention ${v} (${P} ${name})`);
    }
  });
});
