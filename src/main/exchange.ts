// One request on the main thread: its slot, its head on the way to a worker, its upload, and its response (main thread).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../errors.js';
import {
  codeAt,
  codeIndex,
  decodeStrings,
  encodedSize,
  encodeStrings,
  FLAG_END,
  FLAG_MORE,
  Kind,
  KIND_MASK,
  REQUEST_HAS_BODY,
  requestHeadStrings,
  RESPONSE_HEAD_FIXED,
} from '../messages.js';
import { NO_SLAB, type Descriptor, type SlotRef } from '../pool/index.js';
import type { MainContext } from './main-context.js';
import type { ConnectionHooks } from './client-errors.js';
import { ResponseWriter } from './response-writer.js';
import type { ThreadState } from './thread-supervisor.js';
import { UploadReader } from './upload-reader.js';

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export class Exchange implements ConnectionHooks {
  readonly ref: SlotRef;
  readonly thread: ThreadState;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly writer: ResponseWriter;
  readonly upload: UploadReader | null;
  /** The worker sent this request's last descriptor, or died. */
  workerDone = false;
  /** When the request was dispatched, for the app timeout. */
  readonly started = performance.now();
  /** The worker sent anything for the response (a head, an end or an error): the app answered. */
  answered = false;
  /** When the app timeout fired, or 0. */
  timedOutAt = 0;
  private readonly ctx: MainContext;
  private headParts: Buffer[] | null = null;
  /**
   * The request head not yet queued to the worker: its strings (encoded straight into one slab when they fit), or the
   * bytes still to send of a head longer than a slab; null once all of it is queued.
   */
  private head: string[] | Buffer | null = null;
  private clientGone = false;
  /** REQUEST_ABORT went to the worker: one is enough, however many reasons follow (timeout, body error, close). */
  private abortSent = false;
  private closeSeen = false;
  private settled = false;
  private retired = false;
  /** Called once the slot may go back: the worker is done and nothing holds a slab or credit. */
  onRetire: (() => void) | null = null;

  constructor(ctx: MainContext, ref: SlotRef, thread: ThreadState, req: IncomingMessage, res: ServerResponse) {
    this.ctx = ctx;
    this.ref = ref;
    this.thread = thread;
    this.req = req;
    this.res = res;
    this.writer = new ResponseWriter(ctx, res, ref.slot, req.method === 'HEAD');
    this.writer.onSettled = () => {
      this.settled = true;
      this.maybeRetire();
    };
    const body = hasBody(req);
    // A body cut off by the client closing its side ends in res.destroy(): the request is aborted like any other
    // client that left (see UploadReader).
    const onTruncated = (): void => void this.res.destroy();
    this.upload = body
      ? new UploadReader(ctx, req, ref, thread.sender, () => this.bodyError('ERR_BODY_TOO_LARGE'), onTruncated)
      : null;
    res.on('close', () => this.onClose());
    this.head = requestHeadStrings(
      req.method ?? 'GET',
      req.url ?? '/',
      req.httpVersion,
      req.socket.remoteAddress ?? '',
      body ? REQUEST_HAS_BODY : 0,
      req.rawHeaders,
    );
    this.sendHead();
  }

  /** Queues the request head to the worker: one slab, or slab-size pieces flagged MORE for a head longer than that. */
  private sendHead(): void {
    const { ctx, ref } = this;
    while (this.head !== null) {
      if (this.clientGone || this.workerDone) return;
      const slab = ctx.acquire(ref.slot);
      if (slab === NO_SLAB) {
        ctx.whenSlabFree(() => this.sendHead());
        return;
      }
      let bytes = this.head;
      if (Array.isArray(bytes)) {
        const size = encodedSize(bytes);
        if (size <= ctx.pool.size) {
          // The common case: encoded once, in place.
          this.head = null;
          this.queueHead(slab, encodeStrings(ctx.pool.view(slab), bytes), false);
          break;
        }
        const strings = bytes;
        bytes = Buffer.allocUnsafe(size);
        encodeStrings(bytes, strings);
      }
      const n = Math.min(bytes.length, ctx.pool.size);
      bytes.copy(ctx.pool.view(slab), 0, 0, n);
      this.head = n < bytes.length ? bytes.subarray(n) : null;
      this.queueHead(slab, n, this.head !== null);
    }
    // Only now may the body follow: the worker starts the request from its last head piece.
    this.upload?.headSent();
  }

  private queueHead(slab: number, length: number, more: boolean): void {
    const { ctx, ref } = this;
    const gen = ctx.pool.generation(slab);
    ctx.pool.queue(slab, gen, length);
    const kind = Kind.REQUEST_HEAD | (more ? FLAG_MORE : 0);
    this.thread.sender.send(ref.slot, ref.generation, slab, gen, length, kind, length);
  }

  /** A descriptor from the worker for this request. */
  onDescriptor(d: Descriptor): void {
    const kind = d.kind & KIND_MASK;
    if (kind === Kind.UPLOAD_CREDIT) {
      this.upload?.credit();
      return;
    }
    this.answered = true;
    if (d.slab >= 0 && this.writer.finished) {
      // Late: main already answered (an app timeout, a body error) or the client left. Nothing more goes out.
      this.headParts = null;
      this.writer.dropSlab(d.slab, d.slabGen);
    } else if (kind === Kind.RESPONSE_HEAD) {
      this.onHead(d);
    } else if (kind === Kind.RESPONSE_BODY) {
      this.writer.body(d.slab, d.slabGen, 0, d.length);
    } else if (kind === Kind.RESPONSE_ERROR) {
      this.finishWorker();
      const code = codeAt(d.aux);
      if (code !== 'ERR_REQUEST_ABORTED') this.ctx.stats.count(code);
      this.writer.fail(code);
      return;
    }
    if (kind === Kind.RESPONSE_END || (d.kind & FLAG_END) !== 0) {
      this.finishWorker();
      this.writer.end();
    }
  }

  private onHead(d: Descriptor): void {
    const { ctx } = this;
    const bytes = ctx.bytes(d.slab, 0, d.aux);
    if ((d.kind & FLAG_MORE) !== 0 || this.headParts !== null) {
      (this.headParts ??= []).push(Buffer.from(bytes));
      if ((d.kind & FLAG_MORE) !== 0) {
        this.writer.dropSlab(d.slab, d.slabGen);
        return;
      }
    }
    const parts = this.headParts;
    this.headParts = null;
    const strings = decodeStrings(parts === null ? bytes : Buffer.concat(parts));
    try {
      this.writer.head(Number(strings[0]), strings.slice(RESPONSE_HEAD_FIXED));
    } catch {
      // node refused a header the worker let through: never a split response.
      this.writer.dropSlab(d.slab, d.slabGen);
      this.abortWorker('ERR_INVALID_HEADER');
      this.ctx.stats.count('ERR_INVALID_HEADER');
      this.writer.fail('ERR_INVALID_HEADER');
      return;
    }
    // The rest of the slab is body; an empty remainder frees the slab now.
    this.writer.body(d.slab, d.slabGen, d.aux, d.length - d.aux);
  }

  /** Tells the worker to give up on this request (client gone, timeout), and wakes anything it waits on. */
  abortWorker(code: ErrorCode): void {
    if (this.workerDone || this.abortSent) return;
    this.abortSent = true;
    this.ctx.slots.abort(this.ref.slot);
    this.ctx.pool.wakeFreeWaiters();
    this.thread.sender.send(this.ref.slot, this.ref.generation, -1, 0, 0, Kind.REQUEST_ABORT, codeIndex(code));
  }

  /** The worker thread died: answer 502 if no head went out, else cut the connection. */
  workerDied(): void {
    if (this.workerDone) return;
    this.finishWorker();
    // A request main already answered (a timed-out one, held by the thread that was terminated for it) was counted then.
    if (!this.writer.finished) this.ctx.stats.count('ERR_WORKER_DIED');
    this.writer.fail('ERR_WORKER_DIED');
  }

  /**
   * The app produced no head within appTimeout: answer 504 now and abort the request (request.signal fires). The
   * slot stays until the worker lets go of the request, or its thread is terminated (see the server's sweep).
   */
  timedOut(now: number): void {
    this.timedOutAt = now;
    this.ctx.stats.count('ERR_APP_TIMEOUT');
    this.abortWorker('ERR_APP_TIMEOUT');
    this.writer.fail('ERR_APP_TIMEOUT');
  }

  /**
   * The body broke a rule while it streamed: over maxBodySize (413), malformed (400), or too slow for requestTimeout
   * (408). The request ends here: its answer (or a cut connection, if the answer had begun), then the connection
   * closes, since what follows on it cannot be framed.
   */
  bodyError(code: ErrorCode): void {
    this.ctx.stats.count(code);
    this.res.shouldKeepAlive = false;
    this.upload?.stop();
    this.abortWorker(code);
    this.writer.fail(code);
  }

  /** The connection closed (for a pipelined response still waiting for the socket, the only sign of it). */
  socketClosed(): void {
    this.onClose();
  }

  private finishWorker(): void {
    if (this.workerDone) return;
    this.workerDone = true;
    this.thread.active--;
    this.upload?.stop();
    this.maybeRetire();
  }

  private onClose(): void {
    if (this.closeSeen) return;
    this.closeSeen = true;
    if (!this.res.writableFinished) {
      this.clientGone = true;
      this.abortWorker('ERR_REQUEST_ABORTED');
      this.upload?.stop();
      if (this.head !== null) {
        // The worker never got the whole head, so it will never answer: the request ends here. (The abort above
        // makes it drop any head pieces it holds.)
        this.head = null;
        this.finishWorker();
      }
    }
    this.writer.close();
  }

  private maybeRetire(): void {
    if (this.retired || !this.workerDone || !this.settled) return;
    this.retired = true;
    this.ctx.slots.retire(this.ref.slot);
    this.onRetire?.();
  }
}
