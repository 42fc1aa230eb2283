// The worker's serve loop, driven from this thread as main would drive it: request heads in through the inbox,
// answers out through the outbox (one thread plays both sides).

import { afterEach, describe, expect, it } from 'vitest';
import { codeAt, encodeRequestHead, FLAG_END, inboxOf, Kind, KIND_MASK, outboxOf } from '../../src/protocol.js';
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
    r.inbox.push({ slot: 0, slotGen: 0, slab: -1, slabGen: 0, length: 0, kind: Kind.STOP, aux: 0, extra: 0 });
    r.inbox.doorbell.ringAlways();
    await r.loop.catch(() => {});
  }
});

function rig(): Rig {
  const memory = createPoolMemory({ slabSize: 4096, slabCount: 8, slotCount: 4, queueCount: 2, queueCapacity: 16, arenaBytes: 4096 });
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

/** Queues a head to the loop as main does: its text in the inbox's arena, and a descriptor naming it. */
function sendHead(r: Rig, text = encodeRequestHead('GET', '/', '1.1', '127.0.0.1', 0, ['Host', 'loop.test'])): { slot: number; generation: number } {
  const ref = r.slots.open(2)!;
  const pos = r.inbox.writeArena(text);
  r.inbox.push({ slot: ref.slot, slotGen: ref.generation, slab: -1, slabGen: 0, length: text.length, kind: Kind.REQUEST_HEAD, aux: pos, extra: 0 });
  r.inbox.doorbell.ring();
  return ref;
}

/** Queues an upload slab for a request the loop has never heard of, with a generation the slab does not have. */
function sendStaleBody(r: Rig): void {
  const slab = r.pool.acquire(MAIN, 3);
  const gen = r.pool.generation(slab);
  r.pool.queue(slab, gen, 1);
  r.inbox.push({ slot: 3, slotGen: 99, slab, slabGen: gen + 1, length: 1, kind: Kind.REQUEST_BODY, aux: 0, extra: 0 });
  r.inbox.doorbell.ring();
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
    // A refused transition on a slab of a request it never saw: counted, reported, nothing else to answer.
    sendStaleBody(r);
    // A head with too few fields: its request is answered 400.
    const bad = sendHead(r, 'GET\n/');
    const error = await nextOut(r);
    expect(error.kind & KIND_MASK).toBe(Kind.RESPONSE_ERROR);
    expect({ slot: error.slot, generation: error.slotGen }).toEqual(bad);
    expect(codeAt(error.aux)).toBe('ERR_BAD_REQUEST');
    expect(r.pool.refused()).toBe(1);

    const good = sendHead(r);
    const head = await nextOut(r);
    expect(head.kind & KIND_MASK).toBe(Kind.RESPONSE_HEAD);
    expect(head.kind & FLAG_END).toBe(FLAG_END);
    expect({ slot: head.slot, generation: head.slotGen }).toEqual(good);
    expect(r.outcome()).toBe('running');
  });
});
