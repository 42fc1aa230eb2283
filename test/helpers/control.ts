// The test's end of the shared counters and gates in test/fixtures/apps/control.mjs (test helper, test process).
//
// installControl() allocates a fresh block and installs it with setEnvironmentData, so it must run before the server
// starts its threads (startTestServer in ./server.ts does this). Threads spawned later, including replacements after
// a thread dies, see the same block.

import { setEnvironmentData } from 'node:worker_threads';

interface ControlModule {
  CONTROL_KEY: string;
  CONTROL_WORDS: number;
  Counter: Record<CounterName, number>;
  Gate: Record<GateName, number>;
}

export type CounterName =
  | 'BODIES_STARTED'
  | 'STREAMS_CANCELLED'
  | 'SIGNALS_ABORTED'
  | 'BODIES_FINISHED'
  | 'WRITES_REFUSED'
  | 'REQUESTS'
  | 'UPLOAD_BYTES_READ'
  | 'PARKED'
  | 'UPLOAD_READ_FAILED'
  | 'BYTES_PRODUCED'
  | 'SOURCE_PAUSES'
  | 'DRAINS'
  | 'PIPELINE_ERRORS'
  | 'LAST_ERROR_CODE';
export type GateName = 'UPLOAD' | 'RESPOND' | 'STREAM';

const controlUrl = new URL('../fixtures/apps/control.mjs', import.meta.url).href;
const mod = (await import(controlUrl)) as ControlModule;

export const Counter = mod.Counter;
export const Gate = mod.Gate;

export class TestControl {
  readonly words: Int32Array;

  constructor() {
    this.words = new Int32Array(new SharedArrayBuffer(mod.CONTROL_WORDS * Int32Array.BYTES_PER_ELEMENT));
  }

  /** Makes this block the one worker threads started from now on get. */
  install(): this {
    setEnvironmentData(mod.CONTROL_KEY, this.words.buffer as SharedArrayBuffer);
    return this;
  }

  count(name: CounterName): number {
    return Atomics.load(this.words, Counter[name]);
  }

  /** Opens a gate: one store, then a notify, so every app waiting on it wakes. */
  open(name: GateName): void {
    Atomics.store(this.words, Gate[name], 1);
    Atomics.notify(this.words, Gate[name]);
  }

  close(name: GateName): void {
    Atomics.store(this.words, Gate[name], 0);
  }

  /** Opens every gate (cleanup: nothing may stay parked behind a gate when the server closes). */
  openAll(): void {
    for (const name of Object.keys(Gate) as GateName[]) this.open(name);
  }
}

/** A fresh control block, installed for the threads of the next server to start. */
export function installControl(): TestControl {
  return new TestControl().install();
}
