// What main does after a worker thread exited, before the loop is submitted again to its replacement (main thread).

import { emptyDescriptor, SlabState, type SlabPool } from '../pool/index.js';
import type { Exchange } from './exchange.js';
import { MAIN_OWNER } from './main-context.js';
import type { ThreadState } from './thread-supervisor.js';

/**
 * In order: read what the thread had already queued to us (valid slabs, maybe whole responses), free the slabs it was
 * filling, take back what we had queued to it (in its inbox, or still in our sender's backlog), reset its queues,
 * then answer or cut its requests. The caller runs this only once the thread has exited (ThreadSupervisor.exited),
 * and before a new loop is submitted, so no other thread touches these slabs and queues meanwhile. Returns how many
 * requests the thread took down with it.
 */
export function cleanUpAfterThread(pool: SlabPool, thread: ThreadState, drain: () => void, live: Set<Exchange>): number {
  drain();
  pool.reclaim(thread.owner);
  const d = emptyDescriptor();
  while (thread.inbox.pop(d)) {
    if (d.slab >= 0) pool.release(d.slab, d.slabGen, SlabState.QUEUED);
  }
  // Descriptors that waited for room in the ring were never seen by the thread: their slabs are ours to free, and
  // they must not reach the replacement, which knows nothing of these requests.
  for (const stale of thread.sender.clear()) {
    if (stale.slab >= 0) pool.release(stale.slab, stale.slabGen, SlabState.QUEUED);
  }
  const orphaned = new Set<number>();
  for (const ex of live) if (ex.thread === thread && !ex.workerDone) orphaned.add(ex.ref.slot);
  // Requests whose heads still wait for room in the arena are answered with the rest (they were this thread's).
  thread.headsWaiting.length = 0;
  // Upload slabs the thread had taken from its inbox but not freed: main filled them (owner 0).
  for (let i = 0; i < pool.count; i++) {
    const h = pool.header(i);
    if (h.owner === MAIN_OWNER && (h.state === 'QUEUED' || h.state === 'WRITING') && orphaned.has(h.slot)) {
      pool.reclaimSent(i, h.generation);
    }
  }
  thread.inbox.reset();
  thread.outbox.reset();
  // workerDied() takes each orphaned request off thread.active, so the count ends at 0 by itself.
  for (const ex of [...live]) if (orphaned.has(ex.ref.slot)) ex.workerDied();
  return orphaned.size;
}
