/**
 * One measured step of the bench, in its own process so its CPU time (with ffmpeg children) and
 * peak memory are its own: `node --import tsx bench/step.ts align|compose BG FG OUT.json [RENDER.mp4]`.
 * Writes the alignment (align) or reads it (compose), and prints {seconds, peakMiB} as JSON.
 */
import { promises as fs } from 'node:fs';
import { align } from '../daemon/engine/align';
import { compose } from '../daemon/engine/compose';
import type { Alignment } from '../daemon/engine/result';

async function main(): Promise<void> {
  const [step, bg, fg, json, out, preset, crf] = process.argv.slice(2);
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t = performance.now();
  if (step === 'align') {
    await fs.writeFile(json, JSON.stringify(await align(bg, fg)));
  } else {
    const al = JSON.parse(await fs.readFile(json, 'utf8')) as Alignment;
    await compose(al, { output: out, preset, crf: Number(crf), audio: 'none' });
  }
  clearInterval(timer);
  process.stdout.write(JSON.stringify({ seconds: (performance.now() - t) / 1000, peakMiB: Math.max(peak, process.memoryUsage().rss) / 2 ** 20 }) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
