/**
 * A file's records as a table of columns and cells, for `train` and `score`: CSV and JSONL text
 * read with the same record rules as replay ({@linkcode CsvRows}, {@linkcode jsonRecord}), and
 * the feature matrix a model is fitted on or scores. The file itself (and Parquet) is read by
 * `readTable` in `engine/sources/file/table_reader.ts`. Every problem is a
 * {@linkcode ConfigError} naming the file and the line or record.
 * @module
 */
import { ConfigError } from "../core/config.ts";
import { CsvRows } from "./csv.ts";
import { jsonRecord, JsonRecordError } from "./reading_parser.ts";

/** A file's records as columns and rows of cells (strings from CSV, JSON values otherwise). */
export interface Table {
  columns: string[];
  rows: unknown[][];
}

/** The text formats of a table file. */
export type TableTextFormat = "csv" | "json";

/**
 * Parses CSV (`,` or `;`, sniffed from the header) or JSONL text into a {@linkcode Table}.
 * Blank lines are skipped; line numbers in errors count every line of `text`. CSV: the first
 * non-blank line is the header, and a row of another width is an error. JSONL: every line must
 * be a JSON object; columns are the keys in order of first appearance. `path` names the file in
 * errors.
 *
 * @example
 * ```ts
 * parseTable("t;x\n1;2.5\n", "csv", "in.csv"); // { columns: ["t", "x"], rows: [["1", "2.5"]] }
 * parseTable('{"t":1,"x":2.5}\n', "json", "in.jsonl"); // { columns: ["t", "x"], rows: [[1, 2.5]] }
 * parseTable("t,x\n1\n", "csv", "in.csv"); // ConfigError "in.csv: line 2 has 1 columns, the header has 2"
 * ```
 */
export function parseTable(text: string, format: TableTextFormat, path: string): Table {
  const lines = text.split(/\r?\n/);
  if (format === "json") {
    const objects: Record<string, unknown>[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === "") continue;
      const record = jsonRecord(line);
      if (record instanceof JsonRecordError) {
        throw new ConfigError(
          record.notJson === null
            ? `${path}: line ${i + 1} is not a JSON object`
            : `${path}: line ${i + 1} is not JSON (${record.notJson})`,
        );
      }
      objects.push(record);
    }
    return tableOfObjects(objects);
  }
  const csv = new CsvRows();
  const rows: unknown[][] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const cells = csv.next(line);
    if (cells === null) continue;
    if (cells.length !== csv.columns!.length) {
      throw new ConfigError(
        `${path}: line ${i + 1} has ${cells.length} columns, the header has ${csv.columns!.length}`,
      );
    }
    rows.push(cells);
  }
  if (csv.columns === null) throw new ConfigError(`${path}: the CSV file is empty`);
  return { columns: [...csv.columns], rows };
}

/**
 * Records as a table: columns are the keys in order of first appearance (so no records, no
 * columns), a record's missing keys `undefined`.
 *
 * @example
 * ```ts
 * tableOfObjects([{ a: 1 }, { b: 2, a: 3 }]); // { columns: ["a", "b"], rows: [[1, undefined], [3, 2]] }
 * ```
 */
export function tableOfObjects(objects: readonly Record<string, unknown>[]): Table {
  const index = new Map<string, number>();
  for (const o of objects) {
    for (const k of Object.keys(o)) if (!index.has(k)) index.set(k, index.size);
  }
  const columns = [...index.keys()];
  const rows = objects.map((o) => columns.map((c) => o[c]));
  return { columns, rows };
}

/** A cell as a number: numbers, bigints and numeric strings; NaN otherwise. */
function numberOf(cell: unknown): number {
  if (typeof cell === "number") return cell;
  if (typeof cell === "bigint") return Number(cell);
  if (typeof cell === "string") {
    const s = cell.trim();
    return s === "" ? NaN : Number(s);
  }
  return NaN;
}

/** Columns never used as features by default: the time column. */
const TIME_COLUMNS = new Set(["timestamp", "datetime"]);

/**
 * Every column whose cells are all finite numbers (numbers, bigints or numeric strings), the
 * time column (`timestamp`, `datetime`) excluded; none when the table has no rows. `train`'s
 * default features.
 *
 * @example
 * ```ts
 * numericColumns({ columns: ["timestamp", "x", "s"], rows: [["1", "2.5", "on"]] }); // ["x"]
 * ```
 */
export function numericColumns(t: Table): string[] {
  return t.columns.filter((c, j) =>
    !TIME_COLUMNS.has(c.toLowerCase()) && t.rows.length > 0 &&
    t.rows.every((r) => Number.isFinite(numberOf(r[j])))
  );
}

/**
 * The named columns of every row as one row-major `Float64Array` (rows × features). A missing
 * column, or a cell that is not a finite number, is a {@linkcode ConfigError} naming `path`,
 * the column and the record.
 *
 * @example
 * ```ts
 * featureMatrix({ columns: ["x", "y"], rows: [["1", 2], ["3", 4]] }, ["y", "x"], "in.csv");
 * // Float64Array [2, 1, 4, 3]
 * ```
 */
export function featureMatrix(t: Table, features: readonly string[], path: string): Float64Array {
  const cols = features.map((f) => {
    const j = t.columns.indexOf(f);
    if (j === -1) {
      throw new ConfigError(
        `${path}: no column ${JSON.stringify(f)}; columns: ${t.columns.join(", ")}`,
      );
    }
    return j;
  });
  const d = cols.length;
  const x = new Float64Array(t.rows.length * d);
  t.rows.forEach((r, i) => {
    for (let k = 0; k < d; k++) {
      const v = numberOf(r[cols[k]!]);
      if (!Number.isFinite(v)) {
        throw new ConfigError(
          `${path}: record ${i + 1}, column ${features[k]}: ${
            JSON.stringify(r[cols[k]!] ?? null)
          } is not a finite number`,
        );
      }
      x[i * d + k] = v;
    }
  });
  return x;
}
