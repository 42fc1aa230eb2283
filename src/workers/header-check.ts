// Checks app-supplied response headers before they reach the wire (worker thread).
//
// A header name must be a token and a value may hold no CR, LF or NUL (RFC 9110 §5.1, §5.5); anything else could
// split the response. node:http checks the same on main, but refusing here gives the app a coded error at the call.

import { SlabserveError } from '../errors.js';

/** Headers as apps give them: a plain object (arrays for repeated names), name/value pairs, or web Headers. */
export type HeaderInput =
  | Record<string, string | number | readonly string[] | undefined>
  | Iterable<readonly [string, string]>;

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

/** Flattens and checks headers into [name, value, name, value, ...]. */
export function checkHeaders(headers: HeaderInput | undefined): string[] {
  const out: string[] = [];
  if (headers === undefined) return out;
  if (Symbol.iterator in headers) {
    for (const [name, value] of headers as Iterable<readonly [string, string]>) check(String(name), String(value), out);
    return out;
  }
  for (const name of Object.keys(headers)) {
    const value = (headers as Record<string, unknown>)[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) check(name, String(v), out);
    else check(name, String(value), out);
  }
  return out;
}
