// startServer(): the node:http server, dispatch to worker threads, and the life of the whole (main thread).

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isForwardedDiagnostic, publish, reportOf } from '../diagnostics.js';
import { hasCode, SlabserveError, type ErrorCode } from '../errors.js';
import { Kind, KIND_MASK, mainDoorbell } from '../protocol.js';
import { createPoolMemory, RequestSlots, SlabPool, SlabState, type Descriptor } from '../pool/index.js';
import { ConnectionTracker, type ConnectionHooks } from './client-errors.js';
import { writeError } from './error-response.js';
import { Exchange } from './exchange.js';
import { cleanUpAfterThread } from './thread-death.js';
import { within } from './deadline.js';
import { createHttpFront } from './http-front.js';
import { MainContext, MAIN_OWNER } from './main-context.js';
import { resolveOptions, type ResolvedOptions, type ServerOptions } from './options.js';
import { OutboxPoller } from './outbox-poller.js';
import { checkRequest } from './request-guard.js';
import { ServerStats, type StatsSnapshot } from './stats.js';
import { ThreadSupervisor, type ThreadState } from './thread-supervisor.js';
import { ThreadWatch } from './thread-watch.js';

export interface SlabServer {
  port: number;
  url: string;
  stats(): StatsSnapshot;
  /** Graceful: refuses new connections, lets in-flight responses finish, then stops the threads and the pool. */
  close(): Promise<void>;
}

class ServerCore implements SlabServer {
  port = 0;
  url = '';
  private readonly options: ResolvedOptions;
  private readonly ctx: MainContext;
  private readonly http: Server;
  private readonly supervisor: ThreadSupervisor;
  private readonly watch: ThreadWatch;
  private readonly poller: OutboxPoller;
  /** Exchanges by slot. */
  private readonly bySlot: (Exchange | undefined)[];
  private readonly live = new Set<Exchange>();
  private readonly connections = new ConnectionTracker();
  /** Requests that arrived while every slot was in use, answered in order as slots come back. */
  private readonly waiting: WaitingRequest[] = [];
  private readonly retire = (ex: Exchange): void => this.onRetire(ex);
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
      // Room for every slab plus a control descriptor or two per request: a ring is rarely full. When one is (a thread
      // stuck on the CPU while heads and aborts pile up), QueueSender keeps the rest in order until it has room.
      queueCapacity: options.slabCount + 2 * options.maxInflight + 64,
      // Room for four of the largest heads node's parser lets through (maxHeaderSize + maxUrlLength), and more.
      arenaBytes: Math.max(256 * 1024, 4 * (options.maxHeaderSize + options.maxUrlLength + 1024)),
    });
    const stats = new ServerStats();
    stats.observeGc();
    this.ctx = new MainContext(new SlabPool(memory, MAIN_OWNER), new RequestSlots(memory), options, stats, {
      relieve: () => this.spillStalled(),
      kick: () => this.poller.kick(),
      noteService: (us) => this.poller.noteService(us),
    });
    this.bySlot = new Array(options.maxInflight);
    this.ready = new Promise((resolve, reject) => {
      this.markReady = resolve;
      this.failStart = reject;
    });
    this.supervisor = new ThreadSupervisor(memory, {
      threads: options.threads,
      appUrl: options.appUrl,
      resourceLimits: options.resourceLimits,
      onDeath: (thread, error, threadId) => this.onThreadDeath(thread, error, threadId),
      onLoadError: (_thread, result) => this.failStart(new SlabserveError(result.code, result.message)),
      onMessage: (message) => {
        if (isForwardedDiagnostic(message)) publish(message.slabserveDiagnostic, message.event);
      },
      onAvailable: () => this.dispatchWaiting(),
      ringLater: () => this.poller.kick(),
    });
    this.watch = new ThreadWatch(this.supervisor, options, stats);
    const threads = this.supervisor.threads;
    this.poller = new OutboxPoller(threads, mainDoorbell(memory), {
      route: (thread, d) => this.route(thread, d),
      onError: (thread, err, d) => this.onRouteError(thread, err, d),
      beforeBatch: () => this.ctx.beginBatch(),
      afterBatch: () => this.afterBatch(),
      expecting: () => this.live.size > 0 || this.watch.drainingCount > 0,
      eachTurn: () => {
        for (const t of threads) while (t.headsWaiting.length > 0 && t.headsWaiting[0]!.sendHead()) t.headsWaiting.shift();
      },
    });
    this.http = createHttpFront(options, {
      request: (req, res, expectsContinue) => this.onRequest(req, res, expectsContinue),
      expectationFailed: (req, res) => {
        this.connections.track(req, res, null);
        this.refuse(res, 'ERR_EXPECTATION_FAILED');
      },
      clientError: (code, socket) => {
        if (!this.connections.refuse(socket, code) && code !== null) this.ctx.stats.count(code);
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
        draining: this.watch.drainingCount,
        terminated: stats.threadsTerminated,
      },
      gc: { ...stats.gc },
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Stops the threads (terminating those still running at `deadline`) and the pool. Also after a failed start. */
  async abandon(deadline = Infinity): Promise<void> {
    clearInterval(this.sweep);
    this.poller.stop();
    this.ctx.pool.close();
    await this.supervisor.stop(deadline);
    this.ctx.stats.stop();
  }

  /**
   * Graceful close: new connections are refused at once and in-flight responses finish. If they have not finished
   * within closeTimeout, the remaining connections are cut (their requests abort like any client that left), and
   * threads that do not stop within the rest of the time are terminated.
   */
  private async shutdown(): Promise<void> {
    const deadline = this.options.closeTimeout > 0 ? performance.now() + this.options.closeTimeout : Infinity;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    for (const w of this.waiting) w.res.shouldKeepAlive = false;
    for (const ex of this.live) ex.res.shouldKeepAlive = false;
    if (this.live.size > 0 || this.waiting.length > 0) {
      const drained = new Promise<void>((resolve) => (this.drained = resolve));
      if ((await within(drained, deadline)) === 'late') this.cutConnections();
    }
    this.http.closeIdleConnections();
    if ((await within(closed, deadline)) === 'late') this.http.closeAllConnections();
    await closed;
    await this.abandon(deadline);
  }

  /** closeTimeout passed: every connection still open is cut. */
  private cutConnections(): void {
    this.ctx.stats.count('ERR_CLOSE_TIMEOUT');
    for (const w of this.waiting.splice(0)) w.res.destroy();
    for (const ex of this.live) ex.res.destroy();
    this.http.closeAllConnections();
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
    if (expectsContinue) res.writeContinue();
    // Its exchange (or, while it waits for a slot, its place in line) hears of the connection.
    const ex = this.tryDispatch(req, res);
    if (ex !== 'wait') {
      this.connections.track(req, res, ex === 'refused' ? null : ex);
      return;
    }
    const waiting = new WaitingRequest(req, res, this);
    this.waiting.push(waiting);
    this.connections.track(req, res, waiting);
  }

  /** A waiting request's client left, or broke its body: it leaves the line. */
  unqueue(waiting: WaitingRequest, code: ErrorCode | null): void {
    const at = this.waiting.indexOf(waiting);
    if (at >= 0) this.waiting.splice(at, 1);
    if (code !== null) this.refuse(waiting.res, code);
  }

  /** Answers a refused request itself, and closes the connection after it: what follows on it cannot be trusted. */
  private refuse(res: ServerResponse, code: ErrorCode): void {
    this.ctx.stats.count(code);
    writeError(res, code, true);
  }

  /** Dispatches waiting requests, in order, while slots and threads allow. */
  private dispatchWaiting(): void {
    while (this.waiting.length > 0) {
      const w = this.waiting[0]!;
      const ex = this.tryDispatch(w.req, w.res);
      if (ex === 'wait') return;
      this.waiting.shift();
      if (ex !== 'refused') w.exchange = ex;
    }
  }

  /**
   * Hands the request to a thread: its exchange. 'wait' when every slot is in use or every thread is restarting;
   * 'refused' when no thread will ever take it (it was answered 503).
   */
  private tryDispatch(req: IncomingMessage, res: ServerResponse): Exchange | 'wait' | 'refused' {
    const thread = this.supervisor.pick();
    if (thread === null) {
      if (!this.supervisor.allDown()) return 'wait';
      // No thread can load the app any more: nothing will ever answer.
      this.refuse(res, 'ERR_APP_LOAD');
      return 'refused';
    }
    const ref = this.ctx.slots.open(this.options.window);
    if (ref === null) return 'wait';
    thread.active++;
    const ex = new Exchange(this.ctx, ref, thread, req, res, this.retire);
    this.bySlot[ref.slot] = ex;
    this.live.add(ex);
    return ex;
  }

  private onRetire(ex: Exchange): void {
    this.bySlot[ex.ref.slot] = undefined;
    this.live.delete(ex);
    this.ctx.stats.responses++;
    this.dispatchWaiting();
    if (this.closing !== null) {
      this.http.closeIdleConnections();
      if (this.live.size === 0 && this.waiting.length === 0) this.drained?.();
    }
  }

  private route(thread: ThreadState, d: Descriptor): void {
    const kind = d.kind & KIND_MASK;
    if (kind === Kind.THREAD_READY) {
      if (++this.readyCount === this.supervisor.threads.length) this.markReady();
      return;
    }
    if (kind === Kind.PONG) {
      this.watch.pong(thread);
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
    if (this.ctx.underPressure()) this.spillStalled();
  }

  /** Copies out the slabs stalled sockets hold in main's hands, and frees them (one copy each). */
  private spillStalled(): void {
    for (const ex of this.live) if (ex.writer.stalled) ex.writer.spill();
  }

  /**
   * The timers, checked together on one coarse interval instead of a timer per request:
   * - sendTimeout cuts off clients that took no bytes for that long (nginx's send_timeout: reset by each write);
   * - appTimeout answers 504 for an app that produced no head in time and aborts its request (see ThreadWatch for
   *   a thread that does not let go of it).
   */
  private onSweep(): void {
    const { sendTimeout } = this.options;
    const now = performance.now();
    for (const ex of this.live) {
      if (sendTimeout > 0 && ex.writer.stalled && now - ex.writer.lastProgress > sendTimeout) {
        this.ctx.stats.count('ERR_SEND_TIMEOUT');
        publish('slabserve:send-timeout', {
          method: ex.req.method ?? '',
          url: ex.req.url ?? '',
          idleMs: Math.round(now - ex.writer.lastProgress),
        });
        ex.res.destroy();
      }
    }
    this.watch.sweep(this.live, now);
  }

  /**
   * A descriptor from `thread` could not be routed: a slabserve bug the pool or the codec caught. It is reported and
   * counted, its request (if any) is answered 500 or cut, and the server keeps serving.
   */
  private onRouteError(thread: ThreadState, err: unknown, d: Descriptor | null): void {
    const refused = hasCode(err, 'ERR_SLAB_TRANSITION_REFUSED');
    const code: ErrorCode = refused ? 'ERR_SLAB_TRANSITION_REFUSED' : 'ERR_WRITER_STATE';
    this.ctx.stats.count(code);
    publish(refused ? 'slabserve:refused-transition' : 'slabserve:internal-error', { thread: 'main', error: reportOf(err) });
    const ex = d === null ? undefined : this.bySlot[d.slot];
    if (ex === undefined || ex.ref.generation !== d!.slotGen || ex.thread !== thread) return;
    try {
      ex.abortWorker(code);
      ex.writer.fail(code);
    } catch (again) {
      publish('slabserve:internal-error', { thread: 'main', error: reportOf(again) });
      ex.res.destroy();
    }
  }

  /** The thread that ran `thread`'s loop has exited (see ThreadSupervisor): clean up after it. */
  private onThreadDeath(thread: ThreadState, error: unknown, threadId: number): void {
    this.watch.forget(thread);
    const requests = cleanUpAfterThread(this.ctx.pool, thread, () => this.poller.drainNow(thread), this.live);
    publish('slabserve:thread-death', { owner: thread.owner, threadId, error: reportOf(error), requests });
  }
}

/**
 * A request waiting for a slot or a thread, in line. Its connection's news reaches its exchange once it has one;
 * before that, a client that leaves (or breaks its body) takes it out of the line.
 */
class WaitingRequest implements ConnectionHooks {
  exchange: Exchange | null = null;
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    private readonly line: { unqueue(w: WaitingRequest, code: ErrorCode | null): void },
  ) {}

  socketClosed(): void {
    if (this.exchange !== null) this.exchange.socketClosed();
    else this.line.unqueue(this, null);
  }

  bodyError(code: ErrorCode): void {
    if (this.exchange !== null) this.exchange.bodyError(code);
    else this.line.unqueue(this, code);
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
