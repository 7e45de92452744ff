import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { VidkompyError } from '../core/errors';
import type { ModelSpec } from '../../protocol/project';
import { firstLine, loadOrt, openSession, planProvider, type OpenedSession, type ProviderPlan } from './provider';

export type { ModelSpec } from '../../protocol/project';

const MODEL_FILE = path.join('models', 'vidkompy-features.onnx');

/** The package root: the nearest folder up from here with a package.json (source or dist bundle). */
function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; ) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(from, '..', '..');
    dir = up;
  }
}

/** The built-in fixed-weight feature extractor (scripts/make-model.mjs), as a ModelSpec. */
export function builtinModel(): ModelSpec {
  return {
    path: path.join(packageRoot(), MODEL_FILE),
    input: 'frames',
    size: [64, 64],
    mean: [0, 0, 0],
    std: [1, 1, 1],
    output: 'embedding',
    layout: 'nchw',
  };
}

/** What onnxruntime says about a graph input or output. */
export interface ValueInfo {
  name: string;
  isTensor: boolean;
  type?: string;
  /** Numbers, or names of symbolic dimensions; empty when the model declares no shape. */
  shape?: readonly (number | string)[];
}

export interface ModelIO {
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
}

/** What the checks found: the batch size the model insists on (if any) and the embedding width. */
export interface ModelShape {
  /** A fixed batch dimension (frames per run), or null when it is symbolic. */
  fixedBatch: number | null;
  /** Embedding width when the model declares it, else null (found on the first run). */
  dim: number | null;
}

function describe(v: ValueInfo): string {
  if (!v.isTensor) return `${v.name} (not a tensor)`;
  return `${v.name} ${v.type ?? '?'} [${(v.shape ?? []).join(', ') || 'unknown shape'}]`;
}

/** Checks a spec on its own: sizes, means, layout. */
export function checkSpec(spec: ModelSpec): void {
  const bad = (what: string) => new VidkompyError('BAD_ARGS', `${spec.path}: model spec ${what}`, spec.path);
  const [w, h] = spec.size ?? [];
  if (!(Number.isInteger(w) && Number.isInteger(h) && w >= 8 && h >= 8 && w <= 4096 && h <= 4096)) throw bad(`size ${JSON.stringify(spec.size)} is not [width, height] in whole pixels (8..4096); fix "size"`);
  for (const k of ['mean', 'std'] as const) {
    const v = spec[k];
    if (!Array.isArray(v) || v.length !== 3 || !v.every(Number.isFinite)) throw bad(`${k} ${JSON.stringify(v)} is not three numbers [r, g, b]; fix "${k}"`);
  }
  if (spec.std.some((s) => s === 0)) throw bad(`std ${JSON.stringify(spec.std)} has a zero; fix "std"`);
  if (spec.layout !== 'nchw' && spec.layout !== 'nhwc') throw bad(`layout ${JSON.stringify(spec.layout)} is neither "nchw" nor "nhwc"; fix "layout"`);
  if (!spec.input || !spec.output) throw bad(`needs "input" and "output" tensor names`);
}

/**
 * Checks that a model can take frames as the spec describes and gives one row per frame. Every
 * error names the model file, what the model really has, and which spec field to change.
 */
export function checkModel(spec: ModelSpec, io: ModelIO): ModelShape {
  const file = spec.path;
  const fail = (msg: string) => new VidkompyError('BAD_ARGS', `${file}: ${msg}`, file);
  const list = (vs: readonly ValueInfo[]) => vs.map(describe).join('; ');
  const input = io.inputs.find((v) => v.name === spec.input);
  if (!input) throw fail(`the model has no input "${spec.input}" (its inputs: ${list(io.inputs)}); set the spec's "input" to one of them`);
  const others = io.inputs.filter((v) => v !== input);
  if (others.length) throw fail(`the model needs more inputs than frames (${list(others)}); vidkompy feeds only "${spec.input}": export the model with one image input`);
  if (!input.isTensor || (input.type && input.type !== 'float32')) throw fail(`input ${describe(input)} is not a float32 tensor; export the model with a float32 image input`);
  const [w, h] = spec.size;
  const want = spec.layout === 'nchw' ? ['N', 3, h, w] : ['N', h, w, 3];
  const wantText = `[N, ${want.slice(1).join(', ')}] (${spec.layout}, size ${w}x${h})`;
  const shape = input.shape ?? [];
  let fixedBatch: number | null = null;
  if (shape.length) {
    if (shape.length !== 4) {
      throw fail(`input ${describe(input)} has rank ${shape.length}, but frames are fed as ${wantText}; export the model with a rank-4 image batch input ([N, 3, H, W] or [N, H, W, 3])`);
    }
    for (let k = 1; k < 4; k++) {
      const d = shape[k];
      if (typeof d === 'number' && d !== want[k]) {
        const hint =
          spec.layout === 'nchw' && shape[3] === 3 ? 'set "layout" to "nhwc"'
          : spec.layout === 'nhwc' && shape[1] === 3 ? 'set "layout" to "nchw"'
          : `set "size" to [${spec.layout === 'nchw' ? `${shape[3]}, ${shape[2]}` : `${shape[2]}, ${shape[1]}`}]`;
        throw fail(`input ${describe(input)} does not fit frames fed as ${wantText}; ${hint}`);
      }
    }
    if (typeof shape[0] === 'number') fixedBatch = shape[0] > 0 ? shape[0] : null;
  }
  const output = io.outputs.find((v) => v.name === spec.output);
  if (!output) throw fail(`the model has no output "${spec.output}" (its outputs: ${list(io.outputs)}); set the spec's "output" to one of them`);
  if (!output.isTensor || (output.type && output.type !== 'float32')) throw fail(`output ${describe(output)} is not a float32 tensor; pick a float32 output`);
  const oshape = output.shape ?? [];
  let dim: number | null = null;
  if (oshape.length) {
    if (oshape.length < 2) throw fail(`output ${describe(output)} has rank ${oshape.length}; vidkompy needs one row per frame, [N, D] (or [N, ...] to flatten): pick an output with a batch dimension`);
    const rest = oshape.slice(1);
    if (rest.every((d): d is number => typeof d === 'number')) {
      dim = rest.reduce((a, b) => a * b, 1);
      if (dim < 1) throw fail(`output ${describe(output)} is empty; pick another output`);
    }
  }
  return { fixedBatch, dim };
}

/** A model ready to run: its session, the provider it runs on, and its checked shape. */
export interface LoadedModel extends ModelShape {
  spec: ModelSpec;
  session: OpenedSession['session'];
  provider: OpenedSession['provider'];
  providerReason: string;
}

const sessions = new Map<string, Promise<LoadedModel>>();

/**
 * Opens and checks a model (once per file version, spec and provider plan: the fg and bg passes
 * share one session).
 */
export function loadModel(spec: ModelSpec, plan: ProviderPlan = planProvider()): Promise<LoadedModel> {
  checkSpec(spec);
  const file = path.resolve(spec.path);
  const p = (async () => {
    const st = await fs.stat(file).catch(() => null);
    if (!st?.isFile()) throw new VidkompyError('ENOENT', `${spec.path}: model file not found; check the model path${spec.path.endsWith(MODEL_FILE) ? ", or run 'node scripts/make-model.mjs' to rebuild the built-in model" : ''}`, spec.path);
    return st;
  })();
  const key = (st: { size: number; mtimeMs: number }) => JSON.stringify([file, st.size, st.mtimeMs, spec, plan.tryCuda]);
  return p.then((st) => {
    const k = key(st);
    let loaded = sessions.get(k);
    if (!loaded) {
      loaded = open(spec, file, plan);
      sessions.set(k, loaded);
      loaded.catch(() => sessions.delete(k));
    }
    return loaded;
  });
}

async function open(spec: ModelSpec, file: string, plan: ProviderPlan): Promise<LoadedModel> {
  let opened: OpenedSession;
  try {
    opened = await openSession(file, plan);
  } catch (e) {
    if (e instanceof VidkompyError) throw e;
    throw new VidkompyError('BAD_ARGS', `${spec.path}: not a model onnxruntime can load (${firstLine(e)}); check that it is an ONNX model file`, spec.path);
  }
  const { session } = opened;
  let shape: ModelShape;
  try {
    shape = checkModel(spec, { inputs: session.inputMetadata, outputs: session.outputMetadata });
  } catch (e) {
    await session.release().catch(() => undefined);
    throw e;
  }
  if (opened.provider === 'cuda') {
    // CUDA can open a session and still fail on the first run (cuDNN and cuBLAS load lazily):
    // find out now, on one blank batch, rather than halfway through a video.
    try {
      await testRun(spec, session, shape);
    } catch (e) {
      await session.release().catch(() => undefined);
      return open(spec, file, { tryCuda: false, reason: `${plan.reason}, but CUDA failed on a test run (${firstLine(e)}); check CUDA 12 and cuDNN 9 are installed (docs/gpu.md)` });
    }
  }
  return { ...shape, spec, session, provider: opened.provider, providerReason: opened.reason };
}

async function testRun(spec: ModelSpec, session: OpenedSession['session'], shape: ModelShape): Promise<void> {
  const { Tensor } = await loadOrt();
  const [w, h] = spec.size;
  const n = shape.fixedBatch ?? 1;
  const dims = spec.layout === 'nchw' ? [n, 3, h, w] : [n, h, w, 3];
  await session.run({ [spec.input]: new Tensor('float32', new Float32Array(n * 3 * w * h), dims) }, [spec.output]);
}
