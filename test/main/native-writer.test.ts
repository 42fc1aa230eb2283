// The native writer end to end: writeHead, slab()/commit, write, end, heads larger than a slab, returned Responses,
// and misuse refused with coded errors.

import { describe, expect, it } from 'vitest';
import { header, headerAll, text } from '../helpers/raw-http.js';
import { bodySha256 } from '../helpers/bodies.js';
import { useHarness, waitFor, waitForIdlePool } from '../helpers/server.js';

describe('the native writer', () => {
  const h = useHarness();

  it('sends a status, headers, and a body made of write(), slab()/commit() and end(chunk), in order', async () => {
    const ts = await h.start('native-app');
    const conn = await h.connect(ts);
    const res = await conn.request({ path: '/writer/parts' });
    expect(res.status).toBe(201);
    expect(header(res, 'x-kind')).toBe('parts');
    expect(header(res, 'content-type')).toBe('text/plain');
    expect(text(res)).toBe('alpha-beta-gamma-delta');
    expect(res.complete).toBe(true);
  });

  it('sends a head larger than one slab: 100 headers of 200 bytes with 4 KiB slabs', async () => {
    const ts = await h.start('native-app', { slabSize: 4096, slabCount: 32 });
    const conn = await h.connect(ts);
    const res = await conn.request({ path: '/writer/big-head?n=100&len=200' });
    expect(res.status).toBe(200);
    for (let i = 0; i < 100; i++) expect(header(res, `x-h-${i}`)).toBe(String(i % 10).repeat(200));
    expect(text(res)).toBe('big head');
    expect(res.head.length).toBeGreaterThan(5 * 4096);
    // The connection is still in step, and every slab of the long head came back.
    expect(text(await conn.request({ path: '/hello' }))).toBe('hello\n');
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(32);
    expect(stats.refusedTransitions).toBe(0);
  });

  it('answers 200 with a Content-Length when the app calls end() without writeHead()', async () => {
    const ts = await h.start('native-app');
    const conn = await h.connect(ts);
    const res = await conn.request({ path: '/writer/default' });
    expect(res.status).toBe(200);
    expect(text(res)).toBe('plain');
    expect(res.framing === 'length' || res.framing === 'chunked').toBe(true);
    expect(res.complete).toBe(true);
  });

  it('sends a Response the native handler returns instead of writing', async () => {
    const ts = await h.start('native-app');
    const conn = await h.connect(ts);
    const res = await conn.request({ path: '/writer/returns' });
    expect(res.status).toBe(202);
    expect(header(res, 'x-kind')).toBe('returned');
    expect(text(res)).toBe('from a Response');
  });

  it('sends 204 from writeHead(204) with no body and keeps the connection in step', async () => {
    const ts = await h.start('native-app');
    const conn = await h.connect(ts, { keepRaw: true });
    const res = await conn.request({ path: '/writer/no-content' });
    expect(res.status).toBe(204);
    expect(header(res, 'x-kind')).toBe('no-content');
    expect(headerAll(res, 'content-length')).toEqual([]);
    expect(headerAll(res, 'transfer-encoding')).toEqual([]);
    expect(text(await conn.request({ path: '/hello' }))).toBe('hello\n');
    expect(conn.parseError).toBeNull();
  });

  it('refuses writer calls made out of order with ERR_WRITER_STATE, and the response still completes', async () => {
    const ts = await h.start('native-app');
    const conn = await h.connect(ts);
    const res = await conn.request({ path: '/writer/misuse' });
    expect(res.status).toBe(200);
    // commit before slab(), a 2-digit status, a second writeHead, a commit past the slab's end.
    expect(JSON.parse(text(res))).toEqual(['ERR_WRITER_STATE', 'ERR_WRITER_STATE', 'ERR_WRITER_STATE', 'ERR_WRITER_STATE']);
    // And a write after end() (counted by the app, since its body had already ended).
    await waitFor(() => ts.control.count('WRITES_REFUSED'), (n) => n >= 1, { what: 'the late write to be refused' });
    expect(ts.control.count('WRITES_REFUSED')).toBe(1);
  });

  it('refuses slab(), slabSync(), commit() and write() after end() with ERR_WRITER_STATE, taking no slab and no credit', async () => {
    // One slot and a window of one slab: a late call that took credit would charge the next request on the slot,
    // which could then never take its one slab.
    const ts = await h.start('native-app', { threads: 1, slabCount: 16, maxInflight: 1, window: 1 });
    const first = await h.connect(ts);
    expect(text(await first.request({ path: '/writer/after-end' }))).toBe('ended\n');
    await waitFor(() => ts.control.count('PARKED'), (n) => n === 1, { what: 'the app to park after end()' });
    // The next request takes the slot, and parks after its first 64 KiB.
    const second = await h.connect(ts, { collect: false });
    const download = second.request({ path: '/body?seed=41&size=300000&hold=65536' });
    await waitFor(() => ts.control.count('PARKED'), (n) => n === 2, { what: 'the download to park' });
    // Its first 64 KiB are read, so it owns no slab now, and its slot has credit that a late call could take.
    await waitFor(() => second.received, (n) => n > 65536, { what: 'the first 64 KiB to arrive' });
    await waitFor(() => ts.stats().slabs.free, (n) => n === 16, { what: 'the download to hold no slab' });
    ts.control.open('RESPOND');
    await waitFor(() => ts.control.count('BODIES_FINISHED'), (n) => n === 1, { what: 'the late calls to return' });
    expect(ts.control.count('WRITES_REFUSED')).toBe(4);
    expect(ts.stats().slabs.free).toBe(16);
    ts.control.open('STREAM');
    const res = await download;
    expect(res.status).toBe(200);
    expect(res.sha256).toBe(bodySha256(41, 300000));
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(16);
    expect(stats.refusedTransitions).toBe(0);
  });

  it('does not abort request.signal for requests that complete normally', async () => {
    const ts = await h.start('native-app');
    const conn = await h.connect(ts, { collect: false });
    for (let i = 0; i < 10; i++) {
      const res = await conn.request({ path: `/body?seed=${i}&size=${100_000 * i + 1}` });
      expect(res.complete).toBe(true);
    }
    await waitForIdlePool(ts);
    const counts = JSON.parse(text(await (await h.connect(ts)).request({ path: '/counts' }))) as Record<string, number>;
    expect(counts['BODIES_FINISHED']).toBe(10);
    expect(counts['SIGNALS_ABORTED']).toBe(0);
  });
});
