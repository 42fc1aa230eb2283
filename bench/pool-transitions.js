#!/usr/bin/env node
// Slab transitions per second: acquire+release pairs on one thread, then on four threads at once (main + workers).
//
// Usage: node bench/pool-transitions.js [--json] [--runs N] [--ops N]
// Needs the compiled pool: `npm run build` first (npm run bench:pool does not build).
//
// Method: every scenario starts its threads once, discards one warm-up run, then times `runs` runs. A run opens an
// Atomics gate for all threads at once and ends when the last one has done its `ops` operations; the time is the main
// thread's wall clock over that span. Each thread takes and gives back its own slabs from one shared pool that is
// large enough never to run dry, so what is measured is the cost of the compareExchange hand-over and the shared free
// counter, including the cache-line traffic between threads. After each scenario the pool must be whole again
// (every slab FREE, nothing refused), or the figures are not printed.

import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createPoolMemory, NO_SLAB, openPoolMemory, SlabPool, SlabState } from '../dist/pool/index.js';

// Gate words shared by main and the workers.
const RUN = 0; // main bumps it to start a run; -1 tells the workers to exit
const DONE = 1; // workers add 1 each when their run is over

const SLAB_SIZE = 4096;
const SLAB_COUNT = 64;

/** One operation of each scenario kind. Returns how many times acquire() found nothing (never expected here). */
const OPS = {
  /** acquire → release: the headline pair. The release is from FILLING (the "request gone" path), one CAS each way. */
  pair(pool, owner, n) {
    let misses = 0;
    for (let k = 0; k < n; k++) {
      const i = pool.acquire(owner, 0);
      if (i === NO_SLAB) {
        misses++;
        continue;
      }
      pool.release(i, pool.generation(i), SlabState.FILLING);
    }
    return misses;
  },
  /** acquire → queue → startWrite → release: a slab's whole life, four transitions. */
  cycle(pool, owner, n) {
    let misses = 0;
    for (let k = 0; k < n; k++) {
      const i = pool.acquire(owner, 0);
      if (i === NO_SLAB) {
        misses++;
        continue;
      }
      const g = pool.generation(i);
      pool.queue(i, g, SLAB_SIZE);
      pool.startWrite(i, g);
      pool.release(i, g, SlabState.WRITING);
    }
    return misses;
  },
};

if (!isMainThread) {
  // A worker: wait at the gate, run, report, until main says exit.
  const { buffers, gate: gateBuffer, owner, kind, ops } = workerData;
  const pool = new SlabPool(openPoolMemory(buffers), owner);
  const gate = new Int32Array(gateBuffer);
  let seen = 0;
  let misses = 0;
  for (;;) {
    Atomics.wait(gate, RUN, seen);
    seen = Atomics.load(gate, RUN);
    if (seen === -1) break;
    misses += OPS[kind](pool, owner, ops);
    Atomics.add(gate, DONE, 1);
    Atomics.notify(gate, DONE);
  }
  parentPort.postMessage({ misses });
} else {
  await main();
}

function parseArgs(argv) {
  const opts = { json: false, runs: 5, ops: 1_000_000 };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (a === '--json') opts.json = true;
    else if (a === '--runs') opts.runs = Number(argv[++k]);
    else if (a === '--ops') opts.ops = Number(argv[++k]);
    else throw new Error(`unknown argument ${a}; use --json, --runs N, --ops N`);
  }
  if (!(Number.isInteger(opts.runs) && opts.runs > 0 && Number.isInteger(opts.ops) && opts.ops > 0)) {
    throw new Error('--runs and --ops take positive integers');
  }
  return opts;
}

function median(sorted) {
  const m = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

/** Runs one scenario: `threads` workers doing `kind`, a warm-up run, then `runs` timed runs. */
async function scenario(kind, threads, opts) {
  const memory = createPoolMemory({ slabSize: SLAB_SIZE, slabCount: SLAB_COUNT, slotCount: 1, queueCount: 1, queueCapacity: 1 });
  const pool = new SlabPool(memory);
  const gate = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  const workers = Array.from(
    { length: threads },
    (_, t) =>
      new Worker(new URL(import.meta.url), {
        workerData: { buffers: memory.buffers, gate: gate.buffer, owner: t + 1, kind, ops: opts.ops },
      }),
  );
  const reports = workers.map(
    (w) =>
      new Promise((resolve, reject) => {
        let report = null;
        w.on('message', (m) => (report = m));
        w.on('error', reject);
        w.on('exit', () => resolve(report));
      }),
  );
  // Main may block here: it has nothing else to do while the workers run.
  const oneRun = () => {
    Atomics.store(gate, DONE, 0);
    const t0 = performance.now();
    Atomics.add(gate, RUN, 1);
    Atomics.notify(gate, RUN);
    for (let d = Atomics.load(gate, DONE); d < threads; d = Atomics.load(gate, DONE)) Atomics.wait(gate, DONE, d);
    return performance.now() - t0;
  };
  oneRun(); // warm-up, discarded: lets V8 optimise the loop and the threads settle
  const rates = [];
  for (let r = 0; r < opts.runs; r++) rates.push((threads * opts.ops) / (oneRun() / 1000));
  Atomics.store(gate, RUN, -1);
  Atomics.notify(gate, RUN);
  const misses = (await Promise.all(reports)).reduce((sum, r) => sum + r.misses, 0);

  // The figures count only if the pool is whole again: every slab FREE and no transition refused.
  const whole = pool.free() === SLAB_COUNT && pool.refused() === 0;
  for (let i = 0; i < SLAB_COUNT; i++) if (pool.state(i) !== SlabState.FREE) throw new Error(`slab ${i} not FREE`);
  if (!whole || misses !== 0) {
    throw new Error(`pool check failed: free ${pool.free()}/${SLAB_COUNT}, refused ${pool.refused()}, misses ${misses}`);
  }
  const sorted = [...rates].sort((a, b) => a - b);
  return {
    name: kind === 'pair' ? 'acquire+release' : 'acquire→queue→startWrite→release',
    kind,
    threads,
    unit: kind === 'pair' ? 'pairs/s' : 'cycles/s',
    median: median(sorted),
    min: sorted[0],
    max: sorted[sorted.length - 1],
    runs: rates,
    transitionsPerOp: kind === 'pair' ? 2 : 4,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const cpu = cpus();
  const settings = {
    node: process.version,
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    slabSize: SLAB_SIZE,
    slabCount: SLAB_COUNT,
    opsPerThreadPerRun: opts.ops,
    runs: opts.runs,
    warmupRuns: 1,
  };
  const results = [];
  for (const kind of ['pair', 'cycle']) {
    for (const threads of [1, 4]) results.push(await scenario(kind, threads, opts));
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ bench: 'pool-transitions', settings, results }, null, 2)}\n`);
    return;
  }
  const fmt = (n) => `${(n / 1e6).toFixed(2)} M`;
  console.log(`slab pool transitions — Node ${settings.node}, ${settings.cpu} × ${settings.cores}`);
  console.log(
    `pool ${SLAB_COUNT} × ${SLAB_SIZE} B; ${opts.ops.toLocaleString('en')} ops per thread per run; ` +
      `1 warm-up + ${opts.runs} runs; median (min–max)`,
  );
  console.log('');
  const rows = results.map((r) => [
    r.name,
    String(r.threads),
    `${fmt(r.median)} ${r.unit}`,
    `${fmt(r.min)}–${fmt(r.max)}`,
    `${((1e9 / r.median) * r.threads).toFixed(0)} ns`,
  ]);
  const head = ['operation', 'threads', 'median', 'min–max', 'per op per thread'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  console.log(line(head));
  for (const row of rows) console.log(line(row));
  console.log('');
  console.log('pool checked whole after every scenario: all slabs FREE, 0 refused');
}
