// What each scenario measures: its path, connections, load generator, and the servers it compares (runner process).
//
// Scenarios that share a `group` are measured together, in the same alternating rounds: seed-file's baselines are
// the slab-sweep chart's horizontal lines, so both come from one set of rounds.

import { fileURLToPath } from 'node:url';
import { SEED_SIZE } from '../../examples/seed-file.js';

export const SLAB_SIZES = [4, 8, 16, 40, 64, 256].map((k) => k * 1024);
/** The seed's 2007 table: mod_wsgi buffer size (bytes) → req/s, and nginx static, on a 2007 dual core. */
export const SEED_2007 = { modWsgi: { 4096: 35, 8192: 53, 16384: 81, 40960: 100 }, nginx: 200 };

const kib = (n) => `${n / 1024}k`;
/** Absolute, so the bench runs from any working directory. */
export const appPath = (name) => fileURLToPath(new URL(`../apps/${name}.js`, import.meta.url));

/**
 * env: {cpuCount, nginx (bool), largeLoad ('wrk'|'node'), helloLoad and smallLoad ('wrk'|'autocannon'), young (MB list)}. helloLoad
 * drives hello and latency (wrk where installed), smallLoad the cpu scenario.
 */
export function defineScenarios(env) {
  const threads = env.cpuCount;
  const slabserve = (id, app, extra = {}) => ({
    id,
    label: `slabserve${extra.slabSize ? ` ${kib(extra.slabSize)}` : ''}`,
    kind: 'slabserve',
    args: { app: appPath(app), threads, ...extra },
  });
  const nodeHttp = (mode, label) => ({ id: `node-${mode}`, label, kind: 'node-http', args: [mode] });
  const cluster = (mode) => ({
    id: `cluster-${mode}`,
    label: `node:cluster ×${threads}`,
    kind: 'node-cluster',
    args: [threads, mode],
  });
  const piscina = { id: 'piscina', label: `node:http + piscina ×${threads}`, kind: 'node-piscina', args: [threads] };
  // The very app slabserve runs for hello (bench/apps/hello.js), served in the main thread the usual Node way.
  const hono = { id: 'hono-node', label: '@hono/node-server in-thread', kind: 'hono-node' };
  const helloServers = () => [slabserve('slabserve-hello', 'hello'), nodeHttp('stream', 'node:http in-thread'), hono, piscina];
  const nginx = env.nginx ? [{ id: 'nginx', label: 'nginx sendfile', kind: 'nginx' }] : [];
  const seedExpect = 'seed';
  const sweep = SLAB_SIZES.map((size) => slabserve(`slabserve-${kib(size)}`, 'seed-file', { slabSize: size }));
  const stream = nodeHttp('stream', 'node:http createReadStream');
  const memory = nodeHttp('memory', 'node:http from memory');

  return [
    {
      name: 'seed-file',
      group: 'seed',
      path: '/seed',
      expect: seedExpect,
      connections: 8,
      load: env.largeLoad,
      bodyBytes: SEED_SIZE,
      subject: 'slabserve-64k',
      servers: [sweep[4], stream, memory, cluster('stream'), piscina, ...nginx],
      ratio: 'subject-over-row',
    },
    {
      name: 'slab-sweep',
      group: 'seed',
      path: '/seed',
      expect: seedExpect,
      connections: 8,
      load: env.largeLoad,
      bodyBytes: SEED_SIZE,
      subject: 'slabserve-64k',
      servers: sweep,
      // The chart's horizontal lines; measured in the same rounds when seed-file runs too.
      chartBaselines: [stream, memory, cluster('stream'), ...nginx],
      ratio: 'row-over-subject',
    },
    {
      name: 'hello',
      group: 'hello',
      path: '/hello',
      expect: 'hello',
      connections: 64,
      load: env.helloLoad,
      bodyBytes: 12,
      subject: 'slabserve-hello',
      servers: [...helloServers(), cluster('stream')],
      ratio: 'subject-over-row',
    },
    {
      // One request at a time: what each hand-off costs in time, not what the cores can do together. Its own group,
      // so its rounds alternate only among these servers and never overlap hello's.
      name: 'latency',
      group: 'latency',
      path: '/hello',
      expect: 'hello',
      connections: 1,
      load: env.helloLoad,
      bodyBytes: 12,
      subject: 'slabserve-hello',
      servers: helloServers(),
      ratio: 'subject-over-row',
      fineLatency: true,
    },
    {
      name: 'cpu',
      group: 'cpu',
      path: '/cpu',
      expect: 'cpu',
      connections: 16,
      load: env.smallLoad,
      bodyBytes: 65,
      subject: 'slabserve-cpu',
      servers: [
        slabserve('slabserve-cpu', 'cpu'),
        // --young 8,32: the same server with each worker thread's young generation capped (resourceLimits), side by side.
        ...(env.young ?? []).map((mb) => ({
          ...slabserve(`slabserve-cpu-young${mb}`, 'cpu', { resourceLimits: { maxYoungGenerationSizeMb: mb } }),
          label: `slabserve, young ${mb} MB`,
        })),
        cluster('stream'),
        piscina,
        nodeHttp('stream', 'node:http in-thread'),
      ],
      ratio: 'subject-over-row',
    },
    {
      // React server rendering of a 140 KB page: Node's pipeable stream everywhere it can go, the web stream where
      // only a fetch handler can take it (slabserve's fetch form, @hono/node-server).
      name: 'ssr',
      group: 'ssr',
      path: '/ssr',
      expect: 'ssr',
      connections: 16,
      load: env.helloLoad,
      bodyBytes: 140_299,
      subject: 'slabserve-ssr',
      servers: [
        { ...slabserve('slabserve-ssr', 'ssr'), label: 'slabserve, pipeable stream' },
        ...(env.young ?? []).map((mb) => ({
          ...slabserve(`slabserve-ssr-young${mb}`, 'ssr', { resourceLimits: { maxYoungGenerationSizeMb: mb } }),
          label: `slabserve, pipeable, young ${mb} MB`,
        })),
        { ...slabserve('slabserve-ssr-web', 'ssr-web'), label: 'slabserve, fetch + web stream' },
        { ...cluster('stream'), label: `node:cluster ×${threads}, pipeable stream` },
        nodeHttp('stream', 'node:http in-thread, pipeable stream'),
        { id: 'hono-node-ssr', label: '@hono/node-server in-thread, web stream', kind: 'hono-node', args: ['ssr-web'] },
      ],
      ratio: 'subject-over-row',
    },
    {
      name: 'slow-readers',
      group: 'slow-readers',
      path: '/seed',
      expect: seedExpect,
      connections: 1000,
      bodyBytes: SEED_SIZE,
      subject: 'slabserve-slow',
      servers: [slabserve('slabserve-slow', 'seed-file'), stream, memory, piscina, ...nginx],
    },
  ];
}
