/**
 * The table reader of `train` and `score`: a whole CSV, JSONL or Parquet file as a
 * {@linkcode Table}, read with the record rules replay reads the same files with (`CsvRows`
 * and `jsonRecord` of engine/formats, {@linkcode ParquetRows} of the Parquet source).
 * @module
 */
import { ConfigError } from "../../core/config.ts";
import { parseTable, type Table, tableOfObjects } from "../../formats/table.ts";
import { fileBuffer, hyparquet, ParquetRows } from "./parquet_rows.ts";

/**
 * Largest input file read, in bytes: the table (one row of cells per record) is held in memory,
 * so a bigger file is refused with a clear message rather than an out-of-memory crash.
 */
export const MAX_TABLE_BYTES = 1 << 30;

/** The format of a table file by its name: Parquet, JSONL, or CSV otherwise. */
function tableFormatOf(path: string): "parquet" | "json" | "csv" {
  const lower = path.toLowerCase();
  if (lower.endsWith(".parquet") || lower.endsWith(".pq")) return "parquet";
  if (lower.endsWith(".jsonl") || lower.endsWith(".json") || lower.endsWith(".ndjson")) {
    return "json";
  }
  return "csv";
}

/**
 * Reads a CSV (`,` or `;`), JSONL or Parquet file, chosen by extension (`.parquet`, `.pq`;
 * `.jsonl`, `.json`, `.ndjson`; CSV otherwise), as a {@linkcode Table}: CSV cells as strings,
 * JSONL and Parquet cells as their values (Parquet columns: every top-level column, in file
 * order, when there is a record). A missing file, a directory, a file over
 * {@linkcode MAX_TABLE_BYTES} or a bad record is a {@linkcode ConfigError} naming `flag` and
 * the file, or the file and the line.
 *
 * @example
 * ```ts
 * const table = await readTable("data/machines.parquet");
 * table.columns; // ["timestamp", "machine", "temperature", "speed", …]
 * await readTable("nope.csv"); // ConfigError '--input: no such file "nope.csv"'
 * ```
 */
export async function readTable(path: string, flag = "--input"): Promise<Table> {
  let size: number;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new ConfigError(`${flag}: ${JSON.stringify(path)} is not a file`);
    size = info.size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigError(`${flag}: no such file ${JSON.stringify(path)}`);
    }
    throw e;
  }
  if (size > MAX_TABLE_BYTES) {
    throw new ConfigError(`${flag}: ${JSON.stringify(path)} is over ${MAX_TABLE_BYTES} bytes`);
  }
  const format = tableFormatOf(path);
  if (format === "parquet") return await readParquetTable(path);
  const text = new TextDecoder().decode(await Deno.readFile(path));
  return parseTable(text, format, path);
}

/** Every record of a Parquet file, every top-level column. */
async function readParquetTable(path: string): Promise<Table> {
  const { parquetMetadataAsync, parquetSchema } = await hyparquet();
  const file = await Deno.open(path, { read: true });
  try {
    const buffer = fileBuffer(file, (await file.stat()).size);
    const metadata = await parquetMetadataAsync(buffer);
    const columns = parquetSchema(metadata).children.map((c) => c.element.name);
    const rows = new ParquetRows(buffer, metadata, columns);
    const records: unknown[][] = [];
    while (await rows.nextGroup()) {
      while (rows.left > 0) {
        const values = new Array(columns.length);
        rows.next(values);
        records.push(values);
      }
    }
    // As for JSONL, the columns are those of the records: none without a record.
    return records.length === 0 ? tableOfObjects([]) : { columns, rows: records };
  } catch (e) {
    throw new ConfigError(`${path}: not a readable Parquet file (${(e as Error).message})`);
  } finally {
    file.close();
  }
}
