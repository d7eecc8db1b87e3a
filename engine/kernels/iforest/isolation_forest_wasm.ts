/**
 * The WebAssembly isolation-forest scorer: a thin TypeScript shell over `assembly/iforest.ts`
 * (compiled to `build/wasm/iforest.wasm` by `deno task build:wasm`). The trees are flattened once
 * into WASM memory; each batch is written with one `set`, scored with one call, and read back
 * from views.
 * @module
 */
import wasmBytes from "../../../build/wasm/iforest.wasm" with { type: "bytes" };
import {
  type IsolationForestModel,
  leafPathLength,
  pathLengthDenominator,
} from "./isolation_forest_model.ts";
import type { IsolationForestScores } from "./isolation_forest_reference.ts";
import {
  type AssemblyScriptExports,
  assemblyScriptFactory,
  MemoryViews,
} from "../assemblyscript_instance.ts";

/** The exports of `iforest.wasm` (see `assembly/iforest.ts` for each one's contract). */
interface IforestExports extends AssemblyScriptExports {
  configure(nodes: number, trees: number, features: number, batchCapacity: number): number;
  prepare(denominator: number, offset: number): number;
  score(n: number): number;
}

/** Options of {@linkcode WasmIsolationForest}. */
export interface WasmIsolationForestOptions {
  /**
   * Records per WASM call (memory: `16 × features + 24` bytes per record). Larger batches
   * amortise the call; the tree walk keeps each tree in cache whatever the size.
   * @default {4096}
   */
  batchCapacity?: number;
}

/** Indices of the module's arrays for `ptr` (`enum R` of assembly/iforest.ts). */
const A = Object.freeze({
  nodes: 0,
  values: 1,
  roots: 2,
  depths: 3,
  mean: 4,
  scale: 5,
  input: 6,
  score: 9,
  decision: 10,
});

/** A fresh instance (own memory) whose `abort` throws a JS `Error` with the kernel's message. */
const instantiate = assemblyScriptFactory<IforestExports>(wasmBytes);

interface Views {
  input: Float64Array;
  score: Float64Array;
  decision: Float64Array;
}

/**
 * Writes the trees into the node, value, root and depth arrays: nodes renumbered breadth-first
 * per tree so that siblings are adjacent (right = left + 1), leaves made self-loops with
 * threshold +Infinity and their path-length contribution precomputed.
 */
function flatten(model: IsolationForestModel, e: IforestExports): void {
  let total = 0;
  for (const t of model.trees) total += t.left.length;
  const trees = model.trees.length;
  const d = model.features.length;
  const { nodeF64, nodeI32, values, roots, depths, mean, scale } = new MemoryViews(e, (v) => ({
    nodeF64: v.f64(A.nodes, total * 2),
    nodeI32: v.i32(A.nodes, total * 4),
    values: v.f64(A.values, total),
    roots: v.i32(A.roots, trees),
    depths: v.i32(A.depths, trees),
    mean: v.f64(A.mean, d),
    scale: v.f64(A.scale, d),
  })).current;
  let next = 0;
  model.trees.forEach((t, ti) => {
    const root = next++;
    roots[ti] = root;
    // Queue of (original node, new index, depth).
    const queue: [number, number, number][] = [[0, root, 0]];
    let maxDepth = 0;
    for (let q = 0; q < queue.length; q++) {
      const [orig, idx, depth] = queue[q]!;
      if (t.left[orig] === -1) {
        nodeF64[idx * 2] = Infinity;
        nodeI32[idx * 4 + 2] = 0;
        nodeI32[idx * 4 + 3] = idx;
        values[idx] = leafPathLength(depth, t.samples[orig]!);
        if (depth > maxDepth) maxDepth = depth;
      } else {
        const l = next;
        next += 2;
        nodeF64[idx * 2] = t.threshold[orig]!;
        nodeI32[idx * 4 + 2] = t.feature[orig]!;
        nodeI32[idx * 4 + 3] = l;
        queue.push([t.left[orig]!, l, depth + 1], [t.right[orig]!, l + 1, depth + 1]);
      }
    }
    depths[ti] = maxDepth;
  });
  if (next !== total) {
    // Validation lets a node be unreachable, or the child of two nodes: not a tree then.
    throw new RangeError(`model: the trees have ${total} nodes, ${next} reachable once each`);
  }
  if (model.scaler) {
    mean.set(model.scaler.mean);
    scale.set(model.scaler.scale);
  } else {
    mean.fill(0);
    scale.fill(1);
  }
}

/**
 * Scores records with an isolation forest in WebAssembly, exactly as scikit-learn's
 * `score_samples` and `decision_function` (float32 comparisons included). Each instance owns
 * its WASM instance and memory, allocated once at construction.
 *
 * @example
 * ```ts
 * const forest = new WasmIsolationForest(parseModel(text));
 * const { scoreSamples, decisionFunction } = forest.score(rows, n); // rows: n × features
 * ```
 */
export class WasmIsolationForest {
  readonly model: IsolationForestModel;
  readonly batchCapacity: number;
  readonly #e: IforestExports;
  readonly #views: MemoryViews<Views>;

  /** Flattens the model's trees into WASM memory. A `RangeError` names a bad option. */
  constructor(model: IsolationForestModel, options: WasmIsolationForestOptions = {}) {
    const cap = options.batchCapacity ?? 4096;
    if (!(Number.isInteger(cap) && cap >= 1 && cap <= 1 << 20)) {
      throw new RangeError(`batchCapacity must be an integer in 1…${1 << 20}, got ${cap}`);
    }
    this.model = model;
    this.batchCapacity = cap;
    const e = instantiate();
    let nodes = 0;
    for (const t of model.trees) nodes += t.left.length;
    e.configure(nodes, model.trees.length, model.features.length, cap);
    flatten(model, e);
    const bad = e.prepare(pathLengthDenominator(model), model.offset);
    if (bad !== -1) throw new RangeError(`model: node or parameter ${bad} is out of range`);
    this.#e = e;
    const d = model.features.length;
    this.#views = new MemoryViews(e, (v) => ({
      input: v.f64(A.input, cap * d),
      score: v.f64(A.score, cap),
      decision: v.f64(A.decision, cap),
    }));
  }

  /**
   * Scores `n ≤ batchCapacity` records given row-major in `x` (model feature order) in one
   * WASM call. The result's arrays are views over WASM memory, valid until the next call.
   * Throws a `RangeError` naming a bad `n` or the first non-finite value.
   */
  scoreBatch(x: Float64Array, n: number): IsolationForestScores {
    return this.#run(x, n, 0);
  }

  /** {@linkcode scoreBatch}, naming a bad record by its index plus `first`. */
  #run(x: Float64Array, n: number, first: number): IsolationForestScores {
    const d = this.model.features.length;
    if (!(Number.isInteger(n) && n >= 0 && n <= this.batchCapacity && x.length >= n * d)) {
      throw new RangeError(
        `n must be an integer in 0…${this.batchCapacity} with ${d} values each, got n = ${n} ` +
          `and ${x.length} values`,
      );
    }
    let v = this.#views.current;
    v.input.set(x.length === n * d ? x : x.subarray(0, n * d));
    const bad = this.#e.score(n);
    if (bad !== -1) {
      const row = Array.from(x.subarray(bad * d, bad * d + d));
      const j = row.findIndex((y) => !Number.isFinite(y));
      throw new RangeError(
        `record ${first + bad}, feature ${this.model.features[j]}: ${row[j]} is not finite`,
      );
    }
    v = this.#views.current;
    return { scoreSamples: v.score.subarray(0, n), decisionFunction: v.decision.subarray(0, n) };
  }

  /** Scores any number of records (batch by batch); the result is owned by the caller. */
  score(x: Float64Array, n: number): IsolationForestScores {
    const d = this.model.features.length;
    if (!(Number.isInteger(n) && n >= 0 && x.length >= n * d)) {
      throw new RangeError(`score: n = ${n} needs ${n * d} values, x has ${x.length}`);
    }
    const scoreSamples = new Float64Array(n);
    const decisionFunction = new Float64Array(n);
    for (let i = 0; i < n; i += this.batchCapacity) {
      const m = Math.min(this.batchCapacity, n - i);
      const r = this.#run(x.subarray(i * d, (i + m) * d), m, i);
      scoreSamples.set(r.scoreSamples, i);
      decisionFunction.set(r.decisionFunction, i);
    }
    return { scoreSamples, decisionFunction };
  }
}
