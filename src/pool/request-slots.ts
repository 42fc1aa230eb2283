// Per-request credit slots: how many slabs a request owns, its window, and its abort flag (both threads).
//
// Main hands a slot to each request it dispatches and takes it back when the request is done; workers only read the
// slot and move its counters. A writer that reaches its window waits on the slot's wake word. Main bumps that word
// when half the window has come back (gaveResponseSlab), on abort, and when the pool closes (SlabPool.close), so a
// waiter always wakes for credit, an abort or the close.

import { SlabserveError } from '../errors.js';
import type { PoolMemory } from './pool-memory.js';
import {
  G_CLOSED,
  G_WAITS,
  R_FLAGS,
  R_GEN,
  R_REQ_OWNED,
  R_RESP_OWNED,
  R_WAITERS,
  R_WAKE,
  R_WINDOW,
  slotAt,
} from './slab-layout.js';
import { enterWait, leaveWait, wake, waitAsync, waitSync } from './wake.js';

/** R_FLAGS bit, set by main with Atomics.or and never cleared until the slot is reused: the request is over. */
export const SLOT_ABORTED = 1;
/**
 * R_FLAGS bit, set by a worker (Atomics.or) whose writer waits for credit through its serve loop, cleared by main
 * (Atomics.and) when it gives back enough: main then rings the worker's inbox instead of notifying the slot's word.
 */
export const SLOT_CREDIT_WANTED = 2;

/** The count at which a writer waiting for credit is woken: half its window back. */
export function refillMark(window: number): number {
  return window >> 1;
}

/** Why a wait for credit ended. */
export type CreditOutcome = 'ok' | 'aborted' | 'closed';

/** A slot handed to one request: the generation tells this request apart from earlier users of the slot. */
export interface SlotRef {
  slot: number;
  generation: number;
}

export class RequestSlots {
  readonly count: number;
  private readonly control: Int32Array;
  private readonly memory: PoolMemory;
  /** Main only: slots not handed out, as a stack so recently used (cache-warm) slots are reused first. */
  private freeSlots: number[] | null = null;

  constructor(memory: PoolMemory) {
    this.memory = memory;
    this.control = memory.control;
    this.count = memory.layout.slotCount;
  }

  // ---- main thread: the slot's lifecycle ----

  /** Hands a slot to a new request with the given window. Returns null when every slot is in use. Main only. */
  open(window: number): SlotRef | null {
    if (!Number.isInteger(window) || window < 1) {
      throw new SlabserveError('ERR_INVALID_OPTION', `window must be a positive integer, got ${window}`);
    }
    if (this.freeSlots === null) this.freeSlots = Array.from({ length: this.count }, (_, i) => this.count - 1 - i);
    const slot = this.freeSlots.pop();
    if (slot === undefined) return null;
    const at = this.at(slot);
    const c = this.control;
    // Reset the counters before the new generation is published: a worker that sees the new generation sees them.
    Atomics.store(c, at + R_RESP_OWNED, 0);
    Atomics.store(c, at + R_REQ_OWNED, 0);
    Atomics.store(c, at + R_FLAGS, 0);
    Atomics.store(c, at + R_WINDOW, window);
    const generation = (Atomics.load(c, at + R_GEN) + 1) | 0;
    Atomics.store(c, at + R_GEN, generation);
    return { slot, generation };
  }

  /** Takes a slot back once its request is finished and none of its slabs is still out. Main only. */
  retire(slot: number): void {
    this.abort(slot);
    this.freeSlots!.push(slot);
  }

  /**
   * Marks the request aborted and wakes its credit waiters. A writer of the request may instead wait for a free slab:
   * the caller also calls SlabPool.wakeFreeWaiters() (the slot knows nothing of the pool's wake word).
   */
  abort(slot: number): void {
    const at = this.at(slot);
    Atomics.or(this.control, at + R_FLAGS, SLOT_ABORTED);
    // Only a waiter needs the notify (retire() aborts every finished request): one that counts itself in after this
    // check reads the flag before it waits (enterWait), so it cannot miss the abort.
    wake(this.control, at + R_WAKE, at + R_WAITERS);
  }

  // ---- counters, moved by whichever thread takes or gives back a slab ----

  /** A response slab was acquired for this request (worker). Returns the new count. */
  tookResponseSlab(slot: number): number {
    return Atomics.add(this.control, this.at(slot) + R_RESP_OWNED, 1) + 1;
  }

  /**
   * A response slab of this request was released (main, in the write callback). Once half the window is back (the
   * refill mark) it wakes a writer blocked waiting for credit, and returns true if a writer waiting through its serve
   * loop asked to hear of it: the caller then rings that thread's inbox, together with whatever else it sends this
   * turn, rather than pay a notify per refill (one cost main a sixth of its time on large bodies).
   */
  gaveResponseSlab(slot: number): boolean {
    const at = this.at(slot);
    const c = this.control;
    const owned = Atomics.sub(c, at + R_RESP_OWNED, 1) - 1;
    // Hysteresis: a writer that ran out of credit hears once, when half its window has come back, rather than on every
    // release. A writer that looked before this release found the credit without waiting.
    if (owned > refillMark(Atomics.load(c, at + R_WINDOW))) return false;
    if (owned === refillMark(Atomics.load(c, at + R_WINDOW))) wake(c, at + R_WAKE, at + R_WAITERS);
    return (Atomics.load(c, at + R_FLAGS) & SLOT_CREDIT_WANTED) !== 0 && (Atomics.and(c, at + R_FLAGS, ~SLOT_CREDIT_WANTED) & SLOT_CREDIT_WANTED) !== 0;
  }

  /**
   * Says a writer of this request waits for credit through its serve loop (worker). Returns true if the request has
   * credit after all (checked after the flag is set, so a release before it is seen here, and one after it rings).
   */
  wantCredit(slot: number): boolean {
    const at = this.at(slot);
    Atomics.or(this.control, at + R_FLAGS, SLOT_CREDIT_WANTED);
    if (this.hasCredit(slot)) return true;
    Atomics.add(this.control, G_WAITS, 1);
    return false;
  }

  /** An upload slab was queued to the worker for this request (main). Returns the new count. */
  tookUploadSlab(slot: number): number {
    return Atomics.add(this.control, this.at(slot) + R_REQ_OWNED, 1) + 1;
  }

  /** An upload slab was consumed and released (worker). Returns the new count. */
  gaveUploadSlab(slot: number): number {
    return Atomics.sub(this.control, this.at(slot) + R_REQ_OWNED, 1) - 1;
  }

  uploadOwned(slot: number): number {
    return Atomics.load(this.control, this.at(slot) + R_REQ_OWNED);
  }

  window(slot: number): number {
    return Atomics.load(this.control, this.at(slot) + R_WINDOW);
  }

  /** True when the request is aborted, or the slot already serves a newer request. */
  aborted(ref: SlotRef): boolean {
    const at = this.at(ref.slot);
    return (
      (Atomics.load(this.control, at + R_FLAGS) & SLOT_ABORTED) !== 0 ||
      Atomics.load(this.control, at + R_GEN) !== ref.generation
    );
  }

  /** True when the request may take one more response slab now. */
  hasCredit(slot: number): boolean {
    const at = this.at(slot);
    return Atomics.load(this.control, at + R_RESP_OWNED) < Atomics.load(this.control, at + R_WINDOW);
  }

  // ---- waiting for credit (worker) ----

  /** Waits, without blocking the event loop, until the request may take a response slab, is aborted, or the pool closes. */
  async waitCredit(ref: SlotRef): Promise<CreditOutcome> {
    const at = this.at(ref.slot);
    for (;;) {
      const seen = this.enterCreditWait(ref, at);
      if (typeof seen !== 'number') return seen.answer;
      try {
        await waitAsync(this.control, at + R_WAKE, seen);
      } finally {
        leaveWait(this.control, at + R_WAITERS);
      }
    }
  }

  /** The blocking form of waitCredit(), for synchronous producers in workers. */
  waitCreditSync(ref: SlotRef): CreditOutcome {
    const at = this.at(ref.slot);
    for (;;) {
      const seen = this.enterCreditWait(ref, at);
      if (typeof seen !== 'number') return seen.answer;
      try {
        waitSync(this.control, at + R_WAKE, seen);
      } finally {
        leaveWait(this.control, at + R_WAITERS);
      }
    }
  }

  /** No wait when there is credit, or an answer (aborted, closed): else count the wait. */
  private enterCreditWait(ref: SlotRef, at: number): { answer: CreditOutcome } | number {
    const seen = enterWait(this.control, at + R_WAKE, at + R_WAITERS, () => this.creditNow(ref));
    if (typeof seen === 'number') Atomics.add(this.control, G_WAITS, 1);
    return seen;
  }

  private creditNow(ref: SlotRef): CreditOutcome | null {
    if (Atomics.load(this.control, G_CLOSED) !== 0) return 'closed';
    if (this.aborted(ref)) return 'aborted';
    return this.hasCredit(ref.slot) ? 'ok' : null;
  }

  private at(slot: number): number {
    if (!(slot >= 0 && slot < this.count) || !Number.isInteger(slot)) {
      throw new SlabserveError('ERR_SLOT_INDEX', `request slot ${slot} is not in 0..${this.count - 1}`);
    }
    return slotAt(this.memory.layout, slot);
  }
}
