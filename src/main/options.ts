// Server options: defaults, checks, and the size and duration syntax the CLI shares (main thread).

import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { SlabserveError } from '../errors.js';

export interface ServerOptions {
  /** Path or file URL of the app module (fetch style or native). */
  app: string | URL;
  /** 0 picks any free port. Default: $PORT, else 3000. */
  port?: number;
  host?: string;
  /** Worker threads. Default: the machine's available parallelism. */
  threads?: number;
  /** Bytes per slab, a multiple of 4 KiB. Default 64 KiB. */
  slabSize?: number;
  /** Slabs in the pool. Default 1024 (64 MiB at the default slab size). */
  slabCount?: number;
  /** Slabs one request may own at once, per direction. Default: 512 KiB worth (8 of 64 KiB), at most 1/8 of the pool. */
  window?: number;
  /** Requests in flight at once; further requests wait in main. Default 4096. */
  maxInflight?: number;
  /** Milliseconds a client may go without taking any bytes before it is cut off. 0 disables. Default 60 s. */
  sendTimeout?: number;
  /** Milliseconds close() waits for in-flight responses before it cuts the remaining connections and stops the
   *  threads. Default 30 s; 0 waits for ever. */
  closeTimeout?: number;
  /** Free slabs at or below which main copies what it writes and spills what stalled sockets hold. */
  pressureFloor?: number;
  /** Most bytes in a request's head (request line and headers). Default 16 KiB, as node:http. Over it: 431. */
  maxHeaderSize?: number;
  /** Most header fields in a request. Default 100. Over it: 431. */
  maxHeadersCount?: number;
  /** Longest request-target. Default 8 KiB. Over it: 414. */
  maxUrlLength?: number;
  /** Largest request body, checked while it streams (chunked too). Default 100 MiB; 0 means no limit. Over it: 413. */
  maxBodySize?: number;
  /** Requests served on one connection before it is closed. Default 0 (no limit), as node:http. */
  maxRequestsPerSocket?: number;
  /** Milliseconds to receive a request's head. Default 20 s. Then: 408 and close. */
  headersTimeout?: number;
  /** Milliseconds to receive a whole request, body included. Default 300 s, as node:http. Then: 408 and close. */
  requestTimeout?: number;
  /** Milliseconds an idle keep-alive connection stays open. Default 5 s, as node:http. */
  keepAliveTimeout?: number;
  /** Milliseconds the app may take to produce a response head. Default 30 s; 0 disables. Then: 504. */
  appTimeout?: number;
  /** Open connections at most; more are refused at accept. Default 10,000. */
  maxConnections?: number;
  /** V8 heap limits for each worker thread, as worker_threads resourceLimits. Default: old generation 1 GiB. */
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number };
}

export interface ResolvedOptions {
  appUrl: string;
  port: number;
  host: string;
  threads: number;
  slabSize: number;
  slabCount: number;
  window: number;
  maxInflight: number;
  sendTimeout: number;
  closeTimeout: number;
  pressureFloor: number;
  maxHeaderSize: number;
  maxHeadersCount: number;
  maxUrlLength: number;
  maxBodySize: number;
  maxRequestsPerSocket: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  appTimeout: number;
  maxConnections: number;
  resourceLimits: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number };
}

/**
 * About 512 KiB of slabs per request (8 at the default 64 KiB): the window is bytes in flight, so small slabs get
 * more of them, or a request would stall on credit every few KiB. At most an eighth of the pool, at least 2.
 */
function defaultWindow(slabSize: number, slabCount: number): number {
  return Math.max(2, Math.min(Math.ceil((512 * 1024) / slabSize), Math.floor(slabCount / 8)));
}

function int(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SlabserveError('ERR_INVALID_OPTION', `${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function appUrlOf(app: string | URL | undefined): string {
  if (app === undefined || app === '') throw new SlabserveError('ERR_INVALID_OPTION', 'app is required');
  if (app instanceof URL) return app.href;
  if (/^(file|data):/.test(app)) return app;
  return pathToFileURL(app).href;
}

function defaultPort(): number {
  const env = process.env['PORT'];
  if (env === undefined || env === '') return 3000;
  const port = Number(env);
  return int('PORT', port, 0, 65535);
}

export function resolveOptions(o: ServerOptions): ResolvedOptions {
  const slabSize = int('slabSize', o.slabSize ?? 64 * 1024, 4096, 2 ** 30);
  if (slabSize % 4096 !== 0) {
    throw new SlabserveError('ERR_INVALID_OPTION', `slabSize must be a multiple of 4096, got ${slabSize}`);
  }
  const slabCount = int('slabCount', o.slabCount ?? 1024, 4, 2 ** 20);
  const window = int('window', o.window ?? defaultWindow(slabSize, slabCount), 1, slabCount);
  return {
    appUrl: appUrlOf(o.app),
    port: int('port', o.port ?? defaultPort(), 0, 65535),
    host: o.host ?? '127.0.0.1',
    threads: int('threads', o.threads ?? availableParallelism(), 1, 254),
    slabSize,
    slabCount,
    window,
    maxInflight: int('maxInflight', o.maxInflight ?? 4096, 1, 2 ** 20),
    sendTimeout: int('sendTimeout', o.sendTimeout ?? 60_000, 0, 2 ** 31 - 1),
    closeTimeout: int('closeTimeout', o.closeTimeout ?? 30_000, 0, 2 ** 31 - 1),
    pressureFloor: int('pressureFloor', o.pressureFloor ?? Math.max(2 * window, Math.ceil(slabCount / 8)), 1, slabCount),
    ...resolveLimits(o),
  };
}

const MS_MAX = 2 ** 31 - 1;

function resolveLimits(o: ServerOptions) {
  const requestTimeout = int('requestTimeout', o.requestTimeout ?? 300_000, 0, MS_MAX);
  const headersTimeout = int('headersTimeout', o.headersTimeout ?? 20_000, 0, MS_MAX);
  if (requestTimeout > 0 && headersTimeout > requestTimeout) {
    throw new SlabserveError('ERR_INVALID_OPTION', `headersTimeout (${headersTimeout}) must not exceed requestTimeout (${requestTimeout})`);
  }
  const maxBodySize = o.maxBodySize ?? 100 * 1024 * 1024;
  if (typeof maxBodySize !== 'number' || !(maxBodySize >= 0) || !Number.isSafeInteger(maxBodySize)) {
    throw new SlabserveError('ERR_INVALID_OPTION', `maxBodySize must be a whole number of bytes, got ${String(maxBodySize)}`);
  }
  return {
    maxHeaderSize: int('maxHeaderSize', o.maxHeaderSize ?? 16 * 1024, 1024, 2 ** 24),
    maxHeadersCount: int('maxHeadersCount', o.maxHeadersCount ?? 100, 1, 10_000),
    maxUrlLength: int('maxUrlLength', o.maxUrlLength ?? 8 * 1024, 16, 2 ** 24),
    maxBodySize,
    maxRequestsPerSocket: int('maxRequestsPerSocket', o.maxRequestsPerSocket ?? 0, 0, 2 ** 31 - 1),
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: int('keepAliveTimeout', o.keepAliveTimeout ?? 5_000, 0, MS_MAX),
    appTimeout: int('appTimeout', o.appTimeout ?? 30_000, 0, MS_MAX),
    maxConnections: int('maxConnections', o.maxConnections ?? 10_000, 1, 2 ** 24),
    resourceLimits: { maxOldGenerationSizeMb: 1024, ...o.resourceLimits },
  };
}

const SIZE = /^(\d+)([kmg]?)(i?b)?$/i;

/** Parses 65536, 64k, 64KiB, 1m, 1g. */
export function parseSize(text: string): number {
  const m = SIZE.exec(text.trim());
  if (m === null) throw new SlabserveError('ERR_INVALID_OPTION', `not a size: ${JSON.stringify(text)} (try 64k or 1m)`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * unit;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)?$/;

/** Parses 1500 (ms), 1500ms, 60s, 2m. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (m === null) throw new SlabserveError('ERR_INVALID_OPTION', `not a duration: ${JSON.stringify(text)} (try 60s)`);
  const unit = { ms: 1, s: 1000, m: 60_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm'];
  return Math.round(Number(m[1]) * unit);
}
