import assert from "node:assert/strict";
import {
  ByteText,
  NUMBER_ROOM,
  SAFE_INTEGER_ROOM,
  writeNumber,
  writeSafeInteger,
} from "../../engine/formats/byte_text.ts";
import { prng } from "../helpers.ts";
import { formatReading, writeReading } from "../../engine/formats/reading_format.ts";
import { rowCells, rowColumns, writeRowCsv } from "../../engine/formats/row_format.ts";
import { csvCell, csvLine } from "../../engine/formats/csv.ts";
import type { ProcessedRow, Reading } from "../../engine/core/types.ts";

const decode = (t: ByteText) => new TextDecoder().decode(t.bytes());

/** A seeded generator, so that a failure is found again. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

Deno.test("ByteText.number prints every number as String does", () => {
  const rnd = random(7);
  const values = [
    0,
    -0,
    1,
    -1,
    0.001,
    -0.001,
    0.1,
    0.3,
    0.1 + 0.2,
    9.999,
    10,
    1e12,
    1e12 + 0.5,
    1e15,
    1e21,
    1e-7,
    123456789.123,
    NaN,
    Infinity,
    -Infinity,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_VALUE,
  ];
  for (let i = 0; i < 20_000; i++) {
    const scale = 10 ** Math.floor(rnd() * 8);
    const sign = rnd() < 0.3 ? -1 : 1;
    values.push(sign * Math.round(rnd() * scale * 1000) / 1000); // 3 decimals at most
    values.push(sign * Math.round(rnd() * scale * 100) / 100);
    values.push(sign * rnd() * scale); // full precision
  }
  const out = new ByteText(16);
  for (const v of values) {
    out.clear();
    out.number(v);
    assert.equal(decode(out), String(v), `number ${v}`);
  }
});

Deno.test("writeNumber: the bytes of String(v) within NUMBER_ROOM, or -1 for String to write", () => {
  const buf = new Uint8Array(NUMBER_ROOM + 2).fill(120);
  for (const v of [-2147483.647, 2147483.647, 0, -0.5, 999.999, 1000, 25.7]) {
    const end = writeNumber(buf, 1, v);
    assert.ok(end - 1 <= NUMBER_ROOM, `${v}`);
    assert.equal(new TextDecoder().decode(buf.subarray(1, end)), String(v));
  }
  for (const v of [1 / 3, 2147484, -2147484, NaN, Infinity, 1e-7]) {
    buf.fill(120);
    assert.equal(writeNumber(buf, 1, v), -1, `${v}`);
    assert.ok(buf.every((b) => b === 120), `${v}: nothing written`);
  }
});

Deno.test("ByteText.reserve and end: bytes written into the room are kept up to the end", () => {
  const t = new ByteText(4);
  t.text("ab");
  const buf = t.reserve(100);
  assert.ok(buf.length >= 102);
  let at = t.length;
  for (const c of "cdef") buf[at++] = c.charCodeAt(0);
  t.end(at);
  t.text("g");
  assert.equal(decode(t), "abcdefg");
});

Deno.test("ByteText.text writes any string as UTF-8 and grows past its capacity", () => {
  const out = new ByteText(4);
  const parts = ["abc", "°C é", "", "x".repeat(100), "😀 mixed", "end"];
  for (const p of parts) out.text(p);
  assert.equal(decode(out), parts.join(""));
  out.clear();
  assert.equal(out.length, 0);
});

Deno.test("writeReading writes formatReading's line and a newline", () => {
  const readings: Reading[] = [
    {
      timestamp: Date.UTC(2026, 0, 1),
      machine: "m1",
      status: "RUNNING",
      channels: { temperature: 25.7, speed: 1500 },
    },
    {
      timestamp: Date.UTC(2026, 0, 1),
      machine: 'odd "name" é',
      status: null,
      channels: { temperature: -0.125, "vibration x": 1 / 3, speed: NaN },
      injected: "spike",
    },
    {
      timestamp: Date.UTC(2026, 0, 1, 0, 0, 10),
      machine: "m2",
      status: "WARNING_OVERHEAT",
      channels: {},
    },
  ];
  const out = new ByteText(8);
  for (const r of readings) writeReading(r, out);
  assert.equal(decode(out), readings.map((r) => formatReading(r) + "\n").join(""));
});

Deno.test("writeRowCsv writes csvLine(rowCells) and a newline", () => {
  const row = (over: Partial<ProcessedRow>): ProcessedRow => ({
    timestamp: "2026-01-01T00:00:00.000Z",
    machine: "m1",
    channels: {
      temperature: { current: 25.7, moving_avg: 25.123456, trend: "stable", zscore: 0.4 },
      speed: { current: 1500, moving_avg: 1499.5, trend: "increasing", zscore: -1.25 },
      voltage: { current: 3.3, moving_avg: 3.31, trend: "decreasing", zscore: 0 },
    },
    status_current: "RUNNING",
    status_mode: "RUNNING",
    status_changes: 0,
    health_score: 0.975,
    alerts: [],
    ...over,
  });
  const rows = [
    row({}),
    row({ alerts: ["Temperature 85.50°C exceeded", 'a "quoted", alert'], anomaly_score: 0.61 }),
    row({ machine: "m,2", status_current: null, status_mode: null, timestamp: "t\n1" }),
    row({ channels: {} }),
    // A cell longer than a row's reserved room, and numbers `String` prints.
    row({ machine: "m".repeat(700), health_score: 1 / 3, anomaly_score: 3e9 }),
    // NaN numbers print as "NaN" (a moving average of ±1.7e308 readings overflows). (In a row
    // table an anomaly score of NaN is a row without one: an empty cell, as here.)
    row({
      channels: {
        temperature: { current: 1.7e308, moving_avg: NaN, trend: "stable", zscore: NaN },
      },
      health_score: NaN,
    }),
  ];
  for (
    const columns of [
      rowColumns(),
      rowColumns({ extraChannels: ["voltage", "absent"], anomalyScore: true }),
    ]
  ) {
    const out = new ByteText(8);
    for (const r of rows) writeRowCsv(r, columns, out);
    assert.equal(decode(out), rows.map((r) => csvLine(rowCells(r, columns)) + "\n").join(""));
  }
});

Deno.test("csvCell quotes as csvLine does", () => {
  for (const s of ["", "plain", "a,b", 'say "hi"', "two\nlines", "cr\r", "°C", " spaced "]) {
    assert.equal(csvCell(s), csvLine([s]));
  }
});

Deno.test("writeSafeInteger: String's digits for every non-negative safe integer, -1 for others", () => {
  const buf = new Uint8Array(SAFE_INTEGER_ROOM + 4);
  const decoder = new TextDecoder();
  const values = [0, 1, 9, 10, 99999999, 1e8, 1e8 + 1, 4294967295, 2 ** 32, 1e15, 2 ** 53 - 1];
  const random = prng(3);
  for (let i = 0; i < 20000; i++) values.push(Math.floor(random() * 2 ** (1 + (i % 53))));
  for (const v of values) {
    const end = writeSafeInteger(buf, 2, v);
    assert.equal(decoder.decode(buf.subarray(2, end)), String(v), `${v}`);
  }
  for (const v of [-1, 0.5, NaN, Infinity, 2 ** 53, -0.0001]) {
    assert.equal(writeSafeInteger(buf, 0, v), -1, `${v}`);
  }
});
