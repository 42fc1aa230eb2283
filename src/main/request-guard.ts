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
  // The app gets `http://<host><target>` as request.url: beyond plain names and ports, the host must also be one the
  // WHATWG URL parser takes (a bad %-escape, or ^ | \ and the like, pass RFC 3986 but not it).
  return PLAIN_HOST.test(host) || (HOST.test(host) && URL.canParse(`http://${host}/`));
}

/**
 * A host the URL parser always takes, with an optional port: dot-separated labels of letters, digits and hyphens whose
 * last label starts with a letter (one that ends in a number is parsed as IPv4, and may fail), or a dotted-decimal IPv4
 * address with each part 0–255 and no leading zeros.
 */
const PLAIN_HOST = /^(?:(?:[A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*\.?|(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))(?::[0-9]*)?$/;

/** Bytes the head took on the wire, near enough: request line plus each field line. */
function headBytes(req: IncomingMessage): number {
  let n = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 12;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) n += raw[i]!.length + raw[i + 1]!.length + 4;
  return n;
}

/**
 * Framing node lets through that RFC 9112 says to refuse: a Transfer-Encoding whose last coding is not chunked (an
 * empty one included) leaves the body length unknown (§6.3 item 4: 400, close), and Transfer-Encoding in HTTP/1.0
 * is faulty framing (§6.1). Either way the bytes after the head could be read two ways.
 */
function badFraming(req: IncomingMessage): boolean {
  const te = req.headers['transfer-encoding'];
  if (te === undefined) return false;
  if (req.httpVersionMinor === 0) return true;
  const codings = te.split(',');
  return codings[codings.length - 1]!.trim().toLowerCase() !== 'chunked';
}

/**
 * Request-target forms node accepts but RFC 9112 §3.2 does not: `*` outside OPTIONS (§3.2.4), and an absolute-form
 * target with no host (RFC 9110 §4.2.1) or with userinfo (RFC 9110 §4.2.4).
 */
function badTarget(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  if (url.startsWith('/')) return false;
  if (url === '*') return req.method !== 'OPTIONS';
  return !/^https?:\/\/[^/?#@\s]+(?:[/?#]|$)/i.test(url);
}

/** The first limit the request breaks, or null. Checked in the order a client would want to hear about them. */
export function checkRequest(req: IncomingMessage, o: ResolvedOptions): ErrorCode | null {
  // HTTP/0.9 (no version), HTTP/2.0 in an HTTP/1 request line, and the like (RFC 9110 §6.2 allows 505).
  if (req.httpVersionMajor !== 1) return 'ERR_HTTP_VERSION';
  if ((req.url?.length ?? 0) > o.maxUrlLength) return 'ERR_URL_TOO_LONG';
  if (badFraming(req) || badTarget(req)) return 'ERR_BAD_REQUEST';
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
