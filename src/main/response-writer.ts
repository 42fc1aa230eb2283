// Writes one response's slabs to its socket and frees each slab only in its write callback (main thread).
//
// Slabs arrive QUEUED from the worker. Main keeps them in its own hands (`pending`) and gives the socket only what it
// can take now (until node holds writeAhead bytes), so a client that stops reading pins only the few slabs it was
// last given. Each slab handed to res.write() is WRITING until its callback; that callback, or the response's 'close'
// for writes whose callback never comes (nodejs/node#36673), frees it, exactly once. Under pool pressure main copies
// instead: what it writes, and what stalled sockets hold in `pending`, so the pool keeps slabs for everyone else.
//
// No object or closure is made per write. One socket's write callbacks come in the order of its writes, so the
// slabs in flight are a FIFO of (slab, generation, length) triples in one array, the writes a FIFO of how many slabs
// each covers, and one callback made with the writer completes the oldest write. A write covers several slabs when
// they are next to each other in memory (a worker usually takes consecutive slabs): one res.write for the run, not
// one per slab, which is most of what small slabs cost. After 'close' the FIFO is emptied; a callback that comes later finds nothing and does nothing.

import type { ServerResponse } from 'node:http';
import type { ErrorCode } from '../errors.js';
import { SlabState } from '../pool/index.js';
import { writeError } from './error-response.js';
import type { MainContext } from './main-context.js';

/** Where a response stands. Descriptors that come after it ended or failed are late: their slabs are dropped. */
export const ResponseState = {
  /** In: the writer is made. Out: head() to SENDING, or fail() to FAILED, or the response's 'close'. */
  AWAITING_HEAD: 0,
  /** In: head(). Body pieces go out as the socket takes them. Out: the last piece after end() (ENDED), fail(), or
   *  'close'. */
  SENDING: 1,
  /** In: res.end() ran, or the response was cut for framing. Out: only to CLOSED. */
  ENDED: 2,
  /** In: fail() answered with an error status, or cut the connection. Out: only to CLOSED. */
  FAILED: 3,
  /** In: the response's 'close'. Nothing is written any more, and every slab still out is freed. */
  CLOSED: 4,
} as const;
export type ResponseState = (typeof ResponseState)[keyof typeof ResponseState];

/** What a writer tells the request it belongs to. */
export interface WriterOwner {
  /** Nothing of the response holds a slab or credit any more. */
  settled(): void;
  /** Enough credit came back that the worker's writer, waiting for it, must hear: ring its thread. */
  creditBack(): void;
}

/** Slab bytes waiting for the socket: in a slab (QUEUED), or spilled to the heap (copy). */
interface Piece {
  slab: number;
  gen: number;
  offset: number;
  length: number;
  copy: Buffer | null;
}

/** Bodies up to this size that come whole in one slab are copied and sent with res.end() (see whole()). */
const SMALL_BODY = 4096;

/** The slab index of a write that has no slab (a copy): it holds credit only. */
const COPY = -1;

export class ResponseWriter {
  private readonly ctx: MainContext;
  private readonly res: ServerResponse;
  private readonly owner: WriterOwner;
  private readonly slot: number;
  private readonly pending: Piece[] = [];
  // The writes in flight, oldest first, as (slab, generation, length) triples from index flightHead on.
  private readonly flights: number[] = [];
  private flightHead = 0;
  // Slabs per write in flight, oldest first, from index writeHead on.
  private readonly writes: number[] = [];
  private writeHead = 0;
  /** The one callback every write of this response is given (see the top of the file). */
  private readonly written: () => void;
  /** No body may go on the wire (HEAD, 204, 304): body slabs are freed unwritten. */
  private bodyless: boolean;
  private declared = -1;
  private queuedBytes = 0;
  private endSeen = false;
  private draining = false;
  private settled = false;
  private state: ResponseState = ResponseState.AWAITING_HEAD;
  /** Last time the socket took bytes (a write callback), for the send timeout. */
  lastProgress = 0;
  constructor(ctx: MainContext, res: ServerResponse, slot: number, bodyless: boolean, owner: WriterOwner) {
    this.ctx = ctx;
    this.res = res;
    this.slot = slot;
    this.bodyless = bodyless;
    this.owner = owner;
    this.written = () => this.completeOldest();
  }

  /** True once the response ended, failed or closed: whatever the worker sends after that is dropped. */
  get finished(): boolean {
    return this.state >= ResponseState.ENDED;
  }

  private get inFlight(): number {
    return (this.flights.length - this.flightHead) / 3;
  }

  /** True while slabs or credit are still out: pieces waiting, or writes without their callback. */
  get busy(): boolean {
    return this.pending.length > 0 || this.inFlight > 0;
  }

  /** True when bytes wait on a socket that takes none: what the send timeout and the spill look at. */
  get stalled(): boolean {
    return this.inFlight > 0 || (this.pending.length > 0 && this.res.writableNeedDrain);
  }

  /**
   * Sets status and headers; `declared` is the Content-Length the worker found in them (or -1), so nothing here reads
   * the head for it. Throws node's coded error if a header is invalid (the caller answers 500).
   */
  head(status: number, headers: string[], declared: number): void {
    if (this.state !== ResponseState.AWAITING_HEAD) return;
    this.declared = declared;
    if (status === 204 || status === 304 || status < 200) this.bodyless = true;
    this.res.writeHead(status, headers);
    this.state = ResponseState.SENDING;
    this.lastProgress = performance.now();
  }

  /** Body bytes in a QUEUED slab; the writer owns the slab from here. */
  body(slab: number, gen: number, offset: number, length: number): void {
    if (this.state !== ResponseState.SENDING || this.bodyless || length === 0) {
      this.dropSlab(slab, gen);
      return;
    }
    this.queuedBytes += length;
    if (this.declared >= 0 && this.queuedBytes > this.declared) {
      // More bytes than the app's Content-Length: the response can no longer be framed; cut it.
      this.dropSlab(slab, gen);
      this.ctx.stats.count('ERR_APP_STREAM');
      this.res.destroy();
      return;
    }
    this.pending.push({ slab, gen, offset, length, copy: null });
    this.pump();
  }

  /**
   * The whole body in one slab, after the head: the response is complete. A small one is copied out and sent with
   * res.end() (node writes head and body as one write), and its slab is free at once: for a few hundred bytes, the
   * copy costs less than following a write to its callback.
   */
  whole(slab: number, gen: number, offset: number, length: number): void {
    if (length > SMALL_BODY || this.state !== ResponseState.SENDING || this.bodyless || this.pending.length > 0 || this.inFlight > 0) {
      this.body(slab, gen, offset, length);
      return;
    }
    this.queuedBytes = length;
    if (this.declared >= 0 && length !== this.declared) {
      this.body(slab, gen, offset, length);
      return;
    }
    const copy = length === 0 ? null : this.copyOut({ slab, gen, offset, length, copy: null });
    if (length === 0) this.ctx.pool.release(slab, gen, SlabState.QUEUED);
    this.giveCredit();
    this.endSeen = true;
    this.state = ResponseState.ENDED;
    this.ctx.stats.bytesWritten += length;
    this.ctx.flushGathered(this.res);
    if (copy === null) this.res.end();
    else this.res.end(copy);
    this.settle();
  }

  /** The worker finished the body. The response ends once every pending piece is written. */
  end(): void {
    this.endSeen = true;
    this.pump();
  }

  /** Writes pending pieces while the socket takes them, and ends the response after the last. */
  pump(): void {
    const res = this.res;
    if (this.state !== ResponseState.SENDING) return;
    const ahead = this.ctx.writeAhead;
    // Write while node holds fewer than `ahead` bytes: the kernel usually takes a write at once, and only what it
    // cannot take stays in node's hands (pinning its slabs). writableNeedDrain would stop after every slab larger than
    // the socket's 16 KiB high-water mark, one syscall and one 'drain' per slab. Several ready slabs go out corked, as
    // one writev.
    while (this.pending.length > 0 && res.writableLength < ahead) {
      const corked = this.pending.length > 1 && res.socket !== null;
      if (corked) res.cork();
      while (this.pending.length > 0 && res.writableLength < ahead) this.write(ahead - res.writableLength);
      if (corked) res.uncork();
    }
    if (this.pending.length > 0 && !this.draining) {
      // The socket is full: go on when it drains (listened for only by responses that ever fill their socket).
      this.draining = true;
      res.on('drain', () => this.pump());
    }
    if (this.endSeen && this.pending.length === 0) {
      this.state = ResponseState.ENDED;
      if (!this.bodyless && this.declared >= 0 && this.queuedBytes !== this.declared) {
        // Fewer bytes than declared: ending cleanly would make a short body look whole (README, ownership rule 8).
        this.ctx.stats.count('ERR_APP_STREAM');
        res.destroy();
        return;
      }
      this.ctx.flushGathered(res);
      res.end();
      this.settle();
    }
  }

  /**
   * Answers with an error status when no head has gone out, or cuts the connection when one has: a response whose
   * head is on the wire can no longer say it failed, and must never look complete (README, ownership rule 8).
   */
  fail(code: ErrorCode): void {
    if (this.state >= ResponseState.ENDED) return;
    this.state = ResponseState.FAILED;
    this.dropPending();
    if (this.res.headersSent) this.res.destroy();
    else writeError(this.res, code, false, this.bodyless);
    this.settle();
  }

  /**
   * Under pool pressure, copies the pieces a stalled socket holds out of their slabs and frees the slabs. The
   * request's credit stays taken until the copies are written, so a stalled client still holds at most its window.
   */
  spill(): void {
    if (!this.res.writableNeedDrain) return;
    for (const p of this.pending) {
      if (p.copy !== null) continue;
      p.copy = this.copyOut(p);
      this.ctx.stats.spilledSlabs++;
    }
  }

  /** The response is over (finished or the socket closed): frees what no callback will free. */
  close(): void {
    if (this.state === ResponseState.CLOSED) return;
    this.state = ResponseState.CLOSED;
    this.dropPending();
    // After 'close' the socket's handle is closed: libuv has let go of every buffer, so freeing is safe even for
    // writes whose callback has not run (and for those that never will, nodejs/node#36673).
    while (this.inFlight > 0) this.completeOldest();
    this.settle();
  }

  /** Frees a QUEUED slab of this response that will never be written, and its credit (bodyless response, closed
   *  socket, framing error, a late descriptor, a head slab already copied out). */
  dropSlab(slab: number, gen: number): void {
    this.ctx.pool.release(slab, gen, SlabState.QUEUED);
    this.giveCredit();
  }

  /**
   * Writes the first pending piece, with the pieces after it that continue it in memory, up to `room` bytes: slab i
   * full to its end, then slab i+1 from its start, and so on.
   */
  private write(room: number): void {
    const { ctx, res } = this;
    const p = this.pending.shift()!;
    if (this.inFlight === 0) this.lastProgress = performance.now();
    let bytes: Buffer;
    if (p.copy !== null || ctx.underPressure() || res.socket === null) {
      // Copies: spilled already, under pressure, or for a pipelined response that does not own the socket yet (node
      // buffers it in the response, where no callback may come before the socket is gone). The pieces after it that
      // fit the room go into the same buffer: one allocation and one write for all of them.
      let length = p.length;
      let count = 1;
      while (count < this.pending.length + 1 && length + this.pending[count - 1]!.length <= room) {
        length += this.pending[count - 1]!.length;
        count++;
      }
      bytes = count === 1 && p.copy !== null ? p.copy : Buffer.allocUnsafe(length);
      let at = 0;
      for (let k = 0; k < count; k++) {
        const piece = k === 0 ? p : this.pending.shift()!;
        if (piece.copy === null) {
          this.copyOut(piece, bytes, at);
          ctx.stats.copiedWrites++;
        } else if (bytes !== piece.copy) piece.copy.copy(bytes, at);
        at += piece.length;
        this.flights.push(COPY, piece.gen, piece.length);
      }
      this.writes.push(count);
    } else {
      const size = ctx.pool.size;
      ctx.pool.startWrite(p.slab, p.gen);
      this.flights.push(p.slab, p.gen, p.length);
      let slabs = 1;
      let length = p.length;
      let last = p;
      for (;;) {
        const q = this.pending[0];
        if (q === undefined || q.copy !== null || q.slab !== last.slab + 1 || q.offset !== 0) break;
        if (last.offset + last.length !== size || length + q.length > room) break;
        this.pending.shift();
        ctx.pool.startWrite(q.slab, q.gen);
        this.flights.push(q.slab, q.gen, q.length);
        slabs++;
        length += q.length;
        last = q;
      }
      bytes = slabs === 1 ? ctx.bytes(p.slab, p.offset, p.length) : ctx.run(p.slab, p.offset, length);
      this.writes.push(slabs);
    }
    ctx.gather(res);
    res.write(bytes, this.written);
  }

  /**
   * Copies a piece's bytes out of its slab (into `into` at `at`, or a new buffer), and frees the slab now: the credit
   * stays taken until the copy is written.
   */
  private copyOut(p: Piece, into: Buffer | null = null, at = 0): Buffer {
    const { pool } = this.ctx;
    pool.startWrite(p.slab, p.gen);
    const view = this.ctx.bytes(p.slab, p.offset, p.length);
    const copy = into ?? Buffer.allocUnsafe(p.length);
    view.copy(copy, at);
    pool.release(p.slab, p.gen, SlabState.WRITING);
    return copy;
  }

  /** The oldest write's callback came (or the socket closed): free its slabs, if it has any, and their credit. */
  private completeOldest(): void {
    if (this.inFlight === 0) return;
    const slabs = this.writes[this.writeHead++]!;
    const f = this.flights;
    let length = 0;
    for (let k = 0; k < slabs; k++) {
      const i = this.flightHead;
      this.flightHead += 3;
      if (f[i] !== COPY) this.ctx.pool.release(f[i]!, f[i + 1]!, SlabState.WRITING);
      length += f[i + 2]!;
      this.giveCredit();
    }
    if (this.inFlight === 0) {
      // Reuse the arrays from the start: they never grow past the window.
      f.length = this.flightHead = this.writes.length = this.writeHead = 0;
    }
    if (this.state === ResponseState.CLOSED) return;
    this.lastProgress = performance.now();
    this.ctx.stats.bytesWritten += length;
    if (this.pending.length > 0) this.pump();
    this.settle();
  }

  /** Frees what waits in main's hands: slabs go back to the pool (spilled copies have none), credit to the request. */
  private dropPending(): void {
    for (const p of this.pending.splice(0)) {
      if (p.copy === null) this.ctx.pool.release(p.slab, p.gen, SlabState.QUEUED);
      this.giveCredit();
    }
  }

  private settle(): void {
    if (this.settled || this.busy || this.state < ResponseState.ENDED) return;
    this.settled = true;
    this.owner.settled();
  }

  /** One unit of the request's credit back; the worker hears of it when half its window is back. */
  private giveCredit(): void {
    if (this.ctx.slots.gaveResponseSlab(this.slot)) this.owner.creditBack();
  }
}
