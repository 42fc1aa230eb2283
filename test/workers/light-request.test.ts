// The light Request agrees with undici's on everything apps use (one thread; compared side by side).

import { describe, expect, it } from 'vitest';
import { LightRequest } from '../../src/workers/light-request.js';
import type { RequestHead } from '../../src/workers/request-head.js';

const GlobalRequest = globalThis.Request;

function head(method: string, url: string, raw: string[], hasBody = false): RequestHead {
  return { method, url, version: '1.1', remote: '127.0.0.1', hasBody, raw };
}

function streamOf(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(text)), c.close()) });
}

/** The undici Request main would have built from the same head, as slabserve once did. */
function realFrom(h: RequestHead, body: string | null): Request {
  const headers = new Headers();
  for (let i = 0; i < h.raw.length; i += 2) headers.append(h.raw[i]!, h.raw[i + 1]!);
  const init: RequestInit & { duplex?: 'half' } = { method: h.method, headers };
  if (body !== null) {
    init.body = streamOf(body);
    init.duplex = 'half';
  }
  return new GlobalRequest(`http://${h.raw[h.raw.findIndex((n) => n.toLowerCase() === 'host') + 1]}${h.url}`, init);
}

function observe(r: Request) {
  return {
    method: r.method,
    url: r.url,
    headers: [...r.headers],
    cookies: r.headers.get('cookie'),
    bodyIsNull: r.body === null,
    bodyUsed: r.bodyUsed,
    mode: r.mode,
    cache: r.cache,
    redirect: r.redirect,
    keepalive: r.keepalive,
    aborted: r.signal.aborted,
  };
}

describe('the light Request', () => {
  const raw = ['Host', 'light.test:8080', 'Accept', 'a/b', 'X-Dup', '1', 'x-dup', '2', 'Cookie', 'a=1', 'Cookie', 'b=2'];

  it('matches undici for a GET: method, absolute url, headers (joined duplicates), body, signal and the rest', async () => {
    const h = head('GET', '/p/q?x=1', raw);
    const mine = new LightRequest(h, null) as unknown as Request;
    const real = realFrom(h, null);
    expect(observe(mine)).toEqual(observe(real));
    expect(await mine.text()).toBe(await real.text());
  });

  it('matches undici for a POST body: text(), json(), arrayBuffer(), bodyUsed, clone()', async () => {
    const h = head('POST', '/up', raw, true);
    for (const read of ['text', 'json', 'arrayBuffer'] as const) {
      const mine = new LightRequest(h, streamOf('{"n":[1,2]}')) as unknown as Request;
      const real = realFrom(h, '{"n":[1,2]}');
      expect(observe(mine)).toEqual(observe(real));
      const got = (x: unknown): unknown => (x instanceof ArrayBuffer ? [...new Uint8Array(x)] : x);
      expect(got(await mine[read]())).toEqual(got(await real[read]()));
      expect(mine.bodyUsed).toBe(true);
      expect(real.bodyUsed).toBe(true);
    }
    const mine = new LightRequest(h, streamOf('cloned')) as unknown as Request;
    const copy = mine.clone();
    expect(await copy.text()).toBe('cloned');
    expect(await mine.text()).toBe('cloned');
  });

  it('has no body for GET and HEAD whatever it is given, as fetch requires', () => {
    for (const method of ['GET', 'HEAD']) {
      const mine = new LightRequest(head(method, '/', raw, true), streamOf('ignored')) as unknown as Request;
      expect(mine.body).toBeNull();
      expect(mine.bodyUsed).toBe(false);
    }
  });

  it('fires its signal on abort, whether the app read it before or after', () => {
    const early = new LightRequest(head('GET', '/', raw), null);
    const signal = (early as unknown as Request).signal;
    const reasons: unknown[] = [];
    signal.addEventListener('abort', () => reasons.push(signal.reason));
    early.abort('gone');
    expect(reasons).toEqual(['gone']);
    const late = new LightRequest(head('GET', '/', raw), null);
    late.abort('gone too');
    expect((late as unknown as Request).signal.aborted).toBe(true);
    expect((late as unknown as Request).signal.reason).toBe('gone too');
    expect(late.wasAborted).toBe(true);
  });

  it('is an instance of Request, and resolves an asterisk and an absolute-form target', () => {
    const mine = new LightRequest(head('OPTIONS', '*', raw), null) as unknown as Request;
    expect(mine instanceof GlobalRequest).toBe(true);
    expect(Object.prototype.toString.call(mine)).toBe(Object.prototype.toString.call(new GlobalRequest('http://x/')));
    expect(mine.url).toBe('http://light.test:8080/*');
    const absolute = new LightRequest(head('GET', 'http://other.test/a', raw), null) as unknown as Request;
    expect(absolute.url).toBe('http://other.test/a');
  });
});
