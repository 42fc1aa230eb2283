// The pool's public surface: shared-memory structures that know nothing of HTTP (both threads).

export * from './slab-layout.js';
export * from './pool-memory.js';
export * from './slab-pool.js';
export * from './request-slots.js';
export * from './doorbell.js';
export * from './descriptor-queue.js';
export * from './wake.js';
export * from './queue-sender.js';
