#!/usr/bin/env node
// The slabserve command: parses flags with node:util parseArgs and starts a server (main thread).

import { subscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DIAGNOSTIC_NAMES, type DiagnosticEvents, type DiagnosticName, type ErrorReport } from '../diagnostics.js';
import { hasCode, SlabserveError } from '../errors.js';
import { parseDuration, parseSize, type ServerOptions } from './options.js';
import { startServer } from './server.js';

const USAGE = `Usage: slabserve [app] [options]

Serves an app module (fetch style: export default { fetch(request) }, or native: export default { serve(request,
response) }) from worker threads. With no app, serves the bundled example.

Options:
  --port N            port to listen on (default: $PORT, else 3000; 0 picks one)
  --host ADDR         address to bind (default 127.0.0.1)
  --threads N         worker threads (default: CPU count)
  --slab-size SIZE    bytes per slab, a multiple of 4k (default 64k)
  --slab-count N      slabs in the pool (default 1024)
  --window N          slabs one request may own at once (default: 512k worth, 8 at 64k)
  --max-inflight N    requests in flight at once (default 4096)
  --send-timeout DUR  cut off a client that takes no bytes for this long (default 60s; 0 disables)
  --close-timeout DUR on close, wait this long for in-flight responses, then cut them (default 30s; 0: no limit)

Limits (see the README's "Limits and security"):
  --max-header-size SIZE         request head size, URL excluded (default 16k; over: 431)
  --max-headers-count N          request header fields (default 100; over: 431)
  --max-url-length SIZE          request-target length (default 8k; over: 414)
  --max-body-size SIZE           request body, checked as it streams (default 100m; 0: none; over: 413)
  --max-requests-per-socket N    requests per connection (default 0: none)
  --max-connections N            open connections (default 10000)
  --headers-timeout DUR          time to receive a request head (default 20s; then 408)
  --request-timeout DUR          time to receive a whole request (default 300s; then 408)
  --keep-alive-timeout DUR       idle time before a keep-alive connection closes (default 5s)
  --app-timeout DUR              time for the app to produce a response head (default 30s; then 504)
  --thread-heap-mb N             V8 old-generation limit per worker thread, in MB (default 1024)

  -h, --help          print this and exit
  -v, --version       print the version and exit

Sizes take k, m or g suffixes (64k, 1m); durations take ms, s or m (60s).`;

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  threads: { type: 'string' },
  'slab-size': { type: 'string' },
  'slab-count': { type: 'string' },
  window: { type: 'string' },
  'max-inflight': { type: 'string' },
  'send-timeout': { type: 'string' },
  'close-timeout': { type: 'string' },
  'max-header-size': { type: 'string' },
  'max-headers-count': { type: 'string' },
  'max-url-length': { type: 'string' },
  'max-body-size': { type: 'string' },
  'max-requests-per-socket': { type: 'string' },
  'max-connections': { type: 'string' },
  'headers-timeout': { type: 'string' },
  'request-timeout': { type: 'string' },
  'keep-alive-timeout': { type: 'string' },
  'app-timeout': { type: 'string' },
  'thread-heap-mb': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

function integer(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new SlabserveError('ERR_INVALID_OPTION', `--${flag} takes a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** Turns argv into server options; throws ERR_INVALID_OPTION (or parseArgs' own coded error) on bad flags. */
export function parseCommandLine(argv: string[]): { options: ServerOptions } | { exit: string } {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  if (values.help) return { exit: USAGE };
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return { exit: pkg.version };
  }
  if (positionals.length > 1) throw new SlabserveError('ERR_INVALID_OPTION', `one app at most, got ${positionals.join(' ')}`);
  const options: ServerOptions = { app: positionals[0] ?? new URL('../../examples/app.js', import.meta.url) };
  if (values.port !== undefined) options.port = integer('port', values.port);
  if (values.host !== undefined) options.host = values.host;
  if (values.threads !== undefined) options.threads = integer('threads', values.threads);
  if (values['slab-size'] !== undefined) options.slabSize = parseSize(values['slab-size']);
  if (values['slab-count'] !== undefined) options.slabCount = integer('slab-count', values['slab-count']);
  if (values.window !== undefined) options.window = integer('window', values.window);
  if (values['max-inflight'] !== undefined) options.maxInflight = integer('max-inflight', values['max-inflight']);
  if (values['send-timeout'] !== undefined) options.sendTimeout = parseDuration(values['send-timeout']);
  if (values['close-timeout'] !== undefined) options.closeTimeout = parseDuration(values['close-timeout']);
  const size = (flag: keyof typeof values): number | undefined =>
    values[flag] === undefined ? undefined : parseSize(values[flag] as string);
  const count = (flag: keyof typeof values): number | undefined =>
    values[flag] === undefined ? undefined : integer(flag, values[flag] as string);
  const duration = (flag: keyof typeof values): number | undefined =>
    values[flag] === undefined ? undefined : parseDuration(values[flag] as string);
  const limits: Record<string, number | undefined> = {
    maxHeaderSize: size('max-header-size'),
    maxHeadersCount: count('max-headers-count'),
    maxUrlLength: size('max-url-length'),
    maxBodySize: size('max-body-size'),
    maxRequestsPerSocket: count('max-requests-per-socket'),
    maxConnections: count('max-connections'),
    headersTimeout: duration('headers-timeout'),
    requestTimeout: duration('request-timeout'),
    keepAliveTimeout: duration('keep-alive-timeout'),
    appTimeout: duration('app-timeout'),
  };
  for (const [key, value] of Object.entries(limits)) {
    if (value !== undefined) (options as unknown as Record<string, number>)[key] = value;
  }
  const heap = count('thread-heap-mb');
  if (heap !== undefined) options.resourceLimits = { maxOldGenerationSizeMb: heap };
  return { options };
}

function errorText(e: ErrorReport): string {
  return e.stack ?? `${e.name}${e.code ? ` [${e.code}]` : ''}: ${e.message}`;
}

/** One line (an app error: its stack) per event, as the CLI prints it on stderr. */
function describeEvent(name: DiagnosticName, event: DiagnosticEvents[DiagnosticName]): string {
  switch (name) {
    case 'slabserve:app-error': {
      const a = event as DiagnosticEvents['slabserve:app-error'];
      return `app error in thread ${a.owner}, ${a.method} ${a.url}: ${errorText(a.error)}`;
    }
    case 'slabserve:app-timeout': {
      const a = event as DiagnosticEvents['slabserve:app-timeout'];
      return `app timeout (504) after ${a.elapsedMs} ms in thread ${a.owner}: ${a.method} ${a.url}`;
    }
    case 'slabserve:send-timeout': {
      const a = event as DiagnosticEvents['slabserve:send-timeout'];
      return `send timeout: the client took no bytes for ${a.idleMs} ms; cut off: ${a.method} ${a.url}`;
    }
    case 'slabserve:thread-death': {
      const a = event as DiagnosticEvents['slabserve:thread-death'];
      return `worker thread ${a.owner} (id ${a.threadId}) died with ${a.requests} request(s) in flight: ${a.error.message}`;
    }
    case 'slabserve:thread-terminated': {
      const a = event as DiagnosticEvents['slabserve:thread-terminated'];
      return `worker thread ${a.owner} (id ${a.threadId}) terminated: ${a.reason}`;
    }
    case 'slabserve:refused-transition':
    case 'slabserve:internal-error': {
      const a = event as DiagnosticEvents['slabserve:internal-error'];
      return `${name.slice('slabserve:'.length)} in the ${a.thread} thread (a slabserve bug; the server goes on): ${errorText(a.error)}`;
    }
    default:
      return `${name}: ${JSON.stringify(event)}`;
  }
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`slabserve: ${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if ('exit' in parsed) {
    process.stdout.write(`${parsed.exit}\n`);
    return;
  }
  // The library only publishes; the command is where they are printed.
  for (const name of DIAGNOSTIC_NAMES) {
    subscribe(name, (event) => process.stderr.write(`slabserve: ${describeEvent(name, event as DiagnosticEvents[typeof name])}\n`));
  }
  let server;
  try {
    server = await startServer(parsed.options);
  } catch (err) {
    process.stderr.write(`slabserve: ${(err as Error).message}\n`);
    process.exit(hasCode(err, 'ERR_INVALID_OPTION') ? 2 : 1);
  }
  process.stdout.write(`slabserve listening on ${server.url}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write('slabserve: closing (finishing in-flight responses; signal again to force)\n');
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
