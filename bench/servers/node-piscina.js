// Baseline: node:http in the main thread plus piscina, one run() per request returning the whole body (main thread).
// Usage (forked by the runner): node bench/servers/node-piscina.js THREADS
// piscina's options stay at their defaults (atomics 'sync' included) apart from the thread count: the usual offload.

import { createServer } from 'node:http';
import { Piscina } from 'piscina';
import { addGc, countGc, createGcTable, sumGcTable } from './gc-counter.js';
import { serveProbe } from './probe.js';

const threads = Number(process.argv[2] ?? 2);
const gc = countGc();
const gcTable = createGcTable();
const pool = new Piscina({
  filename: new URL('./piscina-task.js', import.meta.url).href,
  minThreads: threads,
  maxThreads: threads,
  workerData: { gcTable },
});
const TYPES = { '/seed': 'application/octet-stream', '/hello': 'text/plain', '/cpu': 'text/plain' };

const server = createServer(async (req, res) => {
  const type = TYPES[req.url];
  if (type === undefined) return res.writeHead(404).end();
  try {
    const result = await pool.run({ route: req.url });
    const body = typeof result === 'string' ? result : Buffer.from(result);
    res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } catch (err) {
    res.writeHead(500).end(String(err));
  }
});

server.listen(0, '127.0.0.1', () => {
  serveProbe({
    port: server.address().port,
    snapshot: async () => {
      const workers = sumGcTable(gcTable);
      return {
        rss: process.memoryUsage().rss,
        gc: addGc(gc, workers),
        gcMain: { ...gc },
        threads: 1 + workers.threads,
      };
    },
    stop: async () => {
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      });
      await pool.destroy();
    },
  });
});
