// The design's targets (shared/DESIGN.md, "Targets"), each as a measured ratio from this run with met / not met
// (runner process).

const MiB = 2 ** 20;

function rowOf(results, scenario, id) {
  return results[scenario]?.rows.get(id)?.summary ?? null;
}

/** A numerator of 0 is a result (no scavenges at all); a missing figure, or a baseline of 0, is not. */
function ratioTarget(name, num, den, bound, op = '>=') {
  if (!Number.isFinite(num) || !Number.isFinite(den)) return { name, ratio: null, bound, op, met: null, note: 'not measured in this run' };
  if (den === 0) return { name, ratio: null, bound, op, met: null, note: 'the baseline measured 0' };
  const ratio = num / den;
  return { name, ratio, bound, op, met: op === '>=' ? ratio >= bound : ratio <= bound };
}

/**
 * results: {scenarioName: {rows: Map id → {summary}}} plus 'slow-readers': {list}. env: {nginx}. Every ratio divides
 * two figures of this run: req/s and latency are medians over rounds; CPU and GC are totals over the rounds divided by
 * what those rounds served (see stats.js), the same for both servers of a ratio.
 */
export function evaluateTargets(results, env) {
  const row = (scenario, id) => rowOf(results, scenario, id);
  const seed = (id) => row('seed-file', id)?.rps;
  const sweep = (id) => row('slab-sweep', id)?.rps;
  const hello = (id) => row('hello', id);
  const ssSeed = row('seed-file', 'slabserve-64k') ?? row('slab-sweep', 'slabserve-64k');
  const memory = row('seed-file', 'node-memory');
  const targets = [
    ratioTarget('seed-file: req/s slabserve ÷ node:http from memory', seed('slabserve-64k'), seed('node-memory'), 0.8),
    ratioTarget('seed-file: CPU per GB slabserve ÷ node:http from memory', ssSeed?.cpuSecPerGB, memory?.cpuSecPerGB, 1.6, '<='),
    ratioTarget('seed-file: slabserve ÷ node:http createReadStream', seed('slabserve-64k'), seed('node-stream'), 1.5),
    ratioTarget('seed-file: slabserve ÷ node:cluster', seed('slabserve-64k'), seed('cluster-stream'), 1.5),
    env.nginx
      ? ratioTarget('seed-file: slabserve ÷ nginx sendfile', seed('slabserve-64k'), seed('nginx'), 1.5)
      : { name: 'seed-file: slabserve ÷ nginx sendfile', ratio: null, bound: 1.5, op: '>=', met: null, note: 'nginx not installed (apt-get install -y nginx-light)' },
    ratioTarget('slab-sweep 4 KiB ÷ 64 KiB', sweep('slabserve-4k'), sweep('slabserve-64k'), 0.7),
    // Was 0.8 (through workers ÷ in-thread node:http); the new target card sets 0.6.
    ratioTarget('hello: req/s slabserve ÷ node:http in-thread', hello('slabserve-hello')?.rps, hello('node-stream')?.rps, 0.6),
    ratioTarget('hello: req/s slabserve ÷ naive piscina server', hello('slabserve-hello')?.rps, hello('piscina')?.rps, 1.5),
    ratioTarget('hello: CPU per request (all threads) slabserve ÷ node:http in-thread', hello('slabserve-hello')?.cpuUsPerReq, hello('node-stream')?.cpuUsPerReq, 2.0, '<='),
    ratioTarget('hello: CPU per request slabserve ÷ naive piscina server', hello('slabserve-hello')?.cpuUsPerReq, hello('piscina')?.cpuUsPerReq, 0.5, '<='),
    {
      ...ratioTarget('hello: naive piscina run() ÷ in-thread node:http (reference, expected ≈ 0.25)', hello('piscina')?.rps, hello('node-stream')?.rps, null),
      met: null,
    },
    ratioTarget('one connection: p50 latency slabserve ÷ node:http in-thread', row('latency', 'slabserve-hello')?.p50Ms, row('latency', 'node-stream')?.p50Ms, 2.0, '<='),
    ratioTarget('cpu: slabserve ÷ node:cluster', row('cpu', 'slabserve-cpu')?.rps, row('cpu', 'cluster-stream')?.rps, 1.0),
    ratioTarget('ssr: req/s slabserve (pipeable stream) ÷ node:cluster', row('ssr', 'slabserve-ssr')?.rps, row('ssr', 'cluster-stream')?.rps, 1.0),
    ratioTarget('ssr: CPU per request slabserve ÷ node:http in-thread', row('ssr', 'slabserve-ssr')?.cpuUsPerReq, row('ssr', 'node-stream')?.cpuUsPerReq, 1.1, '<='),
  ];

  // Replaces "÷ node:http createReadStream ≤ 0.1": the target card compares with the from-memory server instead.
  const gc = ratioTarget('GC, seed-file: scavenges per GB slabserve ÷ node:http from memory', ssSeed?.gcPerGB?.scavenges, memory?.gcPerGB?.scavenges, 2.0, '<=');
  if (ssSeed?.gcMainPerGB && memory?.gcPerGB?.scavenges) {
    gc.note = `main thread only: ${(ssSeed.gcMainPerGB.scavenges / memory.gcPerGB.scavenges).toFixed(3)}×`;
  }
  targets.push(gc);
  targets.push(
    ratioTarget('GC, hello: scavenges per 10k requests slabserve ÷ node:http in-thread', hello('slabserve-hello')?.gcPer10k?.scavenges, hello('node-stream')?.gcPer10k?.scavenges, 1.0, '<='),
  );

  const slow = results['slow-readers']?.list.find((r) => r.spec.kind === 'slabserve' && !r.skipped);
  if (slow) {
    const bound = slow.slabserve.poolBytes + 100 * MiB;
    targets.push({
      name: 'slow-readers: slabserve peak RSS ÷ (pool + 100 MiB)',
      ratio: slow.rssPeak / bound,
      bound: 1,
      op: '<=',
      met: slow.rssPeak <= bound,
      note: `peak ${(slow.rssPeak / MiB).toFixed(0)} MiB, limit ${(bound / MiB).toFixed(0)} MiB`,
    });
  } else {
    targets.push({ name: 'slow-readers: slabserve peak RSS ÷ (pool + 100 MiB)', ratio: null, bound: 1, op: '<=', met: null, note: 'not measured in this run' });
  }
  return targets;
}
