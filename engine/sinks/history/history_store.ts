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
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { AnalysisResult } from "../../core/analysis.ts";
import { FLAG } from "../../core/analysis.ts";
import { type Logger, nullLogger } from "../../core/logger.ts";
import type { Sink } from "../sink.ts";
import type { AnomalyEvent, ProcessedRow, Reading } from "../../core/types.ts";
import { positiveInteger } from "../../core/validate.ts";

/**
 * Readings over which `anomaly_ratio` is taken, per machine and channel (the newest, this one
 * included): a ring of flags per stream, so memory is this many bytes per stream.
 */
export const ANOMALY_LIST_SIZE = 100;

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
  /** Readings in each stream's anomaly ratio. @default {ANOMALY_LIST_SIZE} (100) */
  anomalyListSize?: number;
  /**
   * Streams (machine, channel) whose anomaly-ratio ring is kept in memory; beyond it the
   * least recently started ring is dropped and rebuilt from the file when its stream comes
   * back. @default {4096} (the kernel's stream capacity)
   */
  maxStreams?: number;
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

/**
 * One stored reading with its algorithm results. The results are `null` where they were not
 * computed: readings stored by an older version (and, for `mean` and `zscore`, not closing a
 * processed row), or fed without per-reading results.
 */
export interface HistoryEntry {
  /** Event time, epoch ms. */
  time: number;
  value: number;
  /** Moving average over the last `--window` readings, this one included. */
  mean: number | null;
  /** Population standard deviation over the same window. */
  std: number | null;
  /** Z-score against the stream's model before this reading entered it. */
  zscore: number | null;
  /** The z threshold in force when this reading was analysed. */
  threshold: number | null;
  /** Whether this reading is a z-score anomaly: |z| > threshold with a full model. */
  anomaly: boolean;
  /** Share of anomalies among the stream's last `anomalyListSize` readings, this one included. */
  anomaly_ratio: number | null;
  /** Whether an anomaly event about this channel was raised on this reading. */
  event: boolean;
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

// Bounds that stand for "none": SQLite compares integers exactly, unlike ±Infinity bindings.
const MIN_TIME = Number.MIN_SAFE_INTEGER;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

const finiteOrNull = (x: number | null | undefined): number | null =>
  typeof x === "number" && Number.isFinite(x) ? x : null;

/** Appends `flag` to `ring`, overwriting the oldest once it is full. */
function pushFlag(ring: FlagRing, flag: 0 | 1): void {
  if (ring.count === ring.flags.length) ring.set -= ring.flags[ring.at]!;
  else ring.count++;
  ring.flags[ring.at] = flag;
  ring.set += flag;
  ring.at = ring.at + 1 === ring.flags.length ? 0 : ring.at + 1;
}

/** One stream's last flags, for its anomaly ratio. */
interface FlagRing {
  flags: Uint8Array;
  /** Next slot to write. */
  at: number;
  /** Flags held (up to `flags.length`). */
  count: number;
  /** Of which set. */
  set: number;
}

/** Columns added since the first schema, with their SQL type (see `#migrate`). */
const ADDED_COLUMNS = [
  ["std", "REAL"],
  ["threshold", "REAL"],
  ["anomaly_ratio", "REAL"],
  ["event", "INTEGER NOT NULL DEFAULT 0"],
] as const;

/** `PRAGMA user_version` of the current schema (the first one had 0). */
const SCHEMA_VERSION = 2;

/**
 * Reading history over one SQLite file. Register it as a pipeline listener; call
 * {@linkcode HistoryStore.close} on shutdown so the last buffered readings are written.
 */
export class HistoryStore implements Sink {
  readonly #db: DatabaseSync;
  readonly #retention: number;
  readonly #flushEvery: number;
  readonly #maxPending: number;
  readonly #logger: Logger;
  readonly #listSize: number;
  readonly #maxStreams: number;
  /** Anomaly-ratio rings by `machine\0channel`, oldest started first (for eviction). */
  readonly #rings = new Map<string, FlagRing>();
  #pending: Op[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #upsertResult: StatementSync;
  readonly #recentFlags: StatementSync;
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
   * A file written by an older version is migrated in place (see `#migrate`).
   * @throws {RangeError} for a `retention`, `flushEvery`, `maxPending`, `anomalyListSize` or
   * `maxStreams` that is not a positive integer; SQLite's error when the file cannot be opened.
   */
  constructor(options: HistoryStoreOptions) {
    this.#retention = positiveInteger("retention", options.retention ?? 100_000);
    this.#flushEvery = positiveInteger("flushEvery", options.flushEvery ?? 500);
    this.#maxPending = positiveInteger("maxPending", options.maxPending ?? 10_000);
    this.#logger = options.logger ?? nullLogger;
    this.#listSize = positiveInteger(
      "anomalyListSize",
      options.anomalyListSize ?? ANOMALY_LIST_SIZE,
    );
    this.#maxStreams = positiveInteger("maxStreams", options.maxStreams ?? 4096);
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
        std REAL,
        threshold REAL,
        anomaly_ratio REAL,
        event INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (machine, channel, time)
      ) WITHOUT ROWID;
    `);
    this.#migrate();
    const db = this.#db;
    // Everything known about a reading; seen again (a restart re-processing a batch), it is
    // replaced, except that an event flag stays set.
    this.#upsertResult = db.prepare(
      `INSERT INTO readings (machine, channel, time, value, mean, std, zscore, threshold, anomaly,
                             anomaly_ratio, event)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
      `INSERT INTO readings (machine, channel, time, value, event) VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (machine, channel, time) DO UPDATE SET event = 1`,
    );
    this.#flagAnomaly = db.prepare(
      `UPDATE readings SET event = 1 WHERE machine = ? AND channel = ? AND time = ?`,
    );
    this.#retentionCutoff = db.prepare(
      `SELECT time FROM readings WHERE machine = ? AND channel = ?
       ORDER BY time DESC LIMIT 1 OFFSET ?`,
    );
    this.#deleteBefore = db.prepare(
      `DELETE FROM readings WHERE machine = ? AND channel = ? AND time <= ?`,
    );
    this.#selectHistory = db.prepare(
      `SELECT time, value, mean, std, zscore, threshold, anomaly, anomaly_ratio, event
       FROM readings
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

  /**
   * Buffers every channel value of `readings` with its results from `result.values` (the
   * pipeline calls this instead of `readings`, `row` and `anomaly` when the analyzer computed
   * them). Without `result.values`, it falls back to those three.
   */
  results(readings: readonly Reading[], result: AnalysisResult): void {
    if (this.#closed) return;
    const values = result.values;
    if (!values) {
      this.readings(readings);
      for (const { row } of result.rows) this.row(row);
      for (const { event } of result.events) this.anomaly(event);
      return;
    }
    // Events are few: a set of "reading index, channel" finds the readings they flag.
    const events = new Set<string>();
    for (const { index, event } of result.events) {
      if (event.channel !== null) events.add(`${index}\u0000${event.channel}`);
    }
    this.#startRings(readings, values.first);
    const threshold = values.zThreshold;
    for (let i = 0; i < readings.length; i++) {
      let e = values.first[i]!;
      if (e === -1) continue;
      const r = readings[i]!;
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
          ratio: this.#ratio(r.machine, channel, anomaly),
          event: events.size > 0 && events.has(`${i}\u0000${channel}`) ? 1 : 0,
        });
        e++;
      }
    }
    this.#scheduled();
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
          case "result":
            this.#upsertResult.run(
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
            break;
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
      std: number | null;
      zscore: number | null;
      threshold: number | null;
      anomaly: number;
      anomaly_ratio: number | null;
      event: number;
    }[];
    // Selected newest first so LIMIT keeps the most recent; answered oldest first.
    return rows.reverse().map((r) => ({
      time: r.time,
      value: r.value,
      mean: r.mean,
      std: r.std,
      zscore: r.zscore,
      threshold: r.threshold,
      anomaly: r.anomaly === 1,
      anomaly_ratio: r.anomaly_ratio,
      event: r.event === 1,
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

  /**
   * Brings a file of an older schema up to date, in one transaction: the first schema (no
   * `user_version`) had no `std`, `threshold`, `anomaly_ratio` and `event`, and its `anomaly`
   * meant "an event was raised here", which is now `event`; the z-score flag of those readings
   * is unknown, so their `anomaly` becomes 0 (their `threshold` stays null, which says so).
   */
  #migrate(): void {
    const db = this.#db;
    const have = new Set(
      (db.prepare("PRAGMA table_info(readings)").all() as { name: string }[]).map((c) => c.name),
    );
    const missing = ADDED_COLUMNS.filter(([name]) => !have.has(name));
    const version = (db.prepare("PRAGMA user_version").get() as { user_version: number })
      .user_version;
    if (missing.length === 0 && version === SCHEMA_VERSION) return;
    db.exec("BEGIN");
    try {
      for (const [name, type] of missing) {
        db.exec(`ALTER TABLE readings ADD COLUMN ${name} ${type}`);
      }
      if (!have.has("event")) db.exec("UPDATE readings SET event = anomaly, anomaly = 0");
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
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
        const key = `${r.machine}\u0000${channel}`;
        if (this.#rings.has(key)) continue;
        if (!flushed && this.#pending.length > 0) {
          this.#flushQuietly();
          flushed = true;
        }
        const ring = this.#newRing(key);
        let stored: { anomaly: number }[] = [];
        try {
          stored = this.#recentFlags.all(r.machine, channel, r.timestamp, this.#listSize) as {
            anomaly: number;
          }[];
        } catch (e) {
          // A listener must not stop the pipeline: the ratio starts afresh instead.
          this.#logger.error("history: reading stored flags failed", { error: String(e) });
        }
        // Newest first from the query; the ring wants them oldest first.
        for (let k = stored.length - 1; k >= 0; k--) pushFlag(ring, stored[k]!.anomaly ? 1 : 0);
      }
    }
  }

  /** An empty ring for `key`, dropping the oldest started ones beyond `maxStreams`. */
  #newRing(key: string): FlagRing {
    while (this.#rings.size >= this.#maxStreams) {
      this.#rings.delete(this.#rings.keys().next().value!);
    }
    const ring: FlagRing = { flags: new Uint8Array(this.#listSize), at: 0, count: 0, set: 0 };
    this.#rings.set(key, ring);
    return ring;
  }

  /** Adds `flag` to the stream's ring; returns the share of set flags in it. */
  #ratio(machine: string, channel: string, flag: 0 | 1): number {
    const key = `${machine}\u0000${channel}`;
    let ring = this.#rings.get(key);
    if (!ring) {
      // Only when one batch holds more streams than `maxStreams`: its ring was dropped for a
      // later stream of the same batch, and starts again empty.
      ring = this.#newRing(key);
    }
    pushFlag(ring, flag);
    return ring.set / ring.count;
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
