// Reads every worker's outbox on the main thread, one turn of the event loop at a time, and hands each descriptor on
// (main thread).
//
// Waking a sleeping thread costs the waker 12–30 µs here, and the sleeper as much again before it runs. So neither side
// sleeps while an answer is due soon. A turn (one setImmediate, shared by all outboxes) first rings the inboxes that
// were sent something since the last turn, once each, then reads what the workers have answered. While requests are in
// flight and answers come quickly, the poller turns again at once; the event loop still serves sockets between turns.
// When nothing is expected, or an answer is slower than polling is worth (see pollBudget), it sleeps on main's
// doorbell, and the next worker to push rings it. A dispatch wakes it with no ring at all (kick()).
//
// A descriptor that cannot be routed (a slabserve bug: a refused transition, a head that does not decode) goes to
// onError and the poller reads on: one bad descriptor costs one request, never the server.

import { emptyDescriptor, type Descriptor, type Doorbell } from '../pool/index.js';
import type { ThreadState } from './thread-supervisor.js';

/** Descriptors read in one turn before sockets get the event loop back. */
const BATCH = 256;
/** The longest the poller keeps turning, waiting for an answer, before it sleeps. */
const MAX_POLL_US = 500;
/** Answers slower than this on average are not polled for: a worker's ring is cheaper than the polling. */
const POLL_WORTH_US = 600;

export interface PollerHooks {
  route(thread: ThreadState, d: Descriptor): void;
  onError(thread: ThreadState, err: unknown, d: Descriptor | null): void;
  /** Around each turn's descriptors: writes made in between are gathered per socket. */
  beforeBatch(): void;
  afterBatch(): void;
  /** True while answers are owed: requests in flight, or pings out. */
  expecting(): boolean;
  /** Runs at the start of every turn: work that waits for the workers to make room (request heads). */
  eachTurn(): void;
}

export class OutboxPoller {
  private readonly threads: ThreadState[];
  private readonly bell: Doorbell;
  private readonly hooks: PollerHooks;
  private readonly d = emptyDescriptor();
  private scheduled = false;
  /** A waitAsync on the doorbell is pending (at most one: a later sleep reuses it, see sleep()). */
  private waiting = false;
  private stopped = false;
  /** When a descriptor last came, or a request was last dispatched (performance.now(), ms). */
  private lastActivity = 0;
  /** Moving average of how long a request waits for its first answer, in µs. */
  private serviceUs = 0;

  constructor(threads: ThreadState[], bell: Doorbell, hooks: PollerHooks) {
    this.threads = threads;
    this.bell = bell;
    this.hooks = hooks;
    this.schedule();
  }

  /** Something was sent to a worker: turn soon (which also rings its inbox), and poll for the answer. */
  kick(): void {
    this.lastActivity = performance.now();
    if (this.scheduled || this.stopped) return;
    // Taking the doorbell back means no worker will ring for this sleep; if one already did, the pending wait
    // resolves and finds a turn already scheduled.
    this.bell.disarm();
    this.schedule();
  }

  /** A request got its first answer `us` after it was dispatched. */
  noteService(us: number): void {
    this.serviceUs = this.serviceUs === 0 ? us : this.serviceUs * 0.9 + us * 0.1;
  }

  /** Reads what `thread` has queued now, synchronously (before cleaning up after it died). */
  drainNow(thread: ThreadState): void {
    while (thread.outbox.pop(this.d)) this.deliver(thread, this.d);
  }

  stop(): void {
    this.stopped = true;
    this.bell.disarm();
  }

  /**
   * How long to keep turning with nothing read, in ms: about three answers' worth while answers are quick, none while
   * they are slow. Polling a 2 ms handler would burn a core the workers need; polling a 50 µs one saves two wake-ups.
   */
  private pollBudget(): number {
    if (this.serviceUs > POLL_WORTH_US) return 0;
    return Math.min(MAX_POLL_US, Math.max(50, 2 * this.serviceUs)) / 1000;
  }

  private schedule(): void {
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    if (this.stopped) return;
    this.hooks.eachTurn();
    for (const t of this.threads) t.sender.ring();
    let n = 0;
    this.hooks.beforeBatch();
    for (const t of this.threads) {
      while (n < BATCH && t.outbox.pop(this.d)) {
        n++;
        this.deliver(t, this.d);
      }
    }
    try {
      this.hooks.afterBatch();
    } catch (err) {
      this.hooks.onError(this.threads[0]!, err, null);
    }
    const now = performance.now();
    if (n > 0) this.lastActivity = now;
    if (n === BATCH || (this.hooks.expecting() && now - this.lastActivity < this.pollBudget())) this.schedule();
    else this.sleep();
  }

  private deliver(thread: ThreadState, d: Descriptor): void {
    try {
      this.hooks.route(thread, d);
    } catch (err) {
      this.hooks.onError(thread, err, d);
    }
  }

  /**
   * Arms the doorbell and waits for a ring. A wait left pending by an earlier sleep, whose sleep a kick cut short, is
   * reused: no ring has come since (or it would have resolved), so the word it waits on still holds the value it saw.
   */
  private sleep(): void {
    if (this.stopped) return;
    const seen = this.bell.arm();
    if (this.threads.some((t) => !t.outbox.isEmpty())) {
      // Pushed before the doorbell was armed: the pusher did not ring.
      this.bell.disarm();
      this.schedule();
      return;
    }
    if (this.waiting) return;
    const outcome = this.bell.waitAsync(seen);
    if (typeof outcome === 'string') {
      this.bell.disarm();
      this.schedule();
      return;
    }
    this.waiting = true;
    void outcome.then(() => {
      this.waiting = false;
      this.bell.disarm();
      if (!this.scheduled && !this.stopped) this.schedule();
    });
  }
}
