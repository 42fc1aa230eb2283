// The main thread's response writer against a real node:http response: what it does with descriptors that arrive
// after the response is over (one thread; the worker's side is played by the test, which fills and queues slabs).

import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MainContext } from '../../src/main/main-context.js';
import { resolveOptions } from '../../src/main/options.js';
import { ResponseWriter } from '../../src/main/response-writer.js';
import { ServerStats } from '../../src/main/stats.js';
import { createPoolMemory, RequestSlots, SlabPool } from '../../src/pool/index.js';
import { RawConnection } from '../helpers/raw-http.js';

const WORKER = 1;

interface Rig {
  ctx: MainContext;
  server: Server;
  conn: RawConnection;
  /** The response of the request the test sent, once node has it. */
  res: ServerResponse;
}

const open: { destroy(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.destroy();
});

async function rig(): Promise<Rig> {
  const options = resolveOptions({ app: 'file:///unused.js', slabSize: 4096, slabCount: 8, window: 4, maxInflight: 2 });
  const memory = createPoolMemory({ slabSize: 4096, slabCount: 8, slotCount: 2, queueCount: 2, queueCapacity: 16 });
  const ctx = new MainContext(new SlabPool(memory, 0), new RequestSlots(memory), options, new ServerStats(), {
    relieve: () => {},
    kick: () => {},
    noteService: () => {},
  });
  let gotRes!: (res: ServerResponse) => void;
  const response = new Promise<ServerResponse>((resolve) => (gotRes = resolve));
  const server = createServer((_req, res) => gotRes(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push({ destroy: () => server.close() });
  const conn = await RawConnection.open((server.address() as AddressInfo).port, { keepRaw: true });
  open.push(conn);
  conn.write({ path: '/' });
  return { ctx, server, conn, res: await response };
}

/** Plays the worker: takes a slab against the slot's credit, fills it with `text`, and queues it. */
function queuedSlab(ctx: MainContext, slot: number, text: string): { slab: number; gen: number; length: number } {
  const slab = ctx.pool.acquire(WORKER, slot);
  ctx.slots.tookResponseSlab(slot);
  const length = ctx.pool.view(slab).write(text, 'latin1');
  const gen = ctx.pool.generation(slab);
  ctx.pool.queue(slab, gen, length);
  return { slab, gen, length };
}

describe('the response writer', () => {
  it('drops a head and body that arrive after fail() answered: no write after end, slabs and credit back', async () => {
    const { ctx, conn, res } = await rig();
    const errors: Error[] = [];
    res.on('error', (err) => errors.push(err));
    const ref = ctx.slots.open(4)!;
    const writer = new ResponseWriter(ctx, res, ref.slot, false, { settled: () => {}, creditBack: () => {} });
    writer.fail('ERR_APP_TIMEOUT');

    const body = queuedSlab(ctx, ref.slot, 'late body');
    expect(() => writer.head(200, ['content-length', '9'], 9)).not.toThrow();
    writer.body(body.slab, body.gen, 0, body.length);

    const answer = await conn.nextResponse();
    expect(answer?.status).toBe(504);
    expect(ctx.pool.free()).toBe(8);
    expect(ctx.slots.uploadOwned(ref.slot)).toBe(0);
    expect(ctx.slots.hasCredit(ref.slot)).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([]);
    expect(conn.rawBytes().toString('latin1')).not.toContain('late body');
    expect(ctx.pool.refused()).toBe(0);
    expect(writer.finished).toBe(true);
  });
});
