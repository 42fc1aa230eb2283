// Every child process the runner starts, so that all of them end with the runner: on completion, error or Ctrl-C
// (runner process).
//
// Each entry holds the pids of a server's whole process group as the server reported them (cluster workers, nginx
// workers), so cleanup signals those exact ids and never matches processes by name.

import { fork, spawn } from 'node:child_process';

const live = new Map();

function track(child) {
  live.set(child, new Set([child.pid]));
  child.once('exit', () => live.delete(child));
  return child;
}

/** Extra pids that belong to `child` (workers it started), killed with it. */
export function adoptPids(child, pids) {
  const set = live.get(child);
  if (set) for (const pid of pids) set.add(pid);
}

export function forkTracked(script, args, options) {
  return track(fork(script, args, options));
}

export function spawnTracked(command, args, options) {
  return track(spawn(command, args, options));
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Asks `child` to stop with `sig` (it stops its own workers); SIGKILLs it and its adopted pids after `graceMs`. */
export async function stopChild(child, sig = 'SIGTERM', graceMs = 4000) {
  const pids = [...(live.get(child) ?? [])];
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    signal(child.pid, sig);
    const timer = new Promise((resolve) => setTimeout(resolve, graceMs, 'timeout'));
    if ((await Promise.race([exited, timer])) === 'timeout') {
      // It did not stop its own workers either: end them by the ids it reported.
      for (const pid of pids) signal(pid, 'SIGKILL');
    }
  }
  live.delete(child);
}

/** Synchronous last resort, for process 'exit': SIGKILL every pid still tracked. */
export function killAllNow() {
  for (const pids of live.values()) for (const pid of pids) signal(pid, 'SIGKILL');
  live.clear();
}

process.once('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    process.stderr.write(`\nbench: ${sig}, stopping every server it started\n`);
    killAllNow();
    process.exit(130);
  });
}
