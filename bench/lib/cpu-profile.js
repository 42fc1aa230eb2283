// Reads a V8 .cpuprofile (as written by node --cpu-prof) and ranks functions by self time (runner process).

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/** {totalMs, idleMs, top: [{name, where, selfMs, share}]}, functions merged by name and location. */
export function topSelfTime(path, { limit = 12, root = process.cwd() } = {}) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const deltas = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    // A sample's time is the gap to the next one; the last sample gets none.
    const dt = deltas[i + 1] ?? 0;
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const merged = new Map();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const { callFrame: f } = byId.get(id);
    const url = f.url.startsWith('file://') ? relative(root, new URL(f.url).pathname) : f.url;
    const where = url ? `${url}:${f.lineNumber + 1}` : '';
    const name = f.functionName || '(anonymous)';
    const key = `${name} ${where}`;
    const entry = merged.get(key) ?? { name, where, selfUs: 0 };
    entry.selfUs += us;
    merged.set(key, entry);
    totalUs += us;
  }
  const top = [...merged.values()]
    .sort((a, b) => b.selfUs - a.selfUs)
    .slice(0, limit)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.selfUs / 1000, share: e.selfUs / totalUs }));
  // node marks the time its event loop waits for I/O as "(idle)": not CPU. (A blocking Atomics.wait is not marked.)
  const idleUs = [...merged.values()].filter((e) => e.name === '(idle)').reduce((us, e) => us + e.selfUs, 0);
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, top };
}
