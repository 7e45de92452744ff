import { promises as fs, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { cancelled, VidkompyError } from './errors';
import { PARTIAL_MARK } from '../../protocol/project';

export interface CommitOptions {
  /** A cancel that arrives before the rename leaves nothing behind. */
  signal?: AbortSignal;
  /**
   * Claims the result for the job just before the rename: false when a cancel got there first (the
   * job then fails as cancelled); once it has returned true, a cancel can no longer undo the job.
   */
  commit?: () => boolean;
}

/**
 * Where a file is written before it is renamed into place: beside it, hidden, marked as partial
 * with the writer's pid (so leftovers of dead writers can be told apart), extension kept (ffmpeg
 * picks the container by it).
 */
export function partialPath(final: string): string {
  const ext = path.extname(final);
  return path.join(path.dirname(final), `.${path.basename(final, ext)}${PARTIAL_MARK}${process.pid}-${Date.now().toString(36)}${ext}`);
}

/** Writes `data` to a temp file beside `file` and renames it into place: readers never see half a file. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: CommitOptions = {}): Promise<void> {
  const final = path.resolve(file);
  const dir = path.dirname(final);
  const temp = partialPath(final);
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(temp, data);
  } catch (e) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new VidkompyError('UNWRITABLE', `${file}: cannot write (${code}); choose a writable path`, file);
  }
  commitRename(temp, final, file, opts);
}

/**
 * The point of no return of a job: the cancel check, the claim and the rename run in one
 * synchronous step, so a cancel either lands before it (nothing is written) or after the claim (the
 * job is done).
 */
export function commitRename(temp: string, final: string, what: string, opts: CommitOptions = {}): void {
  try {
    if (opts.signal?.aborted || (opts.commit && !opts.commit())) throw cancelled();
    renameSync(temp, final);
  } catch (e) {
    try {
      rmSync(temp, { force: true });
    } catch {
      // The temp file's name marks it as partial; the error below is what matters.
    }
    if (e instanceof VidkompyError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new VidkompyError('UNWRITABLE', `${what}: cannot write (${code}); choose a writable path`, what);
  }
}
