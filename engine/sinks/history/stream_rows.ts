/**
 * What a stream's stored entries mean: applied in write order (chunks by `seq`, then entry
 * order), they give one row per time exactly as the one-row-per-value table of schema version 2
 * held it after the same upserts. Apart from the reads because the writer's retention and the
 * rewrite of a stream apply entries too; this is the one place that knows each kind's upsert.
 * @module
 */
import type { EntryColumns, StoredRow } from "./chunk_codec.ts";
import { KIND } from "./pending.ts";

const nullable = (x: number): number | null => Number.isNaN(x) ? null : x;

/**
 * Whether entry `i` makes a row at its time when there is none: every kind but an anomaly
 * flag without a value (which only flags a stored reading).
 */
export function creates(c: EntryColumns, i: number): boolean {
  return c.kind[i] !== KIND.anomaly || !Number.isNaN(c.value[i]!);
}

/**
 * One stream's rows by time, built by applying entries in write order.
 *
 * @example
 * ```ts
 * import { KIND, PendingWrites } from "./pending.ts";
 * const p = new PendingWrites();
 * p.push(KIND.reading, "m1", "t", 5, 1);
 * p.push(KIND.anomaly, "m1", "t", 5, NaN);
 * const rows = new StreamRows();
 * for (let i = 0; i < p.length; i++) rows.apply(p, i);
 * rows.sorted(); // [{ time: 5, value: 1, …, event: true }]
 * ```
 */
export class StreamRows {
  readonly #rows = new Map<number, StoredRow>();

  /** Rows held. */
  get size(): number {
    return this.#rows.size;
  }

  /**
   * Applies entry `i` of `c` as its kind's upsert did (history_writer.ts of schema version 2):
   * - result: inserts every column; over a stored row, replaces all but `event`, which stays
   *   set once set;
   * - reading: inserts the value (results null, flags clear); over a stored row, replaces the
   *   value only;
   * - row: inserts value, mean and z-score; over a stored row, replaces mean and z-score only;
   * - anomaly: with a value, inserts it flagged; over a stored row (or without a value), sets
   *   `event` only, and without a value and a row does nothing.
   */
  apply(c: EntryColumns, i: number): void {
    const time = c.time[i]!;
    const row = this.#rows.get(time);
    switch (c.kind[i]) {
      case KIND.result:
        if (row === undefined) {
          this.#insert(time, c.value[i]!, c.mean[i]!, c.std[i]!, c.zscore[i]!, c.threshold[i]!);
          const r = this.#rows.get(time)!;
          r.anomaly = c.anomaly[i] === 1;
          r.anomaly_ratio = nullable(c.ratio[i]!);
          r.event = c.event[i] === 1;
        } else {
          row.value = c.value[i]!;
          row.mean = nullable(c.mean[i]!);
          row.std = nullable(c.std[i]!);
          row.zscore = nullable(c.zscore[i]!);
          row.threshold = nullable(c.threshold[i]!);
          row.anomaly = c.anomaly[i] === 1;
          row.anomaly_ratio = nullable(c.ratio[i]!);
          if (c.event[i] === 1) row.event = true;
        }
        return;
      case KIND.reading:
        if (row === undefined) this.#insert(time, c.value[i]!, NaN, NaN, NaN, NaN);
        else row.value = c.value[i]!;
        return;
      case KIND.row:
        if (row === undefined) this.#insert(time, c.value[i]!, c.mean[i]!, NaN, c.zscore[i]!, NaN);
        else {
          row.mean = nullable(c.mean[i]!);
          row.zscore = nullable(c.zscore[i]!);
        }
        return;
      default: // KIND.anomaly
        if (row !== undefined) row.event = true;
        else if (!Number.isNaN(c.value[i]!)) {
          this.#insert(time, c.value[i]!, NaN, NaN, NaN, NaN);
          this.#rows.get(time)!.event = true;
        }
    }
  }

  /** The rows, oldest first; `above` keeps only those later than it. */
  sorted(above = -Infinity): StoredRow[] {
    const out: StoredRow[] = [];
    for (const row of this.#rows.values()) if (row.time > above) out.push(row);
    return out.sort((a, b) => a.time - b.time);
  }

  #insert(time: number, value: number, mean: number, std: number, z: number, threshold: number) {
    // The key order of the version-2 answer (its SELECT's columns), which the API serialises.
    this.#rows.set(time, {
      time,
      value,
      mean: nullable(mean),
      std: nullable(std),
      zscore: nullable(z),
      threshold: nullable(threshold),
      anomaly: false,
      anomaly_ratio: null,
      event: false,
    });
  }
}
