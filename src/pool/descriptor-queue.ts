// Single-producer single-consumer rings of fixed-size descriptors between two threads (both threads).
//
// Publish protocol (ringbuf.js style): the producer writes a descriptor's words, then publishes it with one
// Atomics.store of Q_TAIL. The consumer reads the words, then frees the cell with one Atomics.store of Q_HEAD. Each
// of the two words has exactly one writing thread. The producer notifies only when the consumer has said it sleeps
// (Q_SLEEPING), so a busy consumer costs no notify per descriptor.

import type { PoolMemory } from './pool-memory.js';
import {
  D_AUX,
  D_KIND,
  D_LENGTH,
  D_SLAB,
  D_SLAB_GEN,
  D_SLOT,
  D_SLOT_GEN,
  DESC_WORDS,
  Q_CONSUMER,
  Q_HEAD,
  Q_SLEEPING,
  Q_TAIL,
  Q_WAKE,
  QUEUE_HEADER_WORDS,
  queueAt,
} from './slab-layout.js';
import { waitAsync, type WaitOutcome } from './wake.js';

/** One descriptor: which request, which slab, how many bytes, and what it means (kind and aux are the caller's). */
export interface Descriptor {
  slot: number;
  slotGen: number;
  slab: number;
  slabGen: number;
  length: number;
  kind: number;
  aux: number;
}

export function emptyDescriptor(): Descriptor {
  return { slot: 0, slotGen: 0, slab: -1, slabGen: 0, length: 0, kind: 0, aux: 0 };
}

export class DescriptorQueue {
  readonly capacity: number;
  private readonly c: Int32Array;
  private readonly head: number;
  private readonly tail: number;
  private readonly sleeping: number;
  private readonly wakeWord: number;
  private readonly consumer: number;
  private readonly cells: number;
  private readonly mask: number;

  constructor(memory: PoolMemory, queue: number) {
    this.c = memory.control;
    this.capacity = memory.layout.queueCapacity;
    this.mask = this.capacity - 1;
    const at = queueAt(memory.layout, queue);
    this.head = at + Q_HEAD;
    this.tail = at + Q_TAIL;
    this.sleeping = at + Q_SLEEPING;
    this.wakeWord = at + Q_WAKE;
    this.consumer = at + Q_CONSUMER;
    this.cells = at + QUEUE_HEADER_WORDS;
  }

  // ---- producer ----

  /** Publishes one descriptor. Returns false when the ring is full: the caller keeps it and tries again later. */
  push(slot: number, slotGen: number, slab: number, slabGen: number, length: number, kind: number, aux: number): boolean {
    const c = this.c;
    const t = Atomics.load(c, this.tail);
    if (((t - Atomics.load(c, this.head)) | 0) >= this.capacity) return false;
    const at = this.cells + (t & this.mask) * DESC_WORDS;
    c[at + D_SLOT] = slot;
    c[at + D_SLOT_GEN] = slotGen;
    c[at + D_SLAB] = slab;
    c[at + D_SLAB_GEN] = slabGen;
    c[at + D_LENGTH] = length;
    c[at + D_KIND] = kind;
    c[at + D_AUX] = aux;
    // Publish: the words above become visible to the consumer with this store.
    Atomics.store(c, this.tail, (t + 1) | 0);
    // Notify only a consumer that has said it sleeps, and only once per sleep: the push that takes the flag from 1 to 0
    // wakes it; pushes made while it is still waking see 0 and skip the notify (a futex call each, otherwise).
    if (Atomics.load(c, this.sleeping) !== 0 && Atomics.compareExchange(c, this.sleeping, 1, 0) === 1) {
      Atomics.add(c, this.wakeWord, 1);
      Atomics.notify(c, this.wakeWord);
    }
    return true;
  }

  // ---- consumer ----

  /**
   * Says which thread consumes the queue from now on (its worker_threads threadId; 0 for none). The consumer stores
   * it before it reads anything, so the other side always knows which thread may hold what the queue carried.
   */
  claim(threadId: number): void {
    Atomics.store(this.c, this.consumer, threadId);
  }

  /** The threadId last given to claim(), or 0. */
  consumerThread(): number {
    return Atomics.load(this.c, this.consumer);
  }

  /** Reads the next descriptor into `into`. Returns false when the ring is empty. */
  pop(into: Descriptor): boolean {
    const c = this.c;
    const h = Atomics.load(c, this.head);
    if (h === Atomics.load(c, this.tail)) return false;
    const at = this.cells + (h & this.mask) * DESC_WORDS;
    into.slot = c[at + D_SLOT]!;
    into.slotGen = c[at + D_SLOT_GEN]!;
    into.slab = c[at + D_SLAB]!;
    into.slabGen = c[at + D_SLAB_GEN]!;
    into.length = c[at + D_LENGTH]!;
    into.kind = c[at + D_KIND]!;
    into.aux = c[at + D_AUX]!;
    // Free the cell: the producer may overwrite it once it sees this store.
    Atomics.store(c, this.head, (h + 1) | 0);
    return true;
  }

  /**
   * Waits until the ring is non-empty, without blocking the event loop. Returns a plain value when that is known at
   * once (Atomics.waitAsync answers synchronously when the word already changed), else a promise.
   */
  waitNonEmpty(timeoutMs = Infinity): WaitOutcome | Promise<WaitOutcome> {
    const seen = this.announceSleep();
    if (seen === null) return 'not-equal';
    const outcome = waitAsync(this.c, this.wakeWord, seen, timeoutMs);
    if (typeof outcome === 'string') {
      Atomics.store(this.c, this.sleeping, 0);
      return outcome;
    }
    return outcome.then((o) => {
      Atomics.store(this.c, this.sleeping, 0);
      return o;
    });
  }

  /** Wakes a sleeping consumer from outside (to make it notice a close or a reset). */
  wakeConsumer(): void {
    Atomics.add(this.c, this.wakeWord, 1);
    Atomics.notify(this.c, this.wakeWord);
  }

  /**
   * Drops every descriptor in the ring, while its other side is gone (a dead thread's queues, before the replacement
   * starts). Q_SLEEPING is the consumer's and is left as it is: a consumer still parked on the ring (main's reader of a
   * dead thread's outbox) stays asleep with the flag set, so the next push wakes it.
   */
  reset(): void {
    Atomics.store(this.c, this.head, Atomics.load(this.c, this.tail));
  }

  /**
   * Says "about to sleep", then re-checks the ring. Returns the wake word to wait on, or null if work arrived in
   * between (a producer that published before seeing the flag did not notify, so the re-check must catch it).
   */
  private announceSleep(): number | null {
    const c = this.c;
    const seen = Atomics.load(c, this.wakeWord);
    Atomics.store(c, this.sleeping, 1);
    if (Atomics.load(c, this.head) !== Atomics.load(c, this.tail)) {
      Atomics.store(c, this.sleeping, 0);
      return null;
    }
    return seen;
  }
}
