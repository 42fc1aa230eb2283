import { describe, it, expect, vi, afterEach } from 'vitest';
import {
  GENERATION_MASK,
  NO_SLAB,
  S_TAG,
  SLAB_ALIGN,
  SlabPool,
  SlabState,
  slabAt,
} from '../../src/pool/index.js';
import { makeMemory, makePool, nextTurn, slipBeforeWait, thrown } from './helpers/make-pool.js';

/** Takes a slab for owner 1 on slot 0 and returns its index and generation. */
function take(pool: SlabPool, owner = 1, slot = 0): { i: number; g: number } {
  const i = pool.acquire(owner, slot);
  expect(i).not.toBe(NO_SLAB);
  return { i, g: pool.generation(i) };
}

/** Every field of the header must be in the message, as nginx prints every field of a broken buffer. */
function expectWholeHeader(pool: SlabPool, i: number, message: string): void {
  const h = pool.header(i);
  expect(message).toContain(`slab ${h.index} `);
  expect(message).toContain(`state=${h.state}`);
  expect(message).toContain(`owner=${h.owner}`);
  expect(message).toContain(`generation=${h.generation}`);
  expect(message).toContain(`length=${h.length}`);
  expect(message).toContain(`slot=${h.slot}`);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('SlabPool transitions', () => {
  it('starts with every slab FREE at generation 0 and the free count equal to the slab count', () => {
    const pool = makePool({ slabCount: 5 });
    expect(pool.count).toBe(5);
    expect(pool.free()).toBe(5);
    expect(pool.refused()).toBe(0);
    for (let i = 0; i < 5; i++) {
      expect(pool.state(i)).toBe(SlabState.FREE);
      expect(pool.generation(i)).toBe(0);
    }
  });

  it('moves a slab FREE → FILLING → QUEUED → WRITING → FREE and counts it free again only at the end', () => {
    const pool = makePool();
    const { i, g } = take(pool, 7, 1);
    expect(pool.header(i)).toEqual({ index: i, state: 'FILLING', owner: 7, generation: 1, length: 0, slot: 1 });
    expect(pool.free()).toBe(3);

    pool.queue(i, g, 1234);
    expect(pool.header(i)).toEqual({ index: i, state: 'QUEUED', owner: 7, generation: 1, length: 1234, slot: 1 });
    expect(pool.free()).toBe(3);

    pool.startWrite(i, g);
    expect(pool.state(i)).toBe(SlabState.WRITING);
    expect(pool.free()).toBe(3);

    pool.release(i, g, SlabState.WRITING);
    expect(pool.state(i)).toBe(SlabState.FREE);
    expect(pool.generation(i)).toBe(g);
    expect(pool.free()).toBe(4);
    expect(pool.refused()).toBe(0);
  });

  it('gives a slab a new generation each time it is acquired', () => {
    const pool = makePool({ slabCount: 1 });
    const gens: number[] = [];
    for (let n = 0; n < 5; n++) {
      const { i, g } = take(pool);
      gens.push(g);
      pool.release(i, g, SlabState.FILLING);
    }
    expect(gens).toEqual([1, 2, 3, 4, 5]);
  });

  it('wraps the generation inside its 22 bits and still accepts the wrapped generation', () => {
    const memory = makeMemory({ slabCount: 1 });
    const pool = new SlabPool(memory);
    // A FREE slab, owner 0, at the last generation: the tag is [generation:22][owner:8][state:2].
    Atomics.store(memory.control, slabAt(memory.layout, 0) + S_TAG, (GENERATION_MASK << 10) | 0);
    expect(pool.generation(0)).toBe(GENERATION_MASK);
    const { i, g } = take(pool);
    expect(g).toBe(0);
    pool.queue(i, g, 1);
    pool.startWrite(i, g);
    pool.release(i, g, SlabState.WRITING);
    expect(pool.refused()).toBe(0);
    expect(() => pool.release(i, GENERATION_MASK, SlabState.WRITING)).toThrow();
  });

  it('releases a FILLING slab whose request is gone', () => {
    const pool = makePool();
    const { i, g } = take(pool);
    pool.release(i, g, SlabState.FILLING);
    expect(pool.state(i)).toBe(SlabState.FREE);
    expect(pool.free()).toBe(4);
  });

  it('releases a QUEUED slab whose request is gone before it was written', () => {
    const pool = makePool();
    const { i, g } = take(pool);
    pool.queue(i, g, 10);
    pool.release(i, g, SlabState.QUEUED);
    expect(pool.state(i)).toBe(SlabState.FREE);
    expect(pool.free()).toBe(4);
  });

  it('returns NO_SLAB, as a value and not an exception, when every slab is taken', () => {
    const pool = makePool({ slabCount: 3 });
    const taken = [take(pool), take(pool), take(pool)];
    expect(new Set(taken.map((t) => t.i)).size).toBe(3);
    expect(pool.acquire(1, 0)).toBe(NO_SLAB);
    expect(NO_SLAB).toBe(-1);
    expect(pool.free()).toBe(0);
    pool.release(taken[1]!.i, taken[1]!.g, SlabState.FILLING);
    expect(pool.acquire(1, 0)).toBe(taken[1]!.i);
  });

  it('refuses an owner id that does not fit the tag', () => {
    const pool = makePool();
    expect(thrown(() => pool.acquire(256, 0)).code).toBe('ERR_INVALID_OPTION');
    expect(thrown(() => pool.acquire(-1, 0)).code).toBe('ERR_INVALID_OPTION');
    expect(pool.free()).toBe(4);
  });

  it('records the lowest free count ever seen as the low-water mark', () => {
    const pool = makePool({ slabCount: 4 });
    expect(pool.lowWater()).toBe(4);
    const a = take(pool);
    const b = take(pool);
    expect(pool.lowWater()).toBe(2);
    pool.release(a.i, a.g, SlabState.FILLING);
    pool.release(b.i, b.g, SlabState.FILLING);
    expect(pool.free()).toBe(4);
    expect(pool.lowWater()).toBe(2);
    const c = take(pool);
    expect(pool.lowWater()).toBe(2);
    const rest = [take(pool), take(pool), take(pool)];
    expect(pool.lowWater()).toBe(0);
    expect(pool.acquire(1, 0)).toBe(NO_SLAB);
    expect(pool.lowWater()).toBe(0);
    for (const t of [c, ...rest]) pool.release(t.i, t.g, SlabState.FILLING);
    expect(pool.lowWater()).toBe(0);
  });

  it('views slab bytes in place, each slab at a page-aligned offset of its own', () => {
    const memory = makeMemory({ slabCount: 3, slabSize: 2 * SLAB_ALIGN });
    const pool = new SlabPool(memory);
    const { i } = take(pool);
    const view = pool.view(i);
    expect(view.buffer).toBe(memory.buffers.data);
    expect(view.byteOffset).toBe(i * pool.size);
    expect(view.length).toBe(pool.size);
    expect(view.byteOffset % SLAB_ALIGN).toBe(0);
    expect(pool.view(i)).toBe(view);
    view.set([1, 2, 3, 4, 5]);
    expect(Array.from(memory.data.subarray(i * pool.size, i * pool.size + 5))).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('SlabPool refused transitions', () => {
  it('refuses a second release of the same slab, counts it, and prints the whole header', () => {
    const pool = makePool();
    const { i, g } = take(pool, 9, 1);
    pool.queue(i, g, 77);
    pool.startWrite(i, g);
    pool.release(i, g, SlabState.WRITING);
    const err = thrown(() => pool.release(i, g, SlabState.WRITING));
    expect(err.code).toBe('ERR_SLAB_TRANSITION_REFUSED');
    expect(pool.refused()).toBe(1);
    expect(pool.free()).toBe(4);
    expectWholeHeader(pool, i, err.message);
    expect(err.message).toContain('state=FREE owner=9 generation=1 length=77 slot=1');
  });

  it('refuses a release that claims the slab is FREE, so a slab is never counted free twice', () => {
    const pool = makePool();
    const err = thrown(() => pool.release(0, 0, SlabState.FREE));
    expect(err.code).toBe('ERR_SLAB_TRANSITION_REFUSED');
    expect(pool.free()).toBe(4);
    expect(pool.refused()).toBe(1);
    expectWholeHeader(pool, 0, err.message);
  });

  it('refuses a release from a stale generation after the slab was acquired again', () => {
    const pool = makePool({ slabCount: 1 });
    const old = take(pool);
    pool.release(old.i, old.g, SlabState.FILLING);
    const now = take(pool);
    expect(now.i).toBe(old.i);
    const err = thrown(() => pool.release(old.i, old.g, SlabState.FILLING));
    expect(err.code).toBe('ERR_SLAB_TRANSITION_REFUSED');
    expect(err.message).toContain(`at generation ${old.g}`);
    expectWholeHeader(pool, now.i, err.message);
    expect(pool.state(now.i)).toBe(SlabState.FILLING);
    expect(pool.generation(now.i)).toBe(now.g);
    expect(pool.free()).toBe(0);
    expect(pool.refused()).toBe(1);
  });

  it('refuses each transition from the wrong state and leaves the slab as it was', () => {
    const pool = makePool();
    const { i, g } = take(pool);
    let refused = 0;
    for (const attempt of [
      () => pool.startWrite(i, g),
      () => pool.release(i, g, SlabState.WRITING),
      () => pool.release(i, g, SlabState.QUEUED),
    ]) {
      const err = thrown(attempt);
      expect(err.code).toBe('ERR_SLAB_TRANSITION_REFUSED');
      expectWholeHeader(pool, i, err.message);
      expect(pool.refused()).toBe(++refused);
      expect(pool.state(i)).toBe(SlabState.FILLING);
    }
    pool.queue(i, g, 8);
    for (const attempt of [
      () => pool.queue(i, g, 8),
      () => pool.release(i, g, SlabState.FILLING),
      () => pool.release(i, g, SlabState.WRITING),
    ]) {
      expect(thrown(attempt).code).toBe('ERR_SLAB_TRANSITION_REFUSED');
      expect(pool.refused()).toBe(++refused);
      expect(pool.state(i)).toBe(SlabState.QUEUED);
    }
    pool.startWrite(i, g);
    for (const attempt of [
      () => pool.queue(i, g, 8),
      () => pool.startWrite(i, g),
      () => pool.release(i, g, SlabState.FILLING),
      () => pool.release(i, g, SlabState.QUEUED),
    ]) {
      expect(thrown(attempt).code).toBe('ERR_SLAB_TRANSITION_REFUSED');
      expect(pool.refused()).toBe(++refused);
      expect(pool.state(i)).toBe(SlabState.WRITING);
    }
    expect(pool.free()).toBe(3);
  });

  it('refuses queue, startWrite and release with a wrong generation', () => {
    const pool = makePool();
    const { i, g } = take(pool);
    expect(thrown(() => pool.queue(i, g + 1, 8)).code).toBe('ERR_SLAB_TRANSITION_REFUSED');
    pool.queue(i, g, 8);
    expect(thrown(() => pool.startWrite(i, g - 1)).code).toBe('ERR_SLAB_TRANSITION_REFUSED');
    pool.startWrite(i, g);
    const err = thrown(() => pool.release(i, g + 5, SlabState.WRITING));
    expect(err.code).toBe('ERR_SLAB_TRANSITION_REFUSED');
    expect(err.message).toContain(`WRITING → FREE at generation ${g + 5}`);
    expectWholeHeader(pool, i, err.message);
    expect(pool.refused()).toBe(3);
    expect(pool.state(i)).toBe(SlabState.WRITING);
  });

  it('leaves the header untouched when a stale queue() is refused', () => {
    const pool = makePool();
    const { i, g } = take(pool, 3, 1);
    pool.queue(i, g, 100);
    pool.startWrite(i, g);
    const before = pool.header(i);
    const err = thrown(() => pool.queue(i, g, 7));
    expect(err.code).toBe('ERR_SLAB_TRANSITION_REFUSED');
    expect(pool.header(i)).toEqual(before);
    expect(err.message).toContain('length=100');
  });

  it('refuses a slab index outside the pool with ERR_SLAB_INDEX and counts it', () => {
    const pool = makePool({ slabCount: 4 });
    const bad = [-1, 4, 1.5, Number.NaN, 2 ** 31];
    let refused = 0;
    for (const i of bad) {
      for (const attempt of [
        () => pool.queue(i, 1, 0),
        () => pool.startWrite(i, 1),
        () => pool.release(i, 1, SlabState.WRITING),
      ]) {
        const err = thrown(attempt);
        expect(err.code).toBe('ERR_SLAB_INDEX');
        expect(err.message).toContain(`slab ${i} is not in 0..3`);
        expect(pool.refused()).toBe(++refused);
      }
      expect(thrown(() => pool.header(i)).code).toBe('ERR_SLAB_INDEX');
      expect(thrown(() => pool.reclaimSent(i, 1)).code).toBe('ERR_SLAB_INDEX');
    }
    expect(pool.free()).toBe(4);
  });

  it('refuses a queued length beyond the slab without changing the slab', () => {
    const pool = makePool();
    const { i, g } = take(pool);
    expect(thrown(() => pool.queue(i, g, 4097)).code).toBe('ERR_SLAB_INDEX');
    expect(thrown(() => pool.queue(i, g, -1)).code).toBe('ERR_SLAB_INDEX');
    expect(pool.header(i).state).toBe('FILLING');
    expect(pool.header(i).length).toBe(0);
    pool.queue(i, g, 4096);
    expect(pool.header(i).length).toBe(4096);
  });
});

describe('SlabPool reclaim', () => {
  it('frees only the FILLING slabs of the dead owner', () => {
    const pool = makePool({ slabCount: 6 });
    const deadFilling = [take(pool, 2), take(pool, 2)];
    const deadQueued = take(pool, 2);
    pool.queue(deadQueued.i, deadQueued.g, 1);
    const deadWriting = take(pool, 2);
    pool.queue(deadWriting.i, deadWriting.g, 1);
    pool.startWrite(deadWriting.i, deadWriting.g);
    const otherFilling = take(pool, 3);
    expect(pool.free()).toBe(1);

    expect(pool.reclaim(2)).toBe(2);
    for (const t of deadFilling) {
      expect(pool.state(t.i)).toBe(SlabState.FREE);
      expect(thrown(() => pool.queue(t.i, t.g, 1)).code).toBe('ERR_SLAB_TRANSITION_REFUSED');
    }
    expect(pool.state(deadQueued.i)).toBe(SlabState.QUEUED);
    expect(pool.state(deadWriting.i)).toBe(SlabState.WRITING);
    expect(pool.state(otherFilling.i)).toBe(SlabState.FILLING);
    expect(pool.free()).toBe(3);
    expect(pool.reclaim(2)).toBe(0);
    expect(pool.free()).toBe(3);
  });

  it('frees a QUEUED or WRITING slab of a dead consumer once, at its generation only', () => {
    const pool = makePool();
    const q = take(pool);
    pool.queue(q.i, q.g, 1);
    const w = take(pool);
    pool.queue(w.i, w.g, 1);
    pool.startWrite(w.i, w.g);
    const f = take(pool);

    expect(pool.reclaimSent(q.i, q.g + 1)).toBe(false);
    expect(pool.reclaimSent(f.i, f.g)).toBe(false);
    expect(pool.state(f.i)).toBe(SlabState.FILLING);
    expect(pool.free()).toBe(1);

    expect(pool.reclaimSent(q.i, q.g)).toBe(true);
    expect(pool.reclaimSent(w.i, w.g)).toBe(true);
    expect(pool.state(q.i)).toBe(SlabState.FREE);
    expect(pool.state(w.i)).toBe(SlabState.FREE);
    expect(pool.free()).toBe(3);

    expect(pool.reclaimSent(q.i, q.g)).toBe(false);
    expect(pool.free()).toBe(3);
    expect(pool.refused()).toBe(0);
    expect(thrown(() => pool.release(w.i, w.g, SlabState.WRITING)).code).toBe('ERR_SLAB_TRANSITION_REFUSED');
  });
});

describe('SlabPool.waitForFree', () => {
  it('answers not-equal at once while a slab is free', async () => {
    const pool = makePool();
    expect(await pool.waitForFree()).toBe('not-equal');
    expect(pool.waits()).toBe(0);
  });

  it('waits while the pool is empty and wakes when a slab is released', async () => {
    const pool = makePool({ slabCount: 1 });
    const { i, g } = take(pool);
    let settled = false;
    const waiting = pool.waitForFree().then((o) => {
      settled = true;
      return o;
    });
    await nextTurn();
    expect(settled).toBe(false);
    expect(pool.waits()).toBe(1);
    pool.release(i, g, SlabState.FILLING);
    expect(await waiting).toBe('ok');
    expect(pool.acquire(1, 0)).toBe(i);
  });

  it('wakes when reclaim() frees a dead owner\'s slab', async () => {
    const pool = makePool({ slabCount: 1 });
    take(pool, 4);
    const waiting = pool.waitForFree();
    expect(pool.reclaim(4)).toBe(1);
    expect(await waiting).toBe('ok');
  });

  it('wakes every waiter when the pool closes, and answers at once afterwards', async () => {
    const pool = makePool({ slabCount: 1 });
    take(pool);
    const waiters = [pool.waitForFree(), pool.waitForFree(), pool.waitForFree()];
    pool.close();
    expect(await Promise.all(waiters)).toEqual(['ok', 'ok', 'ok']);
    expect(pool.closed()).toBe(true);
    expect(await pool.waitForFree()).toBe('not-equal');
  });

  it('ends with timed-out when nothing is freed within the timeout', async () => {
    const pool = makePool({ slabCount: 1 });
    take(pool);
    expect(await pool.waitForFree(1)).toBe('timed-out');
  });

  it('handles Atomics.waitAsync answering not-equal synchronously when a release slips in', async () => {
    const pool = makePool({ slabCount: 1 });
    const { i, g } = take(pool);
    // A release on another thread lands between the waiter's check and its wait.
    const answers = slipBeforeWait(() => pool.release(i, g, SlabState.FILLING));
    expect(await pool.waitForFree()).toBe('not-equal');
    expect(answers).toEqual([{ async: false, value: 'not-equal' }]);
    expect(pool.free()).toBe(1);
  });

  it('does not block in waitForFreeSync while a slab is free, and times out when none is', () => {
    const pool = makePool({ slabCount: 1 });
    expect(pool.waitForFreeSync()).toBe('not-equal');
    take(pool);
    expect(pool.waitForFreeSync(0)).toBe('timed-out');
  });
});
