// Measures one group of servers under one load: start, check bytes, warm up, then alternating rounds (runner process).
//
// Order matters for honesty on a small machine: every server is started before any is measured and all stay up, so
// each round visits every server once, in an order rotated by one per round; slow drift in the machine (other jobs,
// thermal, page cache) then spreads over all servers instead of landing on whichever ran last.

import { startInterference } from './interference.js';
import { loadPids, runLoad } from './load.js';
import { cpuDelta, serverCpu } from './proc.js';
import { launch } from './servers.js';
import { gcDelta, summarize } from './stats.js';
import { verifyOnce } from './verify.js';

function slabserveDelta(after, before) {
  if (!after?.stats || !before?.stats) return null;
  const a = after.stats;
  const b = before.stats;
  return {
    copiedWrites: a.copiedWrites - b.copiedWrites,
    spilledSlabs: a.spilledSlabs - b.spilledSlabs,
    waits: a.waits - b.waits,
    bytesWritten: a.bytesWritten - b.bytesWritten,
    lowWater: a.slabs.lowWater,
    slabs: a.slabs,
    errors: a.errors,
  };
}

/**
 * One measured run of one server: probe, load, probe. GC and slabserve counters are deltas over the run. CPU is read
 * from /proc right around the load, inside the probes, so the probes' own work is not in it: every thread of every
 * process of the server (h.pids and their children: slabserve's and piscina's worker threads, cluster workers, nginx
 * workers). cpuMainMs is the main thread alone, kept only where the server is one process.
 */
async function measureOnce(h, runLoadOnce) {
  const before = await h.probe();
  const foreign = startInterference(() => [...h.pids, ...loadPids()]);
  const cpuBefore = serverCpu(h.pids);
  const run = await runLoadOnce();
  const cpu = cpuDelta(serverCpu(h.pids), cpuBefore);
  const foreignShare = foreign();
  const after = await h.probe();
  return {
    sample: {
      ...run,
      foreign: foreignShare,
      cpuMs: cpu.totalMs,
      cpuMainMs: cpu.processes === 1 ? cpu.mainMs : null,
      gc: gcDelta(after.gc, before.gc),
      gcMain: gcDelta(after.gcMain, before.gcMain),
      rss: after.rss,
    },
    slabserve: slabserveDelta(after, before),
  };
}

/**
 * group: {name, path, connections, load, expected: {length, sha256, body?}, servers: specs}.
 * settings: {warmup, warmupTogether, rounds, duration}. launchOptions: passed to launch() (env, execArgv). log: progress lines.
 * Resolves to a Map of id → {spec, summary?, skipped?, failed?, slabserve?, stderr}.
 */
export async function measureGroup(group, settings, launchOptions, log) {
  const results = new Map();
  const handles = [];
  try {
    // Started side by side: start-up is not measured, and eleven servers one after another cost seconds.
    const started = await Promise.all(
      group.servers.map((spec) =>
        launch(spec, launchOptions).then(
          (handle) => ({ spec, handle }),
          (err) => ({ spec, error: err }),
        ),
      ),
    );
    for (const { spec, handle, error } of started) {
      if (error) {
        results.set(spec.id, { spec, skipped: `did not start: ${error.message}` });
        continue;
      }
      const check = await verifyOnce(handle.url + group.path, group.expected);
      if (!check.ok) {
        results.set(spec.id, { spec, skipped: `wrong response, not measured: ${check.problem}` });
        await handle.stop();
        continue;
      }
      handles.push(handle);
      results.set(spec.id, { spec, samples: [], slabserve: [] });
    }
    const load = (h, seconds) =>
      runLoad(group.load, { url: h.url + group.path, connections: group.connections, seconds, expected: group.expected });
    log(`${group.name}: ${handles.length} servers up and checked (sha256); warm-up ${settings.warmup} s each, discarded`);
    // The quick run warms every server at once: the warm-up is only for the JIT and is thrown away.
    if (settings.warmupTogether) await Promise.all(handles.map((h) => load(h, settings.warmup)));
    else for (const h of handles) await load(h, settings.warmup);
    log(`${group.name}: warm-up done`);

    // A server that fails mid-run (crash, no probe answer) leaves the rounds with a note; the others go on.
    const failed = new Set();
    for (let round = 0; round < settings.rounds; round++) {
      const order = handles.map((_, i) => handles[(i + round) % handles.length]).filter((h) => !failed.has(h));
      for (const h of order) {
        try {
          const { sample, slabserve } = await measureOnce(h, () => load(h, settings.duration));
          const r = results.get(h.id);
          r.samples.push(sample);
          if (slabserve) r.slabserve.push(slabserve);
          const cpuUs = ((sample.cpuMs * 1000) / sample.requests).toFixed(0);
          log(`${group.name}: round ${round + 1}/${settings.rounds} ${h.label.padEnd(30)} ${sample.rps.toFixed(0).padStart(7)} req/s, ${cpuUs.padStart(5)} µs CPU/req, other jobs ${(sample.foreign * 100).toFixed(0)}% of CPU`);
        } catch (err) {
          failed.add(h);
          results.get(h.id).failed = `failed in round ${round + 1}: ${err.message}`;
          log(`${group.name}: ${h.label} ${results.get(h.id).failed}`);
        }
      }
    }
  } finally {
    for (const h of handles) results.get(h.id).stderr = h.stderr();
    await Promise.all(handles.map((h) => h.stop()));
  }
  for (const r of results.values()) {
    if (r.samples?.length) r.summary = summarize(r.samples);
    else if (r.samples) r.skipped = r.failed;
  }
  return results;
}
