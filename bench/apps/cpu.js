// slabserve bench app for the cpu scenario: about 2 ms of sha256 per request, fetch style (slabserve worker thread).

import { burn, cpuRounds } from '../servers/cpu-work.js';
import { joinGcTable } from '../servers/gc-counter.js';

joinGcTable();
const rounds = cpuRounds();

export default {
  fetch() {
    return new Response(burn(rounds), { headers: { 'content-type': 'text/plain' } });
  },
};
