// The whole shared-memory layout of a slab pool, in one place (both threads).
//
// A pool is two SharedArrayBuffers:
//   control: Int32 words, laid out below. Every cross-thread field is one Int32, read and written with Atomics.
//   data:    slabCount slabs of slabSize bytes each; slab i starts at byte i * slabSize. Its bytes belong to whoever
//            owns the slab (see SlabState); nobody else touches them.
//
// control, in order (W = the thread that writes it, R = the threads that read it):
//
//   GLOBAL header, GLOBAL_WORDS words at word 0
//   | field          | width | W                  | R        | meaning                                               |
//   |----------------|-------|--------------------|----------|-------------------------------------------------------|
//   | G_FREE         | i32   | any (Atomics.add)  | any      | slabs in FREE (a counter, may lag the tags briefly)    |
//   | G_LOW_WATER    | i32   | acquirers (CAS min)| main     | lowest G_FREE seen since start                         |
//   | G_REFUSED      | i32   | any (Atomics.add)  | main     | refused transitions (each also raised as an error)     |
//   | G_WAITS        | i32   | waiters            | main     | times a writer waited for a slab or for credit         |
//   | G_FREE_WAKE    | i32   | releasers          | waiters  | futex word bumped when a slab is freed and waited on   |
//   | G_FREE_WAITERS | i32   | waiters            | releasers| threads waiting on G_FREE_WAKE (skip notify when 0)    |
//   | G_CLOSED       | i32   | main               | any      | 1 once the pool is closed: every wait returns          |
//   | G_SLAB_COUNT   | i32   | creator            | any      | slabCount, so a thread can check its view              |
//   | G_SLAB_SIZE    | i32   | creator            | any      | slabSize in bytes                                      |
//   | G_SLOT_COUNT   | i32   | creator            | any      | request slots                                          |
//   | G_QUEUE_COUNT  | i32   | creator            | any      | descriptor queues                                      |
//   | G_QUEUE_CAP    | i32   | creator            | any      | descriptors per queue (a power of two)                 |
//
//   SLAB headers, SLAB_WORDS words per slab, at SLABS_AT
//   | S_TAG    | i32 | the owner, by CAS | any | state (2 bits), owner thread (8 bits), generation (22 bits): see slab-pool.ts |
//   | S_LENGTH | i32 | the owner         | any | bytes used, for error reports                                                   |
//   | S_SLOT   | i32 | the owner         | any | request slot the slab belongs to, for error reports and reclaim                |
//
//   REQUEST slots, SLOT_WORDS words per slot, at SLOTS_AT
//   | R_GEN        | i32 | main              | workers | bumped each time main hands the slot to a new request        |
//   | R_RESP_OWNED | i32 | worker +, main -  | both    | response slabs the request owns now (its credit in use)      |
//   | R_REQ_OWNED  | i32 | main +, worker -  | both    | upload slabs the request owns now                             |
//   | R_WINDOW     | i32 | main              | both    | most slabs the request may own at once, per direction         |
//   | R_FLAGS      | i32 | main (Atomics.or) | workers | SLOT_ABORTED and friends                                      |
//   | R_WAKE       | i32 | main, workers     | waiters | futex word bumped on every release or abort for this slot     |
//   | R_WAITERS    | i32 | waiters           | both    | threads waiting on R_WAKE (skip notify when 0)               |
//
//   DESCRIPTOR queues, QUEUE_HEADER_WORDS + capacity * DESC_WORDS words each, at QUEUES_AT
//   | Q_HEAD     | i32 | consumer | producer | next descriptor to read (published after reading it)            |
//   | Q_TAIL     | i32 | producer | consumer | next descriptor to write (published after writing it)           |
//   | Q_SLEEPING | i32 | consumer | producer | 1 while the consumer waits on Q_WAKE: only then does the producer notify |
//   | Q_WAKE     | i32 | producer | consumer | futex word the consumer sleeps on                               |
//   | Q_CONSUMER | i32 | consumer | producer | threadId of the thread consuming the queue now (0: none yet)    |
//   then `capacity` descriptors of DESC_WORDS words:
//   | D_SLOT | D_SLOT_GEN | D_SLAB | D_SLAB_GEN | D_LENGTH | D_KIND | D_AUX | (pad) |
//   written by the producer before it publishes Q_TAIL, read by the consumer before it publishes Q_HEAD.

/** Every slab size is a multiple of this, so slabs stay page-aligned in `data`. */
export const SLAB_ALIGN = 4096;
/** Owner ids fit in the tag's 8 owner bits; 0 is the main thread, workers are 1.. */
export const MAX_OWNER = 255;

// Global header: each offset follows from the previous one.
export const G_FREE = 0;
export const G_LOW_WATER = G_FREE + 1;
export const G_REFUSED = G_LOW_WATER + 1;
export const G_WAITS = G_REFUSED + 1;
export const G_FREE_WAKE = G_WAITS + 1;
export const G_FREE_WAITERS = G_FREE_WAKE + 1;
export const G_CLOSED = G_FREE_WAITERS + 1;
export const G_SLAB_COUNT = G_CLOSED + 1;
export const G_SLAB_SIZE = G_SLAB_COUNT + 1;
export const G_SLOT_COUNT = G_SLAB_SIZE + 1;
export const G_QUEUE_COUNT = G_SLOT_COUNT + 1;
export const G_QUEUE_CAP = G_QUEUE_COUNT + 1;
export const GLOBAL_WORDS = G_QUEUE_CAP + 1;

// Slab header fields, relative to the slab's header.
export const S_TAG = 0;
export const S_LENGTH = S_TAG + 1;
export const S_SLOT = S_LENGTH + 1;
export const SLAB_WORDS = S_SLOT + 1;

// Request slot fields, relative to the slot.
export const R_GEN = 0;
export const R_RESP_OWNED = R_GEN + 1;
export const R_REQ_OWNED = R_RESP_OWNED + 1;
export const R_WINDOW = R_REQ_OWNED + 1;
export const R_FLAGS = R_WINDOW + 1;
export const R_WAKE = R_FLAGS + 1;
export const R_WAITERS = R_WAKE + 1;
export const SLOT_WORDS = R_WAITERS + 1;

// Queue header fields, relative to the queue.
export const Q_HEAD = 0;
export const Q_TAIL = Q_HEAD + 1;
export const Q_SLEEPING = Q_TAIL + 1;
export const Q_WAKE = Q_SLEEPING + 1;
export const Q_CONSUMER = Q_WAKE + 1;
export const QUEUE_HEADER_WORDS = Q_CONSUMER + 1;

// Descriptor fields, relative to the descriptor.
export const D_SLOT = 0;
export const D_SLOT_GEN = D_SLOT + 1;
export const D_SLAB = D_SLOT_GEN + 1;
export const D_SLAB_GEN = D_SLAB + 1;
export const D_LENGTH = D_SLAB_GEN + 1;
export const D_KIND = D_LENGTH + 1;
export const D_AUX = D_KIND + 1;
export const DESC_FIELDS = D_AUX + 1;
/** DESC_FIELDS rounded up to a power of two, so descriptors pack whole into cache lines. */
export const DESC_WORDS = 2 ** Math.ceil(Math.log2(DESC_FIELDS));

/** The sizes a pool is built from. */
export interface PoolDimensions {
  slabSize: number;
  slabCount: number;
  slotCount: number;
  queueCount: number;
  queueCapacity: number;
}

/** Word offsets of each region in `control`, all derived from the dimensions. */
export interface PoolLayout extends PoolDimensions {
  slabsAt: number;
  slotsAt: number;
  queuesAt: number;
  queueWords: number;
  controlWords: number;
  dataBytes: number;
}

export function computeLayout(d: PoolDimensions): PoolLayout {
  const slabsAt = GLOBAL_WORDS;
  const slotsAt = slabsAt + d.slabCount * SLAB_WORDS;
  const queuesAt = slotsAt + d.slotCount * SLOT_WORDS;
  const queueWords = QUEUE_HEADER_WORDS + d.queueCapacity * DESC_WORDS;
  const controlWords = queuesAt + d.queueCount * queueWords;
  return { ...d, slabsAt, slotsAt, queuesAt, queueWords, controlWords, dataBytes: d.slabSize * d.slabCount };
}

/** Word index of slab `i`'s header. */
export function slabAt(layout: PoolLayout, i: number): number {
  return layout.slabsAt + i * SLAB_WORDS;
}

/** Word index of request slot `s`. */
export function slotAt(layout: PoolLayout, s: number): number {
  return layout.slotsAt + s * SLOT_WORDS;
}

/** Word index of descriptor queue `q`'s header. */
export function queueAt(layout: PoolLayout, q: number): number {
  return layout.queuesAt + q * layout.queueWords;
}

/** Reads the dimensions back from a control buffer another thread created. */
export function layoutOf(control: Int32Array): PoolLayout {
  return computeLayout({
    slabCount: control[G_SLAB_COUNT]!,
    slabSize: control[G_SLAB_SIZE]!,
    slotCount: control[G_SLOT_COUNT]!,
    queueCount: control[G_QUEUE_COUNT]!,
    queueCapacity: control[G_QUEUE_CAP]!,
  });
}
