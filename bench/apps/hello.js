// slabserve bench app for the hello scenario: the trivial fetch-style handler (slabserve worker thread).

import { joinGcTable } from '../servers/gc-counter.js';

joinGcTable();

export default {
  fetch() {
    return new Response('hello world\n', { headers: { 'content-type': 'text/plain' } });
  },
};
