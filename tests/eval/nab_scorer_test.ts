/**
 * NAB's own scorer tests, ported, plus Vigil's alarm-scoring layer and the NAB reader.
 *
 * Ported from numenta/NAB:
 * - tests/integration/sweeper_test.py (commit d62afec)
 * - tests/integration/scorer_test.py, false_positive_test.py, false_negative_test.py,
 *   true_positive_test.py (the Sweeper-based versions)
 * - tests/unit/scorer_test.py (written for the old `Scorer` class; the same expected numbers
 *   hold for the `Sweeper` that replaced it)
 * - tests/unit/normalize_test.py (testScoreNormalization)
 * Helpers `generateTimestamps` / `generateWindows` follow nab/test_helpers.py.
 *
 * Past ~400 lines: the whole suite of one component (nab scorer), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */
import assert from "node:assert/strict";
import {
  type AnomalyPoint,
  getProbationaryLength,
  NAB_PROFILES,
  normalizeScore,
  prepAnomalyListForScoring,
  scaledSigmoid,
  scoreAlarmCorpus,
  scoreAlarms,
  Sweeper,
  type ThresholdScore,
  type WindowLimit,
} from "../../engine/eval/nab_scorer.ts";
import {
  parseBenchmarkTimestamp,
  parseNabCsv,
  parseNabWindows,
  readNabCorpus,
} from "../../engine/eval/labelled_data.ts";

// ---------------------------------------------------------------- helpers (nab/test_helpers.py)

const START = Date.UTC(2016, 6, 5, 10);
const FIVE_MINUTES = 5 * 60_000;

function generateTimestamps(start: number, increment: number, length: number): number[] {
  return Array.from({ length }, (_, i) => start + i * increment);
}

/** Python's round() to an integer: ties to even. */
function pyRoundInt(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function generateWindows(
  timestamps: readonly number[],
  numWindows: number,
  windowSize: number,
): WindowLimit[] {
  const start = timestamps[0]!;
  const delta = timestamps[1]! - timestamps[0]!;
  const diff = pyRoundInt((timestamps.length - numWindows * windowSize) / (numWindows + 1));
  const windows: WindowLimit[] = [];
  for (let i = 0; i < numWindows; i++) {
    const t1 = start + delta * diff * (i + 1) + delta * windowSize * i;
    const t2 = t1 + delta * (windowSize - 1);
    if (!timestamps.includes(t1) || !timestamps.includes(t2)) {
      throw new Error("You got the wrong times from the window generator");
    }
    windows.push([t1, t2]);
  }
  return windows;
}

function checkCounts(
  row: ThresholdScore | null,
  tn: number,
  tp: number,
  fp: number,
  fn: number,
): void {
  assert.ok(row !== null);
  assert.equal(row.tn, tn, "Incorrect tn count");
  assert.equal(row.tp, tp, "Incorrect tp count");
  assert.equal(row.fp, fp, "Incorrect fp count");
  assert.equal(row.fn, fn, "Incorrect fn count");
}

/** unittest's assertAlmostEqual: round(a - b, places) == 0. */
function almostEqual(actual: number, expected: number, places = 7): void {
  assert.ok(
    Math.abs(actual - expected) < 0.5 * 10 ** -places,
    `${actual} != ${expected} within ${places} places`,
  );
}

const zeros = (n: number) => new Array<number>(n).fill(0);
const ONES_COST = { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 1.0, tnWeight: 1.0 };
const point = (
  timestamp: number,
  anomalyScore: number,
  sweepScore: number,
  windowName: string | null,
): AnomalyPoint => ({ timestamp, anomalyScore, sweepScore, windowName });

// ------------------------------------------------------- tests/integration/sweeper_test.py

Deno.test("sweeper: testOptimizerInit", () => {
  assert.notEqual(new Sweeper().probationPercent, undefined);
  assert.equal(new Sweeper({ probationPercent: 0.30 }).probationPercent, 0.30);
  const o = new Sweeper({ costMatrix: { tpWeight: 0, fpWeight: 1, fnWeight: 2 } });
  assert.deepEqual([o.tpWeight, o.fpWeight, o.fnWeight], [0, 1, 2]);
});

Deno.test("sweeper: testGetProbationaryLength", () => {
  for (
    const [numRows, percent, expected] of [
      [100, 0.0, 0],
      [100, 1.0, 100],
      [100, 0.1, 10],
      [100, 0.15, 15],
      [5000, 0.1, 500],
      [6000, 0.1, 500], // cap at 5000 rows' worth
    ] as const
  ) {
    assert.equal(
      new Sweeper({ probationPercent: percent }).getProbationaryLength(numRows),
      expected,
    );
    assert.equal(getProbationaryLength(numRows, percent), expected);
  }
  // NAB's default: 15 %, at most 750 rows.
  assert.equal(getProbationaryLength(22695), 750);
});

Deno.test("sweeper: testSetCostMatrix", () => {
  const o = new Sweeper();
  assert.deepEqual([o.tpWeight, o.fpWeight, o.fnWeight], [0, 0, 0]);
  o.setCostMatrix({ tpWeight: 2.0, fnWeight: 3.0, fpWeight: 4.0 });
  assert.deepEqual([o.tpWeight, o.fnWeight, o.fpWeight], [2.0, 3.0, 4.0]);
});

Deno.test("sweeper: testCalcSweepScoreWindowScoreInteraction", () => {
  const numRows = 100;
  const fakeAnomalyScores = new Array<number>(numRows).fill(1);
  const fakeTimestamps = Array.from({ length: numRows }, (_, i) => i);
  const windowA: WindowLimit = [30, 39];
  const windowB: WindowLimit = [75, 95];
  const expectedInWindowCount = (windowA[1] - windowA[0] + 1) + (windowB[1] - windowB[0] + 1);
  const o = new Sweeper({
    probationPercent: 0.1,
    costMatrix: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.11 },
  });
  const scored = o.calcSweepScore(
    fakeTimestamps,
    fakeAnomalyScores,
    [windowA, windowB],
    "TestDataSet",
  );
  assert.equal(scored.length, numRows);
  assert.equal(
    scored.filter((x) => x.windowName === "probationary").length,
    o.getProbationaryLength(numRows),
  );
  const inWindow = scored.filter((x) => x.windowName !== "probationary" && x.windowName !== null);
  assert.equal(inWindow.length, expectedInWindowCount);
  for (const p of scored) {
    if (p.windowName !== "probationary" && p.windowName !== null) assert.ok(p.sweepScore > 0);
    else assert.ok(p.sweepScore < 0);
  }
});

Deno.test("sweeper: testPrepAnomalyListForScoring", () => {
  const fakeInput = [
    point(0, 0.5, 0, "probationary"),
    point(1, 0.5, 0, "probationary"),
    point(2, 0.0, 0, null),
    point(3, 0.1, 0, null),
    point(4, 0.2, 0, "windowA"),
    point(5, 0.5, 0, "windowB"),
    point(6, 0.5, 0, null),
    point(7, 0.0, 0, null),
  ];
  assert.deepEqual(prepAnomalyListForScoring(fakeInput), [
    point(5, 0.5, 0, "windowB"),
    point(6, 0.5, 0, null),
    point(4, 0.2, 0, "windowA"),
    point(3, 0.1, 0, null),
    point(2, 0.0, 0, null),
    point(7, 0.0, 0, null),
  ]);
});

Deno.test("sweeper: testPrepareScoreParts", () => {
  const fakeInput = [
    point(0, 0.5, 0, "probationary"),
    point(1, 0.5, 0, "probationary"),
    point(2, 0.0, 0, null),
    point(4, 0.2, 0, "windowA"),
    point(5, 0.2, 0, "windowA"),
    point(6, 0.5, 0, "windowB"),
    point(7, 0.5, 0, null),
  ];
  const o = new Sweeper();
  o.fnWeight = 33.0;
  assert.deepEqual(Object.fromEntries(o.prepareScoreByThresholdParts(fakeInput)), {
    fp: 0,
    windowA: -33.0,
    windowB: -33.0,
  });
});

Deno.test("sweeper: testCalcScoreByThresholdReturnsExpectedScores", () => {
  const fnWeight = 5.0;
  const o = new Sweeper();
  o.fnWeight = fnWeight;
  const fakeInput = [
    point(0, 0.5, -1000, "probationary"), // never contributes (probationary)
    point(1, 0.5, -1000, "probationary"),
    point(2, 0.0, -3, null), // never contributes (anomaly == 0.0)
    point(4, 0.2, 20, "windowA"), // replaces the next row when threshold <= 0.2
    point(5, 0.3, 10, "windowA"), // windowA's score until threshold <= 0.2
    point(6, 0.5, 5, "windowB"), // windowB's only score, used from threshold 0.5
    point(7, 0.5, -3, null),
  ];
  const row = (
    threshold: number,
    score: number,
    tp: number,
    tn: number,
    fp: number,
    fn: number,
    total: number,
  ): ThresholdScore => ({ threshold, score, tp, tn, fp, fn, total });
  assert.deepEqual(o.calcScoreByThreshold(fakeInput), [
    row(1.1, -2 * fnWeight, 0, 2, 0, 3, 5), // both windows false negatives
    row(0.5, 5 - 3 - fnWeight, 1, 1, 1, 2, 5), // windowA still FN
    row(0.3, 5 - 3 + 10, 2, 1, 1, 1, 5), // both windows have a TP
    row(0.2, 5 - 3 + 20, 3, 1, 1, 0, 5), // windowA's new max
    row(0.0, 5 - 3 + 20 - 3, 3, 0, 2, 0, 5),
  ]);
});

// --------------------------------------------------- tests/integration/scorer_test.py

Deno.test("scorer: testNullCase", () => {
  const length = 10;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const sweeper = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const { matchingRow } = sweeper.scoreDataSet(timestamps, zeros(length), [], "testData", 0.5);
  assert.equal(matchingRow?.score, 0.0);
  checkCounts(matchingRow, 10, 0, 0, 0);
});

/** mulberry32: a seeded stand-in for Python's `random`. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("scorer: testFalsePositiveScaling", () => {
  // Random detections with fpWeight 0.11 (10 % = windowSize / length) roughly cancel the TP
  // reward; one FN on average pulls the mean towards -0.5. (Upstream's loop rebinds `scores` to
  // the per-row list, so it averages row scores; this checks the intended file scores.)
  const length = 100;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const windows = generateWindows(timestamps, 1, 10);
  const sweeper = new Sweeper({
    probationPercent: 0,
    costMatrix: { ...ONES_COST, fpWeight: 0.11 },
  });
  const random = seeded(42);
  const scores: number[] = [];
  for (let run = 0; run < 20; run++) {
    const anomalyScores = zeros(length);
    const pool = Array.from({ length }, (_, i) => i);
    for (let k = 0; k < 10; k++) {
      const j = k + Math.floor(random() * (length - k));
      [pool[k], pool[j]] = [pool[j]!, pool[k]!];
      anomalyScores[pool[k]!] = 1;
    }
    const { matchingRow } = sweeper.scoreDataSet(
      timestamps,
      anomalyScores,
      windows,
      "testData",
      0.5,
    );
    scores.push(matchingRow!.score);
  }
  const avgScore = scores.reduce((a, b) => a + b, 0) / scores.length;
  assert.ok(-1.5 <= avgScore && avgScore <= 0.5, `average score ${avgScore}`);
});

Deno.test("scorer: testRewardLowFalseNegatives", () => {
  const length = 100;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const windows = generateWindows(timestamps, 1, 10);
  const anomalyScores = zeros(length);
  const s1 = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const s2 = new Sweeper({
    probationPercent: 0,
    costMatrix: { ...ONES_COST, fnWeight: 2.0, fpWeight: 0.055 },
  });
  const r1 = s1.scoreDataSet(timestamps, anomalyScores, windows, "testData", 0.5).matchingRow;
  const r2 = s2.scoreDataSet(timestamps, anomalyScores, windows, "testData", 0.5).matchingRow;
  assert.equal(r1!.score, 0.5 * r2!.score);
  checkCounts(r1, length - 10, 0, 0, 10);
  checkCounts(r2, length - 10, 0, 0, 10);
});

Deno.test("scorer: testRewardLowFalsePositives", () => {
  const length = 100;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const anomalyScores = zeros(length);
  anomalyScores[0] = 1; // FP
  const s1 = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const s2 = new Sweeper({
    probationPercent: 0,
    costMatrix: { ...ONES_COST, fpWeight: 2.0, fnWeight: 0.5 },
  });
  const r1 = s1.scoreDataSet(timestamps, anomalyScores, [], "testData", 0.5).matchingRow;
  const r2 = s2.scoreDataSet(timestamps, anomalyScores, [], "testData", 0.5).matchingRow;
  assert.equal(r1!.score, 0.5 * r2!.score);
  checkCounts(r1, length - 1, 0, 1, 0);
  checkCounts(r2, length - 1, 0, 1, 0);
});

Deno.test("scorer: testScoringAllMetrics", () => {
  const length = 100;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const windows = generateWindows(timestamps, 2, 5);
  const anomalyScores = zeros(length);
  const index = timestamps.indexOf(windows[0]![0]);
  anomalyScores[index] = 1; // TP
  anomalyScores[index + 1] = 1; // additional TP
  anomalyScores[index + 7] = 1; // FP
  const sweeper = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const { matchingRow } = sweeper.scoreDataSet(
    timestamps,
    anomalyScores,
    windows,
    "testData",
    0.5,
  );
  almostEqual(matchingRow!.score, -0.9540, 4);
  checkCounts(matchingRow, length - 10 - 1, 2, 1, 8);
});

// ------------------------------------------------ tests/integration/false_positive_test.py

Deno.test("false positive: testFalsePositiveMeansNegativeScore", () => {
  const length = 1000;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const windows = generateWindows(timestamps, 1, 10);
  const anomalyScores = zeros(length);
  anomalyScores[0] = 1;
  const sweeper = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const { matchingRow } = sweeper.scoreDataSet(
    timestamps,
    anomalyScores,
    windows,
    "testData",
    0.5,
  );
  assert.ok(matchingRow!.score < 0);
  checkCounts(matchingRow, length - 10 - 1, 0, 1, 10);
});

Deno.test("false positive: testTwoFalsePositivesIsWorseThanOne", () => {
  const length = 1000;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const windows = generateWindows(timestamps, 1, 10);
  const anomalyScores = zeros(length);
  anomalyScores[0] = 1;
  const sweeper = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const r1 = sweeper.scoreDataSet(timestamps, anomalyScores, windows, "testData", 0.5)
    .matchingRow;
  anomalyScores[1] = 1;
  const r2 = sweeper.scoreDataSet(timestamps, anomalyScores, windows, "testData", 0.5)
    .matchingRow;
  assert.ok(r2!.score < r1!.score);
  checkCounts(r1, length - 10 - 1, 0, 1, 10);
  checkCounts(r2, length - 10 - 2, 0, 2, 10);
});

Deno.test("false positive: testOneFalsePositiveNoWindow", () => {
  const length = 1000;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const anomalyScores = zeros(length);
  anomalyScores[0] = 1;
  const sweeper = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const { matchingRow } = sweeper.scoreDataSet(timestamps, anomalyScores, [], "testData", 0.5);
  assert.equal(matchingRow!.score, -ONES_COST.fpWeight);
  checkCounts(matchingRow, length - 1, 0, 1, 0);
});

Deno.test("false positive: testEarlierFalsePositiveAfterWindowIsBetter", () => {
  const length = 10;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const windows = generateWindows(timestamps, 1, 2);
  const index1 = timestamps.indexOf(windows[0]![1]) + 1;
  const scores1 = zeros(length);
  scores1[index1] = 1;
  const scores2 = zeros(length);
  scores2[index1 + 1] = 1;
  const sweeper = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const r1 = sweeper.scoreDataSet(timestamps, scores1, windows, "testData", 0.5).matchingRow;
  const r2 = sweeper.scoreDataSet(timestamps, scores2, windows, "testData", 0.5).matchingRow;
  assert.ok(r1!.score > r2!.score);
  checkCounts(r1, length - 2 - 1, 0, 1, 2);
  checkCounts(r2, length - 2 - 1, 0, 1, 2);
});

// ------------------------------------------------ tests/integration/false_negative_test.py

Deno.test("false negative: testFalseNegativeCausesNegativeScore", () => {
  const length = 1000;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const windows = generateWindows(timestamps, 1, 10);
  const sweeper = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const { matchingRow } = sweeper.scoreDataSet(timestamps, zeros(length), windows, "testData", 1.0);
  assert.equal(matchingRow!.score, -ONES_COST.fnWeight);
  checkCounts(matchingRow, length - 10, 0, 0, 10);
});

Deno.test("false negative: testFourFalseNegatives", () => {
  const length = 2000;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const windows = generateWindows(timestamps, 4, 10);
  const sweeper = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const { matchingRow } = sweeper.scoreDataSet(timestamps, zeros(length), windows, "testData", 1);
  assert.equal(matchingRow!.score, 4 * -ONES_COST.fnWeight);
  checkCounts(matchingRow, length - 40, 0, 0, 40);
});

// ------------------------------------------------ tests/integration/true_positive_test.py

Deno.test("true positive: testFirstTruePositiveWithinWindow", () => {
  const length = 10;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const windows = generateWindows(timestamps, 1, 2);
  const anomalyScores = zeros(length);
  anomalyScores[timestamps.indexOf(windows[0]![0])] = 1.0;
  const sweeper = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const { matchingRow } = sweeper.scoreDataSet(
    timestamps,
    anomalyScores,
    windows,
    "testData",
    0.5,
  );
  assert.equal(matchingRow!.score, ONES_COST.tpWeight);
  checkCounts(matchingRow, length - 2, 1, 0, 1);
});

Deno.test("true positive: testEarlierTruePositiveIsBetter", () => {
  const length = 10;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const windows = generateWindows(timestamps, 1, 2);
  const [t1, t2] = windows[0]!;
  const scores1 = zeros(length);
  scores1[timestamps.indexOf(t1)] = 1;
  const scores2 = zeros(length);
  scores2[timestamps.indexOf(t2)] = 1;
  const sweeper = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const r1 = sweeper.scoreDataSet(timestamps, scores1, windows, "testData", 0.5).matchingRow;
  const r2 = sweeper.scoreDataSet(timestamps, scores2, windows, "testData", 0.5).matchingRow;
  assert.ok(r1!.score > r2!.score, `${r1!.score} vs ${r2!.score}`);
  checkCounts(r1, length - 2, 1, 0, 1);
  checkCounts(r2, length - 2, 1, 0, 1);
});

Deno.test("true positive: testOnlyScoreFirstTruePositiveWithinWindow", () => {
  const length = 10;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const windows = generateWindows(timestamps, 1, 2);
  const [t1, t2] = windows[0]!;
  const anomalyScores = zeros(length);
  anomalyScores[timestamps.indexOf(t1)] = 1;
  const sweeper = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const r1 = sweeper.scoreDataSet(timestamps, anomalyScores, windows, "testData", 0.5)
    .matchingRow;
  anomalyScores[timestamps.indexOf(t2)] = 1;
  const r2 = sweeper.scoreDataSet(timestamps, anomalyScores, windows, "testData", 0.5)
    .matchingRow;
  assert.equal(r1!.score, r2!.score);
  checkCounts(r1, length - 2, 1, 0, 1);
  checkCounts(r2, length - 2, 2, 0, 0);
});

Deno.test("true positive: testTruePositivesWithDifferentWindowSizes", () => {
  const length = 10;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const windows1 = generateWindows(timestamps, 1, 2);
  const scores1 = zeros(length);
  scores1[timestamps.indexOf(windows1[0]![0])] = 1;
  const windows2 = generateWindows(timestamps, 1, 3);
  const scores2 = zeros(length);
  scores2[timestamps.indexOf(windows2[0]![0])] = 1;
  const sweeper = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const r1 = sweeper.scoreDataSet(timestamps, scores1, windows1, "testData", 0.5).matchingRow;
  const r2 = sweeper.scoreDataSet(timestamps, scores2, windows2, "testData", 0.5).matchingRow;
  assert.equal(r1!.score, r2!.score);
  checkCounts(r1, length - 2, 1, 0, 1);
  checkCounts(r2, length - 3, 1, 0, 2);
});

Deno.test("true positive: testTruePositiveAtRightEdgeOfWindow", () => {
  const length = 1000;
  const timestamps = generateTimestamps(START, FIVE_MINUTES, length);
  const windows = generateWindows(timestamps, 1, 100);
  const anomalyScores = zeros(length);
  let index = timestamps.indexOf(windows[0]![1]);
  anomalyScores[index] = 1; // TP at the end of the window
  const sweeper = new Sweeper({ probationPercent: 0, costMatrix: ONES_COST });
  const r1 = sweeper.scoreDataSet(timestamps, anomalyScores, windows, "testData", 0.5)
    .matchingRow;
  anomalyScores[index] = 0;
  index += 1;
  anomalyScores[index] = 1; // FP just after it
  const r2 = sweeper.scoreDataSet(timestamps, anomalyScores, windows, "testData", 0.5)
    .matchingRow;
  // TP score + FP score + 1 (the FN of the second run) is close to 0.
  almostEqual(r1!.score + r2!.score + 1, 0.0, 3);
  checkCounts(r1, length - 100, 1, 0, 99);
  checkCounts(r2, length - 100 - 1, 0, 1, 100);
});

// ------------------------------------------------------------- tests/unit/scorer_test.py

const UNIT_COST = { tpWeight: 1.1, tnWeight: 1.0, fpWeight: 0.11, fnWeight: 1.2 };
/** Score `predictions` with NAB's probationary period given in rows, as the unit tests do. */
function unitScore(
  n: number,
  predictions: number[],
  windowRows: readonly (readonly [number, number])[],
  probationaryPeriod = 0,
): number {
  const timestamps = generateTimestamps(
    Date.UTC(2016, 6, 5, 10) - n * FIVE_MINUTES,
    FIVE_MINUTES,
    n,
  );
  const windows = windowRows.map(([a, b]): WindowLimit => [timestamps[a]!, timestamps[b]!]);
  const sweeper = new Sweeper({ probationPercent: probationaryPeriod / n, costMatrix: UNIT_COST });
  assert.equal(sweeper.getProbationaryLength(n), probationaryPeriod);
  return sweeper.scoreDataSet(timestamps, predictions, windows, "unit", 0.5).matchingRow!.score;
}
const TP_MID = 0.8482836399575131; // scaledSigmoid(-0.5), from the upstream test
const MAX_TP = 0.9866142981514305; // scaledSigmoid(-1.0)

Deno.test("unit scorer: testNull", () => {
  almostEqual(unitScore(5, [0, 0, 0, 0, 0], []), 0.0);
});

Deno.test("unit scorer: testFalsePositives", () => {
  almostEqual(unitScore(5, [0, 1, 0, 1, 0], []), -2.0 * UNIT_COST.fpWeight);
});

Deno.test("unit scorer: testFalseNegatives", () => {
  almostEqual(unitScore(7, zeros(7), [[1, 2], [4, 5]]), -2.0 * UNIT_COST.fnWeight);
});

Deno.test("unit scorer: testFalsePositivesInProbationary", () => {
  almostEqual(unitScore(5, [0, 1, 0, 1, 0], [], 4), 0.0);
});

Deno.test("unit scorer: testFalsePositivesBeforeAndAfterProbationary", () => {
  almostEqual(unitScore(5, [0, 1, 0, 1, 0], [], 3), -1.0 * UNIT_COST.fpWeight);
});

Deno.test("unit scorer: testTruePositives1", () => {
  almostEqual(unitScore(7, [0, 0, 1, 0, 0, 0, 0], [[1, 2]]), TP_MID * UNIT_COST.tpWeight / MAX_TP);
});

Deno.test("unit scorer: testTruePositives1WithFN", () => {
  almostEqual(
    unitScore(7, [0, 0, 1, 0, 0, 0, 0], [[1, 2], [4, 5]]),
    TP_MID * UNIT_COST.tpWeight / MAX_TP + -1.0 * UNIT_COST.fnWeight,
  );
});

Deno.test("unit scorer: testTruePositives2", () => {
  almostEqual(unitScore(7, [0, 0, 0, 0, 1, 0, 0], [[4, 5]]), MAX_TP * UNIT_COST.tpWeight / MAX_TP);
});

Deno.test("unit scorer: testTruePositives3", () => {
  almostEqual(unitScore(7, [0, 0, 0, 0, 1, 1, 0], [[4, 5]]), MAX_TP * UNIT_COST.tpWeight / MAX_TP);
});

Deno.test("unit scorer: testTruePositivesMultiple", () => {
  almostEqual(
    unitScore(7, [0, 0, 1, 0, 1, 0, 0], [[1, 2], [4, 5]]),
    TP_MID * UNIT_COST.tpWeight / MAX_TP + MAX_TP * UNIT_COST.tpWeight / MAX_TP,
  );
});

Deno.test("unit scorer: testFalsePositiveAfterWindow1", () => {
  almostEqual(
    unitScore(5, [0, 0, 0, 0, 1], [[1, 2]]),
    -1.0 * UNIT_COST.fnWeight + -0.9999092042625951 * UNIT_COST.fpWeight,
  );
});

Deno.test("unit scorer: testFalsePositiveAfterWindow2", () => {
  almostEqual(
    unitScore(5, [0, 0, 0, 1, 0], [[1, 2]]),
    -1.0 * UNIT_COST.fnWeight + -0.9866142981514303 * UNIT_COST.fpWeight,
  );
});

// ------------------------------------------------ scaledSigmoid docstring, normalisation

Deno.test("scaledSigmoid: the values its docstring states", () => {
  almostEqual(scaledSigmoid(-1.0), 0.98661, 5);
  almostEqual(scaledSigmoid(-0.5), 0.84828, 5);
  assert.equal(scaledSigmoid(0.0), 0.0);
  almostEqual(scaledSigmoid(1.0), -0.98661, 5);
  assert.equal(scaledSigmoid(3.5), -1.0);
});

Deno.test("normalize: testScoreNormalization (null -5, raw 2, 5 labels → 70)", () => {
  // tests/test_labels/labels.json holds 5 labels; tpWeight 1.
  assert.equal(normalizeScore(2.0, -5.0, 5 * 1.0), 70.0);
});

Deno.test("profiles: NAB's config/profiles.json", () => {
  assert.deepEqual(NAB_PROFILES.standard, {
    tpWeight: 1.0,
    fnWeight: 1.0,
    fpWeight: 0.11,
    tnWeight: 1.0,
  });
  assert.equal(NAB_PROFILES.reward_low_FP_rate.fpWeight, 0.22);
  assert.equal(NAB_PROFILES.reward_low_FN_rate.fnWeight, 2.0);
});

// ---------------------------------------------------------------- Vigil's alarm layer

/** 100 rows, 5-minute steps, windows at rows 40–49 and 70–79; probation 15 rows. */
function alarmFile(alarmRows: number[]) {
  const timestamps = generateTimestamps(START, FIVE_MINUTES, 100);
  const alarms = new Array<boolean>(100).fill(false);
  for (const r of alarmRows) alarms[r] = true;
  const windows: WindowLimit[] = [
    [timestamps[40]!, timestamps[49]!],
    [timestamps[70]!, timestamps[79]!],
  ];
  return { name: "test/file.csv", timestamps, alarms, windows };
}

Deno.test("alarms: the null detector scores -fnWeight per window and normalises to 0", () => {
  const r = scoreAlarms(alarmFile([]));
  assert.equal(r.probationaryLength, 15);
  assert.equal(r.profiles.standard.score, -2);
  assert.equal(r.profiles.reward_low_FN_rate.score, -4);
  assert.deepEqual([r.windowsCaught, r.falseAlarms], [0, 0]);
  const corpus = scoreAlarmCorpus([alarmFile([])]);
  assert.deepEqual(corpus.normalized, {
    standard: 0,
    reward_low_FP_rate: 0,
    reward_low_FN_rate: 0,
  });
});

Deno.test("alarms: one alarm at each window start is perfect (100)", () => {
  const corpus = scoreAlarmCorpus([alarmFile([40, 70])]);
  assert.equal(corpus.totals.standard.score, 2);
  assert.deepEqual(corpus.normalized, {
    standard: 100,
    reward_low_FP_rate: 100,
    reward_low_FN_rate: 100,
  });
  assert.deepEqual([corpus.windowsCaught, corpus.falseAlarms, corpus.meanDelayRows], [2, 0, 0]);
});

Deno.test("alarms: early detection beats late detection; delays in rows and time", () => {
  const early = scoreAlarms(alarmFile([42]));
  const late = scoreAlarms(alarmFile([48]));
  assert.ok(early.profiles.standard.score > late.profiles.standard.score);
  // position -(49 - 42 + 1) / 10 = -0.8
  almostEqual(early.profiles.standard.score, scaledSigmoid(-0.8) / scaledSigmoid(-1) - 1);
  assert.deepEqual(early.windows[0], {
    start: START + 40 * FIVE_MINUTES,
    end: START + 49 * FIVE_MINUTES,
    startIndex: 40,
    endIndex: 49,
    scored: true,
    caught: true,
    firstAlarmIndex: 42,
    delayRows: 2,
    delayMs: 2 * FIVE_MINUTES,
  });
  assert.equal(late.windows[0]?.delayRows, 8);
  assert.equal(early.windows[1]?.caught, false);
});

Deno.test("alarms: several alarms in one window count once", () => {
  const once = scoreAlarms(alarmFile([41]));
  const many = scoreAlarms(alarmFile([41, 43, 45, 49]));
  assert.equal(many.profiles.standard.score, once.profiles.standard.score);
  assert.equal(many.windowsCaught, 1);
  assert.equal(many.profiles.standard.tp, 4); // NAB's counts are rows
  assert.equal(many.falseAlarms, 0);
});

Deno.test("alarms: a false alarm far from any window costs fpWeight", () => {
  const before = scoreAlarms(alarmFile([20]));
  almostEqual(before.profiles.standard.score, -2 - 0.11);
  almostEqual(before.profiles.reward_low_FP_rate.score, -2 - 0.22);
  // 20 rows after a 10-row window: position 20 / 9, close to -fpWeight
  const after = scoreAlarms(alarmFile([99]));
  almostEqual(after.profiles.standard.score, -2 + scaledSigmoid(20 / 9) * 0.11);
  assert.ok(after.profiles.standard.score < -2 - 0.1099);
  // just after a window it costs a little less than fpWeight
  const near = scoreAlarms(alarmFile([50]));
  almostEqual(near.profiles.standard.score, -2 + scaledSigmoid(1 / 9) * 0.11);
  assert.deepEqual([before.falseAlarms, before.profiles.standard.fp], [1, 1]);
});

Deno.test("alarms: the probationary period is ignored, windows inside it unscored", () => {
  const f = alarmFile([3, 10]);
  const r = scoreAlarms(f);
  assert.equal(r.falseAlarms, 0);
  assert.equal(r.profiles.standard.score, -2);
  const early = scoreAlarms({
    ...f,
    windows: [[f.timestamps[5]!, f.timestamps[9]!], ...f.windows],
  });
  assert.equal(early.windows[0]?.scored, false);
  assert.equal(early.windows[0]?.caught, false);
  assert.equal(early.windowsScored, 2);
  assert.equal(early.profiles.standard.score, -2); // the probationary window is no FN
});

Deno.test("alarms: window limits must be rows of the file; flags must match rows", () => {
  const f = alarmFile([]);
  assert.throws(() => scoreAlarms({ ...f, windows: [[f.timestamps[40]! + 1, f.timestamps[49]!]] }));
  assert.throws(() => scoreAlarms({ ...f, alarms: f.alarms.slice(1) }));
});

// ------------------------------------------------------------------------ NAB reader

const NAB_FIXTURE = new URL("../fixtures/eval/nab", import.meta.url).pathname;

Deno.test("reader: NAB timestamps, CSV and windows", () => {
  assert.equal(parseBenchmarkTimestamp("2014-04-10 07:15:00.000000"), Date.UTC(2014, 3, 10, 7, 15));
  assert.equal(
    parseBenchmarkTimestamp("2014-04-10 07:15:00.250000"),
    Date.UTC(2014, 3, 10, 7, 15, 0, 250),
  );
  assert.throws(() => parseBenchmarkTimestamp("10/04/2014"));
  assert.deepEqual(parseNabCsv("timestamp,value\n2014-07-01 00:30:00,8127\n"), {
    timestamps: [Date.UTC(2014, 6, 1, 0, 30)],
    values: [8127],
  });
  assert.deepEqual(
    parseNabWindows('{"a/b.csv": [["2014-04-10 07:15:00.000000", "2014-04-10 08:15:00.000000"]]}'),
    new Map([["a/b.csv", [[Date.UTC(2014, 3, 10, 7, 15), Date.UTC(2014, 3, 10, 8, 15)]]]]),
  );
});

Deno.test("reader: a NAB-layout folder scores end to end", async () => {
  const { files, missing } = await readNabCorpus(NAB_FIXTURE);
  assert.deepEqual(files.map((f) => f.relativePath), ["realTest/tiny.csv", "realTest/quiet.csv"]);
  assert.deepEqual(missing, ["realOther/not_here.csv"]);
  const tiny = files[0]!;
  assert.equal(tiny.timestamps.length, 40);
  assert.equal(tiny.windows.length, 2);
  assert.equal(tiny.timestamps.indexOf(tiny.windows[0]![0]), 10);

  // A threshold detector on the values: catches both windows at their first row.
  const corpus = scoreAlarmCorpus(
    files.map((f) => ({
      name: f.relativePath,
      timestamps: f.timestamps,
      alarms: f.values.map((v, i) => i > 0 && Math.abs(v - f.values[i - 1]!) > 5),
      windows: f.windows,
    })),
  );
  // Alarms at rows 10, 15 (leaving window 1), 25, 30: two TPs at window starts, two FPs.
  assert.equal(corpus.windowsCaught, 2);
  assert.equal(corpus.falseAlarms, 2);
  assert.equal(corpus.meanDelayRows, 0);
  assert.equal(corpus.windowCount, 2);
  assert.equal(corpus.nullScores.standard, -2);
  assert.ok(corpus.normalized.standard < 100 && corpus.normalized.standard > 90);
  const fp = 0.11 * 2 * scaledSigmoid(1 / 4);
  almostEqual(corpus.totals.standard.score, 2 + fp);
  assert.equal(corpus.files[1]!.profiles.standard.score, 0);
});
