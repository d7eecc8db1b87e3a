/**
 * Batch generation of simulated readings, for test inputs and benchmark files (serialise them
 * with `formatReading` of engine/formats/reading_format.ts).
 * @module
 */
import type { Reading } from "../engine/core/types.ts";
import { MachineSimulator } from "./machine_simulator.ts";

/** Options of {@linkcode generateReadings}. */
export interface GenerateOptions {
  /** Number of machines, `m1` … `mN`. */
  machines: number;
  /** Seed: the same options give the same readings. */
  seed: number;
  /** Readings to produce in total. */
  count: number;
  /** Event time of the first tick, epoch ms. */
  start: number;
  /** Event time between ticks, ms. */
  intervalMs: number;
  /** Fault probability per machine per RUNNING tick. @default {0.01} */
  faultRate?: number;
  /** The noise knob in [0, 1]. @default {0} */
  anomalyLevel?: number;
}

/**
 * Exactly `count` simulated readings: ticks at `start`, `start + intervalMs`, … and yields each
 * tick's readings in machine order, stopping in the middle of a tick when `count` is reached.
 * Machines in a dropout yield nothing for that tick, so a tick may give fewer readings than
 * machines. Throws `RangeError` for a bad option.
 */
export function* generateReadings(options: GenerateOptions): Generator<Reading> {
  const { count, start, intervalMs } = options;
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`count must be an integer >= 0, got ${count}`);
  }
  if (!Number.isFinite(start)) throw new RangeError(`start must be finite, got ${start}`);
  if (!(intervalMs >= 0 && Number.isFinite(intervalMs))) {
    throw new RangeError(`intervalMs must be >= 0, got ${intervalMs}`);
  }
  const sim = new MachineSimulator({
    machines: options.machines,
    seed: options.seed,
    faultRate: options.faultRate,
    anomalyLevel: options.anomalyLevel,
  });
  let left = count;
  // Multiplying rather than accumulating keeps timestamps exact over millions of ticks.
  for (let i = 0; left > 0; i++) {
    const readings = sim.tick(start + i * intervalMs);
    const n = Math.min(readings.length, left);
    for (let j = 0; j < n; j++) yield readings[j]!;
    left -= n;
  }
}
