// Keeps one serve loop running on every worker thread, through piscina, and reports deaths (main thread).
//
// piscina owns the threads: it creates them, applies resourceLimits, and replaces a thread that dies. We submit one
// long-lived task per thread (the serve loop) instead of one run() per request, because a run() costs a postMessage
// and a promise each way (about 80–100 µs here); requests travel through the shared-memory queues instead.
//
// A thread is dead when it has exited, not when its task settled. piscina rejects a task on the thread's 'error'
// event, before 'exit', and a task can reject while its thread runs on (a throw that escaped the loop). Cleaning up
// then would free slabs that live writers still fill, and resubmitting would start a second loop beside the first.
// So when a task ends, the thread that ran it (the loop claims its inbox with its threadId before it reads anything)
// is terminated if it still runs, and only after its 'exit' does main clean up and submit the loop again.

import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { control, inboxOf, Kind, mainDoorbell, outboxOf, type ThreadResult, type ThreadTask } from '../protocol.js';
import { DescriptorQueue, QueueSender, type PoolMemory } from '../pool/index.js';
import { within } from './deadline.js';

export interface ThreadState {
  /** 1..threads; also the owner id in slab tags. */
  owner: number;
  inbox: DescriptorQueue;
  sender: QueueSender;
  outbox: DescriptorQueue;
  /** Exchanges dispatched to this thread and not yet answered in full. */
  active: number;
  running: Promise<void>;
  /** Times this thread slot was restarted after a death. */
  restarts: number;
  /** False while the thread may not take new requests: it is being replaced, or is about to be terminated. */
  accepting: boolean;
  /** True once a replacement could not load the app: the thread takes no requests for good. */
  down: boolean;
  /** Requests dispatched here whose heads wait for room in the inbox's arena, in order. */
  headsWaiting: { sendHead(): boolean }[];
}

export interface SupervisorOptions {
  threads: number;
  appUrl: string;
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number };
  /** The task module; the serve loop unless a test supplies its own. */
  filename?: string;
  /**
   * Called once the thread that ran a loop has exited (or never claimed its inbox), before the loop is submitted
   * again: main cleans up after it here. `threadId` is the thread that died, or 0 if it never claimed its inbox.
   */
  onDeath: (thread: ThreadState, error: unknown, threadId: number) => void;
  /** Called when a thread could not load the app; the thread is not restarted and takes no requests. */
  onLoadError: (thread: ThreadState, result: NonNullable<ThreadResult>) => void;
  /** A message a worker posted to its parent (the worker side's diagnostics). */
  onMessage?: (message: unknown) => void;
  /** Arranges for each thread's sender.ring() to be called soon (main's poller turn). */
  ringLater: () => void;
  /** A thread accepts requests again (its replacement was submitted): requests waiting for one may go. */
  onAvailable?: () => void;
}

const WORKER_ENTRY = fileURLToPath(new URL('../workers/worker-entry.js', import.meta.url));

export class ThreadSupervisor {
  readonly threads: ThreadState[] = [];
  private readonly piscina: Piscina;
  private readonly memory: PoolMemory;
  private readonly options: SupervisorOptions;
  /** Every live worker thread piscina made, by threadId, so that one can be found (and its exit awaited) after
   *  piscina has dropped it from its own list. */
  private readonly workers = new Map<number, Worker>();
  private stopping = false;
  private next = 0;

  constructor(memory: PoolMemory, options: SupervisorOptions) {
    this.memory = memory;
    this.options = options;
    this.piscina = new Piscina({
      filename: options.filename ?? WORKER_ENTRY,
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
    this.piscina.on('workerCreate', (created: { id: number }) => this.track(created.id));
    if (options.onMessage) this.piscina.on('message', options.onMessage);
    const bell = mainDoorbell(memory);
    for (let owner = 1; owner <= options.threads; owner++) {
      const inbox = new DescriptorQueue(memory, inboxOf(owner));
      const thread: ThreadState = {
        owner,
        inbox,
        // Main rings each inbox once per turn of its event loop, for all it sent in that turn (see OutboxPoller).
        sender: new QueueSender(inbox, options.ringLater),
        outbox: new DescriptorQueue(memory, outboxOf(owner), bell),
        active: 0,
        running: Promise.resolve(),
        restarts: 0,
        accepting: true,
        down: false,
        headsWaiting: [],
      };
      this.threads.push(thread);
      this.submit(thread);
    }
  }

  /** The accepting thread with the fewest exchanges in flight; ties go round-robin. Null when none accepts. */
  pick(): ThreadState | null {
    const n = this.threads.length;
    let best: ThreadState | null = null;
    for (let k = 0; k < n; k++) {
      const t = this.threads[(this.next + k) % n]!;
      if (t.accepting && (best === null || t.active < best.active)) best = t;
    }
    this.next = (this.next + 1) % n;
    return best;
  }

  /** True when no thread will ever take a request again: every one failed to load the app. */
  allDown(): boolean {
    return this.threads.every((t) => t.down);
  }

  /**
   * Terminates the thread running `thread`'s loop (an app stuck past its timeout). Its task then rejects from the
   * thread's 'exit', and the death is handled as any other.
   */
  kill(thread: ThreadState): void {
    thread.accepting = false;
    const worker = this.workers.get(thread.inbox.consumerThread());
    if (worker !== undefined) void worker.terminate();
  }

  /**
   * Asks every loop to finish its requests and return, then shuts the threads down. Threads still running at
   * `deadline` (a performance.now() time) are terminated: piscina's destroy() does that to whatever is left.
   */
  async stop(deadline = Infinity): Promise<void> {
    this.stopping = true;
    for (const t of this.threads) {
      t.sender.send(control(0, 0, Kind.STOP));
      t.sender.ring();
    }
    await within(Promise.allSettled(this.threads.map((t) => t.running)), deadline);
    await this.piscina.destroy();
  }

  /** Resolves once worker thread `threadId` has exited (at once if it has), terminating it first if it still runs. */
  private async exited(threadId: number): Promise<void> {
    const worker = this.workers.get(threadId);
    if (worker === undefined) return;
    const gone = once(worker, 'exit');
    void worker.terminate();
    await gone;
  }

  private track(threadId: number): void {
    const worker = this.piscina.threads.find((w) => w.threadId === threadId);
    if (worker === undefined) return;
    this.workers.set(threadId, worker);
    worker.once('exit', () => this.workers.delete(threadId));
  }

  private submit(thread: ThreadState): void {
    const task: ThreadTask = { owner: thread.owner, buffers: this.memory.buffers, appUrl: this.options.appUrl };
    thread.running = this.piscina.run(task).then(
      (result: ThreadResult) => {
        if (result !== null) {
          thread.accepting = false;
          thread.down = true;
          this.options.onLoadError(thread, result);
        } else if (!this.stopping) {
          return this.died(thread, new Error('the serve loop returned before it was asked to stop'));
        }
        return undefined;
      },
      (error: unknown) => (this.stopping ? undefined : this.died(thread, error)),
    );
  }

  private async died(thread: ThreadState, error: unknown): Promise<void> {
    thread.restarts++;
    thread.accepting = false;
    const threadId = thread.inbox.consumerThread();
    try {
      await this.exited(threadId);
      this.options.onDeath(thread, error, threadId);
    } finally {
      // The inbox has no consumer until the next loop claims it (the field is the consumer's, and there is none).
      thread.inbox.claim(0);
      if (!this.stopping) {
        // Requests may go to it at once: they wait in its inbox until the new loop reads them.
        thread.accepting = true;
        this.submit(thread);
        this.options.onAvailable?.();
      }
    }
  }
}
