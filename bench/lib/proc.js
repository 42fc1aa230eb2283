// Memory and CPU time of any process by pid, from /proc (runner process; Linux only, where the bench runs).

import { readdirSync, readFileSync } from 'node:fs';

export function processRss(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** utime + stime in ms, from a /proc stat line (fields 14 and 15, in clock ticks of 10 ms on Linux). */
function cpuMsOf(statLine) {
  const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU ms used so far by each thread of `pid`: {total, main, threads: Map tid → ms}. */
export function processCpu(pid) {
  const threads = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.set(Number(tid), cpuMsOf(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  let total = 0;
  for (const ms of threads.values()) total += ms;
  return { total, main: threads.get(pid) ?? 0, threads };
}

/** Machine-wide CPU ms spent busy (user + nice + system + steal) since boot, from /proc/stat's first line. */
export function machineBusyMs() {
  const [, user, nice, system, , , , , steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  return (user + nice + system + steal) * 10;
}

/** CPU ms of this process plus its reaped children (wrk runs end before they are read). */
export function selfAndChildrenMs() {
  const line = readFileSync('/proc/self/stat', 'utf8');
  const f = line.slice(line.lastIndexOf(')') + 2).split(' ').map(Number);
  return (f[11] + f[12] + f[13] + f[14]) * 10;
}

/** CPU ms of several whole processes; a process that is gone counts 0. */
export function pidsCpuMs(pids) {
  let ms = 0;
  for (const pid of pids) {
    try {
      const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
      ms += cpuMsOf(line);
    } catch {
      // gone
    }
  }
  return ms;
}

/** Direct children of every thread of `pid` (a child belongs to the thread that forked it). */
function childrenOf(pid) {
  const children = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) children.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return children;
}

/** `pids` and all their descendants, once each: catches a worker process forked after a server reported its pids. */
export function withDescendants(pids) {
  const seen = new Set();
  const queue = [...pids];
  while (queue.length > 0) {
    const pid = queue.shift();
    if (seen.has(pid)) continue;
    seen.add(pid);
    queue.push(...childrenOf(pid));
  }
  return [...seen];
}

/**
 * A server's CPU so far, for per-request and per-GB figures: {perPid: Map pid → ms (every thread, living or exited),
 * main: ms of the first pid's main thread}. The whole-process line /proc/PID/stat is read rather than summing
 * /proc/PID/task/*: it also holds threads that already exited (a replaced worker thread), and it is rounded down to a
 * tick once per process instead of once per thread. Ticks are 10 ms, so a reading is good to about 20 ms per process:
 * measured runs of a few seconds (hundreds of ticks) keep that to a few per cent.
 */
export function serverCpu(pids) {
  const perPid = new Map();
  for (const pid of withDescendants(pids)) {
    try {
      perPid.set(pid, cpuMsOf(readFileSync(`/proc/${pid}/stat`, 'utf8')));
    } catch {
      // gone between the listing and the read
    }
  }
  let main = 0;
  try {
    main = cpuMsOf(readFileSync(`/proc/${pids[0]}/task/${pids[0]}/stat`, 'utf8'));
  } catch {
    // gone
  }
  return { perPid, main };
}

/**
 * CPU ms between two serverCpu() readings: {totalMs, mainMs, processes}. A process that appeared in between counts
 * from its start; one that ended in between is lost (a server's processes live as long as the server does).
 */
export function cpuDelta(after, before) {
  let totalMs = 0;
  for (const [pid, ms] of after.perPid) totalMs += ms - (before.perPid.get(pid) ?? 0);
  return { totalMs, mainMs: after.main - before.main, processes: after.perPid.size };
}
