// Drains one worker thread's outbox on the main thread and hands each descriptor on (main thread).
//
// The loop reads everything there is, then sleeps on the queue with Atomics.waitAsync; the worker notifies only when
// the loop has said it sleeps. Hooks around each batch let the caller gather writes and spill under pressure.

import { emptyDescriptor, type Descriptor, type DescriptorQueue } from '../pool/index.js';

/** Descriptors read before the loop yields to the event loop. */
const BATCH = 256;

export class OutboxReader {
  private readonly queue: DescriptorQueue;
  private readonly route: (d: Descriptor) => void;
  private readonly beforeBatch: () => void;
  private readonly afterBatch: () => void;
  private stopped = false;
  readonly done: Promise<void>;

  constructor(
    queue: DescriptorQueue,
    route: (d: Descriptor) => void,
    beforeBatch: () => void,
    afterBatch: () => void,
  ) {
    this.queue = queue;
    this.route = route;
    this.beforeBatch = beforeBatch;
    this.afterBatch = afterBatch;
    this.done = this.run();
  }

  /** Reads what is queued now, synchronously (used before cleaning up after a dead thread). */
  drainNow(): void {
    const d = emptyDescriptor();
    while (this.queue.pop(d)) this.route(d);
  }

  stop(): void {
    this.stopped = true;
    this.queue.wakeConsumer();
  }

  private async run(): Promise<void> {
    const d = emptyDescriptor();
    while (!this.stopped) {
      let n = 0;
      this.beforeBatch();
      while (n < BATCH && this.queue.pop(d)) {
        n++;
        this.route(d);
      }
      this.afterBatch();
      if (this.stopped) return;
      if (n === BATCH) {
        // More may be queued: let sockets, timers and other threads' readers run before reading on.
        await new Promise(setImmediate);
        continue;
      }
      const waited = this.queue.waitNonEmpty();
      if (typeof waited !== 'string') await waited;
    }
  }
}
