import { describe, it, expect, vi, afterEach } from 'vitest';
import {
  DescriptorQueue,
  emptyDescriptor,
  Q_HEAD,
  Q_SLEEPING,
  Q_TAIL,
  Q_WAKE,
  queueAt,
  type Descriptor,
  type PoolMemory,
} from '../../src/pool/index.js';
import { makeMemory, nextTurn, queueDepth, slipBeforeWait } from './helpers/make-pool.js';

/** Pushes a descriptor whose every field is derived from `n`, so a mixed-up field shows, and rings as a producer does. */
function pushN(q: DescriptorQueue, n: number): boolean {
  const pushed = q.push({ slot: n, slotGen: n + 1, slab: n + 2, slabGen: n + 3, length: n + 4, kind: n + 5, aux: n + 6, extra: n + 7 });
  if (pushed) q.doorbell.ring();
  return pushed;
}

function popN(q: DescriptorQueue): number | null {
  const d = emptyDescriptor();
  if (!q.pop(d)) return null;
  expect(d).toEqual<Descriptor>({
    slot: d.slot,
    slotGen: d.slot + 1,
    slab: d.slot + 2,
    slabGen: d.slot + 3,
    length: d.slot + 4,
    kind: d.slot + 5,
    aux: d.slot + 6,
    extra: d.slot + 7,
  });
  return d.slot;
}

function word(memory: PoolMemory, queue: number, field: number): number {
  return Atomics.load(memory.control, queueAt(memory.layout, queue) + field);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('DescriptorQueue', () => {
  it('rounds its capacity up to a power of two', () => {
    expect(new DescriptorQueue(makeMemory({ queueCapacity: 5 }), 0).capacity).toBe(8);
    expect(new DescriptorQueue(makeMemory({ queueCapacity: 8 }), 0).capacity).toBe(8);
    expect(new DescriptorQueue(makeMemory({ queueCapacity: 1 }), 0).capacity).toBe(1);
  });

  it('delivers descriptors in the order they were pushed, every field intact', () => {
    const memory = makeMemory({ queueCapacity: 8 });
    const q = new DescriptorQueue(memory, 0);
    for (let n = 10; n < 15; n++) expect(pushN(q, n)).toBe(true);
    expect(queueDepth(memory, 0)).toBe(5);
    const got: Array<number | null> = [];
    for (let k = 0; k < 6; k++) got.push(popN(q));
    expect(got).toEqual([10, 11, 12, 13, 14, null]);
    expect(queueDepth(memory, 0)).toBe(0);
  });

  it('returns false when full and keeps what it holds, then takes more once one is popped', () => {
    const memory = makeMemory({ queueCapacity: 4 });
    const q = new DescriptorQueue(memory, 0);
    for (let n = 0; n < 4; n++) expect(pushN(q, n)).toBe(true);
    expect(pushN(q, 99)).toBe(false);
    expect(queueDepth(memory, 0)).toBe(4);
    expect(popN(q)).toBe(0);
    expect(pushN(q, 4)).toBe(true);
    expect(pushN(q, 99)).toBe(false);
    expect([popN(q), popN(q), popN(q), popN(q), popN(q)]).toEqual([1, 2, 3, 4, null]);
  });

  it('stays in order over many cycles around the ring with uneven batches', () => {
    const memory = makeMemory({ queueCapacity: 8 });
    const q = new DescriptorQueue(memory, 0);
    let pushed = 0;
    let popped = 0;
    for (let round = 0; round < 5000; round++) {
      const add = (round * 7) % 9;
      for (let k = 0; k < add; k++) if (pushN(q, pushed)) pushed++;
      const take = (round * 5) % 8;
      for (let k = 0; k < take; k++) {
        const n = popN(q);
        if (n === null) break;
        expect(n).toBe(popped++);
      }
      expect(queueDepth(memory, 0)).toBe(pushed - popped);
    }
    expect(pushed).toBeGreaterThan(10 * q.capacity);
    while (popN(q) !== null) popped++;
    expect(popped).toBe(pushed);
  });

  it('stays in order when its head and tail wrap past the largest Int32', () => {
    const memory = makeMemory({ queueCapacity: 4 });
    const at = queueAt(memory.layout, 0);
    const start = 2 ** 31 - 6;
    Atomics.store(memory.control, at + Q_HEAD, start | 0);
    Atomics.store(memory.control, at + Q_TAIL, start | 0);
    const q = new DescriptorQueue(memory, 0);
    let next = 0;
    for (let n = 0; n < 40; n++) {
      expect(pushN(q, n)).toBe(true);
      if (queueDepth(memory, 0) === q.capacity) expect(pushN(q, -1)).toBe(false);
      if (n % 3 === 2) {
        while (queueDepth(memory, 0) > 1) expect(popN(q)).toBe(next++);
      }
    }
    while (queueDepth(memory, 0) > 0) expect(popN(q)).toBe(next++);
    expect(next).toBe(40);
    expect(word(memory, 0, Q_TAIL)).toBe((start + 40) | 0);
    expect(word(memory, 0, Q_TAIL)).toBeLessThan(0);
  });

  it('keeps queues apart: a push on one is never seen on another', () => {
    const memory = makeMemory({ queueCount: 2, queueCapacity: 4 });
    const a = new DescriptorQueue(memory, 0);
    const b = new DescriptorQueue(memory, 1);
    for (let n = 0; n < 4; n++) pushN(a, n);
    expect(queueDepth(memory, 1)).toBe(0);
    expect(popN(b)).toBeNull();
    pushN(b, 50);
    expect([popN(a), popN(a), popN(a), popN(a), popN(a)]).toEqual([0, 1, 2, 3, null]);
    expect(popN(b)).toBe(50);
  });

  it('drops everything it holds on reset', () => {
    const memory = makeMemory({ queueCapacity: 4 });
    const q = new DescriptorQueue(memory, 0);
    pushN(q, 1);
    pushN(q, 2);
    q.reset();
    expect(queueDepth(memory, 0)).toBe(0);
    expect(popN(q)).toBeNull();
    pushN(q, 3);
    expect(popN(q)).toBe(3);
  });
});

describe('DescriptorQueue waiting', () => {
  it('answers not-equal synchronously when a descriptor is already there', () => {
    const memory = makeMemory();
    const q = new DescriptorQueue(memory, 0);
    pushN(q, 1);
    expect(q.waitNonEmpty()).toBe('not-equal');
    expect(word(memory, 0, Q_SLEEPING)).toBe(0);
  });

  it('wakes a waiting consumer when a descriptor is pushed, and clears its sleeping flag', async () => {
    const memory = makeMemory();
    const q = new DescriptorQueue(memory, 0);
    const outcome = q.waitNonEmpty();
    expect(outcome).toBeInstanceOf(Promise);
    let settled = false;
    const waiting = Promise.resolve(outcome).then((o) => {
      settled = true;
      return o;
    });
    await nextTurn();
    expect(settled).toBe(false);
    expect(word(memory, 0, Q_SLEEPING)).toBe(1);
    pushN(q, 7);
    expect(await waiting).toBe('ok');
    expect(word(memory, 0, Q_SLEEPING)).toBe(0);
    expect(popN(q)).toBe(7);
  });

  it('pushes without bumping the wake word or notifying while the consumer is busy', () => {
    const memory = makeMemory();
    const q = new DescriptorQueue(memory, 0);
    const notify = vi.spyOn(Atomics, 'notify');
    const wakeBefore = word(memory, 0, Q_WAKE);
    for (let n = 0; n < 3; n++) pushN(q, n);
    expect(notify).not.toHaveBeenCalled();
    expect(word(memory, 0, Q_WAKE)).toBe(wakeBefore);
  });

  it('notifies exactly once for the push that finds the consumer asleep', async () => {
    const memory = makeMemory();
    const q = new DescriptorQueue(memory, 0);
    const waiting = q.waitNonEmpty();
    const notify = vi.spyOn(Atomics, 'notify');
    pushN(q, 1);
    expect(notify).toHaveBeenCalledTimes(1);
    expect(await waiting).toBe('ok');
    pushN(q, 2);
    expect(notify).toHaveBeenCalledTimes(1);
  });

  it('handles Atomics.waitAsync answering not-equal synchronously when a push slips in before the wait', () => {
    const memory = makeMemory();
    const q = new DescriptorQueue(memory, 0);
    // The producer publishes after the consumer's re-check: it sees the sleeping flag and bumps the wake word.
    const answers = slipBeforeWait(() => pushN(q, 5));
    expect(q.waitNonEmpty()).toBe('not-equal');
    expect(answers).toEqual([{ async: false, value: 'not-equal' }]);
    expect(word(memory, 0, Q_SLEEPING)).toBe(0);
    expect(popN(q)).toBe(5);
  });

  it('times out of a wait on an empty queue and clears its sleeping flag', async () => {
    const memory = makeMemory();
    const q = new DescriptorQueue(memory, 0);
    expect(await q.waitNonEmpty(0)).toBe('timed-out');
    expect(word(memory, 0, Q_SLEEPING)).toBe(0);
  });

  it('wakes a waiting consumer from outside with ringAlways()', async () => {
    const memory = makeMemory();
    const q = new DescriptorQueue(memory, 0);
    const waiting = q.waitNonEmpty();
    q.doorbell.ringAlways();
    expect(await waiting).toBe('ok');
    expect(queueDepth(memory, 0)).toBe(0);
  });

  it('pushes without ringing: a consumer that disarms before any ring takes its sleep back, and no notify is made', () => {
    const memory = makeMemory();
    const q = new DescriptorQueue(memory, 0);
    const notify = vi.spyOn(Atomics, 'notify');
    q.doorbell.arm();
    q.push(emptyDescriptor());
    expect(q.doorbell.disarm()).toBe(true);
    q.doorbell.ring();
    expect(notify).not.toHaveBeenCalled();
    expect(q.doorbell.disarm()).toBe(false);
  });

  it('shares one doorbell between queues: a push to either wakes their consumer', async () => {
    const memory = makeMemory({ queueCount: 2 });
    const a = new DescriptorQueue(memory, 0);
    const b = new DescriptorQueue(memory, 1, a.doorbell);
    const waiting = a.waitNonEmpty();
    pushN(b, 4);
    expect(await waiting).toBe('ok');
    expect(popN(b)).toBe(4);
  });
});

describe('DescriptorQueue arena', () => {
  it('carries texts of any length in order, wrapping at the end, and releases them as they are read', () => {
    const memory = makeMemory({ arenaBytes: 64, queueCapacity: 16 });
    const q = new DescriptorQueue(memory, 0);
    const sent: string[] = [];
    const positions: number[] = [];
    for (let n = 0; n < 40; n++) {
      const text = String.fromCharCode(97 + (n % 26)).repeat(1 + ((n * 7) % 30));
      let pos = q.writeArena(text);
      // Full: the consumer reads the oldest texts, releasing their bytes, until the producer has room.
      while (pos < 0 && positions.length > 0) {
        const i = sent.length - positions.length;
        expect(q.takeArena(positions.shift()!, sent[i]!.length)).toBe(sent[i]);
        pos = q.writeArena(text);
      }
      expect(pos).toBeGreaterThanOrEqual(0);
      sent.push(text);
      positions.push(pos);
    }
    while (positions.length > 0) {
      const i = sent.length - positions.length;
      expect(q.takeArena(positions.shift()!, sent[i]!.length)).toBe(sent[i]);
    }
    expect(q.writeArena('x'.repeat(64))).toBeGreaterThanOrEqual(0);
  });

  it('refuses a text larger than the whole arena with a coded error', () => {
    const q = new DescriptorQueue(makeMemory({ arenaBytes: 64 }), 0);
    expect(() => q.writeArena('x'.repeat(65))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});
