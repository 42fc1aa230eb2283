// slabserve bench app for the ssr scenario: React's renderToPipeableStream piped into the native response (slabserve
// worker thread).

import { joinGcTable } from '../servers/gc-counter.js';
import { pipePage } from './ssr-page.js';

joinGcTable();

export default {
  serve(request, response) {
    pipePage(response);
  },
};
