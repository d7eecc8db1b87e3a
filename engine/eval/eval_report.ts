/**
 * What `main.ts eval` reports: per-file and corpus figures built from per-row alarms
 * ({@link nabReport}, {@link skabReport}), the published figures they are compared with, and the
 * plain-text tables ({@link formatNabTable}, {@link formatSkabTable}). Pure: no files, no
 * pipeline.
 * @module
 */
import {
  type AlarmFile,
  type AlarmScoreOptions,
  NAB_PROFILE_NAMES,
  type NabProfileName,
  scoreAlarmCorpus,
} from "./nab_scorer.ts";
import { type BinaryLabel, pyRound, SKAB_TRAIN_ROWS, skabBinaryScore } from "./skab_metrics.ts";

/** Published NAB v1.1 scores on the realKnownCause category (standard profile, normalised). */
export const NAB_PUBLISHED: readonly { readonly detector: string; readonly standard: number }[] = [
  { detector: "ARTime", standard: 63.9 },
  { detector: "Numenta HTM", standard: 55.5 },
  { detector: "Random Cut Forest", standard: 43.1 },
  { detector: "CAD-OSE", standard: 41.8 },
  { detector: "Twitter ADVec", standard: 26.7 },
  { detector: "windowed Gaussian", standard: 13.4 },
];

/** SKAB's leaderboard figures of its best outlier detector (FAR and MAR in %). */
export const SKAB_PUBLISHED: readonly {
  readonly detector: string;
  readonly f1: number;
  readonly far: number;
  readonly mar: number;
}[] = [{ detector: "Conv-AE", f1: 0.78, far: 13.55, mar: 28.02 }];

/** NAB figures of one file or of the corpus. */
export interface NabFigures {
  /** Normalised scores (0 = no alarm at all, 100 = perfect); null where undefined (no window). */
  readonly scores: Readonly<Record<NabProfileName, number | null>>;
  readonly rows: number;
  readonly windows: number;
  readonly windowsCaught: number;
  /** Alarm rows outside every window, after the probationary period. */
  readonly falseAlarms: number;
  /** Alarm rows inside windows, after the probationary period. */
  readonly alarmsInWindows: number;
  /** alarmsInWindows / windowsCaught (null if none caught). */
  readonly alarmsPerCaughtWindow: number | null;
  /** Mean rows from a window's start to its first alarm, over caught windows. */
  readonly meanDelayRows: number | null;
  /** The same in minutes of event time. */
  readonly meanDelayMinutes: number | null;
}

/** One NAB file's figures. */
export interface NabFileFigures extends NabFigures {
  readonly name: string;
  /** The alarm rows (0-based, first data row 0), probationary ones included. */
  readonly alarmRows: number[];
  /** Events after the file's last row (mapped to no row). */
  readonly unmappedEvents: number;
}

/** `eval`'s NAB result. */
export interface NabReport {
  readonly layout: "nab";
  readonly files: NabFileFigures[];
  readonly corpus: NabFigures;
  /** Label keys with no CSV under the folder (not scored). */
  readonly missing: string[];
  readonly published: typeof NAB_PUBLISHED;
}

const finite = (x: number): number | null => Number.isFinite(x) ? x : null;

function nabFigures(files: readonly AlarmFile[], options: AlarmScoreOptions): NabFigures {
  const c = scoreAlarmCorpus(files, options);
  const scores = {} as Record<NabProfileName, number | null>;
  for (const p of NAB_PROFILE_NAMES) {
    scores[p] = c.windowCount === 0 ? null : finite(c.normalized[p]);
  }
  const inWindows = c.totals.standard.tp;
  return {
    scores,
    rows: files.reduce((n, f) => n + f.timestamps.length, 0),
    windows: c.windowCount,
    windowsCaught: c.windowsCaught,
    falseAlarms: c.falseAlarms,
    alarmsInWindows: inWindows,
    alarmsPerCaughtWindow: c.windowsCaught === 0 ? null : inWindows / c.windowsCaught,
    meanDelayRows: c.meanDelayRows,
    meanDelayMinutes: c.meanDelayMs === null ? null : c.meanDelayMs / 60000,
  };
}

/**
 * NAB figures per file and for all files together (NAB's normalisation over the files given).
 *
 * @example
 * ```ts
 * const r = nabReport([
 *   { name: "f", timestamps: [0, 1, 2, 3], alarms: [false, true, false, false], windows: [[1, 2]] },
 * ], { probationPercent: 0 });
 * r.corpus.scores.standard; // 100
 * r.corpus.windowsCaught; // 1
 * ```
 */
export function nabReport(
  files: readonly (AlarmFile & { readonly unmappedEvents?: number })[],
  options: AlarmScoreOptions = {},
  missing: string[] = [],
): NabReport {
  return {
    layout: "nab",
    files: files.map((f) => ({
      name: f.name,
      ...nabFigures([f], options),
      alarmRows: f.alarms.flatMap((a, i) => a ? [i] : []),
      unmappedEvents: f.unmappedEvents ?? 0,
    })),
    corpus: nabFigures(files, options),
    missing,
    published: NAB_PUBLISHED,
  };
}

/** SKAB's binary figures over some rows; FAR and MAR in %, NaN reported as null. */
export interface SkabFigures {
  readonly rows: number;
  readonly tp: number;
  readonly tn: number;
  readonly fp: number;
  readonly fn: number;
  readonly f1: number | null;
  readonly far: number | null;
  readonly mar: number | null;
}

/** One SKAB file (or the corpus): figures after the training rows and on all rows. */
export interface SkabFileFigures {
  readonly name: string;
  /** Rows labelled anomalous. */
  readonly anomalyRows: number;
  /** Rows with an alarm standing. */
  readonly alarmRows: number;
  /** The rows with an alarm standing as `[first, last]` spans (0-based, inclusive). */
  readonly alarmSpans: [number, number][];
  /** Rows after the first {@link SKAB_TRAIN_ROWS} of the file. */
  readonly afterTraining: SkabFigures;
  readonly allRows: SkabFigures;
  readonly unmappedEvents: number;
}

/** `eval`'s SKAB result. */
export interface SkabReport {
  readonly layout: "skab";
  /** Rows skipped at the start of each file for `afterTraining`. */
  readonly skipRows: number;
  readonly files: SkabFileFigures[];
  /** All files together (`alarmSpans` empty: spans are per file). */
  readonly corpus: Omit<SkabFileFigures, "name">;
  readonly published: typeof SKAB_PUBLISHED;
}

/** One SKAB file's labels and Vigil's alarm state per row. */
export interface SkabAlarmFile {
  readonly name: string;
  readonly anomaly: readonly BinaryLabel[];
  readonly state: readonly boolean[];
  readonly unmappedEvents?: number;
}

function skabFigures(
  truths: readonly (readonly BinaryLabel[])[],
  predictions: readonly (readonly boolean[])[],
  skipRows: number,
): SkabFigures {
  const s = skabBinaryScore(truths, predictions, { skipRows });
  return {
    rows: s.rows,
    tp: s.tp,
    tn: s.tn,
    fp: s.fp,
    fn: s.fn,
    f1: finite(s.f1),
    far: finite(s.far),
    mar: finite(s.mar),
  };
}

/**
 * The runs of true flags as `[first, last]` rows, inclusive.
 *
 * @example
 * ```ts
 * flagSpans([false, true, true, false, true]); // [[1, 2], [4, 4]]
 * ```
 */
export function flagSpans(flags: readonly boolean[]): [number, number][] {
  const spans: [number, number][] = [];
  for (let i = 0; i < flags.length; i++) {
    if (!flags[i]) continue;
    const last = spans[spans.length - 1];
    if (last !== undefined && last[1] === i - 1) last[1] = i;
    else spans.push([i, i]);
  }
  return spans;
}

function skabFileFigures(files: readonly SkabAlarmFile[], skipRows: number) {
  const truths = files.map((f) => f.anomaly);
  const states = files.map((f) => f.state);
  return {
    anomalyRows: truths.reduce((n, t) => n + t.filter((x) => x === 1 || x === true).length, 0),
    alarmRows: states.reduce((n, s) => n + s.filter(Boolean).length, 0),
    alarmSpans: files.length === 1 ? flagSpans(files[0]!.state) : [],
    afterTraining: skabFigures(truths, states, skipRows),
    allRows: skabFigures(truths, states, 0),
    unmappedEvents: files.reduce((n, f) => n + (f.unmappedEvents ?? 0), 0),
  };
}

/**
 * SKAB figures per file and for all files together (counts summed, as SKAB's `chp_score`),
 * after each file's first `skipRows` rows and on all rows.
 *
 * @example
 * ```ts
 * const r = skabReport([{ name: "f", anomaly: [0, 0, 1, 1], state: [true, true, true, true] }], 2);
 * r.corpus.afterTraining.f1; // 1
 * r.corpus.allRows.far; // 100
 * ```
 */
export function skabReport(
  files: readonly SkabAlarmFile[],
  skipRows: number = SKAB_TRAIN_ROWS,
): SkabReport {
  return {
    layout: "skab",
    skipRows,
    files: files.map((f) => ({ name: f.name, ...skabFileFigures([f], skipRows) })),
    corpus: { ...skabFileFigures(files, skipRows), alarmSpans: [] },
    published: SKAB_PUBLISHED,
  };
}

/**
 * Left-aligns the first column and right-aligns the others, two spaces apart.
 *
 * @example
 * ```ts
 * formatColumns([["a", "1"], ["bb", "22"]]); // "a    1\nbb  22"
 * ```
 */
export function formatColumns(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    r.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join("  ")
      .trimEnd()
  ).join("\n");
}

const fixed = (x: number | null, digits: number): string => x === null ? "-" : x.toFixed(digits);

/**
 * The NAB report as a table: one line per file, the corpus, then the published scores.
 *
 * @example
 * ```ts
 * const r = nabReport([
 *   { name: "f", timestamps: [0, 1, 2, 3], alarms: [false, true, false, false], windows: [[1, 2]] },
 * ], { probationPercent: 0 });
 * formatNabTable(r).includes("corpus"); // true
 * ```
 */
export function formatNabTable(report: NabReport): string {
  const line = (name: string, f: NabFigures): string[] => [
    name,
    fixed(f.scores.standard, 1),
    fixed(f.scores.reward_low_FP_rate, 1),
    fixed(f.scores.reward_low_FN_rate, 1),
    `${f.windowsCaught}/${f.windows}`,
    String(f.falseAlarms),
    fixed(f.alarmsPerCaughtWindow, 1),
    fixed(f.meanDelayRows, 1),
    fixed(f.meanDelayMinutes, 0),
  ];
  const rows = [
    [
      "file",
      "standard",
      "low_FP",
      "low_FN",
      "caught",
      "false_alarms",
      "alarms/caught",
      "delay_rows",
      "delay_min",
    ],
    ...report.files.map((f) => line(f.name, f)),
    line("corpus", report.corpus),
  ];
  const published = report.published.map((p) => `  ${p.detector} ${p.standard.toFixed(1)}`);
  const notes = [
    "Scores are NAB's, normalised: 0 = no alarm at all, 100 = perfect (alarm rows are",
    "detections; the first 15% of each file, at most 750 rows, is probationary and not scored).",
    "Published NAB scores, realKnownCause, standard profile:",
    ...published,
  ];
  if (report.missing.length > 0) notes.push(`Not found, not scored: ${report.missing.join(", ")}`);
  return `${formatColumns(rows)}\n\n${notes.join("\n")}`;
}

const pct = (x: number | null): string => x === null ? "-" : `${pyRound(x, 2).toFixed(2)}%`;
const f1 = (x: number | null): string => x === null ? "-" : pyRound(x, 3).toFixed(3);

/**
 * The SKAB report as a table: F1, FAR and MAR of the alarm state after the training rows and on
 * all rows, one line per file and the corpus, then the published figures.
 *
 * @example
 * ```ts
 * const r = skabReport([{ name: "f", anomaly: [0, 0, 1, 1], state: [true, true, true, true] }], 2);
 * formatSkabTable(r).includes("after the first 2 rows"); // true
 * ```
 */
export function formatSkabTable(report: SkabReport): string {
  const line = (name: string, f: Omit<SkabFileFigures, "name">): string[] => [
    name,
    String(f.allRows.rows),
    String(f.anomalyRows),
    String(f.alarmRows),
    f1(f.afterTraining.f1),
    pct(f.afterTraining.far),
    pct(f.afterTraining.mar),
    f1(f.allRows.f1),
    pct(f.allRows.far),
    pct(f.allRows.mar),
  ];
  const rows = [
    ["file", "rows", "anomaly", "alarm", "F1", "FAR", "MAR", "F1_all", "FAR_all", "MAR_all"],
    ...report.files.map((f) => line(f.name, f)),
    line("corpus", report.corpus),
  ];
  const notes = [
    `F1, FAR, MAR: the alarm state per row against the anomaly labels, after the first ` +
    `${report.skipRows} rows of each file (SKAB's training rows); *_all: on all rows.`,
    "Counts are summed over files before F1 = TP / (TP + (FN + FP) / 2), FAR = FP / (FP + TN),",
    "MAR = FN / (FN + TP). anomaly, alarm: rows labelled anomalous, rows with an alarm standing.",
    "Published SKAB figures (outlier detection):",
    ...report.published.map((p) =>
      `  ${p.detector} F1 ${p.f1.toFixed(2)} FAR ${p.far.toFixed(2)}% MAR ${p.mar.toFixed(2)}%`
    ),
  ];
  return `${formatColumns(rows)}\n\n${notes.join("\n")}`;
}
