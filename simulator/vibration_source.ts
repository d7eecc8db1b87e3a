/**
 * The live `vibration` profile: drives a {@linkcode VibrationSimulator} from a wall-clock timer,
 * turns each tick's frames into feature readings with one extractor call, and offers them as a
 * stream, like {@linkcode SimulatorSource} does for the machine profile.
 * @module
 */
import type { Reading } from "../engine/core/types.ts";
import { Ticker } from "./ticker.ts";

/**
 * What the source needs of a vibration feature extractor (the engine's `WasmVibrationFeatures`
 * fits it): declared here so that the simulator depends on no engine kernel.
 */
export interface FeatureExtractor {
  readonly options: {
    readonly frameSize: number;
    readonly sampleRate: number;
    readonly batchCapacity: number;
    readonly featureNames: readonly string[];
  };
  /** Features of `frames` frames stored back to back in `samples`, one row per frame. */
  extract(samples: Float64Array, frames: number): Float64Array;
}
import type { VibrationSimulator, VibrationTick } from "./vibration_simulator.ts";

/** Options of {@linkcode VibrationSource}. */
export interface VibrationSourceOptions {
  /** The simulator to drive. */
  simulator: VibrationSimulator;
  /** Computes the features; its `frameSize` must equal the simulator's, its `batchCapacity`
   * must hold one frame per machine. */
  extractor: FeatureExtractor;
  /** The clock that stamps frames (event time, epoch ms). @default {Date.now} */
  now?: () => number;
  /** Aborting it stops the timer and closes the stream. */
  signal?: AbortSignal;
  /** Chunks (ticks) the stream buffers before ticks are dropped. @default {64} */
  highWaterMark?: number;
}

/** Significant digits kept of each feature: band energies span 1e-4…10, so decimals won't do. */
const DIGITS = 6;

/**
 * One reading per frame whose channels are the feature row (`names[i]` → `rows[f·width + i]`),
 * status `RUNNING`, with the frame's ground truth as `injected`. Copies out of `rows` at once,
 * so `rows` may be a view the extractor overwrites on its next call.
 */
export function featureReadings(
  tick: VibrationTick,
  rows: Float64Array,
  names: readonly string[],
): Reading[] {
  const width = names.length;
  return tick.frames.map((frame, f) => {
    const channels: Record<string, number> = {};
    for (let c = 0; c < width; c++) {
      channels[names[c]!] = Number(rows[f * width + c]!.toPrecision(DIGITS));
    }
    const reading: Reading = {
      timestamp: Math.round(frame.timestamp),
      machine: frame.machine,
      status: "RUNNING",
      channels,
    };
    if (frame.injected !== null) reading.injected = frame.injected;
    return reading;
  });
}

/**
 * Ticks the simulator every frame duration of wall-clock time (the first tick at once) and
 * enqueues each tick's feature readings (one per machine) as one chunk on {@linkcode readable}.
 * Bounded by a {@linkcode Ticker}: when `highWaterMark` chunks wait, ticks are skipped (not
 * simulated), counted in {@linkcode dropped}. Stops on `signal` abort or {@linkcode cancel}.
 */
export class VibrationSource {
  /** The feature readings, one chunk per tick. */
  readonly readable: ReadableStream<Reading[]>;
  readonly #ticker: Ticker<Reading[]>;

  /** Throws `RangeError` when extractor and simulator disagree or for a bad high-water mark. */
  constructor(options: VibrationSourceOptions) {
    const { simulator, extractor } = options;
    if (extractor.options.frameSize !== simulator.frameSize) {
      throw new RangeError(
        `extractor frameSize ${extractor.options.frameSize} differs from the simulator's ${simulator.frameSize}`,
      );
    }
    if (extractor.options.sampleRate !== simulator.sampleRate) {
      throw new RangeError(
        `extractor sampleRate ${extractor.options.sampleRate} differs from the simulator's ${simulator.sampleRate}`,
      );
    }
    const machines = simulator.machines().length;
    if (extractor.options.batchCapacity < machines) {
      throw new RangeError(
        `extractor batchCapacity ${extractor.options.batchCapacity} < ${machines} machines`,
      );
    }
    const now = options.now ?? Date.now;
    this.#ticker = new Ticker({
      // One extractor call for every machine's frame of the tick.
      produce: () => {
        const tick = simulator.tick(now());
        const rows = extractor.extract(tick.samples, tick.frames.length);
        return featureReadings(tick, rows, extractor.options.featureNames);
      },
      intervalMs: simulator.frameDurationMs,
      signal: options.signal,
      highWaterMark: options.highWaterMark,
    });
    this.readable = this.#ticker.readable;
  }

  /** While true, ticks are skipped (the machines are frozen). */
  get paused(): boolean {
    return this.#ticker.paused;
  }

  set paused(value: boolean) {
    this.#ticker.paused = value;
  }

  /** Ticks skipped so far because the consumer was `highWaterMark` chunks behind. */
  get dropped(): number {
    return this.#ticker.dropped;
  }

  /** Stops ticking and closes the stream; queued chunks can still be read. Idempotent. */
  cancel(): void {
    this.#ticker.cancel();
  }
}
