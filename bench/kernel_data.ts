/**
 * The kernel benchmarks' workload, shared by bench/kernel_bench.ts (`deno bench`) and
 * bench/slice_cost.ts (interleaved CPU-time rounds): 1,000 streams interleaved at random, batches
 * of 8,192 readings, one reading a second per stream, every stream a level with 1 % noise and
 * rare spikes (a quarter of them at 1e6, to exercise the anchored sums).
 * @module
 */
import type { KernelInput } from "../engine/mod.ts";

/** Streams in the workload. */
export const STREAMS = 1000;
/** Readings per batch. */
export const BATCH = 8192;
/** Batches pre-generated (cycled through). */
export const BATCHES = 64;
/** The rolling kernel's options in the benchmarks: window 5, model 100. */
export const OPTIONS = { maxStreams: STREAMS, window: 5, modelSize: 100, batchCapacity: BATCH };
/** The limits every stream gets (so the limit checks run). */
export const LIMITS = { low: 0, high: 2e6, maxDelta: 1e5, maxDeviationPct: 20 };

/**
 * Deterministic readings: the same seed, the same batches, in every tree.
 *
 * @example
 * ```ts
 * const batches = makeBatches(); // 64 × { stream, time, value } of 8,192 readings
 * ```
 */
export function makeBatches(): KernelInput[] {
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const level = Float64Array.from({ length: STREAMS }, (_, s) => (s % 4 === 0 ? 1e6 : 10 + s));
  const clock = new Float64Array(STREAMS);
  const batches: KernelInput[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const stream = new Int32Array(BATCH);
    const time = new Float64Array(BATCH);
    const value = new Float64Array(BATCH);
    for (let i = 0; i < BATCH; i++) {
      const s = Math.floor(rnd() * STREAMS);
      clock[s]! += 1000;
      stream[i] = s;
      time[i] = clock[s]!;
      value[i] = level[s]! * (1 + 0.01 * (rnd() - 0.5)) * (rnd() < 0.001 ? 3 : 1);
    }
    batches.push({ stream, time, value });
  }
  return batches;
}
