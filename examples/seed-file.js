// The seed's download, generated: 3,831,150 deterministic bytes (the size of the mp3 in the 2007 nginx thread).
import { closeSync, existsSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SEED_SIZE = 3_831_150;

/** The byte at each offset comes from a fixed xorshift32 stream, so every run and every thread makes the same file. */
export function seedBytes(size = SEED_SIZE) {
  const out = Buffer.allocUnsafe(size);
  let x = 0x2545f491;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const word = x >>> 0;
    for (let k = 0; k < 4 && i + k < size; k++) out[i + k] = (word >>> (8 * k)) & 0xff;
  }
  return out;
}

/** The file's path, writing it first if needed. Threads race safely: each writes its own temp file, then renames. */
export function seedFile(size = SEED_SIZE) {
  const path = join(tmpdir(), `slabserve-seed-${size}.bin`);
  if (existsSync(path) && statSync(path).size === size) return path;
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, seedBytes(size));
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  return path;
}
