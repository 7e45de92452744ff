/**
 * One measured step of the bench, in its own process so its CPU time (with ffmpeg children) and
 * peak memory are its own: `node dist/bench-step.js align|align-tracked|realign|compose BG FG OUT.json [RENDER.mp4]`.
 * Writes the alignment (align), a warm re-alignment's figures (realign), or reads the alignment
 * (compose); prints {seconds, peakMiB, maxRssMiB, stageMiB, decodes} as JSON, decodes being every ffmpeg decode the step
 * ran (daemon/media/decodestats.ts), labelled with the stage the progress callback last named, and
 * stageMiB each such stage's peak RSS.
 */
import { promises as fs } from 'node:fs';
import { align } from '../daemon/engine/align';
import { memoryCache } from '../daemon/core/lru';
import { compose } from '../daemon/engine/render/compose';
import type { Preset } from '../protocol/project';
import type { Alignment } from '../daemon/engine/result';
import { countDecodes, decodeStats, setDecodeStage } from '../daemon/media/decodestats';

async function main(): Promise<void> {
  const [step, bg, fg, json, out, preset, crf] = process.argv.slice(2);
  // Sampled every 100 ms (each sample costs a read of /proc: every 20 ms it was 0.2 s of an align's CPU);
  // the kernel's high-water mark below catches what falls between.
  let peak = process.memoryUsage.rss();
  // Each stage's own peak too (the stage the progress callback last named): where memory grows
  // with the input's length shows there (the long bench prints it).
  let stage = 'start';
  const stageMiB: Record<string, number> = {};
  const sample = () => {
    const rss = process.memoryUsage.rss();
    peak = Math.max(peak, rss);
    stageMiB[stage] = Math.max(stageMiB[stage] ?? 0, Math.round(rss / 2 ** 20));
  };
  const timer = setInterval(sample, 100);
  const t = performance.now();
  // The interval is cleared however the step ends: left running, it would keep this process, and
  // the bench waiting on it, alive after a failure.
  try {
    countDecodes(true);
    const onProgress = (s: string) => {
      if (s !== stage) {
        sample();
        stage = s;
      }
      setDecodeStage(s);
    };
    if (step === 'align' || step === 'align-tracked') {
      // align-tracked: the window tracked over fg (--placement tracked) whatever the evidence says.
      await fs.writeFile(json, JSON.stringify(await align(bg, fg, { onProgress, ...(step === 'align-tracked' ? { placement: 'tracked' as const } : {}) })));
    } else if (step === 'realign') {
      // As the daemon does while a project is edited: the first align fills the cache, the second
      // (another engine and window) is what the user waits for.
      const cache = memoryCache();
      await align(bg, fg, { cache, onProgress: (stage) => setDecodeStage(`first ${stage}`) });
      const t1 = performance.now();
      const again = await align(bg, fg, { cache, engine: 'precise', window: 12, onProgress: (stage) => setDecodeStage(`again ${stage}`) });
      const seconds = (performance.now() - t1) / 1000;
      await fs.writeFile(json, JSON.stringify({ seconds, hits: cache.stats.hits, spatial: again.spatial, engine: again.temporal.engine }));
    } else {
      const al = JSON.parse(await fs.readFile(json, 'utf8')) as Alignment;
      onProgress('render');
      await compose(al, { output: out, preset: preset as Preset, crf: Number(crf), audio: 'none' });
    }
  } finally {
    clearInterval(timer);
  }
  sample();
  const peakMiB = Math.max(peak, process.memoryUsage.rss()) / 2 ** 20;
  // The kernel's high-water mark (KiB) catches a peak between two samples.
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ seconds: (performance.now() - t) / 1000, peakMiB, maxRssMiB, stageMiB, decodes: decodeStats() }) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
