// Clients that stop reading pin a bounded number of slabs, and never starve other requests (end to end).
//
// A stalled download keeps at most `window` slabs (its credit): main writes only what the socket takes and keeps the
// rest queued. When stalled connections outnumber slabs, main copies instead of pinning (writes under pressure) and
// spills what stalled sockets hold, so fresh requests still get slabs. "Settled" below means the pool counters stopped
// changing: the kernel buffers are full and every writer waits for credit.

import { describe, expect, it } from 'vitest';
import { bodySha256 } from '../helpers/bodies.js';
import { requestOnce, text, type RawConnection } from '../helpers/raw-http.js';
import { useHarness, waitForIdlePool, waitForStable, type TestServer } from '../helpers/server.js';

const SLAB_SIZE = 16 * 1024;
const SLAB_COUNT = 64;
/** Far more than the kernel buffers a stalled socket absorbs (about 4 MiB on loopback), so every download stalls. */
const STALLED_BODY = 256 * 1024 * 1024;

describe('backpressure from clients that never read', () => {
  const h = useHarness();

  /** Opens `n` downloads whose clients never read a byte, each of a distinct body. */
  async function stallDownloads(ts: TestServer, n: number, seed: number): Promise<RawConnection[]> {
    const conns: RawConnection[] = [];
    for (let i = 0; i < n; i++) {
      const conn = await h.connect(ts, { stalled: true, collect: false });
      conn.write({ path: `/body?seed=${seed + i}&size=${STALLED_BODY}` });
      conns.push(conn);
    }
    return conns;
  }

  /** Waits until the pool and the write counters stop moving: every stalled download has filled what it can. */
  function settle(ts: TestServer) {
    return waitForStable(
      () => {
        const s = ts.stats();
        return { free: s.slabs.free, written: s.bytesWritten, copied: s.copiedWrites, spilled: s.spilledSlabs };
      },
      { stableMs: 400, timeoutMs: 40_000, what: 'the stalled downloads to settle' },
    );
  }

  /** Times GET /hello on a fresh connection. */
  async function timedHello(ts: TestServer): Promise<number> {
    const started = performance.now();
    const res = await requestOnce(ts.port, { path: '/hello' });
    expect(res.status).toBe(200);
    expect(text(res)).toBe('hello\n');
    return performance.now() - started;
  }

  it('lets one stalled download hold at most its window of slabs', async () => {
    const window = 4;
    const ts = await h.start('native-app', { slabSize: SLAB_SIZE, slabCount: SLAB_COUNT, window });
    const [conn] = await stallDownloads(ts, 1, 100);
    const settled = await settle(ts);
    const held = SLAB_COUNT - settled.free;
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(window);
    // The client really stopped the flow: far less than the body went out.
    expect(ts.stats().bytesWritten).toBeLessThan(STALLED_BODY / 8);
    conn!.destroy();
    const idle = await waitForIdlePool(ts);
    expect(idle.refusedTransitions).toBe(0);
  }, 60_000);

  it('bounds six stalled downloads by six windows and keeps answering GET /hello within 2 s', async () => {
    const window = 4;
    const ts = await h.start('native-app', { slabSize: SLAB_SIZE, slabCount: SLAB_COUNT, window });
    const conns = await stallDownloads(ts, 6, 200);
    const settled = await settle(ts);
    expect(SLAB_COUNT - settled.free).toBeLessThanOrEqual(6 * window);
    for (let i = 0; i < 5; i++) expect(await timedHello(ts)).toBeLessThan(2000);
    for (const c of conns) c.destroy();
    const idle = await waitForIdlePool(ts);
    expect(idle.slabs.free).toBe(idle.slabs.total);
    expect(idle.refusedTransitions).toBe(0);
  }, 60_000);

  it('keeps serving when 100 stalled downloads outnumber the 64 slabs, by copying and spilling instead of pinning', async () => {
    const ts = await h.start('native-app', { slabSize: SLAB_SIZE, slabCount: SLAB_COUNT });
    const conns = await stallDownloads(ts, 100, 300);
    const settled = await settle(ts);
    const stats = ts.stats();
    // The pressure policy engaged: writes were copied under pressure, and stalled sockets gave their slabs back.
    expect(stats.copiedWrites).toBeGreaterThan(0);
    expect(stats.spilledSlabs).toBeGreaterThan(0);
    expect(settled.free).toBeGreaterThan(0);
    expect(stats.inflight).toBe(100);
    for (let i = 0; i < 5; i++) expect(await timedHello(ts)).toBeLessThan(2000);
    for (const c of conns) c.destroy();
    const idle = await waitForIdlePool(ts, 20_000);
    expect(idle.slabs.free).toBe(idle.slabs.total);
    expect(idle.refusedTransitions).toBe(0);
  }, 90_000);

  it('queues requests beyond maxInflight in main and answers every one of them intact', async () => {
    const ts = await h.start('native-app', { slabSize: SLAB_SIZE, slabCount: 16, window: 2, maxInflight: 3 });
    const sizes = Array.from({ length: 30 }, (_, i) => 1 + i * 33_333);
    const results = await Promise.all(
      sizes.map(async (size, i) => {
        const conn = await h.connect(ts, { collect: false });
        const res = await conn.request({ path: `/body?seed=${400 + i}&size=${size}` });
        return res.complete && res.bodyLength === size && res.sha256 === bodySha256(400 + i, size);
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    const stats = await waitForIdlePool(ts);
    expect(stats.responses).toBe(30);
    expect(stats.slabs.free).toBe(16);
  }, 30_000);
});
