/**
 * CSV, written: every CSV row Vigil writes (`analysis_output.csv`, `structured_metrics.csv`,
 * `score`'s output) goes through {@linkcode csvLine}, which is d3-dsv's `csvFormatRow`: RFC 4180
 * quoting (a cell holding `"`, `,`, `\n` or `\r` is quoted, `"` doubled), `null` and
 * `undefined` empty, numbers as JavaScript prints them. `bench/csv_bench.ts` checks that it
 * gives the bytes of the hand-written writers it replaced and is as fast (csv-stringify was
 * 8–12× slower).
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
