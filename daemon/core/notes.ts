/**
 * Notes: things worth telling someone who asked for detail (`-v`, the daemon's log) but not worth
 * failing or interrupting for, such as a damaged cache entry that was discarded and recomputed.
 * One sink per process or worker thread, set by whoever owns the output; none: notes are dropped.
 * A sink rather than a logger passed down: the code that finds these (caches) sits under the
 * engine, whose options should not grow a logger for them.
 */

export type NoteSink = (line: string) => void;

let sink: NoteSink | undefined;

/** Where notes go from now on (undefined: nowhere). */
export function setNoteSink(s: NoteSink | undefined): void {
  sink = s;
}

export function note(line: string): void {
  try {
    sink?.(line);
  } catch {
    // A note is never worth a failure (a closed stream, a dead client).
  }
}
