// The node:http server in front: its parser, with slabserve's limits applied, and its events routed (main thread).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '../errors.js';
import { clientErrorCode } from './client-errors.js';
import type { ResolvedOptions } from './options.js';

export interface FrontHandlers {
  /** A parsed request. `expectsContinue`: the client waits for 100 Continue before it sends the body. */
  request(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void;
  /** An Expect other than 100-continue. */
  expectationFailed(req: IncomingMessage, res: ServerResponse): void;
  /** The parser refused the bytes on `socket` (code null: the connection just failed). */
  clientError(code: ErrorCode | null, socket: Socket): void;
}

export function createHttpFront(o: ResolvedOptions, on: FrontHandlers): Server {
  const timeouts = [o.headersTimeout, o.requestTimeout].filter((t) => t > 0);
  const http = createServer(
    {
      // node's head limit covers the request line too: leave room for a URL up to maxUrlLength, so that a long URL
      // reaches checkRequest() and gets its 414; the head itself is held to maxHeaderSize there.
      maxHeaderSize: o.maxHeaderSize + o.maxUrlLength,
      headersTimeout: o.headersTimeout,
      requestTimeout: o.requestTimeout,
      keepAliveTimeout: o.keepAliveTimeout,
      // node checks headersTimeout and requestTimeout on this period (default 30 s, too coarse for short limits).
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, ...timeouts.map((t) => t / 4))),
      // Host is checked by checkRequest(), which also refuses a repeated or malformed one.
      requireHostHeader: false,
      insecureHTTPParser: false,
    },
    (req, res) => on.request(req, res, false),
  );
  // One more than the limit, so checkRequest() can tell "too many" from "exactly the limit" (node drops the rest).
  http.maxHeadersCount = o.maxHeadersCount + 1;
  http.maxRequestsPerSocket = o.maxRequestsPerSocket;
  http.maxConnections = o.maxConnections;
  http.on('checkContinue', (req, res) => on.request(req, res, true));
  http.on('checkExpectation', (req, res) => on.expectationFailed(req, res));
  // With this listener node leaves the socket to us (see client-errors.ts), instead of writing its own 400 at once.
  http.on('clientError', (err: Error & { code?: string }, socket) => {
    on.clientError(clientErrorCode(err), socket as Socket);
  });
  return http;
}
