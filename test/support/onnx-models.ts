import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The model generator (scripts/make-model.mjs), typed for the tests that build odd models with it. */
export interface MakeModel {
  FEATURE_MODEL: Record<string, unknown>;
  DEFAULT_OUT: string;
  featureModel(o?: Record<string, unknown>): Uint8Array;
  encodeModel(g: {
    name: string;
    nodes: unknown[];
    initializers?: unknown[];
    inputs: unknown[];
    outputs: unknown[];
    opset?: number;
  }): Uint8Array;
  valueInfo(name: string, shape: (number | string)[]): unknown;
  tensor(name: string, dims: number[], values: number[], dataType?: number): unknown;
  node(opType: string, input: string[], output: string[], attribute?: unknown[]): unknown;
  attr: {
    int(name: string, i: number): unknown;
    ints(name: string, ints: number[]): unknown;
    float(name: string, f: number): unknown;
    string(name: string, s: string): unknown;
  };
}

export const MAKE_MODEL = path.resolve(__dirname, '..', '..', 'scripts', 'make-model.mjs');

/** The generator, loaded as the ES module it is (a computed specifier keeps tsc out of the .mjs). */
export async function makeModel(): Promise<MakeModel> {
  const url = pathToFileURL(MAKE_MODEL).href;
  return (await import(url)) as MakeModel;
}

/** A model with a rank-3 input [N, 64, 64] (grey frames), which vidkompy cannot feed. */
export function rank3Model(g: MakeModel): Uint8Array {
  return g.encodeModel({
    name: 'rank3',
    nodes: [g.node('Flatten', ['frames'], ['embedding'], [g.attr.int('axis', 1)])],
    inputs: [g.valueInfo('frames', ['N', 64, 64])],
    outputs: [g.valueInfo('embedding', ['N', 4096])],
  });
}

/**
 * A tiny NHWC model with a fixed batch of 2: 32×32 RGB → 4×4 average-pooled colour (48 values).
 * Exercises the layout, the per-channel mean/std and the padding of the last batch.
 */
export function nhwcFixedBatchModel(g: MakeModel): Uint8Array {
  return g.encodeModel({
    name: 'nhwc-batch2',
    nodes: [
      g.node('Transpose', ['image'], ['nchw'], [g.attr.ints('perm', [0, 3, 1, 2])]),
      g.node('AveragePool', ['nchw'], ['pooled'], [g.attr.ints('kernel_shape', [8, 8]), g.attr.ints('strides', [8, 8])]),
      g.node('Flatten', ['pooled'], ['features'], [g.attr.int('axis', 1)]),
    ],
    inputs: [g.valueInfo('image', [2, 32, 32, 3])],
    outputs: [g.valueInfo('features', [2, 48])],
  });
}
