// Moves a request body from the socket into upload slabs for the worker, within the request's window (main thread).
//
// Each chunk node's parser gives is copied into slabs (the parser's buffers are node's, not ours to share) and queued
// to the worker. When the request owns its window of upload slabs, or the pool has none free, main pauses the
// request, so the socket stops being read; the worker's UPLOAD_CREDIT, or a freed slab, resumes it.

import type { IncomingMessage } from 'node:http';
import { control, Kind } from '../protocol.js';
import { NO_SLAB, type QueueSender, type SlotRef } from '../pool/index.js';
import type { MainContext } from './main-context.js';

export class UploadReader {
  private readonly ctx: MainContext;
  private readonly req: IncomingMessage;
  private readonly ref: SlotRef;
  private readonly sender: QueueSender;
  private readonly backlog: Buffer[] = [];
  private ended = false;
  private endSent = false;
  private stopped = false;
  private waitingForSlab = false;
  /** False until the request head is queued to the worker: a body slab that overtook its head would be dropped. */
  private headQueued = false;
  /** Bytes received so far. */
  received = 0;

  constructor(
    ctx: MainContext,
    req: IncomingMessage,
    ref: SlotRef,
    sender: QueueSender,
    onTooLarge: () => void,
    onTruncated: () => void,
  ) {
    this.ctx = ctx;
    this.req = req;
    this.ref = ref;
    this.sender = sender;
    // A client that closes its side mid-body ends the socket with the body incomplete. node's parser reports that as
    // a clientError, and with the server's 'clientError' listener node neither destroys the socket nor aborts req:
    // nothing else would end this request (the app would wait for the rest of its body forever, its slot never freed).
    const socket = req.socket;
    const onSocketEnd = (): void => {
      if (!req.complete && !this.stopped) onTruncated();
    };
    socket.once('end', onSocketEnd);
    req.once('end', () => socket.off('end', onSocketEnd));
    const limit = ctx.options.maxBodySize;
    req.on('data', (chunk: Buffer) => {
      if (this.stopped) return;
      this.received += chunk.length;
      if (limit > 0 && this.received > limit) {
        // Counted as it streams, chunked bodies too: the bytes past the limit never reach the worker.
        this.stop();
        onTooLarge();
        return;
      }
      this.backlog.push(chunk);
      this.flush();
    });
    req.on('end', () => {
      this.ended = true;
      this.flush();
    });
  }

  /** The whole request head is queued to the worker: body slabs may follow it. */
  headSent(): void {
    this.headQueued = true;
    this.flush();
  }

  /** The worker consumed upload slabs. */
  credit(): void {
    this.flush();
  }

  /** The request is over on the worker's side, or aborted: read and drop the rest, send nothing more. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.backlog.length = 0;
    this.req.resume();
  }

  private flush(): void {
    if (this.stopped) return;
    if (!this.headQueued) {
      // Hold what arrived until the head is on its way; the socket waits meanwhile.
      if (this.backlog.length > 0) this.req.pause();
      return;
    }
    const { ctx, ref } = this;
    const size = ctx.pool.size;
    while (this.backlog.length > 0) {
      if (ctx.slots.uploadOwned(ref.slot) >= ctx.slots.window(ref.slot)) {
        this.req.pause();
        return;
      }
      const slab = ctx.acquire(ref.slot);
      if (slab === NO_SLAB) {
        this.req.pause();
        if (!this.waitingForSlab) {
          this.waitingForSlab = true;
          ctx.whenSlabFree(() => {
            this.waitingForSlab = false;
            this.flush();
          });
        }
        return;
      }
      const chunk = this.backlog[0]!;
      const n = Math.min(chunk.length, size);
      chunk.copy(ctx.pool.view(slab), 0, 0, n);
      if (n === chunk.length) this.backlog.shift();
      else this.backlog[0] = chunk.subarray(n);
      const gen = ctx.pool.generation(slab);
      ctx.pool.queue(slab, gen, n);
      ctx.slots.tookUploadSlab(ref.slot);
      this.sender.send({ slot: ref.slot, slotGen: ref.generation, slab, slabGen: gen, length: n, kind: Kind.REQUEST_BODY, aux: 0, extra: 0 });
    }
    if (this.ended && !this.endSent) {
      this.endSent = true;
      this.sender.send(control(ref.slot, ref.generation, Kind.REQUEST_END));
    }
    if (!this.ended) this.req.resume();
  }
}
