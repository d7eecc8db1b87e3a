/**
 * The `isolation-forest/v1` model file: types, serialisation, and the scoring arithmetic every
 * scorer shares (`c(n)`, the per-leaf path length); its parsing with validation (zod) is in
 * model_validation.ts, loaded only where a model file is read. The format is specified in
 * isolation-forest-model.md of the project's specs.
 * @module
 */
/** The format tag of every model file. */
export const ISOLATION_FOREST_FORMAT = "isolation-forest/v1";

/** One fitted tree, as parallel arrays indexed by node (node 0 is the root). */
export interface IsolationTree {
  /** Left child index; -1 (with `right` -1) marks a leaf. */
  readonly left: readonly number[];
  /** Right child index; -1 on leaves. */
  readonly right: readonly number[];
  /** Index into the model's `features`; ignored on leaves. */
  readonly feature: readonly number[];
  /** Go left when the (float32-rounded, scaled) value is `<=` this. */
  readonly threshold: readonly number[];
  /** Training samples that reached the node. */
  readonly samples: readonly number[];
}

/** A standard scaler: the scorer uses `(x - mean) / scale` per feature. */
export interface StandardScalerParams {
  readonly mean: readonly number[];
  readonly scale: readonly number[];
}

/** A fitted isolation forest with its optional scaler. */
export interface IsolationForestModel {
  readonly format: typeof ISOLATION_FOREST_FORMAT;
  readonly features: readonly string[];
  readonly scaler: StandardScalerParams | null;
  readonly max_samples: number;
  readonly offset: number;
  /**
   * Optional (added after v1's first readers, who ignore it): the alarm threshold on
   * `score_samples` calibrated on the training records; a record raises the alarm when its
   * score is below it. Absent: the alarm is `decision_function < 0` (the offset rule).
   */
  readonly alarm_threshold?: number;
  /** Optional, informational: the quantile of anomaly-ness `alarm_threshold` was taken at. */
  readonly alarm_quantile?: number;
  readonly trees: readonly IsolationTree[];
}

/** A model file that does not follow the format; the message names the bad field. */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelError";
  }
}

/** The model file's text: one JSON document (numbers in shortest round-trip form). */
export function serializeModel(model: IsolationForestModel): string {
  return JSON.stringify(model) + "\n";
}

/** The default of `train --alarm-quantile`: 0.5% of the training records lie past the threshold. */
export const DEFAULT_ALARM_QUANTILE = 0.995;

/**
 * The alarm threshold on `score_samples` at quantile `q` of anomaly-ness (`-score_samples`):
 * `-(the q quantile of -scores)`, linearly interpolated between order statistics (numpy's
 * default, "type 7"). This is `np.percentile(scores, 100 * (1 - q))`, the `offset_`
 * scikit-learn's `IsolationForest` fits for `contamination = 1 - q`: a share of about `1 - q` of
 * the scored records lies strictly below it. Throws a `RangeError` naming a bad `q` or an empty
 * or non-finite `scores`.
 *
 * @example
 * ```ts
 * alarmThresholdAt([-0.5, -0.4, -0.3, -0.2, -0.1], 0.75); // -0.4
 * alarmThresholdAt([-0.5, -0.4, -0.3, -0.2, -0.1], 0.9); // -0.46 (between -0.5 and -0.4)
 * ```
 */
export function alarmThresholdAt(scores: ArrayLike<number>, q: number): number {
  if (!(q > 0 && q <= 1)) {
    throw new RangeError(`alarm quantile must be a number in (0, 1], got ${q}`);
  }
  const n = scores.length;
  if (n === 0) throw new RangeError("alarm threshold: no scores to take a quantile of");
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = scores[i]!;
    if (!Number.isFinite(s)) throw new RangeError(`alarm threshold: score ${i} is ${s}`);
    a[i] = -s;
  }
  a.sort();
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return -(a[lo]! + (h - lo) * (a[hi]! - a[lo]!));
}

/**
 * Whether a record with this `score_samples` and `decision_function` raises the model's alarm:
 * `score < alarm_threshold` when the model has one, else `decision < 0` (the offset rule).
 *
 * @example
 * ```ts
 * isForestAlarm({ offset: -0.5 }, -0.52, -0.02); // true: the offset rule
 * isForestAlarm({ offset: -0.5, alarm_threshold: -0.56 }, -0.52, -0.02); // false
 * ```
 */
export function isForestAlarm(
  model: { readonly offset: number; readonly alarm_threshold?: number },
  score: number,
  decision: number,
): boolean {
  return model.alarm_threshold === undefined ? decision < 0 : score < model.alarm_threshold;
}

/** Euler–Mascheroni constant, as scikit-learn spells it (`np.euler_gamma`). */
const EULER_GAMMA = 0.5772156649015329;

/**
 * `c(n)`: the average path length of an unsuccessful search in a binary search tree of `n`
 * points; 0 for n ≤ 1, 1 for n = 2. Same operations in the same order as scikit-learn's
 * `_average_path_length`, so the doubles are the same.
 */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2.0 * (Math.log(n - 1.0) + EULER_GAMMA) - 2.0 * (n - 1.0) / n;
}

/**
 * What a record that ends in a leaf at `depth` (root = 0) adds to the path-length sum:
 * `(nodes on the path + c(samples)) - 1`, grouped as scikit-learn groups it.
 */
export function leafPathLength(depth: number, samples: number): number {
  return (depth + 1 + averagePathLength(samples)) - 1.0;
}

/** Divisor of the summed path lengths: `trees × c(max_samples)`. */
export function pathLengthDenominator(model: IsolationForestModel): number {
  return model.trees.length * averagePathLength(model.max_samples);
}

/**
 * `score_samples` from the summed path lengths: `-(2 ** -(sum / denominator))`; -1 when the
 * denominator is 0 (a forest grown on one sample), as scikit-learn does.
 */
export function scoreFromPathSum(sum: number, denominator: number): number {
  return denominator !== 0 ? -(2 ** -(sum / denominator)) : -1;
}
