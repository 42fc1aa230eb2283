// Starts bench servers as child processes and talks to them over IPC (runner process).
//
// A spec names what to run: {id, label, kind, args?}. Kinds:
//   slabserve     bench/servers/slabserve.js, args = startServer() options (app, threads, slabSize, ...)
//   node-http     bench/servers/node-http.js, args = ['stream'|'memory']
//   node-cluster  bench/servers/node-cluster.js, args = [processes, 'stream'|'memory']
//   node-piscina  bench/servers/node-piscina.js, args = [threads]
//   hono-node     bench/servers/hono-node.js, args = [app] (@hono/node-server serving bench/apps/<app>.js in the main thread)
//   nginx         lib/nginx.js (static, sendfile)
// Every handle has the same shape: {id, label, kind, url, pids, probe(), stop(), stderr()}. pids are the server's
// processes (threads are found under each); the CPU reading adds any child process they fork later.

import { fileURLToPath } from 'node:url';
import { adoptPids, forkTracked, stopChild } from './children.js';
import { launchNginx } from './nginx.js';

const SCRIPTS = {
  slabserve: 'slabserve.js',
  'node-http': 'node-http.js',
  'node-cluster': 'node-cluster.js',
  'node-piscina': 'node-piscina.js',
  'hono-node': 'hono-node.js',
};
const READY_TIMEOUT_MS = 30_000;
const PROBE_TIMEOUT_MS = 5_000;

/** env: extra environment (BENCH_CPU_ROUNDS); execArgv: node flags for the server (e.g. --cpu-prof). */
export async function launch(spec, { env = {}, execArgv = [] } = {}) {
  if (spec.kind === 'nginx') return { ...spec, ...(await launchNginx()) };
  const script = fileURLToPath(new URL(`../servers/${SCRIPTS[spec.kind]}`, import.meta.url));
  const args = spec.kind === 'slabserve' ? [JSON.stringify(spec.args)] : (spec.args ?? []).map(String);
  const child = forkTracked(script, args, {
    env: { ...process.env, ...env },
    execArgv,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const lines = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text) => {
    lines.push(...text.split('\n').filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${spec.label} not ready in ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    child.on('message', (m) => {
      if (m?.type !== 'ready') return;
      clearTimeout(timer);
      resolve(m);
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${spec.label} exited before ready (${sig ?? code}): ${lines.slice(-5).join(' | ')}`));
    });
  }).catch(async (err) => {
    await stopChild(child, 'SIGKILL', 1000);
    throw err;
  });
  adoptPids(child, ready.pids);

  const pending = new Map();
  let nextId = 1;
  child.on('message', (m) => {
    if (m?.type !== 'probe') return;
    pending.get(m.id)?.(m);
    pending.delete(m.id);
  });
  const probe = () =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${spec.label}: no probe answer in ${PROBE_TIMEOUT_MS} ms`));
      }, PROBE_TIMEOUT_MS);
      pending.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      child.send({ type: 'probe', id });
    });

  return {
    ...spec,
    url: `http://127.0.0.1:${ready.port}`,
    pids: ready.pids,
    probe,
    stop: () => stopChild(child, 'SIGTERM', 5000),
    stderr: () => [...lines],
  };
}
