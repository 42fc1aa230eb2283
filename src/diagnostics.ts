// What slabserve reports about itself, on node:diagnostics_channel (main thread publishes; workers forward to it).
//
// Library code never prints. Each event below is published on its own named channel, the way undici and fastify
// report theirs; a program subscribes to what it wants (the CLI prints them all). Events that happen in a worker
// thread (an app error) reach the main thread as a message and are published there, so one subscription in the main
// thread sees everything. Publishing costs nothing while a channel has no subscriber.

import { channel, type Channel } from 'node:diagnostics_channel';

/** An error as it crosses a thread: plain fields, since structured cloning drops an Error's `code`. */
export interface ErrorReport {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

/** Every event, by channel name. */
export interface DiagnosticEvents {
  /** A worker thread exited while it ran its serve loop; piscina starts a replacement. */
  'slabserve:thread-death': { owner: number; threadId: number; error: ErrorReport; requests: number };
  /** A thread was terminated because it held a timed-out request past the grace period. */
  'slabserve:thread-terminated': { owner: number; threadId: number; reason: string };
  /** The app produced no response head within appTimeout; the request was answered 504. */
  'slabserve:app-timeout': { owner: number; method: string; url: string; elapsedMs: number };
  /** A client took no bytes for sendTimeout and was cut off. */
  'slabserve:send-timeout': { method: string; url: string; idleMs: number };
  /** A slab transition was refused: a slabserve bug caught by the pool. The server keeps serving. */
  'slabserve:refused-transition': { thread: 'main' | 'worker'; error: ErrorReport };
  /** Any other fault inside slabserve that was contained (a descriptor that could not be handled). */
  'slabserve:internal-error': { thread: 'main' | 'worker'; error: ErrorReport };
  /** The app threw, rejected, or its body stream failed. */
  'slabserve:app-error': { owner: number; method: string; url: string; error: ErrorReport };
}

export type DiagnosticName = keyof DiagnosticEvents;

export const DIAGNOSTIC_NAMES: readonly DiagnosticName[] = [
  'slabserve:thread-death',
  'slabserve:thread-terminated',
  'slabserve:app-timeout',
  'slabserve:send-timeout',
  'slabserve:refused-transition',
  'slabserve:internal-error',
  'slabserve:app-error',
];

const channels = new Map<DiagnosticName, Channel>();

function channelOf(name: DiagnosticName): Channel {
  let c = channels.get(name);
  if (c === undefined) {
    c = channel(name);
    channels.set(name, c);
  }
  return c;
}

/** Publishes `event` on channel `name` in this thread, if anyone listens. */
export function publish<N extends DiagnosticName>(name: N, event: DiagnosticEvents[N]): void {
  const c = channelOf(name);
  if (c.hasSubscribers) c.publish(event);
}

/** Plain fields of anything thrown. */
export function reportOf(err: unknown): ErrorReport {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(err.stack !== undefined ? { stack: err.stack } : {}),
    };
  }
  return { name: 'Error', message: String(err) };
}

/** The envelope a worker posts to main for an event main should publish (see forwardFromWorker in main). */
export interface ForwardedDiagnostic {
  slabserveDiagnostic: DiagnosticName;
  event: DiagnosticEvents[DiagnosticName];
}

export function isForwardedDiagnostic(message: unknown): message is ForwardedDiagnostic {
  return typeof message === 'object' && message !== null && 'slabserveDiagnostic' in message;
}
