// Checks a parsed request against the limits node:http does not enforce itself, before it costs a slot (main thread).
//
// node's parser already refuses malformed syntax, CL+TE, bad chunk sizes and oversized heads. What it leaves to us:
// Host must be present once and valid (RFC 9112 §3.2; node checks presence only), a long request-target is a 414
// (RFC 9112 §3), not node's 431, the header count limit, and a declared body over maxBodySize (413 before reading).

import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../errors.js';
import type { ResolvedOptions } from './options.js';

// RFC 3986 §3.2.2 host (IP-literal / IPv4address / reg-name), then an optional port (§3.2.3).
const HOST = /^(?:\[[0-9A-Fa-f:.]+(?:%25[A-Za-z0-9\-._~%]+)?\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

function checkHost(req: IncomingMessage): boolean {
  const raw = req.rawHeaders;
  let host: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 4 || raw[i]!.toLowerCase() !== 'host') continue;
    if (host !== null) return false; // a second Host field (RFC 9112 §3.2: 400)
    host = raw[i + 1]!;
  }
  // HTTP/1.0 clients may omit Host; an HTTP/1.1 request without one gets 400 (RFC 9112 §3.2).
  if (host === null) return req.httpVersionMajor === 1 && req.httpVersionMinor === 0;
  return HOST.test(host);
}

/** Bytes the head took on the wire, near enough: request line plus each field line. */
function headBytes(req: IncomingMessage): number {
  let n = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 12;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) n += raw[i]!.length + raw[i + 1]!.length + 4;
  return n;
}

/** The first limit the request breaks, or null. Checked in the order a client would want to hear about them. */
export function checkRequest(req: IncomingMessage, o: ResolvedOptions): ErrorCode | null {
  if ((req.url?.length ?? 0) > o.maxUrlLength) return 'ERR_URL_TOO_LONG';
  if (req.rawHeaders.length / 2 > o.maxHeadersCount) return 'ERR_HEADERS_TOO_LARGE';
  // node's own limit is maxHeaderSize + maxUrlLength (so a long URL reaches the 414 above); the head itself is
  // held to maxHeaderSize here, URL excluded.
  if (headBytes(req) - (req.url?.length ?? 0) > o.maxHeaderSize) return 'ERR_HEADERS_TOO_LARGE';
  if (!checkHost(req)) return 'ERR_INVALID_HOST';
  if (o.maxBodySize > 0) {
    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) > o.maxBodySize) return 'ERR_BODY_TOO_LARGE';
  }
  return null;
}
