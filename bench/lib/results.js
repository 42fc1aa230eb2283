// What a run leaves behind in bench/results/: the slab-sweep chart and the JSON document (runner process).

import { mkdirSync, writeFileSync } from 'node:fs';
import { SEED_2007 } from './scenarios.js';
import { slabSweepSvg } from './svg-chart.js';

/** Writes the chart when the sweep has at least two points. Returns its path, or null. */
export function writeSweepChart(dir, name, { scenario, rows, machine, settings }) {
  const sweep = scenario.servers
    .map((spec) => ({ size: spec.args.slabSize, s: rows.get(spec.id)?.summary }))
    .filter((p) => p.s)
    .map(({ size, s }) => ({ size, rps: s.rps, min: s.rpsMin, max: s.rpsMax }));
  const baselines = scenario.chartBaselines
    .map((spec) => ({ label: spec.label, rps: rows.get(spec.id)?.summary?.rps }))
    .filter((b) => Number.isFinite(b.rps));
  if (sweep.length < 2) return null;
  const subtitle =
    `seed file (3,831,150 B), ${scenario.connections} connections, ${scenario.load}; ${machine.cpuCount} × ${machine.cpuModel}, ` +
    `Node ${machine.node}; median of ${settings.rounds} × ${settings.duration} s`;
  mkdirSync(dir, { recursive: true });
  const path = `${dir}${name}`;
  writeFileSync(path, slabSweepSvg({ sweep, baselines, seed2007: SEED_2007, title: 'slabserve: throughput against slab size', subtitle }));
  return path;
}

/** The machine-readable run: settings, every server's summary and rounds, the targets. */
export function resultDocument({ machine, settings, notes, scenarios, results, targets, wallSeconds }) {
  const rowsOf = (rows, ids) =>
    [...rows.values()]
      .filter((r) => ids.includes(r.spec.id))
      .map(({ spec, summary, skipped, slabserve, stderr }) => ({ spec, summary, skipped, slabserve, stderr }));
  return {
    machine,
    settings,
    notes,
    scenarios: Object.fromEntries(
      scenarios.map((s) => [
        s.name,
        {
          path: s.path,
          connections: s.connections,
          load: s.load ?? null,
          bodyBytes: s.bodyBytes,
          servers: results[s.name].list ?? rowsOf(results[s.name].rows, [...s.servers, ...(s.chartBaselines ?? [])].map((x) => x.id)),
        },
      ]),
    ),
    targets,
    wallSeconds,
  };
}
