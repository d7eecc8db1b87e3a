/**
 * The `isolation-forest/v1` model file: types, parsing with validation, serialisation, and the
 * scoring arithmetic every scorer shares (`c(n)`, the per-leaf path length). The format is
 * specified in isolation-forest-model.md of the project's specs.
 * @module
 */
import { z } from "zod";

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

const finite = z.number().refine(Number.isFinite, "must be a finite number");
const index = z.number().int();

const treeSchema = z.object({
  left: z.array(index).min(1),
  right: z.array(index).min(1),
  feature: z.array(index).min(1),
  threshold: z.array(z.number()).min(1),
  samples: z.array(z.number().int().nonnegative()).min(1),
});

const modelSchema = z.object({
  format: z.literal(ISOLATION_FOREST_FORMAT),
  features: z.array(z.string().min(1)).min(1),
  scaler: z.object({ mean: z.array(finite), scale: z.array(finite) }).nullable(),
  max_samples: z.number().int().positive(),
  offset: finite,
  alarm_threshold: finite.optional(),
  alarm_quantile: z.number().gt(0).lte(1).optional(),
  trees: z.array(treeSchema).min(1),
});

/** A model file that does not follow the format; the message names the bad field. */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelError";
  }
}

function fieldPath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : (s ? "." : "") + String(p);
  return s || "(root)";
}

/**
 * Checks what the schema cannot: equal array lengths, child indices inside the tree (and
 * pointing forward, so no tree has a cycle), every node but the root the child of exactly one
 * node (so each tree is a tree), both children or none, feature indices in range.
 */
function checkStructure(m: IsolationForestModel): void {
  const d = m.features.length;
  if (new Set(m.features).size !== d) {
    throw new ModelError(`features: duplicate name in ${JSON.stringify(m.features)}`);
  }
  if (m.scaler) {
    for (const k of ["mean", "scale"] as const) {
      if (m.scaler[k].length !== d) {
        throw new ModelError(
          `scaler.${k}: has ${m.scaler[k].length} values, features has ${d}`,
        );
      }
    }
    m.scaler.scale.forEach((s, j) => {
      if (s === 0) throw new ModelError(`scaler.scale[${j}]: is 0 (store 1 for a constant)`);
    });
  }
  m.trees.forEach((t, ti) => {
    const n = t.left.length;
    for (const k of ["right", "feature", "threshold", "samples"] as const) {
      if (t[k].length !== n) {
        throw new ModelError(`trees[${ti}].${k}: has ${t[k].length} nodes, left has ${n}`);
      }
    }
    const parents = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const l = t.left[i]!, r = t.right[i]!;
      const at = `trees[${ti}]`;
      if (i > 0 && parents[i] === 0) throw new ModelError(`${at}: node ${i} has no parent`);
      if (l === -1 && r === -1) continue;
      if (l === -1 || r === -1) {
        throw new ModelError(`${at}.left[${i}]/right[${i}]: ${l}/${r}, one child only`);
      }
      if (!(l > i && l < n)) {
        throw new ModelError(`${at}.left[${i}]: ${l} is not a node after ${i}`);
      }
      if (!(r > i && r < n)) {
        throw new ModelError(`${at}.right[${i}]: ${r} is not a node after ${i}`);
      }
      if (parents[l]! + parents[r]! > 0 || l === r) {
        throw new ModelError(`${at}.left[${i}]/right[${i}]: ${l}/${r}, a node with two parents`);
      }
      parents[l] = parents[r] = 1;
      const f = t.feature[i]!;
      if (!(f >= 0 && f < d)) {
        throw new ModelError(`${at}.feature[${i}]: ${f} is not in 0…${d - 1}`);
      }
      if (!Number.isFinite(t.threshold[i]!)) {
        throw new ModelError(`${at}.threshold[${i}]: ${t.threshold[i]} is not finite`);
      }
    }
  });
}

/**
 * Validates a parsed JSON value as a model. Throws a {@linkcode ModelError} naming the first
 * bad field (e.g. `trees[3].feature[7]: 9 is not in 0…7`).
 */
export function validateModel(value: unknown): IsolationForestModel {
  const r = modelSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ModelError(`${fieldPath(issue.path)}: ${issue.message}`);
  }
  const m = r.data as IsolationForestModel;
  checkStructure(m);
  return m;
}

/** Parses and validates a model file's text; a {@linkcode ModelError} names the bad field. */
export function parseModel(text: string): IsolationForestModel {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ModelError(`not JSON: ${(e as Error).message}`);
  }
  return validateModel(value);
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
