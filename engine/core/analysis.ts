/**
 * What the analysis of one batch gives the pipeline and its sinks: the kernel's flag bits, the
 * per-reading results, rows and events, and what the analyzer needs of an isolation forest.
 * Here, below the kernels and detectors, so that sinks read results without importing either.
 * @module
 */
import type { AnomalyEvent } from "./types.ts";
import type { RowTable } from "./row_table.ts";

/** Bits of `KernelOutput.flags` (kernels/rolling/kernel_types.ts). */
export const FLAG = {
  /** |z| > zThreshold with a full model: the point was not added to the model. */
  ZSCORE: 1,
  /** value > limits.high */
  HIGH: 2,
  /** value < limits.low */
  LOW: 4,
  /** |delta| > limits.maxDelta */
  RAPID: 8,
  /** |deviation_pct| > limits.maxDeviationPct */
  DEVIATION: 16,
  /** trend increasing (neither bit: stable) */
  TREND_UP: 32,
  /** trend decreasing */
  TREND_DOWN: 64,
  /** the z-score model holds modelSize points */
  MODEL_FULL: 128,
} as const;

/**
 * Per-reading, per-channel kernel results of one {@linkcode Analyzer.analyze} call.
 *
 * Layout: one entry per (accepted reading, channel), in reading order and, within a reading, in
 * the order `for (const name in reading.channels)` visits its channels (the order the kernel
 * got them). Reading `i` of the batch owns entries `first[i] … first[i] + k - 1` (`k` its
 * channels); `first[i]` is -1 for a refused reading, which has none. Arrays may be longer than
 * needed: only `first[0 … readings.length-1]` and entries `0 … count-1` are meaningful.
 *
 * The arrays are reused: the analyzer keeps two sets and alternates between them, so one
 * call's values stay valid until the second `analyze` call after it. That covers the pipeline,
 * where at most one batch is being written while the next is analysed (highWaterMark 1); a
 * consumer that keeps values longer must copy them. Each set grows (doubling) to the largest
 * batch seen, so memory is bounded by the batch size, and nothing is allocated per reading.
 */
export interface ReadingValues {
  /** Meaningful entries. */
  count: number;
  /** First entry of each reading of the batch, -1 for a refused one. */
  first: Int32Array;
  /** The moving average over the last `window` readings (the kernel exposes no model mean). */
  mean: Float64Array;
  /** Population standard deviation over the same window. */
  std: Float64Array;
  /** Z-score against the stream's model before the reading entered it. */
  zscore: Float64Array;
  /** Kernel {@linkcode FLAG} bits: `FLAG.ZSCORE` is the anomaly flag (|z| > threshold with a
   * full model), `FLAG.MODEL_FULL` whether the model was full. */
  flags: Uint32Array;
  /** The z threshold in force for this whole call (it changes only between calls). */
  zThreshold: number;
}

/**
 * What the analyzer needs of an isolation forest: `WasmIsolationForest` (engine) or a test's
 * reference. `scoreBatch` scores `n ≤ batchCapacity` row-major records in model feature order.
 */
export interface IsolationScorer {
  readonly model: {
    readonly features: readonly string[];
    readonly offset: number;
    /** The calibrated alarm threshold on `score_samples`, when the model has one. */
    readonly alarm_threshold?: number;
  };
  readonly batchCapacity: number;
  scoreBatch(
    x: Float64Array,
    n: number,
  ): { scoreSamples: ArrayLike<number>; decisionFunction: ArrayLike<number> };
}

/** What one {@linkcode Analyzer.analyze} call produced. */
export interface AnalysisResult {
  /** Processed rows, each with the index of the reading that closed it: columns, turned into
   * objects only when asked ({@linkcode RowTable.row}). */
  rows: RowTable;
  /** Anomaly events, each with the index of the reading that raised it. */
  events: { index: number; event: AnomalyEvent }[];
  /** Readings refused (e.g. stream capacity exhausted), with the reason. */
  rejected: { index: number; error: string }[];
  /** Per-reading results, only with {@linkcode AnalyzerOptions.readingValues}. */
  values?: ReadingValues;
  /** Gives `rows` back to the analyzer, which may clear and refill the table for a later
   * batch: called by the pipeline's writer once the batch is written (its readers are done
   * with the table by then; row objects built from it stay as they are). A result kept
   * beyond that must not be released. Not enumerable, as a batch's columns are not. */
  release?: () => void;
}
