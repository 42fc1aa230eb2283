// The rings' sleep and wake protocol across two threads: millions of descriptors, random pauses on both sides, and no
// wake-up lost (a lost one shows as a consumer asleep on a non-empty ring until its safety timeout).
//
// One side is a worker thread (test/pool/helpers/doorbell-peer.mjs), the other this thread. Both directions run: a
// worker producer against this thread consuming with Atomics.waitAsync (as main's poller does), and this thread
// producing against a worker consuming with blocking Atomics.wait (as an idle serve loop does).

import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createPoolMemory, DescriptorQueue, emptyDescriptor } from '../../src/pool/index.js';
import { Prng } from '../helpers/prng.js';

const COUNT = 1_000_000;

interface Report {
  sent: number;
  received: number;
  outOfOrder: number;
  lostWakeups: number;
  sleeps: number;
}

function peer(buffers: unknown, queue: number, role: 'producer' | 'consumer', seed: number, stop?: SharedArrayBuffer): Promise<Report> {
  const worker = new Worker(new URL('./helpers/doorbell-peer.mjs', import.meta.url), {
    workerData: { buffers, queue, role, count: COUNT, seed, stop },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (r: Report) => resolve(r));
    worker.once('error', reject);
  });
}

/** This thread's random pauses: mostly none, sometimes a turn of the event loop or a short spin. */
function pauser(seed: number): () => Promise<void> | null {
  const prng = new Prng(seed);
  return () => {
    const r = prng.next();
    if (r < 0.97) return null;
    if (r < 0.995) {
      const until = performance.now() + prng.next() * 0.02;
      while (performance.now() < until);
      return null;
    }
    return new Promise((resolve) => setImmediate(resolve));
  };
}

describe('the doorbell across threads', () => {
  it(`delivers ${COUNT} descriptors from a worker to a consumer sleeping in waitAsync, in order, with no lost wake-up`, async () => {
    const memory = createPoolMemory({ slabSize: 4096, slabCount: 1, slotCount: 1, queueCount: 1, queueCapacity: 64 });
    const queue = new DescriptorQueue(memory, 0);
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const producer = peer(memory.buffers, 0, 'producer', 0xd00b, stop.buffer as SharedArrayBuffer);
    const pause = pauser(0xbe11);
    const d = emptyDescriptor();
    let received = 0;
    let outOfOrder = 0;
    let lost = 0;
    let sleeps = 0;
    // Five lost wake-ups prove the point; stop there rather than sleep through the rest.
    while (received < COUNT && lost < 5) {
      if (queue.pop(d)) {
        if (d.aux !== received) outOfOrder++;
        received++;
        const p = pause();
        if (p !== null) await p;
        continue;
      }
      const seen = queue.doorbell.arm();
      if (!queue.isEmpty()) {
        queue.doorbell.disarm();
        continue;
      }
      sleeps++;
      // The producer pauses at most a millisecond: a wait that times out with work in the ring was never rung.
      const outcome = queue.doorbell.waitAsync(seen, 200);
      if ((typeof outcome === 'string' ? outcome : await outcome) === 'timed-out' && !queue.isEmpty()) lost++;
      queue.doorbell.disarm();
    }
    if (lost > 0) Atomics.store(stop, 0, 1);
    const sent = await producer;
    expect({ sent: sent.sent, received, outOfOrder, lost }).toEqual({ sent: COUNT, received: COUNT, outOfOrder: 0, lost: 0 });
    // The consumer really slept, many times: the protocol was exercised, not skipped.
    expect(sleeps).toBeGreaterThan(1000);
  }, 120_000);

  it(`delivers ${COUNT} descriptors to a worker sleeping in blocking waits, in order, with no lost wake-up`, async () => {
    const memory = createPoolMemory({ slabSize: 4096, slabCount: 1, slotCount: 1, queueCount: 1, queueCapacity: 64 });
    const queue = new DescriptorQueue(memory, 0);
    const consumer = peer(memory.buffers, 0, 'consumer', 0xc0de);
    const pause = pauser(0xfeed);
    const d = emptyDescriptor();
    let consumerDone = false;
    void consumer.then(() => (consumerDone = true));
    for (let n = 0; n < COUNT && !consumerDone; n++) {
      d.aux = n;
      while (!queue.push(d) && !consumerDone) await new Promise((resolve) => setImmediate(resolve));
      queue.doorbell.ring();
      const p = pause();
      if (p !== null) await p;
    }
    const report = await consumer;
    expect(report).toMatchObject({ received: COUNT, outOfOrder: 0, lostWakeups: 0 });
    expect(report.sleeps).toBeGreaterThan(1000);
  }, 120_000);
});
