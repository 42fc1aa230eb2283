// Writers of this thread waiting for their request's credit, told by the serve loop when it comes (worker thread).
//
// Main gives credit back in its write callbacks. Notifying a waiting worker for each refill would cost main an
// Atomics.notify (12–30 µs here) per refill per request; instead a waiting writer flags its slot (SLOT_CREDIT_WANTED)
// and main rings this thread's inbox doorbell, once per turn of its event loop for everything it gave back in that turn.
// The serve loop wakes on the ring and calls check(), which resolves every writer whose request has credit again, was
// aborted, or whose pool closed.

import { SlabserveError } from '../errors.js';
import type { RequestSlots, SlabPool, SlotRef } from '../pool/index.js';

interface Waiter {
  ref: SlotRef;
  resolve: () => void;
  reject: (err: SlabserveError) => void;
}

export class CreditWaits {
  private readonly slots: RequestSlots;
  private readonly pool: SlabPool;
  private waiters: Waiter[] = [];

  constructor(slots: RequestSlots, pool: SlabPool) {
    this.slots = slots;
    this.pool = pool;
  }

  /** Resolves once request `ref` may take a response slab; rejects ERR_REQUEST_ABORTED or ERR_POOL_CLOSED. */
  wait(ref: SlotRef): Promise<void> {
    if (this.slots.wantCredit(ref.slot)) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ ref, resolve, reject }));
  }

  /**
   * True when check() would settle a waiter now. The serve loop asks after it has armed its doorbell and before it
   * sleeps: credit given back between its last check() and the arm() rang no bell (main rings only a consumer that says
   * it sleeps), so only this look sees it.
   */
  ready(): boolean {
    if (this.waiters.length === 0) return false;
    if (this.pool.closed()) return true;
    for (const w of this.waiters) if (this.slots.aborted(w.ref) || this.slots.hasCredit(w.ref.slot)) return true;
    return false;
  }

  /** Settles every waiter whose request has credit again, was aborted, or whose pool closed (the serve loop, on waking). */
  check(): void {
    if (this.waiters.length === 0) return;
    const closed = this.pool.closed();
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (this.slots.aborted(w.ref)) w.reject(new SlabserveError('ERR_REQUEST_ABORTED'));
      else if (closed) w.reject(new SlabserveError('ERR_POOL_CLOSED'));
      else if (this.slots.hasCredit(w.ref.slot)) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }
}
