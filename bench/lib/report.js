// Plain-text tables for people: settings, one table per scenario, and the targets (runner process).

import { wrkThreads } from './load.js';
import { SEED_2007 } from './scenarios.js';
import { HELLO_TIMEOUT_MS } from './slow-readers.js';

const MiB = 2 ** 20;

export function textTable(header, rows) {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells) => cells.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(r.map((x) => x ?? '')))].join('\n');
}

export const fmt = {
  rps: (v) => (!Number.isFinite(v) ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1)),
  ms: (v) => (!Number.isFinite(v) ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)),
  /** µs resolution, for one-connection latencies well under a millisecond. */
  msFine: (v) => (!Number.isFinite(v) ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(3)),
  ratio: (v) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '—'),
  count: (v) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1)),
  mib: (v) => (Number.isFinite(v) ? (v / MiB).toFixed(0) : '—'),
};

/** Rounds that spread wider than half the median are marked `~`: read that row's median with care. */
const noisy = (s) => (s.rpsMax - s.rpsMin) / s.rps > 0.5;
const range = (s) => `${noisy(s) ? '~' : ''}${fmt.rps(s.rps)} (${fmt.rps(s.rpsMin)}–${fmt.rps(s.rpsMax)})`;

export function printSettings(out, { machine, settings, scenarios, notes }) {
  out(`slabserve benchmark — ${settings.quick ? 'quick' : 'full'} run, ${new Date(settings.startedAt).toISOString()}`);
  out(`machine: ${machine.cpuCount} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.os}; Node ${machine.node} (V8 ${machine.v8})`);
  out(`load average at start: ${machine.loadAverage.join(' ')} (a shared machine: other jobs may run during the bench)`);
  out(`build: dist/ of ${machine.commit ?? 'an unknown commit'}; wrk: ${machine.wrk ?? 'not installed'}; nginx: ${machine.nginx ?? 'not installed'}`);
  const together = settings.warmupTogether ? ', all servers at once' : '';
  out(`rounds: ${settings.rounds} measured × ${settings.duration} s per server, after a ${settings.warmup} s warm-up per server${together} (discarded);`);
  out(`        servers alternate round-robin within each round, order rotated each round; figures are medians (min–max).`);
  out(`the load generator runs on the same ${machine.cpuCount} cores as the server: every figure includes that contention.`);
  out(`"other jobs": the share of all cores busy outside the bench (its servers, load generators and runner) during a`);
  out(`        server's measured runs, median (max), from /proc/stat: how much the machine's other work may have skewed it.`);
  out(`CPU: utime + stime of every thread of every process of the server (not the load generator) over the measured`);
  out(`        runs, from /proc, ÷ requests (small bodies) or GB (large); "main" is the main thread's part, for one-process servers.`);
  for (const s of scenarios) {
    const gen = s.load ? `, load: ${s.load}${s.load === 'wrk' ? ` -t${wrkThreads(s.connections)}` : ''}` : '';
    out(`  ${s.name.padEnd(12)} GET ${s.path}, ${s.connections} connection${s.connections === 1 ? '' : 's'}, body ${s.bodyBytes.toLocaleString('en-US')} bytes${gen}`);
  }
  for (const n of notes) out(`note: ${n}`);
}

function gcCells(s, unit) {
  const g = unit === 'GB' ? s.gcPerGB : s.gcPer10k;
  return [fmt.count(g?.scavenges), fmt.count(g?.markSweeps), fmt.count(g?.pauseMs)];
}

/** The CPU header and cell: µs per request for small bodies, s per GB for large ones, the main thread's part after. */
export const cpuHeader = (unit) => (unit === 'GB' ? 'CPU s / GB' : 'CPU µs / req');

export function cpuCell(s, unit) {
  const [all, main] = unit === 'GB' ? [s.cpuSecPerGB, s.cpuMainSecPerGB] : [s.cpuUsPerReq, s.cpuMainUsPerReq];
  const show = (v) => (v === null || !Number.isFinite(v) ? '—' : unit === 'GB' ? (v >= 10 ? v.toFixed(1) : v.toFixed(2)) : fmt.count(v));
  return main === null || !Number.isFinite(main) ? show(all) : `${show(all)} (main ${show(main)})`;
}

function slabserveNote(r) {
  if (!r.slabserve?.length) return '';
  const copies = r.slabserve.reduce((n, d) => n + d.copiedWrites, 0);
  const spills = r.slabserve.reduce((n, d) => n + d.spilledSlabs, 0);
  const errors = Object.entries(r.slabserve.at(-1).errors ?? {}).map(([k, v]) => `${k} ${v}`);
  return [copies ? `${copies} copied writes` : '', spills ? `${spills} spilled slabs` : '', ...errors].filter(Boolean).join(', ');
}

/** A throughput scenario: one row per server, the subject first. */
export function printScenario(out, scenario, rows) {
  const unit = scenario.bodyBytes >= 1e6 ? 'GB' : '10k req';
  const subject = rows.get(scenario.subject)?.summary;
  const sweep = scenario.ratio === 'row-over-subject';
  const latency = scenario.fineLatency ? fmt.msFine : fmt.ms;
  const header = [
    sweep ? 'slab size' : 'server',
    'req/s (min–max)',
    'MB/s',
    'p50 ms',
    'p99 ms',
    cpuHeader(unit),
    sweep ? '÷ 64k' : 'slabserve ÷',
    ...(sweep ? ['2007 app'] : []),
    `scav/${unit}`,
    `m-s/${unit}`,
    `gc ms/${unit}`,
    'RSS MiB',
    'errors',
    'other jobs',
  ];
  const body = [];
  const notes = [];
  for (const spec of scenario.servers) {
    const r = rows.get(spec.id);
    if (!r) continue;
    const name = sweep ? `${spec.args.slabSize / 1024} KiB` : spec.label;
    if (!r.summary) {
      body.push([name, `skipped: ${r.skipped}`]);
      continue;
    }
    const s = r.summary;
    const ratio = !subject ? NaN : sweep ? s.rps / subject.rps : spec.id === scenario.subject ? NaN : subject.rps / s.rps;
    const old = sweep ? SEED_2007.modWsgi[spec.args.slabSize] : undefined;
    body.push([
      name,
      range(s),
      s.mbps >= 10 ? s.mbps.toFixed(0) : s.mbps.toFixed(2),
      latency(s.p50Ms),
      latency(s.p99Ms),
      cpuCell(s, unit),
      spec.id === scenario.subject && !sweep ? '(subject)' : fmt.ratio(ratio),
      ...(sweep ? [old ?? ''] : []),
      ...gcCells(s, unit),
      fmt.mib(s.rssMax),
      s.non2xx + s.errors,
      `${(s.foreign * 100).toFixed(0)}% (≤${(s.foreignMax * 100).toFixed(0)})`,
    ]);
    const note = slabserveNote(r);
    if (note) notes.push(`${name}: ${note}`);
    if (r.failed) notes.push(`${name} ${r.failed}`);
    if (r.stderr?.length) notes.push(`${name} wrote ${r.stderr.length} stderr line(s), last: ${r.stderr.at(-1).slice(0, 160)}`);
  }
  out(`\n== ${scenario.name} ==`);
  out(textTable(header, body));
  if (scenario.fineLatency && scenario.load === 'autocannon') out('  autocannon reports latency in whole milliseconds: install wrk for µs.');
  if ([...rows.values()].some((r) => r.summary && noisy(r.summary))) {
    out('  ~ its rounds spread wider than half the median: the figure moved between rounds, read it with care.');
  }
  for (const n of notes) out(`  ${n}`);
}

export function printSlowReaders(out, scenario, list) {
  const header = ['server', 'readers', 'held s', 'RSS before', 'RSS peak', 'RSS after', '/hello during', 'notes'];
  const body = list.map((r) => {
    if (r.skipped) return [r.spec.label, `skipped: ${r.skipped}`];
    const ss = r.slabserve;
    const notes = ss
      ? `pool ${fmt.mib(ss.poolBytes)} MiB; at peak ${ss.inflightAtPeak} in flight, ${ss.freeAtPeak} slabs free; ${ss.copiedWrites} copied writes, ${ss.spilledSlabs} spilled slabs; pool whole after: ${ss.poolWholeAfter ? 'yes' : 'NO'}`
      : '';
    const answered = r.hello.statuses.filter((x) => x === 200).length;
    const hello = `${answered}/${r.hello.statuses.length} ok, max ${fmt.ms(r.hello.maxMs)} ms`;
    const held = `${r.heldSeconds.toFixed(1)}${r.steady ? '' : '*'}`;
    return [r.spec.label, r.readers.connected, held, fmt.mib(r.rssBefore), fmt.mib(r.rssPeak), fmt.mib(r.rssAfter), hello, notes];
  });
  out(`\n== ${scenario.name} == (${scenario.connections} connections GET /seed and never read; RSS in MiB, all processes of the server;`);
  out(`   /hello on a fresh connection during the stall, up to 3 times, each given ${HELLO_TIMEOUT_MS / 1000} s)`);
  out(textTable(header, body));
  if (list.some((r) => !r.skipped && !r.steady)) out('  * RSS was still moving when the hold ended: the peak may be higher in a longer run.');
}

export function printTargets(out, targets) {
  out('\n== targets (shared/DESIGN.md) ==');
  const body = targets.map((t) => [
    t.name,
    t.ratio === null ? '—' : `${t.ratio.toFixed(t.ratio < 0.1 ? 3 : 2)}×`,
    t.bound === null ? '' : `${t.op} ${t.bound}`,
    t.met === null ? (t.ratio === null ? 'not measured' : '—') : t.met ? 'met' : 'NOT MET',
    t.note ?? '',
  ]);
  out(textTable(['target', 'measured', 'goal', 'result', 'note'], body));
}
