import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FG_SPEC, FILES, OTHER_SPEC, PROJECTS } from '../vscode/sample';
import { derived, SAMPLE } from './media';

/**
 * The sample workspace the extension tests open in a real VS Code (test/vscode/sample.ts says
 * what is in it): bg is the bundled clip, two fgs derived from it, and three projects.
 */

export interface SampleWorkspace {
  folder: string;
  /** Absolute paths of FILES. */
  files: { [K in keyof typeof FILES]: string };
}

/** A fresh folder under the OS temp dir (not the test cache: VS Code writes into it). */
export async function sampleWorkspace(name: string): Promise<SampleWorkspace> {
  const folder = await fs.mkdtemp(path.join(os.tmpdir(), `vidkompy-vscode-${name}-`));
  const { fg } = await derived(SAMPLE, FG_SPEC);
  await fs.mkdir(path.join(folder, path.dirname(FILES.fg)), { recursive: true });
  await fs.copyFile(SAMPLE, path.join(folder, FILES.bg));
  await fs.copyFile(fg, path.join(folder, FILES.fg));
  await fs.copyFile((await derived(SAMPLE, OTHER_SPEC)).fg, path.join(folder, FILES.otherFg));
  for (const [file, data] of Object.entries(PROJECTS)) await fs.writeFile(path.join(folder, file), JSON.stringify(data, null, 2) + '\n');
  const files = Object.fromEntries(Object.entries(FILES).map(([k, v]) => [k, path.join(folder, v)])) as SampleWorkspace['files'];
  return { folder, files };
}
