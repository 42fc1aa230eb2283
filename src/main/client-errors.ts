// Answers requests node's parser refused, in order behind the pipelined responses before them (main thread).
//
// With a 'clientError' listener node leaves the socket to us, still writable, and stops parsing it. Responses to the
// valid requests that arrived before the bad one may still be in flight; the error answer waits for them, then goes
// out and the connection closes. Without this, node would write its 400 at once, in the middle of those responses.

import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '../errors.js';
import { rawError } from './error-response.js';

/** How long a refused connection may stay half-open after the answer went out. */
const LINGER_MS = 2000;

interface Connection {
  inflight: number;
  /** The error answer waiting for the responses before it. */
  pendingError: string | null;
}

/** Which error code a parser failure gets. A head overflow is a 414 while the request line is still being read. */
export function clientErrorCode(err: Error & { code?: string; rawPacket?: Buffer; bytesParsed?: number }): ErrorCode | null {
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ETIMEDOUT':
      return null;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'ERR_REQUEST_TIMEOUT';
    case 'HPE_HEADER_OVERFLOW':
      return inRequestLine(err.rawPacket, err.bytesParsed) ? 'ERR_URL_TOO_LONG' : 'ERR_HEADERS_TOO_LARGE';
    default:
      return 'ERR_BAD_REQUEST';
  }
}

/**
 * True when the overflow happened before the request line ended: no line break since the last blank line (the end of
 * an earlier pipelined head) in what was parsed. node's limit is maxHeaderSize + maxUrlLength, so an overflow there
 * means a request-target far over maxUrlLength (RFC 9112 §3: 414), unless a header line did it.
 */
function inRequestLine(packet: Buffer | undefined, parsed: number | undefined): boolean {
  if (packet === undefined) return false;
  const seen = packet.subarray(0, parsed ?? packet.length);
  const lastHeadEnd = Math.max(seen.lastIndexOf('\r\n\r\n'), seen.lastIndexOf('\n\n'));
  const line = lastHeadEnd < 0 ? seen : seen.subarray(lastHeadEnd + 2);
  return line.indexOf(0x0a) < 0;
}

export class ConnectionTracker {
  private readonly connections = new WeakMap<Socket, Connection>();

  private of(socket: Socket): Connection {
    let c = this.connections.get(socket);
    if (c === undefined) {
      c = { inflight: 0, pendingError: null };
      this.connections.set(socket, c);
    }
    return c;
  }

  /** Counts a response on its socket until it finishes or the socket closes. (A pipelined response has no
   *  res.socket until its turn, so the request's socket is passed.) */
  track(socket: Socket, res: ServerResponse): void {
    const c = this.of(socket);
    c.inflight++;
    let done = false;
    const untrack = (): void => {
      if (done) return;
      done = true;
      if (--c.inflight === 0 && c.pendingError !== null) this.flush(socket, c);
    };
    res.once('finish', untrack);
    res.once('close', untrack);
  }

  /** A parser error on `socket`: answer now, or after the responses still in flight on it. */
  refuse(socket: Socket, code: ErrorCode | null): void {
    if (code === null || !socket.writable) {
      socket.destroy();
      return;
    }
    const c = this.of(socket);
    c.pendingError = rawError(code);
    if (c.inflight === 0) this.flush(socket, c);
  }

  private flush(socket: Socket, c: Connection): void {
    const answer = c.pendingError!;
    c.pendingError = null;
    // end() sends the answer, then FIN. A client that never closes its side is cut off shortly after.
    socket.end(answer);
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }
}
