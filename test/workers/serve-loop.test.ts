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
  SlabState,
  type Descriptor,
  type PoolMemory,
} from '../../src/pool/index.js';
import type { LoadedApp } from '../../src/workers/app-loader.js';
import type { CreditWaits } from '../../src/workers/credit-waits.js';
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
  /** The loop's own credit waits (private to it; a test reaches in to act at an exact moment). */
  credit: CreditWaits;
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

function rig(app: LoadedApp = { kind: 'fetch', fetch: () => new Response('hi') }): Rig {
  const memory = createPoolMemory({ slabSize: 4096, slabCount: 8, slotCount: 4, queueCount: 2, queueCapacity: 16, arenaBytes: 4096 });
  const serveLoop = new ServeLoop({ owner: OWNER, buffers: memory.buffers, appUrl: 'file:///unused.js' }, app);
  const loop = serveLoop.run();
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
    credit: (serveLoop as unknown as { ctx: { credit: CreditWaits } }).ctx.credit,
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

  it('wakes a writer whose credit came back after the loop last looked, before it slept', async () => {
    // A native app that fills four slabs with a window of two: it must wait for credit twice.
    const r = rig({
      kind: 'native',
      serve: async (_request, response) => {
        for (let i = 0; i < 4; i++) {
          const view = await response.slab();
          view.fill(97 + i);
          response.commit(view.length);
        }
        response.end();
      },
    });
    const waiting = (): number => (r.credit as unknown as { waiters: unknown[] }).waiters.length;
    const ref = sendHead(r);
    await waitFor(waiting, (n) => n === 1, { what: 'the writer to wait for credit' });
    const held: Descriptor[] = [];
    const d = emptyDescriptor();
    while (r.outbox.pop(d)) if (d.slab >= 0) held.push({ ...d });
    expect(held).toHaveLength(2);
    // Main's write callbacks give the credit back just after the loop's check() and before it arms its doorbell: main
    // rings, but the loop does not say it sleeps yet, so the ring is only a look at a flag.
    const check = r.credit.check.bind(r.credit);
    r.credit.check = () => {
      check();
      for (const h of held.splice(0)) {
        r.pool.startWrite(h.slab, h.slabGen);
        r.pool.release(h.slab, h.slabGen, SlabState.WRITING);
        if (r.slots.gaveResponseSlab(ref.slot)) r.inbox.doorbell.ring();
      }
    };
    // Wake the loop (a ping) so that it runs that check() and goes back to sleep.
    r.inbox.push({ slot: 0, slotGen: 0, slab: -1, slabGen: 0, length: 0, kind: Kind.PING, aux: 0, extra: 0 });
    r.inbox.doorbell.ring();
    // Main, from here on: frees each slab as it comes, until the response ends.
    let ended = false;
    await waitFor(
      () => {
        while (r.outbox.pop(d)) {
          if (d.slab >= 0) {
            r.pool.startWrite(d.slab, d.slabGen);
            r.pool.release(d.slab, d.slabGen, SlabState.WRITING);
            if (r.slots.gaveResponseSlab(ref.slot)) r.inbox.doorbell.ring();
          }
          if ((d.kind & FLAG_END) !== 0 || (d.kind & KIND_MASK) === Kind.RESPONSE_END) ended = true;
        }
        return ended;
      },
      (done) => done,
      { timeoutMs: 3000, what: 'the response to end' },
    );
  });
});
