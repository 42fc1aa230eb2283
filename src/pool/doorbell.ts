// A consumer's doorbell: how producers wake a consumer thread that sleeps, and only one that sleeps (both threads).
//
// Two words: SLEEPING, which the consumer sets to 1 just before it waits, and WAKE, the futex word it waits on. A
// producer rings only when it finds SLEEPING at 1, and only the ring that takes it from 1 to 0 bumps WAKE and notifies:
// a busy consumer costs its producers one load per ring, and a sleep costs one notify however many producers ring.
// That matters: on these machines one Atomics.notify of a sleeping thread costs the notifier 12–30 µs.
//
// The consumer's side, in order: arm() (read WAKE, then set SLEEPING), re-check its queues (work published before
// SLEEPING was set is seen here; work published after it rings), then wait for WAKE to move from what arm() read.
// A consumer that wants to stop sleeping without a ring calls disarm(): if it takes SLEEPING back from 1 to 0, no
// producer will ring for that sleep; if it finds 0, a ring is on its way and WAKE has moved or is about to.

import { waitAsync, waitSync, type WaitOutcome } from './wake.js';

export class Doorbell {
  private readonly c: Int32Array;
  private readonly sleeping: number;
  private readonly wake: number;

  constructor(control: Int32Array, sleepingWord: number, wakeWord: number) {
    this.c = control;
    this.sleeping = sleepingWord;
    this.wake = wakeWord;
  }

  // ---- producers ----

  /** Wakes the consumer if it sleeps; once per sleep, whoever rings. */
  ring(): void {
    const c = this.c;
    if (Atomics.load(c, this.sleeping) !== 0 && Atomics.compareExchange(c, this.sleeping, 1, 0) === 1) {
      Atomics.add(c, this.wake, 1);
      Atomics.notify(c, this.wake);
    }
  }

  /** Wakes the consumer whether or not it said it sleeps (to make it notice a stop or a reset). */
  ringAlways(): void {
    Atomics.store(this.c, this.sleeping, 0);
    Atomics.add(this.c, this.wake, 1);
    Atomics.notify(this.c, this.wake);
  }

  // ---- the consumer ----

  /** Says "about to sleep": returns the WAKE value to wait on. The caller re-checks its work next. */
  arm(): number {
    const seen = Atomics.load(this.c, this.wake);
    Atomics.store(this.c, this.sleeping, 1);
    return seen;
  }

  /** Takes back an arm() (or clears the flag after a wait). True when no ring was coming for it. */
  disarm(): boolean {
    return Atomics.compareExchange(this.c, this.sleeping, 1, 0) === 1;
  }

  /** True while the consumer is armed and no producer has rung. */
  get armed(): boolean {
    return Atomics.load(this.c, this.sleeping) !== 0;
  }

  /** Waits without blocking the event loop (a plain value when Atomics.waitAsync answers at once). */
  waitAsync(seen: number, timeoutMs = Infinity): WaitOutcome | Promise<WaitOutcome> {
    return waitAsync(this.c, this.wake, seen, timeoutMs);
  }

  /** Blocks this thread (workers only; never the main thread). */
  waitSync(seen: number, timeoutMs = Infinity): WaitOutcome {
    return waitSync(this.c, this.wake, seen, timeoutMs);
  }
}
