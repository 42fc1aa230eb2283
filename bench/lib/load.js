// Load generators, each run as its own child process, all returning one result shape (runner process):
//   {generator, requests, bytes, seconds, rps, mbps, p50Ms, p99Ms, non2xx, errors, wrongLength}
// wrk (C, epoll) when installed: for large bodies, for hello and for the one-connection latency runs, where a Node
// generator would take a good part of the 2 cores from the server (autocannon spends more CPU per request than
// node:http does). Else load/node-client.js for large bodies and autocannon for small ones; autocannon also drives
// the cpu scenario, where requests are few. MB/s counts every byte read, headers included, in 10^6 bytes.

import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { forkTracked, spawnTracked, stopChild } from './children.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

/** wrk's version line, or null when wrk is not installed. (`wrk --version` prints it and exits 1.) */
export function wrkVersion() {
  try {
    return execFileSync('wrk', ['--version'], { encoding: 'utf8', stdio: 'pipe' }).split(' Copyright')[0].trim();
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    return String(err.stdout ?? '').split(' Copyright')[0].trim() || 'wrk';
  }
}

function finish(raw, generator) {
  return {
    generator,
    ...raw,
    rps: raw.requests / raw.seconds,
    mbps: raw.bytes / raw.seconds / 1e6,
  };
}

/**
 * wrk's thread count: one per core, at most one per connection (wrk needs connections ≥ threads). 64 connections on
 * 2 cores: -t2, 32 each, enough that wrk is never the bottleneck; one connection: -t1. On 2 cores it competes with
 * the server for CPU either way.
 */
export function wrkThreads(connections) {
  return Math.max(1, Math.min(connections, cpus().length));
}

/**
 * wrk checks status codes only (a Lua response() hook per request would cost more than the 12-byte bodies): the
 * runner checked the bytes once before measuring. Its latencies are in µs, fine enough for one-connection runs.
 */
function runWrk({ url, connections, seconds }) {
  const args = ['-t', wrkThreads(connections), '-c', connections, '-d', `${Math.max(1, Math.round(seconds))}s`, '--timeout', '10s'];
  args.push('-s', here('../load/wrk-report.lua'), url);
  return new Promise((resolve, reject) => {
    const child = spawnTracked('wrk', args.map(String), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (line === undefined) return reject(new Error(`wrk exited ${code} without a report: ${out.trim().slice(0, 300)}`));
      const w = JSON.parse(line.slice('BENCH_JSON '.length));
      resolve(
        finish(
          {
            requests: w.requests,
            bytes: w.bytes,
            seconds: w.durationUs / 1e6,
            p50Ms: w.p50Us / 1000,
            p99Ms: w.p99Us / 1000,
            non2xx: w.status,
            errors: w.connectErrors + w.readErrors + w.writeErrors + w.timeouts,
            wrongLength: 0,
          },
          'wrk',
        ),
      );
    });
  });
}

const clients = new Map();
let nextId = 1;

/** A long-lived generator child per kind: loading autocannon costs about half a second, too much to pay per run. */
function runForked(script, generator, input) {
  let client = clients.get(generator);
  if (client === undefined) {
    const child = forkTracked(here(script), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    client = { child, pending: new Map() };
    child.on('message', (m) => client.pending.get(m.id)?.resolve(m));
    child.once('exit', (code) => {
      clients.delete(generator);
      for (const p of client.pending.values()) p.reject(new Error(`${generator} exited ${code} during a run`));
    });
    clients.set(generator, client);
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    client.pending.set(id, {
      resolve: ({ id: _, ...raw }) => {
        client.pending.delete(id);
        resolve(finish(raw, generator));
      },
      reject,
    });
    client.child.send({ id, ...input });
  });
}

/** Pids of the long-lived generator children (their CPU is the bench's own, not another job's). */
export function loadPids() {
  return [...clients.values()].map((c) => c.child.pid);
}

/** Ends the long-lived generator children. */
export async function closeLoad() {
  await Promise.all([...clients.values()].map((c) => stopChild(c.child, 'SIGTERM', 2000)));
}

/** Every generator runLoad() knows: what --small-load accepts (--load takes wrk or node, for the large body). */
export const LOAD_KINDS = ['wrk', 'node', 'autocannon'];

/**
 * One measured run. kind: 'wrk' | 'node' | 'autocannon'. expected: {length, body?}: the node client checks every
 * length; autocannon compares every body (small bodies only); wrk checks status codes only.
 */
export function runLoad(kind, { url, connections, seconds, expected = {} }) {
  if (kind === 'wrk') return runWrk({ url, connections, seconds });
  if (kind === 'node') {
    return runForked('../load/node-client.js', 'node', { url, connections, seconds, expectedLength: expected.length });
  }
  return runForked('../load/autocannon-client.js', 'autocannon', {
    url,
    connections,
    seconds,
    expectedBody: expected.body,
  });
}
