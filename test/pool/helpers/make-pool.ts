// Builds small pools for the pool tests (test helper, one thread).

import { vi } from 'vitest';
import { createPoolMemory, SlabPool, type PoolDimensions, type PoolMemory } from '../../../src/pool/index.js';

/** The smallest dimensions that still exercise every region; tests override what they care about. */
export const SMALL: PoolDimensions = { slabSize: 4096, slabCount: 4, slotCount: 2, queueCount: 2, queueCapacity: 4 };

export function makeMemory(overrides: Partial<PoolDimensions> = {}): PoolMemory {
  return createPoolMemory({ ...SMALL, ...overrides });
}

export function makePool(overrides: Partial<PoolDimensions> = {}): SlabPool {
  return new SlabPool(makeMemory(overrides));
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
