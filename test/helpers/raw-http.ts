// A raw-socket HTTP/1.1 client for end-to-end tests: exact bytes out, exact bytes in (test helper, test process).
//
// node:http's client hides what a test must see: whether a chunked body ended with its terminator, whether a
// Content-Length body came up short before the connection closed, and whether a response was split by an injected
// header. So requests are written as bytes on a net.Socket and responses are parsed here, incrementally: bodies are
// hashed as they arrive (never held whole unless asked), and each response records how it ended.

import { connect, type Socket } from 'node:net';
import { RunningHash } from './bodies.js';

/** What a test asks for. `body` is sent with Content-Length; `chunks` with Transfer-Encoding: chunked. */
export interface RequestSpec {
  method?: string;
  path?: string;
  /** Extra header lines, in order. A Host header is added unless one is given. */
  headers?: [string, string][] | Record<string, string>;
  body?: Uint8Array | string;
  chunks?: (Uint8Array | string)[];
}

/** How a response's body is delimited on the wire. */
export type Framing = 'length' | 'chunked' | 'close' | 'none';

export interface RawResponse {
  status: number;
  reason: string;
  /** Header fields in wire order, names as sent. */
  rawHeaders: [string, string][];
  /** The head exactly as received, status line through the blank line. */
  head: string;
  framing: Framing;
  /** The declared Content-Length, or -1. */
  contentLength: number;
  /** Body bytes received (after chunked decoding). */
  bodyLength: number;
  /** sha256 (hex) of the body bytes received; final once the response is done. */
  sha256: string;
  /** The body bytes, when the connection collects them (collect: true); else empty. */
  body: Buffer;
  /** The framing says the body is whole: the declared length arrived, or the chunked terminator (0 CRLF CRLF). */
  complete: boolean;
  /** For chunked bodies: the last-chunk was seen. */
  terminated: boolean;
  /** The connection closed while this response was still in progress (a cut response). */
  cut: boolean;
}

/** First value of header `name` (case-insensitive), or undefined. */
export function header(res: RawResponse, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of res.rawHeaders) if (n.toLowerCase() === lower) return v;
  return undefined;
}

/** Every value of header `name` (case-insensitive), in wire order. */
export function headerAll(res: RawResponse, name: string): string[] {
  const lower = name.toLowerCase();
  return res.rawHeaders.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/** The body as UTF-8 text (needs collect: true on the connection, the default). */
export function text(res: RawResponse): string {
  return res.body.toString('utf8');
}

/** Serialises a request head (and body) as bytes. */
export function formatRequest(spec: RequestSpec): Buffer {
  const method = spec.method ?? 'GET';
  const path = spec.path ?? '/';
  const headers: [string, string][] = Array.isArray(spec.headers)
    ? [...spec.headers]
    : Object.entries(spec.headers ?? {});
  if (!headers.some(([n]) => n.toLowerCase() === 'host')) headers.unshift(['Host', '127.0.0.1']);
  const parts: Buffer[] = [];
  if (spec.body !== undefined) {
    const body = typeof spec.body === 'string' ? Buffer.from(spec.body) : Buffer.from(spec.body);
    headers.push(['Content-Length', String(body.length)]);
    parts.push(body);
  } else if (spec.chunks !== undefined) {
    headers.push(['Transfer-Encoding', 'chunked']);
    for (const c of spec.chunks) parts.push(encodeChunk(c));
    parts.push(Buffer.from(LAST_CHUNK));
  }
  const head = `${method} ${path} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), ...parts]);
}

/** One chunk of a chunked body, framed. An empty chunk is not allowed (it would be the terminator). */
export function encodeChunk(data: Uint8Array | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length === 0) throw new Error('encodeChunk: an empty chunk would end the body');
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
}

/** The chunked terminator: the last-chunk and an empty trailer section. */
export const LAST_CHUNK = '0\r\n\r\n';

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

type BodyState = 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'close';

/**
 * Parses a stream of response bytes into responses, in order. Call expect(method) once per request sent, so a
 * response to HEAD is known to carry no body; responses beyond what was expected are parsed as GET.
 */
export class ResponseParser {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly methods: string[] = [];
  private cur: RawResponse | null = null;
  private hash: RunningHash | null = null;
  private bodyParts: Buffer[] = [];
  private state: BodyState = 'length';
  private remaining = 0;
  private readonly collect: boolean;
  /** Called with each decoded piece of body, and the response it belongs to. */
  onBody: ((res: RawResponse, piece: Buffer) => void) | null = null;
  /** Called when a response's head has been parsed. */
  onHead: ((res: RawResponse) => void) | null = null;

  constructor(collect = true) {
    this.collect = collect;
  }

  expect(method: string): void {
    this.methods.push(method.toUpperCase());
  }

  /** The response being received, if a head has arrived and its body has not ended. */
  get current(): RawResponse | null {
    return this.cur;
  }

  /** Feeds bytes; returns the responses they completed. */
  push(chunk: Buffer): RawResponse[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const done: RawResponse[] = [];
    for (;;) {
      if (this.cur === null) {
        const end = this.buffer.indexOf(HEAD_END);
        if (end < 0) break;
        this.startResponse(this.buffer.subarray(0, end + HEAD_END.length).toString('latin1'));
        this.buffer = this.buffer.subarray(end + HEAD_END.length);
        if (this.cur === null) continue; // a 1xx interim response: nothing follows it
        if (this.finishedBody()) {
          done.push(this.finish(true));
          continue;
        }
      }
      if (!this.consumeBody()) break;
      done.push(this.finish(true));
    }
    return done;
  }

  /** The connection closed: returns the response it cut (or completed, for close-delimited bodies), if any. */
  end(): RawResponse | null {
    if (this.cur === null) return null;
    if (this.state === 'close') return this.finish(true);
    const res = this.finish(false);
    res.cut = true;
    return res;
  }

  private startResponse(head: string): void {
    const lines = head.slice(0, -4).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]!);
    if (m === null) throw new Error(`ResponseParser: bad status line ${JSON.stringify(lines[0])}`);
    const rawHeaders: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`ResponseParser: bad header line ${JSON.stringify(line)}`);
      rawHeaders.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
    }
    const status = Number(m[1]);
    if (status >= 100 && status < 200 && status !== 101) return;
    const method = this.methods.shift() ?? 'GET';
    const res: RawResponse = {
      status,
      reason: m[2] ?? '',
      rawHeaders,
      head,
      framing: 'close',
      contentLength: -1,
      bodyLength: 0,
      sha256: '',
      body: Buffer.alloc(0),
      complete: false,
      terminated: false,
      cut: false,
    };
    const te = header(res, 'transfer-encoding');
    const cl = header(res, 'content-length');
    if (cl !== undefined) res.contentLength = Number(cl);
    if (method === 'HEAD' || status === 204 || status === 304) {
      res.framing = 'none';
    } else if (te !== undefined && /chunked\s*$/i.test(te)) {
      res.framing = 'chunked';
      this.state = 'chunk-size';
    } else if (cl !== undefined) {
      res.framing = 'length';
      this.state = 'length';
      this.remaining = res.contentLength;
    } else {
      res.framing = 'close';
      this.state = 'close';
    }
    this.cur = res;
    this.hash = new RunningHash();
    this.bodyParts = [];
    this.onHead?.(res);
  }

  private finishedBody(): boolean {
    const res = this.cur!;
    return res.framing === 'none' || (res.framing === 'length' && this.remaining === 0);
  }

  private deliver(piece: Buffer): void {
    if (piece.length === 0) return;
    const res = this.cur!;
    res.bodyLength += piece.length;
    this.hash!.update(piece);
    if (this.collect) this.bodyParts.push(Buffer.from(piece));
    this.onBody?.(res, piece);
  }

  /** Consumes body bytes from the buffer; true once the body ended by its framing. */
  private consumeBody(): boolean {
    for (;;) {
      switch (this.state) {
        case 'close':
          this.deliver(this.buffer);
          this.buffer = Buffer.alloc(0);
          return false;
        case 'length':
        case 'chunk-data': {
          const n = Math.min(this.remaining, this.buffer.length);
          this.deliver(this.buffer.subarray(0, n));
          this.buffer = this.buffer.subarray(n);
          this.remaining -= n;
          if (this.remaining > 0) return false;
          if (this.state === 'length') return true;
          this.state = 'chunk-crlf';
          break;
        }
        case 'chunk-crlf': {
          if (this.buffer.length < 2) return false;
          if (!this.buffer.subarray(0, 2).equals(CRLF)) throw new Error('ResponseParser: chunk not followed by CRLF');
          this.buffer = this.buffer.subarray(2);
          this.state = 'chunk-size';
          break;
        }
        case 'chunk-size': {
          const eol = this.buffer.indexOf(CRLF);
          if (eol < 0) return false;
          const line = this.buffer.subarray(0, eol).toString('latin1');
          this.buffer = this.buffer.subarray(eol + 2);
          const size = parseInt(line.split(';')[0]!.trim(), 16);
          if (!Number.isInteger(size) || size < 0) throw new Error(`ResponseParser: bad chunk size ${JSON.stringify(line)}`);
          if (size === 0) {
            this.cur!.terminated = true;
            this.state = 'trailers';
          } else {
            this.remaining = size;
            this.state = 'chunk-data';
          }
          break;
        }
        case 'trailers': {
          const eol = this.buffer.indexOf(CRLF);
          if (eol < 0) return false;
          this.buffer = this.buffer.subarray(eol + 2);
          if (eol === 0) return true;
          break;
        }
      }
    }
  }

  private finish(complete: boolean): RawResponse {
    const res = this.cur!;
    res.complete = complete;
    res.sha256 = this.hash!.digest();
    if (this.collect) res.body = Buffer.concat(this.bodyParts);
    this.cur = null;
    this.hash = null;
    this.bodyParts = [];
    return res;
  }
}

export interface ConnectionOptions {
  host?: string;
  /** Keep body bytes in each RawResponse (default true). Turn off for large downloads: they are hashed anyway. */
  collect?: boolean;
  /** Keep every byte received, for checks on the raw stream (default false). */
  keepRaw?: boolean;
  /** Never read: the socket stays paused, so the server's writes back up (a stalled client). */
  stalled?: boolean;
  /** Read slowly: after each chunk from the socket, pause reading for this many ms (pacing a client, not ordering). */
  paceMs?: number;
}

/** What a response wait ends with: the response, or null when the connection closed before any head arrived. */
export type Outcome = RawResponse | null;

/** One TCP connection to the server, with an incremental response parser. */
export class RawConnection {
  readonly socket: Socket;
  readonly parser: ResponseParser;
  /** Responses completed or cut, in order. */
  readonly responses: RawResponse[] = [];
  /** Every byte received, when keepRaw was set. */
  readonly raw: Buffer[] = [];
  /** Bytes received so far. */
  received = 0;
  /** True once the socket closed, by either side. */
  isClosed = false;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  /** The socket error, if one ended the connection. */
  error: Error | null = null;
  /** Why the parser gave up, if the server sent bytes that are not a well-formed response stream. */
  parseError: Error | null = null;
  private readonly waiters: ((r: Outcome) => void)[] = [];
  private delivered = 0;
  private paceTimer: NodeJS.Timeout | null = null;

  private constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.parser = new ResponseParser(options.collect ?? true);
    const keepRaw = options.keepRaw ?? false;
    const pace = options.paceMs ?? 0;
    if (options.stalled) socket.pause();
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      if (keepRaw) this.raw.push(chunk);
      try {
        for (const res of this.parser.push(chunk)) this.settle(res);
      } catch (err) {
        // Bytes that are not HTTP: keep the reason for the test, and stop reading.
        this.parseError = err as Error;
        socket.destroy();
        return;
      }
      if (pace > 0 && !this.isClosed) {
        socket.pause();
        this.paceTimer = setTimeout(() => {
          this.paceTimer = null;
          if (!this.isClosed) socket.resume();
        }, pace);
      }
    });
    socket.on('error', (err) => (this.error = err));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        if (this.paceTimer !== null) clearTimeout(this.paceTimer);
        const cut = this.parser.end();
        if (cut !== null) this.settle(cut);
        for (const w of this.waiters.splice(0)) w(null);
        resolve();
      });
    });
  }

  /** Connects to 127.0.0.1:port (or options.host). Rejects with the socket error (e.g. ECONNREFUSED). */
  static open(port: number, options: ConnectionOptions = {}): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: options.host ?? '127.0.0.1' });
      const conn = new RawConnection(socket, options);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(conn);
      });
      socket.once('error', reject);
    });
  }

  /** Writes raw bytes. Returns socket.write's answer (false: the kernel buffer is full, wait for 'drain'). */
  send(data: Uint8Array | string): boolean {
    return this.socket.write(data);
  }

  /** Writes a request and notes its method, so the parser frames the response right. Does not wait. */
  write(spec: RequestSpec): boolean {
    this.parser.expect(spec.method ?? 'GET');
    return this.send(formatRequest(spec));
  }

  /** Tells the parser a request was written by hand with send() (needed for HEAD, which has no body). */
  expect(method: string): void {
    this.parser.expect(method);
  }

  /** The next response in order: completed, or cut by a close. null if the connection closed before its head. */
  nextResponse(): Promise<Outcome> {
    if (this.delivered < this.responses.length) return Promise.resolve(this.responses[this.delivered++]!);
    if (this.isClosed) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Sends a request and waits for its response (or null when the connection closed before a head). */
  exchange(spec: RequestSpec): Promise<Outcome> {
    this.write(spec);
    return this.nextResponse();
  }

  /** Sends a request and waits for its response; throws if the connection closed before a head arrived. */
  async request(spec: RequestSpec): Promise<RawResponse> {
    const res = await this.exchange(spec);
    if (res === null) throw new Error(`connection closed before a response to ${spec.method ?? 'GET'} ${spec.path ?? '/'}`);
    return res;
  }

  /** Every byte received so far, as one Buffer (needs keepRaw). */
  rawBytes(): Buffer {
    return Buffer.concat(this.raw);
  }

  /** Starts reading a stalled (or paced) connection at full speed. */
  resume(): void {
    if (this.paceTimer !== null) clearTimeout(this.paceTimer);
    this.paceTimer = null;
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private settle(res: RawResponse): void {
    this.responses.push(res);
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.delivered++;
      waiter(res);
    }
  }
}

/** Opens a connection, sends one request with Connection: close, and waits for the response (or the close). */
export async function fetchRaw(port: number, spec: RequestSpec, options: ConnectionOptions = {}): Promise<Outcome> {
  const conn = await RawConnection.open(port, options);
  try {
    const headers: [string, string][] = Array.isArray(spec.headers) ? [...spec.headers] : Object.entries(spec.headers ?? {});
    if (!headers.some(([n]) => n.toLowerCase() === 'connection')) headers.push(['Connection', 'close']);
    const res = await conn.exchange({ ...spec, headers });
    return res;
  } finally {
    conn.destroy();
  }
}

/** Like fetchRaw(), but throws when no response head arrived. */
export async function requestOnce(port: number, spec: RequestSpec, options: ConnectionOptions = {}): Promise<RawResponse> {
  const res = await fetchRaw(port, spec, options);
  if (res === null) throw new Error(`connection closed before a response to ${spec.method ?? 'GET'} ${spec.path ?? '/'}`);
  return res;
}

/** Resolves with the error code of a failed connect (e.g. 'ECONNREFUSED'), or null if the connect succeeded. */
export function connectError(port: number, host = '127.0.0.1'): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** A request body being written to a connection, as the socket takes it. */
export interface BodyUpload {
  /** Resolves once every byte was handed to the socket (or the connection closed). */
  done: Promise<void>;
  /** Body bytes given to socket.write so far (before chunked framing). */
  sent(): number;
  /** Bytes of the request the kernel has taken so far: written minus what still waits in the socket's buffer. */
  accepted(): number;
  /** Bytes waiting in the socket's own buffer (the kernel would not take them yet). */
  backlog(): number;
}

/**
 * Writes a request head, then streams `chunks` as its body, waiting for 'drain' whenever socket.write() says false,
 * so the client's own buffer never grows past one chunk. `size` given: Content-Length framing; omitted: chunked.
 */
export function streamRequest(
  conn: RawConnection,
  spec: Omit<RequestSpec, 'body' | 'chunks'>,
  chunks: Iterable<Uint8Array>,
  size?: number,
): BodyUpload {
  const socket = conn.socket;
  const headers: [string, string][] = Array.isArray(spec.headers) ? [...spec.headers] : Object.entries(spec.headers ?? {});
  headers.push(size === undefined ? ['Transfer-Encoding', 'chunked'] : ['Content-Length', String(size)]);
  conn.parser.expect(spec.method ?? 'POST');
  const head = formatRequest({ ...spec, method: spec.method ?? 'POST', headers });
  let sent = 0;
  let wire = head.length;
  socket.write(head);
  const done = (async () => {
    for (const chunk of chunks) {
      if (conn.isClosed) return;
      const framed = size === undefined ? encodeChunk(chunk) : chunk;
      const ok = socket.write(framed);
      sent += chunk.length;
      wire += framed.length;
      if (!ok) {
        await new Promise<void>((resolve) => {
          const go = (): void => {
            socket.off('drain', go);
            socket.off('close', go);
            resolve();
          };
          socket.on('drain', go);
          socket.on('close', go);
        });
      }
    }
    if (size === undefined && !conn.isClosed) {
      socket.write(LAST_CHUNK);
      wire += LAST_CHUNK.length;
    }
  })();
  return {
    done,
    sent: () => sent,
    accepted: () => wire - socket.writableLength,
    backlog: () => socket.writableLength,
  };
}
