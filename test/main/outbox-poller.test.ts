// Main's poller of the workers' outboxes: it reads on past a descriptor whose routing throws, sleeps on main's
// doorbell when nothing is expected, and is woken by a worker's ring or, with no ring at all, by a dispatch's kick
// (main thread; one thread plays the workers).

import { afterEach, describe, expect, it, vi } from 'vitest';
import { OutboxPoller, type PollerHooks } from '../../src/main/outbox-poller.js';
import type { ThreadState } from '../../src/main/thread-supervisor.js';
import { SlabserveError } from '../../src/errors.js';
import { control, Kind, mainDoorbell } from '../../src/protocol.js';
import { createPoolMemory, DescriptorQueue, type Descriptor } from '../../src/pool/index.js';
import { waitFor } from '../helpers/server.js';

const pollers: OutboxPoller[] = [];
afterEach(() => {
  for (const p of pollers.splice(0)) p.stop();
  vi.restoreAllMocks();
});

function rig(hooks: Partial<PollerHooks> & { route: PollerHooks['route'] }) {
  const memory = createPoolMemory({ slabSize: 4096, slabCount: 4, slotCount: 8, queueCount: 4, queueCapacity: 16 });
  const bell = mainDoorbell(memory);
  const rings: number[] = [0, 0];
  const threads = [1, 2].map(
    (owner) =>
      ({
        owner,
        outbox: new DescriptorQueue(memory, 2 * (owner - 1) + 1, bell),
        sender: { ring: () => void rings[owner - 1]!++ },
      }) as unknown as ThreadState,
  );
  const poller = new OutboxPoller(threads, bell, {
    onError: () => {},
    beforeBatch: () => {},
    afterBatch: () => {},
    expecting: () => false,
    eachTurn: () => {},
    ...hooks,
  });
  pollers.push(poller);
  /** A worker pushes and rings, as ServeLoop's sender does. */
  const push = (owner: number, d: Descriptor): void => {
    threads[owner - 1]!.outbox.push(d);
    bell.ring();
  };
  return { poller, threads, bell, push, rings };
}

describe('the outbox poller', () => {
  it('hands a descriptor whose routing throws to onError, and routes the ones after it', async () => {
    const routed: number[] = [];
    const failed: { code: unknown; slot: number | null }[] = [];
    const { push } = rig({
      route: (_t, d) => {
        if (d.slot === 1) throw new SlabserveError('ERR_SLAB_TRANSITION_REFUSED', 'planted');
        routed.push(d.slot);
      },
      onError: (_t, err, d) => failed.push({ code: (err as SlabserveError).code, slot: d?.slot ?? null }),
    });
    for (const slot of [0, 1, 2]) push(1, control(slot, 0, Kind.RESPONSE_END));
    await waitFor(() => routed.length, (n) => n === 2, { what: 'the descriptors after the bad one' });
    expect(routed).toEqual([0, 2]);
    expect(failed).toEqual([{ code: 'ERR_SLAB_TRANSITION_REFUSED', slot: 1 }]);
    push(2, control(3, 0, Kind.RESPONSE_END));
    await waitFor(() => routed.length, (n) => n === 3, { what: 'a descriptor sent later, on another outbox' });
  });

  it('sleeps on the doorbell when nothing is expected, and a ring wakes it', async () => {
    const routed: number[] = [];
    const { bell, push } = rig({ route: (_t, d) => void routed.push(d.slot) });
    await waitFor(() => bell.armed, (a) => a, { what: 'the poller to arm its doorbell' });
    const notify = vi.spyOn(Atomics, 'notify');
    push(2, control(5, 0, Kind.RESPONSE_END));
    expect(notify).toHaveBeenCalledTimes(1);
    await waitFor(() => routed, (r) => r.length === 1, { what: 'the ringing descriptor' });
  });

  it('turns on a kick with no ring, rings owed inboxes on that turn, and polls while an answer is expected', async () => {
    const routed: number[] = [];
    let expecting = false;
    const { poller, bell, threads, rings } = rig({ route: (_t, d) => void routed.push(d.slot), expecting: () => expecting });
    await waitFor(() => bell.armed, (a) => a, { what: 'the poller to arm its doorbell' });
    const notify = vi.spyOn(Atomics, 'notify');
    expecting = true;
    poller.kick();
    expect(bell.armed).toBe(false);
    // The worker answers while main polls: it pushes and rings, but main is not asleep, so no notify is made.
    threads[0]!.outbox.push(control(8, 0, Kind.RESPONSE_END));
    bell.ring();
    await waitFor(() => routed, (r) => r.length === 1, { what: 'the answer' });
    expect(notify).not.toHaveBeenCalled();
    expect(rings[0]).toBeGreaterThan(0);
    expecting = false;
  });
});
