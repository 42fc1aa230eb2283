// Loads the user's app module once per thread and finds its handler (worker thread).

import { SlabserveError } from '../errors.js';
import type { NativeResponse } from './native-response.js';

/** The fetch convention of Hono, Bun, Deno and Cloudflare Workers. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;
/** The native form: fill slabs in place, write or pipe into the response (a stream.Writable), or return a Response. */
export type NativeHandler = (
  request: Request,
  response: NativeResponse,
) => void | Response | undefined | Promise<void | Response | undefined>;

export type LoadedApp = { kind: 'fetch'; fetch: FetchHandler } | { kind: 'native'; serve: NativeHandler };

const cache = new Map<string, Promise<LoadedApp>>();

function pick(mod: Record<string, unknown>): LoadedApp | null {
  const candidates = [mod['default'], mod];
  for (const c of candidates) {
    if (typeof c !== 'object' && typeof c !== 'function') continue;
    if (c === null) continue;
    const o = c as Record<string, unknown>;
    if (typeof o['fetch'] === 'function') {
      const fetch = (o['fetch'] as FetchHandler).bind(o);
      return { kind: 'fetch', fetch: (request) => fetch(request) };
    }
    if (typeof o['serve'] === 'function') return { kind: 'native', serve: (o['serve'] as NativeHandler).bind(o) };
  }
  return null;
}

/** Imports `url` (a file URL) once per thread. */
export function loadApp(url: string): Promise<LoadedApp> {
  let loaded = cache.get(url);
  if (loaded === undefined) {
    loaded = import(url).then(
      (mod: Record<string, unknown>) => {
        const app = pick(mod);
        if (app === null) {
          throw new SlabserveError('ERR_APP_LOAD', `${url} exports neither fetch(request) nor serve(request, response)`);
        }
        return app;
      },
      (err: Error) => {
        throw new SlabserveError('ERR_APP_LOAD', `${url}: ${err.message}`);
      },
    );
    cache.set(url, loaded);
  }
  return loaded;
}
