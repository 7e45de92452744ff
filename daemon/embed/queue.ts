/**
 * A bounded hand-over between one producer and one consumer: put() waits while `capacity` items
 * are queued (back-pressure onto the decoder), take() waits for an item and returns undefined once
 * the producer has closed and the queue is drained. fail() passes an error on to the consumer.
 */
export class Bounded<T> {
  private items: T[] = [];
  private closed = false;
  private error: unknown;
  private failed = false;
  private wakeTaker?: () => void;
  private wakePutter?: () => void;

  constructor(private readonly capacity: number) {}

  async put(item: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.closed) await new Promise<void>((r) => (this.wakePutter = r));
    this.items.push(item);
    this.wake('taker');
  }

  async take(): Promise<T | undefined> {
    for (;;) {
      if (this.failed) throw this.error;
      if (this.items.length) {
        const item = this.items.shift();
        this.wake('putter');
        return item;
      }
      if (this.closed) return undefined;
      await new Promise<void>((r) => (this.wakeTaker = r));
    }
  }

  /** True once closed: a producer stops when its consumer has given up. */
  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.wake('taker');
    this.wake('putter');
  }

  fail(e: unknown): void {
    this.failed = true;
    this.error = e;
    this.close();
  }

  private wake(who: 'taker' | 'putter'): void {
    const f = who === 'taker' ? this.wakeTaker : this.wakePutter;
    if (who === 'taker') this.wakeTaker = undefined;
    else this.wakePutter = undefined;
    f?.();
  }
}
