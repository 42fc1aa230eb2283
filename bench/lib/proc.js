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
