/**
 * Fits a standard scaler and an isolation forest the way scikit-learn's
 * `IsolationForest(contamination="auto")` does (Liu, Ting & Zhou 2008): per tree a sub-sample
 * of `max_samples` records drawn without replacement, at each node a random feature among
 * those not constant on the node's samples and a split drawn uniformly between their minimum
 * and maximum, depth limited to ceil(log2(max_samples)). The random numbers differ from
 * scikit-learn's, so the trees do too; the scores of a given model do not.
 * @module
 */
import {
  alarmThresholdAt,
  DEFAULT_ALARM_QUANTILE,
  ISOLATION_FOREST_FORMAT,
  type IsolationForestModel,
  type IsolationTree,
} from "./isolation_forest_model.ts";
import { scoreReference } from "./isolation_forest_reference.ts";

/** Options of {@linkcode trainIsolationForest}. */
export interface TrainIsolationForestOptions {
  /** Trees in the forest. @default {100} */
  trees?: number;
  /** Sub-sample size per tree; capped at the number of records (`min(256, n)` by default). @default {256} */
  maxSamples?: number;
  /** Seed of the random numbers: the same seed and data give the same model. @default random */
  seed?: number;
  /** Fit a standard scaler and grow the trees on scaled values. @default {true} */
  scale?: boolean;
  /**
   * Quantile of anomaly-ness at which the alarm threshold is taken over the training records'
   * own scores (see `alarmThresholdAt`), in (0, 1]; null: no threshold (the offset rule).
   * @default {0.995}
   */
  alarmQuantile?: number | null;
}

/** scikit-learn's `FEATURE_THRESHOLD`: a feature spanning less than this on a node is constant. */
const FEATURE_THRESHOLD = 1e-7;

/** xoshiro128** seeded through splitmix32: small, fast, and good enough for tree growing. */
class Random {
  #s = new Uint32Array(4);

  constructor(seed: number) {
    let z = seed >>> 0 ^ Math.floor(seed / 4294967296) >>> 0;
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
      this.#s[i] = (t ^ (t >>> 16)) >>> 0;
    }
    if ((this.#s[0]! | this.#s[1]! | this.#s[2]! | this.#s[3]!) === 0) this.#s[0] = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return r;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  float(): number {
    return ((this.u32() >>> 5) * 67108864 + (this.u32() >>> 6)) / 9007199254740992;
  }

  /** A uniform integer in 0…n-1 (n ≤ 2³²), without modulo bias. */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Grows one tree on `idx` (the sub-sample's record indices, reordered in place). */
function growTree(
  v: Float64Array,
  d: number,
  idx: Int32Array,
  maxDepth: number,
  rng: Random,
): IsolationTree {
  const left: number[] = [], right: number[] = [], feature: number[] = [];
  const threshold: number[] = [], samples: number[] = [];
  const order = new Int32Array(d);
  // Depth-first, left subtree first: the node numbering scikit-learn's trees have.
  const build = (start: number, end: number, depth: number): number => {
    const node = left.length;
    left.push(-1);
    right.push(-1);
    feature.push(-2);
    threshold.push(-2);
    samples.push(end - start);
    if (depth >= maxDepth || end - start <= 1) return node;
    // Features in random order; the first that is not constant on this node splits it.
    for (let j = 0; j < d; j++) order[j] = j;
    for (let k = 0; k < d; k++) {
      const r = k + rng.below(d - k);
      const f = order[r]!;
      order[r] = order[k]!;
      order[k] = f;
      let lo = Infinity, hi = -Infinity;
      for (let i = start; i < end; i++) {
        const x = v[idx[i]! * d + f]!;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      if (hi <= lo + FEATURE_THRESHOLD) continue;
      let t = lo + rng.float() * (hi - lo);
      if (t >= hi) t = lo; // rounding can reach hi; the right side must not be empty
      // Partition: values <= t first.
      let p = start;
      for (let i = start; i < end; i++) {
        const r2 = idx[i]!;
        if (v[r2 * d + f]! <= t) {
          idx[i] = idx[p]!;
          idx[p++] = r2;
        }
      }
      feature[node] = f;
      threshold[node] = t;
      left[node] = build(start, p, depth + 1);
      right[node] = build(p, end, depth + 1);
      return node;
    }
    return node; // every feature constant here: a leaf
  };
  build(0, idx.length, 0);
  return { left, right, feature, threshold, samples };
}

/**
 * The mean and population standard deviation of feature `j` of `x` computed on its values
 * divided by the largest magnitude among them, then multiplied back: finite for any finite
 * values. For a feature whose sum or squared deviations overflow (readings near 1e300, which
 * the parsers take as finite), where scikit-learn's StandardScaler gives inf and NaN, and a
 * model with a non-finite scale could not be loaded (the online forest's training threw, and
 * the engine with it).
 */
function scaledMeanSd(x: ArrayLike<number>, n: number, d: number, j: number): [number, number] {
  let f = 0;
  for (let i = 0; i < n; i++) f = Math.max(f, Math.abs(x[i * d + j]!));
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i * d + j]! / f / n;
  let q = 0;
  for (let i = 0; i < n; i++) q += (x[i * d + j]! / f - s) ** 2 / n;
  return [s * f, Math.sqrt(q) * f];
}

/**
 * Fits a scaler and an isolation forest on `n` records given row-major in `x`
 * (`n × features.length` finite values). Throws a `RangeError` naming a bad option or value.
 */
export function trainIsolationForest(
  x: ArrayLike<number>,
  n: number,
  features: readonly string[],
  options: TrainIsolationForestOptions = {},
): IsolationForestModel {
  const d = features.length;
  const trees = options.trees ?? 100;
  const maxSamples = options.maxSamples ?? 256;
  const seed = options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!;
  if (d < 1) throw new RangeError("features: at least one is needed");
  if (!(Number.isInteger(n) && n >= 1 && x.length >= n * d)) {
    throw new RangeError(`need at least one record of ${d} values, got n = ${n}`);
  }
  if (!(Number.isInteger(trees) && trees >= 1 && trees <= 100000)) {
    throw new RangeError(`trees must be an integer in 1…100000, got ${trees}`);
  }
  if (!(Number.isInteger(maxSamples) && maxSamples >= 1)) {
    throw new RangeError(`maxSamples must be a positive integer, got ${maxSamples}`);
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const alarmQuantile = options.alarmQuantile === undefined
    ? DEFAULT_ALARM_QUANTILE
    : options.alarmQuantile;
  if (alarmQuantile !== null && !(alarmQuantile > 0 && alarmQuantile <= 1)) {
    throw new RangeError(`alarmQuantile must be a number in (0, 1], got ${alarmQuantile}`);
  }
  for (let i = 0; i < n * d; i++) {
    if (!Number.isFinite(x[i]!)) {
      throw new RangeError(
        `record ${Math.floor(i / d)}, feature ${features[i % d]}: ${x[i]} is not finite`,
      );
    }
  }
  let scaler: IsolationForestModel["scaler"] = null;
  const v = new Float64Array(n * d);
  if (options.scale ?? true) {
    const mean: number[] = [], scale: number[] = [];
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i * d + j]!;
      let m = s / n;
      let q = 0;
      for (let i = 0; i < n; i++) q += (x[i * d + j]! - m) ** 2;
      let sd = Math.sqrt(q / n);
      if (!Number.isFinite(m) || !Number.isFinite(sd)) [m, sd] = scaledMeanSd(x, n, d, j);
      mean.push(m);
      // StandardScaler stores 1 for a (near-)constant feature, so scaling never divides by 0.
      scale.push(sd < 10 * Number.EPSILON * Math.max(1, Math.abs(m)) ? 1 : sd);
    }
    scaler = { mean, scale };
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const xv = x[i * d + j]!, m = mean[j]!, sd = scale[j]!;
        const t = (xv - m) / sd;
        // x − mean overflows only for values near ±1.8e308 of both signs: divided first then.
        v[i * d + j] = Number.isFinite(t) ? t : xv / sd - m / sd;
      }
    }
  } else {
    for (let i = 0; i < n * d; i++) v[i] = x[i]!;
  }
  // Grow on the float32 values the scorer compares, so that node sample counts are the counts
  // of training records a scorer routes there.
  for (let i = 0; i < n * d; i++) v[i] = Math.fround(v[i]!);
  const psi = Math.min(maxSamples, n);
  const maxDepth = Math.ceil(Math.log2(Math.max(psi, 2)));
  const rng = new Random(seed);
  const all = new Int32Array(n);
  const out: IsolationTree[] = [];
  for (let t = 0; t < trees; t++) {
    // Partial Fisher–Yates: the first psi entries are a sample without replacement.
    for (let i = 0; i < n; i++) all[i] = i;
    for (let k = 0; k < psi; k++) {
      const r = k + rng.below(n - k);
      const a = all[r]!;
      all[r] = all[k]!;
      all[k] = a;
    }
    out.push(growTree(v, d, all.slice(0, psi), maxDepth, rng));
  }
  const model: IsolationForestModel = {
    format: ISOLATION_FOREST_FORMAT,
    features: [...features],
    scaler,
    max_samples: psi,
    offset: -0.5,
    trees: out,
  };
  if (alarmQuantile === null) return model;
  // The training records' own scores, as any scorer gives them (the reference is exact to
  // 1e-12 against the WASM scorer and needs no WASM here): the alarm then flags about
  // 1 - alarmQuantile of data like the training data, whatever its shape, where the fixed
  // offset flags whatever share happens to score below -0.5.
  const { scoreSamples } = scoreReference(model, x, n);
  return {
    format: model.format,
    features: model.features,
    scaler,
    max_samples: psi,
    offset: model.offset,
    // Before `trees`, so that a reader of the file sees them near the top.
    alarm_threshold: alarmThresholdAt(scoreSamples, alarmQuantile),
    alarm_quantile: alarmQuantile,
    trees: out,
  };
}
