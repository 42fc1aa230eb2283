// The design's targets (shared/DESIGN.md, "Targets"), each as a measured ratio from this run with met / not met
// (runner process).

const MiB = 2 ** 20;

function rowOf(results, scenario, id) {
  return results[scenario]?.rows.get(id)?.summary ?? null;
}

function ratioTarget(name, num, den, bound, op = '>=') {
  if (!num || !den) return { name, ratio: null, bound, op, met: null, note: 'not measured in this run' };
  const ratio = num / den;
  return { name, ratio, bound, op, met: op === '>=' ? ratio >= bound : ratio <= bound };
}

/** results: {scenarioName: {rows: Map id → {summary}}} plus 'slow-readers': {list}. env: {nginx}. */
export function evaluateTargets(results, env) {
  const seed = (id) => rowOf(results, 'seed-file', id)?.rps;
  const sweep = (id) => rowOf(results, 'slab-sweep', id)?.rps;
  const targets = [
    ratioTarget('seed-file: slabserve ÷ node:http from memory (the ceiling)', seed('slabserve-64k'), seed('node-memory'), 0.8),
    ratioTarget('seed-file: slabserve ÷ node:http createReadStream', seed('slabserve-64k'), seed('node-stream'), 1.5),
    ratioTarget('seed-file: slabserve ÷ node:cluster', seed('slabserve-64k'), seed('cluster-stream'), 1.5),
    env.nginx
      ? ratioTarget('seed-file: slabserve ÷ nginx sendfile', seed('slabserve-64k'), seed('nginx'), 1.5)
      : { name: 'seed-file: slabserve ÷ nginx sendfile', ratio: null, bound: 1.5, op: '>=', met: null, note: 'nginx not installed (apt-get install -y nginx-light)' },
    ratioTarget('slab-sweep: 4 KiB slabs ÷ 64 KiB slabs', sweep('slabserve-4k'), sweep('slabserve-64k'), 0.7),
    ratioTarget('hello: through workers ÷ in-thread node:http', rowOf(results, 'hello', 'slabserve-hello')?.rps, rowOf(results, 'hello', 'node-stream')?.rps, 0.8),
    {
      ...ratioTarget('hello: naive piscina run() ÷ in-thread node:http (reference, expected ≈ 0.25)', rowOf(results, 'hello', 'piscina')?.rps, rowOf(results, 'hello', 'node-stream')?.rps, null),
      met: null,
    },
    ratioTarget('cpu: slabserve ÷ node:cluster, same thread/process count', rowOf(results, 'cpu', 'slabserve-cpu')?.rps, rowOf(results, 'cpu', 'cluster-stream')?.rps, 1.0),
  ];

  const ss = rowOf(results, 'seed-file', 'slabserve-64k') ?? rowOf(results, 'slab-sweep', 'slabserve-64k');
  const stream = rowOf(results, 'seed-file', 'node-stream');
  const gc = ratioTarget(
    'GC: slabserve ÷ node:http createReadStream, scavenges per GB (all threads)',
    ss?.gcPerGB?.scavenges,
    stream?.gcPerGB?.scavenges,
    0.1,
    '<=',
  );
  if (ss?.gcMainPerGB && stream?.gcPerGB?.scavenges) {
    gc.note = `main thread only: ${(ss.gcMainPerGB.scavenges / stream.gcPerGB.scavenges).toFixed(3)}×`;
  }
  targets.push(gc);

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
