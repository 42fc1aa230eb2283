// What slabserve reports on node:diagnostics_channel, and how the CLI prints it (end to end).
//
// The library never prints: each event is published on its channel in the main thread (a worker's events are
// forwarded there), so a program that subscribes in main sees everything.

import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { requestOnce } from '../helpers/raw-http.js';
import { appPath, useHarness, waitFor } from '../helpers/server.js';

type Events = Record<string, Record<string, unknown>[]>;

const subscriptions: [string, (message: unknown) => void][] = [];
afterEach(() => {
  for (const [name, fn] of subscriptions.splice(0)) unsubscribe(name, fn);
});

function listen(...names: string[]): Events {
  const events: Events = {};
  for (const name of names) {
    events[name] = [];
    const fn = (message: unknown): void => void events[name]!.push(message as Record<string, unknown>);
    subscribe(name, fn);
    subscriptions.push([name, fn]);
  }
  return events;
}

describe('diagnostics channels', () => {
  const h = useHarness();

  it('publishes an app error from a worker thread in main, with the request and the error', async () => {
    const events = listen('slabserve:app-error');
    const ts = await h.start('failing-app', { threads: 1 });
    expect((await requestOnce(ts.port, { path: '/throw' })).status).toBe(500);
    const [event] = await waitFor(() => events['slabserve:app-error']!, (e) => e.length === 1, { what: 'the app error' });
    expect(event).toMatchObject({ owner: 1, method: 'GET' });
    expect(String(event!['url'])).toMatch(/\/throw$/);
    expect((event!['error'] as { message: string }).message).toMatch(/./);
  });

  it('publishes a thread death with how many requests it took down', async () => {
    const events = listen('slabserve:thread-death');
    const ts = await h.start('failing-app', { threads: 1 });
    expect((await requestOnce(ts.port, { path: '/exit' })).status).toBe(502);
    const [event] = await waitFor(() => events['slabserve:thread-death']!, (e) => e.length === 1, { what: 'the thread death' });
    expect(event).toMatchObject({ owner: 1, requests: 1 });
    expect(event!['threadId']).toBeGreaterThan(0);
  });

  it('publishes an app timeout, and the termination of a thread stuck on the CPU', async () => {
    const events = listen('slabserve:app-timeout', 'slabserve:thread-terminated');
    const ts = await h.start('faulty-app', { threads: 1, appTimeout: 200 });
    expect((await requestOnce(ts.port, { path: '/spin' })).status).toBe(504);
    await waitFor(() => events['slabserve:thread-terminated']!, (e) => e.length === 1, { what: 'the termination' });
    expect(events['slabserve:app-timeout']).toEqual([expect.objectContaining({ owner: 1, method: 'GET', url: '/spin' })]);
    expect(events['slabserve:thread-terminated']![0]!['reason']).toMatch(/did not answer/);
  });

  it('publishes a send timeout for a client that stopped reading', async () => {
    const events = listen('slabserve:send-timeout');
    const ts = await h.start('native-app', { sendTimeout: 300 });
    const conn = await h.connect(ts, { stalled: true, collect: false });
    conn.write({ path: '/body?seed=3&size=268435456' });
    const [event] = await waitFor(() => events['slabserve:send-timeout']!, (e) => e.length === 1, {
      timeoutMs: 15_000,
      what: 'the send timeout',
    });
    expect(event).toMatchObject({ method: 'GET', url: '/body?seed=3&size=268435456' });
    expect(event!['idleMs']).toBeGreaterThanOrEqual(300);
  });
});

describe('the command line', () => {
  it('prints what the channels publish on stderr', async () => {
    const cli = fileURLToPath(new URL('../../dist/main/cli.js', import.meta.url));
    const child = spawn(process.execPath, [cli, appPath('failing-app'), '--port', '0', '--threads', '1'], { stdio: 'pipe' });
    try {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b));
      child.stderr.on('data', (b: Buffer) => (stderr += b));
      const url = await waitFor(() => /listening on (http:\S+)/.exec(stdout)?.[1], (u) => u !== undefined, { what: 'the CLI to listen' });
      expect((await requestOnce(Number(new URL(url!).port), { path: '/throw' })).status).toBe(500);
      await waitFor(() => stderr, (e) => e.includes('app error in thread 1, GET'), { what: 'the app error on stderr' });
    } finally {
      child.kill('SIGKILL');
    }
  });
});
