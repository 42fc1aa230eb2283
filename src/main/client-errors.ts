// Answers requests node's parser refused, in order behind the pipelined responses before them (main thread).
//
// With a 'clientError' listener node leaves the socket to us, still writable, and stops parsing it. Responses to the
// valid requests that arrived before the bad one may still be in flight; the error answer waits for them, then goes
// out and the connection closes. Without this, node would write its 400 at once, in the middle of those responses.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '../errors.js';
import { rawError } from './error-response.js';

/** How long a refused connection may stay half-open after the answer went out. */
const LINGER_MS = 2000;

/** What the tracker tells a request about its connection. */
export interface ConnectionHooks {
  /** The response closed, or its socket did (a pipelined response that never got the socket hears only of that). */
  socketClosed(): void;
  /** The parser failed inside this request's body (or it timed out): the error is this request's to answer. */
  bodyError(code: ErrorCode): void;
}

interface Tracked {
  req: IncomingMessage;
  hooks: ConnectionHooks | null;
}

interface Connection {
  /** Requests on the socket whose response has not finished, in arrival order. */
  live: Tracked[];
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
      const conn: Connection = { live: [], pendingError: null };
      socket.once('close', () => {
        for (const t of conn.live.splice(0)) t.hooks?.socketClosed();
      });
      this.connections.set(socket, conn);
      c = conn;
    }
    return c;
  }

  /**
   * Follows a request until its response closes (finished, or the connection went away), and tells its hooks then.
   * One 'close' listener per response: ServerResponse emits 'close' after 'finish' as well.
   */
  track(req: IncomingMessage, res: ServerResponse, hooks: ConnectionHooks | null): void {
    const socket = req.socket;
    const c = this.of(socket);
    const entry: Tracked = { req, hooks };
    c.live.push(entry);
    // 'close' comes once per response ('on', not 'once': no wrapper per request).
    res.on('close', () => {
      const at = c.live.indexOf(entry);
      if (at >= 0) c.live.splice(at, 1);
      if (c.live.length === 0 && c.pendingError !== null) this.flush(socket, c);
      hooks?.socketClosed();
    });
  }

  /**
   * A parser error (or a request timeout) on `socket`. If the last request is still receiving its body, the error
   * is in that body, and that request answers it (and counts it): returns true. Otherwise the answer waits for the
   * responses in flight, and the caller counts it: returns false.
   */
  refuse(socket: Socket, code: ErrorCode | null): boolean {
    if (code === null || !socket.writable) {
      socket.destroy();
      return false;
    }
    const c = this.of(socket);
    const last = c.live[c.live.length - 1];
    if (last !== undefined && !last.req.complete && last.hooks !== null) {
      last.hooks.bodyError(code);
      return true;
    }
    c.pendingError = rawError(code);
    if (c.live.length === 0) this.flush(socket, c);
    return false;
  }

  private flush(socket: Socket, c: Connection): void {
    const answer = c.pendingError!;
    c.pendingError = null;
    // end() sends the answer, then FIN. A client that never closes its side is cut off shortly after.
    socket.end(answer);
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }
}
