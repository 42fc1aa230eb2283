// Pumps a fetch-style Response into slabs through the SlabWriter (worker thread).
//
// Two ways in. A light Response (light-response.ts) whose body is a string or bytes goes out whole: head and body
// into one slab when they fit, with a Content-Length, no stream and no real Response. Anything else is read as the
// web stream it is. To send a Content-Length when such a body is short and fixed, the pump reads the first chunk,
// then gives the second read a few microtask turns: a body that is already complete (a Blob, a stream over bytes in
// hand) ends within them; a live stream (server-sent events, a slow producer) does not, and goes out chunked without
// delay. Microtasks, not setImmediate: waiting a whole event-loop turn per response cost throughput.

import { SlabserveError } from '../errors.js';
import type { LightRequest } from './light-request.js';
import { isLightResponse, toReal } from './light-response.js';
import type { SlabWriter } from './slab-writer.js';

type Chunk = { done: true; value?: undefined } | { done: false; value: unknown };

/** The request a response answers, as the pump needs it. */
export interface PumpTarget {
  writer: SlabWriter;
  request: LightRequest;
  /** Set while a body stream is read: the serve loop calls it when the request aborts. */
  onAbort: ((reason: unknown) => void) | null;
}

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
 * Writes `response` through the target's writer, ending it. Cancels the body stream if the request aborts or a write
 * fails, so the app's producer stops. Throws what failed; the caller turns that into writer.fail().
 */
export function pumpResponse(response: unknown, target: PumpTarget): void | Promise<void> {
  if (isLightResponse(response)) {
    const parts = response.lightParts();
    // No promise on this path when the writer answers at once: most responses of a fetch app end here.
    if (parts !== null) return target.writer.respond(parts.status, parts.headers, parts.body, parts.defaultType);
    response = response[toReal]();
  }
  return pumpStream(response, target);
}

/** A real Response (or a light one with a body of another kind): its body read as the web stream it is. */
async function pumpStream(response: unknown, target: PumpTarget): Promise<void> {
  const { writer } = target;
  if (!isResponse(response)) throw new SlabserveError('ERR_APP_RESPONSE', `got ${typeof response}`);
  const { status, headers } = response;
  const body = response.body;
  if (body === null || forbidsBody(status)) {
    if (body !== null) await body.cancel().catch(() => {});
    return writer.respond(status, headers, null, null);
  }
  const reader = body.getReader();
  const cancel = (reason?: unknown): void => void reader.cancel(reason).catch(() => {});
  target.onAbort = cancel;
  // The request may have been aborted while the app was still computing its Response: the abort has come and gone,
  // and a stream that waits for events would then never be cancelled (nor the request finish).
  if (target.request.wasAborted) cancel();
  try {
    const first: Chunk = await reader.read();
    if (first.done) return await writer.respond(status, headers, null, null);
    let next = reader.read();
    const settled = await Promise.race([next, afterMicrotasks()]);
    if (settled !== NOT_YET && settled.done) return await writer.respond(status, headers, bytesOf(first.value), null);
    writer.writeHead(status, headers);
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
    cancel(err);
    throw err;
  } finally {
    target.onAbort = null;
  }
}
