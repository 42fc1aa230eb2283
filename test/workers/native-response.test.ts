// The native response's stream face, driven in this thread: the test plays main, reading the writer's descriptors,
// taking the bytes out of each slab and giving its credit back.

import { once } from 'node:events';
import { pipeline, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FLAG_END, Kind, KIND_MASK, outboxOf } from '../../src/protocol.js';
import {
  createPoolMemory,
  DescriptorQueue,
  emptyDescriptor,
  QueueSender,
  RequestSlots,
  SlabPool,
  SlabState,
  type SlotRef,
} from '../../src/pool/index.js';
import { SlabserveError } from '../../src/errors.js';
import { CreditWaits } from '../../src/workers/credit-waits.js';
import { abortResponse, NativeResponse } from '../../src/workers/native-response.js';
import { SlabWriter, type WriterContext } from '../../src/workers/slab-writer.js';

const OWNER = 1;
const SLAB = 4096;

interface Rig {
  ctx: WriterContext;
  ref: SlotRef;
  response: NativeResponse;
  failures: Error[];
  outbox: DescriptorQueue;
  /** Body bytes main has taken so far (heads stripped). */
  body: Buffer[];
  /** Slab descriptors main has read so far. */
  slabs: number;
  ended: boolean;
  /** Reads every descriptor now queued, frees its slab and gives its credit back (as main's write callback does). */
  consume(): void;
}

function rig(window: number): Rig {
  const memory = createPoolMemory({ slabSize: SLAB, slabCount: 32, slotCount: 4, queueCount: 2, queueCapacity: 256, arenaBytes: 4096 });
  const pool = new SlabPool(memory, OWNER);
  const slots = new RequestSlots(memory);
  const outbox = new DescriptorQueue(memory, outboxOf(OWNER));
  const ctx: WriterContext = { pool, slots, credit: new CreditWaits(slots, pool), outbox: new QueueSender(outbox), owner: OWNER };
  const ref = slots.open(window)!;
  const failures: Error[] = [];
  const writer = new SlabWriter(ctx, ref, false, () => {});
  const r: Rig = {
    ctx,
    ref,
    response: new NativeResponse(writer, (err) => {
      failures.push(err);
      writer.fail('ERR_APP_THREW');
    }),
    failures,
    outbox,
    body: [],
    slabs: 0,
    ended: false,
    consume() {
      const d = emptyDescriptor();
      while (outbox.pop(d)) {
        const kind = d.kind & KIND_MASK;
        if (d.slab >= 0) {
          const skip = kind === Kind.RESPONSE_HEAD ? d.aux : 0;
          r.body.push(Buffer.from(pool.view(d.slab).subarray(skip, d.length)));
          pool.startWrite(d.slab, d.slabGen);
          pool.release(d.slab, d.slabGen, SlabState.WRITING);
          slots.gaveResponseSlab(ref.slot);
          r.slabs++;
        }
        if ((d.kind & FLAG_END) !== 0 || kind === Kind.RESPONSE_END) r.ended = true;
      }
      ctx.credit.check();
    },
  };
  return r;
}

const bodyOf = (r: Rig): string => Buffer.concat(r.body).toString('latin1');

describe('the native response as a stream.Writable', () => {
  it('puts 10,000 one-byte writes into as few slabs as the bytes need', async () => {
    const r = rig(8);
    const finished = once(r.response, 'finish');
    for (let i = 0; i < 10_000; i++) expect(r.response.write(String.fromCharCode(97 + (i % 26)))).toBe(true);
    r.response.end();
    await finished;
    r.consume();
    expect(r.ended).toBe(true);
    // The head and 10,000 bytes need three 4 KiB slabs; a slab per write would be 10,000.
    expect(r.slabs).toBe(3);
    let expected = '';
    for (let i = 0; i < 10_000; i++) expected += String.fromCharCode(97 + (i % 26));
    expect(bodyOf(r)).toBe(expected);
  });

  it('says false once the request is out of credit, holds one chunk at most, and drains when credit comes back', async () => {
    const r = rig(2);
    r.response.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(1000, 0x41);
    let accepted = 0;
    while (r.response.write(chunk)) accepted++;
    // Two slabs of 4 KiB (one holds the head too) take 8 chunks whole; the 9th says false.
    expect(accepted).toBeLessThanOrEqual(8);
    expect(r.response.writableNeedDrain).toBe(true);
    expect(r.response.writableLength).toBeLessThanOrEqual(chunk.length);
    const drained = once(r.response, 'drain');
    r.consume();
    await drained;
    expect(r.response.writableNeedDrain).toBe(false);
    expect(r.response.writableLength).toBe(0);
    r.response.end();
    await once(r.response, 'finish');
    r.consume();
    expect(Buffer.concat(r.body).length).toBe((accepted + 1) * chunk.length);
  });

  it('never says drain before write() has returned false, even when credit comes back right then', async () => {
    const r = rig(1);
    r.response.writeHead(200);
    // The free part of the one slab of credit, after the head: a write of exactly that fills it and leaves no room.
    const free = (await r.response.slab()).length;
    r.response.commit(0);
    // Main gives the credit back at the worst moment: as the writer registers its wait for it.
    const wantCredit = r.ctx.slots.wantCredit.bind(r.ctx.slots);
    r.ctx.slots.wantCredit = (slot) => {
      r.consume();
      return wantCredit(slot);
    };
    let inWrite = false;
    let drainedInWrite = false;
    const drained = new Promise<void>((resolve) =>
      r.response.on('drain', () => {
        drainedInWrite ||= inWrite;
        resolve();
      }),
    );
    inWrite = true;
    const said = r.response.write(Buffer.alloc(free, 0x42));
    inWrite = false;
    // pipe() pauses its source when told false, then waits for 'drain': a 'drain' before that would be lost.
    expect(said).toBe(false);
    await drained;
    expect(drainedInWrite).toBe(false);
  });

  it('pipes a source through a window of two slabs, pausing it, byte-exact', async () => {
    const r = rig(2);
    const total = 300_000;
    let made = 0;
    const source = new Readable({
      read() {
        if (made >= total) {
          this.push(null);
          return;
        }
        const n = Math.min(777, total - made);
        const piece = Buffer.alloc(n);
        for (let i = 0; i < n; i++) piece[i] = (made + i) % 251;
        made += n;
        this.push(piece);
      },
    });
    let pauses = 0;
    source.on('pause', () => pauses++);
    const done = new Promise<Error | null | undefined>((resolve) => pipeline(source, r.response, resolve));
    // Main reads whenever the writer has queued something, until the response ends.
    while (!r.ended) {
      await new Promise(setImmediate);
      r.consume();
    }
    expect(await done).toBeUndefined();
    expect(pauses).toBeGreaterThan(10);
    const got = Buffer.concat(r.body);
    expect(got.length).toBe(total);
    for (let i = 0; i < total; i++) if (got[i] !== i % 251) throw new Error(`byte ${i} is ${got[i]}`);
  });

  it('keeps bytes in order when slab() follows a write still waiting for credit', async () => {
    const r = rig(1);
    // With the head, more than the one slab of credit: the rest waits, and so does the next write.
    expect(r.response.write(Buffer.alloc(SLAB, 0x61))).toBe(false);
    expect(r.response.write('BBBB')).toBe(false);
    let v: Uint8Array | null = null;
    void r.response.slab().then((view) => (v = view));
    while (v === null) {
      await new Promise(setImmediate);
      r.consume();
    }
    (v as Uint8Array).set(Buffer.from('CCCC'));
    r.response.commit(4);
    r.response.end();
    while (!r.ended) {
      await new Promise(setImmediate);
      r.consume();
    }
    expect(bodyOf(r)).toBe('a'.repeat(SLAB) + 'BBBBCCCC');
  });

  it('fails the response on destroy(err), once', async () => {
    const r = rig(2);
    const err = new Error('the app gave up');
    r.response.write('partial');
    const closed = new Promise((resolve) => r.response.on('close', resolve));
    r.response.destroy(err);
    await closed;
    expect(r.failures).toEqual([err]);
    // Watched (this test listens for 'close'): a late write is a Writable's, refused with false, not a throw.
    expect(r.response.write('more')).toBe(false);
    r.consume();
    expect(r.ctx.pool.free()).toBe(32);
  });

  it('destroys a watched response when its request is aborted, and refuses an unwatched one on its next call', async () => {
    const watched = rig(2);
    const reason = new SlabserveError('ERR_REQUEST_ABORTED');
    const source = new Readable({ read() {} });
    const done = new Promise<Error | null | undefined>((resolve) => pipeline(source, watched.response, resolve));
    watched.ctx.slots.abort(watched.ref.slot);
    watched.response[abortResponse](reason);
    expect(await done).toBe(reason);
    expect(source.destroyed).toBe(true);

    const unwatched = rig(2);
    unwatched.ctx.slots.abort(unwatched.ref.slot);
    unwatched.response[abortResponse](reason);
    expect(unwatched.response.destroyed).toBe(false);
    // Its next write says false and fails it, with the abort's code, without throwing.
    expect(unwatched.response.write('x')).toBe(false);
    expect(unwatched.response.destroyed).toBe(true);
    expect(unwatched.failures).toEqual([expect.objectContaining({ code: 'ERR_REQUEST_ABORTED' })]);
    await expect(unwatched.response.slab()).rejects.toMatchObject({ code: 'ERR_REQUEST_ABORTED' });
  });

  it('refuses write() and end(chunk) after end() with ERR_WRITER_STATE, and the response still finishes', async () => {
    const r = rig(2);
    r.response.end('done');
    expect(() => r.response.write('late')).toThrow(expect.objectContaining({ code: 'ERR_WRITER_STATE' }));
    expect(() => r.response.end('late')).toThrow(expect.objectContaining({ code: 'ERR_WRITER_STATE' }));
    await once(r.response, 'finish');
    r.consume();
    expect(bodyOf(r)).toBe('done');
    expect(r.failures).toEqual([]);
  });
});
