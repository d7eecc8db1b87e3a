/**
 * Reads a Parquet file of readings as a stream of parsed batches (`replay FILE.parquet`,
 * `start --source file:FILE.parquet`), one row group at a time.
 * @module
 */
import type { FileMetaData, SchemaElement } from "hyparquet";
import type { Batch } from "../../core/batch.ts";
import { parseTime, RESERVED_COLUMNS } from "../../formats/reading_parser.ts";
import {
  EARLIEST_UNNAMED_TIME,
  machineIdError,
  statusError,
  unnamedTimeError,
} from "../../formats/reading_rules.ts";
import type { Reading } from "../../core/types.ts";
import { fileBuffer, type Hyparquet, hyparquet, ParquetRows } from "./parquet_rows.ts";

/** Options of {@linkcode ParquetSource}. */
export interface ParquetSourceOptions {
  /** Rows before this one are history: their batches are marked `suppress` (a row counts as
   * one line of the checkpoint). @default {0} */
  suppressLines?: number;
  /** Whether batches' readings go to `stream_output.jsonl`. @default {true} */
  log?: boolean;
  /** Readings per batch, at most. @default {8192} */
  batchSize?: number;
  /**
   * Largest row group read, in uncompressed bytes of the columns used: a row group's columns
   * are held in memory while its rows are turned into batches, so this bounds memory (plus
   * one batch); a file with a bigger row group is refused when opened.
   * @default {268435456} (256 MiB)
   */
  maxRowGroupBytes?: number;
  /** As `FileSourceOptions.splitBefore`: cut a batch before `next` (`--rate`, see
   * `RateLimitStream.splitBefore`). @default {never} */
  splitBefore?: (first: Reading, next: Reading) => boolean;
}

/** What each used column of the file is. */
interface Layout {
  /** Columns read, in file order. */
  columns: string[];
  time: number;
  /** The time column is the first one, not named `timestamp` or `datetime`. */
  unnamedTime: boolean;
  machine: number;
  status: number;
  injected: number;
  /** Indexes into `columns` of the numeric channels (their names are the column names). */
  channels: number[];
}

/** Converted types of INT32/INT64 columns that hold dates, times or intervals, not numbers. */
const TIME_TYPES = new Set([
  "DATE",
  "TIME_MILLIS",
  "TIME_MICROS",
  "TIMESTAMP_MILLIS",
  "TIMESTAMP_MICROS",
  "INTERVAL",
]);

/**
 * A Parquet file as `ReadableStream<Batch>`, with the rules of the CSV and JSONL readers: the
 * time column is `timestamp` or `datetime` (any case) or else the first column, and may be a
 * Parquet TIMESTAMP (ms, µs or ns), DATE, INT96, epoch-ms number or a string (ISO 8601; no zone
 * means UTC); `machine`, `status` and `injected` are recognised by name; every other numeric
 * column is a channel (null: no value in that row); string, boolean, date/time and nested
 * columns are not read. A row that cannot be a reading (no time, a non-finite number, no
 * channel and no status) is a parser error, rendered as JSON in `parser_errors.log`.
 *
 * Pull-based, one row group at a time: memory holds the current row group's used columns (at
 * most `maxRowGroupBytes` uncompressed) and one batch. Open with {@linkcode ParquetSource.open},
 * which reads and checks the footer.
 */
export class ParquetSource {
  /** Total rows in the file. */
  readonly rows: number;
  readonly #metadata: FileMetaData;
  readonly #layout: Layout;
  #lines = 0;
  #readable: ReadableStream<Batch> | null = null;

  private constructor(
    readonly path: string,
    metadata: FileMetaData,
    layout: Layout,
    readonly options: ParquetSourceOptions,
  ) {
    this.#metadata = metadata;
    this.#layout = layout;
    this.rows = Number(metadata.num_rows);
  }

  /** The names of the file's numeric channel columns, in file order. */
  get channelNames(): string[] {
    return this.#layout.channels.map((i) => this.#layout.columns[i]!);
  }

  /**
   * Reads the file's footer and checks that it holds readings. Throws an `Error` naming the
   * file for a missing or unreadable file, one without columns, or a row group over
   * `maxRowGroupBytes`.
   */
  static async open(path: string, options: ParquetSourceOptions = {}): Promise<ParquetSource> {
    const parquet = await hyparquet();
    const file = await Deno.open(path, { read: true });
    let metadata: FileMetaData;
    try {
      metadata = await parquet.parquetMetadataAsync(fileBuffer(file, (await file.stat()).size));
    } catch (e) {
      throw new Error(`${path} is not a readable Parquet file (${(e as Error).message})`);
    } finally {
      file.close();
    }
    const layout = layoutOf(metadata, path, parquet);
    const max = options.maxRowGroupBytes ?? 256 * 1024 * 1024;
    const used = new Set(layout.columns);
    metadata.row_groups.forEach((g, i) => {
      let bytes = 0;
      for (const c of g.columns) {
        const name = c.meta_data?.path_in_schema[0];
        if (name !== undefined && used.has(name)) {
          bytes += Number(c.meta_data?.total_uncompressed_size ?? 0);
        }
      }
      if (bytes > max) {
        throw new Error(
          `${path}: row group ${i} holds ${bytes} bytes uncompressed, over the limit of ${max}; ` +
            `write the file with smaller row groups`,
        );
      }
    });
    return new ParquetSource(path, metadata, layout, options);
  }

  /** The same opened file with other options (the footer is not read again). */
  withOptions(options: ParquetSourceOptions): ParquetSource {
    return new ParquetSource(this.path, this.#metadata, this.#layout, {
      ...this.options,
      ...options,
    });
  }

  /** The batches; created on first use, read once. */
  get readable(): ReadableStream<Batch> {
    return this.#readable ??= this.#stream();
  }

  /** Rows read so far. */
  get lines(): number {
    return this.#lines;
  }

  #stream(): ReadableStream<Batch> {
    const { path, options } = this;
    const metadata = this.#metadata;
    const layout = this.#layout;
    const suppressLines = options.suppressLines ?? 0;
    const batchSize = options.batchSize ?? 8192;
    const log = options.log ?? true;
    const splitBefore = options.splitBefore;
    let file: Deno.FsFile | null = null;
    let rows: ParquetRows | null = null;
    let lastTime: number | null = null;

    const close = () => {
      file?.close();
      file = null;
    };

    const batchOf = (n: number): Batch[] => {
      const batches: Batch[] = [];
      const values: unknown[] = new Array(layout.columns.length);
      let b: Batch | null = null;
      for (let k = 0; k < n; k++) {
        rows!.next(values);
        const suppress = this.#lines < suppressLines;
        const r = readingOf(values, layout);
        const first = b?.readings[0];
        if (
          !b || b.suppress !== suppress || b.readings.length >= batchSize ||
          (splitBefore && !suppress && first && typeof r !== "string" && splitBefore(first, r))
        ) {
          b = { readings: [], errors: [], lines: 0, suppress, log };
          batches.push(b);
        }
        this.#lines++;
        b.lines++;
        if (typeof r === "string") {
          b.errors.push({ line: rowText(values, layout), error: r, time: lastTime });
        } else {
          b.readings.push(r);
          lastTime = r.timestamp;
        }
      }
      return batches;
    };

    return new ReadableStream<Batch>({
      start: async () => {
        file = await Deno.open(path, { read: true });
        rows = new ParquetRows(
          fileBuffer(file, (await file.stat()).size),
          metadata,
          layout.columns,
        );
      },
      pull: async (controller) => {
        try {
          while (rows!.left === 0) {
            if (!(await rows!.nextGroup())) {
              close();
              controller.close();
              return;
            }
          }
        } catch (e) {
          close();
          throw new Error(
            `${path}: cannot read row group ${rows!.group} (${(e as Error).message})`,
          );
        }
        const n = Math.min(rows!.left, batchSize);
        for (const b of batchOf(n)) controller.enqueue(b);
      },
      cancel: close,
    }, { highWaterMark: 1 });
  }
}

/** Roles of the file's top-level columns; throws naming the file when it has none. */
function layoutOf(metadata: FileMetaData, path: string, parquet: Hyparquet): Layout {
  const top = parquet.parquetSchema(metadata).children;
  const names = top.map((c) => c.element.name.toLowerCase());
  let time = names.findIndex((n) => n === "timestamp" || n === "datetime");
  const unnamedTime = time === -1;
  if (time === -1) time = 0;
  const timeColumn = top[time];
  if (!timeColumn || timeColumn.children.length > 0) {
    throw new Error(`${path}: no time column (timestamp, datetime, or a plain first column)`);
  }
  const columns: string[] = [];
  const layout: Layout = {
    columns,
    time: -1,
    unnamedTime,
    machine: -1,
    status: -1,
    injected: -1,
    channels: [],
  };
  top.forEach((c, i) => {
    if (c.children.length > 0) return; // nested: not a reading's field
    const name = names[i]!;
    const at = columns.length;
    if (i === time) layout.time = at;
    else if (name === "machine") layout.machine = at;
    else if (name === "status") layout.status = at;
    else if (name === "injected") layout.injected = at;
    else if (!RESERVED_COLUMNS.has(name) && isNumeric(c.element)) layout.channels.push(at);
    else return;
    columns.push(c.element.name);
  });
  return layout;
}

/** Whether a column's values are plain numbers (not dates, times or bytes). */
function isNumeric(e: SchemaElement): boolean {
  const logical = e.logical_type?.type;
  if (e.converted_type === "DECIMAL" || logical === "DECIMAL" || logical === "FLOAT16") return true;
  if (e.converted_type && TIME_TYPES.has(e.converted_type)) return false;
  if (logical === "DATE" || logical === "TIME" || logical === "TIMESTAMP") return false;
  return e.type === "INT32" || e.type === "INT64" || e.type === "FLOAT" || e.type === "DOUBLE";
}

/** One row's values (in `layout.columns` order) as a reading, or the error text. */
function readingOf(values: readonly unknown[], layout: Layout): Reading | string {
  const t = values[layout.time];
  // A plain number there under 2000-01-01 is a measurement, not epoch ms (as in a CSV).
  if (
    layout.unnamedTime && (typeof t === "number" || typeof t === "bigint") &&
    !(Number(t) >= EARLIEST_UNNAMED_TIME)
  ) return unnamedTimeError(layout.columns[layout.time]!, String(t));
  // Every form goes through parseTime's range check: an INT64 of 1e20 ms or a Date outside
  // the range would otherwise throw in toISOString further down.
  const timestamp = t instanceof Date
    ? parseTime(t.getTime())
    : typeof t === "bigint"
    ? parseTime(Number(t))
    : typeof t === "string"
    ? parseTime(t.trim())
    : parseTime(t);
  if (timestamp === null) {
    return t === null || t === undefined ? "missing timestamp" : `bad timestamp: ${show(t)}`;
  }
  const m = layout.machine === -1 ? null : values[layout.machine];
  if (
    m !== null && m !== undefined && typeof m !== "string" && typeof m !== "number" &&
    typeof m !== "bigint"
  ) return `bad machine: ${show(m)}`;
  const machine = m === null || m === undefined ? "m1" : String(m);
  const machineError = machineIdError(machine);
  if (machineError !== null) return machineError;
  const s = layout.status === -1 ? null : values[layout.status] ?? null;
  if (s !== null && typeof s !== "string") return `bad status: ${show(s)}`;
  const badStatus = s === null ? null : statusError(s);
  if (badStatus !== null) return badStatus;
  const channels: Record<string, number> = {};
  let n = 0;
  for (const j of layout.channels) {
    const v = values[j];
    if (v === null || v === undefined) continue;
    const x = typeof v === "bigint" ? Number(v) : v;
    if (typeof x !== "number") continue;
    // Parquet can hold NaN and ±Infinity; the kernel must never see them.
    if (!Number.isFinite(x)) return `${layout.columns[j]} is not finite`;
    channels[layout.columns[j]!] = x;
    n++;
  }
  if (n === 0 && s === null) return "no numeric channel";
  const reading: Reading = {
    timestamp,
    machine,
    status: s,
    channels,
  };
  const injected = layout.injected === -1 ? null : values[layout.injected];
  if (typeof injected === "string" && injected !== "") reading.injected = injected;
  return reading;
}

/** A rejected row for `parser_errors.log`: its used columns as a JSON object. */
function rowText(values: readonly unknown[], layout: Layout): string {
  const row: Record<string, unknown> = {};
  layout.columns.forEach((c, j) => row[c] = values[j]);
  return show(row);
}

/** JSON, with bigints as numbers' digits and non-finite numbers as text (JSON has neither). */
function show(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) =>
      typeof x === "bigint"
        ? x.toString()
        : typeof x === "number" && !Number.isFinite(x)
        ? String(x)
        : x,
  ) ?? String(v);
}
