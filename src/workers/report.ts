// Forwards diagnostics from a worker thread to the main thread, which publishes them (worker thread).
//
// diagnostics_channel is per thread: a subscriber in main would never see what a worker published. So a worker posts
// each event to its parent (piscina re-emits a worker's own messages as the pool's 'message' event), and main
// publishes it. Only rare events travel this way (app errors, contained faults), never anything per request.

import { parentPort } from 'node:worker_threads';
import type { DiagnosticEvents, DiagnosticName, ForwardedDiagnostic } from '../diagnostics.js';

export function forward<N extends DiagnosticName>(name: N, event: DiagnosticEvents[N]): void {
  const envelope: ForwardedDiagnostic = { slabserveDiagnostic: name, event };
  parentPort?.postMessage(envelope);
}
