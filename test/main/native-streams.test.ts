// Node streams piped into the native response (a stream.Writable): files, zlib, React server rendering, backpressure
// from a client that stops reading, and sources that fail midway.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToPipeableStream } from 'react-dom/server';
import { header, text } from '../helpers/raw-http.js';
import { bodySha256, sha256 } from '../helpers/bodies.js';
import { useHarness, waitFor, waitForIdlePool, waitForStable } from '../helpers/server.js';

interface ReactPageModule {
  Page(props: { rows: number; late: Promise<string> }): unknown;
  later(text: string): Promise<string>;
}
const page = (await import(new URL('../fixtures/apps/react-page.mjs', import.meta.url).href)) as ReactPageModule;

const dir = mkdtempSync(join(tmpdir(), 'slabserve-streams-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What renderToPipeableStream writes for the fixture page, rendered here the same way. */
function renderHere(rows: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sink = new PassThrough();
    const parts: Buffer[] = [];
    sink.on('data', (chunk: Buffer) => parts.push(chunk));
    sink.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    const stream = renderToPipeableStream(
      createElement(page.Page as never, { rows, late: page.later('arrived later') }),
      { onShellReady: () => stream.pipe(sink), onShellError: reject },
    );
  });
}

describe('Node streams piped into the native response', () => {
  const h = useHarness();

  it('sends a file through pipeline(fs.createReadStream(path), response) byte-exact', async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 123);
    const path = join(dir, 'file.bin');
    writeFileSync(path, bytes);
    const ts = await h.start('stream-app', { slabCount: 64 });
    const conn = await h.connect(ts);
    for (let i = 0; i < 3; i++) {
      const res = await conn.request({ path: `/file?path=${encodeURIComponent(path)}` });
      expect(res.status).toBe(200);
      expect(res.complete).toBe(true);
      expect(res.body.length).toBe(bytes.length);
      expect(res.sha256).toBe(sha256(bytes));
    }
    const idle = await waitForIdlePool(ts);
    expect(idle.refusedTransitions).toBe(0);
    expect(ts.control.count('PIPELINE_ERRORS')).toBe(0);
  });

  it('round-trips a body through zlib gzip, chunked', async () => {
    const ts = await h.start('stream-app');
    const conn = await h.connect(ts);
    const size = 3 * 1024 * 1024 + 7;
    const res = await conn.request({ path: `/gzip?seed=21&size=${size}` });
    expect(res.status).toBe(200);
    expect(header(res, 'content-encoding')).toBe('gzip');
    expect(res.framing).toBe('chunked');
    expect(res.complete).toBe(true);
    const plain = gunzipSync(res.body);
    expect(plain.length).toBe(size);
    expect(sha256(plain)).toBe(bodySha256(21, size));
  });

  it('serves React renderToPipeableStream piped from onShellReady, after the handler returned', async () => {
    const ts = await h.start('stream-app');
    const conn = await h.connect(ts);
    const expected = await renderHere(500);
    expect(expected).toContain('arrived later');
    for (let i = 0; i < 3; i++) {
      const res = await conn.request({ path: '/react?rows=500' });
      expect(res.status).toBe(200);
      expect(header(res, 'content-type')).toBe('text/html; charset=utf-8');
      expect(res.complete).toBe(true);
      expect(text(res)).toBe(expected);
    }
  });

  it('pauses a source piped to a client that stops reading: the response holds at most its window', async () => {
    const window = 4;
    const slabSize = 16 * 1024;
    const ts = await h.start('stream-app', { threads: 1, slabSize, slabCount: 64, window });
    // Far more than the kernel buffers a stalled socket absorbs (a few MiB on loopback).
    const size = 64 * 1024 * 1024;
    const conn = await h.connect(ts, { stalled: true, collect: false });
    const download = conn.exchange({ path: `/source?seed=31&size=${size}` });
    const settled = await waitForStable(
      () => {
        const s = ts.stats();
        return { produced: ts.control.count('BYTES_PRODUCED'), free: s.slabs.free, written: s.bytesWritten };
      },
      { stableMs: 400, timeoutMs: 30_000, what: 'the stalled download to settle' },
    );
    // The source stopped: it made what the socket took plus the window, not the body.
    expect(ts.control.count('SOURCE_PAUSES')).toBeGreaterThan(0);
    expect(settled.produced).toBeLessThan(size / 4);
    expect(settled.produced - settled.written).toBeLessThanOrEqual((window + 2) * slabSize);
    expect(64 - settled.free).toBeLessThanOrEqual(window);
    // Reading again drains it, resumes the source, and the whole body arrives byte-exact.
    conn.resume();
    const res = await download;
    expect(res?.complete).toBe(true);
    expect(res?.sha256).toBe(bodySha256(31, size));
    expect(ts.control.count('DRAINS')).toBeGreaterThan(0);
    expect(ts.control.count('PIPELINE_ERRORS')).toBe(0);
    const idle = await waitForIdlePool(ts);
    expect(idle.refusedTransitions).toBe(0);
  }, 60_000);

  it('stops the source when the client goes away, and tells pipeline() why', async () => {
    const ts = await h.start('stream-app', { threads: 1, slabCount: 64, window: 4 });
    const conn = await h.connect(ts, { stalled: true, collect: false });
    conn.write({ path: `/source?seed=32&size=${256 * 1024 * 1024}` });
    await waitFor(() => ts.control.count('SOURCE_PAUSES'), (n) => n > 0, { what: 'the source to pause' });
    conn.destroy();
    await waitFor(() => ts.control.count('PIPELINE_ERRORS'), (n) => n === 1, { what: 'the pipeline to fail' });
    expect(ts.control.count('LAST_ERROR_CODE')).toBe(1); // ERR_REQUEST_ABORTED
    const idle = await waitForIdlePool(ts);
    expect(idle.refusedTransitions).toBe(0);
  });

  // The cut may come before main has handed the head to the kernel, so the client may see no response at all: either
  // way, never a whole one.
  it('cuts the connection when the source fails midway: a Content-Length body stays short', async () => {
    const ts = await h.start('stream-app');
    const conn = await h.connect(ts, { collect: false });
    const res = await conn.exchange({ path: '/fail?size=1048576&at=300000' });
    if (res !== null) {
      expect(res.status).toBe(200);
      expect(res.complete).toBe(false);
      expect(res.cut).toBe(true);
      expect(res.bodyLength).toBeLessThan(1048576);
    }
    await conn.closed;
    await waitFor(() => ts.control.count('PIPELINE_ERRORS'), (n) => n === 1, { what: 'the pipeline callback' });
    expect(ts.control.count('LAST_ERROR_CODE')).toBe(3); // the source's own error
    await waitForIdlePool(ts);
  });

  it('cuts the connection when the source fails midway: a chunked body never gets its terminator', async () => {
    const ts = await h.start('stream-app');
    const conn = await h.connect(ts, { collect: false });
    const res = await conn.exchange({ path: '/fail?size=1048576&at=300000&chunked' });
    if (res !== null) {
      expect(res.framing).toBe('chunked');
      expect(res.complete).toBe(false);
      expect(res.terminated).toBe(false);
    }
    await conn.closed;
    await waitFor(() => ts.control.count('PIPELINE_ERRORS'), (n) => n === 1, { what: 'the pipeline callback' });
    await waitForIdlePool(ts);
  });

  it('sends 10,000 one-byte writes as one body, byte-exact', async () => {
    const ts = await h.start('stream-app');
    const conn = await h.connect(ts);
    const res = await conn.request({ path: '/bytes?n=10000' });
    expect(res.complete).toBe(true);
    expect(text(res)).toBe('x'.repeat(10000));
  });
});
