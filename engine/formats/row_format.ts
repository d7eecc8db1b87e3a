/**
 * How a processed row is laid out as CSV columns and as the `/data` object, so the two agree.
 * @module
 */
import type { ProcessedRow } from "../core/types.ts";
import { RowTable, TRENDS } from "../core/row_table.ts";
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
  const cf = channelField(col);
  if (cf) {
    const { channel, field } = cf;
    return (r) => r.channels[channel]?.[field] ?? null;
  }
  return () => null;
}

/** The channel fields a column can name, in the order their suffixes are tried. */
const CHANNEL_FIELDS = ["current", "moving_avg", "trend", "zscore"] as const;

/** The channel and field of a `<channel>_<field>` column; null for any other column. */
function channelField(
  col: string,
): { channel: string; field: typeof CHANNEL_FIELDS[number] } | null {
  for (const field of CHANNEL_FIELDS) {
    if (col.endsWith(`_${field}`)) return { channel: col.slice(0, -field.length - 1), field };
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

/** Writes one cell of row `i` of a table; `slots[p]` is the entry of the row's channel that is
 * the columns' `p`-th channel, -1 when the row lacks it. */
type CellWriter = (t: RowTable, i: number, slots: Int32Array, out: ByteText) => void;

/** A column list compiled for {@linkcode writeRowsCsv}. */
interface CompiledColumns {
  cells: CellWriter[];
  /** The channels the columns name, each once; `slots` and `offsets` are indexed alike. */
  channels: string[];
  slots: Int32Array;
  /** The last row's channel names in order, and where in them each of `channels` was (-1:
   * absent): a machine's rows nearly always have the same channels in the same order, so a row
   * finds its slots by comparing names instead of a lookup per channel. */
  lastNames: string[];
  offsets: Int32Array;
}

const encoder = new TextEncoder();
// The repeated strings of rows (machine ids, statuses, trends) as their CSV cells' bytes.
const cellBytes = new BytesCache(csvCell);
// Rows come in ticks that share a timestamp: the last one's cell is reused.
let lastTimestamp = "";
let lastTimestampBytes = new Uint8Array(0);

function writeText(s: string | null, out: ByteText): void {
  if (s !== null) out.raw(cellBytes.get(s));
}

/** An `anomaly_score` cell: NaN is a row without a score (an empty cell). */
function writeScore(v: number, out: ByteText): void {
  if (!Number.isNaN(v)) out.number(v);
}

const compiledOf = new WeakMap<readonly string[], CompiledColumns>();

function compile(columns: readonly string[]): CompiledColumns {
  const channels: string[] = [];
  const cells = columns.map((col) => cellWriter(col, channels));
  return {
    cells,
    channels,
    slots: new Int32Array(channels.length),
    lastNames: [],
    offsets: new Int32Array(channels.length).fill(-1),
  };
}

/** The writer of column `col`; a channel column's channel is added to `channels`. */
function cellWriter(col: string, channels: string[]): CellWriter {
  switch (col) {
    case "timestamp":
      return (t, i, _, out) => {
        const ts = t.timestamp[i]!;
        if (ts !== lastTimestamp) {
          lastTimestamp = ts;
          lastTimestampBytes = encoder.encode(csvCell(ts));
        }
        out.raw(lastTimestampBytes);
      };
    case "machine":
      return (t, i, _, out) => writeText(t.machine[i]!, out);
    case "status_current":
      return (t, i, _, out) => writeText(t.statusCurrent[i]!, out);
    case "status_mode":
      return (t, i, _, out) => writeText(t.statusMode[i]!, out);
    case "status_changes":
      return (t, i, _, out) => out.number(t.statusChanges[i]!);
    case "health_score":
      return (t, i, _, out) => out.number(t.healthScore[i]!);
    case "alerts":
      return (t, i, _, out) => {
        // Alert texts hold values: not cached, most rows have none.
        const alerts = t.alerts[i];
        if (alerts && alerts.length > 0) out.text(csvCell(alerts.join("; ")));
      };
    case "anomaly_score":
      return (t, i, _, out) => writeScore(t.anomalyScore[i]!, out);
  }
  const cf = channelField(col);
  if (!cf) return () => {};
  let p = channels.indexOf(cf.channel);
  if (p === -1) p = channels.push(cf.channel) - 1;
  if (cf.field === "trend") {
    return (t, _, slots, out) => {
      const e = slots[p]!;
      if (e !== -1) writeText(TRENDS[t.trend[e]!]!, out);
    };
  }
  // A typed array's element, not a summary's field read by a computed name: that boxed a new
  // heap number per numeric cell (BENCHMARKS.md, "Less garbage on the analysis side").
  const column = NUMBER_COLUMNS[cf.field];
  return (t, _, slots, out) => {
    const e = slots[p]!;
    if (e !== -1) out.number(column(t)[e]!);
  };
}

/** The table column of each numeric channel field. */
const NUMBER_COLUMNS = {
  current: (t: RowTable) => t.current,
  moving_avg: (t: RowTable) => t.movingAvg,
  zscore: (t: RowTable) => t.zscore,
};

/** Fills `c.slots` for row `i` of `t` (see {@linkcode CompiledColumns.lastNames}). */
function locate(c: CompiledColumns, t: RowTable, i: number): void {
  const from = t.rowFirst[i]!, k = t.rowFirst[i + 1]! - from;
  const names = c.lastNames;
  let same = names.length === k;
  for (let j = 0; same && j < k; j++) same = names[j] === t.channel[from + j];
  if (!same) {
    names.length = k;
    for (let j = 0; j < k; j++) names[j] = t.channel[from + j]!;
    for (let p = 0; p < c.channels.length; p++) c.offsets[p] = names.indexOf(c.channels[p]!);
  }
  for (let p = 0; p < c.channels.length; p++) {
    const o = c.offsets[p]!;
    c.slots[p] = o === -1 ? -1 : from + o;
  }
}

/**
 * Appends the CSV lines of the rows of `table` (each with a newline) to `out`: for each row the
 * bytes of `csvLine(rowCells(table.row(i), columns)) + "\n"` (a test checks it),
 * written from the table's columns without the row objects, the cell array and strings —
 * replay writes one line per row, and d3-dsv's per-cell regex test and the line strings cost
 * more than the rest of the row's writing (measured: BENCHMARKS.md, "Replay end to end"), the
 * row objects a fifth of its allocation ("Rows written where they are read"). Numbers print as
 * `String` does, null cells are empty, a cell holding `"`, `,` or a line break is quoted.
 *
 * @example
 * ```ts
 * const out = new ByteText();
 * writeRowsCsv(result.rows, rowColumns(), out);
 * ```
 */
export function writeRowsCsv(
  table: RowTable,
  columns: readonly string[],
  out: ByteText,
): void {
  let c = compiledOf.get(columns);
  if (!c) {
    c = compile(columns);
    compiledOf.set(columns, c);
  }
  const cells = c.cells, slots = c.slots;
  for (let i = 0; i < table.length; i++) {
    locate(c, table, i);
    cells[0]!(table, i, slots, out);
    for (let k = 1; k < cells.length; k++) {
      out.byte(44); // ","
      cells[k]!(table, i, slots, out);
    }
    out.byte(10);
  }
}

/** The table {@linkcode writeRowCsv} writes a row through, emptied for each. */
const scratch = new RowTable(1, 4);

/**
 * Appends `row`'s CSV line and a newline to `out`, as {@linkcode writeRowsCsv} writes a table's
 * rows (for a row that is already an object: tests and benches; the engine writes tables).
 * An `anomaly_score` of NaN is written as no score.
 *
 * @example
 * ```ts
 * const out = new ByteText();
 * writeRowCsv(row, rowColumns(), out);
 * ```
 */
export function writeRowCsv(row: ProcessedRow, columns: readonly string[], out: ByteText): void {
  scratch.clear();
  scratch.addObject(row);
  writeRowsCsv(scratch, columns, out);
}
