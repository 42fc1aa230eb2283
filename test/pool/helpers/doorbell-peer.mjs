// The other side of doorbell.stress.test.ts (worker thread): pushes `count` numbered descriptors and rings, or
// consumes them with blocking waits, pausing at random (seeded) either way.
//
// Plain JS over the compiled pool (dist/), because a worker thread cannot load the TypeScript sources.

import { parentPort, workerData } from 'node:worker_threads';
import { DescriptorQueue, emptyDescriptor, openPoolMemory } from '../../../dist/pool/index.js';

/** mulberry32, as test/helpers/prng.ts. */
function prng(seed) {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A pause of random length: mostly none, sometimes a short spin, now and then a sleep of up to `maxSleepMs`. */
export function pauser(seed, maxSleepMs) {
  const random = prng(seed);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  return () => {
    const r = random();
    if (r < 0.97) return;
    if (r < 0.999) {
      const until = performance.now() + random() * 0.02;
      while (performance.now() < until);
      return;
    }
    Atomics.wait(nap, 0, 0, random() * maxSleepMs);
  };
}

if (parentPort !== null) {
  const { buffers, queue: q, role, count, seed } = workerData;
  const queue = new DescriptorQueue(openPoolMemory(buffers), q);
  const pause = pauser(seed, 1);
  const report = { sent: 0, received: 0, outOfOrder: 0, lostWakeups: 0, sleeps: 0 };
  if (role === 'producer') {
    const d = emptyDescriptor();
    for (let n = 0; n < count; n++) {
      d.aux = n;
      while (!queue.push(d)) {
        if (workerData.stop !== undefined && Atomics.load(new Int32Array(workerData.stop), 0) !== 0) break;
        pause();
      }
      queue.doorbell.ring();
      report.sent++;
      pause();
    }
  } else {
    const d = emptyDescriptor();
    const bell = queue.doorbell;
    // Five lost wake-ups prove the point; stop there rather than sleep through the rest.
    while (report.received < count && report.lostWakeups < 5) {
      if (queue.pop(d)) {
        if (d.aux !== report.received) report.outOfOrder++;
        report.received++;
        pause();
        continue;
      }
      const seen = bell.arm();
      if (!queue.isEmpty()) {
        bell.disarm();
        continue;
      }
      report.sleeps++;
      // A producer pauses at most a millisecond: a wait that times out on a ring with work in it was never rung.
      if (bell.waitSync(seen, 200) === 'timed-out' && !queue.isEmpty()) report.lostWakeups++;
      bell.disarm();
    }
  }
  parentPort.postMessage(report);
}
