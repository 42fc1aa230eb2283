import { describe, it, expect } from 'vitest';
import {
  checkDimensions,
  createPoolMemory,
  openPoolMemory,
  SlabPool,
  SlabState,
  type PoolDimensions,
} from '../../src/pool/index.js';
import { SMALL, thrown } from './helpers/make-pool.js';

describe('checkDimensions', () => {
  it('accepts sane dimensions and rounds the queue capacity and the arena up to powers of two', () => {
    expect(checkDimensions({ ...SMALL, queueCapacity: 100 })).toEqual({ ...SMALL, queueCapacity: 128, arenaBytes: 0 });
    expect(checkDimensions({ ...SMALL, slabSize: 64 * 1024 })).toEqual({ ...SMALL, slabSize: 64 * 1024, arenaBytes: 0 });
    expect(checkDimensions({ ...SMALL, arenaBytes: 100_000 })).toEqual({ ...SMALL, arenaBytes: 131_072 });
  });

  const bad: Array<[string, Partial<PoolDimensions>, string]> = [
    ['a negative arena', { arenaBytes: -1 }, 'arenaBytes'],
    ['an arena over 256 MiB', { arenaBytes: 2 ** 28 + 1 }, 'arenaBytes'],
    ['a slab size that is not a multiple of 4096', { slabSize: 4096 + 512 }, 'slabSize must be a multiple of 4096'],
    ['a slab size below one page', { slabSize: 1024 }, 'slabSize must be a multiple of 4096'],
    ['a zero slab size', { slabSize: 0 }, 'slabSize'],
    ['a negative slab size', { slabSize: -4096 }, 'slabSize'],
    ['a fractional slab count', { slabCount: 2.5 }, 'slabCount'],
    ['no slabs', { slabCount: 0 }, 'slabCount'],
    ['no request slots', { slotCount: 0 }, 'slotCount'],
    ['no queues', { queueCount: 0 }, 'queueCount'],
    ['more queues than owner ids allow', { queueCount: 511 }, 'queueCount'],
    ['a queue capacity of zero', { queueCapacity: 0 }, 'queueCapacity'],
    ['a NaN size', { slabSize: Number.NaN }, 'slabSize'],
    ['a pool over 4 GiB', { slabSize: 2 ** 20, slabCount: 2 ** 12 + 1 }, '4 GiB'],
  ];
  for (const [what, change, says] of bad) {
    it(`rejects ${what} with ERR_INVALID_OPTION`, () => {
      const err = thrown(() => checkDimensions({ ...SMALL, ...change }));
      expect(err.code).toBe('ERR_INVALID_OPTION');
      expect(err.message).toContain(says);
      expect(thrown(() => createPoolMemory({ ...SMALL, ...change })).code).toBe('ERR_INVALID_OPTION');
    });
  }
});

describe('pool memory', () => {
  it('writes the dimensions into the header so another thread can reopen the same buffers', () => {
    const memory = createPoolMemory({ ...SMALL, slabCount: 3, queueCapacity: 3 });
    const reopened = openPoolMemory(memory.buffers);
    expect(reopened.layout).toEqual(memory.layout);
    expect(reopened.layout.queueCapacity).toBe(4);
    expect(reopened.control.buffer).toBe(memory.buffers.control);

    const here = new SlabPool(memory);
    const there = new SlabPool(reopened, 1);
    const i = here.acquire(1, 0);
    const g = here.generation(i);
    expect(there.header(i)).toEqual(here.header(i));
    here.view(i).set([7, 8, 9]);
    expect(Array.from(there.view(i).subarray(0, 3))).toEqual([7, 8, 9]);
    there.release(i, g, SlabState.FILLING);
    expect(here.free()).toBe(3);
  });

  it('refuses to reopen a data buffer that does not match the header', () => {
    const memory = createPoolMemory(SMALL);
    const err = thrown(() => openPoolMemory({ control: memory.buffers.control, data: new SharedArrayBuffer(4096) }));
    expect(err.code).toBe('ERR_INVALID_OPTION');
  });
});
