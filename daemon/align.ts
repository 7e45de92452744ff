import { ENGINES, FEATURES, type Features, type ModelSpec } from '../protocol/project';
import { VidkompyError } from './core/errors';
import { embeddingKind } from './embed/descriptor';
import { align as alignWith, hashKind, pixelsKind, type AlignOptions, type Alignment, type DescriptorKind, type Located } from './engine';

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
  for (const a of o.anchors ?? []) if (!Number.isFinite(a.fg) || !Number.isFinite(a.bg)) bad(`anchor ${JSON.stringify(a)} (seconds, finite)`);
}

/** Aligns fg to bg in space and time. `located`: a spatial step already done with the same options. */
export function align(bgFile: string, fgFile: string, o: AlignRequest = {}, located?: Located): Promise<Alignment> {
  checkRequest(o);
  const { features, model, cacheDir, ...rest } = o;
  return alignWith(bgFile, fgFile, { ...rest, descriptor: features && descriptorKind(features, { model, cacheDir }) }, located);
}

export { locate } from './engine';
export type { Alignment, Located, SpatialOptions } from './engine';
