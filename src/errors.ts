// The error catalogue: every error slabserve raises or counts has a stable code here (all threads).
// Errors lose their class when they cross a thread, so callers and tests match on `code`, never on message text.

export const ErrorCodes = {
  /** A slab transition found another state, owner or generation than the caller expected. */
  ERR_SLAB_TRANSITION_REFUSED: 'a slab transition was refused: its header does not match the expected state',
  /** A slab index outside the pool. */
  ERR_SLAB_INDEX: 'slab index out of range',
  /** A request slot index outside the pool's slots. */
  ERR_SLOT_INDEX: 'request slot index out of range',
  /** A pool or option value that cannot work (for example a slab size that is not a multiple of 4 KiB). */
  ERR_INVALID_OPTION: 'invalid option',
  /** The pool was closed while a caller waited for a slab or for credit. */
  ERR_POOL_CLOSED: 'the slab pool is closed',
  /** The request was aborted (client gone, timeout or server close) while the app still wrote. */
  ERR_REQUEST_ABORTED: 'the request was aborted',
  /** The app module could not be loaded, or exports neither fetch() nor a native handler. */
  ERR_APP_LOAD: 'the app module could not be loaded',
  /** The app threw or rejected before it produced a response. */
  ERR_APP_THREW: 'the app threw before it produced a response',
  /** The app's body stream failed after the head was sent. */
  ERR_APP_STREAM: 'the app body stream failed after the response head was sent',
  /** The app returned something that is not a Response. */
  ERR_APP_RESPONSE: 'the app did not return a Response',
  /** The app set a header whose name or value is not allowed on the wire (CR, LF, NUL, bad token). */
  ERR_INVALID_HEADER: 'the app set an invalid header name or value',
  /** The app misused the native writer (write after end, commit beyond the slab, and so on). */
  ERR_WRITER_STATE: 'the native writer was used out of order',
  /** A worker thread died (process.exit, uncaught error, resource limit) with requests in flight. */
  ERR_WORKER_DIED: 'the worker thread serving this request died',
  /** The app took longer than appTimeout to produce its response head. */
  ERR_APP_TIMEOUT: 'the app did not answer within appTimeout',
  /** close() found responses still in flight after closeTimeout and cut their connections. Counted once per close. */
  ERR_CLOSE_TIMEOUT: 'the server closed before every response finished (closeTimeout)',
  /** A client stopped reading for longer than sendTimeout. */
  ERR_SEND_TIMEOUT: 'the client did not read for sendTimeout',
  /** The request body exceeded maxBodySize. */
  ERR_BODY_TOO_LARGE: 'the request body exceeded maxBodySize',
  /** The request is malformed: the parser refused it, or it could not become a web Request. Answered 400. */
  ERR_BAD_REQUEST: 'the request is malformed',
  /** The Host header is missing (HTTP/1.1), repeated, or not a valid host (RFC 9112 §3.2). Answered 400. */
  ERR_INVALID_HOST: 'the Host header is missing, repeated or invalid',
  /** The request-target is longer than maxUrlLength (RFC 9112 §3). Answered 414. */
  ERR_URL_TOO_LONG: 'the request-target is longer than maxUrlLength',
  /** The header section exceeds maxHeaderSize or maxHeadersCount. Answered 431. */
  ERR_HEADERS_TOO_LARGE: 'the request header section is too large',
  /** The client did not send its head within headersTimeout, or its request within requestTimeout. Answered 408. */
  ERR_REQUEST_TIMEOUT: 'the request did not arrive in time',
  /** The request's HTTP version is not 1.x (RFC 9110 §6.2, RFC 9112 §2.3). Answered 505. */
  ERR_HTTP_VERSION: 'the HTTP version is not supported',
  /** The request carries an Expect other than 100-continue. Answered 417. */
  ERR_EXPECTATION_FAILED: 'the expectation cannot be met',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** The one error class of slabserve. `code` is the contract; `message` is for people. */
export class SlabserveError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, detail?: string) {
    super(detail === undefined ? ErrorCodes[code] : `${ErrorCodes[code]}: ${detail}`);
    this.name = 'SlabserveError';
    this.code = code;
  }
}

/** True when `err` carries one of our codes, even after it crossed a thread as a plain object. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
