/**
 * How a processed row is laid out as CSV columns and as the `/data` object, so the two agree.
 * Past 400 lines because the CSV writer of the rows (`writeRowsCsv`, a column list compiled to
 * codes and one loop over them) is here beside the column list and getters it must agree with.
 * @module
 */
import type { ProcessedRow } from "../core/types.ts";
import { RowTable, TRENDS } from "../core/row_table.ts";
import { BytesCache, type ByteText, NUMBER_ROOM, writeNumber } from "./byte_text.ts";
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

/* What a column of writeRowsCsv writes: one of these codes per column (plain constants, which
 * the optimizing compiler folds into the switch). */
const TIMESTAMP = 0;
const MACHINE = 1;
const STATUS_CURRENT = 2;
const STATUS_MODE = 3;
const STATUS_CHANGES = 4;
const HEALTH_SCORE = 5;
const ALERTS = 6;
const ANOMALY_SCORE = 7;
const CURRENT = 8;
const MOVING_AVG = 9;
const TREND = 10;
const ZSCORE = 11;
const EMPTY = 12;

/** A column list compiled for {@linkcode writeRowsCsv}. */
interface CompiledColumns {
  /** Per column, its code (`TIMESTAMP` …), and for a channel's column the index of its
   * channel in `channels` (else 0). */
  cells: Int32Array;
  channelOf: Int32Array;
  /** The channels the columns name, each once; `slots` and `offsets` are indexed alike. */
  channels: string[];
  /** Per channel, the entry of the current row's channel (-1: the row lacks it). */
  slots: Int32Array;
  /** The last row's channel names in order, and where in them each of `channels` was (-1:
   * absent): a machine's rows nearly always have the same channels in the same order, so a row
   * finds its slots by comparing names instead of a lookup per channel. */
  lastNames: string[];
  offsets: Int32Array;
  /** Room a row's cells other than its strings may take: a number and a comma each. */
  room: number;
}

const encoder = new TextEncoder();
// The repeated strings of rows (machine ids, statuses) as their CSV cells' bytes.
const cellBytes = new BytesCache(csvCell);
/** The trends' cells by their code (`TRENDS`). */
const TREND_BYTES = TRENDS.map((t) => encoder.encode(csvCell(t)));
// The last timestamp's cell (see `timestampBytes`).
let lastTimestamp = "";
let lastTimestampBytes = new Uint8Array(0);

const compiledOf = new WeakMap<readonly string[], CompiledColumns>();

function compile(columns: readonly string[]): CompiledColumns {
  const channels: string[] = [];
  const cells = new Int32Array(columns.length);
  const channelOf = new Int32Array(columns.length);
  for (let k = 0; k < columns.length; k++) {
    const col = columns[k]!;
    const cell = CELLS.get(col);
    if (cell !== undefined) {
      cells[k] = cell;
      continue;
    }
    const cf = channelField(col);
    if (!cf) {
      cells[k] = EMPTY;
      continue;
    }
    let p = channels.indexOf(cf.channel);
    if (p === -1) p = channels.push(cf.channel) - 1;
    cells[k] = CHANNEL_CELLS[cf.field];
    channelOf[k] = p;
  }
  return {
    cells,
    channelOf,
    channels,
    slots: new Int32Array(channels.length),
    lastNames: [],
    offsets: new Int32Array(channels.length).fill(-1),
    room: columns.length * (NUMBER_ROOM + 1) + 1,
  };
}

/** The cell of each column that is not a channel's. */
const CELLS = new Map<string, number>(Object.entries({
  timestamp: TIMESTAMP,
  machine: MACHINE,
  status_current: STATUS_CURRENT,
  status_mode: STATUS_MODE,
  status_changes: STATUS_CHANGES,
  health_score: HEALTH_SCORE,
  alerts: ALERTS,
  anomaly_score: ANOMALY_SCORE,
}));

/** The cell of each channel field. */
const CHANNEL_CELLS = {
  current: CURRENT,
  moving_avg: MOVING_AVG,
  trend: TREND,
  zscore: ZSCORE,
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
  for (let i = 0; i < table.length; i++) writeRow(c, table, i, out);
}

/**
 * Appends row `i`'s line. One loop over the columns' codes, writing into the reserved buffer
 * at a local index, instead of a call per cell through a closure per column (a call site no
 * inlining could follow) and a check of the room per byte: about a tenth less time for the
 * rows, and fewer compiles (BENCHMARKS.md, "The output side's JavaScript, twelfth stop"). A
 * function per row rather than the body of `writeRowsCsv`'s loop, so that it is not compiled
 * on stack replacement first and then again; the rare cells (alerts, a number `String`
 * prints, a new tick's timestamp) are apart: they keep it small, and a path first taken long
 * after it was optimized deoptimized it.
 */
function writeRow(c: CompiledColumns, table: RowTable, i: number, out: ByteText): void {
  const { cells, channelOf, slots, room } = c;
  locate(c, table, i);
  let buf = out.reserve(room);
  let at = out.length;
  for (let k = 0; k < cells.length; k++) {
    if (k > 0) buf[at++] = 44; // ","
    let bytes: Uint8Array | null = null;
    let str: string | null = null;
    // A number to write, when `numeric`: NaN among them, printed as `String` prints it.
    let v = 0;
    let numeric = false;
    switch (cells[k]) {
      case TIMESTAMP:
        bytes = timestampBytes(table.timestamp[i]!);
        break;
      case MACHINE:
      case STATUS_CURRENT:
      case STATUS_MODE: {
        const cell = cells[k];
        str = (cell === MACHINE
          ? table.machine
          : cell === STATUS_CURRENT
          ? table.statusCurrent
          : table.statusMode)[i]!;
        break;
      }
      case STATUS_CHANGES:
      case HEALTH_SCORE:
      case ANOMALY_SCORE:
      case CURRENT:
      case MOVING_AVG:
      case ZSCORE: {
        // A row's own number, or its entry of a channel (none: an empty cell). An anomaly
        // score of NaN is a row without one: an empty cell too.
        const cell = cells[k]!;
        const e = cell === CURRENT || cell === MOVING_AVG || cell === ZSCORE
          ? slots[channelOf[k]!]!
          : i;
        if (e !== -1) {
          v = numberColumn(table, cell)[e]!;
          numeric = cell !== ANOMALY_SCORE || v === v;
        }
        break;
      }
      case TREND: {
        const e = slots[channelOf[k]!]!;
        if (e !== -1) {
          bytes = TREND_BYTES[table.trend[e]!]!;
        }
        break;
      }
      case ALERTS: {
        const alerts = table.alerts[i];
        if (alerts && alerts.length > 0) {
          at = writeAlerts(out, at, alerts, room);
          buf = out.reserve(room);
        }
        break;
      }
    }
    if (str !== null) {
      bytes = cellBytes.get(str);
    }
    if (bytes !== null) {
      const len = bytes.length;
      if (at + len + room > buf.length) {
        out.end(at);
        buf = out.reserve(len + room);
      }
      for (let j = 0; j < len; j++) {
        buf[at++] = bytes[j]!;
      }
    } else if (numeric) {
      const end = writeNumber(buf, at, v);
      if (end >= 0) {
        at = end;
      } else {
        at = writeString(out, at, String(v), room);
        buf = out.reserve(room);
      }
    }
  }
  buf[at++] = 10; // "\n"
  out.end(at);
}

/** The cell of timestamp `ts`: rows come in ticks that share a timestamp, so the last one's is
 * reused. (Apart from `writeRow`: a new one comes only with the next tick, and a path of
 * its own first taken then deoptimized it.) */
function timestampBytes(ts: string): Uint8Array {
  if (ts !== lastTimestamp) {
    lastTimestamp = ts;
    lastTimestampBytes = encoder.encode(csvCell(ts));
  }
  return lastTimestampBytes;
}

/** The table column a numeric cell reads. */
function numberColumn(t: RowTable, cell: number): Float64Array {
  switch (cell) {
    case STATUS_CHANGES:
      return t.statusChanges;
    case HEALTH_SCORE:
      return t.healthScore;
    case ANOMALY_SCORE:
      return t.anomalyScore;
    case CURRENT:
      return t.current;
    case MOVING_AVG:
      return t.movingAvg;
    default:
      return t.zscore;
  }
}

/** Appends the alerts cell of a row whose line is written up to `at` (see {@linkcode
 * writeString}). Alert texts hold values: not cached (most rows have none). */
function writeAlerts(out: ByteText, at: number, alerts: string[], room: number): number {
  return writeString(out, at, csvCell(alerts.join("; ")), room);
}

/** Appends `s` to a line written up to `at`, leaves `room` bytes of room after it, and
 * returns the line's new end. */
function writeString(out: ByteText, at: number, s: string, room: number): number {
  out.end(at);
  out.text(s);
  out.reserve(room);
  return out.length;
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
