/**
 * Isolation-forest scorer (AssemblyScript, compiled to build/wasm/iforest.wasm by
 * tools/build_wasm.ts). engine/kernels/iforest/isolation_forest_wasm.ts is its TypeScript shell and
 * engine/kernels/iforest/isolation_forest_reference.ts the plain-TypeScript scorer it must agree with.
 *
 * Memory (one region planned and allocated with assembly/lib/memory.ts in `configure`, every
 * array 64-byte aligned; the host finds array R.X at `ptr(R.X)`):
 *
 *   nodes   16 bytes per node of every tree: threshold f64 @0, feature i32 @8, left i32 @12.
 *           Siblings are adjacent (right = left + 1) so that the next node is
 *           `left + (x > threshold)`: no branch per level. A leaf has threshold +Infinity,
 *           feature 0 and left = itself, so a record that reached its leaf stays there; every
 *           record of a tree then takes exactly that tree's depth steps, branch-free.
 *           Node indices are global (over all trees), written by the TypeScript shell.
 *   values  f64 per node: on a leaf, what a record ending there adds to the path-length sum
 *           ((depth + 1 + c(samples)) - 1, precomputed in TypeScript exactly as
 *           scikit-learn groups it); unused on inner nodes.
 *   roots   i32 per tree (global node index), depths i32 per tree (steps to walk)
 *   mean, scale   f64 per feature (0 and 1 without a scaler: (x - 0) / 1 is x exactly)
 *   input   f64[cap × features] row-major, written by the shell with one `set`
 *   scaled  f64[cap × features]: the scaled values rounded to float32, as scikit-learn compares
 *   sum     f64[cap] path-length sums; score f64[cap], decision f64[cap] (the outputs)
 *
 * Loop order: tree outer, records inner, eight records interleaved. One tree (a few KiB) stays
 * in L1 while the batch streams past it, and the eight independent node chains hide the
 * load-to-load latency of a walk. The sum runs over trees in model order, as scikit-learn's.
 */

import { allocate, beginConfigure, checkConfigured, place, region } from "./lib/memory";

export { ptr } from "./lib/memory";

/**
 * The arrays of the layout (assembly/lib/memory.ts indices; engine/kernels/iforest/
 * isolation_forest_wasm.ts reads them).
 */
enum R { NODES, VALUES, ROOTS, DEPTHS, MEAN, SCALE, INPUT, SCALED, SUM, SCORE, DECISION }

const MAX_NODES: i32 = 1 << 26;
const MAX_TREES: i32 = 1 << 20;
const MAX_FEATURES: i32 = 1 << 16;
const MAX_BATCH: i32 = 1 << 20;
const MAX_DEPTH: i32 = 1 << 16;

let checked = false;
let gNodes: i32 = 0;
let gTrees: i32 = 0;
let gFeatures: i32 = 0;
let gCap: i32 = 0;
let gDenominator: f64 = 1;
let gOffset: f64 = -0.5;

/**
 * Allocates every array, once. Returns the bytes allocated. Aborts on out-of-range sizes or a
 * second call (the layout never moves afterwards).
 */
export function configure(nodes: i32, trees: i32, features: i32, batchCapacity: i32): f64 {
  beginConfigure();
  assert(nodes >= 1 && nodes <= MAX_NODES, "configure: nodes out of range");
  assert(trees >= 1 && trees <= MAX_TREES && trees <= nodes, "configure: trees out of range");
  assert(features >= 1 && features <= MAX_FEATURES, "configure: features out of range");
  assert(batchCapacity >= 1 && batchCapacity <= MAX_BATCH, "configure: batchCapacity out of range");
  const n = <f64>nodes;
  const t = <f64>trees;
  const d = <f64>features;
  const cap = <f64>batchCapacity;
  place(R.NODES, n * 16);
  place(R.VALUES, n * 8);
  place(R.ROOTS, t * 4);
  place(R.DEPTHS, t * 4);
  place(R.MEAN, d * 8);
  place(R.SCALE, d * 8);
  place(R.INPUT, cap * d * 8);
  place(R.SCALED, cap * d * 8);
  place(R.SUM, cap * 8);
  place(R.SCORE, cap * 8);
  place(R.DECISION, cap * 8);
  const total = allocate(2147483648.0, "configure: the scorer would exceed 2 GiB");
  gNodes = nodes;
  gTrees = trees;
  gFeatures = features;
  gCap = batchCapacity;
  return total;
}

/**
 * Checks the forest the shell wrote (every child, root and feature index in range, depths
 * sane, scales non-zero) and sets the denominator `trees × c(max_samples)` and the offset.
 * Returns -1 when the forest is sound, else the first bad node's index (or `nodes + tree` for
 * a bad root or depth, `nodes + trees + feature` for a bad scale). `score` refuses to run
 * until this returned -1: after it, every index the walk follows is in bounds.
 */
export function prepare(denominator: f64, offset: f64): i32 {
  checkConfigured("prepare");
  checked = false;
  const pNodes = region(R.NODES);
  const pRoots = region(R.ROOTS);
  const pDepths = region(R.DEPTHS);
  const pMean = region(R.MEAN);
  const pScale = region(R.SCALE);
  const n = gNodes;
  const d = gFeatures;
  for (let i: i32 = 0; i < n; i++) {
    const p = pNodes + (<usize>i << 4);
    const f = load<i32>(p, 8);
    const l = load<i32>(p, 12);
    if (f < 0 || f >= d || l < 0 || (l >= n - 1 && l != i)) return i;
  }
  for (let t: i32 = 0; t < gTrees; t++) {
    const r = load<i32>(pRoots + (<usize>t << 2));
    const depth = load<i32>(pDepths + (<usize>t << 2));
    if (r < 0 || r >= n || depth < 0 || depth > MAX_DEPTH) return n + t;
  }
  for (let j: i32 = 0; j < d; j++) {
    const s = load<f64>(pScale + (<usize>j << 3));
    const m = load<f64>(pMean + (<usize>j << 3));
    if (s == 0 || s - s != 0 || m - m != 0) return n + gTrees + j;
  }
  gDenominator = denominator;
  gOffset = offset;
  checked = true;
  return -1;
}

/** Next node: left child, or its sibling right after it when x > threshold. */
@inline function step(nodes: usize, node: i32, row: usize): i32 {
  const p = nodes + (<usize>node << 4);
  const x = load<f64>(row + (<usize>load<i32>(p, 8) << 3));
  return load<i32>(p, 12) + <i32>(x > load<f64>(p));
}

/**
 * Scores input records 0…n-1: writes `score` and `decision`. Returns -1 when done, else the
 * index of the first record with a non-finite value (nothing is scored then).
 */
export function score(n: i32): i32 {
  assert(checked, "score: forest not prepared");
  assert(n >= 0 && n <= gCap, "score: n is out of range 0…batchCapacity");
  const pMean = region(R.MEAN);
  const pScale = region(R.SCALE);
  const pInput = region(R.INPUT);
  const pScaled = region(R.SCALED);
  const pSum = region(R.SUM);
  const pRoots = region(R.ROOTS);
  const pDepths = region(R.DEPTHS);
  const pValues = region(R.VALUES);
  const d = <usize>gFeatures;
  const rowBytes = d << 3;
  // Scale and round to float32 once per value, not once per tree.
  for (let i: i32 = 0; i < n; i++) {
    const row = <usize>i * rowBytes;
    for (let j: usize = 0; j < d; j++) {
      const x = load<f64>(pInput + row + (j << 3));
      if (x - x != 0) return i; // NaN for NaN and ±Infinity
      const s = (x - load<f64>(pMean + (j << 3))) / load<f64>(pScale + (j << 3));
      store<f64>(pScaled + row + (j << 3), <f64><f32>s);
    }
    store<f64>(pSum + (<usize>i << 3), 0);
  }
  const trees = gTrees;
  const nodes = region(R.NODES);
  const n8 = n & ~7;
  for (let t: i32 = 0; t < trees; t++) {
    const root = load<i32>(pRoots + (<usize>t << 2));
    const depth = load<i32>(pDepths + (<usize>t << 2));
    let i: i32 = 0;
    for (; i < n8; i += 8) {
      const r0 = pScaled + <usize>i * rowBytes;
      const r1 = r0 + rowBytes;
      const r2 = r1 + rowBytes;
      const r3 = r2 + rowBytes;
      const r4 = r3 + rowBytes;
      const r5 = r4 + rowBytes;
      const r6 = r5 + rowBytes;
      const r7 = r6 + rowBytes;
      let a0 = root, a1 = root, a2 = root, a3 = root;
      let a4 = root, a5 = root, a6 = root, a7 = root;
      for (let k: i32 = 0; k < depth; k++) {
        a0 = step(nodes, a0, r0);
        a1 = step(nodes, a1, r1);
        a2 = step(nodes, a2, r2);
        a3 = step(nodes, a3, r3);
        a4 = step(nodes, a4, r4);
        a5 = step(nodes, a5, r5);
        a6 = step(nodes, a6, r6);
        a7 = step(nodes, a7, r7);
      }
      const s = pSum + (<usize>i << 3);
      const v = pValues;
      store<f64>(s, load<f64>(s) + load<f64>(v + (<usize>a0 << 3)));
      store<f64>(s, load<f64>(s, 8) + load<f64>(v + (<usize>a1 << 3)), 8);
      store<f64>(s, load<f64>(s, 16) + load<f64>(v + (<usize>a2 << 3)), 16);
      store<f64>(s, load<f64>(s, 24) + load<f64>(v + (<usize>a3 << 3)), 24);
      store<f64>(s, load<f64>(s, 32) + load<f64>(v + (<usize>a4 << 3)), 32);
      store<f64>(s, load<f64>(s, 40) + load<f64>(v + (<usize>a5 << 3)), 40);
      store<f64>(s, load<f64>(s, 48) + load<f64>(v + (<usize>a6 << 3)), 48);
      store<f64>(s, load<f64>(s, 56) + load<f64>(v + (<usize>a7 << 3)), 56);
    }
    for (; i < n; i++) {
      const r = pScaled + <usize>i * rowBytes;
      let a = root;
      for (let k: i32 = 0; k < depth; k++) a = step(nodes, a, r);
      const s = pSum + (<usize>i << 3);
      store<f64>(s, load<f64>(s) + load<f64>(pValues + (<usize>a << 3)));
    }
  }
  const den = gDenominator;
  const offset = gOffset;
  for (let i: i32 = 0; i < n; i++) {
    const o = <usize>i << 3;
    // A forest grown on one sample has denominator 0; scikit-learn then scores -1.
    const sc = den != 0 ? -Math.pow(2.0, -(load<f64>(pSum + o) / den)) : -1.0;
    store<f64>(region(R.SCORE) + o, sc);
    store<f64>(region(R.DECISION) + o, sc - offset);
  }
  return -1;
}
