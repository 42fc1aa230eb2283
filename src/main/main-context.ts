// What the main thread's parts share: the pool, its views, the counters, and waiting for a free slab (main thread).

import type { ServerResponse } from 'node:http';
import { NO_SLAB, type RequestSlots, type SlabPool } from '../pool/index.js';
import type { ResolvedOptions } from './options.js';
import type { ServerStats } from './stats.js';

/** What the main thread's parts ask of the server as a whole. */
export interface MainHooks {
  /** Frees what it can when main itself finds no free slab: copies out what stalled sockets hold. */
  relieve(): void;
  /** Something was sent to a worker: the poller should turn soon (it rings the inbox) and poll for the answer. */
  kick(): void;
  /** A request got its first answer `us` after it was dispatched (the poller's measure of worth polling). */
  noteService(us: number): void;
}

/** The owner id of the main thread in slab tags. */
export const MAIN_OWNER = 0;

export class MainContext {
  readonly pool: SlabPool;
  readonly slots: RequestSlots;
  readonly options: ResolvedOptions;
  readonly stats: ServerStats;
  /**
   * Bytes node may hold for one socket (not yet taken by the kernel) before main stops giving it slabs: half a
   * request's window, at least 64 KiB. What node holds is pinned until the socket drains; the other half of a stalled
   * request's window stays in main's hands, where pool pressure can spill it. (A whole window, measured 10–20 % faster
   * on the seed file, left stalled sockets nothing to spill.)
   */
  readonly writeAhead: number;
  private readonly slabWaiters: (() => void)[] = [];
  /** Responses corked during the current batch of descriptors; uncorked together when the batch ends. */
  private readonly corked = new Set<ServerResponse>();
  private batching = false;
  private waiting = false;
  private readonly hooks: MainHooks;

  constructor(pool: SlabPool, slots: RequestSlots, options: ResolvedOptions, stats: ServerStats, hooks: MainHooks) {
    this.pool = pool;
    this.slots = slots;
    this.options = options;
    this.stats = stats;
    this.hooks = hooks;
    this.writeAhead = Math.max(64 * 1024, Math.floor(options.window / 2) * pool.size);
  }

  /** A view of `length` bytes at `offset` in a slab: the cached view itself when that is the whole slab. */
  bytes(slab: number, offset: number, length: number): Buffer {
    const v = this.pool.view(slab);
    return offset === 0 && length === v.length ? v : v.subarray(offset, offset + length);
  }

  kick(): void {
    this.hooks.kick();
  }

  noteService(us: number): void {
    this.hooks.noteService(us);
  }

  /** A view of `length` bytes from `offset` in slab `first` on, across the slabs after it (they are contiguous). */
  run(first: number, offset: number, length: number): Buffer {
    return Buffer.from(this.pool.memory.buffers.data, first * this.pool.size + offset, length);
  }

  /** A batch of descriptors begins: writes made until endBatch() are gathered per socket. */
  beginBatch(): void {
    this.batching = true;
  }

  /** Corks `res` for the rest of the batch (once), so the slabs it is given go out as one writev. */
  gather(res: ServerResponse): void {
    if (!this.batching || res.socket === null || this.corked.has(res)) return;
    res.cork();
    this.corked.add(res);
  }

  /**
   * Writes what `res` has gathered in this batch now. Called before res.end(): Node 22 buffers a corked response's
   * chunked writes and end() put its terminator ahead of them, so a chunked body lost its last piece (Node 22.23;
   * Node 20, 24 and 26 keep the order).
   */
  flushGathered(res: ServerResponse): void {
    if (this.corked.delete(res)) res.uncork();
  }

  /** The batch is over: every corked response writes what it gathered, one syscall each. */
  endBatch(): void {
    this.batching = false;
    for (const res of this.corked) res.uncork();
    this.corked.clear();
  }

  /** True while free slabs are at or below the pressure floor: writes copy, and stalled sockets spill. */
  underPressure(): boolean {
    return this.pool.free() <= this.options.pressureFloor;
  }

  /** Takes a slab for main's own use (request heads, uploads), or NO_SLAB when none is free. */
  acquire(slot: number): number {
    return this.pool.acquire(MAIN_OWNER, slot);
  }

  /**
   * Calls `retry` once a slab may be free. Main never blocks: one waitAsync loop serves every waiter, in order. The
   * bounded wait is a safety net; releases wake it at once.
   */
  whenSlabFree(retry: () => void): void {
    this.slabWaiters.push(retry);
    if (this.waiting) return;
    this.waiting = true;
    void (async () => {
      while (this.slabWaiters.length > 0) {
        // Slabs queued for stalled sockets may be all that is left, and no batch of descriptors may come to spill
        // them (the workers wait too): spill them here, or a request head could wait for ever.
        if (this.pool.free() === 0) this.hooks.relieve();
        // Always yield: a retry that loses its slab to a worker comes back to this list, and must not spin.
        if (this.pool.free() === 0 && !this.pool.closed()) await this.pool.waitForFree(50);
        else await new Promise(setImmediate);
        const ready = this.slabWaiters.splice(0, Math.max(1, this.pool.free()));
        for (const fn of ready) fn();
        if (this.pool.closed()) break;
      }
      this.waiting = false;
    })();
  }
}

export { NO_SLAB };
