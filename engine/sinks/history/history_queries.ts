/**
 * What `GET /history` and `GET /analytics` read from the history file: one channel's stored
 * readings with their results, and a summary with its outliers, computed over the stream's
 * decoded chunks (chunk_reader.ts) and answering what the SQL queries over the one-row-per-value
 * table of schema version 2 answered, to the bit. Read-only, apart from the writes
 * (history_writer.ts) so that a query can change without touching how readings are kept;
 * `HistoryStore` (history_store.ts) flushes the buffered writes before each read.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { positiveInteger } from "../../core/validate.ts";
import { ChunkReader } from "./chunk_reader.ts";
import type { StoredRow } from "./chunk_codec.ts";

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
 * One stored reading with its algorithm results (its fields: `StoredRow` in chunk_codec.ts, which
 * decodes them).
 */
export type HistoryEntry = StoredRow;

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

// Bounds of "none", as the SQL queries of schema version 2 bound their ranges.
const MIN_TIME = Number.MIN_SAFE_INTEGER;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

/**
 * SQLite's `avg` of `values` in their order (3.43 and later: a Kahan-Babuska-Neumaier sum, its
 * error term dropped when it overflowed), so that `/analytics` answers what SQL answered.
 */
export function sqliteAvg(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let sum = 0, err = 0;
  for (const r of values) {
    const t = sum + r;
    err += Math.abs(sum) > Math.abs(r) ? (sum - t) + r : (r - t) + sum;
    sum = t;
  }
  const avg = (Number.isFinite(err) ? sum + err : sum) / values.length;
  // SQLite answers a NaN (+Infinity and -Infinity summed) as null.
  return Number.isNaN(avg) ? null : avg;
}

/**
 * The read side of the history file. Used through `HistoryStore` (history_store.ts), which
 * flushes buffered writes first.
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
  readonly #reader: ChunkReader;

  /** Reads `db`, which has the current schema (see schema.ts). */
  constructor(db: DatabaseSync) {
    this.#reader = new ChunkReader(db);
  }

  /** Whether any reading of `machine` is stored. */
  hasMachine(machine: string): boolean {
    return this.#reader.hasMachine(machine);
  }

  /** Stored readings of one channel, oldest first. @throws {RangeError} for a bad `last`. */
  history(query: HistoryQuery): HistoryEntry[] {
    const last = query.last === undefined ? undefined : positiveInteger("last", query.last);
    const s = this.#reader.stream(query.machine, query.channel);
    if (s === undefined) return [];
    const range = { lo: query.from ?? MIN_TIME, hi: query.to ?? MAX_TIME };
    return last === undefined ? this.#reader.range(s, range) : this.#reader.newest(s, range, last);
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
    const s = this.#reader.stream(query.machine, query.channel);
    const { time, value } = s === undefined
      ? { time: [], value: [] }
      : this.#reader.values(s, { lo: query.from ?? MIN_TIME, hi: query.to ?? MAX_TIME });
    // In time order, as SQLite summed them (by the primary key's index).
    const average = sqliteAvg(value);
    let minimum: number | null = null, maximum: number | null = null;
    for (const v of value) {
      if (minimum === null || v < minimum) minimum = v;
      if (maximum === null || v > maximum) maximum = v;
    }
    const n = time.length;
    const result: Analytics = {
      count: n,
      average,
      minimum,
      maximum,
      first: n > 0 ? time[0]! : null,
      last: n > 0 ? time[n - 1]! : null,
      outliers: [],
      outliers_total: 0,
    };
    if (n === 0 || average === null || average === 0) return result;
    const allowed = Math.abs(average) * pct / 100;
    for (let i = 0; i < n; i++) {
      const v = value[i]!;
      if (!(Math.abs(v - average) > allowed)) continue;
      result.outliers_total++;
      if (result.outliers.length < MAX_OUTLIERS) {
        result.outliers.push({
          time: time[i]!,
          value: v,
          deviation_pct: (v - average) / Math.abs(average) * 100,
        });
      }
    }
    return result;
  }
}
