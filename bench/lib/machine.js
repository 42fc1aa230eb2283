// What the results depend on: the machine, the tools found, and the build being measured (runner process).

import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { nginxVersion } from './nginx.js';
import { wrkVersion } from './load.js';

export function describeMachine() {
  const list = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    os: `${process.platform} ${release()}`,
    cpuCount: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    freeMemoryGiB: +(freemem() / 2 ** 30).toFixed(1),
    loadAverage: loadavg().map((x) => +x.toFixed(2)),
    wrk: wrkVersion(),
    nginx: nginxVersion(),
    fdLimit: fdLimit(),
    commit: gitCommit(),
  };
}

/** The limit on open files that children get (node has already raised its soft limit to the hard one). */
export function fdLimit() {
  const out = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? Infinity : Number(out);
}

function gitCommit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: 'pipe' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8', stdio: 'pipe' }).trim();
    return dirty ? `${head} (src/ modified)` : head;
  } catch {
    return null;
  }
}

function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

/** A warning when dist/ is missing or older than src/: the bench measures dist/, not the TypeScript. */
export function buildWarning(root) {
  try {
    if (newest(join(root, 'src')) > newest(join(root, 'dist'))) return 'dist/ is older than src/: run `npm run build` first';
    return null;
  } catch {
    return 'dist/ is missing: run `npm run build` (npm install does it) first';
  }
}
