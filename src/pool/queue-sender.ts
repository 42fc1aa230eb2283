// The producer's end of a descriptor queue: a backlog for the moment the ring is full, and when to ring (both threads).
//
// Rings are sized for every slab plus a few control descriptors per request, so a full ring is rare, but it is not
// impossible (a consumer thread stuck on the CPU while heads and aborts pile up): then descriptors wait here, in
// order, and a timer retries until the consumer has made room.
//
// Ringing the consumer's doorbell costs the producer an Atomics.notify whenever the consumer sleeps. A sender made
// with a `ringLater` function does not ring on each send: the first send after a ring calls ringLater, which must see
// to it that ring() is called soon (main's poller does, once per turn of its event loop), so a sleeping worker is
// woken once for all that was sent to it in that turn.

import type { Descriptor, DescriptorQueue } from './descriptor-queue.js';
import { copyDescriptor } from './descriptor-queue.js';

export class QueueSender {
  readonly queue: DescriptorQueue;
  private backlog: Descriptor[] = [];
  private retrying = false;
  private readonly ringLater: (() => void) | null;
  /** Something was sent since the last ring() (ringLater senders only). */
  private owed = false;

  constructor(queue: DescriptorQueue, ringLater: (() => void) | null = null) {
    this.queue = queue;
    this.ringLater = ringLater;
  }

  /** Sends one descriptor (copied if it must wait). Order is kept: once anything waits, later sends queue behind it. */
  send(d: Descriptor): void {
    if (this.backlog.length > 0 || !this.queue.push(d)) {
      this.backlog.push(copyDescriptor(d));
      this.scheduleRetry();
      return;
    }
    if (this.ringLater === null) this.queue.doorbell.ring();
    else if (!this.owed) {
      this.owed = true;
      this.ringLater();
    }
  }

  /** Asks for a ring without sending anything (the consumer has news that lives in shared memory: credit back). */
  owe(): void {
    if (this.ringLater === null) this.queue.doorbell.ring();
    else if (!this.owed) {
      this.owed = true;
      this.ringLater();
    }
  }

  /** Rings the consumer now, whether or not a later ring was arranged (there is nothing to wait for). */
  ringNow(): void {
    this.owed = false;
    this.queue.doorbell.ring();
  }

  /** Rings the consumer if anything was sent since the last ring (for ringLater senders). */
  ring(): void {
    if (!this.owed) return;
    this.owed = false;
    this.queue.doorbell.ring();
  }

  /**
   * Drops the backlog and returns it: its consumer is gone (a dead thread), so none of it may reach the ring, where
   * the consumer's replacement would read it. The caller frees the slabs it names.
   */
  clear(): Descriptor[] {
    const dropped = this.backlog;
    this.backlog = [];
    return dropped;
  }

  private scheduleRetry(): void {
    if (this.retrying) return;
    this.retrying = true;
    setTimeout(() => {
      this.retrying = false;
      while (this.backlog.length > 0 && this.queue.push(this.backlog[0]!)) this.backlog.shift();
      // Whatever went in now was never rung for.
      this.queue.doorbell.ring();
      if (this.backlog.length > 0) this.scheduleRetry();
    }, 1);
  }
}
