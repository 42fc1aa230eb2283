#!/usr/bin/env node
// Profiles slabserve under the bench's load and names where its time goes: CPU per request from /proc, and the top
// self-time functions per thread (runner process; the server runs with node --cpu-prof, which writes one profile per
// thread, workers included).
//
// Usage: node bench/profile.js [--scenario seed-file|hello|cpu|ssr] [--seconds S] [--slab-size BYTES] [--threads N]
// Writes bench/results/profiles/<scenario>/*.cpuprofile (open them in Chrome DevTools) and prints the top frames.

import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { burn, calibrate } from './servers/cpu-work.js';
import { topSelfTime } from './lib/cpu-profile.js';
import { closeLoad, runLoad, wrkVersion } from './lib/load.js';
import { textTable } from './lib/report.js';
import { pidsCpuMs, processCpu } from './lib/proc.js';
import { appPath } from './lib/scenarios.js';
import { launch } from './lib/servers.js';

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'seed-file' },
    seconds: { type: 'string', default: '8' },
    'slab-size': { type: 'string' },
    threads: { type: 'string' },
  },
});
const root = fileURLToPath(new URL('..', import.meta.url));
// The same generators as bench/run.js: wrk where installed (hello's requests are too cheap for a Node generator that
// shares the cores), else the node client for the large body and autocannon for small ones.
const wrk = Boolean(wrkVersion());
const SETUPS = {
  'seed-file': { app: 'seed-file', path: '/seed', connections: 8, load: wrk ? 'wrk' : 'node' },
  hello: { app: 'hello', path: '/hello', connections: 64, load: wrk ? 'wrk' : 'autocannon' },
  cpu: { app: 'cpu', path: '/cpu', connections: 16, load: 'autocannon' },
  ssr: { app: 'ssr', path: '/ssr', connections: 16, load: wrk ? 'wrk' : 'autocannon' },
};
const setup = SETUPS[args.scenario];
if (!setup) throw new Error(`--scenario takes ${Object.keys(SETUPS).join(', ')}`);
const threads = Number(args.threads ?? cpus().length);
if (!Number.isInteger(threads) || threads < 1) throw new Error('--threads takes a positive integer');

const dir = fileURLToPath(new URL(`./results/profiles/${args.scenario}/`, import.meta.url));
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const rounds = calibrate(2);
const spec = {
  id: 'slabserve',
  label: 'slabserve',
  kind: 'slabserve',
  args: { app: appPath(setup.app), threads, ...(args['slab-size'] ? { slabSize: Number(args['slab-size']) } : {}) },
};
const server = await launch(spec, { env: { BENCH_CPU_ROUNDS: String(rounds), NODE_ENV: 'production' }, execArgv: ['--cpu-prof', '--cpu-prof-dir', dir] });
const pid = server.pids[0];
const expected = { body: setup.app === 'cpu' ? burn(rounds) : setup.app === 'hello' ? 'hello world\n' : undefined };
const cpuBefore = processCpu(pid);
const totalBefore = pidsCpuMs([pid]);
const run = await runLoad(setup.load, { url: server.url + setup.path, connections: setup.connections, seconds: Number(args.seconds), expected });
const totalAfter = pidsCpuMs([pid]);
const cpuAfter = processCpu(pid);
await closeLoad();
// A graceful stop lets every thread exit normally, which is when --cpu-prof writes its file.
await server.stop();

console.log(
  `${args.scenario}: ${run.rps.toFixed(0)} req/s, ${run.mbps.toFixed(0)} MB/s with ${setup.load}, ${setup.connections} connections, ` +
    `${args.seconds} s, slabserve with ${threads} thread${threads === 1 ? '' : 's'}`,
);
// From /proc: every thread of the server process (app workers, and V8's GC and compiler helpers too), profiler on.
// Node 20 names every thread "node", so threads are told apart by id only; the main thread's id is the pid.
const perRequest = (ms) => `${((ms / run.requests) * 1000).toFixed(1)} µs`;
// The whole-process line, as the bench reads it: one tick of rounding for the process, not one per thread.
const totalMs = totalAfter - totalBefore;
const mainMs = cpuAfter.main - cpuBefore.main;
const perThread = [...cpuAfter.threads]
  .map(([tid, ms]) => [tid, ms - (cpuBefore.threads.get(tid) ?? 0)])
  .filter(([, ms]) => ms > 0)
  .sort((a, b) => b[1] - a[1]);
console.log(`\nserver CPU per request, from /proc over the load only (profiler on; 10 ms ticks per thread): ${perRequest(totalMs)} in all threads, ${perRequest(mainMs)} on main`);
console.log(
  textTable(
    ['thread', 'CPU µs / req', 'share of CPU'],
    perThread.map(([tid, ms]) => [tid === pid ? `main (${tid})` : String(tid), perRequest(ms), `${((ms / totalMs) * 100).toFixed(1)} %`]),
  ),
);

// --cpu-prof names each file CPU.<date>.<time>.<pid>.<node thread id>.<seq>.cpuprofile: thread id 0 is main, the
// one thread whose OS id is known here. A profile samples wall time over the whole process life (start-up included),
// and a thread waiting for a core is sampled in whatever it ran last: its time outside "(idle)" is an upper bound on
// its CPU, most of all on 2 busy cores. So the main thread shows its /proc figure, the workers their sampled bound.
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
  const profile = topSelfTime(join(dir, file), { root });
  const nodeThread = Number(file.split('.').at(-3));
  const busy = `${perRequest(profile.totalMs - profile.idleMs)} per request outside "(idle)" (wall clock, whole run)`;
  const cpu = nodeThread === 0 ? `main thread: ${perRequest(mainMs)} CPU per request (/proc); ${busy}` : `worker thread ${nodeThread}: ${busy}`;
  console.log(`\n${file}: ${cpu}; ${(profile.totalMs / 1000).toFixed(1)} s sampled`);
  console.log(textTable(['self %', 'self ms', 'function', 'where'], profile.top.map((t) => [(t.share * 100).toFixed(1), t.selfMs.toFixed(0), t.name, t.where])));
}
