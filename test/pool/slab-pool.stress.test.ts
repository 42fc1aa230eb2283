import { Worker } from 'node:worker_threads';
import { describe, it, expect } from 'vitest';
import {
  createPoolMemory,
  DescriptorQueue,
  emptyDescriptor,
  RequestSlots,
  SlabPool,
  SlabState,
  waitAsync,
  type SlotRef,
} from '../../src/pool/index.js';
import { responseOwned } from './helpers/make-pool.js';

// Four producer threads against one consumer (this thread) over a pool too small for all of them. Producers fill
// whole slabs with canary words; the consumer holds a batch of slabs in WRITING, as sockets hold buffers until their
// write callbacks, checks every word when the "callback" runs, and only then releases. A slab freed early, handed out
// twice, or a descriptor lost or reordered shows up in the counts asserted at the end.

const PRODUCERS = 4;
const CYCLES = 125_000; // per producer: 4 × 125,000 cycles × 4 transitions = 2,000,000 transitions
const SLAB_SIZE = 4096;
const SLAB_COUNT = 64;
const WINDOW = 32; // 4 × 32 > 64: producers run out of slabs as well as credit
const IN_FLIGHT = 12; // slabs the consumer holds in WRITING before their "write callbacks" run
const KIND = 7;

// Gate words (the worker script reads the same two).
const READY = 0;
const START = 1;

// Slab body layout written by test/pool/helpers/stress-producer.mjs.
const W_PRODUCER = 0;
const W_SEQ = 1;
const W_GEN = 2;
const W_INDEX = 3;
const W_BODY = 4;

/** Must match canary() in helpers/stress-producer.mjs. */
function canary(producer: number, seq: number, generation: number): number {
  return (Math.imul(producer + 1, 0x9e3779b1) ^ Math.imul(seq + 1, 0x85ebca6b) ^ Math.imul(generation, 0xc2b2ae35)) | 0;
}

interface ProducerCounts {
  producer: number;
  acquired: number;
  queued: number;
  creditWaits: number;
  freeWaits: number;
  pushFull: number;
  stoppedEarly: boolean;
}

interface Held {
  producer: number;
  slot: number;
  slab: number;
  generation: number;
  seq: number;
}

describe('SlabPool under four producer threads and one consumer', () => {
  it('hands each slab to one owner at a time over a million transitions, with every canary intact and none lost', async () => {
    const memory = createPoolMemory({
      slabSize: SLAB_SIZE,
      slabCount: SLAB_COUNT,
      slotCount: PRODUCERS,
      queueCount: PRODUCERS,
      queueCapacity: WINDOW,
    });
    const pool = new SlabPool(memory);
    const slots = new RequestSlots(memory);
    const queues = Array.from({ length: PRODUCERS }, (_, q) => new DescriptorQueue(memory, q));
    const refs: SlotRef[] = Array.from({ length: PRODUCERS }, () => slots.open(WINDOW)!);
    const gate = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
    const words = new Int32Array(memory.buffers.data);
    const wordsPerSlab = SLAB_SIZE / Int32Array.BYTES_PER_ELEMENT;

    const errors: string[] = [];
    let stopped = false;
    const stop = (why: string): void => {
      errors.push(why);
      if (stopped) return;
      stopped = true;
      // Wake everyone: producers blocked for a slab or for credit (close() wakes both), and this thread at the start
      // gate or a queue.
      pool.close();
      for (const q of queues) q.doorbell.ringAlways();
      Atomics.notify(gate, READY);
    };

    const workers = refs.map(
      (ref, producer) =>
        new Worker(new URL('./helpers/stress-producer.mjs', import.meta.url), {
          workerData: {
            buffers: memory.buffers,
            gate: gate.buffer,
            producer,
            owner: producer + 1,
            slot: ref.slot,
            slotGen: ref.generation,
            cycles: CYCLES,
            kind: KIND,
          },
        }),
    );
    const results = workers.map(
      (w, producer) =>
        new Promise<ProducerCounts | null>((resolve) => {
          let counts: ProducerCounts | null = null;
          w.on('message', (m: ProducerCounts) => (counts = m));
          w.on('error', (err) => stop(`producer ${producer} threw: ${String(err)}`));
          w.on('exit', () => resolve(counts));
        }),
    );

    let mismatches = 0;
    let doubleHandOuts = 0;
    let outOfOrder = 0;
    let badHeaders = 0;
    let consumed = 0;
    let startWrites = 0;
    let releases = 0;
    const outstanding = new Set<number>();
    const inFlight: Held[] = [];
    const nextSeq = new Array<number>(PRODUCERS).fill(0);

    /** The "write callbacks": check every word of each held slab, then release it and give the credit back. */
    const complete = (): void => {
      for (const h of inFlight) {
        const base = h.slab * wordsPerSlab;
        const want = canary(h.producer, h.seq, h.generation);
        let intact =
          words[base + W_PRODUCER] === h.producer &&
          words[base + W_SEQ] === h.seq &&
          words[base + W_GEN] === h.generation &&
          words[base + W_INDEX] === h.slab;
        for (let k = base + W_BODY; intact && k < base + wordsPerSlab; k++) intact = words[k] === want;
        if (!intact) {
          mismatches++;
          if (mismatches <= 3) errors.push(`canary of slab ${h.slab} (producer ${h.producer} seq ${h.seq}) overwritten`);
        }
        try {
          pool.release(h.slab, h.generation, SlabState.WRITING);
          releases++;
        } catch (err) {
          stop(`release: ${(err as Error).message}`);
        }
        outstanding.delete(h.slab);
        slots.gaveResponseSlab(h.slot);
      }
      inFlight.length = 0;
    };

    /** Takes one descriptor off queue `q` into WRITING. Returns false when that queue is empty. */
    const d = emptyDescriptor();
    const takeOne = (q: number): boolean => {
      if (!queues[q]!.pop(d)) return false;
      consumed++;
      if (d.aux !== nextSeq[q]) outOfOrder++;
      nextSeq[q] = d.aux + 1;
      if (outstanding.has(d.slab)) {
        doubleHandOuts++;
        if (doubleHandOuts <= 3) errors.push(`slab ${d.slab} handed out again while still outstanding`);
      }
      outstanding.add(d.slab);
      const h = pool.header(d.slab);
      if (d.kind !== KIND || d.length !== SLAB_SIZE || h.length !== SLAB_SIZE || h.owner !== q + 1 || h.slot !== d.slot) {
        badHeaders++;
      }
      try {
        pool.startWrite(d.slab, d.slabGen);
        startWrites++;
      } catch (err) {
        stop(`startWrite: ${(err as Error).message}`);
        return true;
      }
      inFlight.push({ producer: q, slot: d.slot, slab: d.slab, generation: d.slabGen, seq: d.aux });
      if (inFlight.length >= IN_FLIGHT) complete();
      return true;
    };

    // A queue's pending wait, if any: only one per queue, or a late one would clear the sleeping flag of the next.
    const pending: Array<Promise<void> | null> = new Array(PRODUCERS).fill(null);
    const consume = async (): Promise<void> => {
      const total = PRODUCERS * CYCLES;
      while (consumed < total && !stopped) {
        let took = 0;
        for (let q = 0; q < PRODUCERS; q++) for (let k = 0; k < 4 && takeOne(q); k++) took++;
        if (took > 0) continue;
        // Every queue is empty: let the held writes finish (their slabs are what producers wait for), then sleep.
        complete();
        let ready = false;
        for (let q = 0; q < PRODUCERS; q++) {
          if (pending[q] !== null) continue;
          const outcome = queues[q]!.waitNonEmpty();
          if (typeof outcome === 'string') ready = true;
          else pending[q] = outcome.then(() => void (pending[q] = null));
        }
        if (!ready) await Promise.race(pending.filter((p): p is Promise<void> => p !== null));
      }
      complete();
    };

    // Start gate: wait until every producer is ready, then open the gate for all of them at once.
    for (let n = Atomics.load(gate, READY); n < PRODUCERS && !stopped; n = Atomics.load(gate, READY)) {
      await waitAsync(gate, READY, n);
    }
    const started = performance.now();
    Atomics.store(gate, START, 1);
    Atomics.notify(gate, START);

    try {
      if (!stopped) await consume();
    } finally {
      if (!stopped && consumed < PRODUCERS * CYCLES) stop('consumer ended early');
      // After a failure, do not wait for producers to notice: end them.
      if (stopped) await Promise.all(workers.map((w) => w.terminate()));
    }
    const counts = await Promise.all(results);
    const elapsed = performance.now() - started;
    // Settle the waits left on queues that saw their last descriptor.
    pending.forEach((p, q) => p !== null && queues[q]!.doorbell.ringAlways());
    await Promise.all(pending);

    const acquired = counts.reduce((sum, c) => sum + (c?.acquired ?? 0), 0);
    const queued = counts.reduce((sum, c) => sum + (c?.queued ?? 0), 0);
    const transitions = acquired + queued + startWrites + releases;
    const freeWaits = counts.reduce((sum, c) => sum + (c?.freeWaits ?? 0), 0);
    const creditWaits = counts.reduce((sum, c) => sum + (c?.creditWaits ?? 0), 0);
    console.log(
      `stress: ${transitions} transitions in ${elapsed.toFixed(0)} ms; producers waited ${freeWaits} times for a ` +
        `slab and ${creditWaits} times for credit; low water ${pool.lowWater()}`,
    );

    expect({
      canaryMismatches: mismatches,
      doubleHandOuts,
      outOfOrder,
      badHeaders,
      lost: PRODUCERS * CYCLES - consumed,
      refused: pool.refused(),
      free: pool.free(),
      errors,
    }).toEqual({
      canaryMismatches: 0,
      doubleHandOuts: 0,
      outOfOrder: 0,
      badHeaders: 0,
      lost: 0,
      refused: 0,
      free: SLAB_COUNT,
      errors: [],
    });
    expect(counts.map((c) => c?.stoppedEarly)).toEqual(new Array(PRODUCERS).fill(false));
    expect(counts.map((c) => c?.pushFull)).toEqual(new Array(PRODUCERS).fill(0));
    expect(consumed).toBe(PRODUCERS * CYCLES);
    expect(acquired).toBe(PRODUCERS * CYCLES);
    expect(releases).toBe(PRODUCERS * CYCLES);
    expect(transitions).toBeGreaterThanOrEqual(1_000_000);
    expect(pool.free()).toBe(SLAB_COUNT);
    expect(pool.refused()).toBe(0);
    for (let i = 0; i < SLAB_COUNT; i++) expect(pool.state(i)).toBe(SlabState.FREE);
    for (const r of refs) expect(responseOwned(memory, r.slot)).toBe(0);
    // The pool really ran dry: producers had to wait rather than fail.
    expect(pool.lowWater()).toBe(0);
    expect(freeWaits).toBeGreaterThan(0);
  }, 60_000);
});
