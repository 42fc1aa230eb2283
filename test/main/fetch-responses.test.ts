// Fetch-style apps: every kind of web Response body reaches the wire exactly, with the right framing and headers
// (end to end).

import { describe, expect, it } from 'vitest';
import { header, headerAll, text, type RawResponse } from '../helpers/raw-http.js';
import { useHarness, waitForIdlePool } from '../helpers/server.js';

describe('fetch-style responses', () => {
  const h = useHarness();

  const fixedBodies: [string, Buffer, string | undefined][] = [
    ['string', Buffer.from('a string body ✓\n'), 'text/plain; charset=utf-8'],
    ['bytes', Buffer.from([0, 1, 2, 253, 254, 255]), undefined],
    ['arraybuffer', Buffer.from([9, 8, 7]), undefined],
  ];

  for (const [kind, bytes, type] of fixedBodies) {
    it(`sends a ${kind} body byte-exact with its Content-Length`, async () => {
      const ts = await h.start('fetch-app');
      const conn = await h.connect(ts);
      const res = await conn.request({ path: `/kinds/${kind}` });
      expect(res.status).toBe(200);
      expect(res.body.equals(bytes)).toBe(true);
      expect(header(res, 'content-length')).toBe(String(bytes.length));
      if (type !== undefined) expect(header(res, 'content-type')).toBe(type);
    });
  }

  it('sends a Blob body byte-exact with its type, framed either way', async () => {
    // A Blob's stream reads asynchronously, so the pump may not see its end at once and send it chunked instead.
    const ts = await h.start('fetch-app');
    const conn = await h.connect(ts);
    const res = await conn.request({ path: '/kinds/blob' });
    expect(res.status).toBe(200);
    expect(res.complete).toBe(true);
    expect(res.body.equals(Buffer.concat([Buffer.from('blob parts '), Buffer.from([0x21, 0x0a])]))).toBe(true);
    expect(header(res, 'content-type')).toBe('text/x-blob');
  });

  it('streams a ReadableStream body whose chunks come over time, chunked', async () => {
    const ts = await h.start('fetch-app');
    const conn = await h.connect(ts);
    const res = await conn.request({ path: '/kinds/stream' });
    expect(res.status).toBe(200);
    expect(res.framing).toBe('chunked');
    expect(res.terminated).toBe(true);
    expect(text(res)).toBe('one,two,three');
  });

  for (const kind of ['empty', 'empty-string']) {
    it(`sends an empty body (${kind}) as Content-Length: 0`, async () => {
      const ts = await h.start('fetch-app');
      const conn = await h.connect(ts);
      const res = await conn.request({ path: `/kinds/${kind}` });
      expect(res.status).toBe(200);
      expect(header(res, 'content-length')).toBe('0');
      expect(res.bodyLength).toBe(0);
      expect(text(await conn.request({ path: '/hello' }))).toBe('hello\n');
    });
  }

  it('sends Response.json() with its status and content type', async () => {
    const ts = await h.start('fetch-app');
    const conn = await h.connect(ts);
    const res = await conn.request({ path: '/kinds/json' });
    expect(res.status).toBe(201);
    expect(header(res, 'content-type')).toBe('application/json');
    expect(JSON.parse(text(res))).toEqual({ ok: true, list: [1, 2, 3], text: 'ü' });
  });

  it('keeps each Set-Cookie header separate, commas and all, while other repeated headers are joined', async () => {
    const ts = await h.start('fetch-app');
    const conn = await h.connect(ts);
    const res = await conn.request({ path: '/cookies' });
    expect(headerAll(res, 'set-cookie')).toEqual([
      'a=1; Path=/; HttpOnly',
      'b=2, with a comma; Expires=Wed, 21 Oct 2037 07:28:00 GMT',
    ]);
    expect(headerAll(res, 'x-multi')).toEqual(['one, two']);
  });

  for (const status of [204, 304]) {
    it(`sends ${status} with no body and no body framing, and keeps the connection in step`, async () => {
      const ts = await h.start('fetch-app');
      const conn = await h.connect(ts, { keepRaw: true });
      const res: RawResponse = await conn.request({ path: `/status/${status}` });
      expect(res.status).toBe(status);
      expect(headerAll(res, 'transfer-encoding')).toEqual([]);
      if (status === 204) expect(headerAll(res, 'content-length')).toEqual([]);
      if (status === 304) expect(header(res, 'etag')).toBe('"v1"');
      expect(text(await conn.request({ path: '/hello' }))).toBe('hello\n');
      expect(conn.parseError).toBeNull();
      // Nothing but the two heads and the hello body came over the wire.
      expect(conn.rawBytes().toString('latin1').endsWith('\r\n\r\nhello\n')).toBe(true);
    });
  }

  it('does not abort request.signal or cancel streams for requests that complete normally', async () => {
    const ts = await h.start('fetch-app');
    const conn = await h.connect(ts, { collect: false });
    for (let i = 0; i < 10; i++) {
      const res = await conn.request({ path: `/body?seed=${i}&size=${50_000 * i + 1}${i % 2 ? '&chunked' : ''}` });
      expect(res.complete).toBe(true);
    }
    await waitForIdlePool(ts);
    expect(ts.control.count('BODIES_FINISHED')).toBe(10);
    expect(ts.control.count('SIGNALS_ABORTED')).toBe(0);
    expect(ts.control.count('STREAMS_CANCELLED')).toBe(0);
  });
});
