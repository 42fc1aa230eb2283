// The worker's serve loop, driven from this thread as main would drive it: request heads in through the inbox,
// answers out through the outbox (one thread plays both sides).

import { afterEach, describe, expect, it } from 'vitest';
import { codeAt, encodeStrings, FLAG_END, inboxOf, Kind, KIND_MASK, outboxOf, requestHeadStrings } from '../../src/messages.js';
import {
  createPoolMemory,
  DescriptorQueue,
  emptyDescriptor,
  RequestSlots,
  SlabPool,
  type Descriptor,
  type PoolMemory,
} from '../../src/pool/index.js';
import { ServeLoop } from '../../src/workers/serve-loop.js';
import { waitFor } from '../helpers/server.js';

const MAIN = 0;
const OWNER = 1;

interface Rig {
  memory: PoolMemory;
  pool: SlabPool;
  slots: RequestSlots;
  inbox: DescriptorQueue;
  outbox: DescriptorQueue;
  loop: Promise<void>;
  /** 'running' until the loop's promise settles, then 'returned' or what it rejected with. */
  outcome(): unknown;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.inbox.push(0, 0, -1, 0, 0, Kind.STOP, 0);
    await r.loop.catch(() => {});
  }
});

function rig(): Rig {
  const memory = createPoolMemory({ slabSize: 4096, slabCount: 8, slotCount: 4, queueCount: 2, queueCapacity: 16 });
  const loop = new ServeLoop(
    { owner: OWNER, buffers: memory.buffers, appUrl: 'file:///unused.js' },
    { kind: 'fetch', fetch: () => new Response('hi') },
  ).run();
  let outcome: unknown = 'running';
  loop.then(
    () => (outcome = 'returned'),
    (err: unknown) => (outcome = err),
  );
  const r: Rig = {
    memory,
    pool: new SlabPool(memory, MAIN),
    slots: new RequestSlots(memory),
    inbox: new DescriptorQueue(memory, inboxOf(OWNER)),
    outbox: new DescriptorQueue(memory, outboxOf(OWNER)),
    loop,
    outcome: () => outcome,
  };
  rigs.push(r);
  return r;
}

/** Queues a GET head to the loop as main does; `staleGen` sends it with a generation the slab does not have. */
function sendHead(r: Rig, staleGen = false): { slot: number; generation: number } {
  const ref = r.slots.open(2)!;
  const slab = r.pool.acquire(MAIN, ref.slot);
  const view = Buffer.from(r.memory.buffers.data, slab * 4096, 4096);
  const length = encodeStrings(view, requestHeadStrings('GET', '/', '1.1', '127.0.0.1', 0, ['Host', 'loop.test']));
  const gen = r.pool.generation(slab);
  r.pool.queue(slab, gen, length);
  r.inbox.push(ref.slot, ref.generation, slab, staleGen ? gen + 1 : gen, length, Kind.REQUEST_HEAD, length);
  return ref;
}

/** The next descriptor the loop sends main (other than THREAD_READY). */
async function nextOut(r: Rig): Promise<Descriptor> {
  const d = emptyDescriptor();
  await waitFor(
    () => r.outbox.pop(d) && (d.kind & KIND_MASK) !== Kind.THREAD_READY,
    (got) => got,
    { what: 'a descriptor from the loop' },
  );
  return { ...d };
}

describe('the serve loop', () => {
  it('answers a descriptor it cannot handle with RESPONSE_ERROR for its request, and goes on serving', async () => {
    const r = rig();
    const bad = sendHead(r, true);
    const error = await nextOut(r);
    expect(error.kind & KIND_MASK).toBe(Kind.RESPONSE_ERROR);
    expect({ slot: error.slot, generation: error.slotGen }).toEqual(bad);
    expect(codeAt(error.aux)).toBe('ERR_SLAB_TRANSITION_REFUSED');
    expect(r.pool.refused()).toBe(1);

    const good = sendHead(r);
    const head = await nextOut(r);
    expect(head.kind & KIND_MASK).toBe(Kind.RESPONSE_HEAD);
    expect(head.kind & FLAG_END).toBe(FLAG_END);
    expect({ slot: head.slot, generation: head.slotGen }).toEqual(good);
    expect(r.outcome()).toBe('running');
  });
});
