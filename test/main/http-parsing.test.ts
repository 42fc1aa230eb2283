// Hostile request parsing: every vector of the corpus (RFC 9112 and request-smuggling research) is refused with a coded
// 4xx and a close, or, where the RFC lets a server accept it, answered exactly once; the server goes on serving.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { header, requestOnce, text } from '../helpers/raw-http.js';
import { Harness, waitForIdlePool, type TestServer } from '../helpers/server.js';
import { CORPUS, type Vector } from '../fixtures/hostile/corpus.js';
import { errorCode, saysClose, sendRaw, summarize, type WireResult } from '../fixtures/hostile/wire.js';

/** How long one vector may take to be answered and closed. */
const BOUND_MS = 2000;

const KNOWN_CODES = new Set([
  'ERR_BAD_REQUEST',
  'ERR_INVALID_HOST',
  'ERR_URL_TOO_LONG',
  'ERR_HEADERS_TOO_LARGE',
  'ERR_BODY_TOO_LARGE',
  'ERR_EXPECTATION_FAILED',
]);

const harness = new Harness();
let ts: TestServer;

beforeAll(async () => {
  // Defaults for every limit, but a short keep-alive, so a vector the server accepts is closed soon after its answer.
  ts = await harness.start('faulty-app', { keepAliveTimeout: 300 });
});

afterAll(() => harness.cleanup());

/** Checks what came back for one vector against its expectation. */
function check(v: Vector, r: WireResult): void {
  const why = `${v.name} (${v.source}): ${summarize(r)}`;
  // Never two answers to one request: the bytes were read one way only.
  expect(r.statusLines, why).toBeLessThanOrEqual(1);
  expect(r.responses.length, why).toBeLessThanOrEqual(1);
  expect(r.parseError, why).toBeNull();
  const res = r.responses[0];
  switch (v.expect.kind) {
    case 'reject': {
      expect(res, why).toBeDefined();
      const allowed = v.expect.status ?? [400];
      expect(allowed, why).toContain(res!.status);
      expect(v.expect.codes, why).toContain(errorCode(res!));
      expect(saysClose(res!), why).toBe(true);
      expect(r.closed, why).toBe(true);
      expect(r.fin, why).toBe(true);
      break;
    }
    case 'reject-or-close': {
      expect(r.closed, why).toBe(true);
      if (res !== undefined) {
        expect(res.status, why).toBeGreaterThanOrEqual(400);
        expect(res.status, why).toBeLessThan(500);
        expect(v.expect.codes, why).toContain(errorCode(res));
      }
      break;
    }
    case 'tolerated':
    case 'documented': {
      expect(res, why).toBeDefined();
      if (res!.status >= 400) {
        expect(res!.status, why).toBeLessThan(500);
        expect(KNOWN_CODES.has(errorCode(res!) ?? ''), why).toBe(true);
        expect(r.closed, why).toBe(true);
      } else {
        expect(res!.status, why).toBe(200);
        expect(res!.complete, why).toBe(true);
        if (v.closeAfter === true) expect(r.fin, why).toBe(true);
      }
      break;
    }
  }
}

/** Splits a vector's bytes after every LF and inside long lines, so the parser sees it arrive in many pieces. */
function lineByLine(bytes: string): string[] {
  const pieces: string[] = [];
  let at = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === '\n' || i - at >= 64) {
      pieces.push(bytes.slice(at, i + 1));
      at = i + 1;
    }
  }
  if (at < bytes.length) pieces.push(bytes.slice(at));
  return pieces;
}

function label(v: Vector): string {
  switch (v.expect.kind) {
    case 'reject':
      return `refuses a request where ${v.name} (${v.source})`;
    case 'reject-or-close':
      return `refuses or closes when ${v.name} (${v.source})`;
    case 'tolerated':
      return `answers once, either way the RFC allows, when ${v.name} (${v.expect.rfc})`;
    case 'documented':
      return `answers once when ${v.name} [documents node:http accepting it; ${v.expect.rfc}]`;
  }
}

describe('the hostile request corpus', () => {
  it('holds at least 40 vectors, each named once', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CORPUS.map((v) => v.name)).size).toBe(CORPUS.length);
  });

  it.each(CORPUS.map((v) => [label(v), v] as const))('%s', async (_label, v) => {
    const r = await sendRaw(ts.port, v.bytes, { boundMs: BOUND_MS });
    check(v, r);
    // The server is still whole: a normal request on a fresh connection gets its answer.
    const hello = await requestOnce(ts.port, { path: '/hello' });
    expect(hello.status).toBe(200);
    expect(text(hello)).toBe('hello\n');
  });

  it.each(CORPUS.filter((v) => v.smuggle === true).map((v) => [v.name, v] as const))(
    'reads a smuggling vector one way when its bytes arrive in pieces: %s',
    async (_name, v) => {
      const r = await sendRaw(ts.port, lineByLine(v.bytes), { boundMs: BOUND_MS, gapMs: 2 });
      check(v, r);
    },
  );

  it('answers a valid request on a fresh connection, with every slab back in the pool, after the whole corpus', async () => {
    const hello = await requestOnce(ts.port, { path: '/hello' });
    expect(hello.status).toBe(200);
    expect(header(hello, 'slabserve-error')).toBeUndefined();
    const stats = await waitForIdlePool(ts);
    expect(stats.slabs.free).toBe(stats.slabs.total);
    expect(stats.errors['ERR_BAD_REQUEST'] ?? 0).toBeGreaterThan(0);
  });
});
