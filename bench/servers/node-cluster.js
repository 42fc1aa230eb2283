// Baseline: node:cluster, N worker processes each running the plain node:http handler (primary and workers).
// Usage (forked by the runner): node bench/servers/node-cluster.js N stream|memory
//
// The primary accepts and hands connections round-robin (Node's default on Linux). Its probe sums GC and RSS over
// itself and every worker, since together they are the server.

import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { addGc, countGc } from './gc-counter.js';
import { serveProbe } from './probe.js';
import { createRoutes } from './routes.js';

const gc = countGc();
const [count = '2', seed = 'stream'] = process.argv.slice(2);

if (cluster.isPrimary) {
  const workers = [];
  const pending = new Map();
  let nextId = 1;
  const ask = (worker) =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      worker.send({ type: 'probe', id });
    });
  let listening = 0;
  let port = 0;
  for (let i = 0; i < Number(count); i++) {
    const worker = cluster.fork({ BENCH_CLUSTER_SEED: seed });
    workers.push(worker);
    worker.on('message', (m) => {
      if (m?.type === 'probe') {
        pending.get(m.id)?.(m);
        pending.delete(m.id);
      }
    });
    worker.on('listening', (address) => {
      port = address.port;
      if (++listening === workers.length) start();
    });
  }
  const start = () =>
    serveProbe({
      port,
      pids: [process.pid, ...workers.map((w) => w.process.pid)],
      snapshot: async () => {
        const answers = await Promise.all(workers.map(ask));
        return {
          rss: answers.reduce((sum, a) => sum + a.rss, process.memoryUsage().rss),
          gc: answers.reduce((sum, a) => addGc(sum, a.gc), { ...gc }),
          gcMain: { ...gc },
          threads: 1 + answers.length,
        };
      },
      stop: async () => {
        for (const w of workers) w.kill('SIGTERM');
      },
    });
} else {
  // listen(0) in a worker is forwarded to the primary, which binds once and gives every worker that same port.
  const server = createServer(createRoutes({ seed: process.env.BENCH_CLUSTER_SEED }));
  server.listen(0, '127.0.0.1');
  process.on('message', (m) => {
    if (m?.type === 'probe') process.send({ type: 'probe', id: m.id, rss: process.memoryUsage().rss, gc: { ...gc } });
  });
}
