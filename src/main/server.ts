// startServer(): the node:http server, dispatch to worker threads, and the life of the whole (main thread).

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SlabserveError, type ErrorCode } from '../errors.js';
import { Kind, KIND_MASK } from '../messages.js';
import { createPoolMemory, RequestSlots, SlabPool, SlabState, type Descriptor } from '../pool/index.js';
import { ConnectionTracker, type ConnectionHooks } from './client-errors.js';
import { writeError } from './error-response.js';
import { Exchange } from './exchange.js';
import { cleanUpAfterThread } from './thread-death.js';
import { createHttpFront } from './http-front.js';
import { MainContext, MAIN_OWNER } from './main-context.js';
import { resolveOptions, type ResolvedOptions, type ServerOptions } from './options.js';
import { OutboxReader } from './outbox-reader.js';
import { checkRequest } from './request-guard.js';
import { ServerStats, type StatsSnapshot } from './stats.js';
import { ThreadSupervisor, type ThreadState } from './thread-supervisor.js';

export interface SlabServer {
  port: number;
  url: string;
  stats(): StatsSnapshot;
  /** Graceful: refuses new connections, lets in-flight responses finish, then stops the threads and the pool. */
  close(): Promise<void>;
}

/** How long a thread may hold on to a request after its app timed out before the thread is terminated. */
const APP_GRACE_MS = 1000;

class ServerCore implements SlabServer {
  port = 0;
  url = '';
  private readonly options: ResolvedOptions;
  private readonly ctx: MainContext;
  private readonly http: Server;
  private readonly supervisor: ThreadSupervisor;
  private readonly readers: OutboxReader[];
  /** Exchanges by slot. */
  private readonly bySlot: (Exchange | undefined)[];
  private readonly live = new Set<Exchange>();
  private readonly byRequest = new WeakMap<IncomingMessage, Exchange>();
  private readonly connections = new ConnectionTracker();
  /** Requests that arrived while every slot was in use, answered in order as slots come back. */
  private readonly waiting: [IncomingMessage, ServerResponse][] = [];
  private readonly sweep: NodeJS.Timeout;
  private readonly ready: Promise<void>;
  private readyCount = 0;
  private markReady!: () => void;
  private failStart!: (err: Error) => void;
  private closing: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  constructor(options: ResolvedOptions) {
    this.options = options;
    const memory = createPoolMemory({
      slabSize: options.slabSize,
      slabCount: options.slabCount,
      slotCount: options.maxInflight,
      queueCount: 2 * options.threads,
      // Room for every slab, plus a control descriptor or two per request: a push never finds the ring full.
      queueCapacity: options.slabCount + 2 * options.maxInflight + 64,
    });
    const stats = new ServerStats();
    stats.observeGc();
    this.ctx = new MainContext(new SlabPool(memory, MAIN_OWNER), new RequestSlots(memory), options, stats);
    this.bySlot = new Array(options.maxInflight);
    this.ready = new Promise((resolve, reject) => {
      this.markReady = resolve;
      this.failStart = reject;
    });
    this.supervisor = new ThreadSupervisor(memory, {
      threads: options.threads,
      appUrl: options.appUrl,
      resourceLimits: options.resourceLimits,
      onDeath: (thread, error) => this.onThreadDeath(thread, error),
      onLoadError: (_thread, result) => this.failStart(new SlabserveError(result.code, result.message)),
    });
    this.readers = this.supervisor.threads.map(
      (thread) =>
        new OutboxReader(
          thread.outbox,
          (d) => this.route(thread, d),
          () => this.ctx.beginBatch(),
          () => this.afterBatch(),
          () => thread.active > 0,
        ),
    );
    this.http = createHttpFront(options, {
      request: (req, res, expectsContinue) => this.onRequest(req, res, expectsContinue),
      expectationFailed: (req, res) => {
        this.connections.track(req, res, null);
        this.refuse(res, 'ERR_EXPECTATION_FAILED');
      },
      clientError: (code, socket) => {
        if (code !== null) this.ctx.stats.count(code);
        this.connections.refuse(socket, code);
      },
    });
    const timeouts = [options.sendTimeout, options.appTimeout].filter((t) => t > 0);
    const period = Math.min(1000, Math.max(10, Math.min(...timeouts, 4000) / 4));
    this.sweep = setInterval(() => this.onSweep(), period).unref();
  }

  async listen(): Promise<void> {
    await this.ready;
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port, this.options.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const address = this.http.address() as AddressInfo;
    this.port = address.port;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.url = `http://${host}:${this.port}`;
  }

  stats(): StatsSnapshot {
    const { pool, stats } = this.ctx;
    return {
      slabs: { total: pool.count, free: pool.free(), lowWater: pool.lowWater(), size: pool.size },
      requests: stats.requests,
      responses: stats.responses,
      inflight: this.live.size,
      bytesWritten: stats.bytesWritten,
      waits: pool.waits(),
      copiedWrites: stats.copiedWrites,
      spilledSlabs: stats.spilledSlabs,
      refusedTransitions: pool.refused(),
      errors: { ...stats.errors },
      threads: {
        count: this.supervisor.threads.length,
        restarts: this.supervisor.threads.reduce((n, t) => n + t.restarts, 0),
      },
      gc: { ...stats.gc },
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Stops everything after a failed start (the app did not load), without waiting for requests. */
  async abandon(): Promise<void> {
    clearInterval(this.sweep);
    for (const r of this.readers) r.stop();
    this.ctx.pool.close();
    await this.supervisor.stop();
    this.ctx.stats.stop();
  }

  private async shutdown(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    for (const [, res] of this.waiting) res.shouldKeepAlive = false;
    for (const ex of this.live) ex.res.shouldKeepAlive = false;
    if (this.live.size > 0 || this.waiting.length > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.http.closeIdleConnections();
    await closed;
    await this.abandon();
  }

  /** A request node parsed. `expectsContinue`: the client waits for 100 Continue before it sends the body. */
  private onRequest(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    this.ctx.stats.requests++;
    if (this.closing !== null) res.shouldKeepAlive = false;
    const refusal = checkRequest(req, this.options);
    if (refusal !== null) {
      // Refused before the body is read (for 100-continue, before the client sends it).
      this.connections.track(req, res, null);
      this.refuse(res, refusal);
      return;
    }
    this.connections.track(req, res, this.hooksFor(req, res));
    if (expectsContinue) res.writeContinue();
    this.dispatch(req, res);
  }

  /** What the connection tracker calls for a request: its exchange once dispatched, the waiting list before. */
  private hooksFor(req: IncomingMessage, res: ServerResponse): ConnectionHooks {
    const unqueue = (): boolean => {
      const at = this.waiting.findIndex(([r]) => r === req);
      if (at >= 0) this.waiting.splice(at, 1);
      return at >= 0;
    };
    return {
      socketClosed: () => {
        if (!unqueue()) this.exchangeOf(req)?.socketClosed();
      },
      bodyError: (code) => {
        if (unqueue()) this.refuse(res, code);
        else this.exchangeOf(req)?.bodyError(code);
      },
    };
  }

  private exchangeOf(req: IncomingMessage): Exchange | undefined {
    return this.byRequest.get(req);
  }

  /** Answers a refused request itself, and closes the connection after it: what follows on it cannot be trusted. */
  private refuse(res: ServerResponse, code: ErrorCode): void {
    this.ctx.stats.count(code);
    writeError(res, code, true);
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const ref = this.ctx.slots.open(this.options.window);
    if (ref === null) {
      this.waiting.push([req, res]);
      return;
    }
    const thread = this.supervisor.pick();
    thread.active++;
    const ex = new Exchange(this.ctx, ref, thread, req, res);
    this.bySlot[ref.slot] = ex;
    this.live.add(ex);
    this.byRequest.set(req, ex);
    ex.onRetire = () => this.onRetire(ex);
  }

  private onRetire(ex: Exchange): void {
    this.bySlot[ex.ref.slot] = undefined;
    this.live.delete(ex);
    this.ctx.stats.responses++;
    const next = this.waiting.shift();
    if (next !== undefined) this.dispatch(...next);
    if (this.closing !== null) {
      this.http.closeIdleConnections();
      if (this.live.size === 0 && this.waiting.length === 0) this.drained?.();
    }
  }

  private route(thread: ThreadState, d: Descriptor): void {
    const kind = d.kind & KIND_MASK;
    if (kind === Kind.THREAD_READY) {
      thread.threadId = d.aux;
      if (++this.readyCount === this.supervisor.threads.length) this.markReady();
      return;
    }
    const ex = this.bySlot[d.slot];
    if (ex !== undefined && ex.ref.generation === d.slotGen && ex.thread === thread) {
      ex.onDescriptor(d);
    } else if (d.slab >= 0) {
      // A descriptor for a request that is gone: its slab was never going anywhere.
      this.ctx.pool.release(d.slab, d.slabGen, SlabState.QUEUED);
    }
  }

  /** After each batch of descriptors: gathered writes go out, and if free slabs run low, stalled sockets give
   *  theirs back (one copy each). */
  private afterBatch(): void {
    this.ctx.endBatch();
    if (!this.ctx.underPressure()) return;
    for (const ex of this.live) if (ex.writer.stalled) ex.writer.spill();
  }

  /**
   * The timers, checked together on one coarse interval instead of a timer per request:
   * - sendTimeout cuts off clients that took no bytes for that long (nginx's send_timeout: reset by each write);
   * - appTimeout answers 504 for an app that produced no head in time and aborts its request; a thread that has not
   *   let go of the request APP_GRACE_MS later is stuck (or ignores aborts) and is terminated.
   */
  private onSweep(): void {
    const { sendTimeout, appTimeout } = this.options;
    const now = performance.now();
    for (const ex of this.live) {
      if (sendTimeout > 0 && ex.writer.stalled && now - ex.writer.lastProgress > sendTimeout) {
        this.ctx.stats.count('ERR_SEND_TIMEOUT');
        ex.res.destroy();
      }
      if (appTimeout === 0 || ex.answered || ex.workerDone) continue;
      if (ex.timedOutAt === 0 && now - ex.started > appTimeout) ex.timedOut(now);
      else if (ex.timedOutAt > 0 && now - ex.timedOutAt > APP_GRACE_MS) {
        console.error(`slabserve: thread ${ex.thread.owner} did not let go of a timed-out request; terminating it`);
        this.supervisor.kill(ex.thread);
      }
    }
  }

  private onThreadDeath(thread: ThreadState, error: unknown): void {
    console.error(`slabserve: worker thread ${thread.owner} died:`, error instanceof Error ? error.message : error);
    cleanUpAfterThread(this.ctx.pool, thread, this.readers[thread.owner - 1]!, this.live);
  }
}

/** Starts a server: threads up and the app loaded in each, then listening. Resolves to the running server. */
export async function startServer(options: ServerOptions): Promise<SlabServer> {
  const core = new ServerCore(resolveOptions(options));
  try {
    await core.listen();
  } catch (err) {
    await core.abandon();
    throw err;
  }
  return core;
}
