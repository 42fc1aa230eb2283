// Launches slabserve for the bench: startServer() from dist/, plus the probe side channel (main thread).
// Usage (forked by the runner): node bench/servers/slabserve.js '{"app":"bench/apps/seed-file.js","threads":2,...}'
// The JSON holds startServer() options; port is always 0 and host 127.0.0.1.

import { resolve } from 'node:path';
import { startServer } from '../../dist/index.js';
import { addGc, createGcTable, offerGcTable, sumGcTable } from './gc-counter.js';
import { serveProbe } from './probe.js';

const options = JSON.parse(process.argv[2] ?? '{}');
// App threads join this table (bench/apps/*.js call joinGcTable()), so their GC is counted next to stats().gc.
const gcTable = createGcTable();
offerGcTable(gcTable);

const server = await startServer({ ...options, app: resolve(options.app), port: 0, host: '127.0.0.1' });
serveProbe({
  port: server.port,
  snapshot: async () => {
    const stats = server.stats();
    const workers = sumGcTable(gcTable);
    return {
      rss: process.memoryUsage().rss,
      gc: addGc(stats.gc, workers),
      gcMain: { ...stats.gc },
      threads: 1 + workers.threads,
      stats,
    };
  },
  stop: () => server.close(),
});
