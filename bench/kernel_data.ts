/**
 * The kernel benchmarks' workload, shared by bench/kernel_bench.ts (`deno bench`) and
 * bench/slice_cost.ts (interleaved CPU-time rounds): 1,000 streams interleaved at random, batches
 * of 8,192 readings, one reading a second per stream, every stream a level with 1 % noise and
 * rare spikes (a quarter of them at 1e6, to exercise the anchored sums); and bench/adaptive_bench.ts's
 * seasonal workload (`makeSeasonalBatches`).
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

/** Milliseconds between two readings of a stream in the seasonal workload: 10 minutes. */
const SEASONAL_STEP_MS = 600_000;

/**
 * The adaptive detector's workload (bench/adaptive_bench.ts): 1,000 streams interleaved,
 * 10-minute readings from 2024-01-01 (3.6 days per stream over the 64 batches, so daily
 * profiles are learned and used), level noise, a third of the streams with a daily sine, a fifth
 * quantised, rare spikes and gaps (NaN).
 *
 * @example
 * ```ts
 * const batches = makeSeasonalBatches(); // 64 × { stream, time, value } of 8,192 readings
 * ```
 */
export function makeSeasonalBatches(): KernelInput[] {
  let seed = 2024;
  const u = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const clock = new Float64Array(STREAMS).fill(Date.UTC(2024, 0, 1));
  return Array.from({ length: BATCHES }, () => {
    const b = {
      stream: new Int32Array(BATCH),
      time: new Float64Array(BATCH),
      value: new Float64Array(BATCH),
    };
    for (let i = 0; i < BATCH; i++) {
      const s = Math.floor(u() * STREAMS);
      const t = clock[s]! += SEASONAL_STEP_MS;
      const daily = s % 3 === 0 ? 10 * Math.sin((2 * Math.PI * (t % 86_400_000)) / 86_400_000) : 0;
      const x = 100 + s + daily + 2 * (u() + u() - 1) + (u() < 0.001 ? 40 : 0);
      b.stream[i] = s;
      b.time[i] = t;
      b.value[i] = u() < 0.002 ? NaN : s % 5 === 0 ? Math.round(x) : x;
    }
    return b;
  });
}
