/**
 * How a processed row is laid out as CSV columns and as the `/data` object, so the two agree.
 * @module
 */
import type { ProcessedRow } from "../core/types.ts";
import { BytesCache, type ByteText } from "./byte_text.ts";
import { csvCell } from "./csv.ts";

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

type CellWriter = (row: ProcessedRow, out: ByteText) => void;

const encoder = new TextEncoder();
// The repeated strings of rows (machine ids, statuses, trends) as their CSV cells' bytes.
const cellBytes = new BytesCache(csvCell);
// Rows come in ticks that share a timestamp: the last one's cell is reused.
let lastTimestamp = "";
let lastTimestampBytes = new Uint8Array(0);

function writeText(s: string | null, out: ByteText): void {
  if (s !== null) out.raw(cellBytes.get(s));
}

function writeNumber(v: number | null | undefined, out: ByteText): void {
  if (v !== null && v !== undefined) out.number(v);
}

/** The numeric fields of a channel's cells, in the order their suffixes are tried. */
const NUMBER_FIELDS = ["current", "moving_avg", "zscore"] as const;

/** The cell of `channel`'s numeric field `NUMBER_FIELDS[k]`. Its fields are read by their
 * names: a read by a computed name (`c[field]`) boxed a new heap number for every numeric cell,
 * six a row (measured: BENCHMARKS.md, "Less garbage on the analysis side"). */
function numberCell(channel: string, k: number): CellWriter {
  return (r, out) => {
    const c = r.channels[channel];
    if (c) writeNumber(k === 0 ? c.current : k === 1 ? c.moving_avg : c.zscore, out);
  };
}

const writersOf = new WeakMap<readonly string[], CellWriter[]>();

function cellWriter(col: string): CellWriter {
  switch (col) {
    case "timestamp":
      return (r, out) => {
        if (r.timestamp !== lastTimestamp) {
          lastTimestamp = r.timestamp;
          lastTimestampBytes = encoder.encode(csvCell(r.timestamp));
        }
        out.raw(lastTimestampBytes);
      };
    case "machine":
      return (r, out) => writeText(r.machine, out);
    case "status_current":
      return (r, out) => writeText(r.status_current, out);
    case "status_mode":
      return (r, out) => writeText(r.status_mode, out);
    case "status_changes":
      return (r, out) => writeNumber(r.status_changes, out);
    case "health_score":
      return (r, out) => writeNumber(r.health_score, out);
    case "alerts":
      return (r, out) => {
        // Alert texts hold values: not cached, most rows have none.
        if (r.alerts.length > 0) out.text(csvCell(r.alerts.join("; ")));
      };
    case "anomaly_score":
      return (r, out) => writeNumber(r.anomaly_score, out);
  }
  for (const [k, field] of NUMBER_FIELDS.entries()) {
    if (col.endsWith(`_${field}`)) return numberCell(col.slice(0, -field.length - 1), k);
  }
  if (col.endsWith("_trend")) {
    const channel = col.slice(0, -"_trend".length);
    return (r, out) => writeText(r.channels[channel]?.trend ?? null, out);
  }
  return () => {};
}

/**
 * Appends the row's CSV line and a newline to `out`: the bytes of
 * `csvLine(rowCells(row, columns)) + "\n"` (a test checks it), built without the cell array
 * and strings — replay writes one line per row, and d3-dsv's per-cell regex test and the line
 * strings cost more than the rest of the row's writing (measured: BENCHMARKS.md, "Replay end
 * to end"). Numbers print as `String` does, null cells are empty, a cell holding `"`, `,` or a
 * line break is quoted.
 *
 * @example
 * ```ts
 * const out = new ByteText();
 * writeRowCsv(row, rowColumns(), out);
 * ```
 */
export function writeRowCsv(row: ProcessedRow, columns: readonly string[], out: ByteText): void {
  let writers = writersOf.get(columns);
  if (!writers) {
    writers = columns.map(cellWriter);
    writersOf.set(columns, writers);
  }
  writers[0]!(row, out);
  for (let i = 1; i < writers.length; i++) {
    out.byte(44); // ","
    writers[i]!(row, out);
  }
  out.byte(10);
}
