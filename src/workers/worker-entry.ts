// The piscina task module: each thread runs one long-lived serve loop (worker thread).
//
// Main submits one task per thread; it resolves only when main asks the loop to stop. If the thread dies, piscina
// rejects the task and starts a replacement, and main submits the task again.

import type { ThreadResult, ThreadTask } from '../protocol.js';
import { installLightResponse } from './light-response.js';
import { ServeLoop } from './serve-loop.js';

// Before any app module loads: its `new Response(...)` makes the light one (see light-response.ts).
installLightResponse();

export default function serveThread(task: ThreadTask): Promise<ThreadResult> {
  return ServeLoop.start(task);
}
