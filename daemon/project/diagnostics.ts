import path from 'node:path';
import type { ErrorObject } from 'ajv';
import type { Node } from './jsonc';
import { containerSpan, keySpanOf, nodeAt, pathLabel, pointerToPath, spanOf, stringAt, syntaxMessage, type ParsedJson, type Span } from './jsonTree';
import { disagreeing, PIN_AGREE, pinDistance } from '../engine/spatial/pins';
import { OUTPUT_EXTENSIONS, unavailable } from './project';
import { schemaAt, validateProject } from './schema';

/**
 * What is wrong with a project file, each finding pinned to the bytes it is about. The editor and
 * `vidkompy check` show the same list; only the rendering differs.
 */
export type Severity = 'error' | 'warning' | 'information';

export interface ProjectDiagnostic extends Span {
  severity: Severity;
  message: string;
  /** 'syntax', 'schema', a VidkompyError code (ENOENT, NOT_VIDEO, …) or a check's name. */
  code: string;
}

export const diag = (span: Span, severity: Severity, code: string, message: string): ProjectDiagnostic => ({ ...span, severity, code, message });

/** An error's message without its leading `FILE: `, for a line that already says which file. */
export const withoutFile = (message: string, file: string): string => (message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message);

/** A comma right before a closing bracket: where it is, when `offset` (an error) sits on that bracket. */
function trailingComma(text: string, offset: number): number | undefined {
  if (text[offset] !== '}' && text[offset] !== ']') return undefined;
  let i = offset - 1;
  while (i >= 0 && /\s/.test(text[i])) i--;
  return text[i] === ',' ? i : undefined;
}

export function syntaxDiagnostics(parsed: ParsedJson): ProjectDiagnostic[] {
  // Past the analysis bounds (see jsonTree.ts) there is no tree, only the reason.
  if (parsed.limit) return [diag(parsed.limit, 'error', 'LIMIT', parsed.limit.message)];
  const out: ProjectDiagnostic[] = [];
  // Offsets already reported, as a set: a broken file can have an error every few characters.
  const seen = new Set<number>();
  const add = (d: ProjectDiagnostic) => {
    seen.add(d.offset);
    out.push(d);
  };
  for (const e of parsed.errors) {
    // The parser reports one mistake several times at the same spot (no key, then no value).
    if (seen.has(e.offset)) continue;
    const comma = trailingComma(parsed.text, e.offset);
    if (comma !== undefined) {
      if (!seen.has(comma)) add(diag({ offset: comma, length: 1 }, 'error', 'syntax', `JSON syntax: a trailing comma is not allowed; remove the ',' before '${parsed.text[e.offset]}'`));
      continue;
    }
    add(diag({ offset: e.offset, length: Math.max(1, e.length) }, 'error', 'syntax', syntaxMessage(e)));
  }
  if (!out.length && parsed.root?.type !== 'object') {
    out.push(diag(parsed.root ? spanOf(parsed.root) : { offset: 0, length: 0 }, 'error', 'schema', 'a vidkompy project is a JSON object: { "bg": "BG.mp4", "fg": "FG.mp4" }'));
  }
  return out;
}

const firstSentence = (s = '') => s.split(/(?<=\.)\s/)[0].replace(/\.$/, '');

function describeType(t: string): string {
  return t === 'integer' ? 'an integer' : t === 'object' ? 'an object' : t === 'array' ? 'an array' : `a ${t}`;
}

function schemaMessage(e: ErrorObject, path: string[]): string {
  const label = pathLabel(path);
  const where = label ? `"${label}"` : 'the project';
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const prop = String(p.missingProperty);
      return `${where} is missing "${prop}" (${firstSentence(schemaAt([...path, prop])?.description).toLowerCase()}); add it`;
    }
    case 'additionalProperties': {
      const known = Object.keys(schemaAt(path)?.properties ?? {}).filter((k) => k !== '$schema');
      return `unknown property "${String(p.additionalProperty)}" in ${where}; remove it or use one of: ${known.join(', ')}`;
    }
    case 'type':
      return `${where} must be ${describeType(String(p.type))}`;
    case 'enum':
      return `${where} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${where} must be ${String(p.comparison).replace('>=', '≥').replace('<=', '≤')} ${String(p.limit)}`;
    case 'minLength':
      return `${where} must not be empty`;
    case 'minItems':
    case 'maxItems': {
      const s = schemaAt(path) as { minItems?: number; maxItems?: number } | undefined;
      const n = s?.minItems === s?.maxItems ? `exactly ${s?.minItems}` : e.keyword === 'minItems' ? `at least ${String(p.limit)}` : `at most ${String(p.limit)}`;
      return `${where} must have ${n} items`;
    }
    case 'dependencies':
      if (path[0] === 'anchors') return `${where} gives "${String(p.property)}" without "${String(p.missingProperty)}": a placement pin gives x and y (scale optional); add "${String(p.missingProperty)}"`;
      return `${where} gives "${String(p.property)}" without "${String(p.missingProperty)}"; give both, or neither`;
    case 'minProperties':
      // Only anchors set it: an fg time alone pins nothing.
      return `${where} gives only its fg time; add "bg" (a sync point) or "x" and "y" (a placement pin)`;
    default:
      return `${where} ${e.message ?? 'is invalid'}`;
  }
}

/** The bytes an Ajv error is about: the offending key where there is one, else the value. */
function schemaSpan(parsed: ParsedJson, e: ErrorObject, path: string[]): Span {
  const node = nodeAt(parsed.root, path) ?? parsed.root;
  if (!node) return { offset: 0, length: 0 };
  const p = e.params as Record<string, unknown>;
  const keyOf = (name: unknown) => {
    const prop = node.type === 'object' ? node.children?.find((c) => c.children?.[0]?.value === name) : undefined;
    return prop?.children?.[0] ? spanOf(prop.children[0]) : undefined;
  };
  if (e.keyword === 'additionalProperties') return keyOf(p.additionalProperty) ?? containerSpan(node);
  if (e.keyword === 'dependencies') return keyOf(p.property) ?? containerSpan(node);
  if (e.keyword === 'required') return containerSpan(node);
  return node.type === 'object' || node.type === 'array' ? (keySpanOf(node) ?? spanOf(node)) : spanOf(node);
}

export function schemaDiagnostics(parsed: ParsedJson): ProjectDiagnostic[] {
  if (parsed.root?.type !== 'object') return [];
  return validateProject(parsed.value).map((e) => {
    const path = pointerToPath(e.instancePath);
    return diag(schemaSpan(parsed, e, path), 'error', 'schema', schemaMessage(e, path));
  });
}

/** Checks that need no file: what this version can run, and what cannot make sense. */
export function projectChecks(parsed: ParsedJson, projectFile: string): ProjectDiagnostic[] {
  const out: ProjectDiagnostic[] = [];
  const root = parsed.root;
  const engine = stringAt(root, ['engine']);
  const features = stringAt(root, ['features']);
  // Values the schema already refuses get its error alone; this is for values it names but this
  // build cannot run.
  const known = (key: string, v: string) => ((schemaAt([key]) as { enum?: unknown[] } | undefined)?.enum ?? []).includes(v);
  if (engine && known('engine', engine.value)) for (const m of unavailable({ engine: engine.value, features: 'pixels' })) out.push(diag(spanOf(engine.node), 'error', 'UNAVAILABLE', m));
  if (features && known('features', features.value)) for (const m of unavailable({ engine: 'full', features: features.value })) out.push(diag(spanOf(features.node), 'error', 'UNAVAILABLE', m));
  if (features && features.value !== 'pixels' && engine?.value === 'mask') {
    out.push(diag(spanOf(features.node), 'error', 'FEATURES', `the mask engine compares pixels (it masks out the static ones); use "features": "pixels", or another engine with "${features.value}"`));
  }
  if (features && features.value !== 'hash' && engine?.value === 'fast') {
    out.push(diag(spanOf(features.node), 'warning', 'FEATURES', `the fast engine always compares perceptual hashes: "features": "${features.value}" is ignored; remove it, or choose another engine`));
  }
  const model = nodeAt(root, ['model']);
  if (model && features?.value !== 'embedding') {
    out.push(diag(containerSpan(model), 'warning', 'UNUSED', '"model" is only used with "features": "embedding"; remove it or set features'));
  }
  const output = stringAt(root, ['output']);
  if (output) {
    const dir = path.dirname(path.resolve(projectFile));
    const ext = path.extname(output.value).toLowerCase();
    if (!OUTPUT_EXTENSIONS.includes(ext)) {
      out.push(diag(spanOf(output.node), 'error', 'OUTPUT', `output "${output.value}": vidkompy renders ${OUTPUT_EXTENSIONS.join(', ')}; change the extension`));
    }
    for (const side of ['bg', 'fg'] as const) {
      const input = stringAt(root, [side]);
      if (input && path.resolve(dir, input.value) === path.resolve(dir, output.value)) {
        out.push(diag(spanOf(output.node), 'error', 'OUTPUT', `output "${output.value}" would overwrite ${side}; choose another output`));
      }
    }
  }
  out.push(...anchorOrder(root), ...pinChecks(root));
  return out;
}

interface AnchorNode {
  index: number;
  fg: number;
  bg: number;
  node: Node;
}

/** The anchors whose fg and bg are both numbers, with their nodes. */
export function anchorNodes(root: Node | undefined): AnchorNode[] {
  const arr = nodeAt(root, ['anchors']);
  if (arr?.type !== 'array') return [];
  return (arr.children ?? []).flatMap((node, index) => {
    const fg = nodeAt(node, ['fg'])?.value;
    const bg = nodeAt(node, ['bg'])?.value;
    return typeof fg === 'number' && typeof bg === 'number' ? [{ index, fg, bg, node }] : [];
  });
}

/** The map is monotonic: anchors must go forward in both videos, in the order written. */
function anchorOrder(root: Node | undefined): ProjectDiagnostic[] {
  const out: ProjectDiagnostic[] = [];
  const anchors = anchorNodes(root);
  for (let i = 1; i < anchors.length; i++) {
    const a = anchors[i - 1];
    const b = anchors[i];
    if (b.fg > a.fg && b.bg > a.bg) continue;
    const which = b.fg <= a.fg ? 'fg' : 'bg';
    out.push(
      diag(
        spanOf(b.node),
        'error',
        'ANCHORS',
        `anchors[${b.index}] (fg ${b.fg} s, bg ${b.bg} s) does not come after anchors[${a.index}] (fg ${a.fg} s, bg ${a.bg} s) in ${which} time; the frame map only runs forward: order anchors by time, increasing in both videos`,
      ),
    );
  }
  return out;
}

export interface PinNode {
  index: number;
  fg: number;
  x: number;
  y: number;
  scale?: number;
  node: Node;
}

/** The anchors that pin the placement (fg, x and y numbers; scale when it is one), with their nodes. */
export function pinNodes(root: Node | undefined): PinNode[] {
  const arr = nodeAt(root, ['anchors']);
  if (arr?.type !== 'array') return [];
  return (arr.children ?? []).flatMap((node, index) => {
    const [fg, x, y, scale] = ['fg', 'x', 'y', 'scale'].map((k) => nodeAt(node, [k])?.value);
    if (typeof fg !== 'number' || typeof x !== 'number' || typeof y !== 'number') return [];
    return [{ index, fg, x, y, ...(typeof scale === 'number' ? { scale } : {}), node }];
  });
}

const pinText = (p: PinNode) => `anchors[${p.index}] (fg ${p.fg} s at x ${p.x}, y ${p.y}${p.scale !== undefined ? `, scale ${p.scale}` : ''})`;

/**
 * Pins that cannot all hold: two places at one fg time; different places under `"placement":
 * "fixed"`; pins next to a spatial override, which fixes the placement and leaves them unused.
 */
function pinChecks(root: Node | undefined): ProjectDiagnostic[] {
  const out: ProjectDiagnostic[] = [];
  const pins = pinNodes(root);
  if (!pins.length) return out;
  const spatial = nodeAt(root, ['spatial']);
  if (nodeAt(spatial, ['x']) || nodeAt(spatial, ['y'])) {
    for (const p of pins) {
      out.push(diag(spanOf(p.node), 'warning', 'ANCHORS', `${pinText(p)} is ignored: "spatial" x, y fix the placement; remove the pin's x, y or "spatial"'s x, y`));
    }
    return out;
  }
  for (let i = 1; i < pins.length; i++) {
    const a = pins.slice(0, i).find((q) => q.fg === pins[i].fg && pinDistance(q, pins[i]) > PIN_AGREE);
    if (a) out.push(diag(spanOf(pins[i].node), 'error', 'ANCHORS', `${pinText(pins[i])} and ${pinText(a)} pin fg to two places at one time; remove one`));
  }
  const mode = nodeAt(root, ['placement'])?.value;
  const apart = disagreeing(pins);
  if (mode === 'fixed' && apart && !out.length) {
    const [a, b] = apart;
    out.push(
      diag(
        spanOf(b.node),
        'error',
        'ANCHORS',
        `${pinText(b)} disagrees with ${pinText(a)} by more than ${PIN_AGREE} px, but "placement" is "fixed" (one place); set "placement": "auto" to track the moving window through the pins, or fix the pins`,
      ),
    );
  }
  return out;
}
