// The slow-readers scenario: many connections ask for the seed file and never read; what happens to the server's
// memory, and does a fresh client still get /hello? (runner process; the readers are load/slow-readers.js).

import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { forkTracked, stopChild } from './children.js';
import { launch } from './servers.js';
import { verifyOnce } from './verify.js';

const MiB = 2 ** 20;
/** A /hello that takes longer than this counts as not answered. */
export const HELLO_TIMEOUT_MS = 10_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** GET on a fresh connection: {status, ms}, status 0 when it failed or took longer than timeoutMs. */
function timedGet(url, timeoutMs = HELLO_TIMEOUT_MS) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
    req.end();
  });
}

function openReaders(port, path, count) {
  const child = forkTracked(fileURLToPath(new URL('../load/slow-readers.js', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const opened = new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`slow readers exited ${code}`)));
  });
  child.send({ port, path, count });
  const close = async () => {
    const closed = new Promise((resolve) => child.once('message', resolve));
    child.send({ type: 'close' });
    await Promise.race([closed, sleep(5000)]);
    await stopChild(child, 'SIGKILL', 1000);
  };
  return { opened, close };
}

/** For slabserve: wait until every slab is back in the pool, which proves nothing leaked. */
async function poolWhole(handle, waitMs = 5000) {
  let last = null;
  for (const t0 = performance.now(); performance.now() - t0 < waitMs; await sleep(100)) {
    last = (await handle.probe()).stats;
    if (last.slabs.free === last.slabs.total && last.inflight === 0) return { whole: true, stats: last };
  }
  return { whole: false, stats: last };
}

/** One server through one stall. hold: {min, max} seconds the readers stay. */
async function stallOne(spec, { count, hold, expected, launchOptions, log }) {
  const handle = await launch(spec, launchOptions);
  try {
    const check = await verifyOnce(`${handle.url}/seed`, expected);
    if (!check.ok) return { spec, skipped: `wrong response, not measured: ${check.problem}` };
    await timedGet(`${handle.url}/hello`);
    const before = await handle.probe();
    const port = Number(new URL(handle.url).port);
    const readers = openReaders(port, '/seed', count);
    const open = await readers.opened;
    const trace = [];
    const hellos = [];
    let steady = false;
    const t0 = performance.now();
    const elapsed = () => (performance.now() - t0) / 1000;
    try {
      // Hold until RSS has settled (within 2 MiB over the last 2 s), between minHold and maxHold seconds: the
      // kernel keeps taking bytes for a while after the last reader connects, and memory grows until it stops.
      for (let tick = 0; elapsed() < hold.max; tick++) {
        // A fresh client, three times across the stall: the server must still answer while the readers hold on.
        if (tick % 6 === 2 && hellos.length < 3) hellos.push(await timedGet(`${handle.url}/hello`));
        const p = await handle.probe();
        const now = elapsed();
        trace.push({ t: +now.toFixed(2), rss: p.rss, free: p.stats?.slabs.free, inflight: p.stats?.inflight });
        const past = trace.findLast((x) => x.t <= now - 2);
        steady = now >= hold.min && past !== undefined && Math.abs(p.rss - past.rss) < 2 * MiB;
        if (steady && hellos.length > 0) break;
        await sleep(250);
      }
      while (hellos.length < 1) hellos.push(await timedGet(`${handle.url}/hello`));
    } finally {
      await readers.close();
    }
    const held = elapsed();
    await sleep(1000);
    const pool = before.stats ? await poolWhole(handle) : null;
    const after = await handle.probe();
    const peakAt = trace.reduce((a, b) => (b.rss > a.rss ? b : a), trace[0]);
    const peak = Math.max(peakAt.rss, after.rss);
    log(`slow-readers: ${spec.label.padEnd(30)} peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`);
    return {
      spec,
      readers: open,
      rssBefore: before.rss,
      rssPeak: peak,
      rssAfter: after.rss,
      heldSeconds: held,
      steady,
      trace,
      hello: { ok: hellos.every((h) => h.status === 200), statuses: hellos.map((h) => h.status), maxMs: Math.max(...hellos.map((h) => h.ms)) },
      slabserve: before.stats
        ? {
            poolBytes: before.stats.slabs.total * before.stats.slabs.size,
            freeAtPeak: peakAt.free,
            inflightAtPeak: peakAt.inflight,
            copiedWrites: after.stats.copiedWrites - before.stats.copiedWrites,
            spilledSlabs: after.stats.spilledSlabs - before.stats.spilledSlabs,
            poolWholeAfter: pool.whole,
            errors: after.stats.errors,
          }
        : null,
    };
  } finally {
    await handle.stop();
  }
}

/** group: {servers, connections, expected}. settings: {slowHold: {min, max}}. */
export async function measureSlowReaders(group, settings, launchOptions, log) {
  const rows = [];
  for (const spec of group.servers) {
    try {
      rows.push(await stallOne(spec, { count: group.connections, hold: settings.slowHold, expected: group.expected, launchOptions, log }));
    } catch (err) {
      rows.push({ spec, skipped: `failed: ${err.message}` });
    }
  }
  return rows;
}
