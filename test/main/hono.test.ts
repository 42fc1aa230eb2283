// A real Hono app runs unchanged as a slabserve app: routing, params, JSON both ways, and hono/streaming (end to end).

import { describe, expect, it } from 'vitest';
import { bodySha256 } from '../helpers/bodies.js';
import { header, text } from '../helpers/raw-http.js';
import { useHarness, waitFor, waitForIdlePool } from '../helpers/server.js';

describe('a Hono app', () => {
  const h = useHarness();

  it('routes requests with path params, query strings and regexp-constrained params', async () => {
    const ts = await h.start('hono-app');
    const conn = await h.connect(ts);
    const root = await conn.request({ path: '/' });
    expect(root.status).toBe(200);
    expect(text(root)).toBe('hono root');
    const user = await conn.request({ path: '/users/42?q=search%20me' });
    expect(header(user, 'content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(text(user))).toEqual({ id: '42', q: 'search me' });
    const file = await conn.request({ path: '/files/notes.txt' });
    expect(text(file)).toBe('file notes.txt');
    const notTxt = await conn.request({ path: '/files/notes.pdf' });
    expect(notTxt.status).toBe(404);
    expect(text(notTxt)).toBe('no such hono route');
  });

  it('reads a JSON request body with c.req.json() and answers with c.json() and a status', async () => {
    const ts = await h.start('hono-app');
    const conn = await h.connect(ts);
    const payload = { name: 'slab', sizes: [4096, 65536], nested: { ok: true, text: 'ünïcödé' } };
    const res = await conn.request({
      method: 'POST',
      path: '/echo',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(payload),
    });
    expect(res.status).toBe(201);
    expect(JSON.parse(text(res))).toEqual({ method: 'POST', type: 'application/json', received: payload });
  });

  it('sends headers and a custom status set through the Hono context', async () => {
    const ts = await h.start('hono-app');
    const conn = await h.connect(ts);
    const res = await conn.request({ path: '/teapot' });
    expect(res.status).toBe(418);
    expect(header(res, 'x-custom')).toBe('from-hono');
    expect(text(res)).toBe("I'm a teapot");
  });

  it('streams a hono/streaming body byte-exact', async () => {
    const ts = await h.start('hono-app', { slabCount: 32 });
    const size = 2_500_000;
    const conn = await h.connect(ts, { collect: false });
    const res = await conn.request({ path: `/stream?seed=11&size=${size}` });
    expect(res.status).toBe(200);
    expect(header(res, 'content-type')).toBe('application/octet-stream');
    expect(res.complete).toBe(true);
    expect(res.bodyLength).toBe(size);
    expect(res.sha256).toBe(bodySha256(11, size));
    expect((await waitForIdlePool(ts)).refusedTransitions).toBe(0);
  });

  it('aborts a hono/streaming body when its client goes away', async () => {
    const ts = await h.start('hono-app', { slabCount: 32 });
    const conn = await h.connect(ts, { collect: false });
    conn.parser.onBody = (res) => res.bodyLength >= 100_000 && conn.destroy();
    conn.write({ path: `/stream?seed=12&size=${512 * 1024 * 1024}` });
    await conn.closed;
    await waitFor(() => ts.control.count('STREAMS_CANCELLED'), (n) => n === 1, { what: 'the Hono stream to abort' });
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(stats.slabs.total);
    expect(ts.control.count('BODIES_FINISHED')).toBe(0);
  });
});
