// The answers main makes itself: one status per error code, the same small text body, and the code in a header.

import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { ErrorCode } from '../errors.js';

/** The header that carries the error code, so clients and tests match on codes, never on text. */
export const ERROR_HEADER = 'slabserve-error';

/** The status main answers with for each error code when no head has gone out yet. */
export function statusFor(code: ErrorCode): number {
  switch (code) {
    case 'ERR_BAD_REQUEST':
    case 'ERR_INVALID_HOST':
      return 400;
    case 'ERR_REQUEST_TIMEOUT':
      return 408;
    case 'ERR_BODY_TOO_LARGE':
      return 413;
    case 'ERR_URL_TOO_LONG':
      return 414;
    case 'ERR_EXPECTATION_FAILED':
      return 417;
    case 'ERR_HEADERS_TOO_LARGE':
      return 431;
    case 'ERR_WORKER_DIED':
      return 502;
    case 'ERR_APP_LOAD':
      return 503;
    case 'ERR_APP_TIMEOUT':
      return 504;
    case 'ERR_HTTP_VERSION':
      return 505;
    default:
      return 500;
  }
}

/** Answers `res` with the code's status. `close` also ends the connection after it (for errors in the request). */
export function writeError(res: ServerResponse, code: ErrorCode, close: boolean, bodyless = false): void {
  const body = `${code}\n`;
  if (close) res.shouldKeepAlive = false;
  res.writeHead(statusFor(code), {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [ERROR_HEADER]: code,
  });
  res.end(bodyless ? undefined : body);
}

/** The same answer as raw bytes, for errors found before node made a response object (parse errors). */
export function rawError(code: ErrorCode): string {
  const status = statusFor(code);
  const body = `${code}\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    `Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${body.length}\r\n${ERROR_HEADER}: ${code}\r\n\r\n${body}`
  );
}
