// Counters main keeps for stats(), and the garbage collector's work as perf_hooks reports it (main thread).

import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import type { ErrorCode } from '../errors.js';

export interface GcStats {
  /** Minor collections (scavenges) of the main thread since start. */
  scavenges: number;
  /** Major collections (mark-sweep-compact), incremental marking included. */
  markSweeps: number;
  /** Milliseconds the main thread spent paused in GC. */
  pauseMs: number;
}

export interface StatsSnapshot {
  slabs: { total: number; free: number; lowWater: number; size: number };
  requests: number;
  responses: number;
  inflight: number;
  bytesWritten: number;
  /** Times a writer waited for credit or for a free slab. */
  waits: number;
  copiedWrites: number;
  spilledSlabs: number;
  refusedTransitions: number;
  errors: Record<string, number>;
  /** Worker threads; restarts after deaths; threads drained and terminated for holding a timed-out request. */
  threads: { count: number; restarts: number; draining: number; terminated: number };
  gc: GcStats;
}

export class ServerStats {
  requests = 0;
  responses = 0;
  bytesWritten = 0;
  /** Writes that copied a slab because the pool was under pressure (or the response did not own its socket yet). */
  copiedWrites = 0;
  /** Slabs copied out of stalled sockets' queues to give them back to the pool. */
  spilledSlabs = 0;
  /** Threads terminated because they held a timed-out request past the grace period. */
  threadsTerminated = 0;
  readonly errors: Partial<Record<ErrorCode, number>> = {};
  readonly gc: GcStats = { scavenges: 0, markSweeps: 0, pauseMs: 0 };
  private observer: PerformanceObserver | null = null;

  count(code: ErrorCode): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  /** Starts counting GC entries (perf_hooks 'gc'); they arrive asynchronously, batched by node. */
  observeGc(): void {
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.onGc(entry);
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    this.observer?.disconnect();
    this.observer = null;
  }

  private onGc(entry: PerformanceEntry): void {
    const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) this.gc.scavenges++;
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR || kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) {
      this.gc.markSweeps++;
    }
    this.gc.pauseMs += entry.duration;
  }
}
