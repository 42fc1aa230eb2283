// The worker's long-lived loop: drains its inbox, runs the app for each request, and writes the answers (worker thread).
//
// One loop runs per thread for the thread's whole life, so a request costs two descriptors through shared memory
// instead of a piscina run() (a postMessage and a promise each way). How the loop sleeps when its inbox is empty
// depends on what else the thread has to do:
// - requests in flight (an async app awaiting I/O): Atomics.waitAsync, so the app's work goes on meanwhile;
// - none: a blocking Atomics.wait, in slices of IDLE_SLICE_MS with a turn of the event loop between them (the app's
//   own timers still run, at most a slice late). Waking a thread blocked in Atomics.wait costs main half what waking
//   one in waitAsync does (measured here: 12 against 30 µs per notify), and main wakes an idle worker once per
//   request at low load;
// - none for IDLE_ASYNC_AFTER_MS: waitAsync again, so an idle server spends nothing at all.
// Every waitAsync has a backstop (WAIT_BACKSTOP_MS), for the reason given there.

import { threadId } from 'node:worker_threads';
import { reportOf } from '../diagnostics.js';
import { hasCode, SlabserveError, type ErrorCode } from '../errors.js';
import {
  codeAt,
  codeIndex,
  inboxOf,
  Kind,
  KIND_MASK,
  mainDoorbell,
  outboxOf,
  type ThreadResult,
  type ThreadTask,
} from '../protocol.js';
import {
  DescriptorQueue,
  emptyDescriptor,
  NO_SLAB,
  openPoolMemory,
  QueueSender,
  RequestSlots,
  SlabPool,
  SlabState,
  type Descriptor,
  type SlotRef,
} from '../pool/index.js';
import { loadApp, type LoadedApp, type NativeHandler } from './app-loader.js';
import { CreditWaits } from './credit-waits.js';
import { LightRequest } from './light-request.js';
import { abortResponse, NativeResponse } from './native-response.js';
import { forward } from './report.js';
import { parseRequestHead } from './request-head.js';
import { pumpResponse } from './response-pump.js';
import { SlabWriter, type WriterContext } from './slab-writer.js';
import { UploadStream } from './upload-stream.js';

/** Descriptors handled before the loop yields to the event loop, so app work is not starved by a busy inbox. */
const BATCH = 64;
/** How long one blocking wait of an idle loop lasts before the thread's event loop gets a turn. */
const IDLE_SLICE_MS = 20;
/** After this long without a request, the loop sleeps in waitAsync only (nothing wakes the thread for nothing). */
const IDLE_ASYNC_AFTER_MS = 1000;
/**
 * The longest one waitAsync of the loop lasts; it then looks at its inbox and credit again and sleeps anew. Measured on
 * Node 26.12.1: with no timeout (Infinity), a worker sometimes slept through the ring that gave its writer credit back
 * (a slow download stalled for good with every slab free, in about half the runs of five test files together); with a
 * finite one (1 s or 3 s) it never did in 15 such runs, and a log of the 3 s runs showed no wait timing out while a
 * writer waited: the finite timeout alone avoids the stall. Node 20, 22 and 24 never stalled there.
 * A second a wait costs an idle thread nothing measurable, and bounds what any missed ring could cost.
 */
const WAIT_BACKSTOP_MS = 1000;

/** One request this thread serves. */
export interface WorkerRequest {
  ref: SlotRef;
  request: LightRequest;
  writer: SlabWriter;
  upload: UploadStream | null;
  /** The native app's response (its writer as a stream.Writable); null for fetch apps. */
  response: NativeResponse | null;
  /** Set by the pump while it reads a body stream: cancels it when the request aborts. */
  onAbort: ((reason: unknown) => void) | null;
}

export class ServeLoop {
  private readonly ctx: WriterContext;
  private readonly inbox: DescriptorQueue;
  private readonly app: LoadedApp;
  private readonly requests = new Map<number, WorkerRequest>();
  private stopping = false;

  constructor(task: ThreadTask, app: LoadedApp) {
    const memory = openPoolMemory(task.buffers);
    const pool = new SlabPool(memory, task.owner);
    const slots = new RequestSlots(memory);
    this.ctx = {
      pool,
      slots,
      credit: new CreditWaits(slots, pool),
      // Rings main's doorbell on each send: main sleeps only when nothing is in flight, so a ring is mostly one load.
      outbox: new QueueSender(new DescriptorQueue(memory, outboxOf(task.owner), mainDoorbell(memory))),
      owner: task.owner,
    };
    this.inbox = new DescriptorQueue(memory, inboxOf(task.owner));
    this.app = app;
  }

  /**
   * Loads the app, says so to main, and serves until main sends STOP. A module that fails to load is not a thread
   * death (a replacement would fail the same way): the task resolves with the coded error instead.
   */
  static async start(task: ThreadTask): Promise<ThreadResult> {
    let app: LoadedApp;
    try {
      app = await loadApp(task.appUrl);
    } catch (err) {
      return { code: 'ERR_APP_LOAD', message: (err as Error).message };
    }
    await new ServeLoop(task, app).run();
    return null;
  }

  async run(): Promise<void> {
    // First, before anything is read: main learns which thread to wait for if this loop ever ends.
    this.inbox.claim(threadId);
    this.send(0, 0, Kind.THREAD_READY, threadId);
    const d = emptyDescriptor();
    let idleSince = performance.now();
    for (;;) {
      let handled = 0;
      while (this.inbox.pop(d)) {
        try {
          this.handle(d);
        } catch (err) {
          this.contain(err, d);
        }
        if (++handled === BATCH) {
          handled = 0;
          await new Promise(setImmediate);
        }
      }
      // Woken by a descriptor, or by a ring that only gave credit back.
      this.ctx.credit.check();
      if (this.stopping && this.requests.size === 0) return;
      const now = performance.now();
      if (this.requests.size > 0) idleSince = now;
      else if (handled > 0) idleSince = now;
      await this.sleep(this.requests.size === 0 && now - idleSince < IDLE_ASYNC_AFTER_MS);
    }
  }

  /** Waits for the inbox (see the top of this file for which wait, when). */
  private async sleep(block: boolean): Promise<void> {
    const bell = this.inbox.doorbell;
    const seen = bell.arm();
    // The doorbell's re-check: descriptors, and credit given back since the loop last looked (credit rings this bell
    // too, and a ring before arm() was lost on a thread that did not yet say it sleeps).
    if (!this.inbox.isEmpty() || this.ctx.credit.ready()) {
      bell.disarm();
      return;
    }
    if (block) {
      const outcome = bell.waitSync(seen, IDLE_SLICE_MS);
      bell.disarm();
      // A slice ran out: give the thread's event loop its turn before the next one.
      if (outcome === 'timed-out') await new Promise(setImmediate);
      return;
    }
    const outcome = bell.waitAsync(seen, WAIT_BACKSTOP_MS);
    if (typeof outcome !== 'string') await outcome;
    bell.disarm();
  }

  private send(slot: number, slotGen: number, kind: number, aux: number): void {
    this.ctx.outbox.send({ slot, slotGen, slab: NO_SLAB, slabGen: 0, length: 0, kind, aux, extra: 0 });
  }

  private handle(d: Descriptor): void {
    switch (d.kind & KIND_MASK) {
      case Kind.REQUEST_HEAD:
        this.startRequest({ slot: d.slot, generation: d.slotGen }, this.inbox.takeArena(d.aux, d.length));
        return;
      case Kind.REQUEST_BODY: {
        const ex = this.current(d);
        if (ex?.upload) ex.upload.push(d.slab, d.slabGen, d.length);
        else this.ctx.pool.release(d.slab, d.slabGen, SlabState.QUEUED);
        return;
      }
      case Kind.REQUEST_END:
        this.current(d)?.upload?.end();
        return;
      case Kind.REQUEST_ABORT: {
        const ex = this.current(d);
        if (ex !== undefined) {
          const reason = new SlabserveError(codeAt(d.aux));
          ex.upload?.abort(reason);
          ex.request.abort(reason);
          ex.onAbort?.(reason);
          ex.response?.[abortResponse](reason);
        }
        return;
      }
      case Kind.STOP:
        this.stopping = true;
        return;
      case Kind.PING:
        this.send(0, 0, Kind.PONG, 0);
        return;
      default:
        throw new SlabserveError('ERR_WRITER_STATE', `unknown descriptor kind ${d.kind}`);
    }
  }

  /**
   * A descriptor could not be handled (a refused transition, a head that does not decode): a slabserve bug, caught
   * here so that it costs one request, never the thread. Its request is failed, so main answers it and takes its
   * slot back; the fault is reported to main.
   */
  private contain(err: unknown, d: Descriptor): void {
    const refused = hasCode(err, 'ERR_SLAB_TRANSITION_REFUSED');
    forward(refused ? 'slabserve:refused-transition' : 'slabserve:internal-error', { thread: 'worker', error: reportOf(err) });
    const code: ErrorCode = refused
      ? 'ERR_SLAB_TRANSITION_REFUSED'
      : hasCode(err, 'ERR_BAD_REQUEST')
        ? 'ERR_BAD_REQUEST'
        : 'ERR_WRITER_STATE';
    const ex = this.current(d);
    if (ex !== undefined) ex.writer.fail(code);
    // The request never started here: answer it, or main would wait for the app timeout.
    else if ((d.kind & KIND_MASK) === Kind.REQUEST_HEAD) this.send(d.slot, d.slotGen, Kind.RESPONSE_ERROR, codeIndex(code));
  }

  private current(d: Descriptor): WorkerRequest | undefined {
    const ex = this.requests.get(d.slot);
    return ex !== undefined && ex.ref.generation === d.slotGen ? ex : undefined;
  }

  private startRequest(ref: SlotRef, headText: string): void {
    const head = parseRequestHead(headText);
    const upload = head.hasBody ? new UploadStream(this.ctx, ref) : null;
    const request = new LightRequest(head, upload?.stream ?? null);
    // Before the request's last descriptor goes to main, this thread lets go of the request: main may hand the slot to
    // another request as soon as it reads that descriptor.
    const onFinish = (): void => {
      // The writer may see the slot's abort flag (and give up) before this loop reads the REQUEST_ABORT descriptor,
      // which then finds no request: fire request.signal here, or the app's abort listeners would never run.
      if (writer.aborted) request.abort(new SlabserveError('ERR_REQUEST_ABORTED'));
      upload?.dispose();
      if (this.requests.get(ref.slot) === ex) this.requests.delete(ref.slot);
      if (this.stopping && this.requests.size === 0) this.inbox.doorbell.ringAlways();
    };
    const writer = new SlabWriter(this.ctx, ref, head.method === 'HEAD', onFinish);
    const ex: WorkerRequest = { ref, request, writer, upload, response: null, onAbort: null };
    this.requests.set(ref.slot, ex);
    void this.serve(ex);
  }

  /**
   * Runs the app for one request. A fetch app that answers at once (most do) is served with no promise at all: the
   * handler's Response goes to the pump, and the pump to the writer, synchronously.
   */
  private serve(ex: WorkerRequest): void {
    let done: void | Promise<void>;
    try {
      if (this.app.kind === 'fetch') {
        const response = this.app.fetch(ex.request as unknown as Request);
        done = isThenable(response) ? Promise.resolve(response).then((r) => pumpResponse(r, ex)) : pumpResponse(response, ex);
      } else {
        done = this.serveNative(ex, this.app.serve);
      }
    } catch (err) {
      this.failed(ex, err);
      return;
    }
    if (done !== undefined) done.catch((err: unknown) => this.failed(ex, err));
  }

  /**
   * A native handler writes its answer (or pipes a stream into it) and ends it, as a node:http handler does: the
   * response is not ended for it when the handler returns, since a stream may still be on its way (React calls pipe()
   * from a callback, after the handler has returned). One that never ends meets the app timeout. A handler may instead
   * return a Response, which is sent fetch-style.
   */
  private async serveNative(ex: WorkerRequest, serve: NativeHandler): Promise<void> {
    const { writer, request } = ex;
    const response = new NativeResponse(writer, (err) => this.failed(ex, err));
    ex.response = response;
    const returned = await serve(request as unknown as Request, response);
    // `return response.end()` gives back the response itself.
    if (returned !== undefined && returned !== (response as unknown) && !writer.finished && !response.writableEnded) {
      await pumpResponse(returned, ex);
    }
  }

  /** The app, or the writing of its answer, failed: the request ends with a coded error; the failure is reported. */
  private failed(ex: WorkerRequest, err: unknown): void {
    const { writer, request } = ex;
    const code = failureCode(err, writer);
    try {
      writer.fail(code);
    } catch (failed) {
      // Freeing the writer's slab was refused: reported like any contained fault; the request is over anyway.
      forward('slabserve:refused-transition', { thread: 'worker', error: reportOf(failed) });
    }
    // A stream still piped into the response stops.
    ex.response?.destroy();
    if (code !== 'ERR_REQUEST_ABORTED' && code !== 'ERR_POOL_CLOSED') {
      forward('slabserve:app-error', { owner: this.ctx.owner, method: request.method, url: request.url, error: reportOf(err) });
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function failureCode(err: unknown, writer: SlabWriter): ErrorCode {
  for (const code of ['ERR_REQUEST_ABORTED', 'ERR_INVALID_HEADER', 'ERR_APP_RESPONSE', 'ERR_POOL_CLOSED'] as const) {
    if (hasCode(err, code)) return code;
  }
  if (writer.aborted) return 'ERR_REQUEST_ABORTED';
  return writer.headQueued ? 'ERR_APP_STREAM' : 'ERR_APP_THREW';
}
