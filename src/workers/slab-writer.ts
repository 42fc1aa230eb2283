// The response writer: fills slabs with the head and body of one response and queues them to main (worker thread).
//
// This is the native interface that apps can use directly (fill the current slab in place, then commit), and the one
// the fetch-style pump writes through. Every slab it takes counts against the request's window: with no credit, or no
// free slab, it waits (asynchronously, so other requests on this thread go on) and never fails.

import { SlabserveError, type ErrorCode } from '../errors.js';
import { codeIndex, encodeResponseHead, FLAG_END, FLAG_MORE, Kind } from '../protocol.js';
import { NO_SLAB, SlabState, type QueueSender, type RequestSlots, type SlabPool, type SlotRef } from '../pool/index.js';
import { checkHeaders, HAS_CONTENT_LENGTH, HAS_CONTENT_TYPE, type HeaderInput } from './header-check.js';
import type { CreditWaits } from './credit-waits.js';
import { acquireSlow, acquireSync, tryAcquire } from './slab-credit.js';

/** What every writer on a thread shares. */
export interface WriterContext {
  pool: SlabPool;
  slots: RequestSlots;
  /** Writers waiting for credit, settled by the serve loop when main rings. */
  credit: CreditWaits;
  outbox: QueueSender;
  owner: number;
}


/** Bytes a head's fields take as a head text (latin1, one byte per char, LF between fields). */
function headSize(fields: readonly string[]): number {
  let n = fields.length - 1;
  for (const f of fields) n += f.length;
  return n;
}

/** The Content-Length among a head's fields (the last one, as node:http would send them all), or -1. */
function declaredLength(fields: readonly string[]): number {
  let declared = -1;
  for (let i = 1; i < fields.length; i += 2) {
    if (fields[i]!.length === 14 && fields[i]!.toLowerCase() === 'content-length') declared = Number(fields[i + 1]);
  }
  return Number.isSafeInteger(declared) && declared >= 0 ? declared : -1;
}

/** Statuses whose responses never have a body (RFC 9110 §6.4.1). */
function forbidsBody(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

export class SlabWriter {
  private readonly ctx: WriterContext;
  private readonly ref: SlotRef;
  /** No body goes on the wire (a HEAD request): body bytes are counted, then dropped. */
  readonly bodyless: boolean;
  private cur = NO_SLAB;
  private curGen = 0;
  /** The slab after the last one this writer queued: asked for first, so the body runs on in memory. */
  private next = -1;
  private used = 0;
  private headInSlab = 0;
  /** The head's fields ([status, name, value, ...]) until they are placed in a slab. */
  private head: string[] | null = null;
  /** The Content-Length the head declares, or -1: it travels with the head, so main never reads the head for it. */
  private declared = -1;
  private headWasQueued = false;
  private ended = false;
  /** Runs once, right before the request's last descriptor goes to main. */
  private onFinish: (() => void) | null;
  private flushScheduled = false;
  private bodyBytes = 0;

  constructor(ctx: WriterContext, ref: SlotRef, bodyless: boolean, onFinish: () => void) {
    this.ctx = ctx;
    this.ref = ref;
    this.bodyless = bodyless;
    this.onFinish = onFinish;
  }

  /** True once writeHead() was called (the head goes out with the first slab). */
  get headersSent(): boolean {
    return this.head !== null || this.headWasQueued;
  }

  /** True when the client went away or the server gave up on this request; further writes throw. */
  get aborted(): boolean {
    return this.ctx.slots.aborted(this.ref);
  }

  /** True once the head has been queued to main: a failure from here on must cut the connection. */
  get headQueued(): boolean {
    return this.headWasQueued;
  }

  /** True once end() or fail() ran. */
  get finished(): boolean {
    return this.ended;
  }

  /** Bytes of body written so far. */
  get bytesWritten(): number {
    return this.bodyBytes;
  }

  /** Sets the status and headers. Invalid names or values (CR, LF, NUL, non-tokens) are refused with ERR_INVALID_HEADER. */
  writeHead(status: number, headers?: HeaderInput): this {
    this.startHead(status, headers);
    return this;
  }

  /**
   * Sends a whole response whose body is in hand (a string goes out as UTF-8): status, headers, then the body, with a
   * Content-Length (and `defaultType` as Content-Type) unless the headers have their own. Head and body share one slab
   * when they fit, so a small response leaves this thread as one descriptor.
   */
  respond(
    status: number,
    headers: HeaderInput | undefined,
    body: string | Uint8Array | null,
    defaultType: string | null,
  ): void | Promise<void> {
    const head = this.startHead(status, undefined);
    const bits = checkHeaders(headers, head);
    const length = body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    if (defaultType !== null && (bits & HAS_CONTENT_TYPE) === 0) head.push('content-type', defaultType);
    if (!forbidsBody(status) && (bits & HAS_CONTENT_LENGTH) === 0) {
      head.push('content-length', String(length));
      this.declared = length;
    } else if ((bits & HAS_CONTENT_LENGTH) !== 0) this.declared = declaredLength(head);
    const sent = length > 0 && !forbidsBody(status) ? body : null;
    // The usual case, done here with no promise: head and body fit one slab, and one is free now.
    if (this.cur === NO_SLAB && headSize(head) + (this.bodyless ? 0 : length) <= this.ctx.pool.size) {
      this.checkOpen();
      const slab = tryAcquire(this.ctx, this.ref, this.next);
      if (slab !== NO_SLAB) {
        this.adopt(slab);
        if (sent !== null) this.copyFits(sent, length);
        this.ended = true;
        this.finish();
        this.queueCurrent(true);
        return;
      }
    }
    return this.respondSlowly(sent);
  }

  private async respondSlowly(body: string | Uint8Array | null): Promise<void> {
    if (body !== null) await this.put(body);
    await this.end();
  }

  /** Copies `chunk` (`length` bytes) into the current slab, which has room for it. */
  private copyFits(chunk: string | Uint8Array, length: number): void {
    if (!this.bodyless) {
      const view = this.ctx.pool.view(this.cur);
      if (typeof chunk === 'string') view.write(chunk, this.used, length, 'utf8');
      else view.set(chunk, this.used);
      this.used += length;
    }
    this.bodyBytes += length;
  }

  /**
   * The free part of the current slab, to fill in place (for example with fs.readSync), then commit(n). Waits for
   * credit and a free slab when needed. The view is valid only until the next commit, write or end.
   */
  async slab(): Promise<Uint8Array> {
    this.checkOpen();
    const wait = this.ensureSpace();
    if (wait !== null) await wait;
    return this.ctx.pool.view(this.cur).subarray(this.used);
  }

  /** The blocking form of slab(): it blocks this thread (and its other requests) while it waits. */
  slabSync(): Uint8Array {
    this.ensureSpaceSync();
    return this.ctx.pool.view(this.cur).subarray(this.used);
  }

  /** Marks `n` bytes of the view from slab() as written. A full slab is queued to main at once. */
  commit(n: number): void {
    this.checkOpen();
    if (this.cur === NO_SLAB) throw new SlabserveError('ERR_WRITER_STATE', 'commit() without slab()');
    if (!Number.isInteger(n) || n < 0 || this.used + n > this.ctx.pool.size) {
      throw new SlabserveError('ERR_WRITER_STATE', `commit(${n}) does not fit the ${this.ctx.pool.size - this.used} free bytes`);
    }
    this.used += n;
    this.bodyBytes += n;
    if (this.used === this.ctx.pool.size) this.queueCurrent(false);
    else this.flushSoon();
  }

  /** Copies bytes (or a UTF-8 string) into slabs, waiting for credit as needed. */
  async write(chunk: Uint8Array | string): Promise<void> {
    await this.put(chunk);
    this.flushSoon();
  }

  /** Writes the last bytes, if any, and completes the response. */
  async end(chunk?: Uint8Array | string): Promise<void> {
    if (chunk !== undefined) await this.put(chunk);
    this.checkOpen();
    if (this.head === null && !this.headWasQueued) this.head = ['200'];
    if (this.head !== null) {
      // Nothing queued yet: the head (and whatever body is in the slab) goes out now, with the end flag.
      const wait = this.ensureSlab();
      if (wait !== null) await wait;
    }
    this.ended = true;
    this.finish();
    if (this.cur !== NO_SLAB) this.queueCurrent(true);
    else this.sendControl(Kind.RESPONSE_END, 0);
  }

  /** Sends what the current slab holds now instead of when it fills (for streams that pause). */
  flush(): void {
    if (this.cur !== NO_SLAB && this.used > 0 && !this.ended) this.queueCurrent(false);
  }

  /**
   * Gives up on the response: frees the slab being filled and tells main why. Main answers 500 if no head went out,
   * or destroys the connection so a cut body never looks complete. Safe to call more than once.
   */
  fail(code: ErrorCode): void {
    if (this.ended) return;
    this.ended = true;
    this.dropCurrent();
    this.finish();
    this.sendControl(Kind.RESPONSE_ERROR, codeIndex(code));
  }

  private sendControl(kind: number, aux: number): void {
    const { slot, generation } = this.ref;
    this.ctx.outbox.send({ slot, slotGen: generation, slab: NO_SLAB, slabGen: 0, length: 0, kind, aux, extra: 0 });
  }

  /**
   * Copies bytes (or a UTF-8 string) into slabs, queueing each slab that fills; schedules nothing. The copy runs
   * synchronously while the request has credit and the pool a free slab, and returns null when it is done; otherwise it
   * returns a promise for the rest. (The native response's stream face depends on that: a write that completes at once
   * leaves nothing buffered, so `write()` can say true.)
   */
  put(chunk: Uint8Array | string): Promise<void> | null {
    this.checkOpen();
    if (this.bodyless) {
      this.bodyBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      return null;
    }
    if (typeof chunk === 'string') {
      const wait = this.ensureSpace();
      if (wait !== null) {
        const text = chunk;
        return wait.then(() => this.put(text) ?? undefined);
      }
      // Straight into the slab when it surely fits (the usual small body): no intermediate Buffer.
      if (chunk.length * 3 <= this.ctx.pool.size - this.used) {
        const n = this.ctx.pool.view(this.cur).write(chunk, this.used, 'utf8');
        this.used += n;
        this.bodyBytes += n;
        if (this.used === this.ctx.pool.size) this.queueCurrent(false);
        return null;
      }
      chunk = Buffer.from(chunk);
    }
    return this.putFrom(chunk, 0);
  }

  /** put() from byte `off` of `chunk` on. */
  private putFrom(chunk: Uint8Array, off: number): Promise<void> | null {
    const size = this.ctx.pool.size;
    while (off < chunk.length) {
      const wait = this.ensureSpace();
      if (wait !== null) {
        const from = off;
        return wait.then(() => {
          this.checkOpen();
          return this.putFrom(chunk, from) ?? undefined;
        });
      }
      const n = Math.min(chunk.length - off, size - this.used);
      this.ctx.pool.view(this.cur).set(off === 0 && n === chunk.length ? chunk : chunk.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
      this.bodyBytes += n;
      if (this.used === size) this.queueCurrent(false);
    }
    return null;
  }

  /**
   * Null when the next byte written has a place now (room in the current slab, or credit for another); else a promise
   * that settles once the request has credit again. Takes nothing. Rejects ERR_REQUEST_ABORTED or ERR_POOL_CLOSED.
   */
  creditWait(): Promise<void> | null {
    return this.hasRoom() ? null : this.ctx.credit.wait(this.ref);
  }

  /** True when the next byte written has a place now: room in the current slab, or credit for another. */
  hasRoom(): boolean {
    return (this.cur !== NO_SLAB && this.used < this.ctx.pool.size) || this.ctx.slots.hasCredit(this.ref.slot);
  }

  /** Checks the status and makes the head: [status, name, value, ...], to be filled by the caller. */
  private startHead(status: number, headers?: HeaderInput): string[] {
    if (this.headersSent) throw new SlabserveError('ERR_WRITER_STATE', 'writeHead() was already called');
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      throw new SlabserveError('ERR_WRITER_STATE', `status ${status} is not a 3-digit code`);
    }
    const head = [String(status)];
    if (headers !== undefined && (checkHeaders(headers, head) & HAS_CONTENT_LENGTH) !== 0) {
      this.declared = declaredLength(head);
    }
    this.head = head;
    return head;
  }

  private finish(): void {
    const hook = this.onFinish;
    this.onFinish = null;
    hook?.();
  }

  // ---- slabs ----

  private checkOpen(): void {
    if (this.ended) throw new SlabserveError('ERR_WRITER_STATE', 'the response has ended');
    if (this.aborted) throw new SlabserveError('ERR_REQUEST_ABORTED');
  }

  /** Makes sure the current slab has free bytes; null when it already has, else a promise. */
  private ensureSpace(): Promise<void> | null {
    if (this.cur !== NO_SLAB && this.used < this.ctx.pool.size) return null;
    if (this.cur !== NO_SLAB) this.queueCurrent(false);
    return this.ensureSlab();
  }

  private ensureSpaceSync(): void {
    this.checkOpen();
    if (this.cur !== NO_SLAB && this.used < this.ctx.pool.size) return;
    if (this.cur !== NO_SLAB) this.queueCurrent(false);
    if (this.head === null && !this.headWasQueued) this.head = ['200'];
    this.placeHeadSync();
    if (this.cur === NO_SLAB) this.cur = acquireSync(this.ctx, this.ref, this.next);
  }

  /** Takes a slab, and puts the pending head at its start. Null when done synchronously. */
  private ensureSlab(): Promise<void> | null {
    if (this.cur !== NO_SLAB) return null;
    if (this.head === null && !this.headWasQueued) this.head = ['200'];
    if (this.head !== null && headSize(this.head) > this.ctx.pool.size) return this.placeLongHead();
    const i = tryAcquire(this.ctx, this.ref, this.next);
    if (i === NO_SLAB) return acquireSlow(this.ctx, this.ref, this.next).then((slab) => this.adopt(slab));
    this.adopt(i);
    return null;
  }

  /**
   * Makes `slab` the current one and writes the pending head at its start, if it fits. A slab that arrives after the
   * response ended (an end() or fail() while a write waited for it) goes straight back, with its credit.
   */
  private adopt(slab: number): void {
    if (this.ended) {
      this.ctx.pool.release(slab, this.ctx.pool.generation(slab), SlabState.FILLING);
      this.ctx.slots.gaveResponseSlab(this.ref.slot);
      throw new SlabserveError('ERR_WRITER_STATE', 'the response ended while a write waited for a slab');
    }
    this.cur = slab;
    this.curGen = this.ctx.pool.generation(slab);
    this.used = 0;
    this.headInSlab = 0;
    if (this.head !== null) {
      const text = encodeResponseHead(this.head);
      this.used = this.headInSlab = this.ctx.pool.view(slab).write(text, 0, text.length, 'latin1');
      this.head = null;
    }
  }

  /** A head larger than a slab goes out in slab-size pieces flagged MORE; its last piece starts the body slab. */
  private async placeLongHead(): Promise<void> {
    const bytes = Buffer.from(encodeResponseHead(this.head!), 'latin1');
    this.head = null;
    const size = this.ctx.pool.size;
    let off = 0;
    for (; bytes.length - off > size; off += size) {
      const slab = await acquireSlow(this.ctx, this.ref);
      this.ctx.pool.view(slab).set(bytes.subarray(off, off + size), 0);
      const gen = this.ctx.pool.generation(slab);
      this.ctx.pool.queue(slab, gen, size);
      this.sendSlab(slab, gen, size, Kind.RESPONSE_HEAD | FLAG_MORE, size);
    }
    const slab = await acquireSlow(this.ctx, this.ref);
    this.cur = slab;
    this.curGen = this.ctx.pool.generation(slab);
    this.ctx.pool.view(slab).set(bytes.subarray(off), 0);
    this.used = this.headInSlab = bytes.length - off;
  }

  private placeHeadSync(): void {
    if (this.head === null) return;
    if (headSize(this.head) > this.ctx.pool.size) {
      throw new SlabserveError('ERR_WRITER_STATE', 'a head larger than one slab needs the async writer');
    }
    this.adopt(acquireSync(this.ctx, this.ref, this.next));
  }

  /** FILLING → QUEUED, then the descriptor: main owns the slab's fate from here. */
  private queueCurrent(end: boolean): void {
    const slab = this.cur;
    const gen = this.curGen;
    const length = this.used;
    const kind = this.headInSlab > 0 ? Kind.RESPONSE_HEAD : Kind.RESPONSE_BODY;
    this.next = slab + 1;
    this.cur = NO_SLAB;
    this.used = 0;
    if (this.headInSlab > 0) this.headWasQueued = true;
    const aux = this.headInSlab;
    this.headInSlab = 0;
    this.ctx.pool.queue(slab, gen, length);
    this.sendSlab(slab, gen, length, kind | (end ? FLAG_END : 0), aux);
  }

  /** A slab's descriptor; a head carries the declared Content-Length with it. */
  private sendSlab(slab: number, slabGen: number, length: number, kind: number, aux: number): void {
    const { slot, generation } = this.ref;
    this.ctx.outbox.send({ slot, slotGen: generation, slab, slabGen, length, kind, aux, extra: this.declared });
  }

  /** Frees the slab being filled: the request is gone, so its bytes will never be sent. */
  private dropCurrent(): void {
    if (this.cur === NO_SLAB) return;
    const slab = this.cur;
    this.cur = NO_SLAB;
    this.used = 0;
    this.ctx.pool.release(slab, this.curGen, SlabState.FILLING);
    this.ctx.slots.gaveResponseSlab(this.ref.slot);
  }

  /** Sends a partly filled slab once the current burst of writes is over, so paused streams are not held back. */
  flushSoon(): void {
    if (this.flushScheduled || this.cur === NO_SLAB) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (!this.ended && !this.aborted) this.flush();
    });
  }
}
