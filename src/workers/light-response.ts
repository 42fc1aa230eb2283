// A lightweight Response that stores its body and init, and builds the real (undici) one only when app code reads
// something that needs it (worker thread; installed as the worker's global Response before the app loads).
//
// `new Response(body, init)` is the line nearly every fetch-style handler ends with, and undici's constructor makes a
// Headers, a body stream and a round of webidl conversions each time. The response pump reads the stored parts
// instead (lightParts), so a string or bytes body goes into a slab with no stream and no real Response at all. The
// idea is @hono/node-server's. Everything else a Response has is there too, and reads the real one, built once.
// `instanceof Response` holds both ways: a light response's prototype chain includes the real Response.prototype,
// and the class answers instanceof for real responses (from fetch(), say) too.
import { delegateMissing } from './delegate.js';

const GlobalResponse = globalThis.Response;

type BodyInit = NonNullable<ConstructorParameters<typeof Response>[0]>;
type HeadersInit = NonNullable<ConstructorParameters<typeof Headers>[0]>;

/** Builds (once) and returns the real Response behind a light one. */
export const toReal = Symbol('slabserve.realResponse');

/** Reason-phrase characters (RFC 9112 §4): what undici accepts as a statusText. */
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Statuses whose responses have no body (the fetch standard's null body statuses). */
function nullBodyStatus(status: number): boolean {
  return status === 101 || status === 103 || status === 204 || status === 205 || status === 304;
}

/** What the pump sends for a light response it can take as it is. */
export interface LightParts {
  status: number;
  headers: HeadersInit | undefined;
  /** A string (sent as UTF-8) or bytes; null for no body. */
  body: string | Uint8Array | null;
  /** The Content-Type undici would add when the headers have none (a string body's text/plain). */
  defaultType: string | null;
}

export class LightResponse {
  #body: BodyInit | null;
  #status: number;
  #statusText: string;
  #init: HeadersInit | undefined;
  /** The app read `headers`: from then on this object is the headers. */
  #headers: Headers | null = null;
  #real: Response | null = null;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    const status = init?.status === undefined ? 200 : Number(init.status);
    // The same checks, and errors, as undici's constructor: apps may rely on them.
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError('init["status"] must be in the range of 200 to 599, inclusive.');
    }
    const statusText = init?.statusText === undefined ? '' : String(init.statusText);
    if (!REASON_PHRASE.test(statusText)) throw new TypeError('Invalid statusText');
    if (body !== null && body !== undefined && nullBodyStatus(status)) {
      throw new TypeError(`Response constructor: Invalid response status code ${status}`);
    }
    this.#body = body ?? null;
    this.#status = status;
    this.#statusText = statusText;
    this.#init = init?.headers;
  }

  static json(data: unknown, init?: ResponseInit): LightResponse {
    const body = JSON.stringify(data);
    if (body === undefined) throw new TypeError('Value is not JSON serializable');
    const headers = new Headers(init?.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new LightResponse(body, { ...init, headers });
  }

  static error(): Response {
    return GlobalResponse.error();
  }

  static redirect(url: string | URL, status?: number): Response {
    const redirect = GlobalResponse.redirect as (url: string | URL, status?: number) => Response;
    return redirect.call(GlobalResponse, url, status);
  }

  /** True for a light response (a private-field brand check: instanceof answers for real ones too). */
  static isLight(value: unknown): value is LightResponse {
    return typeof value === 'object' && value !== null && #body in value;
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof GlobalResponse;
  }

  get status(): number {
    return this.#real?.status ?? this.#status;
  }

  get statusText(): string {
    return this.#real?.statusText ?? this.#statusText;
  }

  get ok(): boolean {
    const s = this.status;
    return s >= 200 && s <= 299;
  }

  get headers(): Headers {
    if (this.#real !== null) return this.#real.headers;
    if (this.#headers === null) {
      this.#headers = new Headers(this.#init);
      const type = defaultContentType(this.#body);
      if (type !== null && !this.#headers.has('content-type')) this.#headers.set('content-type', type);
    }
    return this.#headers;
  }

  /** The real Response, built from what this one stores (and its headers, if the app has changed them). */
  [toReal](): Response {
    this.#real ??= new GlobalResponse(this.#body, {
      status: this.#status,
      statusText: this.#statusText,
      headers: this.#headers ?? this.#init,
    });
    return this.#real;
  }

  /** The parts, when the pump can send them without a real Response: a plain body, and no real one built yet. */
  lightParts(): LightParts | null {
    if (this.#real !== null) return null;
    const body = this.#body;
    let bytes: string | Uint8Array | null;
    if (body === null || typeof body === 'string' || body instanceof Uint8Array) bytes = body;
    else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body);
    else if (ArrayBuffer.isView(body)) bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    else return null;
    return {
      status: this.#status,
      headers: this.#headers ?? this.#init,
      body: bytes,
      defaultType: this.#headers === null ? defaultContentType(body) : null,
    };
  }
}

/** The Content-Type undici gives a body when none is set: text/plain for strings; none for bytes. */
function defaultContentType(body: BodyInit | null): string | null {
  return typeof body === 'string' ? 'text/plain;charset=UTF-8' : null;
}

delegateMissing(LightResponse.prototype, GlobalResponse.prototype, (self) => (self as LightResponse)[toReal]());
Object.setPrototypeOf(LightResponse, GlobalResponse);

export function isLightResponse(value: unknown): value is LightResponse {
  return LightResponse.isLight(value);
}

/** Makes `Response` in this thread the light one (the app module loads after this). */
export function installLightResponse(): void {
  (globalThis as { Response: unknown }).Response = LightResponse;
}
