// close() is graceful: in-flight downloads finish intact, new connections are refused at once, idle keep-alive
// connections are closed (end to end).
//
// The downloads park mid-body on Gate.STREAM, so close() is known to be called while every one of them is in flight;
// the gate opens only after the test has seen the listener refuse a new connection.

import { describe, expect, it } from 'vitest';
import { bodySha256 } from '../helpers/bodies.js';
import { connectError, header } from '../helpers/raw-http.js';
import { useHarness, waitFor } from '../helpers/server.js';

describe('graceful close', () => {
  const h = useHarness();

  it('lets 10 slow in-flight downloads finish with the right hashes while refusing new connections', async () => {
    const ts = await h.start('native-app', { slabCount: 64 });
    const size = 3 * 1024 * 1024;
    const idle = await h.connect(ts);
    expect((await idle.request({ path: '/hello' })).status).toBe(200);

    const downloads = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const conn = await h.connect(ts, { collect: false, paceMs: 2 });
        return { seed: 90 + i, conn, done: conn.exchange({ path: `/body?seed=${90 + i}&size=${size}&hold=262144` }) };
      }),
    );
    await waitFor(() => ts.control.count('PARKED'), (n) => n === 10, { what: 'all ten downloads to be mid-body' });

    let closed = false;
    const closing = ts.server.close().then(() => (closed = true));
    // The listener is gone at once; the idle keep-alive connection is closed; the downloads are not.
    expect(await connectError(ts.port)).toBe('ECONNREFUSED');
    await idle.closed;
    expect(downloads.every((d) => !d.conn.isClosed)).toBe(true);
    expect(closed).toBe(false);

    ts.control.open('STREAM');
    for (const d of downloads) {
      const res = await d.done;
      expect(res?.complete).toBe(true);
      expect(res?.sha256).toBe(bodySha256(d.seed, size));
      // The head went out before close(), announcing keep-alive; the server still ends the connection after it.
      expect(header(res!, 'connection')).toBe('keep-alive');
    }
    await closing;
    expect(closed).toBe(true);
    // The server, not the client, ended every download's connection.
    for (const d of downloads) await d.conn.closed;
    expect(await connectError(ts.port)).toBe('ECONNREFUSED');
  }, 60_000);

  it('also answers requests still queued for a slot (beyond maxInflight) when close() is called', async () => {
    const ts = await h.start('native-app', { slabCount: 32, maxInflight: 2 });
    const size = 500_000;
    const downloads = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const conn = await h.connect(ts, { collect: false });
        return { seed: 110 + i, done: conn.exchange({ path: `/body?seed=${110 + i}&size=${size}&hold=1000` }) };
      }),
    );
    // Two requests hold the two slots, parked mid-body; the other six were accepted and wait in main for a slot.
    await waitFor(() => ts.control.count('PARKED'), (n) => n === 2, { what: 'two downloads to park' });
    await waitFor(() => ts.stats().requests, (n) => n === 8, { what: 'all eight requests to arrive' });
    expect(ts.stats().inflight).toBe(2);

    const closing = ts.server.close();
    expect(await connectError(ts.port)).toBe('ECONNREFUSED');
    ts.control.open('STREAM');
    for (const d of downloads) {
      const res = await d.done;
      expect(res?.complete).toBe(true);
      expect(res?.sha256).toBe(bodySha256(d.seed, size));
    }
    await closing;
  }, 30_000);

  for (const [path, what] of [
    ['/never', 'an app that never answers and ignores its abort'],
    ['/spin', 'an app stuck on the CPU'],
  ]) {
    it(`cuts what is still in flight after closeTimeout and stops the threads, even behind ${what}`, async () => {
      const ts = await h.start('faulty-app', { threads: 1, closeTimeout: 300 });
      const conn = await h.connect(ts);
      const answer = conn.exchange({ path });
      await waitFor(() => ts.control.count('REQUESTS'), (n) => n === 1, { what: `${path} to reach the app` });
      const started = performance.now();
      await h.close(ts);
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(5000);
      // The connection was cut with no answer: nothing pretends the request was served.
      expect(await answer).toBeNull();
      expect(ts.stats().errors['ERR_CLOSE_TIMEOUT']).toBe(1);
      expect(await connectError(ts.port)).toBe('ECONNREFUSED');
    });
  }
});

