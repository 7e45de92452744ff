import { existsSync } from 'node:fs';
import path from 'node:path';
import { VidkompyError } from '../core/errors';
import { threadBudget } from '../media/tools';
import type { Provider } from '../../protocol/project';

/**
 * onnxruntime-node, loaded lazily: importing the engine must not load a native library that only
 * the `embedding` features need. The package's CPU binaries ship inside it; the CUDA provider is a
 * separate download its install script makes (see docs/gpu.md), which vidkompy never runs.
 */
export type Ort = typeof import('onnxruntime-node');
export type { Provider } from '../../protocol/project';

let ortModule: Promise<Ort> | undefined;

export function loadOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node').catch((e: unknown) => {
    ortModule = undefined;
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new VidkompyError('TOOL_MISSING', `onnxruntime-node: cannot load (${why}); run 'npm ci', or use the pixel or hash features`, 'onnxruntime-node');
  });
  return ortModule;
}

/** The folder holding onnxruntime's native binaries for this platform (null when not installed). */
export function ortBinDir(): string | null {
  try {
    const pkg = require.resolve('onnxruntime-node/package.json');
    return path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null;
  }
}

export const CUDA_LIBRARY = 'libonnxruntime_providers_cuda.so';

export interface ProviderPlan {
  /** Whether to try the CUDA execution provider first (CPU is always the fallback). */
  tryCuda: boolean;
  /** Why, in words: reported with the result so a user can see what ran and how to change it. */
  reason: string;
}

/**
 * Which provider to try. CUDA only when its provider library sits next to onnxruntime's binaries
 * (where onnxruntime-node's install script puts it, and the only place onnxruntime loads it from),
 * or when VIDKOMPY_ONNX_PROVIDER=cuda asks for a try regardless (onnxruntime's own error then says
 * what is missing); VIDKOMPY_ONNX_PROVIDER=cpu never tries it.
 */
export function planProvider(env: NodeJS.ProcessEnv = process.env, binDir: string | null = ortBinDir()): ProviderPlan {
  const forced = env.VIDKOMPY_ONNX_PROVIDER?.trim().toLowerCase();
  if (forced === 'cpu') return { tryCuda: false, reason: 'VIDKOMPY_ONNX_PROVIDER=cpu' };
  if (forced === 'cuda') return { tryCuda: true, reason: 'VIDKOMPY_ONNX_PROVIDER=cuda' };
  if (forced) throw new VidkompyError('BAD_ARGS', `VIDKOMPY_ONNX_PROVIDER=${env.VIDKOMPY_ONNX_PROVIDER}: unknown provider; use cpu or cuda (or unset it)`);
  if (process.platform !== 'linux' || process.arch !== 'x64') return { tryCuda: false, reason: `no CUDA provider for onnxruntime-node on ${process.platform}/${process.arch}` };
  const lib = binDir ? path.join(binDir, CUDA_LIBRARY) : CUDA_LIBRARY;
  if (binDir && existsSync(lib)) return { tryCuda: true, reason: `${lib} found` };
  return { tryCuda: false, reason: `no CUDA provider library (${lib} is absent; docs/gpu.md says how to install it)` };
}

export interface OpenedSession {
  session: import('onnxruntime-node').InferenceSession;
  provider: Provider;
  /** What was tried and why this provider runs. */
  reason: string;
}

/**
 * Opens `model` on CUDA when the plan says so, else (or when CUDA fails in any way: missing
 * libcudart/cuDNN, no GPU, driver too old) on CPU. A model that CPU cannot load either is the
 * caller's error to explain.
 */
export async function openSession(model: string | Uint8Array, plan: ProviderPlan = planProvider()): Promise<OpenedSession> {
  const ort = await loadOrt();
  // No spinning: ffmpeg decodes on the same cores while the model runs, and the model is small.
  const threads = threadBudget();
  const options = { graphOptimizationLevel: 'all', logSeverityLevel: 3, extra: { session: { intra_op: { allow_spinning: '0' } } }, ...(threads ? { intraOpNumThreads: threads } : {}) } as const;
  let reason = plan.reason;
  if (plan.tryCuda) {
    try {
      const session = await create(ort, model, { ...options, executionProviders: ['cuda'] });
      return { session, provider: 'cuda', reason: `cuda: ${plan.reason}` };
    } catch (e) {
      reason = `${plan.reason}, but CUDA failed (${firstLine(e)}); check CUDA 12 and cuDNN 9 are installed (docs/gpu.md)`;
    }
  }
  const session = await create(ort, model, { ...options, executionProviders: ['cpu'] });
  return { session, provider: 'cpu', reason: `cpu: ${reason}` };
}

function create(ort: Ort, model: string | Uint8Array, options: import('onnxruntime-node').InferenceSession.SessionOptions) {
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

export function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);
}
