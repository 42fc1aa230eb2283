// Starts slabserve on port 0 for a test, tracks every socket, and tears it all down afterwards (test helper).
//
// Tests import the built server (dist/), because its worker threads load compiled JS; build before running vitest.
// Each test file calls useHarness() once at the top: the harness closes every server it started and destroys every
// connection it opened in afterEach, even when the test failed.

import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { startServer, type ServerOptions, type SlabServer, type StatsSnapshot } from '../../dist/index.js';
import { installControl, type TestControl } from './control.js';
import { RawConnection, type ConnectionOptions } from './raw-http.js';

/** Absolute path of fixture app test/fixtures/apps/<name>.mjs. */
export function appPath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/apps/${name}.mjs`, import.meta.url));
}

/** Every server option but the app and the address (tests always listen on 127.0.0.1, port 0). */
export type TestServerOptions = Omit<ServerOptions, 'app' | 'port' | 'host'>;

export interface TestServer {
  server: SlabServer;
  port: number;
  /** The counters and gates this server's fixture app shares with the test. */
  control: TestControl;
  stats(): StatsSnapshot;
}

/** How long cleanup waits for a server's graceful close before it calls the test a failure. */
const CLOSE_DEADLINE_MS = 15_000;

export class Harness {
  private readonly servers: TestServer[] = [];
  private readonly closables: { destroy(): void }[] = [];

  /**
   * Starts fixture app `app` (a name under test/fixtures/apps, or an absolute path) with a fresh control block.
   * Defaults: 2 threads (this machine's cores), 16 KiB slabs.
   */
  async start(app: string, options: TestServerOptions = {}): Promise<TestServer> {
    const control = installControl();
    const server = await startServer({
      threads: 2,
      slabSize: 16 * 1024,
      ...options,
      app: app.startsWith('/') ? app : appPath(app),
      port: 0,
      host: '127.0.0.1',
    });
    const started: TestServer = { server, port: server.port, control, stats: () => server.stats() };
    this.servers.push(started);
    return started;
  }

  /** Opens a raw connection to `target` and tracks it for cleanup. */
  async connect(target: TestServer | number, options: ConnectionOptions = {}): Promise<RawConnection> {
    const conn = await RawConnection.open(typeof target === 'number' ? target : target.port, options);
    this.closables.push(conn);
    return conn;
  }

  /** Tracks anything with destroy() (a socket, a connection) so cleanup ends it. Returns it. */
  track<T extends { destroy(): void }>(thing: T): T {
    this.closables.push(thing);
    return thing;
  }

  /** Closes `ts` now (gracefully), and forgets it so cleanup does not close it again. */
  async close(ts: TestServer): Promise<void> {
    const i = this.servers.indexOf(ts);
    if (i >= 0) this.servers.splice(i, 1);
    await closeWithin(ts, CLOSE_DEADLINE_MS);
  }

  /** Destroys every tracked connection, opens every gate, then closes every server. Throws if a close hangs. */
  async cleanup(): Promise<void> {
    for (const c of this.closables.splice(0)) c.destroy();
    const servers = this.servers.splice(0);
    for (const ts of servers) ts.control.openAll();
    const failures: string[] = [];
    for (const ts of servers) {
      try {
        await closeWithin(ts, CLOSE_DEADLINE_MS);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    if (failures.length > 0) throw new Error(failures.join('\n'));
  }
}

async function closeWithin(ts: TestServer, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, ms, 'late')));
  try {
    const outcome = await Promise.race([ts.server.close().then(() => 'closed' as const), deadline]);
    if (outcome === 'late') {
      throw new Error(`server.close() did not finish within ${ms} ms; stats: ${JSON.stringify(ts.stats())}`);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** A harness whose cleanup runs after each test of the calling file. Call once, at the top of a describe or file. */
export function useHarness(): Harness {
  const harness = new Harness();
  afterEach(() => harness.cleanup());
  return harness;
}

export interface PollOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Probe this often (default 10 ms). */
  intervalMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` until `ok` accepts its value, and returns that value. For "eventually" conditions only: it never
 * orders events between threads, it waits for an observable state, with a deadline.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  ok: (value: T) => boolean,
  options: PollOptions = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 10, what = 'condition' } = options;
  const deadline = performance.now() + timeoutMs;
  let value = await probe();
  while (!ok(value)) {
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(value)}`);
    }
    await delay(intervalMs);
    value = await probe();
  }
  return value;
}

/**
 * Polls `probe` until its value has not changed for `stableMs` (compared as JSON), and returns it: "the stall has
 * settled". Throws if it keeps changing past the deadline.
 */
export async function waitForStable<T>(
  probe: () => T | Promise<T>,
  options: PollOptions & { stableMs?: number } = {},
): Promise<T> {
  const { timeoutMs = 15_000, intervalMs = 20, stableMs = 300, what = 'a stable value' } = options;
  const deadline = performance.now() + timeoutMs;
  let last = JSON.stringify(await probe());
  let since = performance.now();
  for (;;) {
    await delay(intervalMs);
    const value = await probe();
    const now = performance.now();
    const json = JSON.stringify(value);
    if (json !== last) {
      last = json;
      since = now;
    } else if (now - since >= stableMs) {
      return value;
    }
    if (now > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${json}`);
  }
}

/** Waits until every slab is free and no request is in flight; returns the stats at that moment. */
export function waitForIdlePool(ts: TestServer, timeoutMs = 10_000): Promise<StatsSnapshot> {
  return waitFor(
    () => ts.stats(),
    (s) => s.slabs.free === s.slabs.total && s.inflight === 0,
    { timeoutMs, what: 'every slab free and nothing in flight' },
  );
}
