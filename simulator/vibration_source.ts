/**
 * The live `vibration` profile: drives a {@linkcode VibrationSimulator} from a wall-clock timer,
 * turns each tick's frames into feature readings with one extractor call, and offers them as a
 * stream, like {@linkcode SimulatorSource} does for the machine profile.
 * @module
 */
import type { VibrationFeatureExtractor } from "../engine/vibration_types.ts";
import type { Reading } from "../engine/types.ts";
import type { VibrationSimulator, VibrationTick } from "./vibration_simulator.ts";

/** Options of {@linkcode VibrationSource}. */
export interface VibrationSourceOptions {
  /** The simulator to drive. */
  simulator: VibrationSimulator;
  /** Computes the features; its `frameSize` must equal the simulator's, its `batchCapacity`
   * must hold one frame per machine. */
  extractor: VibrationFeatureExtractor;
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
 * Bounded as {@linkcode SimulatorSource}: when `highWaterMark` chunks wait, ticks are skipped
 * (not simulated), counted in {@linkcode dropped}. Stops on `signal` abort or
 * {@linkcode cancel}.
 */
export class VibrationSource {
  /** The feature readings, one chunk per tick. */
  readonly readable: ReadableStream<Reading[]>;
  readonly #simulator: VibrationSimulator;
  readonly #extractor: VibrationFeatureExtractor;
  readonly #now: () => number;
  readonly #signal: AbortSignal | undefined;
  #controller!: ReadableStreamDefaultController<Reading[]>;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  #dropped = 0;
  /** While true, ticks are skipped (the machines are frozen). */
  paused = false;
  readonly #onAbort = () => this.cancel();

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
    const highWaterMark = options.highWaterMark ?? 64;
    if (!Number.isSafeInteger(highWaterMark) || highWaterMark < 1) {
      throw new RangeError(`highWaterMark must be an integer >= 1, got ${highWaterMark}`);
    }
    this.#simulator = simulator;
    this.#extractor = extractor;
    this.#now = options.now ?? Date.now;
    this.#signal = options.signal;
    this.readable = new ReadableStream<Reading[]>({
      start: (controller) => {
        this.#controller = controller;
        if (this.#signal?.aborted) {
          this.cancel();
          return;
        }
        this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
        this.#tick();
        if (!this.#stopped) {
          this.#timer = setInterval(() => this.#tick(), simulator.frameDurationMs);
        }
      },
      cancel: () => this.#stop(),
    }, new CountQueuingStrategy({ highWaterMark }));
  }

  /** Ticks skipped so far because the consumer was `highWaterMark` chunks behind. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Stops ticking and closes the stream; queued chunks can still be read. Idempotent. */
  cancel(): void {
    if (this.#stopped) return;
    this.#stop();
    this.#controller.close();
  }

  #stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }

  #tick(): void {
    if (this.#stopped || this.paused) return;
    if ((this.#controller.desiredSize ?? 0) <= 0) {
      this.#dropped++;
      return;
    }
    const tick = this.#simulator.tick(this.#now());
    const rows = this.#extractor.extract(tick.samples, tick.frames.length);
    this.#controller.enqueue(
      featureReadings(tick, rows, this.#extractor.options.featureNames),
    );
  }
}
