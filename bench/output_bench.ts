/**
 * Replay's output lines, the old way against the new (BENCHMARKS.md "Replay end to end"):
 * `stream_output.jsonl` as `readings.map(formatReading).join("\n")` encoded into a reused buffer
 * against `writeReading` into a {@linkcode ByteText}; `analysis_output.csv` rows as
 * `csvLine(rowCells(row, columns))` (d3-dsv) joined and encoded against `writeRowCsv`. Batches of
 * 8,192 readings of 1,000 machines (`benchReadings`, the replay's workload) and rows shaped like
 * the analyzer's (3-decimal averages, trends, statuses, an alert every 50 rows). Both ways must
 * give the same bytes (checked first). And the lines of a JSONL replay whose input is already in the
 * written form: copied by `BatchTextBuilder` (as `FileSource` does, a run of lines at once) from
 * the batch's input bytes.
 *
 *   deno bench -A bench/output_bench.ts
 * @module
 */
import assert from "node:assert/strict";
import { benchReadings } from "./gen_readings.ts";
import { ByteText } from "../engine/formats/byte_text.ts";
import { csvLine } from "../engine/formats/csv.ts";
import { formatReading, writeReading } from "../engine/formats/reading_format.ts";
import { rowCells, rowColumns, writeRowCsv } from "../engine/formats/row_format.ts";
import type { ProcessedRow, Reading } from "../engine/core/types.ts";
import type { Batch } from "../engine/core/batch.ts";
import { BatchTextBuilder } from "../engine/sources/file/batch_text.ts";

const BATCH = 8192;
const readings: Reading[] = [...benchReadings(1000, 4 * BATCH)];
const batches: Reading[][] = [];
for (let i = 0; i < readings.length; i += BATCH) batches.push(readings.slice(i, i + BATCH));

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const rows: ProcessedRow[] = readings.filter((_, i) => i % 5 === 0).map((r, i) => ({
  timestamp: new Date(r.timestamp).toISOString(),
  machine: r.machine,
  channels: Object.fromEntries(
    Object.entries(r.channels).map(([name, v]) => [name, {
      current: v,
      moving_avg: round3(v * 0.997),
      trend: i % 7 === 0 ? "increasing" : "stable",
      zscore: round3((i % 40) / 13 - 1.5),
    }]),
  ),
  status_current: r.status,
  status_mode: r.status,
  status_changes: i % 3,
  health_score: i % 11 === 0 ? 0.875 : 1,
  alerts: i % 50 === 0 ? ["Temperature 85.50°C exceeded threshold of 85.0°C"] : [],
}));
const columns = rowColumns();

const encoder = new TextEncoder();
const scratch = new Uint8Array(16 << 20);
const stream = new ByteText(1 << 20);
const csv = new ByteText(1 << 18);

function streamOld(batch: Reading[]): Uint8Array {
  const text = batch.map(formatReading).join("\n") + "\n";
  return scratch.subarray(0, encoder.encodeInto(text, scratch).written);
}
function streamNew(batch: Reading[]): Uint8Array {
  stream.clear();
  for (const r of batch) writeReading(r, stream);
  return stream.bytes();
}
function rowsOld(): Uint8Array {
  let text = "";
  for (const row of rows) text += csvLine(rowCells(row, columns)) + "\n";
  return scratch.subarray(0, encoder.encodeInto(text, scratch).written);
}
function rowsNew(): Uint8Array {
  csv.clear();
  for (const row of rows) writeRowCsv(row, columns, csv);
  return csv.bytes();
}

// Each batch's input: its lines in the written form, and where each line ends (after `\n`).
const inputs = batches.map((b) => {
  const bytes = streamNew(b).slice();
  const ends: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) ends.push(i + 1);
  return { bytes, ends };
});
const texts = new BatchTextBuilder();
function streamCopied(input: { bytes: Uint8Array; ends: number[] }): Uint8Array {
  const batch: Batch = { readings: [], errors: [], lines: 0, suppress: false, log: true };
  texts.open(batch);
  let start = 0;
  for (const end of input.ends) {
    texts.copy(input.bytes, start, end);
    start = end;
  }
  texts.close();
  const bytes = batch.text!.bytes;
  batch.text!.release(); // as the writer does once written
  return bytes;
}

for (const b of batches) assert.deepEqual(streamNew(b).slice(), streamOld(b).slice());
for (const [i, b] of batches.entries()) {
  assert.deepEqual(streamCopied(inputs[i]!).slice(), streamNew(b).slice());
}
assert.deepEqual(rowsNew().slice(), rowsOld().slice());

Deno.bench(
  "stream: map(formatReading).join + encodeInto",
  { group: "stream", baseline: true },
  () => {
    for (const b of batches) streamOld(b);
  },
);
Deno.bench("stream: writeReading into ByteText", { group: "stream" }, () => {
  for (const b of batches) streamNew(b);
});
Deno.bench("stream: input lines copied (BatchTextBuilder)", { group: "stream" }, () => {
  for (const input of inputs) streamCopied(input);
});
Deno.bench("rows: csvLine(rowCells) + encodeInto", { group: "rows", baseline: true }, () => {
  rowsOld();
});
Deno.bench("rows: writeRowCsv into ByteText", { group: "rows" }, () => {
  rowsNew();
});
