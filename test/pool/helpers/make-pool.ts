// Builds small pools for the pool tests (test helper, one thread).

import { vi } from 'vitest';
import {
  createPoolMemory,
  Q_HEAD,
  Q_TAIL,
  queueAt,
  R_GEN,
  R_RESP_OWNED,
  SlabPool,
  slotAt,
  type PoolDimensions,
  type PoolMemory,
} from '../../../src/pool/index.js';

/** The smallest dimensions that still exercise every region; tests override what they care about. */
export const SMALL: PoolDimensions = { slabSize: 4096, slabCount: 4, slotCount: 2, queueCount: 2, queueCapacity: 4 };

export function makeMemory(overrides: Partial<PoolDimensions> = {}): PoolMemory {
  return createPoolMemory({ ...SMALL, ...overrides });
}

export function makePool(overrides: Partial<PoolDimensions> = {}): SlabPool {
  return new SlabPool(makeMemory(overrides));
}

/** Descriptors in queue `q` now (tail − head), read straight from the shared words. */
export function queueDepth(memory: PoolMemory, q: number): number {
  const at = queueAt(memory.layout, q);
  return (Atomics.load(memory.control, at + Q_TAIL) - Atomics.load(memory.control, at + Q_HEAD)) | 0;
}

/** Response slabs request slot `slot` owns now, read straight from its R_RESP_OWNED word. */
export function responseOwned(memory: PoolMemory, slot: number): number {
  return Atomics.load(memory.control, slotAt(memory.layout, slot) + R_RESP_OWNED);
}

/** Request slot `slot`'s generation, read straight from its R_GEN word. */
export function slotGeneration(memory: PoolMemory, slot: number): number {
  return Atomics.load(memory.control, slotAt(memory.layout, slot) + R_GEN);
}

/** Bytes [0, length) of slab `index`, as a view of the shared data (never a copy). */
export function slabBytes(memory: PoolMemory, index: number, length: number): Uint8Array {
  return new Uint8Array(memory.buffers.data, index * memory.layout.slabSize, length);
}

/** Runs `fn`, expects it to throw, and returns what it threw so the test can match on `code`. */
export function thrown(fn: () => unknown): { code?: unknown; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: unknown; message: string };
  }
  throw new Error('expected the call to throw, and it returned');
}

/** Resolves on the next turn of the event loop: lets a pending Atomics.waitAsync settle if it is going to. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

type WaitAsyncFn = (words: Int32Array, index: number, value: number, timeout?: number) => { async: boolean };

/**
 * Replaces Atomics.waitAsync for one test (undo with vi.restoreAllMocks): `slipIn` runs first, as another thread would
 * between a waiter's last check and its wait. Returns how each real call answered, so a test can see the synchronous
 * { async: false } path was taken.
 */
export function slipBeforeWait(slipIn: (words: Int32Array, index: number, call: number) => void): Array<{ async: boolean }> {
  const real = Atomics.waitAsync.bind(Atomics) as unknown as WaitAsyncFn;
  const answers: Array<{ async: boolean }> = [];
  const fake: WaitAsyncFn = (words, index, value, timeout) => {
    slipIn(words, index, answers.length + 1);
    const answer = real(words, index, value, timeout);
    answers.push(answer);
    return answer;
  };
  vi.spyOn(Atomics, 'waitAsync').mockImplementation(fake as unknown as typeof Atomics.waitAsync);
  return answers;
}
