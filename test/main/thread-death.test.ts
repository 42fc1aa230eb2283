// Cleaning up after a dead thread: nothing that was on its way to it reaches its replacement, and every slab comes
// back (main thread; the dead thread's queues are played by the test).

import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanUpAfterThread } from '../../src/main/thread-death.js';
import type { ThreadState } from '../../src/main/thread-supervisor.js';
import { inboxOf, Kind, outboxOf } from '../../src/protocol.js';
import { createPoolMemory, DescriptorQueue, emptyDescriptor, QueueSender, SlabPool } from '../../src/pool/index.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('cleaning up after a dead thread', () => {
  it('drops what waited in the sender backlog for a full inbox, freeing its slabs, so the retry sends nothing', () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const memory = createPoolMemory({ slabSize: 4096, slabCount: 4, slotCount: 2, queueCount: 2, queueCapacity: 2 });
    const pool = new SlabPool(memory, 0);
    const inbox = new DescriptorQueue(memory, inboxOf(1));
    const thread = {
      owner: 1,
      inbox,
      sender: new QueueSender(inbox),
      outbox: new DescriptorQueue(memory, outboxOf(1)),
      active: 0,
      headsWaiting: [],
    } as unknown as ThreadState;
    // Three upload slabs for a thread whose inbox holds two: the third waits in the backlog.
    for (let i = 0; i < 3; i++) {
      const slab = pool.acquire(0, 0);
      const gen = pool.generation(slab);
      pool.queue(slab, gen, 10);
      thread.sender.send({ slot: 0, slotGen: 1, slab, slabGen: gen, length: 10, kind: Kind.REQUEST_BODY, aux: 0, extra: 0 });
    }
    expect(pool.free()).toBe(1);

    cleanUpAfterThread(pool, thread, () => {}, new Set());
    vi.advanceTimersByTime(50);

    expect(inbox.pop(emptyDescriptor())).toBe(false);
    expect(pool.free()).toBe(4);
    expect(pool.refused()).toBe(0);
  });
});
