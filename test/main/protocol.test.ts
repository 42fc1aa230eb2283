// HTTP/1.1 on the wire: HEAD, keep-alive, pipelining in order, and app headers that could split a response
// (end to end, checked on the raw bytes).

import { describe, expect, it } from 'vitest';
import { bodySha256 } from '../helpers/bodies.js';
import { formatRequest, header, text } from '../helpers/raw-http.js';
import { useHarness, waitForIdlePool } from '../helpers/server.js';

describe('HTTP/1.1 protocol', () => {
  const h = useHarness();

  it('answers HEAD with the headers, including Content-Length, and no body', async () => {
    const ts = await h.start('native-app');
    const conn = await h.connect(ts, { keepRaw: true });
    const head = await conn.request({ method: 'HEAD', path: '/writer/head-only' });
    expect(head.status).toBe(200);
    expect(header(head, 'content-length')).toBe('11');
    expect(header(head, 'content-type')).toBe('text/plain');
    expect(head.bodyLength).toBe(0);
    // A large declared body too: the head says its length, and not one body byte follows.
    const big = await conn.request({ method: 'HEAD', path: '/body?seed=1&size=1000000' });
    expect(header(big, 'content-length')).toBe('1000000');
    // The connection is still in step: had body bytes followed either head, this GET's response would not parse.
    const get = await conn.request({ path: '/writer/head-only' });
    expect(text(get)).toBe('hello world');
    expect(conn.parseError).toBeNull();
    expect(conn.rawBytes().toString('latin1').match(/HTTP\/1\.1 /g)).toHaveLength(3);
    expect((await waitForIdlePool(ts)).refusedTransitions).toBe(0);
  });

  it('answers HEAD to a fetch-style app with a fixed body and with a streamed body, and sends neither body', async () => {
    const ts = await h.start('fetch-app');
    const conn = await h.connect(ts);
    const fixed = await conn.request({ method: 'HEAD', path: '/kinds/string' });
    expect(header(fixed, 'content-length')).toBe(String(Buffer.byteLength('a string body ✓\n')));
    expect(fixed.bodyLength).toBe(0);
    const streamed = await conn.request({ method: 'HEAD', path: '/body?seed=2&size=300000&chunked' });
    expect(streamed.status).toBe(200);
    expect(streamed.bodyLength).toBe(0);
    const after = await conn.request({ path: '/hello' });
    expect(text(after)).toBe('hello\n');
    expect(conn.parseError).toBeNull();
  });

  it('serves many requests in order on one keep-alive connection', async () => {
    const ts = await h.start('native-app');
    const conn = await h.connect(ts, { collect: false });
    for (let i = 0; i < 20; i++) {
      const size = 1000 + i * 7919;
      const res = await conn.request({ path: `/body?seed=${i}&size=${size}` });
      expect(res.status).toBe(200);
      expect(res.sha256).toBe(bodySha256(i, size));
      expect(header(res, 'connection')?.toLowerCase()).not.toBe('close');
    }
    expect(conn.isClosed).toBe(false);
    expect(ts.stats().requests).toBe(20);
  });

  it('answers pipelined requests sent in one TCP write in the order they were sent', async () => {
    const ts = await h.start('native-app', { slabCount: 64 });
    const conn = await h.connect(ts, { collect: false });
    // The first answers are the largest, so later (quicker) ones would overtake them if order were not kept.
    const sizes = [3_000_000, 1_000_000, 10, 200_000, 1];
    const methods = ['GET', 'GET', 'HEAD', 'GET', 'GET'];
    const batch = Buffer.concat(
      sizes.map((size, i) => formatRequest({ method: methods[i]!, path: `/body?seed=${80 + i}&size=${size}` })),
    );
    for (const m of methods) conn.expect(m);
    conn.send(batch);
    for (const [i, size] of sizes.entries()) {
      const res = await conn.nextResponse();
      expect(res).not.toBeNull();
      expect(header(res!, 'x-seed')).toBe(String(80 + i));
      expect(header(res!, 'content-length')).toBe(String(size));
      if (methods[i] === 'HEAD') {
        expect(res!.bodyLength).toBe(0);
      } else {
        expect(res!.complete).toBe(true);
        expect(res!.sha256).toBe(bodySha256(80 + i, size));
      }
    }
    expect(conn.parseError).toBeNull();
    expect((await waitForIdlePool(ts)).refusedTransitions).toBe(0);
  });

  const cases = ['crlf-value', 'lf-value', 'cr-value', 'nul-value', 'wide-value', 'space-name', 'colon-name', 'crlf-name', 'empty-name'];
  for (const route of ['bad', 'bad-fetch']) {
    it(`refuses app headers with CR, LF, NUL, wide chars or bad names with a 500 ERR_INVALID_HEADER, never a split response (/${route})`, async () => {
      const ts = await h.start('header-app');
      const conn = await h.connect(ts, { keepRaw: true });
      for (const c of cases) {
        const res = await conn.request({ path: `/${route}/${c}` });
        expect(res.status, c).toBe(500);
        expect(header(res, 'slabserve-error'), c).toBe('ERR_INVALID_HEADER');
        expect(header(res, 'x-bad'), c).toBeUndefined();
      }
      // Still in step on the same connection after all of them.
      const hello = await conn.request({ path: '/hello' });
      expect(text(hello)).toBe('hello\n');
      const raw = conn.rawBytes().toString('latin1');
      expect(conn.parseError).toBeNull();
      expect(raw).not.toMatch(/injected/i);
      expect(raw).not.toContain('should never be sent');
      expect(raw.match(/HTTP\/1\.1 \d{3}/g)).toHaveLength(cases.length + 1);
      expect(ts.stats().errors['ERR_INVALID_HEADER']).toBe(cases.length);
      expect((await waitForIdlePool(ts)).refusedTransitions).toBe(0);
    });
  }
});
