// Futex-style waits and wake-ups on one Int32 word (both threads; the blocking form on workers only).
//
// Every wait here follows one pattern: the waiter reads the word, re-checks its condition, then waits for the word to
// change from what it read. A waker changes the state first, then bumps the word, then notifies. Whatever the order
// in which the two threads run, the waiter either sees the new state or sees the word changed, so no wake-up is lost.

export type WaitOutcome = 'ok' | 'not-equal' | 'timed-out';

/**
 * Waits without blocking the event loop. Atomics.waitAsync may answer synchronously ({async:false}) when the word has
 * already changed or the timeout is 0; that answer is returned as is, so callers must handle a plain value as well as
 * a promise.
 */
export function waitAsync(
  words: Int32Array,
  index: number,
  expected: number,
  timeoutMs = Infinity,
): WaitOutcome | Promise<WaitOutcome> {
  const result = Atomics.waitAsync(words, index, expected, timeoutMs);
  return result.async ? (result.value as Promise<WaitOutcome>) : (result.value as WaitOutcome);
}

/** Blocks the calling thread. Only for workers with synchronous producers; the main thread may not block. */
export function waitSync(words: Int32Array, index: number, expected: number, timeoutMs = Infinity): WaitOutcome {
  return Atomics.wait(words, index, expected, timeoutMs);
}

/**
 * The first half of every wait: counts the caller as a waiter, reads the word, then asks `early()` whether there is
 * an answer without waiting (checked after the read, so a change made before it is seen here, and one after it
 * changes the word). Returns the answer, with the count undone, or the word's value to wait on; the caller waits, then
 * calls leaveWait().
 */
export function enterWait<T>(
  words: Int32Array,
  wordIndex: number,
  waitersIndex: number,
  early: () => T | null,
): { answer: T } | number {
  Atomics.add(words, waitersIndex, 1);
  const seen = Atomics.load(words, wordIndex);
  const answer = early();
  if (answer === null) return seen;
  Atomics.sub(words, waitersIndex, 1);
  return { answer };
}

export function leaveWait(words: Int32Array, waitersIndex: number): void {
  Atomics.sub(words, waitersIndex, 1);
}

/** Bumps the futex word and wakes every waiter on it, when the waiter count says there are any. */
export function wake(words: Int32Array, wordIndex: number, waitersIndex: number): void {
  if (Atomics.load(words, waitersIndex) > 0) {
    Atomics.add(words, wordIndex, 1);
    Atomics.notify(words, wordIndex);
  }
}

/** Bumps and wakes unconditionally: for aborts and close, which are rare and must never be missed. */
export function wakeAll(words: Int32Array, wordIndex: number): void {
  Atomics.add(words, wordIndex, 1);
  Atomics.notify(words, wordIndex);
}
