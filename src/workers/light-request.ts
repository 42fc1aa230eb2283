// A lightweight Request made from a request head, whose headers, signal and body machinery are built only when app
// code reads them (worker thread).
//
// undici's Request costs a URL parse, a Headers, an AbortSignal (and with it a transferable-object setup) and webidl
// conversions per request, before the app has looked at anything. Most handlers read the method and the URL, and
// perhaps a header. So this one keeps the decoded head, makes `headers` on first read and `signal` on first read, and
// builds the real Request (for body reading, clone() and the rarely used members) only when asked. Its prototype
// chain includes Request.prototype, so `request instanceof Request` holds.

import type { RequestHead } from './request-head.js';
import { requestUrl } from './request-head.js';
import { delegateMissing } from './delegate.js';

const GlobalRequest = globalThis.Request;

/** Builds (once) and returns the real Request behind a light one. */
export const toRealRequest = Symbol('slabserve.realRequest');

export class LightRequest {
  readonly #head: RequestHead;
  readonly #body: ReadableStream<Uint8Array> | null;
  #url: string | null = null;
  #headers: Headers | null = null;
  #controller: AbortController | null = null;
  #abortReason: unknown = undefined;
  #aborted = false;
  #real: Request | null = null;

  constructor(head: RequestHead, body: ReadableStream<Uint8Array> | null) {
    this.#head = head;
    // GET and HEAD requests have no body in the fetch API, whatever the client sent.
    this.#body = head.method === 'GET' || head.method === 'HEAD' ? null : body;
  }

  get method(): string {
    return this.#head.method;
  }

  /** The absolute URL: an origin-form target resolved against Host (RFC 9112 §3.3). */
  get url(): string {
    return (this.#url ??= requestUrl(this.#head));
  }

  get headers(): Headers {
    if (this.#real !== null) return this.#real.headers;
    if (this.#headers === null) {
      const headers = new Headers();
      const raw = this.#head.raw;
      for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
      this.#headers = headers;
    }
    return this.#headers;
  }

  /** Aborts when the client goes away, the app times out or the server closes. Made on first read. */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** The request was aborted (by the serve loop): fires the signal if the app made one, else arms it. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  /** True once abort() ran, whether or not the app ever read `signal`. */
  get wasAborted(): boolean {
    return this.#aborted;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.#body === null ? null : this[toRealRequest]().body;
  }

  get bodyUsed(): boolean {
    return this.#body === null ? false : this[toRealRequest]().bodyUsed;
  }

  [toRealRequest](): Request {
    if (this.#real === null) {
      const init: RequestInit & { duplex?: 'half' } = { method: this.method, headers: this.headers, signal: this.signal };
      if (this.#body !== null) {
        init.body = this.#body;
        init.duplex = 'half';
      }
      this.#real = new GlobalRequest(this.url, init);
    }
    return this.#real;
  }
}

delegateMissing(LightRequest.prototype, GlobalRequest.prototype, (self) => (self as LightRequest)[toRealRequest]());
