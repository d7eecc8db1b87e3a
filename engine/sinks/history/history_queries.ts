/**
 * What `GET /history` and `GET /analytics` read from the history file: one channel's stored
 * readings with their results, and a summary with its outliers. Read-only, apart from the
 * writes (history_writer.ts) so that a query can change without touching how readings are kept;
 * `HistoryStore` (history_store.ts) flushes the buffered writes before each read.
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { positiveInteger } from "../../core/validate.ts";

/** What `HistoryStore.history` selects. */
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

/** What `HistoryStore.analytics` summarises. */
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

/** Most outliers `HistoryStore.analytics` lists; `outliers_total` counts them all. */
export const MAX_OUTLIERS = 1000;

/** A `readings` row as {@linkcode HistoryQueries.history} selects it: flags are 0 or 1. */
type StoredRow = Omit<HistoryEntry, "anomaly" | "event"> & { anomaly: number; event: number };

// Bounds that stand for "none": SQLite compares integers exactly, unlike ±Infinity bindings.
const MIN_TIME = Number.MIN_SAFE_INTEGER;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

/**
 * The read side of the history file, its statements prepared once. Used through
 * `HistoryStore` (history_store.ts), which flushes buffered writes first.
 *
 * @example
 * ```ts
 * import { openHistoryDb } from "./schema.ts";
 *
 * const queries = new HistoryQueries(openHistoryDb(":memory:"));
 * queries.history({ machine: "m1", channel: "temperature", last: 10 }); // []
 * queries.analytics({ machine: "m1", channel: "temperature" }).count; // 0
 * ```
 */
export class HistoryQueries {
  readonly #selectHistory: StatementSync;
  readonly #selectSummary: StatementSync;
  readonly #countOutliers: StatementSync;
  readonly #selectOutliers: StatementSync;
  readonly #selectMachine: StatementSync;

  /** Prepares the queries on `db`, which has the current schema (see schema.ts). */
  constructor(db: DatabaseSync) {
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
    // The primary key starts with `machine`: one index probe.
    this.#selectMachine = db.prepare(`SELECT 1 FROM readings WHERE machine = ? LIMIT 1`);
  }

  /** Whether any reading of `machine` is stored. */
  hasMachine(machine: string): boolean {
    return this.#selectMachine.get(machine) !== undefined;
  }

  /** Stored readings of one channel, oldest first. @throws {RangeError} for a bad `last`. */
  history(query: HistoryQuery): HistoryEntry[] {
    const limit = query.last === undefined ? -1 : positiveInteger("last", query.last);
    const rows = this.#selectHistory.all(
      query.machine,
      query.channel,
      query.from ?? MIN_TIME,
      query.to ?? MAX_TIME,
      limit,
    ) as StoredRow[];
    // Selected newest first so LIMIT keeps the most recent; answered oldest first.
    return rows.reverse().map((r) => ({ ...r, anomaly: r.anomaly === 1, event: r.event === 1 }));
  }

  /**
   * Count, average, minimum and maximum of one channel over a range, and the readings more
   * than `deviationPct` % from the average.
   * @throws {RangeError} for a negative or non-finite `deviationPct`.
   */
  analytics(query: AnalyticsQuery): Analytics {
    const pct = query.deviationPct ?? 20;
    if (!Number.isFinite(pct) || pct < 0) {
      throw new RangeError(`deviationPct must be a finite number >= 0, got ${pct}`);
    }
    const range = [query.machine, query.channel, query.from ?? MIN_TIME, query.to ?? MAX_TIME];
    const s = this.#selectSummary.get(...range) as Omit<Analytics, "outliers" | "outliers_total">;
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
}
