// The light Response agrees with undici's on everything apps use (one thread; compared side by side).

import { describe, expect, it } from 'vitest';
import { LightResponse } from '../../src/workers/light-response.js';

const GlobalResponse = globalThis.Response;
type Init = ConstructorParameters<typeof Response>[1];
type Body = ConstructorParameters<typeof Response>[0];

/** Each body type the fetch standard takes, made fresh for each side (streams and FormData are single-use). */
const bodies: [string, () => Body][] = [
  ['a string', () => 'héllo wörld'],
  ['an empty string', () => ''],
  ['a Uint8Array', () => new Uint8Array([104, 105, 0, 255])],
  ['an ArrayBuffer', () => new Uint8Array([1, 2, 3]).buffer],
  ['a DataView', () => new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2)],
  ['a Blob', () => new Blob(['blob body'], { type: 'text/x-blob' })],
  ['URLSearchParams', () => new URLSearchParams({ a: '1', b: 'two words' })],
  ['a ReadableStream', () => new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('streamed')), c.close()) })],
  ['null', () => null],
];

const inits: [string, Init][] = [
  ['no init', undefined],
  ['a status, a statusText and a plain-object header', { status: 201, statusText: 'Made', headers: { 'X-A': ' padded ' } }],
  ['several Set-Cookie pairs', { headers: [['set-cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['x-b', '1'], ['X-B', '2']] }],
  ['a Headers object with its own Content-Type', { status: 404, headers: new Headers({ 'content-type': 'text/x-own' }) }],
];

/** Everything an app can observe without reading the body. */
function observe(r: Response) {
  return {
    status: r.status,
    statusText: r.statusText,
    ok: r.ok,
    type: r.type,
    redirected: r.redirected,
    url: r.url,
    headers: [...r.headers],
    setCookies: r.headers.getSetCookie(),
    bodyIsNull: r.body === null,
    bodyUsed: r.bodyUsed,
  };
}

async function bytesOf(r: Response): Promise<number[]> {
  return [...new Uint8Array(await r.arrayBuffer())];
}

function light(body: Body, init?: Init): Response {
  return new LightResponse(body, init) as unknown as Response;
}

describe('the light Response', () => {
  for (const [bodyName, body] of bodies) {
    for (const [initName, init] of inits) {
      it(`matches undici with ${bodyName} and ${initName}: status, headers, body, bodyUsed, clone()`, async () => {
        const real = new GlobalResponse(body(), init);
        const mine = light(body(), init);
        expect(observe(mine)).toEqual(observe(real));
        const [realClone, mineClone] = [real.clone(), mine.clone()];
        expect(await bytesOf(mine)).toEqual(await bytesOf(real));
        expect(observe(mine)).toEqual(observe(real));
        expect(mine.bodyUsed).toBe(real.bodyUsed);
        expect(await mineClone.text()).toBe(await realClone.text());
      });
    }
  }

  it('matches undici on text(), json() and a second read', async () => {
    const pairs = [new GlobalResponse('{"a":[1,2]}'), light('{"a":[1,2]}')];
    const [real, mine] = pairs as [Response, Response];
    expect(await mine.json()).toEqual(await real.json());
    await expect(mine.text()).rejects.toThrow(TypeError);
    await expect(real.text()).rejects.toThrow(TypeError);
    expect(await light('plain').text()).toBe('plain');
  });

  it('keeps header changes the app makes before it sends', async () => {
    const mine = light('x', { headers: { 'x-a': '1' } });
    mine.headers.set('x-b', '2');
    mine.headers.append('set-cookie', 'c=3');
    const real = new GlobalResponse('x', { headers: { 'x-a': '1' } });
    real.headers.set('x-b', '2');
    real.headers.append('set-cookie', 'c=3');
    expect(observe(mine)).toEqual(observe(real));
    expect(await mine.text()).toBe('x');
  });

  it('throws what undici throws for a bad status, statusText, or a body on a null-body status', () => {
    for (const init of [{ status: 99 }, { status: 600 }, { status: 1.5 }, { statusText: 'a\nb' }]) {
      expect(() => light('x', init)).toThrow((() => { try { new GlobalResponse('x', init); } catch (e) { return (e as Error).constructor as ErrorConstructor; } return Error; })());
    }
    for (const status of [204, 205, 304]) {
      expect(() => new GlobalResponse('x', { status })).toThrow(TypeError);
      expect(() => light('x', { status })).toThrow(TypeError);
      expect(light(null, { status }).status).toBe(status);
    }
  });

  it('makes Response.json(), redirect() and error() as undici does', async () => {
    const mine = LightResponse.json({ ok: true }, { status: 202, headers: { 'x-j': '1' } }) as unknown as Response;
    const real = GlobalResponse.json({ ok: true }, { status: 202, headers: { 'x-j': '1' } });
    expect(observe(mine)).toEqual(observe(real));
    expect(await mine.json()).toEqual(await real.json());
    expect(observe(LightResponse.redirect('http://example.test/x', 301))).toEqual(observe(GlobalResponse.redirect('http://example.test/x', 301)));
    expect(observe(LightResponse.redirect('http://example.test/y'))).toEqual(observe(GlobalResponse.redirect('http://example.test/y', 302)));
    expect(observe(LightResponse.error())).toEqual(observe(GlobalResponse.error()));
  });

  it('is an instance of Response, and real responses are instances of it', () => {
    const mine = light('x');
    expect(mine instanceof GlobalResponse).toBe(true);
    expect(new GlobalResponse('x') instanceof LightResponse).toBe(true);
    expect(mine instanceof LightResponse).toBe(true);
    expect({} instanceof LightResponse).toBe(false);
    expect(Object.prototype.toString.call(mine)).toBe(Object.prototype.toString.call(new GlobalResponse('x')));
    expect(LightResponse.isLight(mine)).toBe(true);
    expect(LightResponse.isLight(new GlobalResponse('x'))).toBe(false);
  });

  it('hands the pump its parts without building a real Response, until the app reads the body', async () => {
    const r = new LightResponse('hi', { status: 200, headers: { 'x-a': '1' } });
    expect(r.lightParts()).toEqual({ status: 200, headers: { 'x-a': '1' }, body: 'hi', defaultType: 'text/plain;charset=UTF-8' });
    expect(new LightResponse(new Blob(['b'])).lightParts()).toBeNull();
    await (r as unknown as Response).text();
    expect(r.lightParts()).toBeNull();
  });
});
