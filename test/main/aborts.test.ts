// Clients that go away mid-request cancel it: the app's stream is cancelled, request.signal fires, and every slab
// comes back exactly once (end to end).
//
// Each download is aborted by the client at a seeded offset: right after sending the request, right after the head,
// or somewhere in the body. The apps hold their bodies open at a point past the abort offset (waiting on a gate that
// stays closed), so no body can finish before its abort; only the server's cancellation ends them.

import { describe, expect, it } from 'vitest';
import { Prng } from '../helpers/prng.js';
import { formatRequest, requestOnce, text } from '../helpers/raw-http.js';
import { useHarness, waitFor, waitForIdlePool, type TestServer } from '../helpers/server.js';

const ABORTS = 300;
const CONCURRENCY = 24;
const BODY = 64 * 1024 * 1024;

type When = 'after-request' | 'at-head' | 'in-body';

interface Abort {
  seed: number;
  when: When;
  /** Body bytes the client reads before it destroys the socket (in-body only). */
  offset: number;
  /** Body bytes the app produces before it waits on the closed gate. */
  hold: number;
}

function plan(seed: number): Abort[] {
  const prng = new Prng(seed);
  return Array.from({ length: ABORTS }, (_, i) => {
    const when = prng.pick<When>(['after-request', 'at-head', 'in-body', 'in-body', 'in-body']);
    const offset = when === 'in-body' ? prng.int(1, 512 * 1024) : 0;
    // Half the after-request aborts hold at 0: the app parks before its first byte, and only cancellation ends it.
    const hold = when === 'after-request' && prng.chance(0.5) ? 0 : offset + prng.int(1, 64 * 1024);
    return { seed: seed * 1000 + i, when, offset, hold };
  });
}

/** Runs `jobs` with at most `limit` in flight. */
async function bounded<T>(jobs: T[], limit: number, run: (job: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: limit }, async () => {
    while (next < jobs.length) await run(jobs[next++]!);
  });
  await Promise.all(lanes);
}

type Counts = Record<string, number>;

describe('client aborts', () => {
  const h = useHarness();

  async function abortOne(ts: TestServer, a: Abort): Promise<void> {
    const conn = await h.connect(ts, { collect: false });
    if (a.when === 'at-head') conn.parser.onHead = () => conn.destroy();
    if (a.when === 'in-body') conn.parser.onBody = (res) => res.bodyLength >= a.offset && conn.destroy();
    conn.write({ path: `/body?seed=${a.seed}&size=${BODY}&hold=${a.hold}` });
    if (a.when === 'after-request') conn.destroy();
    await conn.closed;
  }

  /** GETs /counts until `settled` accepts them; each call is itself one request the app counts (never aborted). */
  async function countsWhen(ts: TestServer, settled: (c: Counts, own: number) => boolean): Promise<Counts> {
    let own = 0;
    return waitFor(
      async () => {
        own++;
        return JSON.parse(text(await requestOnce(ts.port, { path: '/counts' }))) as Counts;
      },
      (c) => settled(c, own),
      { timeoutMs: 10_000, intervalMs: 50, what: 'the app counts to settle' },
    );
  }

  it('cancels the body stream of a request whose client left while the app was still computing its Response', async () => {
    const ts = await h.start('fetch-app');
    const conn = await h.connect(ts);
    conn.write({ path: '/slow-start' });
    await waitFor(() => ts.control.count('PARKED'), (n) => n === 1, { what: 'the app to park before answering' });
    conn.destroy();
    // The abort reached the app while it had no Response yet; only then does it return one, whose stream waits for
    // events that never come. Nothing but the server's cancel() can end that stream.
    await waitFor(() => ts.control.count('SIGNALS_ABORTED'), (n) => n === 1, { what: 'request.signal to abort' });
    ts.control.open('RESPOND');
    await waitFor(() => ts.control.count('STREAMS_CANCELLED'), (n) => n === 1, { what: 'the stream to be cancelled' });
    const stats = await waitForIdlePool(ts);
    expect(stats.inflight).toBe(0);
    expect(stats.slabs.free).toBe(stats.slabs.total);
  });

  it('cancels pipelined requests still queued behind a parked one when the client leaves', async () => {
    const ts = await h.start('fetch-app');
    const conn = await h.connect(ts);
    // Three requests in one write: node hands all three over at once, but only the first owns the socket.
    const paths = ['/body?seed=1&size=1000000&hold=1000', '/body?seed=2&size=1000000&hold=0', '/body?seed=3&size=1000000&hold=0'];
    paths.forEach(() => conn.expect('GET'));
    conn.send(Buffer.concat(paths.map((path) => formatRequest({ path }))));
    await waitFor(() => ts.control.count('PARKED'), (n) => n === 3, { what: 'all three bodies to park' });
    conn.destroy();
    await waitFor(() => ts.control.count('STREAMS_CANCELLED'), (n) => n === 3, { what: 'all three streams to be cancelled' });
    expect(ts.control.count('SIGNALS_ABORTED')).toBe(3);
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(stats.slabs.total);
  });

  for (const [app, seed] of [
    ['fetch-app', 5],
    ['native-app', 6],
  ] as const) {
    it(`cancels ${ABORTS} ${app} downloads aborted at seeded offsets and gets every slab back (seed ${seed})`, async () => {
      const ts = await h.start(app, { slabSize: 16 * 1024, slabCount: 64, threads: 2 });
      const aborts = plan(seed);
      await bounded(aborts, CONCURRENCY, (a) => abortOne(ts, a));

      const stats = await waitForIdlePool(ts, 20_000);
      expect(stats.slabs.free).toBe(stats.slabs.total);
      expect(stats.refusedTransitions).toBe(0);
      expect(stats.responses).toBe(stats.requests);

      // Every request that reached the app saw its signal abort, and no body ran to its end.
      const counts = await countsWhen(ts, (c, own) => c['SIGNALS_ABORTED'] === c['REQUESTS']! - own);
      const reached = counts['REQUESTS']! - 1;
      expect(reached).toBeGreaterThan(ABORTS * 0.9);
      expect(reached).toBeLessThanOrEqual(ABORTS);
      expect(counts['BODIES_FINISHED']).toBe(0);
      if (app === 'fetch-app') {
        // The server cancelled every body stream the app had started.
        expect(counts['STREAMS_CANCELLED']).toBe(counts['BODIES_STARTED']);
      } else {
        // Every native body loop ended in a refused write or an aborted gate wait.
        expect(counts['WRITES_REFUSED']).toBe(counts['BODIES_STARTED']);
      }
      expect(counts['BODIES_STARTED']).toBeGreaterThan(ABORTS * 0.5);
    }, 90_000);
  }
});
