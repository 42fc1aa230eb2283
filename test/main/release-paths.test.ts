// Fault injection on every path that frees a slab: the write callback, the client's close, a thread's death, an app
// timeout, and the pool's close (end to end). Each ends with every slab free and no refused transition, and the
// process sees no unhandled rejection and no uncaught exception along the way.
//
// Downloads are distinct bodies checked by sha256 on a small pool, so a slab freed too early and reused would show up
// as a wrong hash, not only as a wrong count.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bodySha256 } from '../helpers/bodies.js';
import { requestOnce } from '../helpers/raw-http.js';
import { useHarness, waitFor, waitForIdlePool, type TestServer } from '../helpers/server.js';

const MiB = 1024 * 1024;

const faults: string[] = [];
const onRejection = (reason: unknown): void => void faults.push(`unhandled rejection: ${String(reason)}`);
const onException = (err: Error): void => void faults.push(`uncaught exception: ${err.message}`);
beforeEach(() => {
  faults.length = 0;
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
});
afterEach(() => {
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);
  expect(faults).toEqual([]);
});

async function expectWhole(ts: TestServer): Promise<void> {
  const stats = await waitForIdlePool(ts);
  expect(stats.slabs.free).toBe(stats.slabs.total);
  expect(stats.refusedTransitions).toBe(0);
}

describe('every path that frees a slab', () => {
  const h = useHarness();

  it('the write callback: 24 concurrent distinct downloads on 24 slabs arrive byte-exact', async () => {
    const ts = await h.start('native-app', { slabSize: 16 * 1024, slabCount: 24, window: 2 });
    const size = 700_000;
    const results = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const conn = await h.connect(ts, { collect: false, paceMs: i % 3 === 0 ? 1 : 0 });
        const res = await conn.request({ path: `/body?seed=${300 + i}&size=${size}` });
        return res.sha256 === bodySha256(300 + i, size);
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    await expectWhole(ts);
  });

  it('the close: 24 clients that leave mid-body, at different points', async () => {
    const ts = await h.start('native-app', { slabSize: 16 * 1024, slabCount: 24, window: 2 });
    await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const conn = await h.connect(ts, { collect: false });
        conn.write({ path: `/body?seed=${400 + i}&size=${8 * MiB}` });
        await waitFor(() => conn.received, (n) => n > 20_000 * (i + 1), { what: 'part of the body' });
        conn.destroy();
      }),
    );
    await expectWhole(ts);
    expect((await requestOnce(ts.port, { path: '/hello' })).status).toBe(200);
  });

  it('the thread death: a thread that exits with a slab half filled and slabs queued', async () => {
    const ts = await h.start('failing-app', { threads: 1, slabSize: 16 * 1024, slabCount: 24 });
    const conn = await h.connect(ts, { collect: false });
    const res = await conn.exchange({ path: '/exit-midstream?after=100000' });
    expect(res === null || res.cut).toBe(true);
    await waitFor(() => ts.stats().threads.restarts, (n) => n === 1, { what: 'the thread to be replaced' });
    await expectWhole(ts);
    expect((await requestOnce(ts.port, { path: '/hello' })).status).toBe(200);
  });

  it('the app timeout: a thread stuck on the CPU is terminated and its slabs come back', async () => {
    const ts = await h.start('faulty-app', { threads: 1, appTimeout: 200, slabCount: 16 });
    const big = await h.connect(ts, { stalled: true, collect: false });
    big.write({ path: `/big?size=${64 * MiB}` });
    await waitFor(() => ts.stats().slabs.free, (n) => n < 16, { what: 'the stalled download to hold slabs' });
    expect((await requestOnce(ts.port, { path: '/spin' })).status).toBe(504);
    await waitFor(() => ts.stats().threads.terminated, (n) => n === 1, { what: 'the stuck thread to be terminated' });
    big.destroy();
    await expectWhole(ts);
  });

  it('the pool close: close() cuts downloads parked mid-body and writers waiting for credit, and every slab comes back', async () => {
    const ts = await h.start('native-app', { slabSize: 16 * 1024, slabCount: 24, window: 2, closeTimeout: 200 });
    const parked = await Promise.all(
      Array.from({ length: 3 }, async (_, i) => {
        const conn = await h.connect(ts, { collect: false });
        conn.write({ path: `/body?seed=${500 + i}&size=${MiB}&hold=40000` });
        return conn;
      }),
    );
    const stalled = await h.connect(ts, { stalled: true, collect: false });
    stalled.write({ path: `/body?seed=9&size=${64 * MiB}` });
    await waitFor(() => ts.control.count('PARKED'), (n) => n === 3, { what: 'three downloads to park' });
    await h.close(ts);
    for (const conn of parked) await conn.closed;
    const stats = ts.stats();
    expect(stats.slabs.free).toBe(stats.slabs.total);
    expect(stats.refusedTransitions).toBe(0);
  });
});
