// The nginx baseline: static files with sendfile, run in the foreground as a child process (runner process).
// Skipped, with a note, when nginx is not on PATH (install: apt-get install -y nginx-light).

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedFile } from '../../examples/seed-file.js';
import { adoptPids, spawnTracked, stopChild } from './children.js';
import { processRss } from './proc.js';

/** The nginx binary's version (it prints `nginx version: nginx/1.22.1` on stderr), or null when not installed. */
export function nginxVersion() {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  if (r.error) return null;
  return `${r.stderr}${r.stdout}`.replace('nginx version:', '').trim() || 'nginx';
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
    probe.once('error', reject);
  });
}

function config(root, port) {
  return `daemon off;
master_process on;
worker_processes ${cpus().length};
pid ${root}/nginx.pid;
error_log ${root}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${root}/tmp;
  proxy_temp_path ${root}/tmp;
  fastcgi_temp_path ${root}/tmp;
  uwsgi_temp_path ${root}/tmp;
  scgi_temp_path ${root}/tmp;
  server {
    listen 127.0.0.1:${port};
    root ${root}/www;
    default_type application/octet-stream;
    location = /hello { default_type text/plain; return 200 "hello world\\n"; }
  }
}
`;
}

async function waitForListen(port, child, root) {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const open = await new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  let log = '';
  try {
    log = readFileSync(join(root, 'error.log'), 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {}
  throw new Error(`nginx did not start: ${log}`);
}

function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Starts nginx serving the seed file at /seed. Returns the common handle fields (see servers.js). */
export async function launchNginx() {
  const root = mkdtempSync(join(tmpdir(), 'slabserve-bench-nginx-'));
  // Also on Ctrl-C: children.js ends the runner with process.exit(), which runs 'exit' listeners.
  const removeRoot = () => rmSync(root, { recursive: true, force: true });
  process.once('exit', removeRoot);
  // Run as root, nginx's workers drop to 'nobody': they must be able to walk into the temp root.
  chmodSync(root, 0o755);
  mkdirSync(join(root, 'www'));
  mkdirSync(join(root, 'tmp'));
  symlinkSync(seedFile(), join(root, 'www', 'seed'));
  const port = await freePort();
  writeFileSync(join(root, 'nginx.conf'), config(root, port));
  const child = spawnTracked('nginx', ['-c', join(root, 'nginx.conf'), '-p', root, '-e', join(root, 'error.log')], { stdio: 'ignore' });
  try {
    await waitForListen(port, child, root);
  } catch (err) {
    await stopChild(child, 'SIGKILL', 1000);
    removeRoot();
    process.off('exit', removeRoot);
    throw err;
  }
  // Workers may appear a moment after the port opens.
  await new Promise((r) => setTimeout(r, 200));
  const pids = [child.pid, ...childPids(child.pid)];
  adoptPids(child, pids);
  return {
    url: `http://127.0.0.1:${port}`,
    pids,
    probe: async () => ({ rss: pids.reduce((sum, pid) => sum + processRss(pid), 0), gc: null, threads: pids.length }),
    stop: async () => {
      await stopChild(child, 'SIGTERM', 5000);
      removeRoot();
      process.off('exit', removeRoot);
    },
    stderr: () => [],
  };
}
