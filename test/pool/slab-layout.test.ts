import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import * as pool from '../../src/pool/index.js';
import {
  computeLayout,
  createPoolMemory,
  DESC_FIELDS,
  DESC_WORDS,
  GENERATION_MASK,
  GLOBAL_WORDS,
  G_FREE,
  G_FREE_WAITERS,
  G_FREE_WAKE,
  G_LOW_WATER,
  G_MAIN_SLEEPING,
  G_MAIN_WAKE,
  LINE,
  MAX_OWNER,
  Q_ARENA_HEAD,
  Q_ARENA_TAIL,
  Q_HEAD,
  Q_SLEEPING,
  Q_TAIL,
  Q_WAKE,
  QUEUE_HEADER_WORDS,
  queueAt,
  SLAB_ALIGN,
  SLAB_WORDS,
  slabAt,
  SlabPool,
  SLOT_WORDS,
  slotAt,
  type PoolDimensions,
} from '../../src/pool/index.js';

/** Every exported field constant with the given prefix (G_, S_, R_, Q_, D_), by name. */
function fields(prefix: string): Array<[string, number]> {
  return Object.entries(pool).filter(
    (e): e is [string, number] => e[0].startsWith(prefix) && /^[A-Z]_[A-Z_]+$/.test(e[0]) && typeof e[1] === 'number',
  );
}

const REGIONS: Array<[string, string, number]> = [
  ['global header', 'G_', GLOBAL_WORDS],
  ['slab header', 'S_', SLAB_WORDS],
  ['request slot', 'R_', SLOT_WORDS],
  ['queue header', 'Q_', QUEUE_HEADER_WORDS],
  ['descriptor', 'D_', DESC_FIELDS],
];

const dimensions: fc.Arbitrary<PoolDimensions> = fc.record({
  slabSize: fc.integer({ min: 1, max: 16 }).map((pages) => pages * SLAB_ALIGN),
  slabCount: fc.integer({ min: 1, max: 40 }),
  slotCount: fc.integer({ min: 1, max: 40 }),
  queueCount: fc.integer({ min: 1, max: 8 }),
  queueCapacity: fc.integer({ min: 1, max: 16 }).map((c) => 2 ** Math.ceil(Math.log2(c))),
  arenaBytes: fc.constantFrom(0, 64, 4096),
});

describe('slab layout constants', () => {
  for (const [region, prefix, words] of REGIONS) {
    it(`gives each ${region} field a word of its own inside the region`, () => {
      const found = fields(prefix);
      expect(found.length).toBeGreaterThan(0);
      const offsets = found.map(([, v]) => v);
      expect(new Set(offsets).size).toBe(offsets.length);
      for (const v of offsets) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThan(words);
      }
    });
  }

  it('puts the words different threads write often on cache lines of their own', () => {
    const line = (word: number): number => Math.floor(word / LINE);
    // The free count; the free waiters' futex word; main's doorbell; the rest of the global header.
    const global = [G_FREE, G_FREE_WAKE, G_MAIN_SLEEPING, G_LOW_WATER].map(line);
    expect(new Set(global).size).toBe(global.length);
    expect(line(G_FREE_WAITERS)).toBe(line(G_FREE_WAKE));
    expect(line(G_MAIN_WAKE)).toBe(line(G_MAIN_SLEEPING));
    // A queue: the consumer's words, the producer's words, the doorbell.
    const queue = [Q_HEAD, Q_TAIL, Q_SLEEPING].map(line);
    expect(new Set(queue).size).toBe(3);
    expect(line(Q_ARENA_HEAD)).toBe(line(Q_HEAD));
    expect(line(Q_ARENA_TAIL)).toBe(line(Q_TAIL));
    expect(line(Q_WAKE)).toBe(line(Q_SLEEPING));
    expect(GLOBAL_WORDS % LINE).toBe(0);
    expect(QUEUE_HEADER_WORDS % LINE).toBe(0);
  });

  it('fits every descriptor field inside a power-of-two descriptor', () => {
    expect(DESC_FIELDS).toBeLessThanOrEqual(DESC_WORDS);
    expect(DESC_WORDS & (DESC_WORDS - 1)).toBe(0);
  });

  it('packs state, owner and generation into one 32-bit tag', () => {
    expect(MAX_OWNER).toBe(2 ** 8 - 1);
    expect(GENERATION_MASK).toBe(2 ** 22 - 1);
    expect(Math.log2(GENERATION_MASK + 1) + Math.log2(MAX_OWNER + 1) + 2).toBe(32);
  });

  it('documents every field in the table that opens slab-layout.ts', () => {
    const source = readFileSync(new URL('../../src/pool/slab-layout.ts', import.meta.url), 'utf8');
    const table = source.slice(0, source.indexOf('export '));
    for (const [, prefix] of REGIONS) {
      for (const [name] of fields(prefix)) expect(table, `${name} is missing from the table`).toContain(name);
    }
  });
});

describe('computeLayout', () => {
  it('places the regions in order, end to end, with sizes derived from the dimensions', () => {
    fc.assert(
      fc.property(dimensions, (d) => {
        const l = computeLayout(d);
        const toLine = (w: number): number => Math.ceil(w / LINE) * LINE;
        expect(l.slabsAt).toBe(GLOBAL_WORDS);
        expect(l.slotsAt).toBe(l.slabsAt + d.slabCount * SLAB_WORDS);
        expect(l.queuesAt).toBe(toLine(l.slotsAt + d.slotCount * SLOT_WORDS));
        expect(l.queueWords).toBe(toLine(QUEUE_HEADER_WORDS + d.queueCapacity * DESC_WORDS));
        expect(l.controlWords).toBe(l.queuesAt + d.queueCount * l.queueWords);
        expect(l.arenasAt).toBe(d.slabSize * d.slabCount);
        expect(l.dataBytes).toBe(l.arenasAt + d.queueCount * (d.arenaBytes ?? 0));
        expect(slabAt(l, d.slabCount - 1) + SLAB_WORDS).toBe(l.slotsAt);
        expect(queueAt(l, d.queueCount - 1) + l.queueWords).toBe(l.controlWords);
        expect(queueAt(l, 0) % LINE).toBe(0);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('gives every field of every slab, slot, queue and descriptor a word of its own inside control', () => {
    fc.assert(
      fc.property(dimensions, (d) => {
        const l = computeLayout(d);
        const owner = new Map<number, string>();
        const claim = (word: number, what: string): void => {
          expect(word, what).toBeGreaterThanOrEqual(0);
          expect(word, what).toBeLessThan(l.controlWords);
          const before = owner.get(word);
          expect(before, `${what} overlaps ${before}`).toBeUndefined();
          owner.set(word, what);
        };
        for (const [name, v] of fields('G_')) claim(v, name);
        for (let i = 0; i < d.slabCount; i++) for (const [n, v] of fields('S_')) claim(slabAt(l, i) + v, `slab ${i} ${n}`);
        for (let s = 0; s < d.slotCount; s++) for (const [n, v] of fields('R_')) claim(slotAt(l, s) + v, `slot ${s} ${n}`);
        for (let q = 0; q < d.queueCount; q++) {
          for (const [n, v] of fields('Q_')) claim(queueAt(l, q) + v, `queue ${q} ${n}`);
          for (let k = 0; k < d.queueCapacity; k++) {
            const cell = queueAt(l, q) + QUEUE_HEADER_WORDS + k * DESC_WORDS;
            for (let w = 0; w < DESC_WORDS; w++) claim(cell + w, `queue ${q} descriptor ${k} word ${w}`);
          }
        }
        // What is left over is line padding only: every unclaimed word is in the global header, a queue header, or
        // between the slots and the first queue, never among the slabs, slots or descriptors.
        for (let w = 0; w < l.controlWords; w++) {
          if (owner.has(w)) continue;
          const inQueueHeader = w >= l.queuesAt && (w - l.queuesAt) % l.queueWords < QUEUE_HEADER_WORDS;
          const inQueueTail = w >= l.queuesAt && (w - l.queuesAt) % l.queueWords >= QUEUE_HEADER_WORDS + d.queueCapacity * DESC_WORDS;
          expect(w < GLOBAL_WORDS || inQueueHeader || inQueueTail || (w >= l.slotsAt + d.slotCount * SLOT_WORDS && w < l.queuesAt), `word ${w}`).toBe(true);
        }
      }),
      { seed: 42, numRuns: 100 },
    );
  });

  it('allocates Int32-aligned control memory and page-aligned slabs', () => {
    fc.assert(
      fc.property(dimensions, (d) => {
        const memory = createPoolMemory(d);
        expect(memory.buffers.control.byteLength % Int32Array.BYTES_PER_ELEMENT).toBe(0);
        expect(memory.control.length).toBe(memory.layout.controlWords);
        expect(memory.buffers.data.byteLength).toBe(memory.layout.dataBytes);
        const slabs = new SlabPool(memory);
        for (let i = 0; i < d.slabCount; i++) {
          const view = slabs.view(i);
          expect(view.byteOffset % SLAB_ALIGN).toBe(0);
          expect(view.byteOffset + view.length).toBeLessThanOrEqual(memory.buffers.data.byteLength);
        }
      }),
      { seed: 42, numRuns: 50 },
    );
  });
});
