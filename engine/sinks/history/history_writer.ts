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
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type { AnalysisResult } from "../../core/analysis.ts";
import { FLAG } from "../../core/analysis.ts";
import type { Logger } from "../../core/logger.ts";
import { DiskFullError, diskFullOr } from "../../core/disk_full.ts";
import type { AnomalyEvent, ProcessedRow, Reading } from "../../core/types.ts";
import { FlagRings } from "./flag_ring.ts";
import { ChunkedInsert } from "./chunked_insert.ts";
import { KIND, PendingWrites } from "./pending.ts";
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

/** The columns of a reading written with all its results, in the order `#writeRun` gives them. */
export const RESULT_COLUMNS = [
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

/** A nullable result as the buffer holds it: NaN for null (see `PendingWrites`). */
const finiteOrNaN = (x: number | null | undefined): number =>
  typeof x === "number" && Number.isFinite(x) ? x : NaN;

/**
 * The indices `from` to `end` of `p` in key order (machine, channel, time), entries of one key in
 * arrival order: the order one stable sort by the three gives. Grouped by stream first, then the
 * streams' keys sorted and each stream's entries sorted by time only when they did not come in
 * time order (a live stream's do): sorting every entry with two string compares per step took
 * about a third of the history's JavaScript in a live engine (BENCHMARKS.md, "The live MQTT
 * path's JavaScript and garbage").
 */
function keyOrder(p: PendingWrites, from: number, end: number): number[] {
  const { machine: m, channel: c, time: t } = p;
  const streams = new Map<string, Map<string, number[]>>();
  for (let i = from; i < end; i++) {
    let channels = streams.get(m[i]!);
    if (channels === undefined) streams.set(m[i]!, channels = new Map());
    const at = channels.get(c[i]!);
    if (at === undefined) channels.set(c[i]!, [i]);
    else at.push(i);
  }
  const order: number[] = [];
  // The default sort compares UTF-16 code units, as `<` on strings does.
  for (const machine of [...streams.keys()].sort()) {
    const channels = streams.get(machine)!;
    for (const channel of [...channels.keys()].sort()) {
      const at = channels.get(channel)!;
      let sorted = true;
      for (let k = 1; k < at.length && sorted; k++) sorted = t[at[k - 1]!]! <= t[at[k]!]!;
      if (!sorted) at.sort((a, b) => t[a]! - t[b]!); // stable: equal times keep arrival order
      for (let k = 0; k < at.length; k++) order.push(at[k]!);
    }
  }
  return order;
}

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
 *   retention: 100_000, flushEvery: 500, maxPending: 50_000, anomalyListSize: 100,
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
  readonly #pending: PendingWrites;
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
    this.#pending = new PendingWrites(settings.maxPending);
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
   * them, and only then: `Sink.results`). A result without them is refused (a `TypeError`,
   * nothing buffered): the pipeline feeds those batches through the other three.
   */
  results(readings: readonly Reading[], result: AnalysisResult): void {
    const values = result.values;
    if (!values) {
      throw new TypeError(
        `history results: the analysis of ${readings.length} readings has no per-reading ` +
          "values (an Analyzer without readingValues); feed it through readings, row and anomaly",
      );
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
    const p = this.#pending;
    for (let i = 0; i < readings.length; i++) {
      let e = values.first[i]!;
      if (e === -1) continue;
      const r = readings[i]!;
      const flagged = events.get(i);
      for (const channel in r.channels) {
        const anomaly = values.flags[e]! & FLAG.ZSCORE ? 1 : 0;
        const j = p.push(KIND.result, r.machine, channel, r.timestamp, r.channels[channel]!);
        p.mean[j] = finiteOrNaN(values.mean[e]);
        p.std[j] = finiteOrNaN(values.std[e]);
        p.zscore[j] = finiteOrNaN(values.zscore[e]);
        p.threshold[j] = threshold;
        p.anomaly[j] = anomaly;
        p.ratio[j] = this.#rings.ratio(r.machine, channel, anomaly);
        p.event[j] = flagged !== undefined && flagged.has(channel) ? 1 : 0;
        e++;
      }
    }
    this.#scheduled();
  }

  /** Buffers every channel value of `readings`. */
  readings(readings: readonly Reading[]): void {
    for (const r of readings) {
      for (const channel in r.channels) {
        this.#pending.push(KIND.reading, r.machine, channel, r.timestamp, r.channels[channel]!);
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
      const j = this.#pending.push(KIND.row, row.machine, channel, time, value);
      this.#pending.mean[j] = finiteOrNaN(s.moving_avg);
      this.#pending.zscore[j] = finiteOrNaN(s.zscore);
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
    this.#pending.push(KIND.anomaly, event.machine, event.channel, time, finiteOrNaN(event.value));
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
    const p = this.#pending;
    const n = p.length;
    if (n === 0) return;
    try {
      this.#db.exec("BEGIN");
      // Readings, rows, then anomalies of one batch arrive in that order, so applying them in
      // order always finds the reading a row or event refers to. A run of results (or of
      // plain readings) goes to SQLite in one statement per many rows.
      for (let i = 0; i < n;) {
        const kind = p.kind[i]!;
        if (kind === KIND.result || kind === KIND.reading) {
          i = this.#writeRun(i, kind);
          continue;
        }
        const machine = p.machine[i]!, channel = p.channel[i]!, time = p.time[i]!;
        const value = PendingWrites.nullable(p.value[i]!);
        if (kind === KIND.row) {
          this.#upsertRow.run(
            machine,
            channel,
            time,
            value,
            PendingWrites.nullable(p.mean[i]!),
            PendingWrites.nullable(p.zscore[i]!),
          );
        } else if (value === null) this.#flagAnomaly.run(machine, channel, time);
        else this.#upsertAnomaly.run(machine, channel, time, value);
        // An upsert may add a row; flagging an event on a stored reading adds none.
        this.#retention.wrote(
          machine,
          channel,
          kind === KIND.anomaly && value === null ? 0 : 1,
          time,
        );
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
    } finally {
      // Written or rolled back: either way the entries go (memory stays bounded).
      p.clear();
    }
  }

  /**
   * Writes the run of `kind` entries (results or plain readings) that starts at `from`, in
   * multi-row statements; returns the index after it.
   */
  #writeRun(from: number, kind: typeof KIND.result | typeof KIND.reading): number {
    const p = this.#pending;
    let end = from;
    while (end < p.length && p.kind[end] === kind) end++;
    // In key order, so that consecutive rows land in the same B-tree page while it is in
    // SQLite's cache: a flush of the live engine has a few readings of each of thousands of
    // streams, each stream's in its own part of the table. A key seen twice is still written
    // in arrival order (the later one wins).
    const order = keyOrder(p, from, end);
    const { machine: m, channel: c, time: t } = p;
    // A reading's key and value lead both row shapes (see RESULT_COLUMNS).
    const reading = (params: SQLInputValue[], at: number, i: number) => {
      params[at] = m[i]!;
      params[at + 1] = c[i]!;
      params[at + 2] = t[i]!;
      params[at + 3] = p.value[i]!;
    };
    if (kind === KIND.reading) {
      this.#insertReadings.run(order.length, (params, at, row) => reading(params, at, order[row]!));
    } else {
      this.#upsertResults.run(order.length, (params, at, row) => {
        const i = order[row]!;
        reading(params, at, i);
        params[at + 4] = PendingWrites.nullable(p.mean[i]!);
        params[at + 5] = PendingWrites.nullable(p.std[i]!);
        params[at + 6] = PendingWrites.nullable(p.zscore[i]!);
        params[at + 7] = p.threshold[i]!;
        params[at + 8] = p.anomaly[i]!;
        params[at + 9] = p.ratio[i]!;
        params[at + 10] = p.event[i]!;
      });
    }
    // Each stream's rows are together now, oldest first: one note for retention per stream,
    // with its time range and whether its times are distinct (see retention.ts).
    for (let k = 1, s = 0, distinct = true; k <= order.length; k++) {
      const a = order[s]!, b = order[k], prev = order[k - 1]!;
      if (k === order.length || m[b!] !== m[a] || c[b!] !== c[a]) {
        this.#retention.wrote(m[a]!, c[a]!, k - s, t[a]!, t[prev]!, distinct);
        s = k;
        distinct = true;
      } else if (t[b!] === t[prev]) distinct = false;
    }
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
