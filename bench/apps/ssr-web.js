// slabserve (and @hono/node-server) bench app for the ssr scenario: the same page as a web stream, fetch style
// (renderToReadableStream), the only way before the native response was a Node Writable (worker thread, or main).

import { renderToReadableStream } from 'react-dom/server';
import { joinGcTable } from '../servers/gc-counter.js';
import { page } from './ssr-page.js';

joinGcTable();

export default {
  async fetch() {
    const body = await renderToReadableStream(page());
    return new Response(body, { headers: { 'content-type': 'text/html; charset=utf-8' } });
  },
};
