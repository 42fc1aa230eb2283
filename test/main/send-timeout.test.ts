// A client that takes no bytes for sendTimeout is cut off and its slabs freed; one that reads slowly but steadily is
// not (end to end). Like nginx's send_timeout, the clock restarts on every completed write.

import { describe, expect, it } from 'vitest';
import { bodySha256 } from '../helpers/bodies.js';
import { useHarness, waitFor, waitForIdlePool } from '../helpers/server.js';

const SEND_TIMEOUT = 300;
const MiB = 1024 * 1024;

describe('send timeout', () => {
  const h = useHarness();

  it('disconnects a client that stops reading for sendTimeout and frees its slabs', async () => {
    const ts = await h.start('native-app', { slabCount: 64, window: 4, sendTimeout: SEND_TIMEOUT });
    const stalled = await h.connect(ts, { stalled: true, collect: false });
    const size = 256 * MiB;
    stalled.write({ path: `/body?seed=70&size=${size}` });
    const errors = await waitFor(
      () => ts.stats().errors['ERR_SEND_TIMEOUT'] ?? 0,
      (n) => n > 0,
      { timeoutMs: 15_000, what: 'the send timeout to fire' },
    );
    expect(errors).toBe(1);
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(stats.slabs.total);
    expect(stats.refusedTransitions).toBe(0);
    // Reading now drains what the kernel held, then finds the connection closed with the body cut short.
    stalled.resume();
    await stalled.closed;
    const res = stalled.responses[0];
    expect(res?.status).toBe(200);
    expect(res?.cut).toBe(true);
    expect(res?.bodyLength).toBeLessThan(size);
  }, 30_000);

  it('does not cut off a client that reads slowly but steadily, though the download outlasts sendTimeout', async () => {
    // The server's progress clock is the write callback, and Linux reports a full socket writable again only once
    // about a third of its send buffer (up to 4 MiB on loopback) has drained. So callbacks come in bursts: a client
    // taking 64 KiB per 10 ms (about 5 MB/s) leaves gaps of about 300 ms, more when timers run late on a busy machine.
    // A 2 s timeout leaves a wide margin over that, while the download still outlasts the timeout.
    const sendTimeout = 2000;
    const ts = await h.start('native-app', { slabCount: 64, window: 4, sendTimeout });
    const size = 16 * MiB;
    const conn = await h.connect(ts, { collect: false, paceMs: 10 });
    const started = performance.now();
    const res = await conn.request({ path: `/body?seed=71&size=${size}` });
    const elapsed = performance.now() - started;
    expect(res.complete).toBe(true);
    expect(res.bodyLength).toBe(size);
    expect(res.sha256).toBe(bodySha256(71, size));
    expect(elapsed).toBeGreaterThan(sendTimeout);
    const stats = await waitForIdlePool(ts);
    expect(stats.errors['ERR_SEND_TIMEOUT']).toBeUndefined();
    // The client really did hold the server back: its writer had to wait for credit.
    expect(stats.waits).toBeGreaterThan(0);
  }, 30_000);
});
