import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { GENERATION_MASK, NO_SLAB, SlabState, type SlabHeader } from '../../src/pool/index.js';
import { makePool } from './helpers/make-pool.js';

// A reference model of the pool: one plain record per slab, and the three counters. Every step runs on the real pool
// and on the model, then the two must agree on every header field and every counter.

const COUNT = 4;
const OWNERS = 3;
const STATE_NAMES: ReadonlyArray<SlabHeader['state']> = ['FREE', 'FILLING', 'QUEUED', 'WRITING'];

interface Model {
  slabs: Array<{ state: SlabState; generation: number; owner: number; length: number; slot: number }>;
  free: number;
  refused: number;
  lowWater: number;
}

type Call = 'queue' | 'startWrite' | 'release';

type Step =
  | { kind: 'acquire'; owner: number; slot: number }
  | { kind: 'queue'; pick: number; length: number }
  | { kind: 'startWrite'; pick: number }
  | { kind: 'release'; pick: number }
  | { kind: 'drop'; pick: number; from: 'FILLING' | 'QUEUED' }
  | { kind: 'reclaim'; owner: number }
  | { kind: 'reclaimSent'; pick: number; stale: boolean }
  | { kind: 'stale'; pick: number; from: SlabState; back: number }
  | { kind: 'misuse'; index: number; call: Call; from: SlabState; genShift: number }
  | { kind: 'badIndex'; index: number; call: Call };

const state = fc.constantFrom<SlabState>(SlabState.FREE, SlabState.FILLING, SlabState.QUEUED, SlabState.WRITING);
const call = fc.constantFrom<Call>('queue', 'startWrite', 'release');
const pick = fc.nat({ max: 16 });

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('acquire' as const), owner: fc.integer({ min: 1, max: OWNERS }), slot: fc.nat({ max: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('queue' as const), pick, length: fc.integer({ min: 0, max: 4096 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('startWrite' as const), pick }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('release' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick, from: fc.constantFrom('FILLING' as const, 'QUEUED' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reclaim' as const), owner: fc.integer({ min: 1, max: OWNERS }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reclaimSent' as const), pick, stale: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('stale' as const), pick, from: state, back: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('misuse' as const), index: fc.nat({ max: COUNT - 1 }), call, from: state, genShift: fc.integer({ min: -1, max: 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('badIndex' as const), index: fc.constantFrom(-1, COUNT, COUNT + 7), call }) },
);

/** The pick-th slab (cyclically) among those in one of `states`, else any slab, so most steps hit a legal target. */
function choose(model: Model, n: number, ...states: SlabState[]): number {
  const fits = model.slabs.flatMap((s, i) => (states.includes(s.state) ? [i] : []));
  return fits.length > 0 ? fits[n % fits.length]! : n % COUNT;
}

function expectedOk(model: Model, i: number, generation: number, c: Call, from: SlabState): boolean {
  const s = model.slabs[i]!;
  if (s.generation !== generation) return false;
  if (c === 'queue') return s.state === SlabState.FILLING;
  if (c === 'startWrite') return s.state === SlabState.QUEUED;
  return from !== SlabState.FREE && s.state === from;
}

/** How often each outcome happened over all runs, so the test can show the runs reached every corner. */
const coverage = new Map<string, number>();
const saw = (what: string, n = 1): void => {
  coverage.set(what, (coverage.get(what) ?? 0) + n);
};

function run(steps: Step[]): void {
  const pool = makePool({ slabCount: COUNT });
  const model: Model = {
    slabs: Array.from({ length: COUNT }, () => ({ state: SlabState.FREE, generation: 0, owner: 0, length: 0, slot: 0 })),
    free: COUNT,
    refused: 0,
    lowWater: COUNT,
  };

  /** Runs one transition on the pool and the model; the model says whether the pool must accept or refuse it. */
  const attempt = (i: number, generation: number, c: Call, from: SlabState, length = 0): void => {
    const ok = expectedOk(model, i, generation, c, from);
    const act = (): void => {
      if (c === 'queue') pool.queue(i, generation, length);
      else if (c === 'startWrite') pool.startWrite(i, generation);
      else pool.release(i, generation, from);
    };
    if (!ok) {
      let err: { code?: unknown; message?: unknown } | undefined;
      try {
        act();
      } catch (e) {
        err = e as typeof err;
      }
      expect(err?.code, `${c} of slab ${i} at generation ${generation} from ${from} should be refused`).toBe(
        'ERR_SLAB_TRANSITION_REFUSED',
      );
      expect(String(err?.message)).toContain(`slab ${i} is state=${STATE_NAMES[model.slabs[i]!.state]}`);
      model.refused++;
      saw(`refused ${c}`);
      return;
    }
    act();
    saw(`${STATE_NAMES[model.slabs[i]!.state]} → ${c}`);
    const s = model.slabs[i]!;
    if (c === 'queue') {
      s.state = SlabState.QUEUED;
      s.length = length;
    } else if (c === 'startWrite') {
      s.state = SlabState.WRITING;
    } else {
      s.state = SlabState.FREE;
      model.free++;
    }
  };

  for (const st of steps) {
    switch (st.kind) {
      case 'acquire': {
        const got = pool.acquire(st.owner, st.slot);
        if (model.free === 0) {
          expect(got).toBe(NO_SLAB);
          saw('NO_SLAB');
          break;
        }
        expect(got).not.toBe(NO_SLAB);
        const s = model.slabs[got]!;
        expect(s.state).toBe(SlabState.FREE);
        Object.assign(s, {
          state: SlabState.FILLING,
          generation: (s.generation + 1) & GENERATION_MASK,
          owner: st.owner,
          length: 0,
          slot: st.slot,
        });
        model.free--;
        saw('acquire');
        model.lowWater = Math.min(model.lowWater, model.free);
        break;
      }
      case 'queue': {
        const i = choose(model, st.pick, SlabState.FILLING);
        attempt(i, model.slabs[i]!.generation, 'queue', SlabState.FILLING, st.length);
        break;
      }
      case 'startWrite': {
        const i = choose(model, st.pick, SlabState.QUEUED);
        attempt(i, model.slabs[i]!.generation, 'startWrite', SlabState.QUEUED);
        break;
      }
      case 'release': {
        const i = choose(model, st.pick, SlabState.WRITING);
        attempt(i, model.slabs[i]!.generation, 'release', SlabState.WRITING);
        break;
      }
      case 'drop': {
        const from = SlabState[st.from];
        const i = choose(model, st.pick, from);
        attempt(i, model.slabs[i]!.generation, 'release', from);
        break;
      }
      case 'reclaim': {
        let expected = 0;
        for (const s of model.slabs) {
          if (s.state === SlabState.FILLING && s.owner === st.owner) {
            s.state = SlabState.FREE;
            expected++;
          }
        }
        model.free += expected;
        expect(pool.reclaim(st.owner)).toBe(expected);
        saw('reclaimed', expected);
        break;
      }
      case 'reclaimSent': {
        const i = choose(model, st.pick, SlabState.QUEUED, SlabState.WRITING);
        const s = model.slabs[i]!;
        const generation = st.stale ? (s.generation - 1) & GENERATION_MASK : s.generation;
        const ok = !st.stale && (s.state === SlabState.QUEUED || s.state === SlabState.WRITING);
        expect(pool.reclaimSent(i, generation)).toBe(ok);
        if (ok) {
          s.state = SlabState.FREE;
          model.free++;
          saw('reclaimSent');
        }
        break;
      }
      case 'stale': {
        // A late callback or a descriptor of a dead request: it names an older life of the slab.
        const i = choose(model, st.pick, SlabState.WRITING, SlabState.QUEUED, SlabState.FILLING);
        attempt(i, (model.slabs[i]!.generation - st.back) & GENERATION_MASK, 'release', st.from);
        break;
      }
      case 'misuse': {
        attempt(st.index, (model.slabs[st.index]!.generation + st.genShift) & GENERATION_MASK, st.call, st.from);
        break;
      }
      case 'badIndex': {
        let code: unknown;
        try {
          if (st.call === 'queue') pool.queue(st.index, 1, 0);
          else if (st.call === 'startWrite') pool.startWrite(st.index, 1);
          else pool.release(st.index, 1, SlabState.WRITING);
        } catch (e) {
          code = (e as { code?: unknown }).code;
        }
        expect(code).toBe('ERR_SLAB_INDEX');
        model.refused++;
        saw('bad index');
        break;
      }
    }

    for (let i = 0; i < COUNT; i++) {
      const s = model.slabs[i]!;
      expect(pool.header(i), `slab ${i} after ${JSON.stringify(st)}`).toEqual({
        index: i,
        state: STATE_NAMES[s.state],
        owner: s.owner,
        generation: s.generation,
        length: s.length,
        slot: s.slot,
      });
    }
    expect(pool.free()).toBe(model.free);
    expect(pool.refused()).toBe(model.refused);
    expect(pool.lowWater()).toBe(model.lowWater);
  }
}

describe('SlabPool against a reference model', () => {
  it('agrees with the model on every header and counter over runs that reach every transition and refusal', () => {
    fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 80, size: 'max' }), run), { seed: 42, numRuns: 600 });
    const reached = [
      'acquire',
      'NO_SLAB',
      'FILLING → queue',
      'QUEUED → startWrite',
      'WRITING → release',
      'FILLING → release',
      'QUEUED → release',
      'reclaimed',
      'reclaimSent',
      'refused queue',
      'refused startWrite',
      'refused release',
      'bad index',
    ];
    for (const what of reached) expect(coverage.get(what) ?? 0, what).toBeGreaterThan(100);
  });
});
