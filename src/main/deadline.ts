// Waiting for something with a deadline, as close() does at each of its steps (main thread).

/**
 * Resolves 'done' when `promise` settles by `deadline` (a performance.now() time), else 'late' at the deadline. An
 * Infinity deadline waits as long as it takes.
 */
export async function within(promise: Promise<unknown>, deadline: number): Promise<'done' | 'late'> {
  const done = promise.then(
    () => 'done' as const,
    () => 'done' as const,
  );
  if (deadline === Infinity) return done;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - performance.now()), 'late')));
  try {
    return await Promise.race([done, late]);
  } finally {
    clearTimeout(timer);
  }
}
