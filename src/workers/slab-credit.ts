// Taking a slab for a response within its request's credit, waiting when there is none (worker thread).
//
// A writer may own at most its window of slabs. Out of credit, or with the pool empty, it waits and never fails: the
// async forms sleep with Atomics.waitAsync, so the thread's other requests go on; the sync forms block the thread,
// for producers that cannot await. An abort or a pool close ends any wait with a coded error.

import { SlabserveError } from '../errors.js';
import { NO_SLAB, type SlotRef } from '../pool/index.js';
import type { WriterContext } from './slab-writer.js';

function aborted(): SlabserveError {
  return new SlabserveError('ERR_REQUEST_ABORTED');
}

/**
 * A slab now if the request has credit and the pool a free slab, else NO_SLAB; slab `near` if it is free (the one after
 * the writer's last). Counts the slab against the window.
 */
export function tryAcquire(ctx: WriterContext, ref: SlotRef, near = -1): number {
  const { pool, slots } = ctx;
  if (!slots.hasCredit(ref.slot)) return NO_SLAB;
  const i = pool.acquire(ctx.owner, ref.slot, near);
  if (i !== NO_SLAB) slots.tookResponseSlab(ref.slot);
  return i;
}

/** Waits for credit, then for a free slab, until one is ours. Throws ERR_REQUEST_ABORTED or ERR_POOL_CLOSED. */
export async function acquireSlow(ctx: WriterContext, ref: SlotRef, near = -1): Promise<number> {
  const { pool, slots } = ctx;
  const gaveUp = (): boolean => slots.aborted(ref);
  for (;;) {
    if (gaveUp()) throw aborted();
    if (pool.closed()) throw new SlabserveError('ERR_POOL_CLOSED');
    if (!slots.hasCredit(ref.slot)) await ctx.credit.wait(ref);
    const i = tryAcquire(ctx, ref, near);
    if (i !== NO_SLAB) return i;
    await pool.waitForFree(Infinity, gaveUp);
  }
}

/** The blocking form of acquireSlow(). */
export function acquireSync(ctx: WriterContext, ref: SlotRef, near = -1): number {
  const { pool, slots } = ctx;
  const gaveUp = (): boolean => slots.aborted(ref);
  for (;;) {
    if (gaveUp()) throw aborted();
    if (pool.closed()) throw new SlabserveError('ERR_POOL_CLOSED');
    const outcome = slots.waitCreditSync(ref);
    if (outcome === 'aborted') throw aborted();
    if (outcome === 'closed') throw new SlabserveError('ERR_POOL_CLOSED');
    const i = tryAcquire(ctx, ref, near);
    if (i !== NO_SLAB) return i;
    pool.waitForFreeSync(Infinity, gaveUp);
  }
}
