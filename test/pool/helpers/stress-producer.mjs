// A producer thread for slab-pool.stress.test.ts (worker thread): acquires slabs, fills them with canary words,
// queues them and pushes a descriptor on its own queue, `cycles` times, waiting for credit or a free slab when it must.
//
// Plain JS over the compiled pool (dist/), because a worker thread cannot load the TypeScript sources.

import { parentPort, workerData } from 'node:worker_threads';
import { DescriptorQueue, NO_SLAB, openPoolMemory, RequestSlots, SlabPool } from '../../../dist/pool/index.js';

/** Gate words shared with the test: see slab-pool.stress.test.ts. */
const READY = 0;
const START = 1;

/** The word a slab's body is filled with. The test computes the same function; keep the two in step. */
function canary(producer, seq, generation) {
  return (Math.imul(producer + 1, 0x9e3779b1) ^ Math.imul(seq + 1, 0x85ebca6b) ^ Math.imul(generation, 0xc2b2ae35)) | 0;
}

/** Slab body layout, as the test reads it: four header words, then the canary to the end of the slab. */
const W_PRODUCER = 0;
const W_SEQ = 1;
const W_GEN = 2;
const W_INDEX = 3;
const W_BODY = 4;

if (parentPort !== null) {
  const { buffers, gate: gateBuffer, producer, owner, slot, slotGen, cycles, kind } = workerData;
  const memory = openPoolMemory(buffers);
  const pool = new SlabPool(memory, producer + 1);
  const slots = new RequestSlots(memory);
  const queue = new DescriptorQueue(memory, producer);
  const ref = { slot, generation: slotGen };
  const words = new Int32Array(buffers.data);
  const wordsPerSlab = pool.size / Int32Array.BYTES_PER_ELEMENT;
  const gate = new Int32Array(gateBuffer);

  const counts = { producer, acquired: 0, queued: 0, creditWaits: 0, freeWaits: 0, pushFull: 0, stoppedEarly: false };

  // Say "ready", then block until the test opens the start gate, so every producer starts contending at once.
  Atomics.add(gate, READY, 1);
  Atomics.notify(gate, READY);
  while (Atomics.load(gate, START) === 0) Atomics.wait(gate, START, 0);

  run: for (let seq = 0; seq < cycles; seq++) {
    // Credit first: a request may own at most its window of slabs, however many are free.
    if (!slots.hasCredit(slot)) {
      counts.creditWaits++;
      if (slots.waitCreditSync(ref) !== 'ok') {
        counts.stoppedEarly = true;
        break run;
      }
    }
    let i;
    while ((i = pool.acquire(owner, slot)) === NO_SLAB) {
      // Running out is a value: wait for a release (or the pool's close), then try again.
      if (pool.closed()) {
        counts.stoppedEarly = true;
        break run;
      }
      counts.freeWaits++;
      pool.waitForFreeSync();
    }
    counts.acquired++;
    slots.tookResponseSlab(slot);
    const generation = pool.generation(i);

    // Fill the whole slab while it is ours (FILLING); queue() then publishes it to the consumer.
    const base = i * wordsPerSlab;
    words[base + W_PRODUCER] = producer;
    words[base + W_SEQ] = seq;
    words[base + W_GEN] = generation;
    words[base + W_INDEX] = i;
    words.fill(canary(producer, seq, generation), base + W_BODY, base + wordsPerSlab);
    pool.queue(i, generation, pool.size);
    counts.queued++;
    const pushed = queue.push({ slot, slotGen, slab: i, slabGen: generation, length: pool.size, kind, aux: seq, extra: 0 });
    queue.doorbell.ring();
    if (!pushed) {
      // The queue holds a whole window, so this cannot happen unless the credit count is wrong.
      counts.pushFull++;
      counts.stoppedEarly = true;
      break run;
    }
  }
  parentPort.postMessage(counts);
}
