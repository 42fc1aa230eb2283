// Baseline: @hono/node-server running slabserve's own hello app (bench/apps/hello.js) in the main thread: the same
// fetch handler, served the usual Node way, one process, one thread.
// Usage (forked by the runner): node bench/servers/hono-node.js [app]   (app: a bench/apps/ name, default hello)
//
// hello.js calls joinGcTable() when imported. That is harmless here: joinGcTable() only asks on a BroadcastChannel
// for a table, and nothing in this process offers one (offerGcTable() is never called), so no row is claimed and the
// unref'd channel never keeps the process alive. This thread's GC is counted once, by countGc() below.

import { serve } from '@hono/node-server';
import { countGc } from './gc-counter.js';
import { serveProbe } from './probe.js';

const { default: app } = await import(`../apps/${process.argv[2] ?? 'hello'}.js`);
const gc = countGc();
// serve() swaps in its lighter global Request/Response (overrideGlobalObjects, on by default): the app's
// `new Response(...)` then takes @hono/node-server's fast path, as it would for anyone using it.
const server = serve({ fetch: (request) => app.fetch(request), port: 0, hostname: '127.0.0.1' }, ({ port }) => {
  serveProbe({
    port,
    snapshot: async () => ({ rss: process.memoryUsage().rss, gc: { ...gc }, gcMain: { ...gc }, threads: 1 }),
    stop: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  });
});
