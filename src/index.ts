// slabserve's public surface (main thread): startServer, its options and stats, and the error catalogue.

export { startServer, type SlabServer } from './main/server.js';
export type { StatsSnapshot } from './main/stats.js';
export type { ServerOptions } from './main/options.js';
export { SlabserveError, ErrorCodes, hasCode, type ErrorCode } from './errors.js';
export type { NativeResponse } from './workers/native-response.js';
export type { FetchHandler, NativeHandler } from './workers/app-loader.js';
