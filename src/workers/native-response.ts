// The native response: the slab writer with the face of a Node stream.Writable, so Node streams pipe straight into
// slabs (worker thread).
//
// `source.pipe(response)`, `pipeline(source, response)` and React's `renderToPipeableStream(...).pipe(response)` all
// work. Each chunk is copied into the current slab at once while the request has credit and the pool a free slab, so
// chunk boundaries never make slab boundaries: many small writes fill one slab, which goes to main when it is full or
// when the burst of writes is over. Backpressure follows credit, not a byte count:
// - write() returns false when the chunk had to wait for credit (it is held, as a Writable holds its chunks), or when
//   it used the last of the request's window; 'drain' fires when credit comes back.
// - A source piped into a client that stopped reading pauses, so the response holds at most its window of slabs and
//   one chunk.
// end() queues the last slab ('finish' fires then); destroy(err) fails the response as an app error does (a 500 before
// the head, a cut connection after it); a client that goes away destroys a watched response with ERR_REQUEST_ABORTED
// (see [abortResponse]).
//
// The slab calls (slab(), commit(), slabSync(), flush(), writeHead()) work on the same writer. slab() first waits for
// writes still waiting for credit, so bytes keep their order.

import { Writable } from 'node:stream';
import { SlabserveError } from '../errors.js';
import type { HeaderInput } from './header-check.js';
import type { SlabWriter } from './slab-writer.js';

type Callback = (err?: Error | null) => void;

/** Tells a native response that its request was aborted (the serve loop's call). */
export const abortResponse = Symbol('slabserve.abortResponse');

/** A Writable's chunk as the writer takes it: UTF-8 strings as they are (copied straight into the slab), else bytes. */
function chunkBytes(chunk: Uint8Array | string, encoding: BufferEncoding): Uint8Array | string {
  if (typeof chunk !== 'string' || encoding === 'utf8' || encoding === 'utf-8') return chunk;
  return Buffer.from(chunk, encoding);
}

export class NativeResponse extends Writable {
  readonly #core: SlabWriter;
  readonly #onFail: (err: Error) => void;
  /** write() said false: 'drain' is owed once nothing waits and there is credit again. */
  #owesDrain = false;
  /** A credit wait for an owed 'drain' is under way. */
  #watching = false;
  /** slab() calls waiting for held writes to be placed. */
  #idle: (() => void)[] = [];

  /**
   * @param core the request's slab writer
   * @param onFail fails the request with `err` (the serve loop's app-failure path); called once, while unfinished
   */
  constructor(core: SlabWriter, onFail: (err: Error) => void) {
    // The Writable's own high-water mark is never reached: write() answers from the request's credit instead.
    super({ decodeStrings: false, highWaterMark: Number.MAX_SAFE_INTEGER });
    this.#core = core;
    this.#onFail = onFail;
    // An error here has already failed the response (_destroy); with no listener of the app's it must not also throw
    // out of the thread and take its other requests with it.
    this.on('error', ignore);
  }

  // ---- the slab writer's own calls ----

  /** True once writeHead() was called, or the first byte was written. */
  get headersSent(): boolean {
    return this.#core.headersSent;
  }

  /** True when the client went away or the server gave up on this request. */
  get aborted(): boolean {
    return this.#core.aborted;
  }

  /** Bytes of body placed in slabs so far. */
  get bytesWritten(): number {
    return this.#core.bytesWritten;
  }

  /** Sets the status and headers; sent with the first slab. ERR_INVALID_HEADER for a bad name or value. */
  writeHead(status: number, headers?: HeaderInput): this {
    this.#core.writeHead(status, headers);
    return this;
  }

  /** The free part of the current slab, to fill in place, then commit(n). Waits for held writes, then for credit. */
  async slab(): Promise<Uint8Array> {
    this.#checkOpen();
    while (this.writableLength > 0 && !this.destroyed) await new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#checkOpen();
    return this.#core.slab();
  }

  /** The blocking form of slab(). */
  slabSync(): Uint8Array {
    this.#checkOpen();
    if (this.writableLength > 0) {
      throw new SlabserveError('ERR_WRITER_STATE', 'slabSync() while written chunks wait for credit: use slab()');
    }
    return this.#core.slabSync();
  }

  /** Marks `n` bytes of the view from slab() as written. */
  commit(n: number): void {
    this.#checkOpen();
    this.#core.commit(n);
  }

  /** Sends what the current slab holds now instead of when it fills. */
  flush(): void {
    this.#core.flush();
  }

  // ---- stream.Writable ----

  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    // After end(), a Writable would destroy itself with the late write's error, and so cut a response that may still
    // be finishing. The late write is refused instead, as the writer's other calls are (no stream writes after end()).
    if (this.writableEnded) this.#checkOpen();
    // The client has gone: the stream fails now, as a Writable does ('error', then 'close'), and says false. It never
    // throws here, since React and pipe() write before they listen for errors.
    if (!this.destroyed && this.#core.aborted) this.destroy(new SlabserveError('ERR_REQUEST_ABORTED'));
    super.write(chunk, encoding as BufferEncoding, cb as Callback);
    if (this.destroyed) return false;
    // Nothing held, and room for the next byte: the caller may go on.
    if (this.writableLength === 0 && this.#core.hasRoom()) return true;
    this.#owesDrain = true;
    if (this.writableLength === 0) this.#watchCredit();
    return false;
  }

  override end(chunk?: unknown, encoding?: unknown, cb?: unknown): this {
    const data = typeof chunk !== 'function' && chunk !== undefined && chunk !== null;
    if (data && this.writableEnded) this.#checkOpen();
    if (!this.destroyed && this.#core.aborted) this.destroy(new SlabserveError('ERR_REQUEST_ABORTED'));
    return super.end(chunk as string, encoding as BufferEncoding, cb as () => void);
  }

  /**
   * The request was aborted (the client went away, or the app timed out). A stream watching the response (pipe(),
   * pipeline() and React listen for 'close') hears it now: the response is destroyed with `reason`, and the request
   * ends. An app that is not watching hears it from its next call (write() says false and destroys the response;
   * slab() and commit() throw), and until then holds its request, as a fetch handler that ignores request.signal does.
   */
  [abortResponse](reason: Error): void {
    if (this.#watched()) this.destroy(reason);
  }

  override _write(chunk: Uint8Array | string, encoding: BufferEncoding, cb: Callback): void {
    let wait: Promise<void> | null;
    try {
      wait = this.#core.put(chunkBytes(chunk, encoding));
    } catch (err) {
      cb(err as Error);
      return;
    }
    if (wait === null) this.#placed(cb);
    else this.#whenPlaced(wait, () => this.#placed(cb), cb);
  }

  override _writev(chunks: { chunk: Uint8Array | string; encoding: BufferEncoding }[], cb: Callback): void {
    this.#placeFrom(chunks, 0, cb);
  }

  override _final(cb: Callback): void {
    this.#core.end().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: Callback): void {
    if (!this.#core.finished) this.#onFail(err ?? new Error('the response was destroyed before it ended'));
    this.#settle();
    cb(err);
  }

  /** Copies chunks[i..] into slabs: at once while there is credit, else after it comes; then calls cb. */
  #placeFrom(chunks: { chunk: Uint8Array | string; encoding: BufferEncoding }[], i: number, cb: Callback): void {
    for (; i < chunks.length; i++) {
      let wait: Promise<void> | null;
      try {
        wait = this.#core.put(chunkBytes(chunks[i]!.chunk, chunks[i]!.encoding));
      } catch (err) {
        cb(err as Error);
        return;
      }
      if (wait !== null) {
        const next = i + 1;
        this.#whenPlaced(wait, () => this.#placeFrom(chunks, next, cb), cb);
        return;
      }
    }
    this.#placed(cb);
  }

  /** Every byte of a write is in a slab: the slab goes out when this burst of writes is over. */
  #placed(cb: Callback): void {
    this.#core.flushSoon();
    cb();
  }

  /** Goes on once a write that waited for credit is placed, or fails it; either way, see #settle. */
  #whenPlaced(wait: Promise<void>, then: () => void, cb: Callback): void {
    wait.then(
      () => {
        then();
        this.#settle();
      },
      (err: Error) => {
        cb(err);
        this.#settle();
      },
    );
  }

  /** A held write was placed (or failed): wake slab() callers, and pay an owed 'drain' once nothing waits. */
  #settle(): void {
    if (this.writableLength > 0 && !this.destroyed) return;
    for (const resolve of this.#idle.splice(0)) resolve();
    if (this.#owesDrain && !this.destroyed) this.#watchCredit();
  }

  /**
   * 'drain' once the request has credit again. Never synchronously, even when the credit is there already (main gives
   * it back from another thread at any moment): the caller that was told false must have paused before it hears.
   */
  #watchCredit(): void {
    if (this.#watching) return;
    let wait: Promise<void> | null;
    try {
      wait = this.#core.creditWait();
    } catch {
      return;
    }
    this.#watching = true;
    Promise.resolve(wait).then(
      () => {
        this.#watching = false;
        this.#drain();
      },
      // Aborted, or the pool closed: the abort destroys this stream; nothing will drain.
      () => {
        this.#watching = false;
      },
    );
  }

  #drain(): void {
    if (!this.#owesDrain || this.destroyed || this.writableLength > 0) return;
    this.#owesDrain = false;
    this.emit('drain');
  }

  static {
    // pipe() checks writableNeedDrain before its first write: true while a 'drain' is owed. (Writable declares it as a
    // property, so it is replaced on the prototype rather than overridden as an accessor.)
    Object.defineProperty(NativeResponse.prototype, 'writableNeedDrain', {
      get(this: NativeResponse): boolean {
        return this.#owesDrain;
      },
    });
  }

  #checkOpen(): void {
    if (this.writableEnded) throw new SlabserveError('ERR_WRITER_STATE', 'the response has ended');
    if (this.#core.aborted) throw new SlabserveError('ERR_REQUEST_ABORTED');
    if (this.destroyed) throw new SlabserveError('ERR_WRITER_STATE', 'the response was destroyed');
  }

  /** Something besides this class listens to the stream: a pipe, pipeline(), React, or the app's own listeners. */
  #watched(): boolean {
    return (
      this.listenerCount('close') > 0 ||
      this.listenerCount('finish') > 0 ||
      this.listenerCount('drain') > 0 ||
      this.listenerCount('error') > 1
    );
  }
}

function ignore(): void {}
