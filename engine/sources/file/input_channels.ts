/**
 * The channel names of a recorded file, read from its start before a run opens (the CSV
 * header, the first JSONL record's numeric keys, the Parquet schema): what `defaultProfileOf`
 * chooses the default profile from.
 * @module
 */
import { formatOf } from "../../core/config.ts";
import type { InputFormat } from "../../core/input_format.ts";
import { readAt } from "../../core/read_at.ts";
import { CsvRows } from "../../formats/csv.ts";
import { jsonRecord, JsonRecordError, RESERVED_COLUMNS } from "../../formats/reading_parser.ts";
import { ParquetSource } from "./parquet_source.ts";
import { PARQUET } from "./recorded_input.ts";

/** Bytes read from the start of a text file to find its header or first record. */
const HEAD_BYTES = 64 * 1024;

/**
 * The channel names of the file at `path` (read as `format`, else by its name), or `null` when
 * they cannot be told: a `kv` or `raw` file (the device's keys), no header or record in its first
 * 64 KiB, or a file that cannot be read (the run's own open reports that, naming the file). CSV:
 * the header's columns but the time, machine, status and label ones (a text column counts:
 * which columns are numeric shows only in the rows). JSONL: the first record's numeric keys.
 *
 * @example
 * ```ts
 * await inputChannels("nab/nyc_taxi.csv", null); // ["value"]
 * ```
 */
export async function inputChannels(
  path: string,
  format: InputFormat | null,
): Promise<string[] | null> {
  try {
    if (format === null && PARQUET.test(path)) return (await ParquetSource.open(path)).channelNames;
    const fmt = formatOf(path, format);
    if (fmt === "kv" || fmt === "raw") return null;
    using file = await Deno.open(path, { read: true });
    const head = await readAt(file, 0, HEAD_BYTES);
    // A cut multi-byte character at the end only spoils the last (incomplete) line.
    const lines = new TextDecoder().decode(head).split(/\r?\n/);
    if (head.length === HEAD_BYTES) lines.pop();
    const first = lines.find((l) => l.trim() !== "");
    if (first === undefined) return null;
    if (fmt === "csv") {
      const csv = new CsvRows();
      csv.next(first);
      const columns = csv.columns ?? [];
      const lower = columns.map((c) => c.toLowerCase());
      // As the parser: without a timestamp or datetime column the first one is the time.
      const time = lower.some((c) => c === "timestamp" || c === "datetime") ? -1 : 0;
      return columns.filter((c, i) => i !== time && !RESERVED_COLUMNS.has(c.toLowerCase()));
    }
    const record = jsonRecord(first);
    if (record instanceof JsonRecordError) return null;
    return Object.keys(record).filter((k) =>
      typeof record[k] === "number" && k !== "timestamp" && k !== "machine"
    );
  } catch {
    return null;
  }
}
