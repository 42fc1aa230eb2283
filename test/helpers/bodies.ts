// Deterministic bodies and sha256 utilities for tests (test helper, test process).
//
// The byte generator itself lives in test/fixtures/apps/bodies.mjs, because the fixture apps run it in worker threads
// as plain JS; this module loads that very file, so the expected digests come from the same function the apps use.

import { createHash, type Hash } from 'node:crypto';

interface BodiesModule {
  fillBody(seed: number, offset: number, target: Uint8Array, length?: number): number;
  bodyChunk(seed: number, offset: number, length: number): Uint8Array;
}

// A computed specifier: the .mjs has no type declarations, so its shape is stated once, here.
const bodiesUrl = new URL('../fixtures/apps/bodies.mjs', import.meta.url).href;
const bodies = (await import(bodiesUrl)) as BodiesModule;

/** Writes bytes [offset, offset + length) of body `seed` into target[0..length). Returns length. */
export const fillBody: BodiesModule['fillBody'] = bodies.fillBody;

/** The whole body `seed` of `size` bytes, as a Buffer. */
export function bodyBytes(seed: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  fillBody(seed, 0, out, size);
  return out;
}

/** Body `seed` of `size` bytes cut into `chunkSize` pieces, generated lazily (for streamed uploads). */
export function* bodyChunks(seed: number, size: number, chunkSize = 64 * 1024): Generator<Buffer> {
  for (let at = 0; at < size; at += chunkSize) {
    const n = Math.min(chunkSize, size - at);
    const chunk = Buffer.allocUnsafe(n);
    fillBody(seed, at, chunk, n);
    yield chunk;
  }
}

const digests = new Map<string, string>();

/** sha256 (hex) of body `seed` of `size` bytes, computed in pieces (never the whole body at once) and memoised. */
export function bodySha256(seed: number, size: number): string {
  const key = `${seed}:${size}`;
  let digest = digests.get(key);
  if (digest === undefined) {
    const hash = createHash('sha256');
    const piece = Buffer.allocUnsafe(256 * 1024);
    for (let at = 0; at < size; at += piece.length) {
      const n = Math.min(piece.length, size - at);
      fillBody(seed, at, piece, n);
      hash.update(piece.subarray(0, n));
    }
    digest = hash.digest('hex');
    digests.set(key, digest);
  }
  return digest;
}

/** sha256 (hex) of some bytes or a string (UTF-8). */
export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A running sha256 and byte count, for bodies that are hashed as they arrive and never held whole. */
export class RunningHash {
  length = 0;
  private readonly hash: Hash = createHash('sha256');
  private digestHex: string | null = null;

  update(chunk: Uint8Array): void {
    if (this.digestHex !== null) throw new Error('RunningHash: update() after digest()');
    this.length += chunk.length;
    this.hash.update(chunk);
  }

  /** The hex digest; may be called more than once (the first call finishes the hash). */
  digest(): string {
    this.digestHex ??= this.hash.digest('hex');
    return this.digestHex;
  }
}
