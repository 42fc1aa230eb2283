// Baseline: plain node:http, every handler in the main thread (one process, one thread).
// Usage (forked by the runner): node bench/servers/node-http.js stream|memory

import { createServer } from 'node:http';
import { countGc } from './gc-counter.js';
import { serveProbe } from './probe.js';
import { createRoutes } from './routes.js';

const gc = countGc();
const server = createServer(createRoutes({ seed: process.argv[2] ?? 'stream' }));
server.listen(0, '127.0.0.1', () => {
  serveProbe({
    port: server.address().port,
    snapshot: async () => ({ rss: process.memoryUsage().rss, gc: { ...gc }, gcMain: { ...gc }, threads: 1 }),
    stop: () => new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections();
    }),
  });
});
