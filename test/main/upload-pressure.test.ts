// Uploads stay byte-exact while stalled downloads hold most of the pool (end to end).
//
// A request head and its body travel to the worker in order, through the same slabs the stalled downloads hold. When
// the head has to wait for a free slab, its body must wait behind it: a body slab that reaches the worker first has no
// request to belong to. Every upload is hashed by the app and compared with the digest of what the client sent.

import { describe, expect, it } from 'vitest';
import { bodyChunks, bodySha256 } from '../helpers/bodies.js';
import { Prng } from '../helpers/prng.js';
import { streamRequest, text, type RawConnection } from '../helpers/raw-http.js';
import { useHarness, waitForIdlePool, waitForStable } from '../helpers/server.js';

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
});
