// Uploads stay byte-exact while stalled downloads hold most of the pool (end to end).
//
// A request head and its body travel to the worker in order, through the same slabs the stalled downloads hold. When
// the head has to wait for a free slab, its body must wait behind it: a body slab that reaches the worker first has no
// request to belong to. Every upload is hashed by the app and compared with the digest of what the client sent.

import { describe, expect, it } from 'vitest';
import { bodyChunks, bodySha256 } from '../helpers/bodies.js';
import { Prng } from '../helpers/prng.js';
import { requestOnce, streamRequest, text, type RawConnection } from '../helpers/raw-http.js';
import { useHarness, waitFor, waitForIdlePool, waitForStable } from '../helpers/server.js';

/** Far more than a stalled socket's kernel buffers absorb, so each download stalls for good. */
const STALLED_BODY = 256 * 1024 * 1024;

describe('uploads under pool pressure', () => {
  const h = useHarness();

  it.each([12, 40])('hashes 48 concurrent uploads of 20–200 KB right while %i stalled downloads hold a 32-slab pool', async (stalls) => {
    const ts = await h.start('mixed-app', { threads: 1, slabSize: 4096, slabCount: 32, window: 2 });
    const stalled: RawConnection[] = [];
    for (let i = 0; i < stalls; i++) {
      const conn = await h.connect(ts, { stalled: true, collect: false });
      conn.write({ path: `/body?seed=${500 + i}&size=${STALLED_BODY}` });
      stalled.push(conn);
    }
    await waitForStable(() => ts.stats().slabs.free, { stableMs: 300, what: 'the stalled downloads to settle' });

    const prng = new Prng(0x0b1ad);
    const uploads = Array.from({ length: 48 }, (_, i) => ({ seed: 900 + i, size: prng.int(20_000, 200_000) }));
    const results = await Promise.all(
      uploads.map(async ({ seed, size }) => {
        const conn = await h.connect(ts);
        const sent = streamRequest(conn, { path: '/upload' }, bodyChunks(seed, size, prng.int(1000, 30_000)), size);
        const res = await conn.nextResponse();
        await sent.done;
        return { seed, size, status: res?.status ?? null, body: res === null ? '' : text(res) };
      }),
    );
    const wrong = results.filter(
      (r) => r.status !== 200 || r.body !== JSON.stringify({ length: r.size, sha256: bodySha256(r.seed, r.size) }),
    );
    expect(wrong.map((r) => `seed ${r.seed}: ${r.status} ${r.body.slice(0, 120)}`)).toEqual([]);

    for (const conn of stalled) conn.destroy();
    const stats = await waitForIdlePool(ts);
    expect(stats.refusedTransitions).toBe(0);
  }, 60_000);

  it('spills a stalled download to answer a new request when nothing else would free a slab', async () => {
    // 16 slabs: a stalled download holds 8 (4 in node's hands, 4 queued in main's), a gated upload wants the other 8,
    // and with the pressure floor at 1 slab no batch of descriptors runs under pressure to spill anything. The
    // upload's last slabs, or the next request's head, then need slabs that only a spill can give.
    const ts = await h.start('mixed-app', { threads: 1, slabSize: 16 * 1024, slabCount: 16, window: 8, pressureFloor: 1 });
    const stalled = await h.connect(ts, { stalled: true, collect: false });
    stalled.write({ path: `/body?seed=77&size=${STALLED_BODY}` });
    await waitForStable(() => ts.stats().slabs.free, { stableMs: 300, what: 'the stalled download to settle' });
    const uploader = await h.connect(ts);
    const upload = streamRequest(uploader, { path: '/upload-gated' }, bodyChunks(78, 1 << 20), 1 << 20);
    await waitFor(() => ts.control.count('PARKED'), (n) => n === 1, { what: 'the upload to park' });
    await waitForStable(() => ts.stats().slabs.free, { stableMs: 300, what: 'the upload to fill its window' });
    const hello = await requestOnce(ts.port, { path: '/hello' });
    expect(text(hello)).toBe('hello\n');
    expect(ts.stats().spilledSlabs).toBeGreaterThan(0);

    ts.control.open('UPLOAD');
    const res = await uploader.nextResponse();
    await upload.done;
    expect(text(res!)).toBe(JSON.stringify({ length: 1 << 20, sha256: bodySha256(78, 1 << 20) }));
    stalled.destroy();
    expect((await waitForIdlePool(ts)).refusedTransitions).toBe(0);
  }, 30_000);
});

