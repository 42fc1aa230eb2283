// slabserve bench app for the ssr scenario: React's renderToPipeableStream piped into the native response (slabserve
// worker thread).

import { renderToPipeableStream } from 'react-dom/server';
import { joinGcTable } from '../servers/gc-counter.js';
import { page } from './ssr-page.js';

joinGcTable();

export default {
  serve(request, response) {
    const stream = renderToPipeableStream(page(), {
      onShellReady() {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        stream.pipe(response);
      },
      onShellError(err) {
        response.destroy(err);
      },
    });
  },
};
