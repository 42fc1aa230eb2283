// Checks app-supplied response headers before they reach the wire (worker thread).
//
// A header name must be a token and a value may hold no CR, LF or NUL (RFC 9110 §5.1, §5.5); anything else could
// split the response. node:http checks the same on main, but refusing here gives the app a coded error at the call.

import { SlabserveError } from '../errors.js';

/** Headers as apps give them: a plain object (arrays for repeated names), name/value pairs, or web Headers. */
export type HeaderInput =
  | Record<string, string | number | readonly string[] | undefined>
  | Iterable<readonly [string, string]>
  | Iterable<readonly string[]>;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, space, tab and obs-text; never CR, LF, NUL or chars beyond latin1.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function check(name: string, value: string, out: string[]): void {
  if (!TOKEN.test(name)) throw new SlabserveError('ERR_INVALID_HEADER', `invalid header name ${JSON.stringify(name)}`);
  if (!FIELD_VALUE.test(value)) {
    throw new SlabserveError('ERR_INVALID_HEADER', `invalid value for header ${JSON.stringify(name)}`);
  }
  out.push(name, value);
}

/** Bits checkHeaders() returns: which framing headers the app set itself. */
export const HAS_CONTENT_LENGTH = 1;
export const HAS_CONTENT_TYPE = 2;

function framingBit(name: string): number {
  if (name.length === 14 && name.toLowerCase() === 'content-length') return HAS_CONTENT_LENGTH;
  if (name.length === 12 && name.toLowerCase() === 'content-type') return HAS_CONTENT_TYPE;
  return 0;
}

/**
 * Flattens and checks headers onto `out` as [name, value, name, value, ...]. Returns HAS_CONTENT_LENGTH and
 * HAS_CONTENT_TYPE bits for the framing headers among them.
 */
export function checkHeaders(headers: HeaderInput | undefined, out: string[]): number {
  let bits = 0;
  if (headers === undefined || headers === null) return bits;
  if (Symbol.iterator in headers) {
    for (const pair of headers as Iterable<readonly string[]>) {
      if (pair.length !== 2) throw new SlabserveError('ERR_INVALID_HEADER', `a header pair has ${pair.length} items`);
      const name = String(pair[0]);
      check(name, String(pair[1]), out);
      bits |= framingBit(name);
    }
    return bits;
  }
  for (const name of Object.keys(headers)) {
    const value = (headers as Record<string, unknown>)[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) check(name, String(v), out);
    else check(name, String(value), out);
    bits |= framingBit(name);
  }
  return bits;
}
