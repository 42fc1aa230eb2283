// Single-producer single-consumer rings of fixed-size descriptors between two threads, each with a byte arena
// (both threads).
//
// Publish protocol (ringbuf.js style): the producer writes a descriptor's words, then publishes it with one
// Atomics.store of Q_TAIL. The consumer reads the words, then frees the cell with one Atomics.store of Q_HEAD. Each
// word has exactly one writing thread. Pushing never wakes anyone by itself: the producer rings the consumer's
// doorbell (doorbell.ts) when it chooses, after one descriptor or after a batch of them.
//
// The arena carries variable-length bytes that travel with a descriptor (request heads): the producer writes them at
// its running position, then pushes the descriptor that names the position; the consumer copies them out and
// releases everything up to their end with one store of Q_ARENA_HEAD. Bytes are released in the order they were
// written, because descriptors are read in that order.

import { SlabserveError } from '../errors.js';
import { Doorbell } from './doorbell.js';
import type { PoolMemory } from './pool-memory.js';
import {
  arenaAt,
  D_AUX,
  D_EXTRA,
  D_KIND,
  D_LENGTH,
  D_SLAB,
  D_SLAB_GEN,
  D_SLOT,
  D_SLOT_GEN,
  DESC_WORDS,
  Q_ARENA_HEAD,
  Q_ARENA_TAIL,
  Q_CONSUMER,
  Q_HEAD,
  Q_SLEEPING,
  Q_TAIL,
  Q_WAKE,
  QUEUE_HEADER_WORDS,
  queueAt,
} from './slab-layout.js';
import type { WaitOutcome } from './wake.js';

/** One descriptor: which request, which slab, how many bytes, and what it means (kind, aux and extra are the caller's). */
export interface Descriptor {
  slot: number;
  slotGen: number;
  slab: number;
  slabGen: number;
  length: number;
  kind: number;
  aux: number;
  extra: number;
}

export function emptyDescriptor(): Descriptor {
  return { slot: 0, slotGen: 0, slab: -1, slabGen: 0, length: 0, kind: 0, aux: 0, extra: 0 };
}

/** A copy of `d`, for callers that keep a descriptor past the next pop into the same record. */
export function copyDescriptor(d: Descriptor): Descriptor {
  return { ...d };
}

export class DescriptorQueue {
  readonly capacity: number;
  /** The consumer's doorbell: this queue's own, or one the consumer shares between queues (main's). */
  readonly doorbell: Doorbell;
  private readonly c: Int32Array;
  private readonly head: number;
  private readonly tail: number;
  private readonly consumer: number;
  private readonly cells: number;
  private readonly mask: number;
  private readonly arena: Buffer;
  private readonly arenaHead: number;
  private readonly arenaTail: number;

  constructor(memory: PoolMemory, queue: number, doorbell?: Doorbell) {
    this.c = memory.control;
    this.capacity = memory.layout.queueCapacity;
    this.mask = this.capacity - 1;
    const at = queueAt(memory.layout, queue);
    this.head = at + Q_HEAD;
    this.tail = at + Q_TAIL;
    this.consumer = at + Q_CONSUMER;
    this.cells = at + QUEUE_HEADER_WORDS;
    this.arenaHead = at + Q_ARENA_HEAD;
    this.arenaTail = at + Q_ARENA_TAIL;
    this.arena = Buffer.from(memory.buffers.data, arenaAt(memory.layout, queue), memory.layout.arenaBytes);
    this.doorbell = doorbell ?? new Doorbell(memory.control, at + Q_SLEEPING, at + Q_WAKE);
  }

  // ---- producer ----

  /** Publishes one descriptor. Returns false when the ring is full: the caller keeps it and tries again later. */
  push(d: Descriptor): boolean {
    const c = this.c;
    const t = Atomics.load(c, this.tail);
    if (((t - Atomics.load(c, this.head)) | 0) >= this.capacity) return false;
    const at = this.cells + (t & this.mask) * DESC_WORDS;
    c[at + D_SLOT] = d.slot;
    c[at + D_SLOT_GEN] = d.slotGen;
    c[at + D_SLAB] = d.slab;
    c[at + D_SLAB_GEN] = d.slabGen;
    c[at + D_LENGTH] = d.length;
    c[at + D_KIND] = d.kind;
    c[at + D_AUX] = d.aux;
    c[at + D_EXTRA] = d.extra;
    // Publish: the words above become visible to the consumer with this store.
    Atomics.store(c, this.tail, (t + 1) | 0);
    return true;
  }

  /**
   * Writes `text` (latin1, one byte per char) into the arena. Returns its position, for the descriptor that carries
   * it, or -1 when the arena has no room now (the consumer has not released enough yet). A text that would wrap
   * around the end starts at the arena's start instead; the skipped bytes are released with it.
   */
  writeArena(text: string): number {
    const c = this.c;
    const size = this.arena.length;
    if (text.length > size) {
      // Never room: the pool's arenas are sized for the largest head the server accepts, so this is misuse.
      throw new SlabserveError('ERR_INVALID_OPTION', `${text.length} bytes do not fit a ${size}-byte arena`);
    }
    const tail = Atomics.load(c, this.arenaTail);
    const head = Atomics.load(c, this.arenaHead);
    const offset = tail & (size - 1);
    const pos = size - offset < text.length ? (tail + (size - offset)) | 0 : tail;
    const end = (pos + text.length) | 0;
    // Room unless the text would reach bytes not yet released (none are when head === tail).
    if (head !== tail && ((end - head) | 0) > size) return -1;
    this.arena.write(text, pos & (size - 1), text.length, 'latin1');
    // The producer's own word: the bytes are published by the push of the descriptor that names them.
    Atomics.store(c, this.arenaTail, end);
    return pos;
  }

  // ---- consumer ----

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
    into.extra = c[at + D_EXTRA]!;
    // Free the cell: the producer may overwrite it once it sees this store.
    Atomics.store(c, this.head, (h + 1) | 0);
    return true;
  }

  isEmpty(): boolean {
    return Atomics.load(this.c, this.head) === Atomics.load(this.c, this.tail);
  }

  /** The `length` arena bytes at `pos` as a latin1 string, and releases them (and everything written before them). */
  takeArena(pos: number, length: number): string {
    const offset = pos & (this.arena.length - 1);
    const text = this.arena.toString('latin1', offset, offset + length);
    Atomics.store(this.c, this.arenaHead, (pos + length) | 0);
    return text;
  }

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

  /**
   * Waits until the ring is non-empty, without blocking the event loop: the doorbell protocol for a consumer of this
   * one queue. Returns a plain value when that is known at once, else a promise.
   */
  waitNonEmpty(timeoutMs = Infinity): WaitOutcome | Promise<WaitOutcome> {
    const bell = this.doorbell;
    const seen = bell.arm();
    if (!this.isEmpty()) {
      bell.disarm();
      return 'not-equal';
    }
    const outcome = bell.waitAsync(seen, timeoutMs);
    if (typeof outcome === 'string') {
      bell.disarm();
      return outcome;
    }
    return outcome.then((o) => {
      bell.disarm();
      return o;
    });
  }

  /**
   * Drops every descriptor and arena byte in the queue, while its other side is gone (a dead thread's queues, before
   * the replacement starts). The doorbell is left as it is: a consumer still armed on it stays asleep until a ring.
   */
  reset(): void {
    Atomics.store(this.c, this.head, Atomics.load(this.c, this.tail));
    Atomics.store(this.c, this.arenaHead, Atomics.load(this.c, this.arenaTail));
  }
}
