import type { Environment } from '../../protocol/lsp';
import { planProvider } from '../embed/provider';
import { decodeMethod, encodeMethod, toolVersion } from '../media/ffmpeg';
import { threadBudget } from '../media/tools';
import { kernelsBackend, nativeUnavailableReason } from '../native/kernels';
import { VERSION } from '../version';

/**
 * What the daemon runs with, as the editor's log shows it at start: the tools and their versions,
 * the execution provider, the kernels and the hardware codecs that passed their trial. Every part
 * answers even when it failed (the reason is the answer), so the log is never empty.
 */

/** A size that every hardware H.264 encoder takes: the general answer, before any render names its own. */
const TYPICAL_RENDER = { width: 1920, height: 1080 };

export async function environment(cacheDirectory: string): Promise<Environment> {
  const reason = (e: unknown) => `unknown (${(e as Error)?.message ?? e})`;
  const [ffmpeg, ffprobe, decoder, encoder] = await Promise.all([
    toolVersion('ffmpeg'),
    toolVersion('ffprobe'),
    decodeMethod().catch((e: unknown) => ({ name: 'cpu', reason: reason(e) })),
    encodeMethod(TYPICAL_RENDER).catch((e: unknown) => ({ name: 'x264', reason: reason(e) })),
  ]);
  let provider: Environment['provider'];
  try {
    const plan = planProvider();
    provider = { name: plan.tryCuda ? 'cuda' : 'cpu', reason: plan.tryCuda ? `CUDA first, CPU if it fails: ${plan.reason}` : plan.reason };
  } catch (e) {
    provider = { name: 'cpu', reason: (e as Error)?.message ?? String(e) };
  }
  const backend = kernelsBackend();
  return {
    version: VERSION,
    node: process.versions.electron ? `Electron ${process.versions.electron} (Node ${process.versions.node})` : `Node ${process.versions.node}`,
    ffmpeg,
    ffprobe,
    provider,
    kernels: backend === 'native' ? { backend } : { backend, reason: nativeUnavailableReason() ?? undefined },
    hardware: { decoder: decoder.name, decoderReason: decoder.reason, encoder: encoder.name, encoderReason: encoder.reason },
    threads: threadBudget(),
    cacheDirectory,
  };
}
