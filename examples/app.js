// The example app `npm start` serves. The routes show the ways to answer:
//   GET /download/seed.mp3  the seed's 3,831,150-byte file, read straight into slabs by the native writer (no copy);
//   GET /squares.csv        a Node stream piped into the native response (a stream.Writable), gzipped when asked;
//   GET /hello, /json       ordinary fetch-style answers, returned as web Responses.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
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
    response.end();
  } finally {
    closeSync(fd);
  }
}

/** A CSV of n, n² for n below 100,000, made row by row as the client takes it (pipe() follows the response's credit). */
function sendSquares(request, response) {
  const rows = Readable.from(
    (function* () {
      yield 'n,square\n';
      for (let n = 0; n < 100_000; n++) yield `${n},${n * n}\n`;
    })(),
  );
  const gzip = /\bgzip\b/.test(request.headers.get('accept-encoding') ?? '');
  response.writeHead(200, { 'content-type': 'text/csv', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
  // An error midway destroys the response, which cuts the connection: the client never sees a whole file.
  if (gzip) pipeline(rows, createGzip(), response, () => {});
  else pipeline(rows, response, () => {});
}

function route(request) {
  const { pathname } = new URL(request.url);
  if (pathname === '/hello') return new Response('hello from a worker thread\n');
  if (pathname === '/json') return Response.json({ ok: true, time: Date.now() });
  if (pathname === '/') {
    return new Response('slabserve example: try /hello, /json, /squares.csv or /download/seed.mp3\n', {
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  }
  return new Response('not found\n', { status: 404 });
}

export default {
  serve(request, response) {
    const { pathname } = new URL(request.url);
    if (pathname === '/download/seed.mp3') return sendFile(response, file, 'audio/mpeg');
    if (pathname === '/squares.csv') return sendSquares(request, response);
    return route(request);
  },
};
