#!/usr/bin/env node
// The benchmark runner: every scenario against its baselines, each server in its own child process (runner process).
//
// Usage: node bench/run.js [--quick] [--json] [--scenario seed-file,slab-sweep,hello,latency,cpu,ssr,slow-readers]
//                          [--rounds N] [--duration S] [--warmup S] [--hold MAX_S] [--load wrk|node] [--small-load wrk|autocannon|node]
//                          [--young MB,MB]  (cpu, ssr: slabserve again with each worker young-generation limit, side by side)
// npm run bench (full, < 10 min) · npm run bench:quick (< 2 min). Needs dist/ (npm install builds it).
//
// Method, in order: start every server of a scenario group; fetch one whole response from each and check its length
// and sha256; warm each up (discarded); then measured rounds, visiting every server once per round in rotated order,
// reading GC counts and RSS over IPC and the server's CPU time from /proc before and after each run. Figures are
// medians over rounds, with min–max; GC and CPU are totals over the rounds divided by what they served.
// Human output goes to stdout (to stderr with --json, which prints the JSON document on stdout instead); progress
// always goes to stderr. bench/results/ gets the JSON and the slab-sweep chart.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seedFile } from '../examples/seed-file.js';
import { buildWarning, describeMachine } from './lib/machine.js';
import { closeLoad, LOAD_KINDS } from './lib/load.js';
import { measureGroup } from './lib/measure.js';
import { printScenario, printSettings, printSlowReaders, printTargets } from './lib/report.js';
import { resultDocument, writeSweepChart } from './lib/results.js';
import { defineScenarios } from './lib/scenarios.js';
import { measureSlowReaders } from './lib/slow-readers.js';
import { evaluateTargets } from './lib/targets.js';
import { burn, calibrate } from './servers/cpu-work.js';
import { renderPageBytes } from './apps/ssr-page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    json: { type: 'boolean' },
    scenario: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    hold: { type: 'string' },
    load: { type: 'string' },
    'small-load': { type: 'string' },
    young: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(3, 5).join('\n').replaceAll('// ', '') + '\n');
  process.exit(0);
}

const startedAt = Date.now();
const quick = Boolean(args.quick);
const settings = {
  quick,
  startedAt,
  rounds: Number(args.rounds ?? (quick ? 3 : 5)),
  duration: Number(args.duration ?? (quick ? 1 : 3)),
  warmup: Number(args.warmup ?? (quick ? 1 : 2)),
  warmupTogether: quick,
  slowHold: { min: quick ? 2 : 5, max: Number(args.hold ?? (quick ? 8 : 20)) },
};
const human = args.json ? (line) => process.stderr.write(`${line}\n`) : (line) => process.stdout.write(`${line}\n`);
const log = (line) => process.stderr.write(`  · ${((Date.now() - startedAt) / 1000).toFixed(0).padStart(3)} s  ${line}\n`);

const machine = describeMachine();
const notes = [];
const warning = buildWarning(root);
if (warning) notes.push(warning);
const largeLoad = args.load ?? (machine.wrk ? 'wrk' : 'node');
if (!machine.wrk && !args.load) notes.push('wrk not installed: large bodies use the lean node client (apt-get install -y wrk)');
// hello's servers answer in tens of µs: a Node load generator would take much of the 2 cores they need, wrk far less.
// --small-load sets every small-body scenario's generator at once.
const helloLoad = args['small-load'] ?? (machine.wrk ? 'wrk' : 'autocannon');
if (!machine.wrk && !args['small-load']) notes.push('wrk not installed: hello and latency fall back to autocannon, a Node process that competes with the server for the cores');
if (!machine.nginx) notes.push('nginx not installed: its baseline is skipped (apt-get install -y nginx-light)');
const young = args.young?.split(',').map(Number).filter((mb) => mb > 0);
const env = { cpuCount: machine.cpuCount, nginx: Boolean(machine.nginx), largeLoad, helloLoad, smallLoad: args['small-load'] ?? 'autocannon', young };

const wanted = args.scenario?.split(',').map((s) => s.trim());
const all = defineScenarios(env);
const bad = [
  ...(wanted ?? []).filter((name) => !all.some((s) => s.name === name)),
  ...[largeLoad].filter((l) => !['wrk', 'node'].includes(l)),
  ...[helloLoad].filter((l) => !LOAD_KINDS.includes(l)),
];
if (bad.length > 0) {
  process.stderr.write(`bench: unknown ${bad.join(', ')}; scenarios: ${all.map((s) => s.name).join(', ')}; --load: wrk or node; --small-load: ${LOAD_KINDS.join(', ')}\n`);
  process.exit(2);
}
const scenarios = all.filter((s) => !wanted || wanted.includes(s.name));
const cpuRounds = calibrate(2);
notes.push(`cpu handler: ${cpuRounds} chained sha256 digests per request (calibrated here to about 2 ms)`);
const seedBody = readFileSync(seedFile());
const expectOf = (body) => ({ length: Buffer.byteLength(body), sha256: createHash('sha256').update(body).digest('hex'), body: typeof body === 'string' ? body : undefined });
const expected = {
  seed: expectOf(seedBody),
  hello: expectOf('hello world\n'),
  cpu: expectOf(burn(cpuRounds)),
  ssr: expectOf(await renderPageBytes()),
};

if (quick) {
  // The short version keeps every target's figures: the sweep's ends and middle, and the slow readers' usual server.
  const keep = { 'slow-readers': ['slabserve-slow', 'node-stream'], 'slab-sweep': ['slabserve-4k', 'slabserve-16k', 'slabserve-64k', 'slabserve-256k'] };
  for (const s of scenarios) if (keep[s.name]) s.servers = s.servers.filter((spec) => keep[s.name].includes(spec.id));
}
// 1,000 slow readers need an open file each, in the server and in the reader process. Node raises its own soft limit
// to the hard limit at start, and children inherit it, so only a low hard limit can get in the way.
const slow = scenarios.find((s) => s.name === 'slow-readers');
if (slow && machine.fdLimit < slow.connections + 300) {
  slow.connections = Math.max(50, machine.fdLimit - 300);
  notes.push(`open-file limit ${machine.fdLimit}: slow-readers uses ${slow.connections} connections (raise it with ulimit -Hn)`);
}
// The bench measures the build: without dist/ there is nothing to measure.
const defaults = await import('../dist/main/options.js').then(
  (m) => m.resolveOptions({ app: 'bench/apps/hello.js' }),
  () => {
    process.stderr.write('bench: dist/ is missing or broken; run `npm run build` (npm install does it) first\n');
    process.exit(1);
  },
);
notes.push(
  `slabserve: ${env.cpuCount} threads, ${defaults.slabCount} slabs × ${defaults.slabSize / 1024} KiB, window ${defaults.window}, ` +
    `send timeout ${defaults.sendTimeout / 1000} s (its defaults; slab-sweep changes only the slab size)`,
);
notes.push(`slow-readers: each server held until its RSS settles (${settings.slowHold.min}–${settings.slowHold.max} s)`);
printSettings(human, { machine, settings, scenarios, notes });

// NODE_ENV=production: React's production build, as a deployed server runs it (the ssr scenario; nothing else here
// reads it). Its output is byte for byte the development build's, so the runner's expected page holds for both.
const launchOptions = { env: { BENCH_CPU_ROUNDS: String(cpuRounds), NODE_ENV: 'production' } };
const results = {};
for (const group of [...new Set(scenarios.map((s) => s.group))]) {
  const members = scenarios.filter((s) => s.group === group);
  const first = members[0];
  const servers = new Map();
  for (const m of members) for (const spec of [...m.servers, ...(m.chartBaselines ?? [])]) servers.set(spec.id, spec);
  const input = { ...first, name: members.map((m) => m.name).join(' + '), servers: [...servers.values()], expected: expected[first.expect] };
  if (group === 'slow-readers') {
    results[first.name] = { list: await measureSlowReaders(input, settings, launchOptions, log) };
    printSlowReaders(human, first, results[first.name].list);
    continue;
  }
  const rows = await measureGroup(input, settings, launchOptions, log);
  for (const m of members) {
    results[m.name] = { rows };
    printScenario(human, m, rows);
  }
}

await closeLoad();

const targets = evaluateTargets(results, env);
printTargets(human, targets);

const suffix = quick ? '-quick' : '';
const sweepScenario = scenarios.find((s) => s.name === 'slab-sweep');
if (sweepScenario) {
  const chart = writeSweepChart(resultsDir, `slab-sweep${suffix}.svg`, { scenario: sweepScenario, rows: results['slab-sweep'].rows, machine, settings });
  if (chart) human(`\nchart: ${chart}`);
}
const wallSeconds = (Date.now() - startedAt) / 1000;
const doc = resultDocument({ machine, settings, notes, scenarios, results, targets, wallSeconds });
const jsonPath = `${resultsDir}latest${suffix}.json`;
mkdirSync(resultsDir, { recursive: true });
writeFileSync(jsonPath, JSON.stringify(doc, null, 2));
human(`results: ${jsonPath}\nwall time: ${wallSeconds.toFixed(0)} s`);
if (args.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
