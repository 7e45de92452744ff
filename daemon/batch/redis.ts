import type { RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { VidkompyError } from '../core/errors';
import { CONNECT_TIMEOUT_MS, GIVE_UP_MS } from './constants';

/** A `--queue redis://[USER:PASSWORD@]HOST[:PORT][/DB]` (rediss:// for TLS), checked. */
export interface QueueAddress {
  /** The URL without its password: what messages show. */
  shown: string;
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
}

export function parseQueueUrl(raw: string): QueueAddress {
  const bad = (why: string) => new VidkompyError('BAD_ARGS', `--queue ${raw}: ${why}; give redis://HOST:PORT[/DB]`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw bad('not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw bad(`unknown scheme '${u.protocol.replace(/:$/, '')}'`);
  if (!u.hostname) throw bad('no host');
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw bad(`'${u.pathname.slice(1)}' is not a database number`);
  const port = u.port ? Number(u.port) : 6379;
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  return { shown: `${u.protocol}//${u.host}${db ? `/${db}` : ''}`, host, port, db, username: u.username || undefined, password, tls: u.protocol === 'rediss:' };
}

/** The one-line error for a queue that cannot be reached or was lost. */
export function queueError(a: QueueAddress, detail: string, lost = false): VidkompyError {
  const what = lost ? 'lost the connection to the job queue' : 'cannot reach the job queue';
  // The fix as data: the CLI says --queue, the editor its vidkompy.queue setting.
  return new VidkompyError('QUEUE', `${a.shown}: ${what} (${detail})`, undefined, { kind: 'options', verb: 'check', options: ['queue'], to: 'and that redis-server runs there' });
}

function detailOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ?? err?.message?.split('\n')[0] ?? String(e);
}

/** A connection's options with what it learnt: the last error, and whether it gave up. */
export interface QueueLink {
  options: RedisOptions;
  /** Rejects (once) with the one-line error when the connection stays down GIVE_UP_MS. */
  lost: Promise<never>;
  /** Give it to every BullMQ object's 'error' event: the reason ("ECONNREFUSED") for the message. */
  noteError: (e: unknown) => void;
}

/**
 * Connection options for BullMQ: bounded everywhere. ioredis retries forever by default; here a
 * connection that stays down GIVE_UP_MS rejects `lost` and stops retrying, so commands fail and
 * the caller ends with one line instead of hanging.
 */
export function queueLink(a: QueueAddress): QueueLink {
  let since = 0;
  let lastError = 'connection closed';
  let giveUp!: (e: VidkompyError) => void;
  const lost = new Promise<never>((_, rej) => (giveUp = rej));
  lost.catch(() => undefined); // whoever races it sees the rejection; nobody else must
  const options: RedisOptions = {
    host: a.host,
    port: a.port,
    db: a.db,
    username: a.username,
    password: a.password,
    tls: a.tls ? {} : undefined,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1, // BullMQ sets null itself where it blocks (a worker's fetch)
    retryStrategy: (times: number) => {
      if (times === 1) since = Date.now();
      if (Date.now() - since < GIVE_UP_MS) return Math.min(250 * times, 1000);
      giveUp(queueError(a, lastError, true));
      return null;
    },
  };
  return { options, lost, noteError: (e) => (lastError = detailOf(e)) };
}

/** Tries the queue once, within CONNECT_TIMEOUT_MS: a wrong host or a stopped server fails fast. */
export async function probeQueue(a: QueueAddress): Promise<void> {
  const client = new Redis({ ...queueLink(a).options, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  let detail = 'no answer';
  client.on('error', (e) => (detail = detailOf(e)));
  try {
    const late = new Promise((_, rej) => setTimeout(() => rej(new Error('timed out')), CONNECT_TIMEOUT_MS + 500).unref());
    await Promise.race([client.connect().then(() => client.ping()), late]);
  } catch (e) {
    throw queueError(a, detail === 'no answer' ? detailOf(e) : detail);
  } finally {
    client.disconnect();
  }
}

/** Runs `fn` against the queue; a Redis failure inside becomes the one-line queue error. */
export async function onQueue<T>(a: QueueAddress, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof VidkompyError) throw e;
    throw queueError(a, detailOf(e), true);
  }
}
