/**
 * How a processed row is laid out as CSV columns and as the `/data` object, so the two agree.
 * @module
 */
import type { ProcessedRow } from "./types.ts";

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
  const out: Record<string, RowValue> = {};
  for (const col of columns) out[col] = cell(row, col);
  return out;
}

function cell(row: ProcessedRow, col: string): RowValue {
  switch (col) {
    case "timestamp":
      return row.timestamp;
    case "machine":
      return row.machine;
    case "status_current":
      return row.status_current;
    case "status_mode":
      return row.status_mode;
    case "status_changes":
      return row.status_changes;
    case "health_score":
      return row.health_score;
    case "alerts":
      return row.alerts.join("; ");
    case "anomaly_score":
      return row.anomaly_score ?? null;
  }
  const cut = col.lastIndexOf("_", col.endsWith("_moving_avg") ? col.length - 11 : undefined);
  const channel = row.channels[col.slice(0, cut)];
  if (!channel) return null;
  switch (col.slice(cut + 1)) {
    case "current":
      return channel.current;
    case "moving_avg":
      return channel.moving_avg;
    case "trend":
      return channel.trend;
    case "zscore":
      return channel.zscore;
  }
  return null;
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
