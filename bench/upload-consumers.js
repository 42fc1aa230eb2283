#!/usr/bin/env node
// What a Node consumer (busboy, a pipeline to a file) pays to read an upload through Readable.fromWeb(request.body),
// against a plain Node Readable fed the same way (one process, one thread).
//
// Usage: node bench/upload-consumers.js [--mb 256] [--rounds 9] [--slab-kb 64]
//
// Each source hands over the upload as the worker's UploadStream does: one slab-size piece per read, after an await,
// copied out of a SharedArrayBuffer (web streams refuse views of shared memory, and a Node consumer may keep a chunk
// past its read). The sink takes each chunk and drops it. CPU is the process's, from process.cpuUsage(), per GB;
// the first round is a warm-up, the rest are reported as median and min–max.

import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { mb: { type: 'string', default: '256' }, rounds: { type: 'string', default: '9' }, 'slab-kb': { type: 'string', default: '64' } },
});
const SLAB = Number(args['slab-kb']) * 1024;
const TOTAL = Math.floor((Number(args.mb) * 2 ** 20) / SLAB) * SLAB;
const shared = new Uint8Array(new SharedArrayBuffer(SLAB * 8));

/** The piece after `sent` bytes, copied out of shared memory. */
function piece(sent, copy) {
  const at = ((sent / SLAB) % 8) * SLAB;
  copy.set(shared.subarray(at, at + SLAB));
  return copy;
}

function webBody() {
  let sent = 0;
  return new ReadableStream(
    {
      async pull(controller) {
        await null;
        if (sent >= TOTAL) return controller.close();
        controller.enqueue(piece(sent, new Uint8Array(SLAB)));
        sent += SLAB;
      },
    },
    { highWaterMark: 0 },
  );
}

function nodeBody() {
  let sent = 0;
  return new Readable({
    read() {
      void Promise.resolve().then(() => {
        if (sent >= TOTAL) return this.push(null);
        this.push(piece(sent, Buffer.allocUnsafe(SLAB)));
        sent += SLAB;
      });
    },
  });
}

const ways = {
  // What an app writes today: the body of the Request the worker hands it, wrapped for Node.
  'Readable.fromWeb(request.body)': () =>
    Readable.fromWeb(new Request('http://bench.invalid/', { method: 'POST', body: webBody(), duplex: 'half' }).body),
  'a Node Readable of the same pieces': () => nodeBody(),
};
const sink = () => new Writable({ write: (chunk, encoding, cb) => cb() });
const perGB = {};
for (let round = 0; round < Number(args.rounds); round++) {
  for (const [name, make] of Object.entries(ways)) {
    const before = process.cpuUsage();
    await pipeline(make(), sink());
    const used = process.cpuUsage(before);
    if (round > 0) (perGB[name] ??= []).push((used.user + used.system) / 1e6 / (TOTAL / 2 ** 30));
  }
}
console.log(`${TOTAL / 2 ** 20} MiB in ${SLAB / 1024} KiB pieces, ${Number(args.rounds) - 1} rounds after a warm-up, Node ${process.version}`);
for (const [name, xs] of Object.entries(perGB)) {
  const sorted = xs.sort((a, b) => a - b);
  const f = (v) => v.toFixed(3);
  console.log(`${name.padEnd(36)} ${f(sorted[sorted.length >> 1])} CPU s/GB (${f(sorted[0])}–${f(sorted.at(-1))})`);
}
