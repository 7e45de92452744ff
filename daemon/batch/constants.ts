/**
 * The names and numbers of batches, stated once: the local pool, the queue worker and the tests
 * all read them from here.
 */

/** The BullMQ queue every `vidkompy batch --queue` and `vidkompy worker` share. */
export const QUEUE_NAME = 'vidkompy';
/** The name of the jobs that render one chunk of a split render (their parent is the project's job). */
export const CHUNK_JOB = 'chunk';
/**
 * `batch --chunk-seconds` by default: a project whose fg lasts at least twice this long has its
 * render split into chunks of about this long, rendered by several workers at once.
 */
export const CHUNK_SECONDS = 300;
/** Pub/sub channel on which `batch cancel` tells workers to stop their running jobs. */
export const CANCEL_CHANNEL = `${QUEUE_NAME}:cancel`;

/** Threads one job gets by default: ffmpeg's decoders and x264 gain little beyond a few each. */
export const THREADS_PER_JOB = 2;

/** Transient failures (not a user's error) are tried this many times in all, backing off. */
export const ATTEMPTS = 3;
export const BACKOFF_MS = 2000;
/** Finished jobs stay this long, so `batch status` can say why one failed. */
export const KEEP_SECONDS = 7 * 24 * 3600;

/**
 * A worker holds its job's lock this long and renews it at half; a killed worker's job is taken
 * back after about two stalled checks. VIDKOMPY_QUEUE_LOCK_MS shortens it (tests).
 */
export function lockMs(): number {
  const n = Number(process.env.VIDKOMPY_QUEUE_LOCK_MS);
  return Number.isInteger(n) && n >= 500 ? n : 30_000;
}
/** A job that stalls this often (its worker died each time) fails instead of running again. */
export const MAX_STALLED = 2;

/** How long Redis may be unreachable before a command gives up with one line (never a hang). */
export const CONNECT_TIMEOUT_MS = 3000;
export const GIVE_UP_MS = 5000;
/** How often the waiting `batch` re-reads its jobs' states. */
export const POLL_MS = 300;
/** How often a job writes its progress to Redis at most. */
export const PROGRESS_EVERY_MS = 250;

/** Share of a job's percentage that aligning takes (rendering takes the rest). */
export const ALIGN_SHARE = 0.6;
