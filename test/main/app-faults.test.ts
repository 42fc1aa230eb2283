// Apps that misbehave: a handler stuck on the CPU or on a promise is cut off by appTimeout (504), a thread that runs
// out of heap dies alone (502 or a closed connection), and headers that could split a response never reach the wire.

import { describe, expect, it } from 'vitest';
import { bodySha256 } from '../helpers/bodies.js';
import { header, requestOnce, text, type RawResponse } from '../helpers/raw-http.js';
import { useHarness, waitFor, waitForIdlePool, type TestServer } from '../helpers/server.js';
import { errorCode, sendRaw, summarize } from '../fixtures/hostile/wire.js';

const APP_TIMEOUT = 500;

const harness = useHarness();

/** GET `path` on a fresh connection with Connection: close; the answer, or null if the connection closed first. */
async function get(ts: TestServer, path: string, boundMs = 10_000): Promise<{ res: RawResponse | null; ms: number; why: string }> {
  const started = performance.now();
  const r = await sendRaw(ts.port, `GET ${path} HTTP/1.1\r\nHost: faults.test\r\nConnection: close\r\n\r\n`, { boundMs });
  return { res: r.responses[0] ?? null, ms: performance.now() - started, why: summarize(r) };
}

async function expectHello(ts: TestServer): Promise<void> {
  const res = await requestOnce(ts.port, { path: '/hello' });
  expect(res.status).toBe(200);
  expect(text(res)).toBe('hello\n');
}

function restarts(ts: TestServer): number {
  return ts.stats().threads.restarts;
}

describe('a handler stuck in an infinite loop', () => {
  it('gets 504 ERR_APP_TIMEOUT after appTimeout; its thread is replaced, its slabs come back, and /hello works', async () => {
    const ts = await harness.start('faulty-app', { appTimeout: APP_TIMEOUT, threads: 2 });
    const { res, ms, why } = await get(ts, '/spin');
    expect(res, why).not.toBeNull();
    expect(res!.status, why).toBe(504);
    expect(errorCode(res!), why).toBe('ERR_APP_TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(APP_TIMEOUT - 50);
    expect(ms).toBeLessThan(APP_TIMEOUT + 3000);
    // A thread that spins cannot let go of the request: after the grace period it is terminated and replaced.
    await waitFor(() => restarts(ts), (n) => n >= 1, { timeoutMs: 10_000, what: 'the stuck thread to be replaced' });
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(stats.slabs.total);
    expect(stats.threads.count).toBe(2);
    expect(stats.threads.terminated).toBe(1);
    expect(stats.errors['ERR_APP_TIMEOUT']).toBeGreaterThanOrEqual(1);
    // Both threads (the replacement included) answer.
    for (let i = 0; i < 4; i++) await expectHello(ts);
  });

  it('answers a request queued on the same stuck thread with a 5xx, never a hang, then serves on the replacement', async () => {
    const ts = await harness.start('faulty-app', { appTimeout: APP_TIMEOUT, threads: 1 });
    const spin = get(ts, '/spin');
    // The app has the /spin request (it counted it) before the second request is sent.
    await waitFor(() => ts.control.count('REQUESTS'), (n) => n >= 1, { what: '/spin to reach the app' });
    const queued = await get(ts, '/hello');
    const first = await spin;
    expect(first.res?.status, first.why).toBe(504);
    expect(errorCode(first.res!)).toBe('ERR_APP_TIMEOUT');
    // The queued request never ran: it timed out too (504), or its thread was terminated under it (502).
    expect(queued.res, queued.why).not.toBeNull();
    expect([502, 504], queued.why).toContain(queued.res!.status);
    expect(['ERR_WORKER_DIED', 'ERR_APP_TIMEOUT'], queued.why).toContain(errorCode(queued.res!));
    await waitFor(() => restarts(ts), (n) => n >= 1, { what: 'the stuck thread to be replaced' });
    await waitForIdlePool(ts);
    await expectHello(ts);
  });
});

describe('an async handler that never answers and ignores its abort signal', () => {
  it('gets 504 ERR_APP_TIMEOUT, its request.signal aborts, and the server keeps serving', async () => {
    const ts = await harness.start('faulty-app', { appTimeout: APP_TIMEOUT, threads: 2 });
    const { res, ms, why } = await get(ts, '/never');
    expect(res?.status, why).toBe(504);
    expect(errorCode(res!), why).toBe('ERR_APP_TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(APP_TIMEOUT - 50);
    await waitFor(() => ts.control.count('SIGNALS_ABORTED'), (n) => n >= 1, { what: 'request.signal to abort' });
    await expectHello(ts);
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(stats.slabs.total);
    await expectHello(ts);
  });

  it('does not hold up other requests on its thread while it waits', async () => {
    const ts = await harness.start('faulty-app', { appTimeout: 1500, threads: 1 });
    const never = get(ts, '/never');
    await waitFor(() => ts.control.count('REQUESTS'), (n) => n >= 1, { what: '/never to reach the app' });
    // Same (only) thread, event loop free: /hello is answered long before /never times out.
    const started = performance.now();
    await expectHello(ts);
    expect(performance.now() - started).toBeLessThan(1000);
    const late = await never;
    expect(late.res?.status, late.why).toBe(504);
    expect(errorCode(late.res!)).toBe('ERR_APP_TIMEOUT');
  });
});

describe('a thread that holds a timed-out request while it serves others', () => {
  it('is drained, not cut: its other response finishes byte-exact, then the thread alone is replaced', async () => {
    const ts = await harness.start('native-app', { appTimeout: 300, threads: 1, slabCount: 64 });
    const size = 2 * 1024 * 1024;
    const download = await harness.connect(ts, { collect: false });
    const body = download.exchange({ path: `/body?seed=61&size=${size}&hold=65536` });
    await waitFor(() => ts.control.count('PARKED'), (n) => n === 1, { what: 'the download to be mid-body' });
    const never = await get(ts, '/never');
    expect(never.res?.status, never.why).toBe(504);
    // Its thread still holds /never after the grace period, and answers a ping: it is drained, and waits for the
    // download on it to finish instead of cutting it.
    await waitFor(() => ts.stats().threads.draining, (n) => n === 1, { what: 'the thread to be drained' });
    expect(download.isClosed).toBe(false);
    ts.control.open('STREAM');
    const res = await body;
    expect(res?.complete).toBe(true);
    expect(res?.sha256).toBe(bodySha256(61, size));
    await waitFor(() => restarts(ts), (n) => n === 1, { what: 'the drained thread to be replaced' });
    const stats = await waitForIdlePool(ts);
    expect(stats.threads).toMatchObject({ terminated: 1, draining: 0 });
    expect(stats.errors['ERR_WORKER_DIED']).toBeUndefined();
    await expectHello(ts);
  });
});

describe('a handler that allocates without bound', () => {
  it('kills only its own thread under resourceLimits: 502 ERR_WORKER_DIED or a closed connection, then service goes on', async () => {
    const ts = await harness.start('faulty-app', { threads: 2, resourceLimits: { maxOldGenerationSizeMb: 64 } });
    // 512 MiB asked for, far over the 64 MiB heap; without the limit the app would answer 200 "survived".
    const { res, why } = await get(ts, '/hog?capMb=512', 30_000);
    if (res !== null) {
      expect(res.status, why).toBe(502);
      expect(errorCode(res), why).toBe('ERR_WORKER_DIED');
    }
    await waitFor(() => restarts(ts), (n) => n >= 1, { timeoutMs: 15_000, what: 'the thread that ran out of heap to be replaced' });
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(stats.slabs.total);
    expect(stats.threads.count).toBe(2);
    for (let i = 0; i < 4; i++) await expectHello(ts);
  });
});

describe('headers from the app that could split the response', () => {
  const kinds = ['crlf', 'lf', 'cr', 'nul', 'space-name', 'colon-name', 'empty-name', 'newline-name'];
  const cases = kinds.flatMap((kind) => [
    [kind, 'the native writer', `/bad-header?kind=${kind}`],
    [kind, 'a returned Response-like object', `/bad-header-response?kind=${kind}`],
  ]);

  it.each(cases)('refuses an invalid header (%s) set through %s with 500 ERR_INVALID_HEADER, and nothing injected reaches the wire', async (_kind, _via, path) => {
    const ts = await harness.start('faulty-app', { threads: 1 });
    const r = await sendRaw(ts.port, `GET ${path} HTTP/1.1\r\nHost: faults.test\r\nConnection: close\r\n\r\n`, { boundMs: 5000 });
    const why = summarize(r);
    expect(r.responses.length, why).toBe(1);
    expect(r.statusLines, why).toBe(1);
    const res = r.responses[0]!;
    expect(res.status, why).toBe(500);
    expect(errorCode(res), why).toBe('ERR_INVALID_HEADER');
    expect(header(res, 'x-test'), why).toBeUndefined();
    const wire = r.raw.toString('latin1');
    expect(wire, why).not.toMatch(/[\r\n]injected/i);
    expect(wire, why).not.toContain('should never be sent');
    expect(wire, why).not.toContain('\0');
    await expectHello(ts);
    await waitForIdlePool(ts);
  });
});
