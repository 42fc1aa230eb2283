// The supervisor treats a thread as dead only once it has exited (main thread, with real piscina worker threads).
//
// A stand-in loop (test/fixtures/tasks/loop-stand-in.mjs) rejects its first task while its thread runs on. Cleaning up
// then would free slabs a live writer still fills; the supervisor must terminate that thread and wait for its exit
// before it reports the death and submits the loop again.

import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadSupervisor } from '../../src/main/thread-supervisor.js';
import { createPoolMemory } from '../../src/pool/index.js';
import { installControl } from '../helpers/control.js';
import { waitFor } from '../helpers/server.js';

const STAND_IN = fileURLToPath(new URL('../fixtures/tasks/loop-stand-in.mjs', import.meta.url));

/** Every worker thread this process starts, and which of them have exited, by threadId. */
const started = new Map<number, Worker>();
const exited = new Set<number>();
process.on('worker', (worker: Worker) => {
  const id = worker.threadId;
  started.set(id, worker);
  worker.once('exit', () => exited.add(id));
});

const supervisors: ThreadSupervisor[] = [];
afterEach(async () => {
  for (const s of supervisors.splice(0)) await s.stop();
});

interface Death {
  threadId: number;
  exitedBefore: boolean;
  message: string;
}

/** A supervisor of one stand-in loop; each death is recorded with whether its thread had exited when it was reported. */
function supervise(deaths: Death[]): ThreadSupervisor {
  const memory = createPoolMemory({ slabSize: 4096, slabCount: 4, slotCount: 2, queueCount: 2, queueCapacity: 8 });
  const supervisor = new ThreadSupervisor(memory, {
    threads: 1,
    appUrl: 'file:///unused.js',
    filename: STAND_IN,
    onDeath: (_thread, error, threadId) => {
      deaths.push({ threadId, exitedBefore: exited.has(threadId), message: (error as Error).message });
    },
    onLoadError: () => {},
    ringLater: () => {},
  });
  supervisors.push(supervisor);
  return supervisor;
}

describe('the thread supervisor', () => {
  it('reports a loop that threw only after terminating its still-running thread, then runs the loop on a new thread', async () => {
    const control = installControl();
    control.open('STREAM');
    const deaths: Death[] = [];
    const supervisor = supervise(deaths);
    await waitFor(() => deaths.length, (n) => n === 1, { what: 'the death to be reported' });
    const [death] = deaths;
    expect(death!.message).toContain('the loop threw');
    expect(started.has(death!.threadId)).toBe(true);
    expect(death!.exitedBefore).toBe(true);
    // The loop runs again, on another thread.
    await waitFor(() => control.count('BODIES_STARTED'), (n) => n === 2, { what: 'the loop to be submitted again' });
    const thread = supervisor.threads[0]!;
    await waitFor(() => thread.inbox.consumerThread(), (id) => id !== 0 && id !== death!.threadId, { what: 'a new thread to claim the inbox' });
    expect(thread.restarts).toBe(1);
  });

  it('reports a thread killed with kill() only after it exited', async () => {
    const control = installControl();
    const deaths: Death[] = [];
    const supervisor = supervise(deaths);
    const thread = supervisor.threads[0]!;
    const first = await waitFor(() => thread.inbox.consumerThread(), (id) => id !== 0, { what: 'the loop to claim its inbox' });
    supervisor.kill(thread);
    await waitFor(() => deaths.length, (n) => n === 1, { what: 'the death to be reported' });
    expect(deaths[0]!.threadId).toBe(first);
    expect(deaths[0]!.exitedBefore).toBe(true);
    await waitFor(() => control.count('BODIES_STARTED'), (n) => n === 2, { what: 'the loop to be submitted again' });
  });
});
