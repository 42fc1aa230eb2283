// The producer's end of a descriptor queue, with a backlog for the rare moment the ring is full (both threads).

import type { Descriptor, DescriptorQueue } from './descriptor-queue.js';

export class QueueSender {
  private readonly queue: DescriptorQueue;
  private readonly backlog: Descriptor[] = [];
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

  private scheduleRetry(): void {
    if (this.retrying) return;
    this.retrying = true;
    // The consumer drains the ring continuously; a later turn of the event loop finds room.
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
