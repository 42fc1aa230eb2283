// An app that answers after the server answered for it changes nothing: no crash, nothing more on the wire, nothing
// leaked, nothing miscounted (end to end).
//
// The app holds its head in a slab and blocks its thread (Atomics.wait on a gate, as a handler stuck on the CPU would)
// until the test has the 504; then it sends the head. The ordering is by the gate: the test opens it only after the
// 504 arrived, so the head is known to reach main after main's own answer.

import { describe, expect, it } from 'vitest';
import { header, text } from '../helpers/raw-http.js';
import { useHarness, waitFor, waitForIdlePool } from '../helpers/server.js';

describe('answers that come after the server answered', () => {
  const h = useHarness();

  it('ignores a head sent after its 504: one answer on the wire, nothing counted but the timeout, every slab back', async () => {
    const ts = await h.start('faulty-app', { threads: 1, appTimeout: 150 });
    const conn = await h.connect(ts, { keepRaw: true });
    const res = await conn.request({ path: '/late-flush' });
    expect(res.status).toBe(504);
    expect(header(res, 'slabserve-error')).toBe('ERR_APP_TIMEOUT');
    ts.control.open('RESPOND');
    await waitFor(() => ts.control.count('BODIES_FINISHED'), (n) => n === 1, { what: 'the late flush' });
    const stats = await waitForIdlePool(ts);
    // The same connection goes on, in step: the late head and body never reached it.
    const next = await conn.request({ path: '/hello' });
    expect(text(next)).toBe('hello\n');
    expect(conn.responses.length).toBe(2);
    expect(conn.rawBytes().toString('latin1')).not.toContain('late!');
    expect(stats.errors).toEqual({ ERR_APP_TIMEOUT: 1 });
    expect(stats.refusedTransitions).toBe(0);
    // The thread let go of the request within the grace period: it was not terminated.
    expect(ts.stats().threads.restarts).toBe(0);
  });
});
