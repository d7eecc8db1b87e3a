/**
 * The plain-TypeScript isolation-forest scorer: a direct reading of the model page, node by
 * node, with no flattening. It is the reference the WASM scorer is tested against and the
 * baseline of the benchmark.
 * @module
 */
import {
  type IsolationForestModel,
  leafPathLength,
  pathLengthDenominator,
  scoreFromPathSum,
} from "./isolation_forest_model.ts";

/** `score_samples` and `decision_function` of a batch of records. */
export interface IsolationForestScores {
  /** scikit-learn's `score_samples`: lower is more anomalous, in [-1, 0). */
  readonly scoreSamples: Float64Array;
  /** `scoreSamples - offset`: below 0 is an outlier. */
  readonly decisionFunction: Float64Array;
}

/**
 * Scores `n` records given row-major in `x` (`n × features.length` values, in the model's
 * feature order) the slow, obvious way. Throws a `RangeError` naming a too-short `x` or a
 * non-finite value.
 */
export function scoreReference(
  model: IsolationForestModel,
  x: ArrayLike<number>,
  n: number,
): IsolationForestScores {
  const d = model.features.length;
  if (!(Number.isInteger(n) && n >= 0 && x.length >= n * d)) {
    throw new RangeError(`scoreReference: n = ${n} needs ${n * d} values, x has ${x.length}`);
  }
  const denominator = pathLengthDenominator(model);
  const scoreSamples = new Float64Array(n);
  const decisionFunction = new Float64Array(n);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j]!;
      if (!Number.isFinite(v)) {
        throw new RangeError(`record ${i}, feature ${model.features[j]}: ${v} is not finite`);
      }
      // scikit-learn scales in float64, then converts to float32 before comparing.
      const s = model.scaler ? (v - model.scaler.mean[j]!) / model.scaler.scale[j]! : v;
      row[j] = Math.fround(s);
    }
    let sum = 0;
    for (const t of model.trees) {
      let node = 0;
      let depth = 0;
      while (t.left[node] !== -1) {
        node = row[t.feature[node]!]! <= t.threshold[node]! ? t.left[node]! : t.right[node]!;
        depth++;
      }
      sum += leafPathLength(depth, t.samples[node]!);
    }
    const s = scoreFromPathSum(sum, denominator);
    scoreSamples[i] = s;
    decisionFunction[i] = s - model.offset;
  }
  return { scoreSamples, decisionFunction };
}
