import { promises as fs } from 'node:fs';
import path from 'node:path';
import { VidkompyError } from './errors';

/** Writes `data` to a temp file beside `file` and renames it into place: readers never see half a file. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const final = path.resolve(file);
  const dir = path.dirname(final);
  const temp = path.join(dir, `.${path.basename(final)}.partial-${process.pid}-${Date.now().toString(36)}`);
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(temp, data);
    await fs.rename(temp, final);
  } catch (e) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new VidkompyError('UNWRITABLE', `${file}: cannot write (${code}); choose a writable path`, file);
  }
}
