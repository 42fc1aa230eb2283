// Keeps one serve loop running on every worker thread, through piscina, and reports deaths (main thread).
//
// piscina owns the threads: it creates them, applies resourceLimits, and replaces a thread that dies. We submit one
// long-lived task per thread (the serve loop) instead of one run() per request, because a run() costs a postMessage
// and a promise each way (about 80–100 µs here); requests travel through the shared-memory queues instead. A task
// that rejects means its thread died; we clean up after it and submit the task again, which lands on the replacement.

import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { inboxOf, Kind, outboxOf, type ThreadResult, type ThreadTask } from '../messages.js';
import { DescriptorQueue, QueueSender, type PoolMemory } from '../pool/index.js';

export interface ThreadState {
  /** 1..threads; also the owner id in slab tags. */
  owner: number;
  inbox: DescriptorQueue;
  sender: QueueSender;
  outbox: DescriptorQueue;
  /** Exchanges dispatched to this thread and not yet answered in full. */
  active: number;
  /** Aborting it makes piscina terminate the thread (used for app timeouts). */
  controller: AbortController;
  running: Promise<void>;
  /** Times this thread slot was restarted after a death. */
  restarts: number;
  /** The worker_threads id of the thread running the loop now (from its THREAD_READY). */
  threadId: number;
}

export interface SupervisorOptions {
  threads: number;
  appUrl: string;
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number };
  /** Called after a thread's task rejected, before the task is submitted again. */
  onDeath: (thread: ThreadState, error: unknown) => void;
  /** Called when a thread could not load the app; the thread is not restarted. */
  onLoadError: (thread: ThreadState, result: NonNullable<ThreadResult>) => void;
}

const WORKER_ENTRY = fileURLToPath(new URL('../workers/worker-entry.js', import.meta.url));

export class ThreadSupervisor {
  readonly threads: ThreadState[] = [];
  private readonly piscina: Piscina;
  private readonly memory: PoolMemory;
  private readonly options: SupervisorOptions;
  private stopping = false;
  private next = 0;

  constructor(memory: PoolMemory, options: SupervisorOptions) {
    this.memory = memory;
    this.options = options;
    this.piscina = new Piscina({
      filename: WORKER_ENTRY,
      minThreads: options.threads,
      maxThreads: options.threads,
      concurrentTasksPerWorker: 1,
      idleTimeout: Infinity,
      // The loop sleeps with Atomics.waitAsync; piscina's blocking wait between tasks would stall async apps.
      atomics: 'disabled',
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    });
    // A thread that dies between tasks is reported here as well as through its task; the task handles it.
    this.piscina.on('error', () => {});
    for (let owner = 1; owner <= options.threads; owner++) {
      const inbox = new DescriptorQueue(memory, inboxOf(owner));
      const thread: ThreadState = {
        owner,
        inbox,
        sender: new QueueSender(inbox),
        outbox: new DescriptorQueue(memory, outboxOf(owner)),
        active: 0,
        controller: new AbortController(),
        running: Promise.resolve(),
        restarts: 0,
        threadId: -1,
      };
      this.threads.push(thread);
      this.submit(thread);
    }
  }

  /** The thread with the fewest exchanges in flight; ties go round-robin. */
  pick(): ThreadState {
    const n = this.threads.length;
    let best = this.threads[this.next]!;
    for (let k = 1; k < n; k++) {
      const t = this.threads[(this.next + k) % n]!;
      if (t.active < best.active) best = t;
    }
    this.next = (this.next + 1) % n;
    return best;
  }

  /**
   * Terminates a thread whose app is stuck. We terminate the Worker itself rather than abort the task: piscina then
   * rejects the task from the thread's 'exit', so onDeath runs only once the thread has really stopped touching the
   * pool. piscina replaces the thread.
   */
  kill(thread: ThreadState): void {
    const worker = this.piscina.threads.find((w) => w.threadId === thread.threadId);
    if (worker !== undefined) void worker.terminate();
    else thread.controller.abort();
  }

  /** Asks every loop to finish its requests and return, then shuts the threads down. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.threads) t.sender.send(0, 0, -1, 0, 0, Kind.STOP, 0);
    await Promise.allSettled(this.threads.map((t) => t.running));
    await this.piscina.destroy();
  }

  private submit(thread: ThreadState): void {
    thread.controller = new AbortController();
    const task: ThreadTask = { owner: thread.owner, buffers: this.memory.buffers, appUrl: this.options.appUrl };
    thread.running = this.piscina.run(task, { signal: thread.controller.signal }).then(
      (result: ThreadResult) => {
        if (result !== null) this.options.onLoadError(thread, result);
      },
      (error: unknown) => {
        if (this.stopping) return;
        thread.restarts++;
        this.options.onDeath(thread, error);
        this.submit(thread);
      },
    );
  }
}
