import { promises as fs, readdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
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
  const temp = path.resolve(path.dirname(final), `.${path.basename(final, ext)}${PARTIAL_MARK}${process.pid}-${Date.now().toString(36)}${ext}`);
  liveTemps.add(temp);
  tempWatcher?.('add', temp);
  return temp;
}

/**
 * Temp files (and scratch folders) this thread may still be writing. Kept here (core) so that
 * whoever cleans up after an interrupt (media/ffmpeg.ts: on a signal, and its reaper after the
 * process dies) knows them all.
 */
export const liveTemps = new Set<string>();
let tempWatcher: ((op: 'add' | 'del', file: string) => void) | undefined;

/** One watcher (media/ffmpeg.ts's reaper feed) hears of every temp file named and dropped. */
export function watchTemps(fn: (op: 'add' | 'del', file: string) => void): void {
  tempWatcher = fn;
}

/**
 * Holds a file that is not a partial but must not outlive this process's interest in it either (the
 * chunks of a split render until they are joined): an interrupt or a kill removes it like a temp.
 */
export function holdTemp(file: string): void {
  liveTemps.add(file);
  tempWatcher?.('add', file);
}

/** The temp file is gone (renamed into place or removed): nobody needs to clean it up any more. */
export function dropTemp(temp: string): void {
  if (liveTemps.delete(temp)) tempWatcher?.('del', temp);
}

/**
 * A private scratch folder under the system's temp directory (never beside the user's files), known
 * to whoever cleans up after an interrupt like any temp file: a signal, or the reaper after this
 * process dies, removes it with everything in it. removeTempDir removes it when the work is done.
 */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  liveTemps.add(dir);
  tempWatcher?.('add', dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
  dropTemp(dir);
}

/**
 * Removes `.NAME.partial-PID-*.ext` beside `final` left by writers that died without cleaning up
 * (SIGKILL, power loss). A PID that is alive (even another user's: EPERM) may still be writing.
 */
export function sweepPartials(final: string): void {
  const abs = path.resolve(final);
  const ext = path.extname(abs);
  const head = `.${path.basename(abs, ext)}${PARTIAL_MARK}`;
  let names: string[];
  try {
    names = readdirSync(path.dirname(abs));
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(head) || !n.endsWith(ext)) continue;
    const pid = Number(/^(\d+)-/.exec(n.slice(head.length))?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    try {
      rmSync(path.join(path.dirname(abs), n), { force: true });
    } catch {
      // Not ours to remove (permissions): it stays marked as partial.
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Writes `data` to a temp file beside `file` and renames it into place: readers never see half a file. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: CommitOptions = {}): Promise<void> {
  const final = path.resolve(file);
  const dir = path.dirname(final);
  sweepPartials(final);
  const temp = partialPath(final);
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(temp, data);
  } catch (e) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    dropTemp(temp);
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
    dropTemp(temp);
  } catch (e) {
    try {
      rmSync(temp, { force: true });
      dropTemp(temp);
    } catch {
      // The temp file's name marks it as partial; the error below is what matters.
    }
    if (e instanceof VidkompyError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new VidkompyError('UNWRITABLE', `${what}: cannot write (${code}); choose a writable path`, what);
  }
}
