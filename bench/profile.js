#!/usr/bin/env node
// Profiles slabserve under the bench's load and names where its time goes: top self-time functions per thread
// (runner process; the server runs with node --cpu-prof, which writes one profile per thread, workers included).
//
// Usage: node bench/profile.js [--scenario seed-file|hello|cpu] [--seconds S] [--slab-size BYTES]
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
import { processCpu } from './lib/proc.js';
import { appPath } from './lib/scenarios.js';
import { launch } from './lib/servers.js';

const { values: args } = parseArgs({
  options: { scenario: { type: 'string', default: 'seed-file' }, seconds: { type: 'string', default: '8' }, 'slab-size': { type: 'string' } },
});
const root = fileURLToPath(new URL('..', import.meta.url));
const SETUPS = {
  'seed-file': { app: 'seed-file', path: '/seed', connections: 8, load: wrkVersion() ? 'wrk' : 'node' },
  hello: { app: 'hello', path: '/hello', connections: 64, load: 'autocannon' },
  cpu: { app: 'cpu', path: '/cpu', connections: 16, load: 'autocannon' },
};
const setup = SETUPS[args.scenario];
if (!setup) throw new Error(`--scenario takes ${Object.keys(SETUPS).join(', ')}`);

const dir = fileURLToPath(new URL(`./results/profiles/${args.scenario}/`, import.meta.url));
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const rounds = calibrate(2);
const spec = {
  id: 'slabserve',
  label: 'slabserve',
  kind: 'slabserve',
  args: { app: appPath(setup.app), threads: cpus().length, ...(args['slab-size'] ? { slabSize: Number(args['slab-size']) } : {}) },
};
const server = await launch(spec, { env: { BENCH_CPU_ROUNDS: String(rounds) }, execArgv: ['--cpu-prof', '--cpu-prof-dir', dir] });
const expected = { body: setup.app === 'cpu' ? burn(rounds) : setup.app === 'hello' ? 'hello world\n' : undefined };
const cpuBefore = processCpu(server.pids[0]);
const run = await runLoad(setup.load, { url: server.url + setup.path, connections: setup.connections, seconds: Number(args.seconds), expected });
const cpuAfter = processCpu(server.pids[0]);
await closeLoad();
// A graceful stop lets every thread exit normally, which is when --cpu-prof writes its file.
await server.stop();

console.log(`${args.scenario}: ${run.rps.toFixed(0)} req/s, ${run.mbps.toFixed(0)} MB/s with ${setup.load}, ${setup.connections} connections, ${args.seconds} s`);
// CPU per request from /proc, all threads of the server process (app workers and V8's GC and compiler helpers too).
const perRequest = (ms) => `${((ms / run.requests) * 1000).toFixed(0)} µs`;
const busiest = [...cpuAfter.threads].map(([tid, ms]) => [tid, ms - (cpuBefore.threads.get(tid) ?? 0)]).sort((a, b) => b[1] - a[1]);
console.log(
  `server CPU per request (profiler on): ${perRequest(cpuAfter.total - cpuBefore.total)} in all, ${perRequest(cpuAfter.main - cpuBefore.main)} on the main thread; ` +
    `busiest threads: ${busiest.slice(0, 5).map(([tid, ms]) => `${tid === server.pids[0] ? 'main' : tid} ${perRequest(ms)}`).join(', ')}`,
);
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
  const { totalMs, top } = topSelfTime(join(dir, file), { root });
  console.log(`\n${file} (${(totalMs / 1000).toFixed(1)} s sampled)`);
  console.log(textTable(['self %', 'self ms', 'function', 'where'], top.map((t) => [(t.share * 100).toFixed(1), t.selfMs.toFixed(0), t.name, t.where])));
}
