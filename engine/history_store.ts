/**
 * Reading history in a SQLite file (`node:sqlite`): every channel value the pipeline wrote, with
 * the moving average and z-score of the processed row it closed (if any) and whether an anomaly
 * event was raised on it. Serves `GET /history` and `GET /analytics`.
 *
 * Writes are buffered and committed in one transaction per flush, because one transaction per
 * reading would cost a disk sync each; reads flush first, so the API never lags the pipeline.
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { type Logger, nullLogger } from "./logger.ts";
import type { PipelineListener } from "./pipeline.ts";
import type { AnomalyEvent, ProcessedRow, Reading } from "./types.ts";

/** Options of {@linkcode HistoryStore}. */
export interface HistoryStoreOptions {
  /** The SQLite file, created if missing; `:memory:` for a throw-away store. */
  path: string;
  /**
   * Readings kept per machine and channel (per machine, for readings that all carry the same
   * channels); the oldest beyond it are deleted at each flush. @default {100000}
   */
  retention?: number;
  /** Longest time a buffered reading waits before it is written, ms. @default {500} */
  flushEvery?: number;
  /**
   * Buffered entries (one per channel value, row channel or anomaly event) that force a flush
   * at once, so the buffer stays bounded whatever the input rate. @default {10000}
   */
  maxPending?: number;
  /** Where failed background flushes are reported. @default {nullLogger} */
  logger?: Logger;
}

/** What {@linkcode HistoryStore.history} selects. */
export interface HistoryQuery {
  machine: string;
  channel: string;
  /** Only the most recent `last` readings (of those in range). @default {all} */
  last?: number;
  /** Earliest time, epoch ms, inclusive. @default {no bound} */
  from?: number;
  /** Latest time, epoch ms, inclusive. @default {no bound} */
  to?: number;
}

/** One stored reading with its algorithm results. */
export interface HistoryEntry {
  /** Event time, epoch ms. */
  time: number;
  value: number;
  /** Moving average of the processed row closed at this reading, else `null`. */
  mean: number | null;
  /** Z-score of the processed row closed at this reading, else `null`. */
  zscore: number | null;
  /** Whether an anomaly event was raised on this machine, channel and time. */
  anomaly: boolean;
}

/** What {@linkcode HistoryStore.analytics} summarises. */
export interface AnalyticsQuery {
  machine: string;
  channel: string;
  /** Earliest time, epoch ms, inclusive. @default {no bound} */
  from?: number;
  /** Latest time, epoch ms, inclusive. @default {no bound} */
  to?: number;
  /** A reading is an outlier when more than this many % from the average. @default {20} */
  deviationPct?: number;
}

/** A reading far from the average. */
export interface Outlier {
  /** Event time, epoch ms. */
  time: number;
  value: number;
  /** `(value - average) / |average| * 100`: negative below the average. */
  deviation_pct: number;
}

/** Summary of one channel's readings over a time range. */
export interface Analytics {
  count: number;
  /** `null` when `count` is 0, like `minimum`, `maximum`, `first` and `last`. */
  average: number | null;
  minimum: number | null;
  maximum: number | null;
  /** Time of the oldest reading in range, epoch ms. */
  first: number | null;
  /** Time of the newest reading in range, epoch ms. */
  last: number | null;
  /**
   * The first {@linkcode MAX_OUTLIERS} outliers, oldest first. Always empty when the average is
   * 0, where a relative deviation does not exist.
   */
  outliers: Outlier[];
  /** How many outliers there are in all. */
  outliers_total: number;
}

/** Most outliers {@linkcode HistoryStore.analytics} lists; `outliers_total` counts them all. */
export const MAX_OUTLIERS = 1000;

/** A buffered write: a reading's value, a row's results, or an anomaly flag. */
type Op =
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

// Bounds that stand for "none": SQLite compares integers exactly, unlike ±Infinity bindings.
const MIN_TIME = Number.MIN_SAFE_INTEGER;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

const finiteOrNull = (x: number | null | undefined): number | null =>
  typeof x === "number" && Number.isFinite(x) ? x : null;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * Reading history over one SQLite file. Register it as a pipeline listener; call
 * {@linkcode HistoryStore.close} on shutdown so the last buffered readings are written.
 */
export class HistoryStore implements PipelineListener {
  readonly #db: DatabaseSync;
  readonly #retention: number;
  readonly #flushEvery: number;
  readonly #maxPending: number;
  readonly #logger: Logger;
  #pending: Op[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #insertReading: StatementSync;
  readonly #upsertRow: StatementSync;
  readonly #upsertAnomaly: StatementSync;
  readonly #flagAnomaly: StatementSync;
  readonly #retentionCutoff: StatementSync;
  readonly #deleteBefore: StatementSync;
  readonly #selectHistory: StatementSync;
  readonly #selectSummary: StatementSync;
  readonly #countOutliers: StatementSync;
  readonly #selectOutliers: StatementSync;

  /**
   * Opens (or creates) the store.
   * @throws {RangeError} for a `retention`, `flushEvery` or `maxPending` that is not a positive
   * integer; SQLite's error when the file cannot be opened.
   */
  constructor(options: HistoryStoreOptions) {
    this.#retention = positiveInteger("retention", options.retention ?? 100_000);
    this.#flushEvery = positiveInteger("flushEvery", options.flushEvery ?? 500);
    this.#maxPending = positiveInteger("maxPending", options.maxPending ?? 10_000);
    this.#logger = options.logger ?? nullLogger;
    this.#db = new DatabaseSync(options.path);
    // The primary key is the (machine, channel, time) index every query and upsert goes
    // through; WITHOUT ROWID stores the table in that index rather than twice.
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS readings (
        machine TEXT NOT NULL,
        channel TEXT NOT NULL,
        time INTEGER NOT NULL,
        value REAL NOT NULL,
        mean REAL,
        zscore REAL,
        anomaly INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (machine, channel, time)
      ) WITHOUT ROWID;
    `);
    const db = this.#db;
    // A reading seen again (a replay, a restart) replaces its value and keeps its results.
    this.#insertReading = db.prepare(
      `INSERT INTO readings (machine, channel, time, value) VALUES (?, ?, ?, ?)
       ON CONFLICT (machine, channel, time) DO UPDATE SET value = excluded.value`,
    );
    // A row carries its reading's value (`current`), so it can stand alone if its reading
    // was never stored (e.g. written before this store existed).
    this.#upsertRow = db.prepare(
      `INSERT INTO readings (machine, channel, time, value, mean, zscore) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (machine, channel, time) DO UPDATE
       SET mean = excluded.mean, zscore = excluded.zscore`,
    );
    this.#upsertAnomaly = db.prepare(
      `INSERT INTO readings (machine, channel, time, value, anomaly) VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (machine, channel, time) DO UPDATE SET anomaly = 1`,
    );
    this.#flagAnomaly = db.prepare(
      `UPDATE readings SET anomaly = 1 WHERE machine = ? AND channel = ? AND time = ?`,
    );
    this.#retentionCutoff = db.prepare(
      `SELECT time FROM readings WHERE machine = ? AND channel = ?
       ORDER BY time DESC LIMIT 1 OFFSET ?`,
    );
    this.#deleteBefore = db.prepare(
      `DELETE FROM readings WHERE machine = ? AND channel = ? AND time <= ?`,
    );
    this.#selectHistory = db.prepare(
      `SELECT time, value, mean, zscore, anomaly FROM readings
       WHERE machine = ? AND channel = ? AND time >= ? AND time <= ?
       ORDER BY time DESC LIMIT ?`,
    );
    this.#selectSummary = db.prepare(
      `SELECT count(*) AS count, avg(value) AS average, min(value) AS minimum,
              max(value) AS maximum, min(time) AS first, max(time) AS last
       FROM readings WHERE machine = ? AND channel = ? AND time >= ? AND time <= ?`,
    );
    // `?5` is the allowed distance, |average| * pct / 100, computed once by the caller.
    const outlierWhere = `machine = ?1 AND channel = ?2 AND time >= ?3 AND time <= ?4
       AND abs(value - ?6) > ?5`;
    this.#countOutliers = db.prepare(
      `SELECT count(*) AS n FROM readings WHERE ${outlierWhere}`,
    );
    this.#selectOutliers = db.prepare(
      `SELECT time, value FROM readings WHERE ${outlierWhere} ORDER BY time LIMIT ?7`,
    );
  }

  /** Buffers every channel value of `readings`. */
  readings(readings: readonly Reading[]): void {
    if (this.#closed) return;
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
    if (this.#closed) return;
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
    if (this.#closed || event.channel === null) return;
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
    this.#open();
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const ops = this.#pending;
    if (ops.length === 0) return;
    this.#pending = [];
    const touched = new Map<string, [string, string]>();
    this.#db.exec("BEGIN");
    try {
      // Readings, rows, then anomalies of one batch arrive in that order, so applying them in
      // order always finds the reading a row or event refers to.
      for (const op of ops) {
        switch (op.kind) {
          case "reading":
            this.#insertReading.run(op.machine, op.channel, op.time, op.value);
            break;
          case "row":
            this.#upsertRow.run(op.machine, op.channel, op.time, op.value, op.mean, op.zscore);
            break;
          case "anomaly":
            if (op.value === null) this.#flagAnomaly.run(op.machine, op.channel, op.time);
            else this.#upsertAnomaly.run(op.machine, op.channel, op.time, op.value);
            break;
        }
        touched.set(`${op.machine}\u0000${op.channel}`, [op.machine, op.channel]);
      }
      for (const [machine, channel] of touched.values()) {
        const cut = this.#retentionCutoff.get(machine, channel, this.#retention) as
          | { time: number }
          | undefined;
        if (cut) this.#deleteBefore.run(machine, channel, cut.time);
      }
      this.#db.exec("COMMIT");
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Stored readings of one channel, oldest first. */
  history(query: HistoryQuery): HistoryEntry[] {
    this.#flushBeforeRead();
    const limit = query.last === undefined ? -1 : positiveInteger("last", query.last);
    const rows = this.#selectHistory.all(
      query.machine,
      query.channel,
      query.from ?? MIN_TIME,
      query.to ?? MAX_TIME,
      limit,
    ) as {
      time: number;
      value: number;
      mean: number | null;
      zscore: number | null;
      anomaly: number;
    }[];
    // Selected newest first so LIMIT keeps the most recent; answered oldest first.
    return rows.reverse().map((r) => ({
      time: r.time,
      value: r.value,
      mean: r.mean,
      zscore: r.zscore,
      anomaly: r.anomaly === 1,
    }));
  }

  /**
   * Count, average, minimum and maximum of one channel over a range, and the readings more
   * than `deviationPct` % from the average.
   * @throws {RangeError} for a negative or non-finite `deviationPct`.
   */
  analytics(query: AnalyticsQuery): Analytics {
    this.#flushBeforeRead();
    const pct = query.deviationPct ?? 20;
    if (!Number.isFinite(pct) || pct < 0) {
      throw new RangeError(`deviationPct must be a finite number >= 0, got ${pct}`);
    }
    const range = [query.machine, query.channel, query.from ?? MIN_TIME, query.to ?? MAX_TIME];
    const s = this.#selectSummary.get(...range) as {
      count: number;
      average: number | null;
      minimum: number | null;
      maximum: number | null;
      first: number | null;
      last: number | null;
    };
    const result: Analytics = { ...s, outliers: [], outliers_total: 0 };
    const average = s.average;
    if (s.count === 0 || average === null || average === 0) return result;
    const allowed = Math.abs(average) * pct / 100;
    const total = this.#countOutliers.get(...range, allowed, average) as { n: number };
    result.outliers_total = total.n;
    const rows = this.#selectOutliers.all(...range, allowed, average, MAX_OUTLIERS) as {
      time: number;
      value: number;
    }[];
    result.outliers = rows.map((r) => ({
      time: r.time,
      value: r.value,
      deviation_pct: (r.value - average) / Math.abs(average) * 100,
    }));
    return result;
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

  /** After buffering: flush now if the buffer is full, else make sure a flush is due. */
  #scheduled(): void {
    if (this.#pending.length >= this.#maxPending) {
      this.#flushQuietly();
    } else if (this.#timer === undefined && this.#pending.length > 0) {
      const timer = setTimeout(() => {
        this.#timer = undefined;
        this.#flushQuietly();
      }, this.#flushEvery);
      // A pending flush must not keep a finished process alive; `close()` writes the rest.
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** A flush nobody awaits (timer, full buffer, before a read): its failure is logged. */
  #flushQuietly(): void {
    try {
      this.flush();
    } catch (e) {
      this.#logger.error("history flush failed", { error: String(e) });
    }
  }

  #flushBeforeRead(): void {
    this.#open();
    this.#flushQuietly();
  }
}
