// Request limits with small values: head size, field count, URL length, body size (declared and streamed), the head,
// request and keep-alive timeouts, requests per socket, connections, Host rules, pipelined error order and Expect.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bodyChunks, bodySha256, bodyBytes } from '../helpers/bodies.js';
import { header, requestOnce, text, RawConnection, type RawResponse } from '../helpers/raw-http.js';
import { Harness, waitFor, waitForIdlePool, type TestServer, type TestServerOptions } from '../helpers/server.js';
import { errorCode, saysClose, sendRaw, summarize, type WireResult } from '../fixtures/hostile/wire.js';
import { chunkFrames, closesWithin, streamPieces, untilBytes } from '../fixtures/hostile/streams.js';

const KiB = 1024;
const LIMITS = {
  maxHeaderSize: 2048,
  maxHeadersCount: 20,
  maxUrlLength: 256,
  maxBodySize: 64 * KiB,
  headersTimeout: 500,
  requestTimeout: 1000,
  keepAliveTimeout: 300,
} as const;

const H = 'Host: limits.test\r\n';

/** A raw GET with extra header lines (each "Name: value"). */
function get(path: string, extra: string[] = [], version = '1.1', host = H): string {
  return `GET ${path} HTTP/${version}\r\n${host}${extra.map((l) => `${l}\r\n`).join('')}\r\n`;
}

/** Asserts the server refused with `status` and `code`, said Connection: close and then closed with a FIN. */
function expectRefusal(r: WireResult, status: number, code: string): void {
  const why = summarize(r);
  expect(r.responses.length, why).toBe(1);
  const res = r.responses[0]!;
  expect(res.status, why).toBe(status);
  expect(errorCode(res), why).toBe(code);
  expect(saysClose(res), why).toBe(true);
  expect(r.closed, why).toBe(true);
  expect(r.fin, why).toBe(true);
}

function expectOk(r: WireResult, body?: string): RawResponse {
  const why = summarize(r);
  expect(r.responses.length, why).toBeGreaterThanOrEqual(1);
  const res = r.responses[0]!;
  expect(res.status, why).toBe(200);
  expect(errorCode(res), why).toBeUndefined();
  if (body !== undefined) expect(text(res), why).toBe(body);
  return res;
}

/** Headers X-F-1.. so that the request holds `count` field lines in all, Host included. */
function fields(count: number): string[] {
  return Array.from({ length: count - 1 }, (_, i) => `X-F-${i + 1}: ${i + 1}`);
}

/**
 * Starts fixture app faulty-app with `options` for the enclosing describe and closes it after its last test.
 * Connections passed to track() are destroyed after each test, passed or failed.
 */
function useServer(options: TestServerOptions): { ts: () => TestServer; track: (conn: RawConnection) => RawConnection } {
  const harness = new Harness();
  const open: RawConnection[] = [];
  let started: TestServer | undefined;
  beforeAll(async () => {
    started = await harness.start('faulty-app', options);
  });
  afterEach(() => {
    for (const conn of open.splice(0)) conn.destroy();
  });
  afterAll(() => harness.cleanup());
  return {
    ts: () => {
      if (started === undefined) throw new Error('the server did not start');
      return started;
    },
    track: (conn) => {
      open.push(conn);
      return conn;
    },
  };
}

/** A test that the enclosing describe's server has every slab free and nothing in flight. */
function itReturnsEverySlab(server: () => TestServer): void {
  it('has every slab back in the pool and nothing in flight afterwards', async () => {
    const stats = await waitForIdlePool(server(), 5000);
    expect(stats.slabs.free).toBe(stats.slabs.total);
  });
}

/** Reads the fixture's shared counters through its side route, /counts. */
async function counts(ts: TestServer): Promise<Record<string, number>> {
  const res = await requestOnce(ts.port, { path: '/counts' });
  expect(res.status).toBe(200);
  return JSON.parse(text(res)) as Record<string, number>;
}

describe('the head', () => {
  const { ts: server } = useServer({ ...LIMITS });

  it('answers a head just under maxHeaderSize', async () => {
    const r = await sendRaw(server().port, get('/hello', ['Connection: close', `X-Pad: ${'p'.repeat(1700)}`]));
    expectOk(r, 'hello\n');
  });

  it('refuses a head over maxHeaderSize with 431 ERR_HEADERS_TOO_LARGE, then closes', async () => {
    const r = await sendRaw(server().port, get('/hello', [`X-Pad: ${'p'.repeat(3000)}`]));
    expectRefusal(r, 431, 'ERR_HEADERS_TOO_LARGE');
  });

  it('refuses a head whose many small fields add up to more than maxHeaderSize with 431', async () => {
    const pad = Array.from({ length: 15 }, (_, i) => `X-P-${i}: ${'q'.repeat(200)}`);
    const r = await sendRaw(server().port, get('/hello', pad));
    expectRefusal(r, 431, 'ERR_HEADERS_TOO_LARGE');
  });

  it('answers a request with exactly maxHeadersCount fields', async () => {
    const r = await sendRaw(server().port, get('/hello', [...fields(LIMITS.maxHeadersCount - 1), 'Connection: close']));
    expectOk(r, 'hello\n');
  });

  it('refuses a request with one field more than maxHeadersCount with 431 ERR_HEADERS_TOO_LARGE', async () => {
    const r = await sendRaw(server().port, get('/hello', fields(LIMITS.maxHeadersCount + 1)));
    expectRefusal(r, 431, 'ERR_HEADERS_TOO_LARGE');
  });

  it('answers a request-target of exactly maxUrlLength', async () => {
    const path = `/hello?${'u'.repeat(LIMITS.maxUrlLength - 7)}`;
    expect(path.length).toBe(LIMITS.maxUrlLength);
    const r = await sendRaw(server().port, get(path, ['Connection: close']));
    expectOk(r, 'hello\n');
  });

  it('refuses a request-target one byte over maxUrlLength with 414 ERR_URL_TOO_LONG', async () => {
    const path = `/hello?${'u'.repeat(LIMITS.maxUrlLength - 6)}`;
    const r = await sendRaw(server().port, get(path));
    expectRefusal(r, 414, 'ERR_URL_TOO_LONG');
  });

  it.each([3 * KiB, 10 * KiB, 64 * KiB])(
    'refuses a %i-byte request-target, longer than all of maxHeaderSize, with 414 and not 431 (RFC 9112 §3)',
    async (length) => {
      const r = await sendRaw(server().port, get(`/${'u'.repeat(length - 1)}`));
      expectRefusal(r, 414, 'ERR_URL_TOO_LONG');
    },
  );
});

describe('the Host field (RFC 9112 §3.2)', () => {
  const { ts: server } = useServer({ ...LIMITS });

  it.each([
    ['no Host at all', get('/hello', [], '1.1', '')],
    ['two Host fields', get('/hello', [], '1.1', `${H}${H}`)],
    ['Host "a b"', get('/hello', [], '1.1', 'Host: a b\r\n')],
    ['Host "exa mple.com"', get('/hello', [], '1.1', 'Host: exa mple.com\r\n')],
    ['Host "host:port:extra"', get('/hello', [], '1.1', 'Host: host:80:extra\r\n')],
    ['Host "[::1"', get('/hello', [], '1.1', 'Host: [::1\r\n')],
    ['Host "x@y"', get('/hello', [], '1.1', 'Host: x@y\r\n')],
    ['Host "example.com/path"', get('/hello', [], '1.1', 'Host: example.com/path\r\n')],
    ['Host "example.com:port"', get('/hello', [], '1.1', 'Host: example.com:port\r\n')],
  ])('refuses an HTTP/1.1 request with %s: 400 ERR_INVALID_HOST', async (_what, bytes) => {
    const r = await sendRaw(server().port, bytes);
    expectRefusal(r, 400, 'ERR_INVALID_HOST');
  });

  it.each(['example.com', 'example.com:8080', '127.0.0.1', '127.0.0.1:1', '[::1]', '[::1]:8080', 'xn--bcher-kva.example'])(
    'answers an HTTP/1.1 request with Host %s',
    async (host) => {
      const r = await sendRaw(server().port, get('/hello', ['Connection: close'], '1.1', `Host: ${host}\r\n`));
      expectOk(r, 'hello\n');
    },
  );

  it('answers an HTTP/1.0 request that has no Host', async () => {
    const r = await sendRaw(server().port, get('/hello', [], '1.0', ''));
    expectOk(r, 'hello\n');
  });
});

describe('the body', () => {
  const { ts: server, track } = useServer({ ...LIMITS });

  it('takes a body of exactly maxBodySize and the app hashes all of it', async () => {
    const body = bodyBytes(7, LIMITS.maxBodySize);
    const res = await requestOnce(server().port, { method: 'POST', path: '/upload', body });
    expect(res.status).toBe(200);
    expect(JSON.parse(text(res))).toEqual({ bytes: body.length, sha256: bodySha256(7, body.length) });
  });

  it('takes a chunked body of exactly maxBodySize', async () => {
    const res = await requestOnce(server().port, { method: 'POST', path: '/upload', chunks: [...bodyChunks(8, LIMITS.maxBodySize, 4 * KiB)] });
    expect(res.status).toBe(200);
    expect(JSON.parse(text(res))).toEqual({ bytes: LIMITS.maxBodySize, sha256: bodySha256(8, LIMITS.maxBodySize) });
  });

  it('refuses a Content-Length over maxBodySize with 413 ERR_BODY_TOO_LARGE before any body byte is sent', async () => {
    const before = (await counts(server()))['UPLOAD_BYTES_READ']!;
    // Only the head goes out: an answer can only come from the declared length.
    const head = `POST /upload HTTP/1.1\r\n${H}Content-Length: ${LIMITS.maxBodySize + 1}\r\n\r\n`;
    const r = await sendRaw(server().port, head);
    expectRefusal(r, 413, 'ERR_BODY_TOO_LARGE');
    await waitForIdlePool(server());
    expect((await counts(server()))['UPLOAD_BYTES_READ']).toBe(before);
  });

  it('refuses a chunked body that grows past maxBodySize with 413 (or a cut), and the app sees at most maxBodySize bytes', async () => {
    const before = (await counts(server()))['UPLOAD_BYTES_READ']!;
    const conn = track(await RawConnection.open(server().port, { keepRaw: true }));
    conn.send(`POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`);
    conn.expect('POST');
    // 1 MiB offered, 16 times the limit, in 4 KiB chunks; the client stops once an answer or the close arrives.
    await streamPieces(conn, chunkFrames(bodyChunks(9, 1024 * KiB, 4 * KiB)), () => conn.received > 0);
    expect(await closesWithin(conn, 5000)).toBe(true);
    const res = conn.responses[0];
    if (res !== undefined) {
      // An answer that had begun would be cut instead; this app answers only after the whole body, so it is a 413.
      expect(res.status, res.head).toBe(413);
      expect(errorCode(res)).toBe('ERR_BODY_TOO_LARGE');
    }
    await waitForIdlePool(server());
    const seen = (await counts(server()))['UPLOAD_BYTES_READ']! - before;
    expect(seen).toBeLessThanOrEqual(LIMITS.maxBodySize);
  });

  it('refuses a Content-Length body that is sent anyway past maxBodySize, and the app sees none of it', async () => {
    const before = (await counts(server()))['UPLOAD_BYTES_READ']!;
    const conn = track(await RawConnection.open(server().port, { keepRaw: true }));
    conn.send(`POST /upload HTTP/1.1\r\n${H}Content-Length: ${256 * KiB}\r\n\r\n`);
    conn.expect('POST');
    await streamPieces(conn, bodyChunks(10, 256 * KiB, 16 * KiB), () => conn.received > 0);
    expect(await closesWithin(conn, 5000)).toBe(true);
    const res = conn.responses[0];
    expect(res?.status).toBe(413);
    expect(errorCode(res!)).toBe('ERR_BODY_TOO_LARGE');
    await waitForIdlePool(server());
    expect((await counts(server()))['UPLOAD_BYTES_READ']).toBe(before);
  });

  itReturnsEverySlab(server);
});

describe('a client that leaves in the middle of its body', () => {
  const { ts: server, track } = useServer({ ...LIMITS });

  it.each([
    ['a Content-Length body', `Content-Length: ${60 * KiB}\r\n`, bodyBytes(13, 8 * KiB)],
    ['a chunked body', 'Transfer-Encoding: chunked\r\n', Buffer.concat([...chunkFrames(bodyChunks(13, 8 * KiB, 1 * KiB))])],
  ])('is forgotten when it leaves during %s: its request.signal aborts in the app and nothing stays in flight', async (_what, framing, part) => {
    const ts = server();
    const aborted = ts.control.count('SIGNALS_ABORTED');
    const read = ts.control.count('UPLOAD_BYTES_READ');
    const conn = track(await RawConnection.open(ts.port));
    conn.send(`POST /upload HTTP/1.1\r\n${H}${framing}\r\n`);
    conn.send(part);
    // The app is reading the body: the request is well under way when the client goes.
    await waitFor(() => ts.control.count('UPLOAD_BYTES_READ') - read, (n) => n >= 1024, { timeoutMs: 5000, what: 'the app reading the body' });
    conn.destroy();
    await waitFor(() => ts.control.count('SIGNALS_ABORTED') - aborted, (n) => n >= 1, { timeoutMs: 5000, what: 'request.signal to abort' });
    await waitForIdlePool(ts, 5000);
  });
});

describe('Expect (RFC 9110 §10.1.1)', () => {
  const { ts: server, track } = useServer({ ...LIMITS });

  it('sends 100 Continue for an acceptable body, then takes the body the client sends after it', async () => {
    const conn = track(await RawConnection.open(server().port, { keepRaw: true }));
    const body = bodyBytes(11, 10 * KiB);
    conn.expect('POST');
    conn.send(`POST /upload HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`);
    const continued = await untilBytes(conn, (raw) => raw.includes('HTTP/1.1 100 Continue\r\n\r\n'));
    expect(continued, conn.rawBytes().toString('latin1')).toBe(true);
    // Nothing final yet: the app cannot answer a body it has not seen.
    expect(conn.responses).toHaveLength(0);
    conn.send(body);
    const res = await conn.nextResponse();
    expect(res?.status).toBe(200);
    expect(JSON.parse(text(res!))).toEqual({ bytes: body.length, sha256: bodySha256(11, body.length) });
  });

  it('answers 413 ERR_BODY_TOO_LARGE instead of 100 Continue when the declared length is over maxBodySize', async () => {
    const r = await sendRaw(server().port, `POST /upload HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: ${LIMITS.maxBodySize + 1}\r\n\r\n`);
    expect(r.raw.includes('100 Continue'), summarize(r)).toBe(false);
    expectRefusal(r, 413, 'ERR_BODY_TOO_LARGE');
  });

  it('answers 417 ERR_EXPECTATION_FAILED for any other expectation', async () => {
    const r = await sendRaw(server().port, `POST /upload HTTP/1.1\r\n${H}Expect: 200-ok\r\nContent-Length: 5\r\n\r\n`);
    expect(r.raw.includes('100 Continue'), summarize(r)).toBe(false);
    expect(r.responses.length, summarize(r)).toBe(1);
    expect(r.responses[0]!.status).toBe(417);
    expect(errorCode(r.responses[0]!)).toBe('ERR_EXPECTATION_FAILED');
  });

  itReturnsEverySlab(server);
});

describe('pipelining', () => {
  const { ts: server } = useServer({ ...LIMITS });

  it('answers a malformed third request with 400 only after the responses to the two before it, in order, then closes', async () => {
    // /slow takes ~200 ms, so an early error answer would overtake both responses.
    const bytes = get('/slow?ms=200') + get('/hello') + `GET /x HTTP/1.1\r\n${H}Bad Header\r\n\r\n`;
    const r = await sendRaw(server().port, bytes, { boundMs: 4000 });
    const why = summarize(r);
    expect(r.responses.map((res) => res.status), why).toEqual([200, 200, 400]);
    expect(text(r.responses[0]!)).toBe('slow\n');
    expect(text(r.responses[1]!)).toBe('hello\n');
    expect(errorCode(r.responses[2]!)).toBe('ERR_BAD_REQUEST');
    expect(saysClose(r.responses[2]!)).toBe(true);
    expect(r.fin, why).toBe(true);
  });

  it('answers a third request with a bad Host with 400 ERR_INVALID_HOST after the two before it, in order', async () => {
    const bytes = get('/slow?ms=200') + get('/hello') + get('/hello', [], '1.1', 'Host: a b\r\n');
    const r = await sendRaw(server().port, bytes, { boundMs: 4000 });
    const why = summarize(r);
    expect(r.responses.map((res) => res.status), why).toEqual([200, 200, 400]);
    expect(text(r.responses[0]!)).toBe('slow\n');
    expect(errorCode(r.responses[2]!)).toBe('ERR_INVALID_HOST');
    expect(r.fin, why).toBe(true);
  });

  it('answers a request-smuggling attempt behind a valid request once, after that request', async () => {
    const smuggle = `POST /upload HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${get('/hello')}`;
    const r = await sendRaw(server().port, get('/slow?ms=100') + smuggle, { boundMs: 4000 });
    const why = summarize(r);
    expect(r.responses.map((res) => res.status), why).toEqual([200, 400]);
    expect(r.statusLines, why).toBe(2);
    expect(errorCode(r.responses[1]!)).toBe('ERR_BAD_REQUEST');
  });

  itReturnsEverySlab(server);
});

describe('pipelined requests whose client goes away', () => {
  const { ts: server, track } = useServer({ ...LIMITS });
  const slow = get('/slow?ms=300');

  it('forgets the requests still queued behind a slow one when the client disconnects', async () => {
    const ts = server();
    const seen = ts.control.count('REQUESTS');
    const conn = track(await RawConnection.open(ts.port));
    conn.send(slow + slow + get('/hello'));
    await waitFor(() => ts.control.count('REQUESTS') - seen, (n) => n >= 1, { what: 'the first request to reach the app' });
    conn.destroy();
    const stats = await waitForIdlePool(ts, 5000);
    expect(stats.slabs.free).toBe(stats.slabs.total);
  });

  it('forgets pipelined requests when the client half-closes right after sending them', async () => {
    const ts = server();
    const r = await sendRaw(ts.port, slow + get('/hello'), { halfClose: true, boundMs: 2000 });
    // node (httpAllowHalfOpen false) may answer or abort them; either way nothing of theirs may stay behind.
    expect(r.responses.every((res) => res.status === 200), summarize(r)).toBe(true);
    const stats = await waitForIdlePool(ts, 5000);
    expect(stats.slabs.free).toBe(stats.slabs.total);
  });
});

describe('time limits', () => {
  const { ts: server, track } = useServer({ ...LIMITS });

  it('answers 408 ERR_REQUEST_TIMEOUT and closes when a head trickles in one byte per 100 ms past headersTimeout', async () => {
    const trickle = Array.from({ length: 60 }, () => 'a');
    const r = await sendRaw(server().port, [`GET /hello HTTP/1.1\r\n${H}X-Slow: `, ...trickle], { gapMs: 100, boundMs: 4000 });
    expectRefusal(r, 408, 'ERR_REQUEST_TIMEOUT');
    expect(r.ms).toBeGreaterThanOrEqual(LIMITS.headersTimeout - 50);
    expect(r.ms).toBeLessThan(LIMITS.headersTimeout + 2000);
  });

  it('answers 408 ERR_REQUEST_TIMEOUT and closes when a body trickles in past requestTimeout', async () => {
    const trickle = Array.from({ length: 100 }, () => 'b');
    const head = `POST /upload HTTP/1.1\r\n${H}Content-Length: ${trickle.length}\r\n\r\n`;
    const r = await sendRaw(server().port, [head, ...trickle], { gapMs: 100, boundMs: 5000 });
    expectRefusal(r, 408, 'ERR_REQUEST_TIMEOUT');
    expect(r.ms).toBeGreaterThanOrEqual(LIMITS.requestTimeout - 50);
    expect(r.ms).toBeLessThan(LIMITS.requestTimeout + 2500);
    await waitForIdlePool(server());
  });

  it('closes an idle keep-alive connection after keepAliveTimeout', async () => {
    const conn = track(await RawConnection.open(server().port));
    const res = await conn.request({ path: '/hello' });
    expect(res.status).toBe(200);
    expect(saysClose(res)).toBe(false);
    const idleFrom = performance.now();
    expect(await closesWithin(conn, LIMITS.keepAliveTimeout + 3000)).toBe(true);
    expect(performance.now() - idleFrom).toBeGreaterThanOrEqual(LIMITS.keepAliveTimeout - 50);
    expect(conn.error).toBeNull();
  });

  it('keeps a connection open while requests come within keepAliveTimeout of each other', async () => {
    const conn = track(await RawConnection.open(server().port));
    for (let i = 0; i < 4; i++) {
      const res = await conn.request({ path: '/hello' });
      expect(res.status).toBe(200);
      // Pacing the client (not ordering threads): half the keep-alive time between requests.
      await new Promise((resolve) => setTimeout(resolve, LIMITS.keepAliveTimeout / 2));
    }
    expect(conn.isClosed).toBe(false);
  });

  itReturnsEverySlab(server);
});

describe('with sendTimeout 500 ms', () => {
  const { ts: server, track } = useServer({ sendTimeout: 500 });

  it('cuts off a client that stops reading a long response, after sendTimeout, and takes its slabs back', async () => {
    const ts = server();
    const conn = track(await RawConnection.open(ts.port, { stalled: true, collect: false }));
    const started = performance.now();
    conn.write({ path: `/big?size=${64 * 1024 * KiB}` });
    await waitFor(() => ts.stats().errors['ERR_SEND_TIMEOUT'] ?? 0, (n) => n >= 1, { timeoutMs: 10_000, what: 'the send timeout' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(500);
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(stats.slabs.total);
    // What the client gets once it reads again is a cut response, never one that looks whole.
    conn.resume();
    expect(await closesWithin(conn, 10_000)).toBe(true);
    const res = conn.responses[0];
    if (res !== undefined) expect(res.complete).toBe(false);
  });
});

describe('with maxRequestsPerSocket 3', () => {
  const { ts: server, track } = useServer({ maxRequestsPerSocket: 3 });

  it('serves three requests on one connection and says Connection: close on the third', async () => {
    const conn = track(await RawConnection.open(server().port));
    const first = await conn.request({ path: '/hello' });
    const second = await conn.request({ path: '/hello' });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(saysClose(first) || saysClose(second)).toBe(false);
    const third = await conn.request({ path: '/hello' });
    expect(third.status).toBe(200);
    expect(saysClose(third)).toBe(true);
  });

  it('never lets the app see a fourth request on the connection: node answers it 503 itself', async () => {
    await waitForIdlePool(server());
    const before = server().control.count('REQUESTS');
    const bytes = get('/hello') + get('/hello') + get('/hello') + get('/hello');
    // node's semantics: the connection is not closed after the limit, so read until the fourth answer.
    const r = await sendRaw(server().port, bytes, { boundMs: 3000, until: (raw) => (raw.toString('latin1').match(/HTTP\/1\.1 \d{3}/g)?.length ?? 0) >= 4 });
    const statuses = r.responses.map((res) => res.status);
    expect(statuses, summarize(r)).toEqual([200, 200, 200, 503]);
    expect(saysClose(r.responses[2]!)).toBe(true);
    await waitForIdlePool(server());
    expect(server().control.count('REQUESTS') - before).toBe(3);
  });
});

describe('with maxConnections 5', () => {
  const { ts: server, track } = useServer({ maxConnections: 5 });

  it('closes a sixth connection unanswered while five are open, and takes a new one once one of them closes', async () => {
    const open: RawConnection[] = [];
    for (let i = 0; i < 5; i++) {
      const conn = track(await RawConnection.open(server().port));
      // An answer proves the server counts this connection as open.
      expect((await conn.request({ path: '/hello' })).status).toBe(200);
      open.push(conn);
    }
    const sixth = await sendRaw(server().port, get('/hello'), { boundMs: 2000 });
    expect(sixth.closed, summarize(sixth)).toBe(true);
    expect(sixth.responses.filter((res) => res.status === 200), summarize(sixth)).toHaveLength(0);
    expect(open.every((c) => !c.isClosed)).toBe(true);

    open.pop()!.destroy();
    // The server notices the close on its own schedule: poll for a connection that gets served.
    await waitFor(
      () => sendRaw(server().port, get('/hello', ['Connection: close']), { boundMs: 1000 }),
      (r) => r.responses[0]?.status === 200,
      { timeoutMs: 5000, intervalMs: 50, what: 'a connection accepted after one of the five closed' },
    );
  });
});

describe('with maxBodySize 0 (no limit)', () => {
  const { ts: server, track } = useServer({ maxBodySize: 0 });

  it('sends 100 Continue for a declared length over the 100 MiB default', async () => {
    const conn = track(await RawConnection.open(server().port, { keepRaw: true }));
    conn.send(`POST /upload HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: ${100 * 1024 * KiB + 1}\r\n\r\n`);
    const continued = await untilBytes(conn, (raw) => raw.includes('HTTP/1.1 100 Continue\r\n\r\n'));
    expect(continued, conn.rawBytes().toString('latin1')).toBe(true);
    expect(conn.responses).toHaveLength(0);
  });

  it('takes a chunked body larger than the limits above, and hashes it whole', async () => {
    const size = 1024 * KiB;
    const res = await requestOnce(server().port, { method: 'POST', path: '/upload', chunks: [...bodyChunks(12, size, 32 * KiB)] });
    expect(res.status).toBe(200);
    expect(header(res, 'slabserve-error')).toBeUndefined();
    expect(JSON.parse(text(res))).toEqual({ bytes: size, sha256: bodySha256(12, size) });
  });
});

describe('with the default maxBodySize', () => {
  const { ts: server } = useServer({});

  it('refuses a declared length one byte over 100 MiB with 413, before 100 Continue', async () => {
    const r = await sendRaw(server().port, `POST /upload HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: ${100 * 1024 * KiB + 1}\r\n\r\n`);
    expect(r.raw.includes('100 Continue'), summarize(r)).toBe(false);
    expectRefusal(r, 413, 'ERR_BODY_TOO_LARGE');
  });
});
