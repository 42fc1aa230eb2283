// Drains one worker thread's outbox on the main thread and hands each descriptor on (main thread).
//
// The loop reads everything there is, then sleeps on the queue with Atomics.waitAsync; the worker notifies only when
// the loop has said it sleeps. Hooks around each batch let the caller gather writes and spill under pressure. A
// descriptor that cannot be routed (a slabserve bug: a refused transition, a head that does not decode) is handed to
// onError and the loop reads on: one bad descriptor costs one request, never the server.

import { emptyDescriptor, type Descriptor, type DescriptorQueue } from '../pool/index.js';

/** Descriptors read before the loop yields to the event loop. */
const BATCH = 256;
/**
 * Empty turns of the event loop the reader polls before it sleeps, while its thread has requests in flight. A wake-up
 * through Atomics.notify costs the worker a futex call and this thread a scheduler round trip; under load the next
 * descriptor usually comes within a few turns, and a setImmediate poll yields to socket I/O meanwhile.
 */
const POLL_TURNS = 16;

export class OutboxReader {
  private readonly queue: DescriptorQueue;
  private readonly route: (d: Descriptor) => void;
  private readonly onError: (err: unknown, d: Descriptor | null) => void;
  private readonly beforeBatch: () => void;
  private readonly afterBatch: () => void;
  /** True while the thread has requests in flight, so more descriptors are coming. */
  private readonly expecting: () => boolean;
  private stopped = false;
  readonly done: Promise<void>;

  constructor(
    queue: DescriptorQueue,
    route: (d: Descriptor) => void,
    onError: (err: unknown, d: Descriptor | null) => void,
    beforeBatch: () => void,
    afterBatch: () => void,
    expecting: () => boolean,
  ) {
    this.queue = queue;
    this.route = route;
    this.onError = onError;
    this.beforeBatch = beforeBatch;
    this.afterBatch = afterBatch;
    this.expecting = expecting;
    this.done = this.run();
  }

  /** Reads what is queued now, synchronously (used before cleaning up after a dead thread). */
  drainNow(): void {
    const d = emptyDescriptor();
    while (this.queue.pop(d)) this.deliver(d);
  }

  stop(): void {
    this.stopped = true;
    this.queue.wakeConsumer();
  }

  private deliver(d: Descriptor): void {
    try {
      this.route(d);
    } catch (err) {
      this.onError(err, d);
    }
  }

  private async run(): Promise<void> {
    const d = emptyDescriptor();
    let idleTurns = 0;
    while (!this.stopped) {
      let n = 0;
      this.beforeBatch();
      while (n < BATCH && this.queue.pop(d)) {
        n++;
        this.deliver(d);
      }
      try {
        this.afterBatch();
      } catch (err) {
        this.onError(err, null);
      }
      if (this.stopped) return;
      idleTurns = n > 0 ? 0 : idleTurns + 1;
      if (n === BATCH || (idleTurns <= POLL_TURNS && this.expecting())) {
        // More is queued, or soon will be: let sockets, timers and other readers run, then read on without sleeping.
        await new Promise(setImmediate);
        continue;
      }
      const waited = this.queue.waitNonEmpty();
      if (typeof waited !== 'string') await waited;
    }
  }
}
