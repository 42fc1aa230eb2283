// The message shapes main and workers exchange: descriptor kinds, queue numbering and the head codec (both threads).
//
// Everything per request travels as descriptors over the pool's queues, never postMessage. Each thread has two
// queues: its inbox (main → worker: request heads, upload bytes, aborts) and its outbox (worker → main: response
// heads, body bytes, ends, errors and upload credit). A head is a list of latin1 strings packed into a slab.

import { SlabserveError, type ErrorCode, ErrorCodes } from './errors.js';
import type { PoolBuffers } from './pool/index.js';

/** Descriptor kinds (the low byte of D_KIND). */
export const Kind = {
  // main → worker
  /** A request head in the slab. aux: head bytes in this slab. Flag MORE: the head continues in the next slab. */
  REQUEST_HEAD: 1,
  /** Upload bytes in the slab. */
  REQUEST_BODY: 2,
  /** The upload is complete (no slab). */
  REQUEST_END: 3,
  /** The client went away, or the server gave up on the request (no slab). aux: an error code index. */
  REQUEST_ABORT: 4,
  /** The worker's loop should finish its requests and return (no slot, no slab). */
  STOP: 5,
  /** Answer PONG when the loop next runs: is this thread's event loop turning? (no slot, no slab) */
  PING: 6,

  // worker → main
  /** The response head, then the first body bytes, in the slab. aux: head bytes. MORE: head continues. */
  RESPONSE_HEAD: 16,
  /** Response body bytes in the slab. */
  RESPONSE_BODY: 17,
  /** The response is complete (no slab). */
  RESPONSE_END: 18,
  /** The app failed (no slab). aux: an error code index. */
  RESPONSE_ERROR: 19,
  /** The worker consumed upload slabs: main may read the socket again (no slab). */
  UPLOAD_CREDIT: 20,
  /** The thread loaded the app and its loop runs (no slot, no slab). aux: its threadId. */
  THREAD_READY: 21,
  /** The answer to PING (no slot, no slab). */
  PONG: 22,
} as const;

/** Flag bits above the kind byte. */
export const KIND_MASK = 0xff;
/** The response is complete after this descriptor's bytes. */
export const FLAG_END = 1 << 8;
/** The head continues in the next descriptor's slab. */
export const FLAG_MORE = 1 << 9;

/** Request head flags, carried as the head's string 4 (see encodeRequestHead). */
export const REQUEST_HAS_BODY = 1;

const CODE_LIST = Object.keys(ErrorCodes) as ErrorCode[];

/** Error codes cross threads as an index into the catalogue. */
export function codeIndex(code: ErrorCode): number {
  return CODE_LIST.indexOf(code);
}

export function codeAt(index: number): ErrorCode {
  return CODE_LIST[index] ?? 'ERR_APP_THREW';
}

/** Queue numbers: thread `owner` (1..threads) has inbox 2·(owner−1) and outbox 2·(owner−1)+1. */
export function inboxOf(owner: number): number {
  return 2 * (owner - 1);
}

export function outboxOf(owner: number): number {
  return 2 * (owner - 1) + 1;
}

// ---- head codec: [u32 count] then per string [u32 byteLength][latin1 bytes] ----

const U32 = 4;

/** Bytes `strings` take once encoded. Latin1: one byte per char, as node:http gives header strings. */
export function encodedSize(strings: readonly string[]): number {
  let size = U32;
  for (const s of strings) size += U32 + s.length;
  return size;
}

/** Writes `strings` into `target` at 0; the caller made sure encodedSize() fits. Returns bytes written. */
export function encodeStrings(target: Buffer, strings: readonly string[]): number {
  target.writeUInt32LE(strings.length, 0);
  let at = U32;
  for (const s of strings) {
    target.writeUInt32LE(s.length, at);
    at += U32;
    at += target.write(s, at, s.length, 'latin1');
  }
  return at;
}

/** Reads back what encodeStrings() wrote. Throws on a truncated or malformed head: a peer bug, never user input. */
export function decodeStrings(source: Buffer): string[] {
  if (source.length < U32) throw new SlabserveError('ERR_WRITER_STATE', 'truncated head');
  const count = source.readUInt32LE(0);
  const out = new Array<string>(count);
  let at = U32;
  for (let i = 0; i < count; i++) {
    const len = source.readUInt32LE(at);
    at += U32;
    if (at + len > source.length) throw new SlabserveError('ERR_WRITER_STATE', 'truncated head');
    out[i] = source.toString('latin1', at, at + len);
    at += len;
  }
  return out;
}

/**
 * A request head as strings: method, url, HTTP version, remote address, flags, then header name/value pairs in the
 * order they arrived (node:http's rawHeaders).
 */
export function requestHeadStrings(
  method: string,
  url: string,
  version: string,
  remote: string,
  flags: number,
  rawHeaders: readonly string[],
): string[] {
  return [method, url, version, remote, String(flags), ...rawHeaders];
}

export const REQUEST_HEAD_FIXED = 5;

/** A response head as strings: status, then header name/value pairs. */
export const RESPONSE_HEAD_FIXED = 1;

/** What main sends once per thread: the piscina task that runs the thread's serve loop. */
export interface ThreadTask {
  owner: number;
  buffers: PoolBuffers;
  appUrl: string;
}

/** How a loop task ends: null after STOP, or the coded error that kept it from starting. */
export type ThreadResult = { code: ErrorCode; message: string } | null;
