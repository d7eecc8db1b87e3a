/**
 * SKAB's binary metrics (waico/SKAB core/metrics.py `confusion_matrix`, `chp_score` with
 * metric="binary") and the SKAB reader. The perfect/null detector rows are those of SKAB's
 * README leaderboard (F1 1 / FAR 0 / MAR 0 and F1 0 / FAR 0 / MAR 100).
 */
import assert from "node:assert/strict";
import {
  pyRound,
  SKAB_TRAIN_ROWS,
  skabBinaryMetrics,
  skabBinaryScore,
  skabConfusionMatrix,
} from "../../engine/eval/skab_metrics.ts";
import {
  parseSkabCsv,
  readSkabCorpus,
  readSkabFile,
  stripSkabLabelColumns,
} from "../../engine/eval/labelled_data.ts";

const SKAB_FIXTURE = new URL("../fixtures/eval/skab", import.meta.url).pathname;

Deno.test("confusion_matrix: 1 (or true, or 1.0) is an anomaly, anything else is not", () => {
  assert.deepEqual(skabConfusionMatrix([0, 1, 1, 0], [1, 1, 0, 0]), { tp: 1, tn: 1, fp: 1, fn: 1 });
  assert.deepEqual(skabConfusionMatrix([1.0, 0.0, 1.0], [true, false, false]), {
    tp: 1,
    tn: 1,
    fp: 0,
    fn: 1,
  });
  assert.deepEqual(skabConfusionMatrix([2, Number.NaN], [1, 1]), { tp: 0, tn: 0, fp: 2, fn: 0 });
  assert.throws(() => skabConfusionMatrix([0, 1], [0]));
});

Deno.test("binary formulas: F1 = TP / (TP + (FN + FP) / 2), FAR and MAR in %", () => {
  assert.deepEqual(skabBinaryMetrics({ tp: 1, tn: 1, fp: 1, fn: 1 }), {
    f1: 0.5,
    far: 50,
    mar: 50,
  });
  const m = skabBinaryMetrics({ tp: 30, tn: 60, fp: 10, fn: 20 });
  assert.equal(m.f1, 30 / (30 + 15));
  assert.equal(m.far, 10 / 70 * 100);
  assert.equal(m.mar, 20 / 50 * 100);
  // numpy gives nan for 0/0
  assert.ok(Number.isNaN(skabBinaryMetrics({ tp: 0, tn: 5, fp: 0, fn: 0 }).f1));
});

Deno.test("leaderboard: perfect detector 1 / 0 / 0, null detector 0 / 0 / 100", () => {
  const truths = [[0, 0, 1, 1, 0], [1, 0, 0]];
  const perfect = skabBinaryScore(truths, truths);
  assert.deepEqual(perfect.rounded, { f1: 1, far: 0, mar: 0 });
  const nothing = skabBinaryScore(truths, truths.map((t) => t.map(() => 0)));
  assert.deepEqual(nothing.rounded, { f1: 0, far: 0, mar: 100 });
});

Deno.test("files: per-file counts are summed, the same as concatenating the files", () => {
  const truths = [[0, 0, 1, 1], [0, 1, 1, 1, 0, 0]];
  const preds = [[0, 1, 1, 0], [1, 1, 0, 1, 0, 1]];
  const split = skabBinaryScore(truths, preds);
  const joined = skabBinaryScore([truths.flat()], [preds.flat()]);
  assert.deepEqual(split, joined);
  assert.deepEqual([split.tp, split.tn, split.fp, split.fn, split.rows], [3, 2, 3, 2, 10]);
  assert.equal(split.f1, 3 / (3 + 5 / 2));
  assert.deepEqual(split.rounded, { f1: 0.55, far: 60, mar: 40 });
  assert.throws(() => skabBinaryScore(truths, preds.slice(1)));
});

Deno.test("skipRows drops each file's first rows from labels and predictions", () => {
  const truths = [[0, 0, 1, 1], [0, 0, 0, 1]];
  const always = truths.map((t) => t.map(() => 1));
  assert.equal(skabBinaryScore(truths, always).f1, 3 / (3 + 5 / 2));
  const skipped = skabBinaryScore(truths, always, { skipRows: 2 });
  assert.deepEqual([skipped.tp, skipped.fp, skipped.rows], [3, 1, 4]);
  assert.equal(SKAB_TRAIN_ROWS, 400);
});

Deno.test("pyRound: Python's round(x, 2), ties to even on the exact binary value", () => {
  assert.equal(pyRound(0.125, 2), 0.12); // exact tie → even
  assert.equal(pyRound(0.375, 2), 0.38);
  assert.equal(pyRound(2.675, 2), 2.67); // 2.67499999... in binary
  assert.equal(pyRound(12.125, 2), 12.12);
  assert.equal(pyRound(0.698403149950782, 2), 0.7);
  assert.equal(pyRound(72.09, 2), 72.09);
  assert.ok(Number.isNaN(pyRound(Number.NaN, 2)));
});

Deno.test("reader: SKAB files, labels split off, anomaly-free skipped", async () => {
  const files = await readSkabCorpus(SKAB_FIXTURE);
  assert.deepEqual(files.map((f) => f.path.slice(SKAB_FIXTURE.length)), [
    "/other/1.csv",
    "/valve1/0.csv",
  ]);
  const [other, valve] = files;
  assert.deepEqual(other!.featureNames, ["Accelerometer1RMS", "Current", "Pressure"]);
  assert.deepEqual(other!.features[3], [0.023, 1.3, 0.38]);
  assert.deepEqual(other!.anomaly, [0, 0, 0, 1, 1, 1, 1, 1]);
  assert.deepEqual(other!.changepoint, [0, 0, 0, 1, 0, 0, 0, 0]);
  assert.equal(other!.datetime[1]! - other!.datetime[0]!, 1000);
  assert.equal(valve!.features.length, 12);

  const free = await readSkabFile(`${SKAB_FIXTURE}/anomaly-free/anomaly-free.csv`);
  assert.equal(free.anomaly, null);
  assert.equal(free.features.length, 2);

  // Always-on alarm over the fixture: 9 anomalous rows, 11 normal ones.
  const truths = files.map((f) => f.anomaly!);
  const always = files.map((f) => f.anomaly!.map(() => 1));
  assert.equal(skabBinaryScore(truths, always).f1, 9 / (9 + 11 / 2));
  assert.equal(skabBinaryScore(truths, always, { skipRows: 3 }).f1, 9 / (9 + 5 / 2));
});

Deno.test("reader: label columns can be stripped from the CSV text", () => {
  const text = "datetime;Current;anomaly;changepoint\n2020-03-09 10:14:33;1.3;0.0;1.0\n";
  assert.equal(stripSkabLabelColumns(text), "datetime;Current\n2020-03-09 10:14:33;1.3\n");
  const parsed = parseSkabCsv(stripSkabLabelColumns(text));
  assert.deepEqual([parsed.featureNames, parsed.anomaly], [["Current"], null]);
  assert.throws(() => parseSkabCsv("time;Current\n"));
});
