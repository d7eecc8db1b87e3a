/** eval's report builders and tables, on hand-made per-row alarms (no pipeline). */
import assert from "node:assert/strict";
import {
  flagSpans,
  formatColumns,
  formatNabTable,
  formatSkabTable,
  nabReport,
  skabReport,
} from "../../engine/eval/eval_report.ts";

Deno.test("nabReport: windows caught, false alarms, alarms per caught window, delay", () => {
  const timestamps = Array.from({ length: 20 }, (_, i) => i * 60_000);
  const alarms = timestamps.map((_, i) => i === 3 || i === 5 || i === 6 || i === 17);
  const r = nabReport([{
    name: "a/f.csv",
    timestamps,
    alarms,
    windows: [[4 * 60_000, 8 * 60_000], [
      10 * 60_000,
      12 * 60_000,
    ]],
  }], { probationPercent: 0 });
  const f = r.files[0]!;
  assert.equal(f.windowsCaught, 1);
  assert.equal(f.falseAlarms, 2);
  assert.equal(f.alarmsInWindows, 2);
  assert.equal(f.alarmsPerCaughtWindow, 2);
  assert.equal(f.meanDelayRows, 1);
  assert.equal(f.meanDelayMinutes, 1);
  assert.deepEqual(f.alarmRows, [3, 5, 6, 17]);
  assert.deepEqual(r.corpus.scores, f.scores);
  assert.ok(formatNabTable(r).includes("1/2"));
});

Deno.test("nabReport: a file without windows has no normalised score (null, '-' in the table)", () => {
  const r = nabReport([{
    name: "q.csv",
    timestamps: [0, 1, 2],
    alarms: [false, true, false],
    windows: [],
  }], {
    probationPercent: 0,
  });
  assert.equal(r.files[0]!.scores.standard, null);
  assert.equal(r.files[0]!.alarmsPerCaughtWindow, null);
  assert.match(formatNabTable(r), /q\.csv\s+-\s+-\s+-\s+0\/0\s+1/);
});

Deno.test("skabReport: counts summed over files after the skipped rows and on all rows", () => {
  const r = skabReport([
    { name: "a", anomaly: [0, 0, 1, 1], state: [true, false, true, false] },
    { name: "b", anomaly: [1, 0, 0, 1], state: [false, false, true, true] },
  ], 2);
  assert.deepEqual(
    { tp: r.corpus.afterTraining.tp, fp: r.corpus.afterTraining.fp, fn: r.corpus.afterTraining.fn },
    { tp: 2, fp: 1, fn: 1 },
  );
  assert.equal(r.corpus.afterTraining.f1, 2 / (2 + 1));
  assert.equal(r.corpus.allRows.rows, 8);
  assert.equal(r.corpus.allRows.far, 2 / 4 * 100);
  assert.deepEqual(r.files[1]!.alarmSpans, [[2, 3]]);
  const table = formatSkabTable(r);
  assert.ok(table.includes("after the first 2 rows"));
  assert.ok(table.includes("Conv-AE F1 0.78 FAR 13.55% MAR 28.02%"));
});

Deno.test("skabReport: no rows after the skipped ones gives null figures", () => {
  const r = skabReport([{ name: "a", anomaly: [0, 1], state: [false, false] }], 400);
  assert.equal(r.corpus.afterTraining.rows, 0);
  assert.equal(r.corpus.afterTraining.f1, null);
});

Deno.test("flagSpans and formatColumns", () => {
  assert.deepEqual(flagSpans([true, true, false, true]), [[0, 1], [3, 3]]);
  assert.deepEqual(flagSpans([]), []);
  assert.equal(formatColumns([["a", "1"], ["bb", "22"]]), "a    1\nbb  22");
});
