/**
 * Vigil's fused rolling-statistics kernel (AssemblyScript, compiled to build/wasm/rolling.wasm by
 * tools/build_wasm.ts). The contract is engine/kernels/rolling/kernel_types.ts; engine/kernels/rolling/kernel_reference.ts is
 * the specification: the same floating-point operations in the same order, so the two agree
 * bit for bit (tests/unit/kernel_test.ts asserts it). Change one, change the other.
 *
 * Shape: flat exported functions over numbers, all state in module globals and in one region
 * of linear memory allocated by `configure` (the stream blocks grow with the ids in use, below).
 * `process(n)` checks its arguments once (and grows the stream blocks), then runs one pass over
 * the batch with `load`/`store` only: no allocation, no calls out.
 *
 * Memory (one region planned and allocated with assembly/lib/memory.ts in `configure`, every
 * array 64-byte aligned; the host finds array R.X at `ptr(R.X)`):
 *
 *   tables   invN[window+1]      1/n                      (mean of n window readings)
 *            invDen[window+1]    12/(n(n²-1)), 0 for n<2  (least-squares slope denominator)
 *            invM[modelSize+1]   1/m                      (model mean)
 *            compl[modelSize+1]  m/modelSize              (completeness; exactly 1 when full)
 *   batch    inStream i32[cap], inTime f64[cap], inValue f64[cap],
 *            10 outputs f64[cap] (mean std min max slope zscore delta rate deviation
 *            completeness), outFlags u32[cap]; the k-th of these starts at an offset
 *            ≡ 320·k (mod 4096), see `placeStaggered` in assembly/lib/memory.ts
 *   streams  one block of `stride` bytes per stream, contiguous so that one reading touches
 *            one block; room for 64 streams at first, doubled (up to maxStreams) when a stream
 *            id passes it (`growStreams`: the array is last, so it grows in place):
 *              +0    state, 128 bytes (two cache lines; fields below)
 *              +128  window ring     f64[W]  (W = next power of two >= window)
 *              ...   suffix extrema  (max, -min) pairs [window+1]  (of the previous block)
 *              ...   model ring      f64[M]  (M = next power of two >= modelSize)
 *
 * Why this shape (measured with valgrind instruction counts and perf samples of the JIT code,
 * bench/kernel_bench.ts's workload): the kernel is bound by instructions per reading, not by
 * floating-point latency. In Deno, V8 compiles every WASM memory access with an explicit
 * bounds check (lea, cmp, jae before it: ~105 of the ~570 instructions a reading took), and
 * the loop's ~35 invariants do not fit the registers (spills). So the state is packed so that
 * one access moves what is used together: the six counters in two i64 lanes of one v128, and
 * the f64 pairs used together (S1/S2, MS1/MS2, SJ/previous time, the two anchors, running
 * max/min, suffix max/min, the limits) in one v128 each, updated with f64x2 arithmetic that
 * performs, lane by lane, exactly the scalar operations of engine/kernels/rolling/kernel_reference.ts (so
 * results stay bit-identical). Minima are kept negated (min(a, b) = -max(-a, -b), exactly), so
 * max and min are one f64x2.pmax; the limits are kept as (high, -low) and (maxDelta,
 * maxDeviationPct), so the four limit flags are two f64x2.gt and two bitmasks. The previous
 * value is the window ring's newest entry, not a field. In the steady state (window and model
 * full) the per-n tables are replaced by constants. Deferring the square roots and divisions
 * to a second, f64x2 pass over each chunk was tried and measured slower (more accesses than
 * it saved), as was touching the stream block of the reading 8 ahead (a software prefetch).
 *
 * Min and max: van Herk / Gil-Werman. The readings of a stream are cut into blocks of `window`
 * consecutive readings; the window ending at position r of the current block is the suffix of
 * the previous block after r plus the prefix of this block up to r, so its max is
 * max(suffixMax[r+1] of the previous block, running max of this block). When a block
 * completes, one backward pass over the ring stores its suffix extrema (entry `window` is a
 * permanent sentinel: max -Infinity, min +Infinity, stored as the pair (-Infinity, -Infinity)
 * since minima are kept negated). O(1) amortised like monotonic deques (2·window
 * operations per `window` readings) but branch-free per reading: on random data the deques'
 * pop loops mispredict about every reading, which measured ~1/3 of the kernel's time.
 *
 * Numerics. The window and model keep sums of values shifted by a per-stream anchor
 * (S1 = Σ(x-a), S2 = Σ(x-a)², SJ = Σ j(x-a)), updated in O(1) per reading. With the anchor a
 * recent value the shifted values are of the size of the spread, not of the level, so
 * S2/n - (S1/n)² loses no digits to cancellation (a speed of 1e6 with noise 1 keeps ~15
 * digits of its variance, where raw sums would keep ~3). Rolling add/remove leaves rounding
 * residue that would accumulate for ever, so the sums are recomputed exactly with the newest
 * value as the new anchor at the end of every block of `window` readings (the same pass that
 * refreshes the suffix extrema; at least as often as the window ring wraps) and every time
 * the model ring wraps (every M insertions): the residue is bounded by `window` (or M)
 * updates, at O(1) amortised cost. A constant window is detected exactly by min == max (std
 * and slope 0, mean = the value), and a constant model by the run length of equal values at
 * its newest end (std 0, z 0), so a series that becomes constant after a level change reports
 * exactly 0 as soon as the window (or model) holds only the new constant, without waiting for
 * the next re-anchoring.
 */

import {
  align,
  allocate,
  beginConfigure,
  checkConfigured,
  f64At,
  growLayout,
  offsetOf,
  place,
  placeStaggered,
  region,
  setF64,
} from "./lib/memory";

export { ptr, testGrowMemory } from "./lib/memory";

// ---- per-stream state fields (byte offsets in a stream block) ----
/** v128 of two i64 counter words. Lane 0, the window: bits 0-15 ring position p (readings
 * since the reset mod W), bits 16-31 position r of the next reading in its block of
 * `window`, bits 32-63 readings in the window n (<= window). Lane 1, the model: bits 0-15
 * ring position mp (insertions mod M), bits 16-39 points in the model mc (<= modelSize),
 * bits 40-63 run of equal newest points. */
const V_CNT: u32 = 0;
/** v128 (a, ma): anchors of the window sums and of the model sums (each stored alone when
 * it changes, at a re-anchoring). */
const V_AMA: u32 = 16;
const F_A: u32 = 16;
const F_MA: u32 = 24;
/** v128 (Σ (x - a), Σ (x - a)²) over the window. */
const V_S12: u32 = 32;
/** v128 (Σ j (x - a) over the window with j = 0 for the oldest reading, event time of the
 * previous reading). The previous value is the ring's newest entry. */
const V_SJT: u32 = 48;
/** v128 (running max, -running min) of the current block. */
const V_PM: u32 = 64;
/** v128 (Σ (x - ma), Σ (x - ma)²) over the model. */
const V_MS12: u32 = 80;
/** v128 (high, -low) and (maxDelta, maxDeviationPct); NaN disables (comparisons are false). */
const V_LIM1: u32 = 96;
const V_LIM2: u32 = 112;
const STATE_BYTES: u32 = 128;

// ---- FLAG bits (engine/kernels/rolling/kernel_types.ts) ----
const ZSCORE: u32 = 1;
const HIGH: u32 = 2;
const LOW: u32 = 4;
const RAPID: u32 = 8;
const DEVIATION: u32 = 16;
const TREND_UP: u32 = 32;
const TREND_DOWN: u32 = 64;
const MODEL_FULL: u32 = 128;

/**
 * The arrays of the layout (assembly/lib/memory.ts indices; engine/kernels/rolling/kernel_wasm.ts
 * reads the batch arrays): the batch's stream ids (i32), event times and values (f64); output
 * k at OUT + k (0 mean … 9 completeness: f64; 10 flags: u32); the tables 1/n, 12/(n(n²-1)),
 * 1/m and m/modelSize; the stream blocks.
 */
enum R {
  IN_STREAM, IN_TIME, IN_VALUE, OUT, OUT_FLAGS = OUT + 10,
  INV_N, INV_DEN, INV_M, COMPL, STREAMS,
}

const MAX_WINDOW: i32 = 65536;
const MAX_MODEL: i32 = 65536;
const MAX_STREAMS: i32 = 1 << 22;
const MAX_BATCH: i32 = 1 << 22;
/** Streams the first allocation holds; growStreams doubles from there. */
const INITIAL_STREAMS: i32 = 64;

/** Static v128 sign mask of lane 1 (x ^ mask = (x, -x) for a splat x). Read from a constant
 * address because V8 omits the bounds check of such loads and otherwise rebuilds a v128
 * constant with three instructions at every use. */
const NEG_LANE1: usize = memory.data<i64>([0, -9223372036854775808], 16);

// ---- configuration (set once by configure) ----
let gMaxStreams: i32 = 0;
/** Stream blocks allocated so far (a power of two, or maxStreams). */
let gStreamCap: i32 = 0;
let gWindow: u32 = 0;
let gWMask: u32 = 0;
let gModelSize: u32 = 0;
let gMMask: u32 = 0;
let gZ: f64 = 3;
let gTol: f64 = 0.01;
// Table entries of the steady state (n = window, m = modelSize), so a full window and model
// read no table: the same values as the tables', bit for bit.
let gInvW: f64 = 0;
let gInvDenW: f64 = 0;
let gHalfW1: f64 = 0;
let gInvMS: f64 = 0;
let gCap: i32 = 0;

let gStride: usize = 0;
// Offsets of the arrays inside a stream block.
let gSuf: usize = 0;
let gModel: usize = 0;

/**
 * Branch-free max and min of finite values: SIMD pseudo-max/min on lane 0, which V8 lowers to
 * one `maxpd`/`minpd`. Scalar `f64.max`/`f64.min` and `select` are lowered to compares and
 * branches that mispredict on noisy data (measured ~15% of the kernel's time). Semantics are
 * pmax(a, b) = a < b ? b : a and pmin(a, b) = b < a ? b : a; engine/kernels/rolling/kernel_reference.ts uses
 * the same expressions, so even ±0 ties resolve identically. Values are never NaN.
 */
@inline function fmax(a: f64, b: f64): f64 {
  return f64x2.extract_lane(f64x2.pmax(f64x2.splat(a), f64x2.splat(b)), 0);
}
@inline function fmin(a: f64, b: f64): f64 {
  return f64x2.extract_lane(f64x2.pmin(f64x2.splat(a), f64x2.splat(b)), 0);
}

@inline function nextPow2(x: u32): u32 {
  return x <= 1 ? 1 : (<u32>1) << (32 - clz<u32>(x - 1));
}

@inline function block(s: i32): usize {
  return region(R.STREAMS) + <usize>s * gStride;
}

function checkStream(where: string, s: i32): void {
  checkConfigured(where);
  // assert evaluates its message only on failure: no allocation on the normal path.
  assert(
    <u32>s < <u32>gMaxStreams,
    where + ": stream id " + s.toString() + " is out of range 0…" + (gMaxStreams - 1).toString(),
  );
}

/** Forgets the window, model and previous value of the stream at `b` (limits are kept). */
function clearStream(b: usize): void {
  const zero = f64x2.splat(0);
  v128.store(b, zero, V_CNT);
  v128.store(b, zero, V_AMA);
  v128.store(b, zero, V_S12);
  v128.store(b, zero, V_SJT);
  v128.store(b, f64x2.splat(-Infinity), V_PM);
  v128.store(b, zero, V_MS12);
  // No previous block: its suffix extrema, sentinel at index window included, are neutral
  // (max -Infinity, -min -Infinity).
  const suf = b + gSuf;
  const neutral = f64x2.splat(-Infinity);
  for (let j: usize = 0; j <= <usize>gWindow; j++) v128.store(suf + (j << 4), neutral);
}

/**
 * Allocates every table, batch array and stream block, once. Returns the bytes allocated.
 * Aborts on out-of-range arguments or a second call (the layout never moves afterwards).
 */
export function configure(
  maxStreams: i32,
  window: i32,
  modelSize: i32,
  zThreshold: f64,
  trendTolerance: f64,
  batchCapacity: i32,
): f64 {
  beginConfigure();
  assert(maxStreams >= 1 && maxStreams <= MAX_STREAMS, "configure: maxStreams out of range");
  assert(window >= 1 && window <= MAX_WINDOW, "configure: window out of range");
  assert(modelSize >= 1 && modelSize <= MAX_MODEL, "configure: modelSize out of range");
  assert(zThreshold > 0, "configure: zThreshold must be > 0");
  assert(
    trendTolerance >= 0 && isFinite(trendTolerance),
    "configure: trendTolerance must be finite and >= 0",
  );
  assert(batchCapacity >= 1 && batchCapacity <= MAX_BATCH, "configure: batchCapacity out of range");

  const w2 = nextPow2(<u32>window);
  const m2 = nextPow2(<u32>modelSize);
  const cap = <f64>batchCapacity;

  place(R.INV_N, (<f64>window + 1) * 8);
  place(R.INV_DEN, (<f64>window + 1) * 8);
  place(R.INV_M, (<f64>modelSize + 1) * 8);
  place(R.COMPL, (<f64>modelSize + 1) * 8);
  // The 14 batch arrays, each starting at a different offset modulo 4 KiB.
  placeStaggered(R.IN_STREAM, 0, cap * 4);
  placeStaggered(R.IN_TIME, 1, cap * 8);
  placeStaggered(R.IN_VALUE, 2, cap * 8);
  for (let k: i32 = 0; k < 10; k++) placeStaggered(R.OUT + k, 3 + k, cap * 8);
  placeStaggered(R.OUT_FLAGS, 13, cap * 4);

  // The stream block.
  const suf = <usize>STATE_BYTES + <usize>w2 * 8;
  const model = suf + (<usize>window + 1) * 16;
  const stride = align(model + <usize>m2 * 8, 64);
  const streamCap = min(maxStreams, INITIAL_STREAMS);
  place(R.STREAMS, <f64>stride * <f64>streamCap);
  const total = allocate(2147483648.0, "configure: the kernel state would exceed 2 GiB");

  gMaxStreams = maxStreams;
  gWindow = <u32>window;
  gWMask = w2 - 1;
  gModelSize = <u32>modelSize;
  gMMask = m2 - 1;
  gZ = zThreshold;
  gTol = trendTolerance;
  gCap = batchCapacity;
  gStride = stride;
  gSuf = suf;
  gModel = model;

  // Reciprocal tables: one multiply per reading instead of a division.
  const invN = region(R.INV_N);
  const invDen = region(R.INV_DEN);
  const invM = region(R.INV_M);
  for (let n: i32 = 0; n <= window; n++) {
    const fn = <f64>n;
    setF64(invN, n, n == 0 ? 0 : 1 / fn);
    // Σ(j - mean j)² over j = 0…n-1 is n(n²-1)/12.
    setF64(invDen, n, n < 2 ? 0 : 12 / (fn * (fn * fn - 1)));
  }
  for (let m: i32 = 0; m <= modelSize; m++) {
    setF64(invM, m, m == 0 ? 0 : 1 / <f64>m);
    setF64(region(R.COMPL), m, <f64>m / <f64>modelSize);
  }
  gInvW = f64At(invN, window);
  gInvDenW = f64At(invDen, window);
  gHalfW1 = 0.5 * (<f64>window - 1);
  gInvMS = f64At(invM, modelSize);
  initStreams(0, streamCap);
  gStreamCap = streamCap;
  return total;
}

/** Fresh state (limits NaN) for streams `from … to-1`. */
function initStreams(from: i32, to: i32): void {
  const nan = NaN;
  for (let s: i32 = from; s < to; s++) {
    const b = block(s);
    clearStream(b);
    v128.store(b, f64x2.splat(nan), V_LIM1);
    v128.store(b, f64x2.splat(nan), V_LIM2);
  }
}

/**
 * Room for stream ids `0 … need-1` (need <= maxStreams): the stream blocks grow to the next
 * power of two (at most maxStreams), fresh. The blocks are the layout's last array, so they
 * grow in place and the other arrays stay where they are.
 */
function growStreams(need: i32): void {
  if (need <= gStreamCap) return;
  const cap = min(gMaxStreams, <i32>nextPow2(<u32>need));
  growLayout(
    offsetOf(R.STREAMS) + <f64>gStride * <f64>cap,
    2147483648.0,
    "growStreams: the kernel state would exceed 2 GiB",
  );
  initStreams(gStreamCap, cap);
  gStreamCap = cap;
}

/** Streams allocated so far (tests: the memory follows the streams in use). */
export function streamCapacity(): i32 {
  return gStreamCap;
}

/** Sets the limits of stream `s` (NaN disables a check). */
export function setLimits(s: i32, low: f64, high: f64, maxDelta: f64, maxDeviationPct: f64): void {
  checkStream("setLimits", s);
  growStreams(s + 1);
  const b = block(s);
  // -low: x < low is exactly -x > -low, so both bounds are one f64x2.gt against (x, -x).
  v128.store(b, f64x2.replace_lane(f64x2.splat(high), 1, -low), V_LIM1);
  v128.store(b, f64x2.replace_lane(f64x2.splat(maxDelta), 1, maxDeviationPct), V_LIM2);
}

/** Changes the z threshold for the following batches. */
export function setZThreshold(z: f64): void {
  checkConfigured("setZThreshold");
  assert(z > 0, "setZThreshold: the threshold must be a number > 0");
  gZ = z;
}

/** Forgets the window, model and previous value of stream `s`. */
export function resetStream(s: i32): void {
  checkStream("resetStream", s);
  // A stream past the capacity has never been seen: it starts fresh when it is allocated.
  if (s < gStreamCap) clearStream(block(s));
}

/**
 * Processes readings 0…n-1 of the input arrays in order. Checks every stream id and value
 * first and returns the index of the first bad reading without touching any state, or -1
 * once the whole batch is processed.
 */
export function process(n: i32): i32 {
  checkConfigured("process");
  assert(n >= 0 && n <= gCap, "process: n is out of range 0…batchCapacity");

  // The one argument check: after it every access below is in bounds by construction.
  const maxS = <u32>gMaxStreams;
  const inStream = region(R.IN_STREAM);
  const inTime = region(R.IN_TIME);
  const inValue = region(R.IN_VALUE);
  // Four readings per step (SIMD); the scalar loop finds the exact index of a bad one.
  const maxS4 = i32x4.splat(<i32>maxS);
  const zero2v = f64x2.splat(0);
  // The largest id, to grow the stream blocks before the loop (ids are < maxS once checked).
  let top4 = i32x4.splat(0);
  let top: u32 = 0;
  let i0: i32 = 0;
  for (; i0 + 4 <= n; i0 += 4) {
    const ids = v128.load(inStream + (<usize>i0 << 2));
    top4 = i32x4.max_u(top4, ids);
    const x01 = v128.load(inValue + (<usize>i0 << 3));
    const x23 = v128.load(inValue + (<usize>i0 << 3), 16);
    const ok = v128.and(
      i32x4.lt_u(ids, maxS4),
      v128.and(f64x2.eq(f64x2.sub(x01, x01), zero2v), f64x2.eq(f64x2.sub(x23, x23), zero2v)),
    );
    if (!i32x4.all_true(ok)) break;
  }
  for (let i: i32 = i0; i < n; i++) {
    const s = load<u32>(inStream + (<usize>i << 2));
    const x = load<f64>(inValue + (<usize>i << 3));
    if (s >= maxS || x - x != 0) return i; // x - x is NaN for NaN and ±Infinity
    if (s > top) top = s;
  }
  // Every id is < maxS <= 2^22 here, so the lanes compare the same signed or unsigned.
  const top01 = max<i32>(i32x4.extract_lane(top4, 0), i32x4.extract_lane(top4, 1));
  const top23 = max<i32>(i32x4.extract_lane(top4, 2), i32x4.extract_lane(top4, 3));
  top = max<u32>(top, <u32>max<i32>(top01, top23));
  if (n > 0) growStreams(<i32>top + 1);

  const window = gWindow;
  const window64 = <u64>window;
  const last = window - 1;
  const wN1 = <f64>window - 1;
  const wmask = gWMask;
  const modelSize = gModelSize;
  const mmask = gMMask;
  const zt = gZ;
  const tol = gTol;
  const invW = gInvW;
  const invDenW = gInvDenW;
  const halfW1 = gHalfW1;
  const invMS = gInvMS;
  const invNT = region(R.INV_N);
  const invDenT = region(R.INV_DEN);
  const invMT = region(R.INV_M);
  const complT = region(R.COMPL);
  const streams = region(R.STREAMS);
  const stride = gStride;
  const oSuf = gSuf;
  const oModel = gModel;
  const outMean = region(R.OUT + 0);
  const outStd = region(R.OUT + 1);
  const outMin = region(R.OUT + 2);
  const outMax = region(R.OUT + 3);
  const outSlope = region(R.OUT + 4);
  const outZ = region(R.OUT + 5);
  const outDelta = region(R.OUT + 6);
  const outRate = region(R.OUT + 7);
  const outDev = region(R.OUT + 8);
  const outCompl = region(R.OUT + 9);
  const outFlags = region(R.OUT_FLAGS);
  const negInf2 = f64x2.splat(-Infinity);
  const zero2 = f64x2.splat(0);

  for (let i: i32 = 0; i < n; i++) {
    const i4 = <usize>i << 2;
    const i8 = <usize>i << 3;
    const b = streams + <usize>load<u32>(inStream + i4) * stride;
    const time = load<f64>(inTime + i8);
    const x = load<f64>(inValue + i8);
    const xx = v128.xor(f64x2.splat(x), v128.load(NEG_LANE1)); // (x, -x): sign flips are exact
    const ring = b + STATE_BYTES;
    const suf = b + oSuf;

    // ---- window sums, shifted by the anchor a ----
    const cnt = v128.load(b, V_CNT);
    const ama = v128.load(b, V_AMA);
    const wc = i64x2.extract_lane(cnt, 0);
    const p = <u32>wc & 0xffff;
    const r = (<u32>wc >>> 16) & 0xffff;
    const nOld = <u32>(wc >>> 32);
    let a: f64, s12: v128, sj: f64;
    let delta: f64 = 0;
    let rate: f64 = 0;
    if (nOld == 0) {
      a = x; // first reading: anchor on it
      store<f64>(b, a, F_A);
      s12 = zero2;
      sj = 0;
    } else {
      a = f64x2.extract_lane(ama, 0);
      s12 = v128.load(b, V_S12);
      const sjt = v128.load(b, V_SJT);
      sj = f64x2.extract_lane(sjt, 0);
      delta = x - load<f64>(ring + (<usize>((p - 1) & wmask) << 3));
      const dt = time - f64x2.extract_lane(sjt, 1);
      if (dt > 0) rate = delta * 1000 / dt;
    }
    const d = x - a;
    let nNew = nOld;
    if (nOld == window) {
      // Slide: the oldest (index 0) leaves, every index drops by one, x enters at window-1.
      const d0 = load<f64>(ring + (<usize>((p - window) & wmask) << 3)) - a;
      sj = sj - (f64x2.extract_lane(s12, 0) - d0) + wN1 * d;
      // (s1 - d0 + d, s2 - d0·d0 + d·d), each lane in the scalar order.
      s12 = f64x2.sub(s12, f64x2.replace_lane(f64x2.splat(d0), 1, d0 * d0));
      s12 = f64x2.add(s12, f64x2.replace_lane(f64x2.splat(d), 1, d * d));
    } else {
      sj += <f64>nOld * d;
      s12 = f64x2.add(s12, f64x2.replace_lane(f64x2.splat(d), 1, d * d));
      nNew = nOld + 1;
    }
    store<f64>(ring + (<usize>p << 3), x);

    // ---- min and max: previous block's suffix extrema and this block's prefix extrema ----
    // (max, -min) pairs: one pmax updates both. The running pair restarts from -Infinity at
    // each block, so there is no select on r.
    const pm = f64x2.pmax(v128.load(b, V_PM), xx);
    const ext = f64x2.pmax(pm, v128.load(suf + (<usize>(r + 1) << 4)));
    const mx = f64x2.extract_lane(ext, 0);
    const mn = -f64x2.extract_lane(ext, 1);
    let rNew = r + 1;
    if (r == last) {
      // The block is complete (and the window full, holding exactly it): one backward pass
      // stores its suffix extrema for the next block and recomputes the sums exactly,
      // re-anchored on the newest value.
      a = x;
      store<f64>(b, a, F_A);
      let s1: f64 = 0;
      let s2: f64 = 0;
      sj = 0;
      let hl = negInf2;
      const first = p - last;
      for (let j: i32 = <i32>last; j >= 0; j--) {
        const v = load<f64>(ring + (<usize>((first + <u32>j) & wmask) << 3));
        hl = f64x2.pmax(hl, v128.xor(f64x2.splat(v), v128.load(NEG_LANE1)));
        v128.store(suf + (<usize>j << 4), hl);
        const dd = v - a;
        s1 += dd;
        s2 += dd * dd;
        sj += <f64>j * dd;
      }
      s12 = f64x2.replace_lane(f64x2.splat(s1), 1, s2);
      rNew = 0;
      v128.store(b, negInf2, V_PM);
    } else {
      v128.store(b, pm, V_PM);
    }
    v128.store(b, s12, V_S12);
    v128.store(b, f64x2.replace_lane(f64x2.splat(sj), 1, time), V_SJT);
    const wcNew = <u64>((p + 1) & wmask) | (<u64>rNew << 16) | (<u64>nNew << 32);

    // ---- moving mean, std, slope ----
    let mean: f64, std: f64, slope: f64;
    if (mx == mn) {
      // Constant window: exact, whatever residue the sums carry.
      mean = x;
      std = 0;
      slope = 0;
    } else {
      const s1 = f64x2.extract_lane(s12, 0);
      const s2 = f64x2.extract_lane(s12, 1);
      let invN: f64, invDen: f64, halfN1: f64;
      if (<u64>nNew == window64) {
        invN = invW;
        invDen = invDenW;
        halfN1 = halfW1;
      } else {
        invN = load<f64>(invNT + (<usize>nNew << 3));
        invDen = load<f64>(invDenT + (<usize>nNew << 3));
        halfN1 = 0.5 * (<f64>nNew - 1);
      }
      const md = s1 * invN;
      mean = fmin(fmax(a + md, mn), mx);
      const v = s2 * invN - md * md;
      std = sqrt<f64>(fmax(v, 0)); // a negative variance is rounding: clamp to 0
      // Σ(j - j̄)(d_j - d̄) = SJ - j̄ S1 with j̄ = (n-1)/2.
      slope = (sj - halfN1 * s1) * invDen;
    }
    let flags: u32 = 0;
    const thr = tol * fmax(abs(mean), 1e-12);
    if (slope > thr) flags = TREND_UP;
    else if (slope < -thr) flags = TREND_DOWN;

    // ---- z-score against the model before x enters it ----
    let mcnt = i64x2.extract_lane(cnt, 1);
    const mp = <u32>mcnt & 0xffff;
    const mc = (<u32>mcnt >>> 16) & 0xffffff;
    let run = <u32>(mcnt >>> 40);
    let ma = f64x2.extract_lane(ama, 1);
    let ms12 = v128.load(b, V_MS12);
    let z: f64 = 0;
    if (mc >= 2 && run < mc) {
      const invM = mc == modelSize ? invMS : load<f64>(invMT + (<usize>mc << 3));
      const mmd = f64x2.extract_lane(ms12, 0) * invM;
      const v = f64x2.extract_lane(ms12, 1) * invM - mmd * mmd;
      if (v > 0) z = ((x - ma) - mmd) / sqrt<f64>(v);
    }
    let mcNew = mc;
    if (mc == modelSize && abs(z) > zt) {
      flags |= ZSCORE; // an anomaly stays out of the model
    } else {
      const model = b + oModel;
      if (mc == 0) {
        ma = x;
        store<f64>(b, ma, F_MA);
        ms12 = zero2;
        run = 1;
      } else {
        run = load<f64>(model + (<usize>((mp - 1) & mmask) << 3)) == x ? min(run + 1, modelSize) : 1;
      }
      if (mc == modelSize) {
        const d0 = load<f64>(model + (<usize>((mp - mc) & mmask) << 3)) - ma;
        ms12 = f64x2.sub(ms12, f64x2.replace_lane(f64x2.splat(d0), 1, d0 * d0));
      } else {
        mcNew = mc + 1;
      }
      const dm = x - ma;
      ms12 = f64x2.add(ms12, f64x2.replace_lane(f64x2.splat(dm), 1, dm * dm));
      store<f64>(model + (<usize>mp << 3), x);
      const mp1 = (mp + 1) & mmask;
      if (mp1 == 0) {
        // The ring wrapped: recompute the sums exactly, re-anchored on the newest value.
        ma = x;
        store<f64>(b, ma, F_MA);
        let ms1: f64 = 0;
        let ms2: f64 = 0;
        const first = mp1 - mcNew;
        for (let j: u32 = 0; j < mcNew; j++) {
          const dd = load<f64>(model + (<usize>((first + j) & mmask) << 3)) - ma;
          ms1 += dd;
          ms2 += dd * dd;
        }
        ms12 = f64x2.replace_lane(f64x2.splat(ms1), 1, ms2);
      }
      mcnt = <u64>mp1 | (<u64>mcNew << 16) | (<u64>run << 40);
      v128.store(b, ms12, V_MS12);
    }
    v128.store(b, i64x2.replace_lane(i64x2.splat(wcNew), 1, mcnt), V_CNT);
    let compl: f64 = 1; // = compl[modelSize] exactly
    if (mcNew == modelSize) flags |= MODEL_FULL;
    else compl = load<f64>(complT + (<usize>mcNew << 3));

    // ---- deviation and limits: HIGH (2) and LOW (4), then RAPID (8) and DEVIATION (16) ----
    const dev = mean != 0 ? 100 * (x - mean) / abs(mean) : 0;
    flags |= <u32>i64x2.bitmask(f64x2.gt(xx, v128.load(b, V_LIM1))) << 1;
    const dd2 = f64x2.abs(f64x2.replace_lane(f64x2.splat(delta), 1, dev));
    flags |= <u32>i64x2.bitmask(f64x2.gt(dd2, v128.load(b, V_LIM2))) << 3;

    store<f64>(outMean + i8, mean);
    store<f64>(outStd + i8, std);
    store<f64>(outMin + i8, mn);
    store<f64>(outMax + i8, mx);
    store<f64>(outSlope + i8, slope);
    store<f64>(outZ + i8, z);
    store<f64>(outDelta + i8, delta);
    store<f64>(outRate + i8, rate);
    store<f64>(outDev + i8, dev);
    store<f64>(outCompl + i8, compl);
    store<u32>(outFlags + i4, flags);
  }
  return -1;
}
