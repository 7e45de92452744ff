import { ENGINES, FEATURES, PLACEMENTS, type Features, type ModelSpec } from '../protocol/project';
import { VidkompyError } from './core/errors';
import { embeddingKind } from './embed/descriptor';
import { TRUST_THRESHOLD } from './engine/trust';
import { align as alignWith, locate, hashKind, pixelsKind, type AlignOptions, type Alignment, type DescriptorKind, type Located } from './engine';

/**
 * The aligner as every front end uses it (CLI, project jobs, benchmarks): the engine with each
 * frame descriptor kind plugged in by name. The engine knows descriptors only through their
 * interface (engine/descriptors/types.ts); this table is where a kind is registered.
 */

export interface KindOptions {
  /** The ONNX model for `embedding` (default: the built-in one). */
  model?: ModelSpec;
  /** Where embeddings are cached (default ~/.cache/vidkompy); false: no cache. */
  cacheDir?: string | false;
}

const KINDS: Record<Features, (o: KindOptions) => DescriptorKind> = {
  pixels: () => pixelsKind,
  hash: () => hashKind as DescriptorKind,
  embedding: (o) => embeddingKind(o) as DescriptorKind,
};

export function descriptorKind(features: Features, o: KindOptions = {}): DescriptorKind {
  return KINDS[features](o);
}

export interface AlignRequest extends Omit<AlignOptions, 'descriptor'>, KindOptions {
  /** The frame descriptor (default: pixels; the fast engine always uses hashes). */
  features?: Features;
  /** Return an alignment the engine is unsure of instead of refusing it (the CLI's --force, a project's "force"). */
  force?: boolean;
}

/** Refuses options no front end should have let through: the engine trusts what it is given. */
function checkRequest(o: AlignRequest): void {
  const bad = (what: string) => {
    throw new VidkompyError('BAD_ARGS', `invalid alignment option: ${what}`);
  };
  if (o.engine !== undefined && !ENGINES.includes(o.engine)) bad(`engine ${JSON.stringify(o.engine)} (one of ${ENGINES.join(', ')})`);
  if (o.features !== undefined && !FEATURES.includes(o.features)) bad(`features ${JSON.stringify(o.features)} (one of ${FEATURES.join(', ')})`);
  if (o.window !== undefined && !(Number.isInteger(o.window) && o.window > 0)) bad(`window ${o.window} (a positive whole number of bg frames)`);
  for (const k of ['x', 'y', 'scale'] as const) if (o[k] !== undefined && !Number.isFinite(o[k])) bad(`${k} ${o[k]} (a finite number)`);
  if (o.scale !== undefined && !(o.scale > 0)) bad(`scale ${o.scale} (greater than 0)`);
  if (o.placement !== undefined && !PLACEMENTS.includes(o.placement)) bad(`placement ${JSON.stringify(o.placement)} (one of ${PLACEMENTS.join(', ')})`);
  for (const a of o.anchors ?? []) {
    const finite = (v: number | undefined) => v === undefined || Number.isFinite(v);
    if (!Number.isFinite(a.fg) || !finite(a.bg) || !finite(a.x) || !finite(a.y) || !finite(a.scale)) bad(`anchor ${JSON.stringify(a)} (seconds and pixels, finite)`);
    if ((a.x === undefined) !== (a.y === undefined) || (a.scale !== undefined && a.x === undefined)) bad(`anchor ${JSON.stringify(a)} (a pin gives x and y, scale optional)`);
    if (a.scale !== undefined && !(a.scale > 0)) bad(`anchor ${JSON.stringify(a)} (scale greater than 0)`);
    if (a.bg === undefined && a.x === undefined) bad(`anchor ${JSON.stringify(a)} (a sync point gives bg, a pin x and y)`);
  }
}

/**
 * Whether `inner` is found inside `outer` with an NCC of at least `ncc` (its samples flipped left to
 * right with `mirror`): the second looks the unsure paths take, at another reading of the pair.
 */
async function foundAs(outer: string, inner: string, ncc: number, o: { mirror?: boolean; signal?: AbortSignal }): Promise<boolean> {
  const l = await locate(outer, inner, o).catch(() => undefined);
  return !!l && l.placement.score >= ncc;
}

/** Whether fg is bg's picture flipped left to right (a mirrored re-upload). Asked only when fg was not found or not trusted. */
const mirrored = (bgFile: string, fgFile: string, signal?: AbortSignal) => foundAs(bgFile, fgFile, MIRROR_NCC, { mirror: true, signal });

const MIRROR_NCC = 0.9;
const MIRRORED = "fg is bg's picture flipped left to right: re-export fg flipped back (ffmpeg -vf hflip)";

/** Aligns fg to bg in space and time. `located`: a spatial step already done with the same options. */
export async function align(bgFile: string, fgFile: string, o: AlignRequest = {}, located?: Located): Promise<Alignment> {
  checkRequest(o);
  const { features, model, cacheDir, force, ...rest } = o;
  let al: Alignment;
  try {
    al = await alignWith(bgFile, fgFile, { ...rest, descriptor: features && descriptorKind(features, { model, cacheDir }) }, located);
  } catch (e) {
    if (e instanceof VidkompyError && e.code === 'NOT_FOUND' && !o.signal?.aborted && (await mirrored(bgFile, fgFile, o.signal))) {
      throw new VidkompyError('NOT_FOUND', `${e.problem}; ${MIRRORED}`, e.file);
    }
    throw e;
  }
  const trust = al.trust;
  if (trust?.verdict !== 'unsure') return al;
  // Asked only of an unsure alignment, and not where fg's picture was found clearly: a mirrored fg cannot match.
  if (al.spatial.method === 'auto' && al.spatial.confidence < MIRROR_NCC && (await mirrored(bgFile, fgFile, o.signal))) trust.reasons.unshift(MIRRORED);
  if (trust.problem !== 'ambiguous' && al.spatial.method === 'auto' && (await swapped(bgFile, fgFile, al, o.signal))) {
    trust.problem = 'swapped';
    trust.reasons.unshift('bg appears inside fg');
  }
  if (!force) throw refusal(al);
  return al;
}

/**
 * Whether bg and fg look swapped: fg has more pixels than bg, and bg is found inside fg (at a
 * sensible scale, with a clear NCC). Only asked of an alignment already unsure, so it costs nothing
 * on a right pair.
 */
async function swapped(bgFile: string, fgFile: string, al: Alignment, signal?: AbortSignal): Promise<boolean> {
  if (al.fg.contentRect.width * al.fg.contentRect.height <= al.bg.width * al.bg.height) return false;
  return foundAs(fgFile, bgFile, SWAP_NCC, { signal });
}

/** NCC of bg found inside fg that says the two were given the wrong way round. */
const SWAP_NCC = 0.8;

/** The refusal of an unsure alignment: the reason in one line and what to try. */
export function refusal(al: Alignment): VidkompyError {
  const t = al.trust!;
  const fg = al.fg.file;
  const lead = `${fg}: not sure of this alignment (trust ${t.score.toFixed(2)}, below ${TRUST_THRESHOLD}): `;
  const why = t.reasons.join('; ');
  switch (t.problem) {
    case 'swapped':
      return new VidkompyError('UNSURE', `${lead}bg appears inside fg — swap them?`, fg, { kind: 'options', verb: 'check', options: ['order'] });
    case 'bg-short':
    case 'speed':
      return new VidkompyError('UNSURE', `${lead}${why}`, fg, { kind: 'options', verb: 'check', options: ['order', 'forceAlign'], lead: 'check that bg covers all of fg in time, or' });
    case 'moving':
      return new VidkompyError('UNSURE', `${lead}${why}; placement is set to fixed`, fg, {
        kind: 'options',
        verb: 'use',
        options: ['placementMode'],
        to: 'tracked',
      });
    case 'motion':
      return new VidkompyError('UNSURE', `${lead}${why}`, fg, { kind: 'options', verb: 'give', options: ['anchors', 'engine', 'forceAlign'], lead: 'pin the timing:' });
    case 'placement':
      return new VidkompyError('UNSURE', `${lead}${why}`, fg, { kind: 'options', verb: 'give', options: ['placement', 'forceAlign'], lead: 'pick one of the two:' });
    case 'ambiguous': {
      const at = (t.places ?? []).map((v) => `${v.toFixed(2)} s`).join(', ');
      const places = `fg fits ${t.places?.length ?? 'several'} places in bg about equally well (fg's start at bg ${at}): repeated footage?`;
      return new VidkompyError('UNSURE', `${lead}${places}`, fg, { kind: 'options', verb: 'give', options: ['anchors', 'forceAlign'], lead: 'give both videos their sound, or' });
    }
    default:
      return new VidkompyError('UNSURE', `${lead}fg does not appear to be part of bg: ${why}`, fg, { kind: 'options', verb: 'give', options: ['placement', 'anchors', 'engine', 'forceAlign'], lead: 'check that fg shows part of bg, or' });
  }
}

export { locate };
export type { Alignment, Located, SpatialOptions } from './engine';
