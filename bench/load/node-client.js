// The lean load generator used when wrk is absent: N keep-alive connections, one request at a time on each, counting
// body bytes without keeping them (its own child process, main thread).
//
// Why not autocannon for large bodies: on the 3.8 MB seed file autocannon measured about 10 req/s for every server
// here, while this loop measured 120-190 req/s for the same servers, so autocannon was measuring itself.
// Stays up between runs, so its start-up is paid once. Input (IPC): {id, url, connections, seconds, expectedLength};
// output (IPC): {id, ...result}, see lib/load.js.

import { Agent, request } from 'node:http';
import { createHistogram } from 'node:perf_hooks';

process.on('message', async ({ id, url, connections, seconds, expectedLength }) => {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latency = createHistogram();
  const totals = { requests: 0, bytes: 0, non2xx: 0, errors: 0, wrongLength: 0 };
  let open = true;

  const once = () =>
    new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      const req = request(url, { agent }, (res) => {
        let length = 0;
        res.on('data', (chunk) => {
          length += chunk.length;
          if (open) totals.bytes += chunk.length;
        });
        res.on('end', () => {
          if (open) {
            totals.requests++;
            if (res.statusCode < 200 || res.statusCode > 299) totals.non2xx++;
            if (expectedLength !== undefined && length !== expectedLength) totals.wrongLength++;
            latency.record(Math.max(1, Number((process.hrtime.bigint() - t0) / 1000n)));
          }
          resolve();
        });
        res.on('error', () => resolve());
      });
      req.on('error', () => {
        if (open) totals.errors++;
        resolve();
      });
      req.end();
    });

  const loop = async () => {
    while (open) await once();
  };
  const started = performance.now();
  const loops = Array.from({ length: connections }, loop);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  open = false;
  const elapsed = (performance.now() - started) / 1000;
  // Responses still in flight are not counted; cut them off rather than wait for them.
  agent.destroy();
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 2000))]);
  process.send({
    id,
    ...totals,
    seconds: elapsed,
    p50Ms: latency.count ? latency.percentile(50) / 1000 : NaN,
    p99Ms: latency.count ? latency.percentile(99) / 1000 : NaN,
  });
});

process.on('disconnect', () => process.exit(0));
