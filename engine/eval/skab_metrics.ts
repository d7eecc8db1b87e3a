/**
 * SKAB's outlier-detection metrics (F1, FAR, MAR), ported to TypeScript.
 *
 * Upstream (github.com/waico/SKAB, GPL-3.0):
 * - `core/metrics.py` (commit f3d94c4, from the `tsad` library): `confusion_matrix` and
 *   `chp_score(true, prediction, metric="binary" | "confusion_matrix")` for `pd.Series` labels:
 *   per-file TP/TN/FP/FN summed over files, then
 *   `f1 = round(TP / (TP + (FN + FP) / 2), 2)`, `far = round(FP / (FP + TN) * 100, 2)`,
 *   `mar = round(FN / (FN + TP) * 100, 2)`.
 * - `utils/evaluating.py`: `evaluating_change_point(..., metric="binary")`, the older module the
 *   leaderboard notebooks import; same counts, same formulas.
 * - Leaderboard notebooks (`notebooks/*.ipynb`): `true_outlier = [df.anomaly for df in
 *   list_of_df]` over every file except `anomaly-free`, predictions over the whole `df.index`;
 *   models train on `df[:400]` but every row, training rows included, is scored. Summing
 *   per-file counts equals scoring the files concatenated.
 *
 * {@link skabBinaryScore} scores every row by default, as upstream does; `skipRows` drops each
 * file's first rows from both labels and predictions (Vigil's convention of scoring only after
 * the {@link SKAB_TRAIN_ROWS} training rows).
 *
 * @module
 */

/** A label or a prediction: 1 / true is "anomaly", anything else is not (`== 1` upstream). */
export type BinaryLabel = number | boolean;

/** Rows SKAB's notebooks train on before detecting (`X_train = df[:400]`). */
export const SKAB_TRAIN_ROWS = 400;

/** Row counts of a binary confusion matrix. */
export interface ConfusionCounts {
  readonly tp: number;
  readonly tn: number;
  readonly fp: number;
  readonly fn: number;
}

/** F1, FAR (%) and MAR (%). */
export interface BinaryMetrics {
  readonly f1: number;
  readonly far: number;
  readonly mar: number;
}

/** {@link skabBinaryScore}'s result. */
export interface SkabBinaryScore extends ConfusionCounts, BinaryMetrics {
  /** The figures as SKAB prints and tabulates them: `round(x, 2)`. */
  readonly rounded: BinaryMetrics;
  /** Rows scored, all files together. */
  readonly rows: number;
}

const isOne = (x: BinaryLabel | undefined): boolean => x === 1 || x === true;

/**
 * Python's `round(x, ndigits)` for a float: the nearest value with `ndigits` decimals, exact
 * ties (in the binary value) going to the even last digit.
 *
 * @example
 * ```ts
 * pyRound(0.125, 2); // 0.12 (Number.toFixed gives "0.13")
 * pyRound(0.698403, 2); // 0.7
 * ```
 */
export function pyRound(x: number, ndigits: number): number {
  if (!Number.isFinite(x)) return x;
  const candidate = x.toFixed(ndigits);
  // toFixed is exact on the binary value; 100 digits cover every double in practical ranges.
  if (Math.abs(x) >= 1e21 || Math.abs(x) < 1e-6) return Number(candidate);
  const exact = Math.abs(x).toFixed(100);
  const point = exact.indexOf(".");
  const rest = exact.slice(point + 1 + ndigits);
  const tie = rest[0] === "5" && /^0*$/.test(rest.slice(1));
  if (!tie) return Number(candidate);
  // toFixed picked the larger magnitude on a tie; go to the even neighbour instead.
  const scale = 10 ** ndigits;
  const truncated = Number(exact.slice(0, point + 1 + ndigits).replace(".", ""));
  const evenDigits = truncated % 2 === 0 ? truncated : truncated + 1;
  return Math.sign(x) * (evenDigits / scale);
}

/**
 * `confusion_matrix(true, prediction)` of `core/metrics.py`: rows where the label is 1 and the
 * prediction 1 are TP, and so on.
 *
 * @example
 * ```ts
 * skabConfusionMatrix([0, 1, 1, 0], [1, 1, 0, 0]); // { tp: 1, tn: 1, fp: 1, fn: 1 }
 * ```
 */
export function skabConfusionMatrix(
  truth: readonly BinaryLabel[],
  prediction: readonly BinaryLabel[],
): ConfusionCounts {
  if (truth.length !== prediction.length) {
    throw new Error(`${truth.length} labels but ${prediction.length} predictions`);
  }
  let tp = 0, tn = 0, fp = 0, fn = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = isOne(truth[i]);
    const p = isOne(prediction[i]);
    if (t && p) tp++;
    else if (!t && !p) tn++;
    else if (!t && p) fp++;
    else fn++;
  }
  return { tp, tn, fp, fn };
}

/**
 * The `metric="binary"` formulas of `chp_score`, unrounded: F1 = TP / (TP + (FN + FP) / 2),
 * FAR = FP / (FP + TN) * 100, MAR = FN / (FN + TP) * 100 (NaN where a denominator is 0, as
 * numpy gives).
 *
 * @example
 * ```ts
 * skabBinaryMetrics({ tp: 1, tn: 1, fp: 1, fn: 1 }); // { f1: 0.5, far: 50, mar: 50 }
 * ```
 */
export function skabBinaryMetrics(counts: ConfusionCounts): BinaryMetrics {
  const { tp, tn, fp, fn } = counts;
  return {
    f1: tp / (tp + (fn + fp) / 2),
    far: fp / (fp + tn) * 100,
    mar: fn / (fn + tp) * 100,
  };
}

/**
 * SKAB's leaderboard figures over many files (`chp_score(true_outlier, predicted_outlier,
 * metric="binary")`): confusion counts summed over files, then F1, FAR, MAR. `truths[i]` is
 * file i's `anomaly` column, `predictions[i]` the detector's flags for the same rows.
 *
 * @example
 * ```ts
 * const r = skabBinaryScore([[0, 0, 1, 1]], [[1, 1, 1, 1]]);
 * r.f1; // 0.6666666666666666
 * skabBinaryScore([[0, 0, 1, 1]], [[1, 1, 1, 1]], { skipRows: 2 }).f1; // 1
 * ```
 */
export function skabBinaryScore(
  truths: readonly (readonly BinaryLabel[])[],
  predictions: readonly (readonly BinaryLabel[])[],
  options: { readonly skipRows?: number } = {},
): SkabBinaryScore {
  if (truths.length !== predictions.length) {
    throw new Error(`${truths.length} label series but ${predictions.length} prediction series`);
  }
  const skip = options.skipRows ?? 0;
  let tp = 0, tn = 0, fp = 0, fn = 0, rows = 0;
  for (let i = 0; i < truths.length; i++) {
    const truth = truths[i]!;
    const prediction = predictions[i]!;
    if (truth.length !== prediction.length) {
      throw new Error(`file ${i}: ${truth.length} labels but ${prediction.length} predictions`);
    }
    const c = skabConfusionMatrix(truth.slice(skip), prediction.slice(skip));
    tp += c.tp;
    tn += c.tn;
    fp += c.fp;
    fn += c.fn;
    rows += Math.max(0, truth.length - skip);
  }
  const m = skabBinaryMetrics({ tp, tn, fp, fn });
  return {
    tp,
    tn,
    fp,
    fn,
    rows,
    ...m,
    rounded: { f1: pyRound(m.f1, 2), far: pyRound(m.far, 2), mar: pyRound(m.mar, 2) },
  };
}
