/** Anomaly events → per-row alarms (NAB) and alarm states (SKAB), without the pipeline. */
import assert from "node:assert/strict";
import {
  type AlarmEvent,
  alarmRows,
  alarmStateRows,
  parseAnomalyLines,
  RowIndex,
} from "../../engine/eval/alarm_rows.ts";
import { flagSpans } from "../../engine/eval/eval_report.ts";

const T0 = Date.UTC(2014, 3, 10);
const MIN = 60_000;
/** Rows every 5 minutes. */
const rows = (n: number) => Array.from({ length: n }, (_, i) => T0 + i * 5 * MIN);
const ev = (
  row: number,
  severity: string,
  type = "ZSCORE_VALUE",
  channel: string | null = "value",
  machine = "m1",
): AlarmEvent => ({
  timestamp: new Date(T0 + row * 5 * MIN).toISOString(),
  machine,
  type,
  severity,
  channel,
});

Deno.test("RowIndex: exact timestamp → its first row; between rows → the next; after → null", () => {
  const index = new RowIndex([0, 10, 10, 20]);
  assert.equal(index.rowOf(0), 0);
  assert.equal(index.rowOf(10), 1);
  assert.equal(index.rowOf(11), 3);
  assert.equal(index.rowOf(-5), 0);
  assert.equal(index.rowOf(21), null);
  // Unsorted rows (a clock set back): exact matches still win, else the first later row.
  const unsorted = new RowIndex([0, 30, 20, 40]);
  assert.equal(unsorted.rowOf(20), 2);
  assert.equal(unsorted.rowOf(25), 1);
});

Deno.test("alarmRows: WARNING and CRITICAL events flag their reading's row, INFO does not", () => {
  const ts = rows(6);
  const events = [ev(1, "WARNING"), ev(3, "CRITICAL", "THRESHOLD_BREACH_TEMP"), ev(4, "INFO")];
  const r = alarmRows(ts, events);
  assert.deepEqual(r.flags, [false, true, false, true, false, false]);
  assert.equal(r.unmapped, 0);
});

Deno.test("alarmRows: ISO and epoch-ms timestamps; a gap event goes to the next row; late ones are unmapped", () => {
  const ts = rows(4);
  const r = alarmRows(ts, [
    { ...ev(0, "WARNING"), timestamp: T0 + 5 * MIN },
    { ...ev(0, "CRITICAL", "HEARTBEAT_LOSS", null), timestamp: T0 + 12 * MIN },
    { ...ev(0, "WARNING"), timestamp: T0 + 60 * MIN },
  ]);
  assert.deepEqual(r.flags, [false, true, false, true]);
  assert.equal(r.unmapped, 1);
});

Deno.test("alarmStateRows: raised from the raise row up to the clear row of the same type and channel", () => {
  const ts = rows(10);
  const r = alarmStateRows(ts, [
    ev(2, "CRITICAL", "THRESHOLD_BREACH_TEMP", "temperature"),
    ev(3, "INFO", "THRESHOLD_BREACH_SPEED", "speed"), // another type: clears nothing
    ev(5, "INFO", "THRESHOLD_BREACH_TEMP", "temperature"),
    ev(7, "WARNING", "ZSCORE_VALUE", "value"), // never cleared: to the end
  ]);
  assert.deepEqual(flagSpans(r.flags), [[2, 4], [7, 9]]);
});

Deno.test("alarmStateRows: any channel in alarm puts the row in alarm; overlaps merge", () => {
  const ts = rows(10);
  const r = alarmStateRows(ts, [
    ev(1, "CRITICAL", "THRESHOLD_BREACH_CURRENT", "Current"),
    ev(3, "CRITICAL", "THRESHOLD_BREACH_PRESSURE", "Pressure"),
    ev(4, "INFO", "THRESHOLD_BREACH_CURRENT", "Current"),
    ev(6, "INFO", "THRESHOLD_BREACH_PRESSURE", "Pressure"),
  ]);
  assert.deepEqual(flagSpans(r.flags), [[1, 5]]);
});

Deno.test("alarmStateRows: same channel on another machine is another alarm; HEARTBEAT_RESTORED clears HEARTBEAT_LOSS", () => {
  const ts = rows(8);
  const r = alarmStateRows(ts, [
    ev(1, "WARNING", "ZSCORE_VALUE", "value", "m1"),
    ev(2, "INFO", "ZSCORE_VALUE", "value", "m2"), // m2's clear leaves m1's alarm standing
    ev(3, "INFO", "ZSCORE_VALUE", "value", "m1"),
    ev(4, "CRITICAL", "HEARTBEAT_LOSS", null),
    ev(6, "INFO", "HEARTBEAT_RESTORED", null),
  ]);
  assert.deepEqual(flagSpans(r.flags), [[1, 2], [4, 5]]);
});

Deno.test("alarmStateRows: a re-raise while standing changes nothing; a raise and clear on one row leave it clear", () => {
  const ts = rows(6);
  const r = alarmStateRows(ts, [
    ev(1, "WARNING", "DEVICE_STATUS", null),
    ev(2, "CRITICAL", "DEVICE_STATUS", null),
    ev(3, "INFO", "DEVICE_STATUS", null),
    ev(4, "WARNING"),
    ev(4, "INFO"),
  ]);
  assert.deepEqual(flagSpans(r.flags), [[1, 2]]);
});

Deno.test("parseAnomalyLines reads anomalies.jsonl, skipping blank lines", () => {
  const text = `${JSON.stringify(ev(1, "WARNING"))}\n\n${JSON.stringify(ev(2, "INFO"))}\n`;
  assert.deepEqual(parseAnomalyLines(text).map((e) => e.severity), ["WARNING", "INFO"]);
});
