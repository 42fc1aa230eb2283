// slabserve bench app for the seed-file, slab-sweep and slow-readers scenarios (slabserve worker thread).
//   GET /seed   the seed file, read with fs.readSync straight into each slab (native writer: no copy in JS);
//   GET /hello  12 bytes, returned as a web Response (answers while slow readers hold the pool).

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { seedFile } from '../../examples/seed-file.js';
import { joinGcTable } from '../servers/gc-counter.js';

joinGcTable();
const file = seedFile();
// Opened once per thread: readSync at explicit positions needs no per-request descriptor, and the file never changes.
const fd = openSync(file, 'r');
const size = fstatSync(fd).size;
process.once('exit', () => closeSync(fd));

async function sendSeed(response) {
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  for (let position = 0; position < size; ) {
    const slab = await response.slab();
    const n = readSync(fd, slab, 0, Math.min(slab.length, size - position), position);
    if (n === 0) throw new Error(`${file} shrank while being sent`);
    response.commit(n);
    position += n;
  }
  response.end();
}

export default {
  serve(request, response) {
    const { pathname } = new URL(request.url);
    if (pathname === '/seed') return sendSeed(response);
    if (pathname === '/hello') return new Response('hello world\n', { headers: { 'content-type': 'text/plain' } });
    return new Response(null, { status: 404 });
  },
};
