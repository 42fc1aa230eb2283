// Counts garbage collections per thread (perf_hooks 'gc' entries, or v8.GCProfiler where the event loop may not turn),
// and sums a process's threads through a small shared table (any thread: main, slabserve app workers, piscina workers).
//
// Why a table: each thread is its own V8 isolate with its own heap and GC, and perf_hooks reports only the calling
// thread's; slabserve's stats().gc covers its main thread only. Asking threads by message would not do: an idle piscina
// worker (atomics 'sync') sits in Atomics.wait and answers nothing. So each thread writes its counts into its own row
// of a SharedArrayBuffer as entries arrive, and main sums the rows whenever it likes.
//
// Layout: Int32 at byte 0 = rows claimed (Atomics.add by each joining thread); from byte 8, one row of three Float64
// per thread (scavenges, markSweeps, pauseMs), written only by its thread. Aligned 8-byte stores do not tear on x64.

import { constants, PerformanceObserver } from 'node:perf_hooks';
import { GCProfiler } from 'node:v8';
import { BroadcastChannel } from 'node:worker_threads';

const CHANNEL = 'slabserve-bench-gc';
const ROWS_AT = 8;
const ROW = 3;

/** Starts counting this thread's GC; `onChange(counts)` after each batch of entries (node delivers them batched). */
export function countGc(onChange = () => {}) {
  const counts = { scavenges: 0, markSweeps: 0, pauseMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = entry.detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) counts.scavenges++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR || kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) {
        counts.markSweeps++;
      }
      counts.pauseMs += entry.duration;
    }
    onChange(counts);
  });
  observer.observe({ entryTypes: ['gc'] });
  return counts;
}

export function createGcTable(maxThreads = 64) {
  return new SharedArrayBuffer(ROWS_AT + maxThreads * ROW * 8);
}

function claimRow(table) {
  const rows = new Float64Array(table, ROWS_AT);
  const row = Atomics.add(new Int32Array(table, 0, 1), 0, 1);
  if ((row + 1) * ROW > rows.length) throw new Error('gc table full');
  return (c) => {
    rows[row * ROW] = c.scavenges;
    rows[row * ROW + 1] = c.markSweeps;
    rows[row * ROW + 2] = c.pauseMs;
  };
}

/** In a worker thread whose event loop runs: claim a row of `table` and keep it current. */
export function publishGc(table) {
  return countGc(claimRow(table));
}

/**
 * In a piscina worker: its event loop may never turn while tasks keep coming (atomics 'sync' takes the next task
 * inside Atomics.wait), so perf_hooks entries would wait undelivered. v8.GCProfiler records from V8's own GC
 * callbacks instead; the returned flush() (call it from each task) moves its records into the row, at most every
 * 20 ms. Counts therefore lag by up to one flush, which the runner's per-round deltas absorb.
 */
export function publishGcFromTasks(table) {
  const write = claimRow(table);
  const counts = { scavenges: 0, markSweeps: 0, pauseMs: 0 };
  let profiler = new GCProfiler();
  profiler.start();
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < 20) return;
    last = now;
    const { statistics } = profiler.stop();
    profiler = new GCProfiler();
    profiler.start();
    for (const { gcType, cost } of statistics) {
      if (gcType === 'Scavenge' || gcType === 'MinorMarkSweep') counts.scavenges++;
      else if (gcType === 'MarkSweepCompact' || gcType === 'IncrementalMarking') counts.markSweeps++;
      counts.pauseMs += cost / 1000;
    }
    write(counts);
  };
}

/** Summed counts of every thread that joined `table`, and how many did. */
export function sumGcTable(table) {
  const threads = Atomics.load(new Int32Array(table, 0, 1), 0);
  const rows = new Float64Array(table, ROWS_AT);
  const sum = { scavenges: 0, markSweeps: 0, pauseMs: 0, threads };
  for (let r = 0; r < threads; r++) {
    sum.scavenges += rows[r * ROW];
    sum.markSweeps += rows[r * ROW + 1];
    sum.pauseMs += rows[r * ROW + 2];
  }
  return sum;
}

/** In main, before starting threads that cannot be given workerData: hand `table` to each that asks on the channel. */
export function offerGcTable(table) {
  const channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = ({ data }) => {
    if (data?.type === 'join') channel.postMessage({ type: 'table', table });
  };
  channel.unref();
}

/** In a worker thread started by code we do not control (slabserve's): ask main for the table, then publish to it. */
export function joinGcTable() {
  const channel = new BroadcastChannel(CHANNEL);
  let joined = false;
  channel.onmessage = ({ data }) => {
    // Main answers every join by broadcast, so a thread may hear several answers: claim one row only.
    if (data?.type !== 'table' || joined) return;
    joined = true;
    channel.close();
    publishGc(data.table);
  };
  channel.unref();
  channel.postMessage({ type: 'join' });
}

export function addGc(a, b) {
  return { scavenges: a.scavenges + b.scavenges, markSweeps: a.markSweeps + b.markSweeps, pauseMs: a.pauseMs + b.pauseMs };
}
