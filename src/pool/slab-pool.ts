// The slab pool: fixed-size slabs whose ownership moves by one compareExchange per transition (both threads).
//
// A slab's tag word holds its state, its owner and its generation together, so one compareExchange checks all three
// and changes them at once. Nothing about a slab is decided by timing: it returns to FREE only when its consumer says
// it is done with the bytes (for a response, the socket write callback), when its request is gone, or when main
// reclaims the slabs of a dead thread. The model is nginx's ngx_chain_update_chains: a buffer goes back to the free
// list only when its owner sees it fully sent.

import { SlabserveError } from '../errors.js';
import type { PoolMemory } from './pool-memory.js';
import {
  G_CLOSED,
  G_FREE,
  G_FREE_WAITERS,
  G_FREE_WAKE,
  G_LOW_WATER,
  G_REFUSED,
  G_WAITS,
  MAX_OWNER,
  R_WAKE,
  S_LENGTH,
  S_SLOT,
  S_TAG,
  SLAB_WORDS,
  slabAt,
  slotAt,
} from './slab-layout.js';
import { enterWait, leaveWait, wake, wakeAll, waitAsync, waitSync, type WaitOutcome } from './wake.js';

/** A slab's ownership state. Each comment says who moves a slab in, and who moves it out. */
export const SlabState = {
  /** In: release() by the consumer, a dropped request, or reclaim(). Out: acquire() by a producer. */
  FREE: 0,
  /** In: acquire(). The owner writes its bytes. Out: queue() by the owner, or release() if its request is gone. */
  FILLING: 1,
  /** In: queue(); a descriptor is on its way to the consumer. Out: startWrite() by the consumer, or release(). */
  QUEUED: 2,
  /** In: startWrite(); the consumer (a socket write, or a worker copying an upload) reads the bytes.
   *  Out: release() in the consumer's completion callback. */
  WRITING: 3,
} as const;
export type SlabState = (typeof SlabState)[keyof typeof SlabState];

const STATE_NAMES = ['FREE', 'FILLING', 'QUEUED', 'WRITING'] as const;

// Tag word: [generation:22][owner:8][state:2]. The generation changes on every acquire, so a stale reference to a
// slab (a late callback, a descriptor from a dead request) never matches the slab's next life.
const STATE_BITS = 2;
const OWNER_BITS = 8;
const GEN_SHIFT = STATE_BITS + OWNER_BITS;
const STATE_MASK = (1 << STATE_BITS) - 1;
const OWNER_MASK = (1 << OWNER_BITS) - 1;
export const GENERATION_MASK = (1 << (32 - GEN_SHIFT)) - 1;

function tagOf(generation: number, owner: number, state: SlabState): number {
  return ((generation << GEN_SHIFT) | (owner << STATE_BITS) | state) | 0;
}

/** Every field of a slab header, as printed when an invariant breaks. */
export interface SlabHeader {
  index: number;
  state: (typeof STATE_NAMES)[number];
  owner: number;
  generation: number;
  length: number;
  slot: number;
}

/** Returned by acquire() when no slab is free: running out is a value, not an exception. */
export const NO_SLAB = -1;

const never = (): boolean => false;

export class SlabPool {
  readonly size: number;
  readonly count: number;
  readonly memory: PoolMemory;
  private readonly control: Int32Array;
  /** Where this thread's next search for a free slab starts; per thread, so threads do not contend on it. */
  private cursor: number;
  /** This thread's Buffer view of each slab, made on first use (views of shared memory, never copies). */
  private readonly views: Buffer[] = [];

  constructor(memory: PoolMemory, cursorSeed = 0) {
    this.memory = memory;
    this.control = memory.control;
    this.size = memory.layout.slabSize;
    this.count = memory.layout.slabCount;
    this.cursor = Math.abs(cursorSeed * 7919) % this.count;
  }

  /**
   * Takes a FREE slab into FILLING for `owner`, on behalf of request slot `slot`. Returns its index, or NO_SLAB when
   * none is free. The tag compareExchange is the whole hand-over: the winner owns the slab, nobody else can.
   */
  acquire(owner: number, slot: number, near = -1): number {
    if (owner < 0 || owner > MAX_OWNER) throw new SlabserveError('ERR_INVALID_OPTION', `owner ${owner} out of range`);
    // The slab right after the caller's last one first, when it is free: a response whose slabs follow each other in
    // memory leaves main as one write per run of them, not one per slab (see ResponseWriter).
    if (near >= 0 && near < this.count && this.take(near, owner, slot)) return near;
    for (let tries = 0; tries < this.count; tries++) {
      if (Atomics.load(this.control, G_FREE) <= 0) return NO_SLAB;
      const i = this.cursor;
      this.cursor = i + 1 === this.count ? 0 : i + 1;
      if (this.take(i, owner, slot)) return i;
    }
    return NO_SLAB;
  }

  /** FREE → FILLING for slab `i`, if it is free: one compareExchange. */
  private take(i: number, owner: number, slot: number): boolean {
    const c = this.control;
    const at = this.memory.layout.slabsAt + i * SLAB_WORDS;
    const tag = Atomics.load(c, at + S_TAG);
    if ((tag & STATE_MASK) !== SlabState.FREE) return false;
    const generation = ((tag >>> GEN_SHIFT) + 1) & GENERATION_MASK;
    if (Atomics.compareExchange(c, at + S_TAG, tag, tagOf(generation, owner, SlabState.FILLING)) !== tag) return false;
    // Ours now. The length and slot fields are the owner's to write until it queues the slab.
    Atomics.store(c, at + S_LENGTH, 0);
    Atomics.store(c, at + S_SLOT, slot);
    // A release adds to G_FREE just after its compareExchange, so taking that slab first can drive the counter
    // briefly below the true count, even to -1; the low-water mark records the true floor, 0.
    const free = Atomics.sub(c, G_FREE, 1) - 1;
    this.lowerWater(Math.max(free, 0));
    return true;
  }

  /** FILLING → QUEUED: the owner has written `length` bytes and is about to publish a descriptor for them. */
  queue(index: number, generation: number, length: number): void {
    const at = this.headerAt(index, true);
    if (length < 0 || length > this.size) throw new SlabserveError('ERR_SLAB_INDEX', `length ${length} out of range`);
    // Only the slab's owner may write its length: a stale call is refused before it touches someone else's header.
    const tag = Atomics.load(this.control, at + S_TAG);
    if ((tag & STATE_MASK) !== SlabState.FILLING || tag >>> GEN_SHIFT !== generation) {
      this.refuse(index, generation, SlabState.FILLING, SlabState.QUEUED);
    }
    Atomics.store(this.control, at + S_LENGTH, length);
    this.transition(index, generation, SlabState.FILLING, SlabState.QUEUED);
  }

  /** QUEUED → WRITING: the consumer hands the bytes to the socket (or starts copying an upload out). */
  startWrite(index: number, generation: number): void {
    this.transition(index, generation, SlabState.QUEUED, SlabState.WRITING);
  }

  /**
   * `from` → FREE. Called in the consumer's completion callback (from WRITING), or for a request that is gone
   * (from FILLING or QUEUED). A release that does not match state and generation is refused: counted, then thrown.
   */
  release(index: number, generation: number, from: SlabState): void {
    // FREE → FREE would match a free slab and count it free a second time: only an owned slab can be released.
    if (from === SlabState.FREE) {
      this.headerAt(index, true);
      this.refuse(index, generation, from, SlabState.FREE);
    }
    this.transition(index, generation, from, SlabState.FREE);
    Atomics.add(this.control, G_FREE, 1);
    wake(this.control, G_FREE_WAKE, G_FREE_WAITERS);
  }

  /**
   * Frees every slab that `owner` holds in FILLING: the thread died mid-fill and will never queue them. Slabs it had
   * already queued are still valid and are left to their consumer. Returns how many were freed.
   */
  reclaim(owner: number): number {
    let freed = 0;
    for (let i = 0; i < this.count; i++) {
      const at = this.headerAt(i);
      const tag = Atomics.load(this.control, at + S_TAG);
      if ((tag & STATE_MASK) !== SlabState.FILLING || ((tag >>> STATE_BITS) & OWNER_MASK) !== owner) continue;
      const freeTag = tagOf(tag >>> GEN_SHIFT, owner, SlabState.FREE);
      if (Atomics.compareExchange(this.control, at + S_TAG, tag, freeTag) === tag) {
        Atomics.add(this.control, G_FREE, 1);
        freed++;
      }
    }
    if (freed > 0) wake(this.control, G_FREE_WAKE, G_FREE_WAITERS);
    return freed;
  }

  /**
   * Frees a slab whose consumer thread died after it was queued to it: it may be QUEUED or WRITING. Each attempt is
   * one exact compareExchange; returns false when the slab had already moved on (freed, or a newer generation).
   */
  reclaimSent(index: number, generation: number): boolean {
    const at = this.headerAt(index);
    const tag = Atomics.load(this.control, at + S_TAG);
    const state = tag & STATE_MASK;
    if (tag >>> GEN_SHIFT !== generation || (state !== SlabState.QUEUED && state !== SlabState.WRITING)) return false;
    const freeTag = tagOf(generation, (tag >>> STATE_BITS) & OWNER_MASK, SlabState.FREE);
    if (Atomics.compareExchange(this.control, at + S_TAG, tag, freeTag) !== tag) return false;
    Atomics.add(this.control, G_FREE, 1);
    wake(this.control, G_FREE_WAKE, G_FREE_WAITERS);
    return true;
  }

  /** The whole slab as a Buffer view of the shared memory (never a copy), made once per slab in each thread. */
  view(index: number): Buffer {
    let v = this.views[index];
    if (v === undefined) {
      this.headerAt(index);
      v = Buffer.from(this.memory.buffers.data, index * this.size, this.size);
      this.views[index] = v;
    }
    return v;
  }

  generation(index: number): number {
    return Atomics.load(this.control, this.headerAt(index) + S_TAG) >>> GEN_SHIFT;
  }

  state(index: number): SlabState {
    return (Atomics.load(this.control, this.headerAt(index) + S_TAG) & STATE_MASK) as SlabState;
  }

  header(index: number): SlabHeader {
    const at = this.headerAt(index);
    const tag = Atomics.load(this.control, at + S_TAG);
    return {
      index,
      state: STATE_NAMES[tag & STATE_MASK]!,
      owner: (tag >>> STATE_BITS) & OWNER_MASK,
      generation: tag >>> GEN_SHIFT,
      length: Atomics.load(this.control, at + S_LENGTH),
      slot: Atomics.load(this.control, at + S_SLOT),
    };
  }

  /** Slabs in FREE now (a counter kept beside the tags; exact whenever no transition is in progress). */
  free(): number {
    return Atomics.load(this.control, G_FREE);
  }

  lowWater(): number {
    return Atomics.load(this.control, G_LOW_WATER);
  }

  refused(): number {
    return Atomics.load(this.control, G_REFUSED);
  }

  waits(): number {
    return Atomics.load(this.control, G_WAITS);
  }

  closed(): boolean {
    return Atomics.load(this.control, G_CLOSED) !== 0;
  }

  /**
   * Marks the pool closed and wakes every thread waiting for a slab or for a request's credit; later waits return at
   * once. (Credit waiters sleep on their request slot's word, so each slot is woken too.)
   */
  close(): void {
    Atomics.store(this.control, G_CLOSED, 1);
    wakeAll(this.control, G_FREE_WAKE);
    for (let s = 0; s < this.memory.layout.slotCount; s++) wakeAll(this.control, slotAt(this.memory.layout, s) + R_WAKE);
  }

  /**
   * Waits until a slab may be free, without blocking the event loop. Resolves early on close, on wakeFreeWaiters()
   * (main calls it after aborting a request), when `gaveUp()` says the caller no longer wants a slab, or after
   * `timeoutMs`. The caller retries acquire() afterwards.
   */
  async waitForFree(timeoutMs = Infinity, gaveUp: () => boolean = never): Promise<WaitOutcome> {
    const seen = this.enterFreeWait(gaveUp);
    if (typeof seen !== 'number') return seen.answer;
    try {
      return await waitAsync(this.control, G_FREE_WAKE, seen, timeoutMs);
    } finally {
      leaveWait(this.control, G_FREE_WAITERS);
    }
  }

  /** The blocking form of waitForFree(), for synchronous producers in workers. */
  waitForFreeSync(timeoutMs = Infinity, gaveUp: () => boolean = never): WaitOutcome {
    const seen = this.enterFreeWait(gaveUp);
    if (typeof seen !== 'number') return seen.answer;
    try {
      return waitSync(this.control, G_FREE_WAKE, seen, timeoutMs);
    } finally {
      leaveWait(this.control, G_FREE_WAITERS);
    }
  }

  /** No wait when a slab is free, the pool is closed, or the caller gave up (an abort): else count the wait. */
  private enterFreeWait(gaveUp: () => boolean): { answer: WaitOutcome } | number {
    const c = this.control;
    const seen = enterWait(c, G_FREE_WAKE, G_FREE_WAITERS, () =>
      Atomics.load(c, G_FREE) > 0 || this.closed() || gaveUp() ? ('not-equal' as const) : null,
    );
    if (typeof seen === 'number') Atomics.add(c, G_WAITS, 1);
    return seen;
  }

  /** Wakes every thread waiting for a free slab, whatever the count says (used on abort and close). */
  wakeFreeWaiters(): void {
    wakeAll(this.control, G_FREE_WAKE);
  }

  private transition(index: number, generation: number, from: SlabState, to: SlabState): void {
    const at = this.headerAt(index, true);
    const tag = Atomics.load(this.control, at + S_TAG);
    const expected = tagOf(generation, (tag >>> STATE_BITS) & OWNER_MASK, from);
    const next = tagOf(generation, (tag >>> STATE_BITS) & OWNER_MASK, to);
    if (tag !== expected || Atomics.compareExchange(this.control, at + S_TAG, expected, next) !== expected) {
      this.refuse(index, generation, from, to);
    }
  }

  private refuse(index: number, generation: number, from: SlabState, to: SlabState): never {
    Atomics.add(this.control, G_REFUSED, 1);
    const h = this.header(index);
    throw new SlabserveError(
      'ERR_SLAB_TRANSITION_REFUSED',
      `${STATE_NAMES[from]} → ${STATE_NAMES[to]} at generation ${generation}, but slab ${h.index} is ` +
        `state=${h.state} owner=${h.owner} generation=${h.generation} length=${h.length} slot=${h.slot}`,
    );
  }

  /** `inTransition`: an index outside the pool is then a refused transition too, so it is counted before the throw. */
  private headerAt(index: number, inTransition = false): number {
    if (!(index >= 0 && index < this.count) || !Number.isInteger(index)) {
      if (inTransition) Atomics.add(this.control, G_REFUSED, 1);
      throw new SlabserveError('ERR_SLAB_INDEX', `slab ${index} is not in 0..${this.count - 1}`);
    }
    return slabAt(this.memory.layout, index);
  }

  private lowerWater(free: number): void {
    const c = this.control;
    let low = Atomics.load(c, G_LOW_WATER);
    while (free < low) {
      const seen = Atomics.compareExchange(c, G_LOW_WATER, low, free);
      if (seen === low) return;
      low = seen;
    }
  }
}
