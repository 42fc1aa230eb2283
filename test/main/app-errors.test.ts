// App failures answer with a coded 5xx when no head went out, and cut the connection when one has; a dying thread
// takes down only its own requests (end to end).
//
// Mid-stream failures are ordered with a gate, not a sleep: the app sends part of its body, parks on Gate.STREAM, and
// the test opens the gate only once it has received those bytes, so the head is known to be on the wire.

import { describe, expect, it } from 'vitest';
import { bodyChunks, bodySha256 } from '../helpers/bodies.js';
import { header, requestOnce, streamRequest, text, type RawConnection, type RawResponse } from '../helpers/raw-http.js';
import { useHarness, waitFor, waitForIdlePool, type TestServer } from '../helpers/server.js';

describe('app errors', () => {
  const h = useHarness();

  async function expectServing(ts: TestServer): Promise<void> {
    const res = await requestOnce(ts.port, { path: '/hello' });
    expect(res.status).toBe(200);
    expect(text(res)).toBe('hello\n');
  }

  /** Sends `path`, waits for `bytes` body bytes, opens Gate.STREAM so the app fails, and returns how it ended. */
  async function failMidStream(ts: TestServer, path: string, bytes: number): Promise<{ res: RawResponse; conn: RawConnection }> {
    const conn = await h.connect(ts, { keepRaw: true });
    let gateOpened = false;
    conn.parser.onBody = (r) => {
      if (!gateOpened && r.bodyLength >= bytes) {
        gateOpened = true;
        ts.control.open('STREAM');
      }
    };
    const res = await conn.exchange({ path });
    expect(res).not.toBeNull();
    await conn.closed;
    return { res: res!, conn };
  }

  for (const path of ['/throw', '/reject', '/throw-after-writehead']) {
    it(`answers 500 with slabserve-error ERR_APP_THREW when the app fails before its response (${path}), and serves on`, async () => {
      const ts = await h.start('failing-app');
      const conn = await h.connect(ts);
      const res = await conn.request({ path });
      expect(res.status).toBe(500);
      expect(header(res, 'slabserve-error')).toBe('ERR_APP_THREW');
      expect(header(res, 'x-never')).toBeUndefined();
      expect(res.complete).toBe(true);
      // The same keep-alive connection, and fresh ones, go on being served.
      const next = await conn.request({ path: '/hello' });
      expect(text(next)).toBe('hello\n');
      await expectServing(ts);
      expect(ts.stats().errors['ERR_APP_THREW']).toBe(1);
      expect((await waitForIdlePool(ts)).refusedTransitions).toBe(0);
    });
  }

  it('answers 500 with slabserve-error ERR_APP_RESPONSE when the app returns something that is not a Response', async () => {
    const ts = await h.start('failing-app');
    const res = await requestOnce(ts.port, { path: '/not-a-response' });
    expect(res.status).toBe(500);
    expect(header(res, 'slabserve-error')).toBe('ERR_APP_RESPONSE');
    await expectServing(ts);
  });

  for (const route of ['stream-error', 'native-error']) {
    it(`cuts a chunked ${route} body without the 0-length terminator, and keeps serving`, async () => {
      const ts = await h.start('failing-app');
      const { res, conn } = await failMidStream(ts, `/${route}?after=5000`, 5000);
      expect(res.status).toBe(200);
      expect(res.framing).toBe('chunked');
      expect(res.bodyLength).toBe(5000);
      expect(res.sha256).toBe(bodySha256(7, 5000));
      expect(res.terminated).toBe(false);
      expect(res.complete).toBe(false);
      expect(res.cut).toBe(true);
      expect(conn.rawBytes().includes('\r\n0\r\n\r\n')).toBe(false);
      expect(ts.stats().errors['ERR_APP_STREAM']).toBe(1);
      await expectServing(ts);
      expect((await waitForIdlePool(ts)).refusedTransitions).toBe(0);
    });

    it(`cuts a Content-Length ${route} body short and closes the connection, never a short body that looks whole`, async () => {
      const ts = await h.start('failing-app');
      const { res } = await failMidStream(ts, `/${route}?after=5000&length=20000`, 5000);
      expect(res.status).toBe(200);
      expect(res.framing).toBe('length');
      expect(res.contentLength).toBe(20000);
      expect(res.bodyLength).toBe(5000);
      expect(res.complete).toBe(false);
      expect(res.cut).toBe(true);
      await expectServing(ts);
      expect((await waitForIdlePool(ts)).refusedTransitions).toBe(0);
    });
  }

  /** The worker thread ids that answer `n` sequential GET /hello requests. */
  async function answeringThreads(ts: TestServer, n: number): Promise<Set<string>> {
    const ids = new Set<string>();
    for (let i = 0; i < n; i++) {
      const res = await requestOnce(ts.port, { path: '/hello' });
      expect(text(res)).toBe('hello\n');
      ids.add(header(res, 'x-thread')!);
    }
    return ids;
  }

  it('answers 502 with slabserve-error ERR_WORKER_DIED when the app calls process.exit() before responding, and a new thread takes over', async () => {
    const ts = await h.start('failing-app', { threads: 2 });
    const before = await answeringThreads(ts, 4);
    expect(before.size).toBe(2);
    const res = await requestOnce(ts.port, { path: '/exit' });
    expect(res.status).toBe(502);
    expect(header(res, 'slabserve-error')).toBe('ERR_WORKER_DIED');
    await waitFor(() => ts.stats().threads.restarts, (n) => n === 1, { what: 'the thread to be replaced' });
    // The replacement thread answers (a thread id not seen before), promptly: not after an appTimeout.
    const started = performance.now();
    const after = await answeringThreads(ts, 6);
    expect(performance.now() - started).toBeLessThan(5000);
    expect([...after].filter((id) => !before.has(id))).toHaveLength(1);
    const stats = await waitForIdlePool(ts);
    expect(stats.errors['ERR_WORKER_DIED']).toBe(1);
    expect(stats.errors['ERR_APP_TIMEOUT']).toBeUndefined();
    expect(stats.threads.restarts).toBe(1);
    expect(stats.refusedTransitions).toBe(0);
  }, 30_000);

  it('cuts the downloads of a thread that exits mid-body, reclaims its FILLING slabs, and leaves the other thread\'s downloads whole', async () => {
    const ts = await h.start('failing-app', { threads: 2, slabCount: 64 });
    const size = 2 * 1024 * 1024;
    // Four downloads park mid-body on Gate.STREAM, spread over both threads.
    const downloads = await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        const conn = await h.connect(ts, { collect: false });
        return { seed: 60 + i, done: conn.exchange({ path: `/body?seed=${60 + i}&size=${size}&hold=65536` }) };
      }),
    );
    await waitFor(() => ts.control.count('PARKED'), (n) => n === 4, { what: 'four downloads to park' });

    const exiting = await requestOnce(ts.port, { path: '/exit-midstream?after=100000' }, { collect: false });
    // Its head was on the wire: the only honest ending is a cut connection.
    expect(exiting.status).toBe(200);
    expect(exiting.cut).toBe(true);
    expect(exiting.bodyLength).toBeLessThan(exiting.contentLength);
    await waitFor(() => ts.stats().threads.restarts, (n) => n === 1, { what: 'the thread to be replaced' });

    ts.control.open('STREAM');
    const outcomes = await Promise.all(downloads.map(async (d) => ({ seed: d.seed, res: await d.done })));
    let whole = 0;
    for (const { seed, res } of outcomes) {
      expect(res).not.toBeNull();
      if (res!.complete) {
        whole++;
        expect(res!.sha256).toBe(bodySha256(seed, size));
      } else {
        // Cut with its thread: short, and the connection closed.
        expect(res!.cut).toBe(true);
        expect(res!.bodyLength).toBeLessThan(size);
      }
    }
    expect(whole).toBeGreaterThan(0);
    await expectServing(ts);
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(stats.slabs.total);
    expect(stats.refusedTransitions).toBe(0);
    expect(stats.threads.restarts).toBe(1);
  }, 30_000);

  it('answers 502 and takes back the upload slabs of a thread that exits mid-upload', async () => {
    const slabCount = 32;
    const ts = await h.start('failing-app', { threads: 2, slabCount, window: 4 });
    const conn = await h.connect(ts);
    const size = 8 * 1024 * 1024;
    streamRequest(conn, { path: '/exit-mid-upload?after=200000' }, bodyChunks(65, size), size);
    const res = await conn.nextResponse();
    expect(res?.status).toBe(502);
    expect(header(res!, 'slabserve-error')).toBe('ERR_WORKER_DIED');
    await waitFor(() => ts.stats().threads.restarts, (n) => n === 1, { what: 'the thread to be replaced' });
    await expectServing(ts);
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(slabCount);
    expect(stats.refusedTransitions).toBe(0);
  }, 30_000);
});
