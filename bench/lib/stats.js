// Summaries of measured rounds: medians with min–max, and GC and CPU per unit served (runner process).

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function gcDelta(after, before) {
  if (!after || !before) return null;
  return {
    scavenges: after.scavenges - before.scavenges,
    markSweeps: after.markSweeps - before.markSweeps,
    pauseMs: after.pauseMs - before.pauseMs,
  };
}

function sumGc(samples, key) {
  if (samples.some((s) => s[key] === null)) return null;
  return samples.reduce(
    (t, s) => ({
      scavenges: t.scavenges + s[key].scavenges,
      markSweeps: t.markSweeps + s[key].markSweeps,
      pauseMs: t.pauseMs + s[key].pauseMs,
    }),
    { scavenges: 0, markSweeps: 0, pauseMs: 0 },
  );
}

function per(gc, units) {
  if (gc === null || units === 0) return null;
  return { scavenges: gc.scavenges / units, markSweeps: gc.markSweeps / units, pauseMs: gc.pauseMs / units };
}

/** CPU ms summed over rounds, or null when any round lacks it (cpuMainMs of a server of several processes). */
function sumCpu(samples, key) {
  if (samples.some((s) => s[key] === null || s[key] === undefined)) return null;
  return samples.reduce((ms, s) => ms + s[key], 0);
}

/** µs of CPU per request, and s of CPU per GB served; null where there is nothing to divide. */
function cpuPer(ms, requests, bytes) {
  if (ms === null) return { perReqUs: null, perGBs: null };
  return { perReqUs: requests > 0 ? (ms * 1000) / requests : null, perGBs: bytes > 0 ? ms / 1000 / (bytes / 1e9) : null };
}

/**
 * One server's rounds → its row. GC and CPU are summed over every measured round and divided by what those rounds
 * served: per GB (10^9 bytes read by the load generator, headers included) and per request or 10k requests. Summing
 * before dividing, rather than a median of per-round ratios, keeps /proc's 10 ms ticks from weighing on short rounds.
 */
export function summarize(samples) {
  const rps = samples.map((s) => s.rps);
  const requests = samples.reduce((n, s) => n + s.requests, 0);
  const bytes = samples.reduce((n, s) => n + s.bytes, 0);
  const gc = sumGc(samples, 'gc');
  const gcMain = sumGc(samples, 'gcMain');
  const cpuMs = sumCpu(samples, 'cpuMs');
  const cpuMainMs = sumCpu(samples, 'cpuMainMs');
  const cpu = cpuPer(cpuMs, requests, bytes);
  const cpuMain = cpuPer(cpuMainMs, requests, bytes);
  return {
    rounds: samples.length,
    rps: median(rps),
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
    mbps: median(samples.map((s) => s.mbps)),
    p50Ms: median(samples.map((s) => s.p50Ms)),
    p99Ms: median(samples.map((s) => s.p99Ms)),
    requests,
    bytes,
    non2xx: samples.reduce((n, s) => n + s.non2xx, 0),
    errors: samples.reduce((n, s) => n + s.errors + (s.wrongLength ?? 0), 0),
    gc,
    gcPerGB: per(gc, bytes / 1e9),
    gcMainPerGB: per(gcMain, bytes / 1e9),
    gcPer10k: per(gc, requests / 1e4),
    gcMainPer10k: per(gcMain, requests / 1e4),
    cpuMs,
    cpuMainMs,
    cpuUsPerReq: cpu.perReqUs,
    cpuSecPerGB: cpu.perGBs,
    cpuMainUsPerReq: cpuMain.perReqUs,
    cpuMainSecPerGB: cpuMain.perGBs,
    rssMax: Math.max(...samples.map((s) => s.rss)),
    foreign: median(samples.map((s) => s.foreign)),
    foreignMax: Math.max(...samples.map((s) => s.foreign)),
    samples,
  };
}
