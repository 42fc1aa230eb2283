// The piscina baseline's task: builds the whole body in a worker thread and returns it (piscina worker thread).
// The seed body is a fresh ArrayBuffer per request, moved (transferred, not copied) back to the main thread: the usual
// way to offload a handler, which allocates a body per response.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Piscina, workerData } from 'piscina';
import { seedFile } from '../../examples/seed-file.js';
import { burn, cpuRounds } from './cpu-work.js';
import { publishGcFromTasks } from './gc-counter.js';
import { HELLO } from './routes.js';

const flushGc = publishGcFromTasks(workerData.gcTable);
const file = seedFile();
const rounds = cpuRounds();

function readWhole(path) {
  const fd = openSync(path, 'r');
  try {
    const body = new Uint8Array(fstatSync(fd).size);
    for (let at = 0; at < body.length; ) at += readSync(fd, body, at, body.length - at, at);
    return body.buffer;
  } finally {
    closeSync(fd);
  }
}

export default function task({ route }) {
  flushGc();
  if (route === '/seed') return Piscina.move(readWhole(file));
  if (route === '/hello') return HELLO;
  if (route === '/cpu') return burn(rounds);
  return null;
}
