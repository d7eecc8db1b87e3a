/**
 * `csvLine` (engine/formats/csv.ts: d3-dsv's `csvFormatRow`) against the hand-written writer it
 * replaced and against csv-stringify, on 10,000 rows shaped like `analysis_output.csv`'s (16
 * cells: ISO time, machine, numbers, statuses, an alert with a comma every 50 rows, a null).
 * Each iteration writes every row; all three must give the same bytes (checked first).
 *
 *   deno bench -A bench/csv_bench.ts
 *
 * 2026-11-26, shared 2-core machine under load, best of 35 rounds: csvLine 11 ms, hand-written
 * 14 ms, csv-stringify 160–230 ms. So the library is kept.
 * @module
 */
import assert from "node:assert/strict";
import { stringify } from "npm:csv-stringify@6.9.0/sync";
import { csvLine } from "../engine/mod.ts";

const ROWS: (string | number | null)[][] = Array.from({ length: 10_000 }, (_, i) => [
  new Date(Date.UTC(2026, 0, 1) + i * 2000).toISOString(),
  `m${i % 3}`,
  25.3 + i / 1000,
  25.1234567,
  0.0123,
  1500 + i,
  1499.87,
  -0.5,
  "RUNNING",
  "RUNNING",
  0,
  97.5,
  i % 50 === 0 ? "Temperature 85.50°C exceeded, again" : "",
  0.123456,
  -1.2345,
  null,
]);

/** The writer `engine/pipeline/pipeline.ts` had before csv.ts. */
function handWritten(cells: readonly (string | number | null)[]): string {
  let s = "";
  for (let i = 0; i < cells.length; i++) {
    const v = cells[i];
    const cell = v === null || v === undefined
      ? ""
      : typeof v === "number"
      ? String(v)
      : /[",\n\r]/.test(v)
      ? `"${v.replace(/"/g, '""')}"`
      : v;
    s += i === 0 ? cell : "," + cell;
  }
  return s;
}

const ours = () => ROWS.map((r) => csvLine(r) + "\n").join("");
const viaHand = () => ROWS.map((r) => handWritten(r) + "\n").join("");
const viaCsvStringify = () => stringify(ROWS, { cast: { number: (v) => String(v) } });

assert.equal(viaHand(), ours());
assert.equal(viaCsvStringify(), ours());

Deno.bench("csvLine (d3-dsv csvFormatRow)", { group: "csv", baseline: true }, () => {
  ours();
});
Deno.bench("hand-written (replaced)", { group: "csv" }, () => {
  viaHand();
});
Deno.bench("csv-stringify (sync)", { group: "csv" }, () => {
  viaCsvStringify();
});
