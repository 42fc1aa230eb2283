// Main's reader of a worker's outbox keeps reading when routing one descriptor throws (main thread, one thread plays
// the worker).

import { describe, expect, it } from 'vitest';
import { OutboxReader } from '../../src/main/outbox-reader.js';
import { SlabserveError } from '../../src/errors.js';
import { createPoolMemory, DescriptorQueue, type Descriptor } from '../../src/pool/index.js';
import { waitFor } from '../helpers/server.js';

describe('the outbox reader', () => {
  it('hands a descriptor whose routing throws to onError, and routes the ones after it', async () => {
    const memory = createPoolMemory({ slabSize: 4096, slabCount: 4, slotCount: 2, queueCount: 2, queueCapacity: 8 });
    const queue = new DescriptorQueue(memory, 1);
    const routed: number[] = [];
    const failed: { code: unknown; slot: number | null }[] = [];
    let rejected: unknown = null;
    const reader = new OutboxReader(
      queue,
      (d: Descriptor) => {
        if (d.slot === 1) throw new SlabserveError('ERR_SLAB_TRANSITION_REFUSED', 'planted');
        routed.push(d.slot);
      },
      (err, d) => failed.push({ code: (err as SlabserveError).code, slot: d?.slot ?? null }),
      () => {},
      () => {},
      () => true,
    );
    reader.done.catch((err: unknown) => (rejected = err));
    for (const slot of [0, 1, 2]) queue.push(slot, 0, -1, 0, 0, 18, 0);
    await waitFor(() => routed.length, (n) => n === 2, { what: 'the descriptors after the bad one' });
    expect(routed).toEqual([0, 2]);
    expect(failed).toEqual([{ code: 'ERR_SLAB_TRANSITION_REFUSED', slot: 1 }]);
    queue.push(3, 0, -1, 0, 0, 18, 0);
    await waitFor(() => routed.length, (n) => n === 3, { what: 'a descriptor sent later' });
    reader.stop();
    await reader.done;
    expect(rejected).toBeNull();
  });
});
