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
  /** Slabs one request may own at once, per direction. Default 8. */
  window?: number;
  /** Requests in flight at once; further requests wait in main. Default 4096. */
  maxInflight?: number;
  /** Milliseconds a client may go without taking any bytes before it is cut off. 0 disables. Default 60 s. */
  sendTimeout?: number;
  /** Free slabs at or below which main copies what it writes and spills what stalled sockets hold. */
  pressureFloor?: number;
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
  pressureFloor: number;
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
  const window = int('window', o.window ?? 8, 1, slabCount);
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
    pressureFloor: int('pressureFloor', o.pressureFloor ?? Math.max(2 * window, Math.ceil(slabCount / 8)), 1, slabCount),
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
