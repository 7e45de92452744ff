import type { ModelSpec } from '../../protocol/project';
import type { Described, DescriptorKind } from '../engine/descriptors/types';
import { embeddingDescriptors, embedVideo, type EmbedOutput } from './embed';
import { builtinModel } from './model';

export interface EmbeddingOptions {
  /** The ONNX model (default: the built-in one). */
  model?: ModelSpec;
  /** Where embeddings are cached (default ~/.cache/vidkompy); false: no cache. */
  cacheDir?: string | false;
}

interface EmbeddingDescribed extends Described {
  embedded: EmbedOutput;
}

/**
 * The `embedding` descriptor kind: one ONNX model output per frame. Embeddings are cached on disk
 * by content (see cache.ts), so they are not kept in the daemon's memory cache as well; there are
 * no grey frames, so the joint refinement trusts the decoder's timestamps.
 */
export function embeddingKind(o: EmbeddingOptions = {}): DescriptorKind<EmbeddingDescribed> {
  const model = o.model ?? builtinModel();
  return {
    name: 'embedding',
    // Right pairs mean 0.998 and more, as pixels do.
    supported: 0.97,
    key: () => undefined,
    async describe({ video, region, onFrame, signal }) {
      const embedded = await embedVideo(video.file, region, model, {
        signal,
        cacheDir: o.cacheDir,
        onProgress: () => onFrame(),
        expectedFrames: video.frameCount,
      });
      const seq = { data: new Uint8Array(0), n: embedded.descriptors.n, w: 0, h: 0, times: embedded.times };
      return { embedded, seq, provider: embedded.provider };
    },
    pair: (fg, bg) => embeddingDescriptors(fg.embedded, bg.embedded),
    bytes: (d) => d.embedded.descriptors.v.length * 4 + d.seq.times.length * 8,
  };
}
