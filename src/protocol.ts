// The protocol main and workers speak over the pool's queues: descriptor kinds and flags, queue numbering, and the
// head texts (both threads).
//
// Everything per request travels as descriptors through shared memory, never postMessage. Each worker thread has two
// queues: its inbox (main → worker: request heads, upload bytes, aborts) and its outbox (worker → main: response heads,
// body bytes, ends, errors and upload credit). Every outbox rings main's one doorbell; each inbox has its own.

import { ErrorCodes, type ErrorCode } from './errors.js';
import { Doorbell, G_MAIN_SLEEPING, G_MAIN_WAKE, type Descriptor, type PoolBuffers, type PoolMemory } from './pool/index.js';

/** Descriptor kinds (the low byte of D_KIND). What D_AUX and D_EXTRA mean is given for each. */
export const Kind = {
  // main → worker
  /** A request head, in the inbox's arena (no slab). aux: its arena position; length: its length. */
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
  /**
   * The response head, then the first body bytes, in the slab. aux: head bytes. extra: the Content-Length the head
   * declares, or -1 (the worker framed the response, so main need not read the head for it). FLAG_MORE: the head
   * continues in the next descriptor's slab.
   */
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

/** Request head flag: the request has a body (Content-Length above 0, or Transfer-Encoding). */
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

/** A descriptor with no slab: a control message (an end, an abort, an error, a ping) for request (slot, slotGen). */
export function control(slot: number, slotGen: number, kind: number, aux = 0): Descriptor {
  return { slot, slotGen, slab: -1, slabGen: 0, length: 0, kind, aux, extra: 0 };
}

/** Main's doorbell, which every outbox rings. */
export function mainDoorbell(memory: PoolMemory): Doorbell {
  return new Doorbell(memory.control, G_MAIN_SLEEPING, G_MAIN_WAKE);
}

// ---- head texts ----
//
// A head travels as one latin1 string of fields joined by LF: node:http gives header names and values as latin1
// strings (a byte per char), and its strict parser refuses LF inside a request line or a field; the worker refuses it
// in the app's headers. So LF can only ever be a separator, and each side writes or reads a whole head in one call.

/** The separator between head fields. */
export const FIELD_SEPARATOR = '\n';

/** Fields of a request head before the header pairs: method, target, version, remote address, flags. */
export const REQUEST_HEAD_FIXED = 5;

/** A request head: method, target, version, remote address, flags, then name/value pairs as they arrived. */
export function encodeRequestHead(
  method: string,
  url: string,
  version: string,
  remote: string,
  flags: number,
  rawHeaders: readonly string[],
): string {
  const fixed = `${method}\n${url}\n${version}\n${remote}\n${flags}`;
  return rawHeaders.length === 0 ? fixed : `${fixed}\n${rawHeaders.join('\n')}`;
}

/** A response head: the status, then name/value pairs (already checked: no LF in them). */
export function encodeResponseHead(fields: readonly string[]): string {
  return fields.join('\n');
}

/** The fields of a head text. */
export function decodeHead(text: string): string[] {
  return text.split('\n');
}

/** What main sends once per thread: the piscina task that runs the thread's serve loop. */
export interface ThreadTask {
  owner: number;
  buffers: PoolBuffers;
  appUrl: string;
}

/** How a loop task ends: null after STOP, or the coded error that kept it from starting. */
export type ThreadResult = { code: ErrorCode; message: string } | null;
