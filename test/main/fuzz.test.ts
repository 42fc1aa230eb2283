// A seeded fuzz of the request parser: thousands of mutated requests over many connections at once, after which the
// server still answers correctly and every slab is back in the pool.

import { describe, expect, it } from 'vitest';
import { bodyBytes, bodySha256 } from '../helpers/bodies.js';
import { Prng } from '../helpers/prng.js';
import { header, requestOnce, text } from '../helpers/raw-http.js';
import { useHarness, waitForIdlePool } from '../helpers/server.js';
import { makeCase } from '../fixtures/hostile/mutate.js';
import { sendRaw, summarize, type WireResult } from '../fixtures/hostile/wire.js';

const SEED = 0x5eed2026;
const CASES = 5000;
const CONCURRENCY = 16;
/** How long one connection is read before it is given up on (most mutated requests are refused at once). */
const BOUND_MS = 300;

const harness = useHarness();

/** What is wrong with the answers to one case, or null: a well-formed response stream, every error coded. */
function problem(r: WireResult): string | null {
  if (r.parseError !== null) return `unparseable answer (${r.parseError})`;
  for (const res of r.responses) {
    if (res.status >= 400 && header(res, 'slabserve-error') === undefined) return `an uncoded ${res.status}`;
    // 505 is the one 5xx a client earns: a mutated version (HTTP/0.9, HTTP/2.0) is refused, not failed on.
    if (res.status === 505 && header(res, 'slabserve-error') === 'ERR_HTTP_VERSION') continue;
    if (res.status >= 500) return `a ${res.status} ${header(res, 'slabserve-error') ?? ''} (the server's fault, not the client's)`;
  }
  return null;
}

describe('the parser under fuzzed input', () => {
  it(`stays up through ${CASES} mutated requests (seed 0x${SEED.toString(16)}, ${CONCURRENCY} connections at a time), then answers correctly with every slab free`, async () => {
    const ts = await harness.start('faulty-app', { threads: 2 });
    const prng = new Prng(SEED);
    const cases = Array.from({ length: CASES }, () => makeCase(prng));
    const statuses = new Map<string, number>();
    const problems: string[] = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < cases.length) {
        const index = next++;
        const c = cases[index]!;
        const r = await sendRaw(ts.port, c.pieces, {
          boundMs: BOUND_MS,
          halfClose: c.halfClose,
          gapMs: c.pieces.length > 1 ? 1 : 0,
          methods: c.methods,
        });
        const key = r.responses.length === 0 ? (r.closed ? 'closed' : 'no answer in bound') : r.responses.map((res) => res.status).join('+');
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        const p = problem(r);
        if (p !== null && problems.length < 20) problems.push(`#${index} ${c.label}: ${p}; sent ${JSON.stringify(Buffer.concat(c.pieces).toString('latin1'))}; ${summarize(r)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    const tally = JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => b[1] - a[1])));
    expect(problems, tally).toEqual([]);
    // The fuzz reached both sides of the parser: requests it refused and requests the app answered.
    expect(ts.stats().errors['ERR_BAD_REQUEST'] ?? 0, tally).toBeGreaterThan(0);
    expect([...statuses.keys()].some((k) => k.startsWith('200')), tally).toBe(true);

    const hello = await requestOnce(ts.port, { path: '/hello' });
    expect(hello.status).toBe(200);
    expect(text(hello)).toBe('hello\n');
    const upload = bodyBytes(2026, 300 * 1024);
    const res = await requestOnce(ts.port, { method: 'POST', path: '/upload', body: upload });
    expect(res.status).toBe(200);
    expect(JSON.parse(text(res))).toEqual({ bytes: upload.length, sha256: bodySha256(2026, upload.length) });
    const stats = await waitForIdlePool(ts, 10_000);
    expect(stats.slabs.free).toBe(stats.slabs.total);
  });
});
