/**
 * Processed rows kept as columns ({@linkcode RowTable}): the objects built from them are the rows
 * the analyzer built as objects before (recorded), every reader gets the same object, and the
 * CSV written from the columns is the CSV of the objects, whatever channels and order a row has.
 */
import assert from "node:assert/strict";
import { Analyzer, MACHINE_CHANNELS, type Reading, ReferenceKernel } from "../../engine/mod.ts";
import { RowTable } from "../../engine/core/row_table.ts";
import { EngineState } from "../../engine/core/state.ts";
import { ReadingColumns } from "../../engine/core/reading_columns.ts";
import type { ProcessedRow } from "../../engine/core/types.ts";
import { ByteText } from "../../engine/formats/byte_text.ts";
import { csvLine } from "../../engine/formats/csv.ts";
import { rowCells, rowColumns, writeRowsCsv } from "../../engine/formats/row_format.ts";
import { tableRows } from "../helpers.ts";

const T0 = Date.UTC(2026, 0, 1);

/** Two machines, 30 ticks 2 s apart. `m1`: temperature rising past its normal and alert ranges
 * with a spike the z-score flags, a pause, a stretch of status changes, channels in two orders
 * and an extra channel every other reading. `m,"2"` (quoted in CSV): temperature only, below
 * its ranges, some statuses null. */
function fixture(): Reading[] {
  const out: Reading[] = [];
  for (let i = 0; i < 30; i++) {
    const timestamp = T0 + i * 2000;
    const temperature = i === 25 ? 90 : 20 + i;
    const speed = 1500 + (i % 2) * 7.25;
    const status = i >= 10 && i < 15
      ? "PAUSED"
      : i >= 20 && i < 25
      ? (i % 2 ? "IDLE" : "RUNNING")
      : "RUNNING";
    const channels: Record<string, number> = i % 3 === 0
      ? { speed, temperature }
      : { temperature, speed };
    if (i % 2 === 0) channels.voltage = 3.3 + i / 100;
    out.push({ timestamp, machine: "m1", status, channels });
    out.push({
      timestamp,
      machine: 'm,"2"',
      status: i % 7 === 0 ? null : "RUNNING",
      channels: { temperature: 12 - (i % 4) * 1.5 },
    });
  }
  return out;
}

/** The fixture's rows, as tables (one per batch) and as `{ index, row }` in the whole input. */
function analysed(): { tables: RowTable[]; rows: { index: number; row: ProcessedRow }[] } {
  const analyzer = new Analyzer(new ReferenceKernel({ window: 5, modelSize: 8 }), {
    channels: MACHINE_CHANNELS,
    processingIntervalMs: 10_000,
  });
  const input = fixture();
  const tables = [
    analyzer.analyze(input.slice(0, 25)).rows,
    analyzer.analyze(input.slice(25)).rows,
  ];
  const rows = [
    ...tableRows(tables[0]!),
    ...tableRows(tables[1]!).map(({ index, row }) => ({ index: index + 25, row })),
  ];
  return { tables, rows };
}

function csvOfObjects(rows: readonly ProcessedRow[], columns: readonly string[]): string {
  return rows.map((r) => csvLine(rowCells(r, columns)) + "\n").join("");
}

function csvOfTables(tables: readonly RowTable[], columns: readonly string[]): string {
  const out = new ByteText(16);
  for (const t of tables) writeRowsCsv(t, columns, out);
  return new TextDecoder().decode(out.bytes());
}

Deno.test("RowTable: the rows are the objects the analyzer built before (4b20cd0), field order too", async () => {
  const expected = await Deno.readTextFile(
    new URL("../fixtures/rows/expected_4b20cd0.json", import.meta.url),
  );
  const { rows } = analysed();
  // Every kind of alert is in the fixture, or the comparison would not cover it.
  const alerts = rows.flatMap(({ row }) => row.alerts).join("\n");
  for (
    const kind of ["above normal", "below normal", "alert range", "unusual", "paused", "Frequent"]
  ) {
    assert.ok(alerts.includes(kind), kind);
  }
  assert.deepEqual(rows, JSON.parse(expected));
  assert.equal(JSON.stringify(rows), JSON.stringify(JSON.parse(expected)));
});

Deno.test("RowTable: every reader gets the same object, each row its own alerts array", () => {
  const { tables } = analysed();
  const t = tables[0]!;
  assert.ok(t.length > 2);
  assert.equal(t.row(1), t.row(1));
  assert.equal(tableRows(t)[1]!.row, t.row(1));
  const empty = [0, 1, 2].map((i) => t.row(i).alerts).filter((a) => a.length === 0);
  if (empty.length > 1) assert.notEqual(empty[0], empty[1]);
  assert.throws(() => t.row(t.length), /row \d+ of a table of \d+ rows/);
});

Deno.test("writeRowsCsv: the columns' CSV is the CSV of the row objects", () => {
  const { tables, rows } = analysed();
  const objects = rows.map((r) => r.row);
  for (
    const columns of [
      rowColumns(),
      rowColumns({ extraChannels: ["voltage", "absent"], anomalyScore: true }),
    ]
  ) {
    const csv = csvOfTables(tables, columns);
    assert.equal(csv, csvOfObjects(objects, columns));
    assert.ok(csv.includes('"m,""2"""'), "a machine id that needs quoting");
  }
});

Deno.test("RowTable.addObject: a row put in comes out equal, and writes the same CSV", () => {
  const row: ProcessedRow = {
    timestamp: "2026-01-01T00:00:00.000Z",
    machine: "m1",
    channels: {
      speed: { current: 1500, moving_avg: 1499.5, trend: "decreasing", zscore: -1.25 },
      temperature: { current: -0, moving_avg: 25.123, trend: "increasing", zscore: 0.4 },
    },
    status_current: null,
    status_mode: "RUNNING",
    status_changes: 4,
    health_score: 0.35,
    alerts: ['a "quoted", alert', "two"],
    anomaly_score: -0.612345,
  };
  const t = new RowTable(1, 1);
  // Past its first room: the columns grow.
  for (let i = 0; i < 70; i++) t.addObject(i % 2 ? row : { ...row, anomaly_score: undefined }, i);
  assert.equal(JSON.stringify(t.row(1)), JSON.stringify(row));
  assert.equal(t.index[69], 69);
  const { anomaly_score: _, ...unscored } = row;
  assert.deepEqual(t.row(68), unscored);
  const columns = rowColumns({ anomalyScore: true });
  assert.equal(csvOfTables([t], columns), csvOfObjects(tableRows(t).map((r) => r.row), columns));
  // Emptied and filled again, it builds the new rows, not the ones built before.
  t.clear();
  t.addObject({ ...unscored, machine: "m9" });
  assert.equal(t.length, 1);
  assert.deepEqual(t.row(0), { ...unscored, machine: "m9" });
});

Deno.test("EngineState.recordRows: each machine's last row of the batch, as recordRow one by one", () => {
  const byTable = new EngineState(), oneByOne = new EngineState();
  for (let batch = 0; batch < 5; batch++) {
    const t = new RowTable();
    // Machines interleaved and repeated, a different set each batch.
    for (let i = 0; i < 40; i++) {
      const machine = `m${(i * 7 + batch) % (5 + batch)}`;
      t.addEntry("temperature", batch * 100 + i, i, 1, 0.5);
      t.addRow(
        i,
        `2026-01-01T00:00:${String(i).padStart(2, "0")}.000Z`,
        machine,
        "RUNNING",
        "RUNNING",
        0,
        1,
        null,
        NaN,
      );
    }
    byTable.recordRows(t);
    for (let i = 0; i < t.length; i++) oneByOne.recordRow(t.row(i));
    // Columns recorded between batches take batch numbers too: no mark may carry over.
    const c = new ReadingColumns();
    c.push({ timestamp: batch, machine: "m1", status: null, channels: { t: 1 } });
    byTable.recordColumns(c);
    oneByOne.recordColumns(c);
  }
  const rows = (s: EngineState) => s.machines().map(({ id, lastRow }) => ({ id, lastRow }));
  assert.deepStrictEqual(rows(byTable), rows(oneByOne));
  assert.equal(byTable.totals.rows, oneByOne.totals.rows);
  assert.ok(byTable.machines().length >= 9);
});
