// One request on the main thread: its slot, its head on the way to a worker, its upload, and its response (main thread).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../errors.js';
import {
  codeAt,
  codeIndex,
  control,
  decodeHead,
  encodeRequestHead,
  FLAG_END,
  FLAG_MORE,
  Kind,
  KIND_MASK,
  REQUEST_HAS_BODY,
} from '../protocol.js';
import type { Descriptor, SlotRef } from '../pool/index.js';
import type { MainContext } from './main-context.js';
import type { ConnectionHooks } from './client-errors.js';
import { ResponseWriter, type WriterOwner } from './response-writer.js';
import type { ThreadState } from './thread-supervisor.js';
import { UploadReader } from './upload-reader.js';

/** Where an exchange stands with its worker. Each comment says what moves it in, and out. */
export const ExchangeState = {
  /** In: dispatch, when the thread's inbox arena has no room for the head. Out: the head goes (WITH_WORKER), or the
   *  client leaves first (WORKER_DONE: no worker ever had it). */
  HEAD_WAITING: 0,
  /** In: the head is in the worker's inbox. Out: the worker's last descriptor, or its thread's death. */
  WITH_WORKER: 1,
  /** In: the worker let go of the request. Out: RETIRED once the response holds no slab and no credit. */
  WORKER_DONE: 2,
  /** In: the slot went back to the pool; nothing of this request is left. */
  RETIRED: 3,
} as const;
export type ExchangeState = (typeof ExchangeState)[keyof typeof ExchangeState];

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export class Exchange implements ConnectionHooks, WriterOwner {
  readonly ref: SlotRef;
  readonly thread: ThreadState;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly writer: ResponseWriter;
  readonly upload: UploadReader | null;
  /** When the request was dispatched, for the app timeout and the poller's service time. */
  readonly started = performance.now();
  /** The worker sent anything for the response (a head, an end or an error): the app answered. */
  answered = false;
  /** When the app timeout fired, or 0. */
  timedOutAt = 0;
  private state: ExchangeState = ExchangeState.HEAD_WAITING;
  private readonly ctx: MainContext;
  /** The request head as the worker will read it, until it is in the inbox's arena. */
  private headText: string | null;
  /** Pieces of a response head longer than one slab. */
  private headParts: Buffer[] | null = null;
  /** The client closed the connection before the response was complete. */
  private clientGone = false;
  /** REQUEST_ABORT went to the worker: one is enough, however many reasons follow (timeout, body error, close). */
  private abortSent = false;
  private settledDone = false;
  private readonly onRetire: (ex: Exchange) => void;

  constructor(
    ctx: MainContext,
    ref: SlotRef,
    thread: ThreadState,
    req: IncomingMessage,
    res: ServerResponse,
    onRetire: (ex: Exchange) => void,
  ) {
    this.ctx = ctx;
    this.ref = ref;
    this.thread = thread;
    this.req = req;
    this.res = res;
    this.onRetire = onRetire;
    this.writer = new ResponseWriter(ctx, res, ref.slot, req.method === 'HEAD', this);
    const body = hasBody(req);
    // A body cut off by the client closing its side ends in res.destroy(): the request is aborted like any other
    // client that left (see UploadReader).
    this.upload = body
      ? new UploadReader(ctx, req, ref, thread.sender, () => this.bodyError('ERR_BODY_TOO_LARGE'), () => void this.res.destroy())
      : null;
    const flags = body ? REQUEST_HAS_BODY : 0;
    this.headText = encodeRequestHead(req.method ?? 'GET', req.url ?? '/', req.httpVersion, req.socket.remoteAddress ?? '', flags, req.rawHeaders);
    // Heads go to a thread in order: behind any that wait for room in its arena.
    if (thread.headsWaiting.length > 0 || !this.sendHead()) thread.headsWaiting.push(this);
  }

  /**
   * Puts the head in the thread's inbox (its arena, and a descriptor naming it). False when the arena has no room
   * now: the poller calls again each turn, as the worker frees room. True once the head went, or is not to go.
   */
  sendHead(): boolean {
    if (this.state !== ExchangeState.HEAD_WAITING) return true;
    const { inbox } = this.thread;
    const text = this.headText!;
    const pos = inbox.writeArena(text);
    if (pos < 0) return false;
    this.headText = null;
    this.state = ExchangeState.WITH_WORKER;
    const { slot, generation } = this.ref;
    this.thread.sender.send({ slot, slotGen: generation, slab: -1, slabGen: 0, length: text.length, kind: Kind.REQUEST_HEAD, aux: pos, extra: 0 });
    // The only request on its thread: there is no other to share the ring with, so ring now, not at the end of the turn.
    if (this.thread.active === 1) this.thread.sender.ringNow();
    this.ctx.kick();
    // Only now may the body follow: the worker starts the request from its head.
    this.upload?.headSent();
    return true;
  }

  /** A descriptor from the worker for this request. */
  onDescriptor(d: Descriptor): void {
    const kind = d.kind & KIND_MASK;
    if (kind === Kind.UPLOAD_CREDIT) {
      this.upload?.credit();
      return;
    }
    if (!this.answered) {
      this.answered = true;
      this.ctx.noteService((performance.now() - this.started) * 1000);
    }
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
    if ((d.kind & FLAG_MORE) !== 0 || this.headParts !== null) {
      (this.headParts ??= []).push(Buffer.from(ctx.bytes(d.slab, 0, d.aux)));
      if ((d.kind & FLAG_MORE) !== 0) {
        this.writer.dropSlab(d.slab, d.slabGen);
        return;
      }
    }
    const parts = this.headParts;
    this.headParts = null;
    const fields = decodeHead(
      parts === null ? ctx.pool.view(d.slab).toString('latin1', 0, d.aux) : Buffer.concat(parts).toString('latin1'),
    );
    const status = Number(fields[0]);
    fields.shift();
    try {
      this.writer.head(status, fields, d.extra);
    } catch {
      // node refused a header the worker let through: never a split response.
      this.writer.dropSlab(d.slab, d.slabGen);
      this.abortWorker('ERR_INVALID_HEADER');
      this.ctx.stats.count('ERR_INVALID_HEADER');
      this.writer.fail('ERR_INVALID_HEADER');
      return;
    }
    // The rest of the slab is body; an empty remainder frees the slab now.
    if ((d.kind & FLAG_END) !== 0) this.writer.whole(d.slab, d.slabGen, d.aux, d.length - d.aux);
    else this.writer.body(d.slab, d.slabGen, d.aux, d.length - d.aux);
  }

  /** The response holds no slab or credit any more (WriterOwner). */
  settled(): void {
    this.settledDone = true;
    this.maybeRetire();
  }

  /** Credit came back that the worker's writer waits for (WriterOwner): its thread hears with the next ring. */
  creditBack(): void {
    this.thread.sender.owe();
  }

  /** True once the worker let go of the request (its last descriptor came, its thread died, or it never had it). */
  get workerDone(): boolean {
    return this.state >= ExchangeState.WORKER_DONE;
  }

  /** Tells the worker to give up on this request (client gone, timeout), and wakes anything it waits on. */
  abortWorker(code: ErrorCode): void {
    if (this.state !== ExchangeState.WITH_WORKER || this.abortSent) return;
    this.abortSent = true;
    this.ctx.slots.abort(this.ref.slot);
    this.ctx.pool.wakeFreeWaiters();
    this.thread.sender.send(control(this.ref.slot, this.ref.generation, Kind.REQUEST_ABORT, codeIndex(code)));
    this.ctx.kick();
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
   * slot stays until the worker lets go of the request, or its thread is terminated (see ThreadWatch).
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

  /** The response's 'close': finished, or the connection went away (for a pipelined response, its only sign). */
  socketClosed(): void {
    if (this.clientGone || this.state === ExchangeState.RETIRED) return;
    if (!this.res.writableFinished) {
      this.clientGone = true;
      this.abortWorker('ERR_REQUEST_ABORTED');
      this.upload?.stop();
      // A worker that never got the head will never answer: the request ends here.
      if (this.state === ExchangeState.HEAD_WAITING) this.finishWorker();
    }
    this.writer.close();
  }

  private finishWorker(): void {
    if (this.workerDone) return;
    this.state = ExchangeState.WORKER_DONE;
    this.headText = null;
    this.thread.active--;
    this.upload?.stop();
    this.maybeRetire();
  }

  private maybeRetire(): void {
    if (this.state !== ExchangeState.WORKER_DONE || !this.settledDone) return;
    this.state = ExchangeState.RETIRED;
    this.ctx.slots.retire(this.ref.slot);
    this.onRetire(this);
  }
}
