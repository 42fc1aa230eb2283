// Pumps a fetch-style web Response into slabs through the SlabWriter (worker thread).
//
// Web bodies are always streams, even for a string. To send a Content-Length when the body is short and fixed, the
// pump reads the first chunk, then gives the second read a few microtask turns: a body that is already complete (a
// string, bytes, JSON) ends within them, a live stream (server-sent events, a slow producer) does not, and goes out
// chunked without delay. Microtasks, not setImmediate: waiting a whole event-loop turn per response cost throughput.

import { SlabserveError } from '../errors.js';
import type { SlabWriter } from './slab-writer.js';

type Chunk = { done: true; value?: undefined } | { done: false; value: unknown };

const NOT_YET = Symbol('not-yet');

/** Enough microtask hops for a web stream over an in-memory source to report done (undici takes two or three). */
const SETTLE_HOPS = 8;

function afterMicrotasks(): Promise<typeof NOT_YET> {
  let p: Promise<typeof NOT_YET> = Promise.resolve(NOT_YET);
  for (let i = 1; i < SETTLE_HOPS; i++) p = p.then(() => NOT_YET);
  return p;
}

function bytesOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new SlabserveError('ERR_APP_RESPONSE', 'a body chunk is not bytes');
}

/** The response's headers as name/value pairs, with each Set-Cookie kept separate (fetch joins the others). */
function headerPairs(headers: Headers): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [name, value] of headers) if (name !== 'set-cookie') pairs.push([name, value]);
  for (const cookie of headers.getSetCookie()) pairs.push(['set-cookie', cookie]);
  return pairs;
}

function isResponse(value: unknown): value is Response {
  return (
    value instanceof Response ||
    (typeof value === 'object' && value !== null && 'status' in value && 'headers' in value && 'body' in value)
  );
}

/** Statuses whose responses never have a body (RFC 9110 §6.4.1). */
function forbidsBody(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

/**
 * Writes `response` through `writer`, ending it. Cancels the body stream if the request aborts or a write fails, so
 * the app's producer stops. Throws what failed; the caller turns that into writer.fail().
 */
export async function pumpResponse(response: unknown, writer: SlabWriter, signal: AbortSignal): Promise<void> {
  if (!isResponse(response)) throw new SlabserveError('ERR_APP_RESPONSE', `got ${typeof response}`);
  const pairs = headerPairs(response.headers);
  const body = response.body;
  if (body === null || forbidsBody(response.status)) {
    if (body !== null) await body.cancel().catch(() => {});
    const length = forbidsBody(response.status) || response.headers.has('content-length') ? [] : [['content-length', '0'] as [string, string]];
    writer.writeHead(response.status, [...pairs, ...length]);
    await writer.end();
    return;
  }
  const reader = body.getReader();
  const cancel = (): void => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener('abort', cancel, { once: true });
  // The request may have been aborted while the app was still computing its Response: 'abort' has fired already and
  // will not fire again, and a stream that waits for events would then never be cancelled (nor the request finish).
  if (signal.aborted) cancel();
  try {
    const first: Chunk = await reader.read();
    if (first.done) {
      if (!response.headers.has('content-length')) pairs.push(['content-length', '0']);
      writer.writeHead(response.status, pairs);
      await writer.end();
      return;
    }
    let next = reader.read();
    const settled = await Promise.race([next, afterMicrotasks()]);
    if (settled !== NOT_YET && settled.done) {
      const bytes = bytesOf(first.value);
      if (!response.headers.has('content-length')) pairs.push(['content-length', String(bytes.length)]);
      writer.writeHead(response.status, pairs);
      await writer.end(bytes);
      return;
    }
    writer.writeHead(response.status, pairs);
    if (writer.bodyless) {
      // A HEAD request: the head is all that goes out, so stop the producer instead of draining it.
      cancel();
      await writer.end();
      return;
    }
    await writer.write(bytesOf(first.value));
    for (;;) {
      const chunk: Chunk = await next;
      if (chunk.done) break;
      await writer.write(bytesOf(chunk.value));
      next = reader.read();
    }
    await writer.end();
  } catch (err) {
    cancel();
    throw err;
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}
