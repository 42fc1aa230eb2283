import { describe, it, expect, vi, afterEach } from 'vitest';
import { RequestSlots, SlabPool, type PoolMemory, type SlotRef } from '../../src/pool/index.js';
import { makeMemory, nextTurn, responseOwned, slipBeforeWait, slotGeneration, thrown } from './helpers/make-pool.js';

function setup(slotCount = 2): { slots: RequestSlots; pool: SlabPool; memory: PoolMemory } {
  const memory = makeMemory({ slotCount });
  return { slots: new RequestSlots(memory), pool: new SlabPool(memory), memory };
}

function open(slots: RequestSlots, window: number): SlotRef {
  const ref = slots.open(window);
  expect(ref).not.toBeNull();
  return ref!;
}

/** Fills a request's window so its next waitCredit() has to wait. */
function useWindow(slots: RequestSlots, ref: SlotRef): void {
  while (slots.hasCredit(ref.slot)) slots.tookResponseSlab(ref.slot);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('RequestSlots lifecycle', () => {
  it('hands out each slot once, with a fresh window and zeroed counters, and null when all are in use', () => {
    const { slots, memory } = setup(2);
    const a = open(slots, 3);
    const b = open(slots, 5);
    expect(a.slot).not.toBe(b.slot);
    expect(slots.open(1)).toBeNull();
    expect(slots.window(a.slot)).toBe(3);
    expect(slots.window(b.slot)).toBe(5);
    expect(responseOwned(memory, a.slot)).toBe(0);
    expect(slots.uploadOwned(a.slot)).toBe(0);
    expect(slots.aborted(a)).toBe(false);
  });

  it('gives a reused slot a new generation, so the old request reads as aborted and the new one does not', () => {
    const { slots, memory } = setup(1);
    const first = open(slots, 2);
    slots.tookResponseSlab(first.slot);
    slots.tookUploadSlab(first.slot);
    slots.retire(first.slot);
    expect(slots.aborted(first)).toBe(true);

    const second = open(slots, 4);
    expect(second.slot).toBe(first.slot);
    expect(second.generation).toBe(first.generation + 1);
    expect(slotGeneration(memory, second.slot)).toBe(second.generation);
    expect(slots.aborted(first)).toBe(true);
    expect(slots.aborted(second)).toBe(false);
    expect(responseOwned(memory, second.slot)).toBe(0);
    expect(slots.uploadOwned(second.slot)).toBe(0);
    expect(slots.window(second.slot)).toBe(4);
  });

  it('marks a request aborted without taking its slot back', () => {
    const { slots } = setup(1);
    const ref = open(slots, 1);
    slots.abort(ref.slot);
    expect(slots.aborted(ref)).toBe(true);
    expect(slots.open(1)).toBeNull();
  });

  it('refuses a window that is not a positive integer (ERR_INVALID_OPTION) and a slot outside the table (ERR_SLOT_INDEX)', () => {
    const { slots } = setup(2);
    for (const w of [0, -1, 1.5, Number.NaN]) expect(thrown(() => slots.open(w)).code).toBe('ERR_INVALID_OPTION');
    for (const s of [-1, 2, 0.5]) {
      expect(thrown(() => slots.tookResponseSlab(s)).code).toBe('ERR_SLOT_INDEX');
      expect(thrown(() => slots.abort(s)).code).toBe('ERR_SLOT_INDEX');
    }
  });
});

describe('RequestSlots credit', () => {
  it('counts response and upload slabs separately and has credit only below the window', () => {
    const { slots, memory } = setup();
    const ref = open(slots, 2);
    expect(slots.hasCredit(ref.slot)).toBe(true);
    expect(slots.tookResponseSlab(ref.slot)).toBe(1);
    expect(slots.hasCredit(ref.slot)).toBe(true);
    expect(slots.tookResponseSlab(ref.slot)).toBe(2);
    expect(slots.hasCredit(ref.slot)).toBe(false);
    expect(slots.tookUploadSlab(ref.slot)).toBe(1);
    expect(slots.uploadOwned(ref.slot)).toBe(1);
    expect(slots.gaveUploadSlab(ref.slot)).toBe(0);
    expect(slots.hasCredit(ref.slot)).toBe(false);
    expect(slots.gaveResponseSlab(ref.slot)).toBe(false);
    expect(responseOwned(memory, ref.slot)).toBe(1);
    expect(slots.hasCredit(ref.slot)).toBe(true);
  });

  it('tells main to ring a writer that asked for credit, once, when half its window is back', () => {
    const { slots, pool } = setup();
    const ref = open(slots, 4);
    useWindow(slots, ref);
    expect(slots.wantCredit(ref.slot)).toBe(false);
    expect(pool.waits()).toBe(1);
    expect(slots.gaveResponseSlab(ref.slot)).toBe(false); // 3 of 4 still out: above the refill mark
    expect(slots.gaveResponseSlab(ref.slot)).toBe(true); // 2 of 4: the mark, and the writer asked
    expect(slots.gaveResponseSlab(ref.slot)).toBe(false); // told once
    // A writer that asks while credit is there needs no ring.
    expect(slots.wantCredit(ref.slot)).toBe(true);
  });

  it('answers ok at once when the request has credit', async () => {
    const { slots, pool } = setup();
    const ref = open(slots, 1);
    expect(await slots.waitCredit(ref)).toBe('ok');
    expect(slots.waitCreditSync(ref)).toBe('ok');
    expect(pool.waits()).toBe(0);
  });

  it('waits while the window is full and resolves ok when one of the request\'s slabs is released', async () => {
    const { slots, pool } = setup();
    const ref = open(slots, 2);
    useWindow(slots, ref);
    let settled = false;
    const waiting = slots.waitCredit(ref).then((o) => {
      settled = true;
      return o;
    });
    await nextTurn();
    expect(settled).toBe(false);
    expect(pool.waits()).toBe(1);
    slots.gaveResponseSlab(ref.slot);
    expect(await waiting).toBe('ok');
  });

  it('wakes a writer that ran out of credit once half its window is back, not on each release', async () => {
    const { slots, memory } = setup();
    const ref = open(slots, 8);
    useWindow(slots, ref);
    let settled = false;
    const waiting = slots.waitCredit(ref).then((o) => {
      settled = true;
      return o;
    });
    await nextTurn();
    // 8 → 5: three releases, still above the refill mark (4): the writer sleeps on.
    for (let i = 0; i < 3; i++) slots.gaveResponseSlab(ref.slot);
    await nextTurn();
    expect(settled).toBe(false);
    // 5 → 4: the mark.
    slots.gaveResponseSlab(ref.slot);
    expect(await waiting).toBe('ok');
    expect(responseOwned(memory, ref.slot)).toBe(4);
  });

  it('keeps waiting when another request releases a slab', async () => {
    const { slots } = setup();
    const mine = open(slots, 1);
    const other = open(slots, 1);
    useWindow(slots, mine);
    useWindow(slots, other);
    let settled = false;
    const waiting = slots.waitCredit(mine).then((o) => {
      settled = true;
      return o;
    });
    slots.gaveResponseSlab(other.slot);
    await nextTurn();
    expect(settled).toBe(false);
    slots.gaveResponseSlab(mine.slot);
    expect(await waiting).toBe('ok');
  });

  it('resolves aborted when the request is aborted while it waits', async () => {
    const { slots } = setup();
    const ref = open(slots, 1);
    useWindow(slots, ref);
    const waiting = slots.waitCredit(ref);
    slots.abort(ref.slot);
    expect(await waiting).toBe('aborted');
    expect(slots.waitCreditSync(ref)).toBe('aborted');
  });

  it('resolves aborted for a request whose slot was retired and handed to a newer request', async () => {
    const { slots } = setup(1);
    const old = open(slots, 1);
    slots.retire(old.slot);
    const fresh = open(slots, 1);
    useWindow(slots, fresh);
    expect(await slots.waitCredit(old)).toBe('aborted');
  });

  it('resolves closed when the pool closes, with nothing else waking the slot, and answers closed at once afterwards', async () => {
    const { slots, pool } = setup();
    const ref = open(slots, 1);
    useWindow(slots, ref);
    const waiters = [slots.waitCredit(ref), slots.waitCredit(ref)];
    pool.close();
    expect(await Promise.all(waiters)).toEqual(['closed', 'closed']);
    expect(await slots.waitCredit(ref)).toBe('closed');
    expect(slots.waitCreditSync(ref)).toBe('closed');
  });

  it('handles Atomics.waitAsync answering not-equal synchronously when a release slips in before the wait', async () => {
    const { slots } = setup();
    const ref = open(slots, 1);
    useWindow(slots, ref);
    // Main releases the request's slab between the waiter's credit check and its wait: the word has moved on.
    const answers = slipBeforeWait(() => slots.gaveResponseSlab(ref.slot));
    expect(await slots.waitCredit(ref)).toBe('ok');
    expect(answers).toEqual([{ async: false, value: 'not-equal' }]);
  });

  it('loops back to waiting after a synchronous not-equal that brought no credit', async () => {
    const { slots } = setup();
    const ref = open(slots, 1);
    useWindow(slots, ref);
    // The first time, the wake word moves with no credit coming back: the waiter must re-check and wait again.
    const answers = slipBeforeWait((words, index, call) => {
      if (call === 1) Atomics.add(words, index, 1);
    });
    let settled = false;
    const waiting = slots.waitCredit(ref).then((o) => {
      settled = true;
      return o;
    });
    await nextTurn();
    expect(settled).toBe(false);
    expect(answers.map((a) => a.async)).toEqual([false, true]);
    slots.gaveResponseSlab(ref.slot);
    expect(await waiting).toBe('ok');
  });
});
