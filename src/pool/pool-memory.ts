// Creates the two SharedArrayBuffers of a pool and reopens them on another thread (both threads).

import { SlabserveError } from '../errors.js';
import {
  computeLayout,
  G_CLOSED,
  G_FREE,
  G_LOW_WATER,
  G_ARENA_BYTES,
  G_QUEUE_CAP,
  G_QUEUE_COUNT,
  G_SLAB_COUNT,
  G_SLAB_SIZE,
  G_SLOT_COUNT,
  layoutOf,
  MAX_OWNER,
  SLAB_ALIGN,
  type PoolDimensions,
  type PoolLayout,
} from './slab-layout.js';

/** What crosses to a worker in `workerData`: the buffers themselves, never copies. */
export interface PoolBuffers {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

/** One thread's view of a pool's memory. */
export interface PoolMemory {
  buffers: PoolBuffers;
  layout: PoolLayout;
  control: Int32Array;
  data: Uint8Array;
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Checks the dimensions and rounds the queue capacity up to a power of two. */
export function checkDimensions(d: PoolDimensions): PoolDimensions {
  const positiveInt = (name: string, v: number, max: number): void => {
    if (!Number.isInteger(v) || v < 1 || v > max) {
      throw new SlabserveError('ERR_INVALID_OPTION', `${name} must be an integer from 1 to ${max}, got ${v}`);
    }
  };
  positiveInt('slabSize', d.slabSize, 2 ** 30);
  if (d.slabSize % SLAB_ALIGN !== 0) {
    throw new SlabserveError('ERR_INVALID_OPTION', `slabSize must be a multiple of ${SLAB_ALIGN}, got ${d.slabSize}`);
  }
  positiveInt('slabCount', d.slabCount, 2 ** 20);
  positiveInt('slotCount', d.slotCount, 2 ** 20);
  positiveInt('queueCount', d.queueCount, 2 * MAX_OWNER);
  positiveInt('queueCapacity', d.queueCapacity, 2 ** 24);
  if (d.slabSize * d.slabCount > 2 ** 32) {
    throw new SlabserveError('ERR_INVALID_OPTION', `the pool (slabSize × slabCount) must be at most 4 GiB`);
  }
  const arena = d.arenaBytes ?? 0;
  if (!Number.isInteger(arena) || arena < 0 || arena > 2 ** 28) {
    throw new SlabserveError('ERR_INVALID_OPTION', `arenaBytes must be an integer from 0 to ${2 ** 28}, got ${arena}`);
  }
  return { ...d, queueCapacity: nextPowerOfTwo(d.queueCapacity), arenaBytes: arena === 0 ? 0 : nextPowerOfTwo(arena) };
}

/** Allocates a pool's memory. Every slab starts FREE at generation 0, so a zeroed buffer is a valid pool. */
export function createPoolMemory(dimensions: PoolDimensions): PoolMemory {
  const d = checkDimensions(dimensions);
  const layout = computeLayout(d);
  const buffers: PoolBuffers = {
    control: new SharedArrayBuffer(layout.controlWords * Int32Array.BYTES_PER_ELEMENT),
    data: new SharedArrayBuffer(layout.dataBytes),
  };
  const control = new Int32Array(buffers.control);
  // Written before any other thread has the buffers; postMessage publishes them.
  control[G_SLAB_COUNT] = d.slabCount;
  control[G_SLAB_SIZE] = d.slabSize;
  control[G_SLOT_COUNT] = d.slotCount;
  control[G_QUEUE_COUNT] = d.queueCount;
  control[G_QUEUE_CAP] = d.queueCapacity;
  control[G_ARENA_BYTES] = layout.arenaBytes;
  control[G_FREE] = d.slabCount;
  control[G_LOW_WATER] = d.slabCount;
  control[G_CLOSED] = 0;
  return { buffers, layout, control, data: new Uint8Array(buffers.data) };
}

/** Builds this thread's view of buffers another thread created (a worker calls this with its workerData). */
export function openPoolMemory(buffers: PoolBuffers): PoolMemory {
  const control = new Int32Array(buffers.control);
  const layout = layoutOf(control);
  if (buffers.data.byteLength !== layout.dataBytes) {
    throw new SlabserveError('ERR_INVALID_OPTION', 'the data buffer does not match the pool header');
  }
  return { buffers, layout, control, data: new Uint8Array(buffers.data) };
}
