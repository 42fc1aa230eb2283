// Opens many raw TCP connections that each ask for a large body and then never read (its own child process).
// Input (IPC): {port, path, count}; out: {type:'open', connected, errors, ms}. On {type:'close'}: destroys every
// socket, answers {type:'closed'} and exits. Loopback only, bounded in count; the runner bounds the time.

import { connect } from 'node:net';

const BATCH = 100;

process.once('message', async ({ port, path, count }) => {
  const sockets = [];
  let errors = 0;
  const t0 = performance.now();
  // In batches, so the listen backlog never overflows (an overflow costs a 1 s SYN retry and skews the timing).
  for (let i = 0; i < count; i += BATCH) {
    const batch = [];
    for (let k = i; k < Math.min(count, i + BATCH); k++) {
      const socket = connect({ host: '127.0.0.1', port });
      // Paused before it connects: node then never starts reading, so the kernel's receive buffer fills and stays full.
      socket.pause();
      socket.on('error', () => errors++);
      sockets.push(socket);
      batch.push(
        new Promise((resolve) => {
          socket.once('connect', () => {
            socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, resolve);
          });
          socket.once('error', resolve);
        }),
      );
    }
    await Promise.all(batch);
  }
  const connected = sockets.filter((s) => !s.destroyed).length;
  process.send({ type: 'open', connected, errors, ms: performance.now() - t0 });
  process.once('message', () => {
    for (const s of sockets) s.destroy();
    process.send({ type: 'closed' }, () => process.exit(0));
  });
});
