// The side channel every bench server process answers on: IPC from the runner (main thread of a server process).
//
// Messages in:  {type:'probe', id}  → {type:'probe', id, rss, gc, gcMain, threads, stats?}
//               {type:'stop'}       → the server's stop(), then exit 0 (so --cpu-prof profiles get written)
// Message out at start: {type:'ready', port, pids}
// IPC keeps the load off the measured port: no probe request ever competes with the load generator's requests.

/** snapshot(): Promise of the probe fields; stop(): Promise, graceful. */
export function serveProbe({ port, pids = [process.pid], snapshot, stop }) {
  process.on('message', async (m) => {
    if (m?.type === 'probe') process.send({ type: 'probe', id: m.id, ...(await snapshot()) });
    else if (m?.type === 'stop') await shutdown();
  });
  let stopping = null;
  const shutdown = () => {
    stopping ??= Promise.race([stop(), new Promise((r) => setTimeout(r, 3000).unref())]).then(() => process.exit(0));
    return stopping;
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // Run by hand (no IPC, e.g. for profiling): say where it listens, as the slabserve CLI does.
  if (process.send === undefined) {
    process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
    return;
  }
  // The runner is gone (crashed or killed): do not linger holding a port.
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', port, pids });
}
