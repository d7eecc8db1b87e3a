/**
 * Reading history in a SQLite file (`node:sqlite`): every channel value the pipeline wrote with
 * its algorithm results — moving average and standard deviation, z-score, the z threshold in
 * force, the z-score anomaly flag, the anomaly ratio over the stream's last
 * {@linkcode ANOMALY_LIST_SIZE} readings — and whether an anomaly event was raised on it. Serves
 * `GET /history` and `GET /analytics`.
 *
 * Fed by the pipeline's `results` (per-reading kernel results, see `ReadingValues` in
 * analyzer.ts). Fed only through `readings`/`row`/`anomaly` (an analyzer without
 * `readingValues`), it stores the values, the moving average and z-score of the readings that
 * closed a processed row, and the event flag; the other results stay null.
 *
 * Writes are buffered and committed in one transaction per flush, because one transaction per
 * reading would cost a disk sync each; reads flush first, so the API never lags the pipeline.
 *
 * This file is the sink and its options; the work is in the files beside it, one concern each:
 * schema.ts (the tables and the conversion of older files), history_writer.ts (buffered writes,
 * one chunk per stream per flush), pending.ts (the buffer, column by column), chunk_codec.ts (a
 * chunk's BLOB), stream_rows.ts (what a stream's entries mean, applied in write order),
 * streams.ts (the writer's stream ids and what retention knows of each, kept across a restart),
 * retention.ts (the newest `retention` per stream), merge.ts (small chunks merged),
 * flag_ring.ts (the anomaly-ratio rings), chunk_reader.ts and history_queries.ts (what the API
 * reads).
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { AnalysisResult } from "../../core/analysis.ts";
import { type Logger, nullLogger } from "../../core/logger.ts";
import type { DiskFullError } from "../../core/disk_full.ts";
import type { Sink } from "../sink.ts";
import type { AnomalyEvent, ProcessedRow, Reading } from "../../core/types.ts";
import { positiveInteger } from "../../core/validate.ts";
import { openHistoryDb } from "./schema.ts";
import { HistoryWriter } from "./history_writer.ts";
import {
  type Analytics,
  type AnalyticsQuery,
  type HistoryEntry,
  HistoryQueries,
  type HistoryQuery,
} from "./history_queries.ts";

export {
  type Analytics,
  type AnalyticsQuery,
  type HistoryEntry,
  type HistoryQuery,
  MAX_OUTLIERS,
  type Outlier,
} from "./history_queries.ts";

/**
 * Readings over which `anomaly_ratio` is taken, per machine and channel (the newest, this one
 * included): a ring of flags per stream, so memory is this many bytes per stream.
 */
export const ANOMALY_LIST_SIZE = 100;

/**
 * Longest time a buffered value waits before it is written, ms, by default. Each flush writes
 * one row per stream it touches (a chunk of that stream's values, schema.ts), whatever the
 * readings per stream it brings, so its cost is mostly per flush and per stream: the fewer the
 * flushes, the less CPU per reading. (Measured with the one-row-per-value table of schema
 * version 2, where each flush dirtied about one B-tree page per stream: at a live engine's full
 * rate, about 6,000 readings a second of 1,000 machines over MQTT, a flush every second rather
 * than every 500 ms cost about a third less CPU and wall time per reading, bench/history_bench.ts
 * with a RATE of 6,000.) The price: a `kill -9` or a crash loses up to this long of readings
 * from the history, which a restart does not rebuild (never from `stream_output.jsonl`; see
 * docs/files.md).
 */
export const FLUSH_EVERY_MS = 1000;

/** Options of {@linkcode HistoryStore}. */
export interface HistoryStoreOptions {
  /** The SQLite file, created if missing; `:memory:` for a throw-away store. */
  path: string;
  /**
   * Readings kept per machine and channel (per machine, for readings that all carry the same
   * channels), exactly: the oldest beyond it are deleted at each flush (retention.ts).
   * @default {100000}
   */
  retention?: number;
  /** Longest time a buffered reading waits before it is written, ms.
   * @default {FLUSH_EVERY_MS} (1000) */
  flushEvery?: number;
  /**
   * Buffered entries (one per channel value, row channel or anomaly event) that force a flush
   * at once, so the buffer stays bounded whatever the input rate; below it the timer decides (a
   * live engine over MQTT at full rate buffers about 12,000 values a second). Larger flushes
   * cost less per reading (see {@linkcode FLUSH_EVERY_MS}): at 50,000 rather than 10,000 a
   * store flushed by count alone writes at about half the CPU (bench/history_bench.ts). The
   * buffer holds about 60 bytes per entry plus its two string references (pending.ts), its
   * columns sized to this bound rather than the next power of two: about 3.6 MiB at 50,000
   * (a batch may overshoot the bound before its flush: the columns then grow by an eighth).
   * @default {50000}
   */
  maxPending?: number;
  /** Where failed background flushes are reported. @default {nullLogger} */
  logger?: Logger;
  /**
   * Told when a background flush finds the disk full (a `DiskFullError` naming the file): the
   * buffered entries of that flush are dropped and the transaction rolled back, so the file
   * stays whole; `start` stops the engine. @default {none: only logged}
   */
  onDiskFull?: (e: DiskFullError) => void;
  /** Readings in each stream's anomaly ratio. @default {ANOMALY_LIST_SIZE} (100) */
  anomalyListSize?: number;
  /**
   * Streams (machine, channel) whose anomaly-ratio ring is kept in memory; beyond it the
   * least recently started ring is dropped and rebuilt from the file when its stream comes
   * back. Bounds as well the streams whose id and row count the writer holds (streams.ts):
   * beyond it those are forgotten and looked up again at their next flush (their count read
   * back from `streams`, not counted again).
   * @default {4096} (the kernel's stream capacity)
   */
  maxStreams?: number;
}

/**
 * Reading history over one SQLite file. Register it as a pipeline listener; call
 * {@linkcode HistoryStore.close} on shutdown so the last buffered readings are written.
 *
 * @example
 * ```ts
 * const store = new HistoryStore({ path: ":memory:" });
 * store.readings([{ timestamp: 0, machine: "m1", status: null, channels: { temperature: 21.5 } }]);
 * store.history({ machine: "m1", channel: "temperature" }); // [{ time: 0, value: 21.5, … }]
 * store.close();
 * ```
 */
export class HistoryStore implements Sink {
  readonly #db: DatabaseSync;
  readonly #writer: HistoryWriter;
  readonly #queries: HistoryQueries;
  #closed = false;

  /**
   * Opens (or creates) the store.
   * A file written by an older version is migrated in place (see schema.ts).
   * @throws {RangeError} for a `retention`, `flushEvery`, `maxPending`, `anomalyListSize` or
   * `maxStreams` that is not a positive integer; SQLite's error when the file cannot be opened.
   */
  constructor(options: HistoryStoreOptions) {
    const settings = {
      retention: positiveInteger("retention", options.retention ?? 100_000),
      flushEvery: positiveInteger("flushEvery", options.flushEvery ?? FLUSH_EVERY_MS),
      maxPending: positiveInteger("maxPending", options.maxPending ?? 50_000),
      logger: options.logger ?? nullLogger,
      path: options.path,
      onDiskFull: options.onDiskFull,
      anomalyListSize: positiveInteger(
        "anomalyListSize",
        options.anomalyListSize ?? ANOMALY_LIST_SIZE,
      ),
      maxStreams: positiveInteger("maxStreams", options.maxStreams ?? 4096),
    };
    this.#db = openHistoryDb(options.path);
    this.#writer = new HistoryWriter(this.#db, settings);
    this.#queries = new HistoryQueries(this.#db);
  }

  /**
   * Buffers every channel value of `readings` with its results from `result.values` (the
   * pipeline calls this instead of `readings`, `row` and `anomaly` when the analyzer computed
   * them, and only then: `Sink.results`). While the store is open, a result without them is
   * refused (a `TypeError`, nothing buffered): the pipeline feeds those batches through the other
   * three. After `close()` every batch is ignored.
   */
  results(readings: readonly Reading[], result: AnalysisResult): void {
    if (!this.#closed) this.#writer.results(readings, result);
  }

  /** Buffers every channel value of `readings`. */
  readings(readings: readonly Reading[]): void {
    if (!this.#closed) this.#writer.readings(readings);
  }

  /** Buffers a processed row's moving average and z-score onto the reading that closed it. */
  row(row: ProcessedRow): void {
    if (!this.#closed) this.#writer.row(row);
  }

  /**
   * Buffers the anomaly flag of the event's reading. Events about no channel (heartbeat,
   * device status, isolation forest) have no reading to flag and are ignored.
   */
  anomaly(event: AnomalyEvent): void {
    if (!this.#closed) this.#writer.anomaly(event);
  }

  /** Entries buffered and not yet written. */
  get pending(): number {
    return this.#writer.pending;
  }

  /**
   * Writes everything buffered in one transaction, then deletes what retention no longer
   * keeps. On failure the transaction is rolled back and the buffered entries are dropped (so
   * memory stays bounded), and the error is thrown.
   */
  flush(): void {
    this.#open();
    this.#writer.flush();
  }

  /**
   * Whether any reading of `machine` is stored: `/history` and `/analytics` answer 404 for a
   * machine it has never seen, as every other route does, rather than an empty success.
   *
   * @example
   * ```ts
   * const store = new HistoryStore({ path: ":memory:" });
   * store.hasMachine("m1"); // false until a reading of m1 is stored
   * ```
   */
  hasMachine(machine: string): boolean {
    this.#flushBeforeRead();
    return this.#queries.hasMachine(machine);
  }

  /** Stored readings of one channel, oldest first. */
  history(query: HistoryQuery): HistoryEntry[] {
    this.#flushBeforeRead();
    return this.#queries.history(query);
  }

  /**
   * Count, average, minimum and maximum of one channel over a range, and the readings more
   * than `deviationPct` % from the average.
   * @throws {RangeError} for a negative or non-finite `deviationPct`.
   */
  analytics(query: AnalyticsQuery): Analytics {
    this.#flushBeforeRead();
    return this.#queries.analytics(query);
  }

  /** Writes what is buffered and closes the file. Closing twice does nothing. */
  close(): void {
    if (this.#closed) return;
    try {
      this.flush();
    } finally {
      this.#closed = true;
      this.#db.close();
    }
  }

  #open(): void {
    if (this.#closed) throw new Error("HistoryStore is closed");
  }

  #flushBeforeRead(): void {
    this.#open();
    this.#writer.flushQuietly();
  }
}
