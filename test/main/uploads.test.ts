// Request bodies stream from the socket through upload slabs to the app intact, within the request's window
// (end to end).
//
// The app hashes what it reads and answers with the length and sha256, which the test compares with the digest of
// the same generated body. A gated app that does not read at all shows the window at work: main stops reading the
// socket, so the client's writes back up, until the app reads again.

import { describe, expect, it } from 'vitest';
import { bodyBytes, bodyChunks, bodySha256, sha256 } from '../helpers/bodies.js';
import { Prng } from '../helpers/prng.js';
import { streamRequest, text, type RawResponse } from '../helpers/raw-http.js';
import { useHarness, waitFor, waitForIdlePool, waitForStable } from '../helpers/server.js';

const MiB = 1024 * 1024;

/** The app's answer: what it read. */
function digestOf(res: RawResponse): { length: number; sha256: string } {
  expect(res.status).toBe(200);
  return JSON.parse(text(res)) as { length: number; sha256: string };
}

/** Cuts body `seed` of `size` bytes into seeded irregular chunks (1 byte to 100 KiB). */
function* irregularChunks(seed: number, size: number): Generator<Buffer> {
  const prng = new Prng(seed);
  const body = bodyBytes(seed, size);
  for (let at = 0; at < size; ) {
    const n = Math.min(size - at, prng.chance(0.2) ? prng.int(1, 64) : prng.int(1, 100 * 1024));
    yield body.subarray(at, at + n);
    at += n;
  }
}

describe('uploads', () => {
  const h = useHarness();

  it('delivers Content-Length uploads of 1 byte to 5 MB to the app intact', async () => {
    const ts = await h.start('upload-app', { slabCount: 64, window: 4 });
    const sizes = [1, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 3 * MiB + 7, 5 * MiB];
    const conn = await h.connect(ts);
    // One keep-alive connection, one upload after another.
    for (const [i, size] of sizes.entries()) {
      const upload = streamRequest(conn, { path: '/upload' }, bodyChunks(10 + i, size), size);
      const res = await conn.nextResponse();
      await upload.done;
      expect(digestOf(res!)).toEqual({ length: size, sha256: bodySha256(10 + i, size) });
    }
    const stats = await waitForIdlePool(ts);
    expect(stats.refusedTransitions).toBe(0);
  }, 60_000);

  it('delivers chunked uploads in irregular chunks to the app intact', async () => {
    const ts = await h.start('upload-app', { slabCount: 64, window: 4 });
    const prng = new Prng(77);
    const sizes = [1, 100_000, prng.int(2 * MiB, 6 * MiB)];
    const results = await Promise.all(
      sizes.map(async (size, i) => {
        const conn = await h.connect(ts);
        const upload = streamRequest(conn, { path: '/upload' }, irregularChunks(20 + i, size));
        const res = await conn.nextResponse();
        await upload.done;
        return { size, seed: 20 + i, got: digestOf(res!) };
      }),
    );
    for (const r of results) expect(r.got).toEqual({ length: r.size, sha256: bodySha256(r.seed, r.size) });
    expect((await waitForIdlePool(ts)).refusedTransitions).toBe(0);
  }, 60_000);

  it('delivers an upload to request.arrayBuffer() intact', async () => {
    const ts = await h.start('upload-app');
    const size = 2 * MiB + 3;
    const conn = await h.connect(ts);
    const upload = streamRequest(conn, { path: '/upload?mode=arrayBuffer' }, bodyChunks(30, size), size);
    const res = await conn.nextResponse();
    await upload.done;
    expect(digestOf(res!)).toEqual({ length: size, sha256: bodySha256(30, size) });
  });

  it('answers an app that ignores the body, then serves the next request on the same connection', async () => {
    const ts = await h.start('upload-app', { slabCount: 16, window: 2 });
    const conn = await h.connect(ts);
    const size = 3 * MiB;
    const upload = streamRequest(conn, { path: '/ignore-body' }, bodyChunks(40, size), size);
    const first = await conn.nextResponse();
    expect(first?.status).toBe(200);
    expect(text(first!)).toBe('ignored\n');
    await upload.done;
    const second = await conn.request({ method: 'POST', path: '/upload', body: 'after' });
    expect(digestOf(second)).toEqual({ length: 5, sha256: sha256('after') });
    expect((await waitForIdlePool(ts)).slabs.free).toBe(16);
  });

  it('stops reading the socket while the app does not read, and completes the upload once it does', async () => {
    const window = 2;
    const slabCount = 32;
    const ts = await h.start('upload-app', { slabSize: 16 * 1024, slabCount, window });
    const size = 32 * MiB;
    const conn = await h.connect(ts);
    const upload = streamRequest(conn, { path: '/upload-gated' }, bodyChunks(50, size), size);
    // The app is parked on its gate before reading a byte.
    await waitFor(() => ts.control.count('PARKED'), (n) => n === 1, { what: 'the app to park on its gate' });
    // Let the stall settle: the kernel buffers on both sides fill, and then nothing moves.
    const stalled = await waitForStable(() => ({ accepted: upload.accepted(), free: ts.stats().slabs.free }), {
      stableMs: 400,
      what: 'the upload to stall',
    });
    // The client is backed up: its socket holds bytes the kernel will not take, and most of the body is unsent.
    expect(upload.backlog()).toBeGreaterThan(0);
    expect(stalled.accepted).toBeLessThan(size / 2);
    expect(upload.sent()).toBeLessThan(size / 2);
    // Main holds no more than the request's upload window; the app has read nothing.
    expect(slabCount - stalled.free).toBeLessThanOrEqual(window);
    expect(ts.control.count('UPLOAD_BYTES_READ')).toBe(0);

    ts.control.open('UPLOAD');
    const res = await conn.nextResponse();
    await upload.done;
    expect(digestOf(res!)).toEqual({ length: size, sha256: bodySha256(50, size) });
    expect(ts.control.count('UPLOAD_BYTES_READ')).toBe(size);
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(slabCount);
    expect(stats.refusedTransitions).toBe(0);
  }, 60_000);

  it('fails the app\'s body read, fires request.signal and frees every upload slab when the client leaves mid-upload', async () => {
    const slabCount = 32;
    const ts = await h.start('upload-app', { slabSize: 16 * 1024, slabCount, window: 2 });
    const conn = await h.connect(ts);
    const size = 16 * MiB;
    streamRequest(conn, { path: '/upload-partial?n=100000' }, bodyChunks(55, size), size);
    await waitFor(() => ts.control.count('PARKED'), (n) => n === 1, { what: 'the app to read 100,000 bytes and park' });
    conn.destroy();
    // Main is not reading the socket (the window is full), so it learns of the close only once the app reads on and
    // main resumes: what the client had sent still arrives, then the end of the stream, with the body incomplete.
    ts.control.open('STREAM');
    await waitFor(() => ts.control.count('UPLOAD_READ_FAILED'), (n) => n === 1, { what: 'the app\'s read to fail' });
    await waitFor(() => ts.control.count('SIGNALS_ABORTED'), (n) => n === 1, { what: 'request.signal to abort' });
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(slabCount);
    expect(stats.refusedTransitions).toBe(0);
    expect(ts.control.count('UPLOAD_BYTES_READ')).toBeLessThan(size);
  });

  it('frees every slab of an upload whose client stops sending once the app has answered', async () => {
    const ts = await h.start('upload-app', { slabCount: 16, window: 2 });
    const conn = await h.connect(ts);
    // A 1 MiB body is announced, 100 KiB of it sent, and then nothing more: the connection stays open.
    conn.parser.expect('POST');
    conn.send(`POST /ignore-body HTTP/1.1\r\nHost: uploads.test\r\nContent-Length: ${MiB}\r\n\r\n`);
    conn.send(Buffer.alloc(100 * 1024, 7));
    const res = await conn.nextResponse();
    expect(res?.status).toBe(200);
    expect(text(res!)).toBe('ignored\n');
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(16);
    expect(stats.refusedTransitions).toBe(0);
    expect(conn.isClosed).toBe(false);
  });

  it('cuts a client that stops sending mid-body at requestTimeout, though the response head went out, and frees everything', async () => {
    const ts = await h.start('upload-app', { slabCount: 16, window: 2, requestTimeout: 800, headersTimeout: 800 });
    const conn = await h.connect(ts);
    conn.parser.expect('POST');
    conn.send(`POST /echo HTTP/1.1\r\nHost: uploads.test\r\nContent-Length: ${MiB}\r\n\r\n`);
    conn.send(Buffer.alloc(50_000, 7));
    await waitFor(() => conn.received, (n) => n > 50_000, { what: 'the echo to start' });
    await conn.closed;
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(16);
    expect(stats.errors['ERR_REQUEST_TIMEOUT']).toBe(1);
  });
});

