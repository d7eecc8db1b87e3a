/**
 * The write side of the history file: what the pipeline hands the history sink, turned into
 * buffered row writes (with each stream's anomaly ratio, see flag_ring.ts) and committed in one
 * transaction per flush, because one transaction per reading would cost a disk sync each. The
 * buffer is bounded: `maxPending` entries force a flush at once, and a timer writes the rest
 * within `flushEvery` ms. Each flush then deletes what retention no longer keeps.
 *
 * Past ~400 lines: it is the one place that knows both what each write means (results,
 * readings, rows, events) and in which order and shape they reach SQLite; the statements'
 * shape (chunked_insert.ts) and retention (retention.ts) are already apart.
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { AnalysisResult } from "../../core/analysis.ts";
import { FLAG } from "../../core/analysis.ts";
import type { Logger } from "../../core/logger.ts";
import { DiskFullError, diskFullOr } from "../../core/disk_full.ts";
import type { AnomalyEvent, ProcessedRow, Reading } from "../../core/types.ts";
import { FlagRings } from "./flag_ring.ts";
import { ChunkedInsert } from "./chunked_insert.ts";
import { Retention } from "./retention.ts";

/**
 * Bounds and reporting of a {@linkcode HistoryWriter}, checked and defaulted by `HistoryStore`
 * (the defaults are documented on `HistoryStoreOptions`).
 */
export interface HistoryWriterSettings {
  /** Readings kept per machine and channel; the oldest beyond it are deleted at each flush. */
  retention: number;
  /** Longest time a buffered entry waits before it is written, ms. */
  flushEvery: number;
  /** Buffered entries that force a flush at once. */
  maxPending: number;
  /** Readings in each stream's anomaly ratio. */
  anomalyListSize: number;
  /** Streams whose anomaly-ratio ring is kept in memory. */
  maxStreams: number;
  /** Where failed background flushes are reported. */
  logger: Logger;
  /** The file, for the message of a full disk (`disk full writing <path>`). */
  path: string;
  /** Told when a background flush found the disk full (see `HistoryStoreOptions`). */
  onDiskFull?: (e: DiskFullError) => void;
}

/** A buffered write: a reading with all its results, a reading's value, a row's results, or
 * an event flag. */
type Op =
  | {
    kind: "result";
    machine: string;
    channel: string;
    time: number;
    value: number;
    mean: number | null;
    std: number | null;
    zscore: number | null;
    threshold: number;
    anomaly: 0 | 1;
    ratio: number;
    event: 0 | 1;
  }
  | { kind: "reading"; machine: string; channel: string; time: number; value: number }
  | {
    kind: "row";
    machine: string;
    channel: string;
    time: number;
    value: number;
    mean: number | null;
    zscore: number | null;
  }
  | { kind: "anomaly"; machine: string; channel: string; time: number; value: number | null };

/** Orders ops by the table's primary key (machine, channel, time). */
const byKey = (a: Op, b: Op): number =>
  a.machine < b.machine
    ? -1
    : a.machine > b.machine
    ? 1
    : a.channel < b.channel
    ? -1
    : a.channel > b.channel
    ? 1
    : a.time - b.time;

/** The columns of a reading written with all its results, in the order `#writeRun` gives them. */
const RESULT_COLUMNS = [
  "machine",
  "channel",
  "time",
  "value",
  "mean",
  "std",
  "zscore",
  "threshold",
  "anomaly",
  "anomaly_ratio",
  "event",
] as const;

const finiteOrNull = (x: number | null | undefined): number | null =>
  typeof x === "number" && Number.isFinite(x) ? x : null;

/**
 * Buffers what the pipeline hands the history sink and writes it to `db` in one transaction per
 * flush. Used through `HistoryStore` (history_store.ts), which refuses writes once closed.
 *
 * @example
 * ```ts
 * import { nullLogger } from "../../core/logger.ts";
 * import { openHistoryDb } from "./schema.ts";
 *
 * const writer = new HistoryWriter(openHistoryDb(":memory:"), {
 *   retention: 100_000, flushEvery: 500, maxPending: 10_000, anomalyListSize: 100,
 *   maxStreams: 4096, logger: nullLogger, path: ":memory:",
 * });
 * writer.readings([{ timestamp: 0, machine: "m1", status: null, channels: { temperature: 21.5 } }]);
 * writer.pending; // 1
 * writer.flush(); // written
 * ```
 */
export class HistoryWriter {
  readonly #db: DatabaseSync;
  readonly #s: HistoryWriterSettings;
  readonly #rings: FlagRings;
  #pending: Op[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #upsertResults: ChunkedInsert;
  readonly #recentFlags: StatementSync;
  readonly #insertReadings: ChunkedInsert;
  readonly #upsertRow: StatementSync;
  readonly #upsertAnomaly: StatementSync;
  readonly #flagAnomaly: StatementSync;
  readonly #retention: Retention;

  /** Prepares the writes on `db`, which has the current schema (see schema.ts). */
  constructor(db: DatabaseSync, settings: HistoryWriterSettings) {
    this.#db = db;
    this.#s = settings;
    this.#rings = new FlagRings(settings.anomalyListSize, settings.maxStreams);
    // Everything known about a reading; seen again (two readings of a machine with one
    // timestamp, a file written by an earlier run), it is replaced, except that an event flag
    // stays set. Many readings per statement (see chunked_insert.ts).
    this.#upsertResults = new ChunkedInsert(
      db,
      "readings",
      RESULT_COLUMNS,
      `
       ON CONFLICT (machine, channel, time) DO UPDATE SET
         value = excluded.value, mean = excluded.mean, std = excluded.std,
         zscore = excluded.zscore, threshold = excluded.threshold, anomaly = excluded.anomaly,
         anomaly_ratio = excluded.anomaly_ratio, event = max(event, excluded.event)`,
    );
    // The flags a ring starts from: the stream's newest readings before `time` that have
    // results (the threshold is set exactly when they do).
    this.#recentFlags = db.prepare(
      `SELECT anomaly FROM readings
       WHERE machine = ? AND channel = ? AND time < ? AND threshold IS NOT NULL
       ORDER BY time DESC LIMIT ?`,
    );
    // A reading seen again (a replay, a restart) replaces its value and keeps its results.
    this.#insertReadings = new ChunkedInsert(
      db,
      "readings",
      ["machine", "channel", "time", "value"],
      "ON CONFLICT (machine, channel, time) DO UPDATE SET value = excluded.value",
    );
    // A row carries its reading's value (`current`), so it can stand alone if its reading
    // was never stored (e.g. written before this store existed).
    this.#upsertRow = db.prepare(
      `INSERT INTO readings (machine, channel, time, value, mean, zscore) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (machine, channel, time) DO UPDATE
       SET mean = excluded.mean, zscore = excluded.zscore`,
    );
    this.#upsertAnomaly = db.prepare(
      `INSERT INTO readings (machine, channel, time, value, event) VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (machine, channel, time) DO UPDATE SET event = 1`,
    );
    this.#flagAnomaly = db.prepare(
      `UPDATE readings SET event = 1 WHERE machine = ? AND channel = ? AND time = ?`,
    );
    this.#retention = new Retention(db, settings.retention, settings.maxStreams);
  }

  /**
   * Buffers every channel value of `readings` with its results from `result.values` (the
   * pipeline calls this instead of `readings`, `row` and `anomaly` when the analyzer computed
   * them). Without `result.values`, it falls back to those three.
   */
  results(readings: readonly Reading[], result: AnalysisResult): void {
    const values = result.values;
    if (!values) {
      this.readings(readings);
      for (const { row } of result.rows) this.row(row);
      for (const { event } of result.events) this.anomaly(event);
      return;
    }
    // Events are few: by reading index, the channels they flag. (Not a set of joined
    // "index, channel" keys: that built a string per stored value, seen in live profiles.)
    const events = new Map<number, Set<string>>();
    for (const { index, event } of result.events) {
      if (event.channel === null) continue;
      let channels = events.get(index);
      if (!channels) events.set(index, channels = new Set());
      channels.add(event.channel);
    }
    this.#startRings(readings, values.first);
    const threshold = values.zThreshold;
    for (let i = 0; i < readings.length; i++) {
      let e = values.first[i]!;
      if (e === -1) continue;
      const r = readings[i]!;
      const flagged = events.get(i);
      for (const channel in r.channels) {
        const anomaly = values.flags[e]! & FLAG.ZSCORE ? 1 : 0;
        this.#pending.push({
          kind: "result",
          machine: r.machine,
          channel,
          time: r.timestamp,
          value: r.channels[channel]!,
          mean: finiteOrNull(values.mean[e]),
          std: finiteOrNull(values.std[e]),
          zscore: finiteOrNull(values.zscore[e]),
          threshold,
          anomaly,
          ratio: this.#rings.ratio(r.machine, channel, anomaly),
          event: flagged !== undefined && flagged.has(channel) ? 1 : 0,
        });
        e++;
      }
    }
    this.#scheduled();
  }

  /** Buffers every channel value of `readings`. */
  readings(readings: readonly Reading[]): void {
    for (const r of readings) {
      for (const channel in r.channels) {
        const value = r.channels[channel]!;
        this.#pending.push({
          kind: "reading",
          machine: r.machine,
          channel,
          time: r.timestamp,
          value,
        });
      }
    }
    this.#scheduled();
  }

  /** Buffers a processed row's moving average and z-score onto the reading that closed it. */
  row(row: ProcessedRow): void {
    const time = Date.parse(row.timestamp);
    if (Number.isNaN(time)) return;
    for (const channel in row.channels) {
      const s = row.channels[channel]!;
      const value = finiteOrNull(s.current);
      if (value === null) continue;
      this.#pending.push({
        kind: "row",
        machine: row.machine,
        channel,
        time,
        value,
        mean: finiteOrNull(s.moving_avg),
        zscore: finiteOrNull(s.zscore),
      });
    }
    this.#scheduled();
  }

  /**
   * Buffers the anomaly flag of the event's reading. Events about no channel (heartbeat,
   * device status, isolation forest) have no reading to flag and are ignored.
   */
  anomaly(event: AnomalyEvent): void {
    if (event.channel === null) return;
    const time = Date.parse(event.timestamp);
    if (Number.isNaN(time)) return;
    this.#pending.push({
      kind: "anomaly",
      machine: event.machine,
      channel: event.channel,
      time,
      value: finiteOrNull(event.value),
    });
    this.#scheduled();
  }

  /** Entries buffered and not yet written. */
  get pending(): number {
    return this.#pending.length;
  }

  /**
   * Writes everything buffered in one transaction, then deletes what retention no longer
   * keeps. On failure the transaction is rolled back and the buffered entries are dropped (so
   * memory stays bounded), and the error is thrown.
   */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const ops = this.#pending;
    if (ops.length === 0) return;
    this.#pending = [];
    this.#db.exec("BEGIN");
    try {
      // Readings, rows, then anomalies of one batch arrive in that order, so applying them in
      // order always finds the reading a row or event refers to. A run of results (or of
      // plain readings) goes to SQLite in one statement per many rows.
      for (let i = 0; i < ops.length;) {
        const op = ops[i]!;
        switch (op.kind) {
          case "result":
          case "reading":
            i = this.#writeRun(ops, i, op.kind);
            continue;
          case "row":
            this.#upsertRow.run(op.machine, op.channel, op.time, op.value, op.mean, op.zscore);
            break;
          case "anomaly":
            if (op.value === null) this.#flagAnomaly.run(op.machine, op.channel, op.time);
            else this.#upsertAnomaly.run(op.machine, op.channel, op.time, op.value);
            break;
        }
        // An upsert may add a row; flagging an event on a stored reading adds none.
        const added = op.kind === "anomaly" && op.value === null ? 0 : 1;
        this.#retention.wrote(op.machine, op.channel, added);
        i++;
      }
      this.#retention.apply();
      this.#db.exec("COMMIT");
    } catch (e) {
      this.#retention.forget();
      // SQLite has already rolled back by itself after some errors (SQLITE_FULL among them):
      // a ROLLBACK then fails with "no transaction is active" and hides the cause.
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw diskFullOr(e, this.#s.path);
    }
  }

  /**
   * Writes the run of `kind` ops (results or plain readings) that starts at `from`, in
   * multi-row statements; returns the index after it.
   */
  #writeRun(ops: readonly Op[], from: number, kind: "result" | "reading"): number {
    const values: (string | number | null)[] = [];
    let end = from;
    while (end < ops.length && ops[end]!.kind === kind) end++;
    // In key order, so that consecutive rows land in the same B-tree page while it is in
    // SQLite's cache: a flush of the live engine has two or three readings of each of
    // thousands of streams, each stream's in its own part of the table. The sort is stable,
    // so a key seen twice is still written in arrival order (the later one wins).
    for (const op of ops.slice(from, end).sort(byKey)) {
      if (op.kind === "result") {
        values.push(
          op.machine,
          op.channel,
          op.time,
          op.value,
          op.mean,
          op.std,
          op.zscore,
          op.threshold,
          op.anomaly,
          op.ratio,
          op.event,
        );
      } else if (op.kind === "reading") values.push(op.machine, op.channel, op.time, op.value);
      this.#retention.wrote(op.machine, op.channel, 1);
    }
    (kind === "result" ? this.#upsertResults : this.#insertReadings).run(values, end - from);
    return end;
  }

  /**
   * Makes sure every stream of the batch has its ring, before any of the batch is buffered: a
   * new ring starts from the stream's stored flags before its first reading here, so a restart
   * continues the ratio where the file left it. Buffered writes are flushed first so that the
   * file has them.
   */
  #startRings(readings: readonly Reading[], first: Int32Array): void {
    let flushed = false;
    for (let i = 0; i < readings.length; i++) {
      if (first[i] === -1) continue;
      const r = readings[i]!;
      for (const channel in r.channels) {
        if (this.#rings.has(r.machine, channel)) continue;
        if (!flushed && this.#pending.length > 0) {
          this.flushQuietly();
          flushed = true;
        }
        let stored: { anomaly: number }[] = [];
        try {
          stored = this.#recentFlags.all(
            r.machine,
            channel,
            r.timestamp,
            this.#s.anomalyListSize,
          ) as {
            anomaly: number;
          }[];
        } catch (e) {
          // A listener must not stop the pipeline: the ratio starts afresh instead.
          this.#s.logger.error("history: reading stored flags failed", { error: String(e) });
        }
        // Newest first from the query; the ring wants them oldest first.
        this.#rings.start(
          r.machine,
          channel,
          stored.reverse().map((s): 0 | 1 => s.anomaly ? 1 : 0),
        );
      }
    }
  }

  /** After buffering: flush now if the buffer is full, else make sure a flush is due. */
  #scheduled(): void {
    if (this.#pending.length >= this.#s.maxPending) {
      this.flushQuietly();
    } else if (this.#timer === undefined && this.#pending.length > 0) {
      const timer = setTimeout(() => {
        this.#timer = undefined;
        this.flushQuietly();
      }, this.#s.flushEvery);
      // A pending flush must not keep a finished process alive; `close()` writes the rest.
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** A flush nobody awaits (timer, full buffer, before a read): its failure is logged. */
  flushQuietly(): void {
    try {
      this.flush();
    } catch (e) {
      // A full disk is told to whoever stops the engine (one line there, not one per flush).
      if (e instanceof DiskFullError && this.#s.onDiskFull) this.#s.onDiskFull(e);
      else this.#s.logger.error("history flush failed", { error: String(e) });
    }
  }
}
