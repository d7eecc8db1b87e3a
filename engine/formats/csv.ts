/**
 * CSV, written: every CSV row Vigil writes (`structured_metrics.csv`, `score`'s output) goes
 * through {@linkcode csvLine}, which is d3-dsv's `csvFormatRow`: RFC 4180 quoting (a cell holding
 * `"`, `,`, `\n` or `\r` is quoted, `"` doubled), `null` and `undefined` empty, numbers as
 * JavaScript prints them. `bench/csv_bench.ts` checks that it gives the bytes of the hand-written
 * writers it replaced and is as fast (csv-stringify was 8–12× slower). The exception is
 * `analysis_output.csv`, replay's bulk: its rows are written as bytes by `writeRowsCsv`
 * (row_format.ts, from a batch's row columns), hand-written with {@linkcode csvCell} (d3-dsv's quoting rule) because
 * `bench/output_bench.ts` measured it 3.8× faster than `csvLine(rowCells(…))` plus encoding;
 * tests/unit/byte_text_test.ts checks it writes `csvLine`'s bytes.
 *
 * CSV, read: one line at a time ({@linkcode CsvRows}, {@linkcode splitCsv}), shared by replay's
 * line parser and the table reader of `train` and `score`. Hand-written rather than d3-dsv's
 * `csvParseRows`, whose rules differ on lines that are not clean CSV (a lone `\r` ends a row
 * there; a quote inside a cell is kept there but toggles quoting here): replay must keep
 * rejecting, and reading, every such line as it always has. It is also faster on clean lines
 * (a plain `split` when the line holds no quote).
 * @module
 */
// @deno-types="npm:@types/d3-dsv@^3.0.7"
import { csvFormatRow } from "d3-dsv";

/** A cell {@linkcode csvLine} writes as is. */
export type CsvValue = string | number | null | undefined;

/**
 * Cells as one `,`-separated CSV line, without the line break.
 *
 * @example
 * ```ts
 * csvLine(["2026-01-01T00:00:00.000Z", "m1", 25.7, null, "a, b"]);
 * // '2026-01-01T00:00:00.000Z,m1,25.7,,"a, b"'
 * ```
 */
export function csvLine(cells: readonly CsvValue[]): string {
  // d3-dsv's types say strings; it writes null and undefined as empty and numbers via `+ ""`.
  return csvFormatRow(cells as string[]);
}

/**
 * One cell as {@linkcode csvLine} writes it (d3-dsv's rule): quoted, with `"` doubled, when it
 * holds `"`, `,`, `\n` or `\r`; else as it is.
 *
 * @example
 * ```ts
 * csvCell("a, b"); // '"a, b"'
 * csvCell("RUNNING"); // "RUNNING"
 * ```
 */
export function csvCell(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34 || c === 44 || c === 10 || c === 13) return '"' + s.replaceAll('"', '""') + '"';
  }
  return s;
}

/**
 * Any value as a {@linkcode CsvValue}: bigints and booleans as JavaScript prints them, a `Date`
 * as ISO 8601, any other object as JSON (bigints as their digits); strings, numbers, `null` and
 * `undefined` unchanged.
 *
 * @example
 * ```ts
 * csvValue(new Date(0)); // "1970-01-01T00:00:00.000Z"
 * csvValue({ a: 1n }); // '{"a":"1"}'
 * csvLine(["x", { a: [1, 2] }].map(csvValue)); // 'x,"{""a"":[1,2]}"'
 * ```
 */
export function csvValue(value: unknown): CsvValue {
  if (value === null || value === undefined) return value;
  if (typeof value === "string" || typeof value === "number") return value;
  if (typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value, (_k, v) => typeof v === "bigint" ? String(v) : v) ?? "";
}

/**
 * The separator of a CSV file, sniffed from its header line: `;` when the header holds more
 * `;` than `,` (SKAB's files), else `,`.
 *
 * @example
 * ```ts
 * csvSeparator("datetime;Accelerometer1RMS;Current"); // ";"
 * csvSeparator("timestamp,machine,temperature"); // ","
 * ```
 */
export function csvSeparator(header: string): "," | ";" {
  return count(header, ";") > count(header, ",") ? ";" : ",";
}

function count(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i !== -1; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

/**
 * Splits one CSV line; handles `"quoted, fields"` with `""` escapes when a quote is present.
 *
 * @example
 * ```ts
 * splitCsv('a,"b,c","d""e"', ","); // ["a", "b,c", 'd"e']
 * ```
 */
export function splitCsv(line: string, sep: string): string[] {
  if (!line.includes('"')) return line.split(sep);
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === sep) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/**
 * The rows of a CSV file, fed one non-blank line at a time: the first line is the header (its
 * separator sniffed by {@linkcode csvSeparator}, its names trimmed, a byte-order mark dropped);
 * every later line is split into its cells, untrimmed. The caller decides what a row whose
 * width differs from the header's means.
 *
 * @example
 * ```ts
 * const csv = new CsvRows();
 * csv.next("timestamp;temperature"); // null: the header
 * csv.columns; // ["timestamp", "temperature"]
 * csv.next("2026-01-01T00:00:00Z;25.7"); // ["2026-01-01T00:00:00Z", "25.7"]
 * ```
 */
export class CsvRows {
  #columns: string[] | null = null;
  #sep = ",";

  /** The header's names, trimmed; `null` before the header. */
  get columns(): readonly string[] | null {
    return this.#columns;
  }

  /** The header's separator (`,` until the header is read). */
  get separator(): string {
    return this.#sep;
  }

  /** Takes the header (returns `null`), then each row's cells. */
  next(line: string): string[] | null {
    if (this.#columns === null) {
      this.#sep = csvSeparator(line);
      this.#columns = splitCsv(line.replace(/^\uFEFF/, ""), this.#sep).map((h) => h.trim());
      return null;
    }
    return splitCsv(line, this.#sep);
  }
}
