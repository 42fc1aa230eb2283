// Every byte of every response arrives intact while a tiny pool is under pressure (end to end, real sockets).
//
// 64 concurrent downloads of distinct 1–6 MB bodies share 64 slabs of 16 KiB across 2 threads, so slabs are reused
// constantly and writers wait for them. A third of the clients read slowly, so writes queue behind full socket
// buffers: a slab freed before its write callback would be refilled for another response while the kernel still had
// to read it, and some body's sha256 would come out wrong.

import { describe, expect, it } from 'vitest';
import { bodySha256 } from '../helpers/bodies.js';
import { Prng } from '../helpers/prng.js';
import { header, type RawResponse } from '../helpers/raw-http.js';
import { useHarness, waitForIdlePool, type TestServer } from '../helpers/server.js';

const SLAB_SIZE = 16 * 1024;
const SLAB_COUNT = 64;
const DOWNLOADS = 64;
const MiB = 1024 * 1024;

interface Job {
  seed: number;
  size: number;
  slow: boolean;
  path: string;
}

function plan(seed: number, variant: (prng: Prng, job: { seed: number; size: number }) => string, route = '/body'): Job[] {
  const prng = new Prng(seed);
  return Array.from({ length: DOWNLOADS }, (_, i) => {
    const job = { seed: seed * 1000 + i, size: prng.int(1 * MiB, 6 * MiB) };
    return { ...job, slow: i % 3 === 0, path: `${route}?seed=${job.seed}&size=${job.size}${variant(prng, job)}` };
  });
}

/** What was wrong with one download, or null when its status, framing, length and sha256 are all exact. */
function verdict(job: Job, res: RawResponse | null): string | null {
  if (res === null) return `seed ${job.seed}: connection closed before a response`;
  const problems: string[] = [];
  if (res.status !== 200) problems.push(`status ${res.status} (${header(res, 'slabserve-error') ?? ''})`);
  if (!res.complete) problems.push(`incomplete (${res.framing}, cut=${res.cut})`);
  if (res.bodyLength !== job.size) problems.push(`length ${res.bodyLength} ≠ ${job.size}`);
  if (res.sha256 !== bodySha256(job.seed, job.size)) problems.push('sha256 differs');
  return problems.length === 0 ? null : `seed ${job.seed} (${job.slow ? 'slow' : 'fast'}): ${problems.join(', ')}`;
}

describe('download integrity under pool pressure', () => {
  const h = useHarness();

  async function downloadAll(ts: TestServer, jobs: Job[]): Promise<void> {
    const outcomes = await Promise.all(
      jobs.map(async (job) => {
        // Slow clients pause 8 ms after every read: that paces them; it orders nothing between threads.
        const conn = await h.connect(ts, { collect: false, paceMs: job.slow ? 8 : 0 });
        const res = await conn.exchange({ path: job.path, headers: { Connection: 'close' } });
        conn.destroy();
        return verdict(job, res);
      }),
    );
    expect(outcomes.filter((v) => v !== null)).toEqual([]);
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(stats.slabs.total);
    expect(stats.refusedTransitions).toBe(0);
    // The pool really was the bottleneck: writers had to wait for slabs or credit, and the pool ran dry.
    expect(stats.waits).toBeGreaterThan(0);
    expect(stats.slabs.lowWater).toBeLessThan(SLAB_COUNT / 4);
  }

  it('delivers 64 concurrent native-writer bodies byte-exact from 64 slabs of 16 KiB, with a third of the clients slow', async () => {
    const ts = await h.start('native-app', { threads: 2, slabSize: SLAB_SIZE, slabCount: SLAB_COUNT });
    // Vary how the app fills slabs: whole slabs, odd-sized commits, copies through write(), chunked framing.
    const jobs = plan(31, (prng) => {
      const piece = prng.pick(['', '', '&piece=1000', '&piece=12289', '&mode=write']);
      return piece + (prng.chance(0.25) ? '&chunked' : '');
    });
    await downloadAll(ts, jobs);
  }, 90_000);

  it('delivers 64 concurrent ReadableStream bodies byte-exact from 64 slabs of 16 KiB, with a third of the clients slow', async () => {
    const ts = await h.start('fetch-app', { threads: 2, slabSize: SLAB_SIZE, slabCount: SLAB_COUNT });
    const jobs = plan(47, (prng) => (prng.chance(0.25) ? '&chunked' : ''));
    await downloadAll(ts, jobs);
  }, 90_000);

  it('delivers 64 concurrent bodies piped from Node streams byte-exact from 64 slabs of 16 KiB, with a third of the clients slow', async () => {
    const ts = await h.start('stream-app', { threads: 2, slabSize: SLAB_SIZE, slabCount: SLAB_COUNT });
    // Chunks smaller than, equal to and larger than a slab: their boundaries must not matter.
    const jobs = plan(59, (prng) => `&chunk=${prng.pick([777, 4096, 16384, 65536])}`, '/source');
    await downloadAll(ts, jobs);
  }, 90_000);
});
