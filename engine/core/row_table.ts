/**
 * {@linkcode RowTable}: the processed rows of one analysed batch as columns, each row turned
 * into a {@linkcode ProcessedRow} object only when something asks for it. A replay writes every
 * row to `analysis_output.csv` (straight from these columns) and reads no row object: building
 * one per row (the row, its channels record, a summary per channel, an alerts array) was a fifth
 * of a 1 M replay's allocation (BENCHMARKS.md, "Rows written where they are read"). The live
 * engine's readers (the API's last row per machine, the Influx sink, row listeners, and the
 * history sink when it is given no per-reading values) still get objects, one per row, the same
 * for every reader.
 * @module
 */
import type { ChannelSummary, ProcessedRow, Trend } from "./types.ts";

/** A row's channel trends by their code in {@linkcode RowTable.trend}. */
export const TRENDS: readonly Trend[] = ["stable", "increasing", "decreasing"];

/** Code of each trend in {@linkcode RowTable.trend} (the index in {@linkcode TRENDS}). */
export const TREND_CODE = { stable: 0, increasing: 1, decreasing: 2 } as const;

/** Rows a table has room for before it first grows. */
const FIRST_CAPACITY = 64;

/**
 * Processed rows as columns: per row (`0 … length-1`) the fields of a {@linkcode ProcessedRow}
 * and its reading's index in the batch; per channel entry (`rowFirst[i] … rowFirst[i+1]-1` are
 * row `i`'s, in its channels' order) the channel's name and summary. The columns are read in
 * place by the CSV writer (`writeRowsCsv`); {@linkcode RowTable.row} builds the object. Filled
 * by {@linkcode RowTable.addEntry} and {@linkcode RowTable.addRow}. The analyzer clears and
 * refills a table once the pipeline's writer gave it back (`AnalysisResult.release`): a
 * batch's rows are readable until then, and row objects built from them stay as they are.
 * Memory: about 80 B a row and 33 B a channel (on 64-bit), grown by doubling.
 *
 * @example
 * ```ts
 * import { RowTable } from "./row_table.ts";
 *
 * const t = new RowTable();
 * t.addEntry("temperature", 21.5, 21.25, 1, 0.8);
 * t.addRow(0, "2026-01-01T00:00:00.000Z", "m1", "RUNNING", "RUNNING", 0, 1, null, NaN);
 * t.row(0).channels.temperature; // { current: 21.5, moving_avg: 21.25, trend: "increasing", zscore: 0.8 }
 * ```
 */
export class RowTable {
  /** Rows held. */
  length = 0;
  /** Channel entries held. */
  entries = 0;
  /** Per row: the index in the batch of the reading that closed it. */
  index: Int32Array;
  /** Per row and one more: its first channel entry (the next row's first ends it). */
  rowFirst: Int32Array;
  readonly timestamp: string[];
  readonly machine: string[];
  readonly statusCurrent: (string | null)[];
  readonly statusMode: (string | null)[];
  statusChanges: Float64Array;
  healthScore: Float64Array;
  /** NaN: the row has no `anomaly_score`. */
  anomalyScore: Float64Array;
  /** Null: no alerts (most rows; the object gets an empty array of its own). */
  readonly alerts: (string[] | null)[];
  /** Per entry: the channel's name and its {@linkcode ChannelSummary} fields. */
  readonly channel: string[];
  current: Float64Array;
  movingAvg: Float64Array;
  /** {@linkcode TRENDS} index. */
  trend: Uint8Array;
  zscore: Float64Array;
  /** The objects built so far, by row: every reader of a row gets the same one. */
  readonly #objects: (ProcessedRow | undefined)[] = [];

  /** Room for `rows` rows (at least 64) of `channels` channels each (at least 1) before the
   * columns grow. */
  constructor(rows = FIRST_CAPACITY, channels = 2) {
    const n = Math.max(FIRST_CAPACITY, Math.ceil(rows)), k = Math.ceil(n * Math.max(1, channels));
    // The columns of strings too are made at their full size: grown from empty by appending,
    // they allocated about three times their size in copies, batch after batch (about 170 B
    // a row of a 1 M replay).
    this.timestamp = new Array(n);
    this.machine = new Array(n);
    this.statusCurrent = new Array(n);
    this.statusMode = new Array(n);
    this.alerts = new Array(n);
    this.channel = new Array(k);
    this.index = new Int32Array(n);
    this.rowFirst = new Int32Array(n + 1);
    this.statusChanges = new Float64Array(n);
    this.healthScore = new Float64Array(n);
    this.anomalyScore = new Float64Array(n);
    this.current = new Float64Array(k);
    this.movingAvg = new Float64Array(k);
    this.trend = new Uint8Array(k);
    this.zscore = new Float64Array(k);
  }

  /** Appends a channel entry of the row the next {@linkcode addRow} closes. */
  addEntry(name: string, current: number, movingAvg: number, trend: number, zscore: number): void {
    const e = this.entries;
    if (e === this.current.length) this.#growEntries();
    this.channel[e] = name;
    this.current[e] = current;
    this.movingAvg[e] = movingAvg;
    this.trend[e] = trend;
    this.zscore[e] = zscore;
    this.entries = e + 1;
  }

  /** Appends a row whose channels are the entries added since the previous row. Positional,
   * not an object: it runs once per row of a replay. */
  addRow(
    index: number,
    timestamp: string,
    machine: string,
    statusCurrent: string | null,
    statusMode: string | null,
    statusChanges: number,
    healthScore: number,
    alerts: string[] | null,
    anomalyScore: number,
  ): void {
    const i = this.length;
    if (i === this.index.length) this.#growRows();
    this.index[i] = index;
    this.timestamp[i] = timestamp;
    this.machine[i] = machine;
    this.statusCurrent[i] = statusCurrent;
    this.statusMode[i] = statusMode;
    this.statusChanges[i] = statusChanges;
    this.healthScore[i] = healthScore;
    this.alerts[i] = alerts;
    this.anomalyScore[i] = anomalyScore;
    this.rowFirst[i + 1] = this.entries;
    this.length = i + 1;
  }

  /** Empties the table to be filled again (a scratch table, or an analyzer's table given
   * back by `AnalysisResult.release`). Row objects built before stay as they were. */
  clear(): this {
    this.length = 0;
    this.entries = 0;
    this.#objects.length = 0;
    return this;
  }

  /** Appends `row` as it is (a test's or a bench's row, to write as CSV). An `anomaly_score`
   * of NaN reads as none. */
  addObject(row: ProcessedRow, index = 0): void {
    for (const name in row.channels) {
      const c = row.channels[name]!;
      this.addEntry(name, c.current, c.moving_avg, TREND_CODE[c.trend], c.zscore);
    }
    const score = row.anomaly_score ?? NaN;
    this.addRow(
      index,
      row.timestamp,
      row.machine,
      row.status_current,
      row.status_mode,
      row.status_changes,
      row.health_score,
      row.alerts.length > 0 ? row.alerts : null,
      score,
    );
  }

  /** Row `i` as an object, built on the first ask; later asks get the same object. */
  row(i: number): ProcessedRow {
    let row = this.#objects[i];
    if (row) return row;
    if (!(i >= 0 && i < this.length)) {
      throw new RangeError(`row ${i} of a table of ${this.length} rows`);
    }
    const channels: Record<string, ChannelSummary> = {};
    for (let e = this.rowFirst[i]!; e < this.rowFirst[i + 1]!; e++) {
      channels[this.channel[e]!] = {
        current: this.current[e]!,
        moving_avg: this.movingAvg[e]!,
        trend: TRENDS[this.trend[e]!]!,
        zscore: this.zscore[e]!,
      };
    }
    row = {
      timestamp: this.timestamp[i]!,
      machine: this.machine[i]!,
      channels,
      status_current: this.statusCurrent[i]!,
      status_mode: this.statusMode[i]!,
      status_changes: this.statusChanges[i]!,
      health_score: this.healthScore[i]!,
      alerts: this.alerts[i] ?? [],
    };
    // Added after, not spread into the literal (V8's slow path), and the field still comes last.
    const score = this.anomalyScore[i]!;
    if (!Number.isNaN(score)) row.anomaly_score = score;
    this.#objects[i] = row;
    return row;
  }

  #growRows(): void {
    const n = 2 * this.index.length;
    this.index = grown(this.index, new Int32Array(n));
    this.rowFirst = grown(this.rowFirst, new Int32Array(n + 1));
    this.statusChanges = grown(this.statusChanges, new Float64Array(n));
    this.healthScore = grown(this.healthScore, new Float64Array(n));
    this.anomalyScore = grown(this.anomalyScore, new Float64Array(n));
  }

  #growEntries(): void {
    const k = 2 * this.current.length;
    this.current = grown(this.current, new Float64Array(k));
    this.movingAvg = grown(this.movingAvg, new Float64Array(k));
    this.trend = grown(this.trend, new Uint8Array(k));
    this.zscore = grown(this.zscore, new Float64Array(k));
  }
}

function grown<T extends Int32Array | Float64Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
