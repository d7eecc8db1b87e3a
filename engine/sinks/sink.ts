/**
 * The interface every sink implements: the pipeline hands each written batch's readings, rows
 * and events to every sink in order; `cli/start.ts` builds the list, one line per sink.
 *
 * A sink must never slow or stop the pipeline: it copies what it needs and queues (bounded)
 * anything slow (network, disk); a failure is logged and counted in its {@linkcode Sink.health},
 * never thrown back at the pipeline.
 * @module
 */
import type { AnalysisResult } from "../core/analysis.ts";
import type { AnomalyEvent, ProcessedRow, Reading } from "../core/types.ts";

/**
 * Delivery counts of one target of a sink that sends elsewhere (a webhook URL, a broker, a
 * database), shown by `GET /metrics` as `vigil_<sink>_queued`, `…_delivered_total`,
 * `…_dropped_total`, `…_rejected_total` and `…_failures_total` with a `target` label.
 */
export interface DeliveryStats {
  /** The sink's name in metric names (`webhook` gives `vigil_webhook_queued`). */
  sink: string;
  /** What one attempt is, at the start of a sentence (`Webhook POST`), for the help texts. */
  label: string;
  /** What it delivers, at the start of a sentence (`Anomaly events`), for the help texts. */
  items: string;
  /** The target without credentials, query or fragment (they may carry secrets). */
  target: string;
  /** Items waiting to be delivered (queued or spooled, not yet acknowledged). */
  queued: number;
  /** Items the target acknowledged. */
  delivered: number;
  /** Items evicted unsent because the queue was full. */
  dropped: number;
  /** Items the target refused for good (a permanent 4xx), logged and skipped. */
  rejected: number;
  /** Attempts that failed (network error, timeout, 408, 429, 5xx) and were retried. */
  failures: number;
}

/**
 * A consumer of what the pipeline writes. Every member is optional: a sink implements what it
 * uses. Calls come after the batch is in the data directory's files and checkpointed.
 *
 * @example
 * ```ts
 * import type { Sink } from "./sink.ts";
 * import type { AnomalyEvent } from "../core/types.ts";
 *
 * // Counts CRITICAL events: a complete sink.
 * class CriticalCounter implements Sink {
 *   count = 0;
 *   anomaly(event: AnomalyEvent) {
 *     if (event.severity === "CRITICAL") this.count++;
 *   }
 * }
 * ```
 */
export interface Sink {
  /** Each batch's readings (when {@linkcode Sink.results} is not implemented). */
  readings?(readings: readonly Reading[]): void;
  /** Each processed row (when {@linkcode Sink.results} is not implemented). */
  row?(row: ProcessedRow): void;
  /** Each anomaly event (when {@linkcode Sink.results} is not implemented). */
  anomaly?(event: AnomalyEvent): void;
  /**
   * The whole written batch with its analysis, including the per-reading kernel results
   * (`result.values`, see `ReadingValues` in core/analysis.ts) and its rows (`result.rows`,
   * whose table the analyzer refills for a later batch): both valid during the call only, copy
   * what must outlive it (`rows.row(i)` builds an object that stays). Called only when the analyzer computed them (`readingValues`); a
   * sink that has it is then told of the batch through it alone, not through `readings`,
   * `row` and `anomaly`, which it gets otherwise.
   */
  results?(readings: readonly Reading[], result: AnalysisResult): void;
  /** Delivery counts per target, for `GET /metrics`; absent for sinks that deliver nowhere. */
  health?(): readonly DeliveryStats[];
  /** Flushes and releases what it holds; called once at shutdown, after the last batch. */
  close?(): void | Promise<void>;
}
