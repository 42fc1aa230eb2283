// The producer's end of a descriptor queue, with a backlog for the moment the ring is full (both threads).
//
// Rings are sized for every slab plus a few control descriptors per request, so a full ring is rare, but it is not
// impossible (a consumer thread stuck on the CPU while aborts and heads pile up): then descriptors wait here, in
// order, and a timer retries until the consumer has made room.

import type { Descriptor, DescriptorQueue } from './descriptor-queue.js';

export class QueueSender {
  private readonly queue: DescriptorQueue;
  private backlog: Descriptor[] = [];
  private retrying = false;

  constructor(queue: DescriptorQueue) {
    this.queue = queue;
  }

  /** Sends one descriptor. Order is kept: once anything waits in the backlog, later sends queue behind it. */
  send(slot: number, slotGen: number, slab: number, slabGen: number, length: number, kind: number, aux: number): void {
    if (this.backlog.length === 0 && this.queue.push(slot, slotGen, slab, slabGen, length, kind, aux)) return;
    this.backlog.push({ slot, slotGen, slab, slabGen, length, kind, aux });
    this.scheduleRetry();
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
      while (this.backlog.length > 0) {
        const p = this.backlog[0]!;
        if (!this.queue.push(p.slot, p.slotGen, p.slab, p.slabGen, p.length, p.kind, p.aux)) break;
        this.backlog.shift();
      }
      if (this.backlog.length > 0) this.scheduleRetry();
    }, 1);
  }
}
