// The cpu scenario's work: a chain of sha256 digests, the same count in every server (any thread).
//
// The runner calibrates the count once (about 2 ms on this machine) and passes it in BENCH_CPU_ROUNDS, so every server
// does identical work and returns the identical digest, which the runner checks before measuring.

import { createHash } from 'node:crypto';

const SEED = Buffer.alloc(64, 0x5a);

/** Hex sha256, applied `rounds` times to its own output. */
export function burn(rounds) {
  let digest = SEED;
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest();
  return digest.toString('hex') + '\n';
}

/** The round count the runner chose; servers read it once at start. */
export function cpuRounds() {
  const rounds = Number(process.env.BENCH_CPU_ROUNDS ?? 1000);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_CPU_ROUNDS must be a positive integer`);
  return rounds;
}

/**
 * Rounds that take about `targetMs` here. Timed over spans of 150 ms, not single requests: a 2 ms sample mostly
 * measures whichever scavenge or preemption lands in it. The median of five spans, after one to warm up the JIT.
 */
export function calibrate(targetMs = 2) {
  const rates = [];
  for (let span = 0; span < 6; span++) {
    let rounds = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 150) {
      burn(100);
      rounds += 100;
    }
    if (span > 0) rates.push(rounds / (performance.now() - t0));
  }
  rates.sort((a, b) => a - b);
  return Math.max(1, Math.round(targetMs * rates[2]));
}
