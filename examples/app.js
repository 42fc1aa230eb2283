// The example app `npm start` serves. Two routes show the two ways to answer:
//   GET /download/seed.mp3  the seed's 3,831,150-byte file, read straight into slabs by the native writer (no copy);
//   GET /hello, /json       ordinary fetch-style answers, returned as web Responses.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { seedFile } from './seed-file.js';

const file = seedFile();

/** Streams a file: each slab is filled in place by fs.readSync, then committed. Waits for credit between slabs. */
async function sendFile(response, path, type) {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    response.writeHead(200, { 'content-type': type, 'content-length': size });
    for (let position = 0; position < size; ) {
      const slab = await response.slab();
      const n = readSync(fd, slab, 0, Math.min(slab.length, size - position), position);
      if (n === 0) throw new Error(`${path} shrank while being sent`);
      response.commit(n);
      position += n;
    }
    await response.end();
  } finally {
    closeSync(fd);
  }
}

function route(request) {
  const { pathname } = new URL(request.url);
  if (pathname === '/hello') return new Response('hello from a worker thread\n');
  if (pathname === '/json') return Response.json({ ok: true, time: Date.now() });
  if (pathname === '/') {
    return new Response('slabserve example: try /hello, /json or /download/seed.mp3\n', {
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  }
  return new Response('not found\n', { status: 404 });
}

export default {
  serve(request, response) {
    if (new URL(request.url).pathname === '/download/seed.mp3') return sendFile(response, file, 'audio/mpeg');
    return route(request);
  },
};
