/**
 * Numenta Anomaly Benchmark (NAB) scoring, ported line for line to TypeScript.
 *
 * Upstream (github.com/numenta/NAB, master; MIT licence since v1.1, AGPL-3.0 before):
 * - `nab/sweeper.py` (commit d62afec): `sigmoid`, `scaledSigmoid`, `prepAnomalyListForScoring`,
 *   `Sweeper` (`_getProbationaryLength`, `_prepareScoreByThresholdParts`, `calcSweepScore`,
 *   `calcScoreByThreshold`, `scoreDataSet`). Older revisions had `_prepAnomalyListForScoring`
 *   as a method; the behaviour is the same.
 * - `nab/scorer.py`: `scoreDataSet` (one `Sweeper` per file and profile, returns the row
 *   matching the threshold) and `scoreCorpus` (the "Totals" row is the sum over files).
 * - `nab/util.py`: `getProbationPeriod` = min(floor(0.15 * rows), 0.15 * 5000), i.e. at most
 *   750 rows.
 * - `nab/labeler.py`: `CorpusLabel.getWindows` requires every window limit to be exactly one
 *   timestamp of the data file.
 * - `nab/runner.py`: `Runner.normalize`: score = 100 * (raw - null) / (perfect - null), with
 *   `null` the null detector's total and perfect = (number of windows) * tpWeight.
 * - `nab/detectors/null/null_detector.py` + `config/thresholds.json`: the null detector's
 *   constant 0.5 never reaches its 0.625 threshold, so it raises no alarm at all.
 * - `config/profiles.json`: the three cost matrices, embedded in {@link NAB_PROFILES}.
 *
 * Vigil raises binary alarms, so NAB's threshold sweep is replaced by a fixed detection: a row
 * gets anomaly score 1 where an alarm is raised and 0 elsewhere, and is scored at threshold 1.0
 * (NAB's detection rule is `anomalyScore >= threshold`, `nab/util.py`
 * `convertAnomalyScoresToDetections`). {@link scoreAlarms} and {@link scoreAlarmCorpus} do
 * that and add Vigil's own figures (windows caught, false alarms, detection delay).
 *
 * Kept whole past ~400 lines: a port of one upstream module, in its order, so that it can be
 * checked against the Python side by side.
 * @module
 */

/** One NAB cost matrix (`config/profiles.json` → `CostMatrix`). */
export interface CostMatrix {
  readonly tpWeight: number;
  readonly fnWeight: number;
  readonly fpWeight: number;
  /** Present in `profiles.json` but unused by NAB's scorer. */
  readonly tnWeight?: number;
}

/**
 * NAB's application profiles, copied from numenta/NAB `config/profiles.json` (master).
 */
export const NAB_PROFILES = {
  standard: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.11, tnWeight: 1.0 },
  reward_low_FP_rate: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.22, tnWeight: 1.0 },
  reward_low_FN_rate: { tpWeight: 1.0, fnWeight: 2.0, fpWeight: 0.11, tnWeight: 1.0 },
} as const satisfies Record<string, CostMatrix>;

/** The name of one of NAB's three profiles. */
export type NabProfileName = keyof typeof NAB_PROFILES;

/** The three profile names, in `profiles.json` order. */
export const NAB_PROFILE_NAMES: readonly NabProfileName[] = [
  "standard",
  "reward_low_FP_rate",
  "reward_low_FN_rate",
];

/** NAB's default probationary percentage (`nab/runner.py`, `run.py --probationaryPercent`). */
export const DEFAULT_PROBATION_PERCENT = 0.15;

/** The window name NAB gives rows inside the probationary period. */
export const PROBATIONARY = "probationary";

/** The threshold at which {@link scoreAlarms} scores alarms (alarm rows have score 1). */
export const ALARM_THRESHOLD = 1.0;

/** A window as `[start, end]` timestamps (epoch ms), both rows inclusive. */
export type WindowLimit = readonly [start: number, end: number];

/** `AnomalyPoint` of `nab/sweeper.py`. */
export interface AnomalyPoint {
  readonly timestamp: number;
  readonly anomalyScore: number;
  /** The row's weighted NAB score, as if the row were a detection. */
  readonly sweepScore: number;
  /** `"<dataSetName>|<window start>"`, `null` outside windows, or {@link PROBATIONARY}. */
  readonly windowName: string | null;
}

/** `ThresholdScore` of `nab/sweeper.py`. */
export interface ThresholdScore {
  readonly threshold: number;
  readonly score: number;
  readonly tp: number;
  readonly tn: number;
  readonly fp: number;
  readonly fn: number;
  readonly total: number;
}

/**
 * Standard logistic function (`sigmoid` in `nab/sweeper.py`).
 *
 * @example
 * ```ts
 * sigmoid(0); // 0.5
 * ```
 */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * NAB's scaled sigmoid (`scaledSigmoid` in `nab/sweeper.py`): -1.0 is the left edge of a
 * window (0.98661), 0.0 its right edge (0), positive positions are after the window
 * (1.0 → -0.98661); anything past 3.0 is -1.
 *
 * @example
 * ```ts
 * scaledSigmoid(-1.0); // 0.9866142981514305
 * scaledSigmoid(4); // -1
 * ```
 */
export function scaledSigmoid(relativePositionInWindow: number): number {
  if (relativePositionInWindow > 3.0) {
    // FP well behind window
    return -1.0;
  }
  return 2 * sigmoid(-5 * relativePositionInWindow) - 1.0;
}

/**
 * The number of leading rows NAB ignores: min(floor(p * rows), p * 5000)
 * (`getProbationPeriod` in `nab/util.py`, `Sweeper._getProbationaryLength`).
 *
 * @example
 * ```ts
 * getProbationaryLength(4032); // 604
 * getProbationaryLength(22695); // 750
 * ```
 */
export function getProbationaryLength(
  numRows: number,
  probationPercent: number = DEFAULT_PROBATION_PERCENT,
): number {
  return Math.min(Math.floor(probationPercent * numRows), probationPercent * 5000);
}

/**
 * Drops probationary rows and sorts by anomaly score, highest first, keeping the original order
 * among equal scores (`prepAnomalyListForScoring` in `nab/sweeper.py`; Python's `sorted` with
 * `reverse=True` is stable, as is `Array.prototype.sort`).
 *
 * @example
 * ```ts
 * prepAnomalyListForScoring([
 *   { timestamp: 0, anomalyScore: 0.5, sweepScore: 0, windowName: "probationary" },
 *   { timestamp: 1, anomalyScore: 0.1, sweepScore: 0, windowName: null },
 *   { timestamp: 2, anomalyScore: 0.9, sweepScore: 0, windowName: "w" },
 * ]).map((p) => p.timestamp); // [2, 1]
 * ```
 */
export function prepAnomalyListForScoring(
  inputAnomalyList: readonly AnomalyPoint[],
): AnomalyPoint[] {
  return inputAnomalyList
    .filter((x) => x.windowName !== PROBATIONARY)
    .sort((a, b) => b.anomalyScore - a.anomalyScore);
}

/** What one pass of {@link Sweeper.calcSweepScore} saw, kept for Vigil's window report. */
export interface SweepTrace {
  readonly points: AnomalyPoint[];
  /** Per row: index into `windowLimits` of the window the row is in, or -1. */
  readonly rowWindow: Int32Array;
  /** Per window: the row at which the sweep entered it, or -1 if it never did. */
  readonly entryRow: Int32Array;
  /** Per window: the row at which the sweep left it, or -1 if it never did. */
  readonly exitRow: Int32Array;
  readonly probationaryLength: number;
}

/** Python's `list.index`: the first position of `value`, or a thrown error. */
function listIndex(list: readonly number[], value: number): number {
  const i = list.indexOf(value);
  if (i < 0) throw new Error(`${value} is not in list`);
  return i;
}

/**
 * `Sweeper` of `nab/sweeper.py`: scores every row of a file as if it were a detection, then
 * sweeps the threshold from high to low, producing a NAB score and counts per threshold.
 *
 * @example
 * ```ts
 * const sweeper = new Sweeper({ probationPercent: 0, costMatrix: NAB_PROFILES.standard });
 * const { matchingRow } = sweeper.scoreDataSet([0, 1, 2, 3], [0, 1, 0, 0], [[1, 2]], "f", 0.5);
 * matchingRow?.score; // 1 (an alarm at the window's first row)
 * ```
 */
export class Sweeper {
  /** Fraction of each file's leading rows left unscored (capped at 5000 rows' worth). */
  probationPercent: number;
  /** Weight of a true positive (`costMatrix["tpWeight"]`). */
  tpWeight = 0;
  /** Weight of a false positive. */
  fpWeight = 0;
  /** Weight of a false negative (a missed window). */
  fnWeight = 0;

  /**
   * A sweeper with NAB's default 15 % probation and zero weights unless given a cost matrix.
   *
   * @example
   * ```ts
   * new Sweeper({ probationPercent: 0.3 }).probationPercent; // 0.3
   * ```
   */
  constructor(
    options: { probationPercent?: number; costMatrix?: CostMatrix } = {},
  ) {
    this.probationPercent = options.probationPercent ?? DEFAULT_PROBATION_PERCENT;
    if (options.costMatrix !== undefined) this.setCostMatrix(options.costMatrix);
  }

  /**
   * Sets the TP, FP and FN weights (`setCostMatrix`).
   *
   * @example
   * ```ts
   * const s = new Sweeper();
   * s.setCostMatrix({ tpWeight: 2, fnWeight: 3, fpWeight: 4 });
   * s.fpWeight; // 4
   * ```
   */
  setCostMatrix(costMatrix: CostMatrix): void {
    this.tpWeight = costMatrix.tpWeight;
    this.fpWeight = costMatrix.fpWeight;
    this.fnWeight = costMatrix.fnWeight;
  }

  /**
   * `_getProbationaryLength`: see {@link getProbationaryLength}.
   *
   * @example
   * ```ts
   * new Sweeper({ probationPercent: 0.1 }).getProbationaryLength(6000); // 500
   * ```
   */
  getProbationaryLength(numRows: number): number {
    return getProbationaryLength(numRows, this.probationPercent);
  }

  /**
   * `_prepareScoreByThresholdParts`: one entry `"fp"` = 0, then one entry per window name seen
   * (in order of appearance) starting at -fnWeight, i.e. every window a false negative.
   *
   * @example
   * ```ts
   * const s = new Sweeper({ costMatrix: NAB_PROFILES.standard });
   * s.prepareScoreByThresholdParts([
   *   { timestamp: 0, anomalyScore: 1, sweepScore: 0, windowName: "w" },
   * ]); // Map { "fp" => 0, "w" => -1 }
   * ```
   */
  prepareScoreByThresholdParts(inputAnomalyList: readonly AnomalyPoint[]): Map<string, number> {
    const scoreParts = new Map<string, number>([["fp", 0]]);
    for (const row of inputAnomalyList) {
      if (row.windowName !== PROBATIONARY && row.windowName !== null) {
        scoreParts.set(row.windowName, -this.fnWeight);
      }
    }
    return scoreParts;
  }

  /**
   * `calcSweepScore`: one {@link AnomalyPoint} per row. Inside a window a row is worth
   * `scaledSigmoid(-(right - i + 1) / width) * tpWeight / scaledSigmoid(-1)`; outside it is worth
   * `scaledSigmoid(|prevRight - i| / (prevWidth - 1)) * fpWeight`, or `-fpWeight` before the
   * first window. Rows before the probationary length are named {@link PROBATIONARY}.
   *
   * Window limits must be timestamps of the file (NAB looks them up with `list.index`; this
   * throws where Python raises). A window one row wide followed by a row outside it divides by
   * zero in Python; this throws too.
   *
   * @example
   * ```ts
   * const s = new Sweeper({ probationPercent: 0, costMatrix: NAB_PROFILES.standard });
   * s.calcSweepScore([0, 1, 2, 3], [0, 0, 0, 0], [[1, 2]], "f").map((p) => p.windowName);
   * // [null, "f|1", "f|1", null]
   * ```
   */
  calcSweepScore(
    timestamps: readonly number[],
    anomalyScores: readonly number[],
    windowLimits: readonly WindowLimit[],
    dataSetName: string,
  ): AnomalyPoint[] {
    return this.sweep(timestamps, anomalyScores, windowLimits, dataSetName).points;
  }

  /** `calcSweepScore`, also recording which window each row belongs to. */
  private sweep(
    timestamps: readonly number[],
    anomalyScores: readonly number[],
    windowLimits: readonly WindowLimit[],
    dataSetName: string,
  ): SweepTrace {
    if (timestamps.length !== anomalyScores.length) {
      throw new Error("timestamps and anomalyScores should not be different lengths!");
    }
    const n = timestamps.length;
    const points: AnomalyPoint[] = [];
    const rowWindow = new Int32Array(n).fill(-1);
    const entryRow = new Int32Array(windowLimits.length).fill(-1);
    const exitRow = new Int32Array(windowLimits.length).fill(-1);

    // One-time config variables
    const maxTP = scaledSigmoid(-1.0);
    const probationaryLength = this.getProbationaryLength(n);

    // `windowLimits.pop(0)` in Python: `nextWindow` is the index of the head of the list.
    let nextWindow = 0;
    let curWindow = -1;
    let curWindowLimits: WindowLimit | null = null;
    let curWindowName: string | null = null;
    let curWindowWidth = 0;
    let curWindowRightIndex = 0;
    let prevWindowWidth = 0;
    let prevWindowRightIndex: number | null = null;

    for (let i = 0; i < n; i++) {
      const curTime = timestamps[i]!;
      const curAnomaly = anomalyScores[i]!;

      // If not in a window, check if we've just entered one
      const head = windowLimits[nextWindow];
      if (head !== undefined && curTime === head[0]) {
        curWindow = nextWindow;
        nextWindow++;
        curWindowLimits = head;
        curWindowName = `${dataSetName}|${head[0]}`;
        curWindowRightIndex = listIndex(timestamps, head[1]);
        curWindowWidth = curWindowRightIndex - listIndex(timestamps, head[0]) + 1;
        entryRow[curWindow] = i;
      }

      let weightedScore: number;
      if (curWindowLimits !== null) {
        // If in a window, score as if true positive
        const positionInWindow = -(curWindowRightIndex - i + 1) / curWindowWidth;
        const unweightedScore = scaledSigmoid(positionInWindow);
        weightedScore = unweightedScore * this.tpWeight / maxTP;
        rowWindow[i] = curWindow;
      } else {
        // If outside a window, score as if false positive
        let unweightedScore: number;
        if (prevWindowRightIndex === null) {
          // No preceding window: as if really far away from the nearest window.
          unweightedScore = -1.0;
        } else {
          const numerator = Math.abs(prevWindowRightIndex - i);
          const denominator = prevWindowWidth - 1;
          if (denominator === 0) throw new Error("float division by zero");
          unweightedScore = scaledSigmoid(numerator / denominator);
        }
        weightedScore = unweightedScore * this.fpWeight;
      }

      const pointWindowName = i >= probationaryLength ? curWindowName : PROBATIONARY;
      points.push({
        timestamp: curTime,
        anomalyScore: curAnomaly,
        sweepScore: weightedScore,
        windowName: pointWindowName,
      });

      // If at right-edge of window, exit window (after appending the current point).
      if (curWindowLimits !== null && curTime === curWindowLimits[1]) {
        exitRow[curWindow] = i;
        prevWindowRightIndex = i;
        prevWindowWidth = curWindowWidth;
        curWindow = -1;
        curWindowLimits = null;
        curWindowName = null;
        curWindowWidth = 0;
        curWindowRightIndex = 0;
      }
    }
    return { points, rowWindow, entryRow, exitRow, probationaryLength };
  }

  /**
   * `calcScoreByThreshold`: starting at threshold 1.1 (nothing detected, every window a false
   * negative), walks the scorable rows from the highest anomaly score down and records a
   * {@link ThresholdScore} each time the score changes, plus one for the last threshold. A
   * window is worth the best sweep score of its detected rows; false positives add up.
   *
   * @example
   * ```ts
   * const s = new Sweeper({ probationPercent: 0, costMatrix: NAB_PROFILES.standard });
   * const points = s.calcSweepScore([0, 1, 2, 3], [0, 1, 0, 0], [[1, 2]], "f");
   * s.calcScoreByThreshold(points).map((r) => [r.threshold, r.score]); // [[1.1, -1], [1, 1], [0, 0.7814724272033426]]
   * ```
   */
  calcScoreByThreshold(anomalyList: readonly AnomalyPoint[]): ThresholdScore[] {
    const scorableList = prepAnomalyListForScoring(anomalyList);
    const scoreParts = this.prepareScoreByThresholdParts(scorableList);
    const scoresByThreshold: ThresholdScore[] = [];

    // Above 1.0 so that all points are skipped: a full false-negative score.
    let curThreshold = 1.1;

    // Every point in a window is a false negative, every point outside one a true negative.
    let tn = 0;
    let fn = 0;
    for (const x of scorableList) {
      if (x.windowName === null) tn++;
      else fn++;
    }
    let tp = 0;
    let fp = 0;

    const record = () => {
      let curScore = 0;
      for (const v of scoreParts.values()) curScore += v;
      scoresByThreshold.push({
        threshold: curThreshold,
        score: curScore,
        tp,
        tn,
        fp,
        fn,
        total: tp + tn + fp + fn,
      });
    };

    for (const dataPoint of scorableList) {
      // A new anomaly score: store the score for the previous threshold.
      if (dataPoint.anomalyScore !== curThreshold) {
        record();
        curThreshold = dataPoint.anomalyScore;
      }

      // Adjust counts
      if (dataPoint.windowName !== null) {
        tp += 1;
        fn -= 1;
      } else {
        fp += 1;
        tn -= 1;
      }

      if (dataPoint.windowName === null) {
        scoreParts.set("fp", scoreParts.get("fp")! + dataPoint.sweepScore);
      } else {
        const previous = scoreParts.get(dataPoint.windowName)!;
        // Python's max(a, b) keeps a when equal.
        scoreParts.set(
          dataPoint.windowName,
          dataPoint.sweepScore > previous ? dataPoint.sweepScore : previous,
        );
      }
    }

    // Make sure to save the score for the last threshold
    record();
    return scoresByThreshold;
  }

  /**
   * `scoreDataSet`: sweeps the file and returns each row's sweep score and the
   * {@link ThresholdScore} for `threshold` (the row whose threshold equals it, else the last one
   * above it; `null` when none, where Python returns `None`).
   *
   * @example
   * ```ts
   * const s = new Sweeper({ probationPercent: 0, costMatrix: NAB_PROFILES.standard });
   * s.scoreDataSet([0, 1, 2, 3], [0, 0, 0, 0], [[1, 2]], "f", 0.5).matchingRow?.score; // -1
   * ```
   */
  scoreDataSet(
    timestamps: readonly number[],
    anomalyScores: readonly number[],
    windowLimits: readonly WindowLimit[],
    dataSetName: string,
    threshold: number,
  ): { scores: number[]; matchingRow: ThresholdScore | null } {
    return this.scoreTrace(timestamps, anomalyScores, windowLimits, dataSetName, threshold)
      .result;
  }

  /**
   * {@link Sweeper.scoreDataSet} plus the sweep trace (which window each row is in, where the
   * sweep entered and left each window), for reports beyond NAB's.
   *
   * @example
   * ```ts
   * const s = new Sweeper({ probationPercent: 0, costMatrix: NAB_PROFILES.standard });
   * const { trace } = s.scoreTrace([0, 1, 2, 3], [0, 1, 0, 0], [[1, 2]], "f", 1);
   * [...trace.rowWindow]; // [-1, 0, 0, -1]
   * ```
   */
  scoreTrace(
    timestamps: readonly number[],
    anomalyScores: readonly number[],
    windowLimits: readonly WindowLimit[],
    dataSetName: string,
    threshold: number,
  ): { result: { scores: number[]; matchingRow: ThresholdScore | null }; trace: SweepTrace } {
    const trace = this.sweep(timestamps, anomalyScores, windowLimits, dataSetName);
    const scoresByThreshold = this.calcScoreByThreshold(trace.points);

    let matchingRow: ThresholdScore | null = null;
    let prevRow: ThresholdScore | null = null;
    for (const thresholdScore of scoresByThreshold) {
      if (thresholdScore.threshold === threshold) {
        matchingRow = thresholdScore;
        break;
      } else if (thresholdScore.threshold < threshold) {
        matchingRow = prevRow;
        break;
      }
      prevRow = thresholdScore;
    }
    return { result: { scores: trace.points.map((x) => x.sweepScore), matchingRow }, trace };
  }
}

/**
 * NAB's normalisation (`Runner.normalize` in `nab/runner.py`):
 * 100 * (raw - null) / (perfect - null).
 *
 * @example
 * ```ts
 * normalizeScore(2, -5, 5); // 70
 * ```
 */
export function normalizeScore(raw: number, nullScore: number, perfectScore: number): number {
  return 100 * (raw - nullScore) / (perfectScore - nullScore);
}

/**
 * Throws unless every window limit is exactly one timestamp of the file, as
 * `CorpusLabel.getWindows` in `nab/labeler.py` requires.
 *
 * @example
 * ```ts
 * checkWindowLimits([0, 1, 2], [[1, 2]], "f"); // passes
 * checkWindowLimits([0, 1, 2], [[1, 5]], "f"); // throws
 * ```
 */
export function checkWindowLimits(
  timestamps: readonly number[],
  windows: readonly WindowLimit[],
  name: string,
): void {
  if (windows.length === 0) return;
  const counts = new Map<number, number>();
  for (const w of windows) {
    counts.set(w[0], 0);
    counts.set(w[1], 0);
  }
  for (const t of timestamps) {
    const c = counts.get(t);
    if (c !== undefined) counts.set(t, c + 1);
  }
  for (const [t, c] of counts) {
    if (c !== 1) {
      throw new Error(
        `window limit ${new Date(t).toISOString()} of ${name} matches ${c} rows, not exactly one`,
      );
    }
  }
}

/** One labelled file with Vigil's alarms. */
export interface AlarmFile {
  /** NAB's `relativePath`, e.g. `"realKnownCause/nyc_taxi.csv"`; also names the windows. */
  readonly name: string;
  /** Row timestamps, epoch ms. */
  readonly timestamps: readonly number[];
  /** One flag per row: true where an alarm was raised. */
  readonly alarms: readonly boolean[];
  /** The file's label windows, in NAB's order. */
  readonly windows: readonly WindowLimit[];
}

/** NAB's per-file result row (`scoreDataSet` in `nab/scorer.py`), counts in rows: a
 * {@linkcode ThresholdScore} without its threshold. */
export type ProfileScore = Omit<ThresholdScore, "threshold">;

/** How Vigil did on one label window. */
export interface WindowReport {
  readonly start: number;
  readonly end: number;
  /** Row where NAB's sweep entered the window (null if it never did). */
  readonly startIndex: number | null;
  /** Row where it left the window (null if it never did). */
  readonly endIndex: number | null;
  /** False when every row of the window lies in the probationary period (NAB ignores it). */
  readonly scored: boolean;
  /** An alarm was raised on a scored row of the window. */
  readonly caught: boolean;
  /** First alarm row inside the window after the probationary period. */
  readonly firstAlarmIndex: number | null;
  /** firstAlarmIndex - startIndex. */
  readonly delayRows: number | null;
  /** timestamps[firstAlarmIndex] - timestamps[startIndex], ms. */
  readonly delayMs: number | null;
}

/** {@link scoreAlarms}' result for one file. */
export interface AlarmFileScore {
  readonly name: string;
  readonly rows: number;
  readonly probationaryLength: number;
  /** NAB's raw score and counts per profile. */
  readonly profiles: Readonly<Record<NabProfileName, ProfileScore>>;
  readonly windows: readonly WindowReport[];
  /** Windows NAB scores (not wholly in the probationary period). */
  readonly windowsScored: number;
  readonly windowsCaught: number;
  /** Alarm rows outside every window after the probationary period (NAB's fp count). */
  readonly falseAlarms: number;
}

/** Options of {@link scoreAlarms} and {@link scoreAlarmCorpus}. */
export interface AlarmScoreOptions {
  /** Default {@link DEFAULT_PROBATION_PERCENT}. */
  readonly probationPercent?: number;
}

const emptyRow: ProfileScore = { score: 0, tp: 0, tn: 0, fp: 0, fn: 0, total: 0 };

/**
 * Scores one file's alarms the way NAB's `scorer.scoreDataSet` scores a detector's results:
 * alarm rows get anomaly score 1, others 0, and the file is scored at threshold
 * {@link ALARM_THRESHOLD} under each of the three {@link NAB_PROFILES}. Also reports each
 * window (caught, first alarm, delay) and the false alarms.
 *
 * When every row is probationary NAB finds no matching row (Python would fail on `None`); this
 * returns a zero score and zero counts instead.
 *
 * @example
 * ```ts
 * const r = scoreAlarms(
 *   { name: "f", timestamps: [0, 1, 2, 3], alarms: [false, true, false, false], windows: [[1, 2]] },
 *   { probationPercent: 0 },
 * );
 * r.profiles.standard.score; // 1
 * r.windows[0]?.delayRows; // 0
 * ```
 */
export function scoreAlarms(file: AlarmFile, options: AlarmScoreOptions = {}): AlarmFileScore {
  const { name, timestamps, alarms, windows } = file;
  if (alarms.length !== timestamps.length) {
    throw new Error(`${name}: ${alarms.length} alarm flags for ${timestamps.length} rows`);
  }
  checkWindowLimits(timestamps, windows, name);
  const probationPercent = options.probationPercent ?? DEFAULT_PROBATION_PERCENT;
  const anomalyScores = alarms.map((a) => (a ? 1 : 0));

  const profiles = {} as Record<NabProfileName, ProfileScore>;
  let trace: SweepTrace | null = null;
  for (const profile of NAB_PROFILE_NAMES) {
    const sweeper = new Sweeper({ probationPercent, costMatrix: NAB_PROFILES[profile] });
    const scored = sweeper.scoreTrace(timestamps, anomalyScores, windows, name, ALARM_THRESHOLD);
    trace = scored.trace;
    const row = scored.result.matchingRow ?? emptyRow;
    profiles[profile] = {
      score: row.score,
      tp: row.tp,
      tn: row.tn,
      fp: row.fp,
      fn: row.fn,
      total: row.total,
    };
  }
  // Window membership does not depend on the profile: the last trace serves.
  const t = trace!;
  const probationaryLength = t.probationaryLength;

  const scoredWindow = new Array<boolean>(windows.length).fill(false);
  const firstAlarm = new Array<number | null>(windows.length).fill(null);
  let falseAlarms = 0;
  for (let i = 0; i < timestamps.length; i++) {
    if (i < probationaryLength) continue;
    const w = t.rowWindow[i]!;
    if (w < 0) {
      if (alarms[i]) falseAlarms++;
      continue;
    }
    scoredWindow[w] = true;
    if (alarms[i] && firstAlarm[w] === null) firstAlarm[w] = i;
  }

  const reports: WindowReport[] = windows.map((limits, k) => {
    const entry = t.entryRow[k]!;
    const exit = t.exitRow[k]!;
    const first = firstAlarm[k] ?? null;
    const startIndex = entry >= 0 ? entry : null;
    return {
      start: limits[0],
      end: limits[1],
      startIndex,
      endIndex: exit >= 0 ? exit : null,
      scored: scoredWindow[k] ?? false,
      caught: first !== null,
      firstAlarmIndex: first,
      delayRows: first !== null && startIndex !== null ? first - startIndex : null,
      delayMs: first !== null && startIndex !== null
        ? timestamps[first]! - timestamps[startIndex]!
        : null,
    };
  });

  return {
    name,
    rows: timestamps.length,
    probationaryLength,
    profiles,
    windows: reports,
    windowsScored: reports.filter((r) => r.scored).length,
    windowsCaught: reports.filter((r) => r.caught).length,
    falseAlarms,
  };
}

/** {@link scoreAlarmCorpus}' result. */
export interface AlarmCorpusScore {
  readonly files: readonly AlarmFileScore[];
  /** Sum over files (the "Totals" row of `scoreCorpus` in `nab/scorer.py`). */
  readonly totals: Readonly<Record<NabProfileName, ProfileScore>>;
  /** The null detector's (no alarm at all) total raw score per profile. */
  readonly nullScores: Readonly<Record<NabProfileName, number>>;
  /** Number of windows × tpWeight (`Runner.normalize`). */
  readonly perfectScores: Readonly<Record<NabProfileName, number>>;
  /** 100 * (raw - null) / (perfect - null): 0 for the null detector, 100 for a perfect one. */
  readonly normalized: Readonly<Record<NabProfileName, number>>;
  /** All windows of the files given (what NAB's normalisation counts). */
  readonly windowCount: number;
  readonly windowsScored: number;
  readonly windowsCaught: number;
  readonly falseAlarms: number;
  /** Mean detection delay over caught windows (null if none caught). */
  readonly meanDelayRows: number | null;
  readonly meanDelayMs: number | null;
}

/**
 * Scores a set of files like NAB's `scoreCorpus` + `Runner.normalize`: raw scores and counts
 * summed over files, normalised against the null detector (scored here by running the same
 * scorer with no alarms) and the perfect score (windows × tpWeight, counting the windows of the
 * files given: NAB counts every window of its label file, which is its whole corpus).
 *
 * @example
 * ```ts
 * const corpus = scoreAlarmCorpus([
 *   { name: "f", timestamps: [0, 1, 2, 3], alarms: [false, true, false, false], windows: [[1, 2]] },
 * ], { probationPercent: 0 });
 * corpus.normalized.standard; // 100
 * ```
 */
export function scoreAlarmCorpus(
  files: readonly AlarmFile[],
  options: AlarmScoreOptions = {},
): AlarmCorpusScore {
  const scored = files.map((f) => scoreAlarms(f, options));
  const nulls = files.map((f) =>
    scoreAlarms({ ...f, alarms: new Array<boolean>(f.timestamps.length).fill(false) }, options)
  );
  const windowCount = files.reduce((n, f) => n + f.windows.length, 0);

  const totals = {} as Record<NabProfileName, ProfileScore>;
  const nullScores = {} as Record<NabProfileName, number>;
  const perfectScores = {} as Record<NabProfileName, number>;
  const normalized = {} as Record<NabProfileName, number>;
  for (const profile of NAB_PROFILE_NAMES) {
    let score = 0, tp = 0, tn = 0, fp = 0, fn = 0, total = 0;
    for (const f of scored) {
      const r = f.profiles[profile];
      score += r.score;
      tp += r.tp;
      tn += r.tn;
      fp += r.fp;
      fn += r.fn;
      total += r.total;
    }
    totals[profile] = { score, tp, tn, fp, fn, total };
    nullScores[profile] = nulls.reduce((s, f) => s + f.profiles[profile].score, 0);
    perfectScores[profile] = windowCount * NAB_PROFILES[profile].tpWeight;
    normalized[profile] = normalizeScore(score, nullScores[profile], perfectScores[profile]);
  }

  const caught = scored.flatMap((f) => f.windows.filter((w) => w.caught));
  const mean = (xs: number[]) => xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  return {
    files: scored,
    totals,
    nullScores,
    perfectScores,
    normalized,
    windowCount,
    windowsScored: scored.reduce((n, f) => n + f.windowsScored, 0),
    windowsCaught: caught.length,
    falseAlarms: scored.reduce((n, f) => n + f.falseAlarms, 0),
    meanDelayRows: mean(caught.map((w) => w.delayRows!)),
    meanDelayMs: mean(caught.map((w) => w.delayMs!)),
  };
}
