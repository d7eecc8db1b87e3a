/**
 * How a processed row is laid out as CSV columns and as the `/data` object, so the two agree.
 * @module
 */
import type { ProcessedRow } from "../core/types.ts";

/** Channels every row has a `_current/_moving_avg/_trend` triple for, first and in this order. */
export const CORE_CHANNELS = ["temperature", "speed"] as const;

/** Options of {@linkcode rowColumns}. */
export interface RowColumnsOptions {
  /** Channels besides temperature and speed, in the order they were first seen. */
  extraChannels?: readonly string[];
  /** Whether an `anomaly_score` column ends the row. @default {false} */
  anomalyScore?: boolean;
}

/**
 * The `analysis_output.csv` header: `timestamp,machine`, the temperature and speed triples,
 * `status_current,status_mode,status_changes,health_score,alerts`, the triples of the other
 * channels, one `<channel>_zscore` per channel, then `anomaly_score` when a model is loaded.
 */
export function rowColumns(options: RowColumnsOptions = {}): string[] {
  const extra = options.extraChannels ?? [];
  const triple = (c: string) => [`${c}_current`, `${c}_moving_avg`, `${c}_trend`];
  return [
    "timestamp",
    "machine",
    ...CORE_CHANNELS.flatMap(triple),
    "status_current",
    "status_mode",
    "status_changes",
    "health_score",
    "alerts",
    ...extra.flatMap(triple),
    ...[...CORE_CHANNELS, ...extra].map((c) => `${c}_zscore`),
    ...(options.anomalyScore ? ["anomaly_score"] : []),
  ];
}

/** A cell value of a flattened row. */
export type RowValue = string | number | null;

/**
 * The row as one flat object keyed by {@linkcode rowColumns}' names (channels the row lacks are
 * `null`; `alerts` joined with `"; "`).
 */
export function flattenRow(
  row: ProcessedRow,
  columns: readonly string[],
): Record<string, RowValue> {
  const getters = gettersOf(columns);
  const out: Record<string, RowValue> = {};
  for (let i = 0; i < columns.length; i++) out[columns[i]!] = getters[i]!(row);
  return out;
}

/** The row's cells in `columns` order (what a CSV line holds). */
export function rowCells(row: ProcessedRow, columns: readonly string[]): RowValue[] {
  return gettersOf(columns).map((get) => get(row));
}

type Getter = (row: ProcessedRow) => RowValue;

// A CSV file keeps one column list for its whole life, so each list is compiled to getters once
// instead of parsing every column name on every row.
const compiled = new WeakMap<readonly string[], Getter[]>();

function gettersOf(columns: readonly string[]): Getter[] {
  let getters = compiled.get(columns);
  if (!getters) {
    getters = columns.map(getter);
    compiled.set(columns, getters);
  }
  return getters;
}

function getter(col: string): Getter {
  switch (col) {
    case "timestamp":
      return (r) => r.timestamp;
    case "machine":
      return (r) => r.machine;
    case "status_current":
      return (r) => r.status_current;
    case "status_mode":
      return (r) => r.status_mode;
    case "status_changes":
      return (r) => r.status_changes;
    case "health_score":
      return (r) => r.health_score;
    case "alerts":
      return (r) => r.alerts.join("; ");
    case "anomaly_score":
      return (r) => r.anomaly_score ?? null;
  }
  for (const field of ["current", "moving_avg", "trend", "zscore"] as const) {
    if (col.endsWith(`_${field}`)) {
      const channel = col.slice(0, -field.length - 1);
      return (r) => r.channels[channel]?.[field] ?? null;
    }
  }
  return () => null;
}

/**
 * The row as `/data` serves it: every channel of the row with its triple and z-score, and
 * `status_mode_in_window` in place of `status_mode`.
 */
export function rowToObject(row: ProcessedRow): Record<string, RowValue | string[]> {
  const out: Record<string, RowValue | string[]> = {
    timestamp: row.timestamp,
    machine: row.machine,
  };
  for (const [name, c] of Object.entries(row.channels)) {
    out[`${name}_current`] = c.current;
    out[`${name}_moving_avg`] = c.moving_avg;
    out[`${name}_trend`] = c.trend;
    out[`${name}_zscore`] = c.zscore;
  }
  out.status_current = row.status_current;
  out.status_mode_in_window = row.status_mode;
  out.status_changes = row.status_changes;
  out.health_score = row.health_score;
  out.alerts = row.alerts;
  if (row.anomaly_score !== undefined) out.anomaly_score = row.anomaly_score;
  return out;
}
