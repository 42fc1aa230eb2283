// The worker's long-lived loop: drains its inbox, runs the app for each request, and writes the answers (worker thread).
//
// One loop runs per thread for the thread's whole life, so a request costs two descriptors through shared memory
// instead of a piscina run() (a postMessage and a promise each way). The loop never blocks: it sleeps on its inbox
// with Atomics.waitAsync, so the app's own async work goes on meanwhile.

import { threadId } from 'node:worker_threads';
import { reportOf } from '../diagnostics.js';
import { hasCode, SlabserveError, type ErrorCode } from '../errors.js';
import {
  codeAt,
  codeIndex,
  decodeStrings,
  FLAG_MORE,
  inboxOf,
  Kind,
  KIND_MASK,
  outboxOf,
  type ThreadResult,
  type ThreadTask,
} from '../messages.js';
import {
  DescriptorQueue,
  emptyDescriptor,
  openPoolMemory,
  QueueSender,
  RequestSlots,
  SlabPool,
  NO_SLAB,
  SlabState,
  type Descriptor,
  type SlotRef,
} from '../pool/index.js';
import { loadApp, type LoadedApp } from './app-loader.js';
import { forward } from './report.js';
import { LightRequest } from './light-request.js';
import { parseRequestHead } from './request-head.js';
import { pumpResponse } from './response-pump.js';
import { SlabWriter, type WriterContext } from './slab-writer.js';
import { UploadStream } from './upload-stream.js';

/** Descriptors handled before the loop yields to the event loop, so app work is not starved by a busy inbox. */
const BATCH = 64;

/** One request this thread serves. */
export interface WorkerRequest {
  ref: SlotRef;
  request: LightRequest;
  writer: SlabWriter;
  upload: UploadStream | null;
  /** Set by the pump while it reads a body stream: cancels it when the request aborts. */
  onAbort: ((reason: unknown) => void) | null;
}

export class ServeLoop {
  private readonly ctx: WriterContext;
  private readonly inbox: DescriptorQueue;
  private readonly app: LoadedApp;
  private readonly exchanges = new Map<number, WorkerRequest>();
  /** Pieces of request heads longer than one slab, by slot. */
  private readonly longHeads = new Map<number, { generation: number; parts: Buffer[] }>();
  private stopping = false;

  constructor(task: ThreadTask, app: LoadedApp) {
    const memory = openPoolMemory(task.buffers);
    const pool = new SlabPool(memory, task.owner);
    this.ctx = {
      pool,
      slots: new RequestSlots(memory),
      outbox: new QueueSender(new DescriptorQueue(memory, outboxOf(task.owner))),
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
    this.ctx.outbox.send(0, 0, -1, 0, 0, Kind.THREAD_READY, threadId);
    const d = emptyDescriptor();
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
      if (this.stopping && this.exchanges.size === 0) return;
      const waited = this.inbox.waitNonEmpty();
      if (typeof waited !== 'string') await waited;
    }
  }

  private handle(d: Descriptor): void {
    switch (d.kind & KIND_MASK) {
      case Kind.REQUEST_HEAD:
        this.onHead(d);
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
        if (this.longHeads.get(d.slot)?.generation === d.slotGen) this.longHeads.delete(d.slot);
        const ex = this.current(d);
        if (ex !== undefined) {
          const reason = new SlabserveError(codeAt(d.aux));
          ex.upload?.abort(reason);
          ex.request.abort(reason);
          ex.onAbort?.(reason);
        }
        return;
      }
      case Kind.STOP:
        this.stopping = true;
        return;
      case Kind.PING:
        this.ctx.outbox.send(0, 0, NO_SLAB, 0, 0, Kind.PONG, 0);
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
    const code: ErrorCode = refused ? 'ERR_SLAB_TRANSITION_REFUSED' : 'ERR_WRITER_STATE';
    const ex = this.current(d);
    if (ex !== undefined) {
      ex.writer.fail(code);
    } else if ((d.kind & KIND_MASK) === Kind.REQUEST_HEAD) {
      // The request never started here: answer it, or main would wait for the app timeout.
      if (this.longHeads.get(d.slot)?.generation === d.slotGen) this.longHeads.delete(d.slot);
      this.ctx.outbox.send(d.slot, d.slotGen, NO_SLAB, 0, 0, Kind.RESPONSE_ERROR, codeIndex(code));
    }
  }

  private current(d: Descriptor): WorkerRequest | undefined {
    const ex = this.exchanges.get(d.slot);
    return ex !== undefined && ex.ref.generation === d.slotGen ? ex : undefined;
  }

  /** Copies the head out of its slab and frees the slab at once; a long head is gathered piece by piece. */
  private onHead(d: Descriptor): void {
    const { pool } = this.ctx;
    pool.startWrite(d.slab, d.slabGen);
    let strings: string[] | null = null;
    try {
      const bytes = pool.view(d.slab).subarray(0, d.aux);
      const held = this.longHeads.get(d.slot);
      if ((d.kind & FLAG_MORE) !== 0 || held?.generation === d.slotGen) {
        const parts = held?.generation === d.slotGen ? held.parts : [];
        parts.push(Buffer.from(bytes));
        if ((d.kind & FLAG_MORE) !== 0) this.longHeads.set(d.slot, { generation: d.slotGen, parts });
        else {
          this.longHeads.delete(d.slot);
          strings = decodeStrings(Buffer.concat(parts));
        }
      } else {
        strings = decodeStrings(bytes);
      }
    } finally {
      // Copied out (or not decodable): the slab goes back either way.
      pool.release(d.slab, d.slabGen, SlabState.WRITING);
    }
    if (strings !== null) this.startExchange({ slot: d.slot, generation: d.slotGen }, strings);
  }

  private startExchange(ref: SlotRef, strings: string[]): void {
    const head = parseRequestHead(strings);
    const writer = new SlabWriter(this.ctx, ref, head.method === 'HEAD');
    const upload = head.hasBody ? new UploadStream(this.ctx, ref) : null;
    const request = new LightRequest(head, upload?.stream ?? null);
    const ex: WorkerRequest = { ref, request, writer, upload, onAbort: null };
    this.exchanges.set(ref.slot, ex);
    // Before the request's last descriptor goes to main, this thread lets go of the request: main may hand the slot to
    // another request as soon as it reads that descriptor.
    writer.onFinish = () => {
      // The writer may see the slot's abort flag (and give up) before this loop reads the REQUEST_ABORT descriptor,
      // which then finds no exchange: fire request.signal here, or the app's abort listeners would never run.
      if (writer.aborted) ex.request.abort(new SlabserveError('ERR_REQUEST_ABORTED'));
      upload?.dispose();
      if (this.exchanges.get(ref.slot) === ex) this.exchanges.delete(ref.slot);
      if (this.stopping && this.exchanges.size === 0) this.inbox.wakeConsumer();
    };
    void this.serve(ex);
  }

  private async serve(ex: WorkerRequest): Promise<void> {
    const { writer, request } = ex;
    try {
      if (this.app.kind === 'fetch') {
        const response = await this.app.fetch(request as unknown as Request);
        await pumpResponse(response, ex);
      } else {
        // A native handler may also answer fetch-style, by returning a Response instead of writing.
        const returned = await this.app.serve(request as unknown as Request, writer);
        if (returned !== undefined && !writer.finished) await pumpResponse(returned, ex);
        else if (!writer.finished) await writer.end();
      }
    } catch (err) {
      const code = failureCode(err, writer);
      try {
        writer.fail(code);
      } catch (failed) {
        // Freeing the writer's slab was refused: reported like any contained fault; the request is over anyway.
        forward('slabserve:refused-transition', { thread: 'worker', error: reportOf(failed) });
      }
      if (code !== 'ERR_REQUEST_ABORTED' && code !== 'ERR_POOL_CLOSED') {
        forward('slabserve:app-error', { owner: this.ctx.owner, method: request.method, url: request.url, error: reportOf(err) });
      }
    }
  }
}

function failureCode(err: unknown, writer: SlabWriter): ErrorCode {
  for (const code of ['ERR_REQUEST_ABORTED', 'ERR_INVALID_HEADER', 'ERR_APP_RESPONSE', 'ERR_POOL_CLOSED'] as const) {
    if (hasCode(err, code)) return code;
  }
  if (writer.aborted) return 'ERR_REQUEST_ABORTED';
  return writer.headQueued ? 'ERR_APP_STREAM' : 'ERR_APP_THREW';
}
