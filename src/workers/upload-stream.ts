// A request body as a web ReadableStream, fed by upload slabs from main (worker thread).
//
// Upload slabs stay in this thread's hands (QUEUED) until the app pulls; only then are their bytes copied out and
// the slab freed. So a slow reader keeps the request's upload window full, and main stops reading the socket. The
// copy is required: web streams refuse views of a SharedArrayBuffer.

import { SlabserveError } from '../errors.js';
import { Kind } from '../protocol.js';
import { SlabState, type SlotRef } from '../pool/index.js';
import type { WriterContext } from './slab-writer.js';

interface Piece {
  slab: number;
  gen: number;
  length: number;
}

export class UploadStream {
  readonly stream: ReadableStream<Uint8Array>;
  private readonly ctx: WriterContext;
  private readonly ref: SlotRef;
  private readonly pieces: Piece[] = [];
  private ended = false;
  private disposed = false;
  private wake: (() => void) | null = null;
  private controller!: ReadableStreamDefaultController<Uint8Array>;

  constructor(ctx: WriterContext, ref: SlotRef) {
    this.ctx = ctx;
    this.ref = ref;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: (controller) => this.pull(controller),
        cancel: () => this.dispose(),
      },
      { highWaterMark: 0 },
    );
  }

  /** An upload slab arrived (QUEUED, ours to consume). */
  push(slab: number, gen: number, length: number): void {
    if (this.disposed) {
      // Late: the request is finished and main may already have handed its slot to another request, so the slot's
      // counters are no longer ours to move. Only the slab goes back.
      this.ctx.pool.release(slab, gen, SlabState.QUEUED);
      return;
    }
    this.pieces.push({ slab, gen, length });
    this.notify();
  }

  /** The upload is complete. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** The request was aborted: the app's reads fail, and held slabs go back. */
  abort(reason: unknown): void {
    if (this.disposed) return;
    try {
      this.controller.error(reason ?? new SlabserveError('ERR_REQUEST_ABORTED'));
    } catch {
      // Already closed or errored.
    }
    this.dispose();
  }

  /** Frees every slab still held. Idempotent; called before the request's last descriptor goes to main. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const piece of this.pieces.splice(0)) this.releasePiece(piece, SlabState.QUEUED);
    this.notify();
  }

  private async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    while (this.pieces.length === 0 && !this.ended && !this.disposed) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const piece = this.pieces.shift();
    if (piece === undefined) {
      if (!this.disposed) controller.close();
      return;
    }
    const { pool } = this.ctx;
    pool.startWrite(piece.slab, piece.gen);
    const copy = new Uint8Array(piece.length);
    copy.set(pool.view(piece.slab).subarray(0, piece.length));
    this.releasePiece(piece, SlabState.WRITING);
    controller.enqueue(copy);
  }

  private releasePiece(piece: Piece, from: SlabState): void {
    const { pool, slots, outbox } = this.ctx;
    pool.release(piece.slab, piece.gen, from);
    const owned = slots.gaveUploadSlab(this.ref.slot);
    if (owned === slots.window(this.ref.slot) - 1) {
      const { slot, generation } = this.ref;
      outbox.send({ slot, slotGen: generation, slab: -1, slabGen: 0, length: 0, kind: Kind.UPLOAD_CREDIT, aux: 0, extra: 0 });
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
