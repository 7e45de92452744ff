import path from 'node:path';
import { findNodeAtOffset, getNodePath, type JSONPath, type Node } from '../project/jsonc';
import type { Hover } from 'vscode-languageserver/node';
import { VidkompyError } from '../core/errors';
import type { ProbeInfo } from '../media/probe';
import { cachedProbe } from '../project/filecache';
import { pathLabel, spanOf, type ParsedJson, type Span } from '../project/jsonTree';
import { schemaAt } from '../project/schema';

/** What the cursor is on: a key or a value, at which path. */
export interface Spot {
  path: JSONPath;
  node: Node;
  isKey: boolean;
}

export function spotAt(parsed: ParsedJson, offset: number): Spot | undefined {
  const node = parsed.root && findNodeAtOffset(parsed.root, offset, true);
  if (!node) return undefined;
  const prop = node.parent?.type === 'property' ? node.parent : undefined;
  if (prop && prop.children?.[0] === node) {
    return { path: [...getNodePath(prop.parent!), node.value as string], node, isKey: true };
  }
  return { path: getNodePath(node), node, isKey: false };
}

/** The field's documentation from the schema: description, allowed values, examples. */
export function fieldDoc(path: JSONPath): string | undefined {
  const s = schemaAt(path);
  if (!s?.description) return undefined;
  const lines = [`**${pathLabel(path)}**: ${s.description}`];
  if (s.enum) lines.push(`Allowed: ${s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(', ')}`);
  if (s.examples?.length && s.type !== 'object' && s.type !== 'array') lines.push(`Examples: ${s.examples.map((v) => `\`${JSON.stringify(v)}\``).join(', ')}`);
  return lines.join('\n\n');
}

/** One line a person reads at a glance: size, rate, length, codec, sound. */
export function probeSummary(p: ProbeInfo): string {
  const audio = p.audio ? `${p.audio.codec} ${p.audio.channels} ch ${p.audio.sampleRate} Hz` : 'no audio';
  const rate = `${Math.round(p.fps * 1000) / 1000} fps${p.vfr ? ' (variable)' : ''}`;
  const rot = p.rotation ? `, rotated ${p.rotation}°` : '';
  return `${p.width}×${p.height}, ${rate}, ${p.frameCount} frames, ${p.duration.toFixed(2)} s, ${p.codec}${rot}, ${audio}`;
}

const VIDEO_FIELDS = new Set(['bg', 'fg']);

/** `trusted` false (Restricted Mode): field docs only, no probe of the file under the cursor. */
export async function hover(
  parsed: ParsedJson,
  projectFile: string,
  offset: number,
  range: (s: Span) => Hover['range'],
  trusted = true,
): Promise<Hover | null> {
  const spot = spotAt(parsed, offset);
  if (!spot) return null;
  const doc = fieldDoc(spot.path);
  const parts: string[] = [];
  const key = spot.path.length === 1 ? spot.path[0] : undefined;
  if (trusted && !spot.isKey && typeof key === 'string' && VIDEO_FIELDS.has(key) && spot.node.type === 'string') {
    const file = path.resolve(path.dirname(projectFile), spot.node.value as string);
    try {
      parts.push(`**${key}** \`${spot.node.value}\`: ${probeSummary(await cachedProbe(file))}`);
    } catch (e) {
      if (!(e instanceof VidkompyError)) throw e;
      parts.push(`**${key}** \`${spot.node.value}\`: ${e.message}`);
    }
  }
  if (doc) parts.push(doc);
  if (!parts.length) return null;
  return { contents: { kind: 'markdown', value: parts.join('\n\n---\n\n') }, range: range(spanOf(spot.node)) };
}
