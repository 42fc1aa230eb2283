// The whole shared-memory layout of a slab pool, in one place (both threads).
//
// A pool is two SharedArrayBuffers:
//   control: Int32 words, laid out below. Every cross-thread field is one Int32, read and written with Atomics.
//   data:    slabCount slabs of slabSize bytes each (slab i starts at byte i * slabSize), then one byte arena of
//            arenaBytes per descriptor queue (queue q's at arenasAt + q * arenaBytes). A slab's bytes belong to whoever
//            owns it (see SlabState); an arena's bytes to its queue's producer until the consumer releases them.
//
// Words that different threads write often sit on cache lines of their own (LINE words apart): the free count, each
// doorbell, and each queue's consumer side and producer side. Two threads writing words on one line would each
// invalidate the other's copy on every write. The rest of a line is padding; nothing else lives there.
//
// control, in order (W = the thread that writes it, R = the threads that read it):
//
//   GLOBAL header, GLOBAL_WORDS words at word 0, in lines
//   | field             | width | W                  | R        | meaning                                            |
//   |-------------------|-------|--------------------|----------|----------------------------------------------------|
//   | G_FREE            | i32   | any (Atomics.add)  | any      | slabs in FREE (a counter, may lag the tags briefly) |
//   |  (line)           |       |                    |          |                                                    |
//   | G_FREE_WAKE       | i32   | releasers          | waiters  | futex word bumped when a slab is freed and waited on|
//   | G_FREE_WAITERS    | i32   | waiters            | releasers| threads waiting on G_FREE_WAKE (skip notify when 0) |
//   |  (line)           |       |                    |          |                                                    |
//   | G_MAIN_SLEEPING   | i32   | main; workers (CAS)| workers  | 1 while main sleeps on G_MAIN_WAKE: the doorbell of every outbox |
//   | G_MAIN_WAKE       | i32   | workers            | main     | futex word main sleeps on                          |
//   |  (line)           |       |                    |          |                                                    |
//   | G_LOW_WATER       | i32   | acquirers (CAS min)| main     | lowest G_FREE seen since start                     |
//   | G_REFUSED         | i32   | any (Atomics.add)  | main     | refused transitions (each also raised as an error)  |
//   | G_WAITS           | i32   | waiters            | main     | times a writer waited for a slab or for credit      |
//   | G_CLOSED          | i32   | main               | any      | 1 once the pool is closed: every wait returns       |
//   | G_SLAB_COUNT      | i32   | creator            | any      | slabCount, so a thread can check its view           |
//   | G_SLAB_SIZE       | i32   | creator            | any      | slabSize in bytes                                   |
//   | G_SLOT_COUNT      | i32   | creator            | any      | request slots                                       |
//   | G_QUEUE_COUNT     | i32   | creator            | any      | descriptor queues                                   |
//   | G_QUEUE_CAP       | i32   | creator            | any      | descriptors per queue (a power of two)              |
//   | G_ARENA_BYTES     | i32   | creator            | any      | bytes of each queue's arena (a power of two)        |
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
//   DESCRIPTOR queues, QUEUE_HEADER_WORDS + capacity * DESC_WORDS words each, at QUEUES_AT; header in lines
//   | Q_HEAD       | i32 | consumer | producer | next descriptor to read (published after reading it)            |
//   | Q_ARENA_HEAD | i32 | consumer | producer | arena bytes released up to here (a running position, mod 2^32) |
//   | Q_CONSUMER   | i32 | consumer | producer | threadId of the thread consuming the queue now (0: none yet)    |
//   |  (line)      |     |          |          |                                                                 |
//   | Q_TAIL       | i32 | producer | consumer | next descriptor to write (published after writing it)           |
//   | Q_ARENA_TAIL | i32 | producer | producer | arena bytes written up to here (the producer's own bookkeeping)  |
//   |  (line)      |     |          |          |                                                                 |
//   | Q_SLEEPING   | i32 | consumer; producer (CAS) | producer | the queue's doorbell: 1 while the consumer waits on Q_WAKE |
//   | Q_WAKE       | i32 | producer | consumer | futex word the consumer sleeps on                               |
//   then `capacity` descriptors of DESC_WORDS words:
//   | D_SLOT | D_SLOT_GEN | D_SLAB | D_SLAB_GEN | D_LENGTH | D_KIND | D_AUX | D_EXTRA |
//   written by the producer before it publishes Q_TAIL, read by the consumer before it publishes Q_HEAD. What D_AUX
//   and D_EXTRA mean depends on D_KIND (see src/protocol.ts).

/** Every slab size is a multiple of this, so slabs stay page-aligned in `data`. */
export const SLAB_ALIGN = 4096;
/** Owner ids fit in the tag's 8 owner bits; 0 is the main thread, workers are 1.. */
export const MAX_OWNER = 255;

/** Words per cache line (64 bytes): words that different threads write often start lines of their own. */
export const LINE = 16;

/** `words` rounded up to whole lines. */
function roundToLine(words: number): number {
  return Math.ceil(words / LINE) * LINE;
}

/** The first word of the line after `word`'s. */
function nextLine(word: number): number {
  return (Math.floor(word / LINE) + 1) * LINE;
}

// Global header: each offset follows from the previous one; a hot group starts a new line.
export const G_FREE = 0;
export const G_FREE_WAKE = nextLine(G_FREE);
export const G_FREE_WAITERS = G_FREE_WAKE + 1;
export const G_MAIN_SLEEPING = nextLine(G_FREE_WAITERS);
export const G_MAIN_WAKE = G_MAIN_SLEEPING + 1;
export const G_LOW_WATER = nextLine(G_MAIN_WAKE);
export const G_REFUSED = G_LOW_WATER + 1;
export const G_WAITS = G_REFUSED + 1;
export const G_CLOSED = G_WAITS + 1;
export const G_SLAB_COUNT = G_CLOSED + 1;
export const G_SLAB_SIZE = G_SLAB_COUNT + 1;
export const G_SLOT_COUNT = G_SLAB_SIZE + 1;
export const G_QUEUE_COUNT = G_SLOT_COUNT + 1;
export const G_QUEUE_CAP = G_QUEUE_COUNT + 1;
export const G_ARENA_BYTES = G_QUEUE_CAP + 1;
export const GLOBAL_WORDS = nextLine(G_ARENA_BYTES);

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

// Queue header fields, relative to the queue: the consumer's line, the producer's line, the doorbell's line.
export const Q_HEAD = 0;
export const Q_ARENA_HEAD = Q_HEAD + 1;
export const Q_CONSUMER = Q_ARENA_HEAD + 1;
export const Q_TAIL = nextLine(Q_CONSUMER);
export const Q_ARENA_TAIL = Q_TAIL + 1;
export const Q_SLEEPING = nextLine(Q_ARENA_TAIL);
export const Q_WAKE = Q_SLEEPING + 1;
export const QUEUE_HEADER_WORDS = nextLine(Q_WAKE);

// Descriptor fields, relative to the descriptor.
export const D_SLOT = 0;
export const D_SLOT_GEN = D_SLOT + 1;
export const D_SLAB = D_SLOT_GEN + 1;
export const D_SLAB_GEN = D_SLAB + 1;
export const D_LENGTH = D_SLAB_GEN + 1;
export const D_KIND = D_LENGTH + 1;
export const D_AUX = D_KIND + 1;
export const D_EXTRA = D_AUX + 1;
export const DESC_FIELDS = D_EXTRA + 1;
/** DESC_FIELDS rounded up to a power of two, so descriptors pack whole into cache lines. */
export const DESC_WORDS = 2 ** Math.ceil(Math.log2(DESC_FIELDS));

/** The sizes a pool is built from. */
export interface PoolDimensions {
  slabSize: number;
  slabCount: number;
  slotCount: number;
  queueCount: number;
  queueCapacity: number;
  /** Bytes of each queue's arena (request heads travel there): 0 (none, the default) or a power of two. */
  arenaBytes?: number;
}

/** Word offsets of each region in `control`, all derived from the dimensions. */
export interface PoolLayout extends PoolDimensions {
  arenaBytes: number;
  slabsAt: number;
  slotsAt: number;
  queuesAt: number;
  queueWords: number;
  controlWords: number;
  /** Byte offset of the first arena in `data`, after the slabs. */
  arenasAt: number;
  dataBytes: number;
}

export function computeLayout(d: PoolDimensions): PoolLayout {
  const slabsAt = GLOBAL_WORDS;
  const slotsAt = slabsAt + d.slabCount * SLAB_WORDS;
  // Queue headers are in lines of their own, so each queue starts a line.
  const queuesAt = roundToLine(slotsAt + d.slotCount * SLOT_WORDS);
  const queueWords = roundToLine(QUEUE_HEADER_WORDS + d.queueCapacity * DESC_WORDS);
  const controlWords = queuesAt + d.queueCount * queueWords;
  const arenasAt = d.slabSize * d.slabCount;
  const arenaBytes = d.arenaBytes ?? 0;
  const dataBytes = arenasAt + d.queueCount * arenaBytes;
  return { ...d, arenaBytes, slabsAt, slotsAt, queuesAt, queueWords, controlWords, arenasAt, dataBytes };
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

/** Byte offset of queue `q`'s arena in `data`. */
export function arenaAt(layout: PoolLayout, q: number): number {
  return layout.arenasAt + q * layout.arenaBytes;
}

/** Reads the dimensions back from a control buffer another thread created. */
export function layoutOf(control: Int32Array): PoolLayout {
  return computeLayout({
    slabCount: control[G_SLAB_COUNT]!,
    slabSize: control[G_SLAB_SIZE]!,
    slotCount: control[G_SLOT_COUNT]!,
    queueCount: control[G_QUEUE_COUNT]!,
    queueCapacity: control[G_QUEUE_CAP]!,
    arenaBytes: control[G_ARENA_BYTES]!,
  });
}
