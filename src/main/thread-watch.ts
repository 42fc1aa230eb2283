// App timeouts, and what happens to a thread that will not let go of a timed-out request (main thread).
//
// A request whose app produces no head within appTimeout is answered 504 and aborted (request.signal fires). An app
// that honours the abort lets go of it; one that does not still holds it APP_GRACE_MS later. Its thread is then
// drained: it takes no new requests, and main asks it for a PONG. A thread whose event loop does not answer within
// APP_GRACE_MS is stuck on the CPU (its other requests cannot progress either) and is terminated at once. A thread
// that answers only ignores the abort: it is terminated once its other requests have finished, or appTimeout (at
// least APP_GRACE_MS) after it was drained, whichever comes first. Either way piscina replaces it, and only the stuck requests are lost with it.

import { publish } from '../diagnostics.js';
import { control, Kind } from '../protocol.js';
import type { Exchange } from './exchange.js';
import type { ResolvedOptions } from './options.js';
import type { ServerStats } from './stats.js';
import type { ThreadState, ThreadSupervisor } from './thread-supervisor.js';

/** How long a thread may hold a timed-out request, or take to answer a ping, before it counts as stuck. */
export const APP_GRACE_MS = 1000;

interface Drain {
  since: number;
  pingAt: number;
  answered: boolean;
  terminated: boolean;
}

export class ThreadWatch {
  private readonly supervisor: ThreadSupervisor;
  private readonly options: ResolvedOptions;
  private readonly stats: ServerStats;
  private readonly draining = new Map<ThreadState, Drain>();

  constructor(supervisor: ThreadSupervisor, options: ResolvedOptions, stats: ServerStats) {
    this.supervisor = supervisor;
    this.options = options;
    this.stats = stats;
  }

  /** One pass over the requests in flight (from the server's sweep). */
  sweep(live: Iterable<Exchange>, now: number): void {
    const { appTimeout } = this.options;
    if (appTimeout === 0) return;
    const held = new Map<ThreadState, number>();
    for (const ex of live) {
      if (ex.answered || ex.workerDone) continue;
      if (ex.timedOutAt === 0 && now - ex.started > appTimeout) {
        ex.timedOut(now);
        publish('slabserve:app-timeout', {
          owner: ex.thread.owner,
          method: ex.req.method ?? '',
          url: ex.req.url ?? '',
          elapsedMs: Math.round(now - ex.started),
        });
      } else if (ex.timedOutAt > 0 && now - ex.timedOutAt > APP_GRACE_MS) {
        held.set(ex.thread, (held.get(ex.thread) ?? 0) + 1);
      }
    }
    for (const [thread, stuck] of held) {
      const drain = this.draining.get(thread) ?? this.startDrain(thread, now);
      if (drain.terminated) continue;
      if (!drain.answered && now - drain.pingAt > APP_GRACE_MS) {
        this.terminate(thread, drain, 'its event loop did not answer while it held a timed-out request');
      } else if (drain.answered && thread.active <= stuck) {
        this.terminate(thread, drain, 'it held a timed-out request; its other requests have finished');
      } else if (now - drain.since > Math.max(appTimeout, APP_GRACE_MS)) {
        this.terminate(thread, drain, 'it held a timed-out request for appTimeout after it was drained');
      }
    }
  }

  /** The thread's loop answered a ping: it runs, and only ignores the abort. */
  pong(thread: ThreadState): void {
    const drain = this.draining.get(thread);
    if (drain !== undefined) drain.answered = true;
  }

  /** Threads drained now: they take no new requests and will be terminated. */
  get drainingCount(): number {
    return this.draining.size;
  }

  /** The thread died or was replaced: forget its drain. */
  forget(thread: ThreadState): void {
    this.draining.delete(thread);
  }

  private startDrain(thread: ThreadState, now: number): Drain {
    const drain: Drain = { since: now, pingAt: now, answered: false, terminated: false };
    this.draining.set(thread, drain);
    thread.accepting = false;
    thread.sender.send(control(0, 0, Kind.PING));
    return drain;
  }

  /** The death that follows is handled as any other (forget() ends the drain); until then nothing more is decided. */
  private terminate(thread: ThreadState, drain: Drain, reason: string): void {
    drain.terminated = true;
    this.stats.threadsTerminated++;
    publish('slabserve:thread-terminated', { owner: thread.owner, threadId: thread.inbox.consumerThread(), reason });
    this.supervisor.kill(thread);
  }
}
