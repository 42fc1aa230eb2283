// autocannon, driven programmatically in its own child process so it never shares a thread with the runner's
// bookkeeping (main thread). Every body is compared with the expected one (expectBody): mismatches are counted.
// Stays up between runs, so loading autocannon is paid once. Input (IPC): {id, url, connections, seconds,
// expectedBody}; output (IPC): {id, ...result}, see lib/load.js.

import autocannon from 'autocannon';

process.on('message', async ({ id, url, connections, seconds, expectedBody }) => {
  const r = await autocannon({ url, connections, duration: seconds, pipelining: 1, expectBody: expectedBody });
  process.send({
    id,
    requests: r.requests.total,
    bytes: r.throughput.total,
    seconds: r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    wrongLength: r.mismatches,
  });
});

process.on('disconnect', () => process.exit(0));
