#!/usr/bin/env node
// Renders a run's JSON (bench/results/latest.json by default) as the Markdown tables of the README's Benchmarks
// section, so the README quotes a real run and nobody retypes figures (runner-side tool, no servers).
// Usage: node bench/readme-table.js [bench/results/latest.json]

import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? new URL('./results/latest.json', import.meta.url);
const doc = JSON.parse(readFileSync(path, 'utf8'));
const MiB = 2 ** 20;
const n = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '—');
const rps = (v) => n(v, v >= 100 ? 0 : 1);
const ms = (v) => n(v, v >= 100 ? 0 : v >= 10 ? 1 : 2);
/** One-connection latencies are well under a millisecond: µs resolution. */
const msFine = (v) => n(v, v >= 100 ? 0 : 3);
/** CPU per request in µs (small bodies) or per GB in s (large), with the main thread's part where it is one process. */
function cpu(m, big) {
  const [all, main] = big ? [m.cpuSecPerGB, m.cpuMainSecPerGB] : [m.cpuUsPerReq, m.cpuMainUsPerReq];
  const show = (v) => (big ? n(v, v >= 10 ? 1 : 2) : n(v, v >= 100 ? 0 : 1));
  if (!Number.isFinite(all)) return '—';
  return Number.isFinite(main) ? `${show(all)} (main ${show(main)})` : show(all);
}
const row = (cells) => `| ${cells.join(' | ')} |`;
const table = (header, rows) => [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');

function throughput(name, { subject, sweep, fine }) {
  const s = doc.scenarios[name];
  if (!s) return '';
  const big = s.bodyBytes >= 1e6;
  const lat = fine ? msFine : ms;
  const unit = big ? 'GB' : '10k req';
  const ref = s.servers.find((x) => x.spec.id === subject)?.summary;
  // The sweep's JSON also holds its chart baselines; its table is the slab sizes only.
  const servers = sweep
    ? s.servers.filter((x) => x.spec.kind === 'slabserve').sort((a, b) => a.spec.args.slabSize - b.spec.args.slabSize)
    : s.servers;
  const rows = servers.map(({ spec, summary: m, skipped }) => {
    const label = sweep ? `${spec.args.slabSize / 1024} KiB` : spec.label;
    if (!m) return [label, `skipped: ${skipped}`, '', '', '', '', '', '', '', ''];
    const ratio = !ref ? NaN : sweep ? m.rps / ref.rps : spec.id === subject ? NaN : ref.rps / m.rps;
    const gc = big ? m.gcPerGB : m.gcPer10k;
    return [
      spec.id === subject ? `**${label}**` : label,
      `${rps(m.rps)} (${rps(m.rpsMin)}–${rps(m.rpsMax)})`,
      n(m.mbps, m.mbps >= 10 ? 0 : 2),
      `${lat(m.p50Ms)} / ${lat(m.p99Ms)}`,
      cpu(m, big),
      Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '',
      gc ? n(gc.scavenges, gc.scavenges >= 100 ? 0 : 1) : '—',
      gc ? n(gc.pauseMs, 0) : '—',
      n(m.rssMax / MiB),
      `${n(m.foreign * 100)}%`,
    ];
  });
  const header = [
    sweep ? 'slab size' : 'server',
    'req/s median (min–max)',
    'MB/s',
    'p50 / p99 ms',
    big ? 'CPU s / GB' : 'CPU µs / req',
    sweep ? '÷ 64 KiB' : 'slabserve ÷ this',
    `scavenges / ${unit}`,
    `GC ms / ${unit}`,
    'RSS MiB',
    'other jobs',
  ];
  return `**${name}** — ${s.connections} connection${s.connections === 1 ? '' : 's'}, ${s.bodyBytes.toLocaleString('en-US')}-byte body, ${s.load}\n\n${table(header, rows)}\n`;
}

function slowReaders() {
  const s = doc.scenarios['slow-readers'];
  if (!s) return '';
  const rows = s.servers.map((r) => {
    if (r.skipped) return [r.spec.label, `skipped: ${r.skipped}`, '', '', ''];
    const ok = r.hello.statuses.filter((x) => x === 200).length;
    return [r.spec.label, n(r.rssBefore / MiB), n(r.rssPeak / MiB), n(r.rssAfter / MiB), `${ok}/${r.hello.statuses.length} answered, slowest ${ms(r.hello.maxMs)} ms`];
  });
  return `**slow-readers** — ${s.connections} connections request the seed file and never read\n\n${table(['server', 'RSS before MiB', 'RSS peak MiB', 'RSS after MiB', '/hello during the stall'], rows)}\n`;
}

const targets = table(
  ['target', 'measured', 'goal', 'result'],
  doc.targets.map((t) => [
    t.name + (t.note ? ` (${t.note})` : ''),
    t.ratio === null ? '—' : `${t.ratio.toFixed(t.ratio < 0.1 ? 3 : 2)}×`,
    t.bound === null ? '' : `${t.op.replace('>=', '≥').replace('<=', '≤')} ${t.bound}`,
    t.met === null ? (t.ratio === null ? 'not measured' : 'reference') : t.met ? 'met' : '**not met**',
  ]),
);

process.stdout.write(
  [
    throughput('seed-file', { subject: 'slabserve-64k' }),
    throughput('slab-sweep', { subject: 'slabserve-64k', sweep: true }),
    throughput('hello', { subject: 'slabserve-hello' }),
    throughput('latency', { subject: 'slabserve-hello', fine: true }),
    throughput('cpu', { subject: 'slabserve-cpu' }),
    throughput('ssr', { subject: 'slabserve-ssr' }),
    slowReaders(),
    `**targets**\n\n${targets}\n`,
  ]
    .filter(Boolean)
    .join('\n'),
);
