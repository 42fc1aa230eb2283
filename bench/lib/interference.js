// How much of the machine other jobs took during a measured run (runner process; Linux /proc).
//
// The bench shares its cores with whatever else runs. Every busy CPU ms the kernel counts (including hypervisor steal)
// that is not the server's, the load generator's or the runner's was someone else's: that share of the machine is
// printed next to each figure, so a noisy round can be seen rather than guessed at.

import { cpus } from 'node:os';
import { machineBusyMs, pidsCpuMs, selfAndChildrenMs } from './proc.js';

/** Starts a reading; call the result with the same pids to get the foreign share (0..1) of all cores. */
export function startInterference(pids) {
  const t0 = performance.now();
  const busy0 = machineBusyMs();
  const ours0 = selfAndChildrenMs() + pidsCpuMs(pids());
  return () => {
    const wall = performance.now() - t0;
    const busy = machineBusyMs() - busy0;
    const ours = selfAndChildrenMs() + pidsCpuMs(pids()) - ours0;
    return Math.min(1, Math.max(0, (busy - ours) / (wall * cpus().length)));
  };
}
