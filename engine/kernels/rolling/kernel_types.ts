/**
 * The contract of the fused rolling-statistics kernel, shared by the WebAssembly kernel
 * (`kernel_wasm.ts` over `assembly/rolling.ts`) and its plain-TypeScript reference
 * (`kernel_reference.ts`). Both implement {@linkcode Kernel} and must agree within 1e-9.
 * @module
 */

/** Options of a kernel. */
export interface KernelOptions {
  /** Most (machine, channel) streams the kernel holds; stream ids are `0 … maxStreams-1`.
   * @default {4096} */
  maxStreams?: number;
  /** Readings in the moving window (mean, std, min, max, trend). @default {5} */
  window?: number;
  /** Points in each stream's z-score model (`MODEL_SIZE`). @default {100} */
  modelSize?: number;
  /** A point whose |z| exceeds this, once the model is full, is an anomaly. @default {3} */
  zThreshold?: number;
  /** The trend is `stable` while |slope| <= trendTolerance * max(|mean|, 1e-12), the slope
   * being in units per reading. @default {0.01} */
  trendTolerance?: number;
  /** Most readings one `process` call takes. @default {8192} */
  batchCapacity?: number;
}

/** Per-stream limits; `NaN` disables a check. */
export interface StreamLimits {
  /** Below this the LOW flag is set. */
  low: number;
  /** Above this the HIGH flag is set. */
  high: number;
  /** |value - previous value| above this sets RAPID. */
  maxDelta: number;
  /** |deviation from the moving average| above this many percent sets DEVIATION. */
  maxDeviationPct: number;
}

export { FLAG } from "../../core/analysis.ts";

/**
 * Results of one `process` call, one entry per input reading, in input order. The arrays are
 * views the kernel owns: valid until the next call, copy what must outlive it.
 *
 * For reading i of stream s, after it entered the window of s:
 * - `mean/std/min/max`: over the last `window` readings of s (fewer while the window fills);
 *   `std` is the population standard deviation, exactly 0 for a constant window.
 * - `slope`: least-squares slope of value against reading index over the window (0 for one point).
 * - `zscore`: (value - model mean) / model std, measured against the model BEFORE this point
 *   entered it; 0 while the model has fewer than 2 points or its std is 0.
 * - `delta`: value - previous value of s (0 for the first); `rate`: delta per second of event
 *   time (0 when the time did not advance).
 * - `deviation`: 100 * (value - mean) / |mean| (0 when mean is 0).
 * - `completeness`: points in the model / modelSize, after this point.
 * - `flags`: {@linkcode FLAG} bits.
 */
export interface KernelOutput {
  mean: Float64Array;
  std: Float64Array;
  min: Float64Array;
  max: Float64Array;
  slope: Float64Array;
  zscore: Float64Array;
  delta: Float64Array;
  rate: Float64Array;
  deviation: Float64Array;
  completeness: Float64Array;
  flags: Uint32Array;
}

/** A batch of readings for one `process` call, as parallel arrays of equal length. */
export interface KernelInput {
  /** Stream id of each reading, `0 … maxStreams-1`. */
  stream: Int32Array;
  /** Event time, epoch milliseconds. */
  time: Float64Array;
  /** The value; finite (the parser rejects NaN and Infinity). */
  value: Float64Array;
}

/** The fused kernel: one call per batch, never one per value. */
export interface Kernel {
  /** The options in force, defaults filled in. */
  readonly options: Readonly<Required<KernelOptions>>;
  /** Sets the limits of one stream (all NaN until set). */
  setLimits(stream: number, limits: StreamLimits): void;
  /** Changes the z threshold for the following batches. */
  setZThreshold(z: number): void;
  /** Forgets a stream's window, model and previous value. */
  resetStream(stream: number): void;
  /**
   * Processes `n` readings (`n <= batchCapacity`) in order, updating each stream's state.
   * Throws a `RangeError` naming the value for a bad stream id or `n`.
   */
  process(input: KernelInput, n: number): KernelOutput;
}
