/**
 * Vigil's fused rolling-statistics kernel (AssemblyScript, compiled to engine/kernel.wasm by
 * tools/build_wasm.ts). The contract is engine/kernel_types.ts; engine/kernel_reference.ts is a
 * line-by-line TypeScript port of `process` below and the two must stay in step.
 *
 * Shape: flat exported functions over numbers, all state in module globals and in one region
 * of linear memory allocated once by `configure`. `process(n)` checks its arguments once, then
 * runs one pass over the batch with `load`/`store` only: no allocation, no calls out.
 *
 * Memory (all offsets in bytes, region from `heap.alloc` in `configure`, 64-byte aligned):
 *
 *   tables   invN[window+1]      1/n                      (mean of n window readings)
 *            invDen[window+1]    12/(n(n²-1)), 0 for n<2  (least-squares slope denominator)
 *            invM[modelSize+1]   1/m                      (model mean)
 *            compl[modelSize+1]  m/modelSize              (completeness; exactly 1 when full)
 *   batch    inStream i32[cap], inTime f64[cap], inValue f64[cap],
 *            10 outputs f64[cap] (mean std min max slope zscore delta rate deviation
 *            completeness), outFlags u32[cap]
 *   streams  maxStreams blocks of `stride` bytes, one per stream, contiguous so that one
 *            reading touches one block:
 *              +0    state (F_* f64 fields, U_* u32 fields), 144 bytes
 *              +144  window ring     f64[W]  (W = next power of two >= window)
 *              ...   suffix maxima   f64[window+1]  (of the previous block, see below)
 *              ...   suffix minima   f64[window+1]
 *              ...   model ring      f64[M]  (M = next power of two >= modelSize)
 *
 * Min and max: van Herk / Gil-Werman. The readings of a stream are cut into blocks of `window`
 * consecutive readings; the window ending at position r of the current block is the suffix of
 * the previous block after r plus the prefix of this block up to r, so its max is
 * max(suffixMax[r+1] of the previous block, running max of this block). When a block
 * completes, one backward pass over the ring stores its suffix extrema (entry `window` is a
 * permanent -Infinity/+Infinity sentinel). O(1) amortised like monotonic deques (2·window
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

// ---- per-stream state fields (byte offsets in a stream block) ----
/** Anchor of the window sums. */
const F_A: u32 = 0;
/** Σ (x - a) over the window. */
const F_S1: u32 = 8;
/** Σ (x - a)² over the window. */
const F_S2: u32 = 16;
/** Σ j (x - a) over the window, j = 0 for the oldest reading. */
const F_SJ: u32 = 24;
/** Previous value and its event time. */
const F_PREV: u32 = 32;
const F_PREVT: u32 = 40;
/** Limits (NaN disables: every comparison with NaN is false). */
const F_LOW: u32 = 48;
const F_HIGH: u32 = 56;
const F_MAXD: u32 = 64;
const F_MAXDEV: u32 = 72;
/** Anchor and shifted sums of the model. */
const F_MA: u32 = 80;
const F_MS1: u32 = 88;
const F_MS2: u32 = 96;
/** Running max and min of the current block. */
const F_PMAX: u32 = 104;
const F_PMIN: u32 = 112;
/** Readings seen since the last reset (wraps at 2³²; only differences and low bits are used). */
const U_T: u32 = 120;
/** Readings in the window, ≤ window. */
const U_N: u32 = 124;
/** Position of the next reading in its block of `window` readings. */
const U_R: u32 = 128;
/** Points in the model, model insertions so far (wrapping), run of equal newest points. */
const U_MC: u32 = 132;
const U_MP: u32 = 136;
const U_MR: u32 = 140;
const STATE_BYTES: u32 = 144;

// ---- FLAG bits (engine/kernel_types.ts) ----
const ZSCORE: u32 = 1;
const HIGH: u32 = 2;
const LOW: u32 = 4;
const RAPID: u32 = 8;
const DEVIATION: u32 = 16;
const TREND_UP: u32 = 32;
const TREND_DOWN: u32 = 64;
const MODEL_FULL: u32 = 128;

const MAX_WINDOW: i32 = 65536;
const MAX_MODEL: i32 = 65536;
const MAX_STREAMS: i32 = 1 << 22;
const MAX_BATCH: i32 = 1 << 22;

// ---- configuration (set once by configure) ----
let configured = false;
let gMaxStreams: i32 = 0;
let gWindow: u32 = 0;
let gWMask: u32 = 0;
let gModelSize: u32 = 0;
let gMMask: u32 = 0;
let gZ: f64 = 3;
let gTol: f64 = 0.01;
let gCap: i32 = 0;

let gInvN: usize = 0;
let gInvDen: usize = 0;
let gInvM: usize = 0;
let gCompl: usize = 0;
let gInStream: usize = 0;
let gInTime: usize = 0;
let gInValue: usize = 0;
let gOutMean: usize = 0;
let gOutStd: usize = 0;
let gOutMin: usize = 0;
let gOutMax: usize = 0;
let gOutSlope: usize = 0;
let gOutZ: usize = 0;
let gOutDelta: usize = 0;
let gOutRate: usize = 0;
let gOutDev: usize = 0;
let gOutCompl: usize = 0;
let gOutFlags: usize = 0;
let gStreams: usize = 0;
let gStride: usize = 0;
// Offsets of the arrays inside a stream block.
let gSufMax: usize = 0;
let gSufMin: usize = 0;
let gModel: usize = 0;

/**
 * Branch-free max and min of finite values: SIMD pseudo-max/min on lane 0, which V8 lowers to
 * one `maxpd`/`minpd`. Scalar `f64.max`/`f64.min` and `select` are lowered to compares and
 * branches that mispredict on noisy data (measured ~15% of the kernel's time). Semantics are
 * pmax(a, b) = a < b ? b : a and pmin(a, b) = b < a ? b : a; engine/kernel_reference.ts uses
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

@inline function align(x: usize, to: usize): usize {
  return (x + to - 1) & ~(to - 1);
}

@inline function block(s: i32): usize {
  return gStreams + <usize>s * gStride;
}

function checkConfigured(): void {
  assert(configured, "kernel: configure() has not been called");
}

function checkStream(where: string, s: i32): void {
  checkConfigured();
  // assert evaluates its message only on failure: no allocation on the normal path.
  assert(
    <u32>s < <u32>gMaxStreams,
    where + ": stream id " + s.toString() + " is out of range 0…" + (gMaxStreams - 1).toString(),
  );
}

/** Forgets the window, model and previous value of the stream at `b` (limits are kept). */
function clearStream(b: usize): void {
  store<f64>(b, 0, F_A);
  store<f64>(b, 0, F_S1);
  store<f64>(b, 0, F_S2);
  store<f64>(b, 0, F_SJ);
  store<f64>(b, 0, F_PREV);
  store<f64>(b, 0, F_PREVT);
  store<f64>(b, 0, F_MA);
  store<f64>(b, 0, F_MS1);
  store<f64>(b, 0, F_MS2);
  store<f64>(b, -Infinity, F_PMAX);
  store<f64>(b, Infinity, F_PMIN);
  store<u32>(b, 0, U_T);
  store<u32>(b, 0, U_N);
  store<u32>(b, 0, U_R);
  store<u32>(b, 0, U_MC);
  store<u32>(b, 0, U_MP);
  store<u32>(b, 0, U_MR);
  // No previous block: its suffix extrema, sentinel at index window included, are neutral.
  const sufMax = b + gSufMax;
  const sufMin = b + gSufMin;
  for (let j: usize = 0; j <= <usize>gWindow; j++) {
    store<f64>(sufMax + (j << 3), -Infinity);
    store<f64>(sufMin + (j << 3), Infinity);
  }
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
  assert(!configured, "configure: already configured");
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
  const cap = <usize>batchCapacity;

  // Offsets of everything relative to the (64-aligned) base.
  let off: usize = 0;
  const oInvN = off;
  off = align(off + (<usize>window + 1) * 8, 64);
  const oInvDen = off;
  off = align(off + (<usize>window + 1) * 8, 64);
  const oInvM = off;
  off = align(off + (<usize>modelSize + 1) * 8, 64);
  const oCompl = off;
  off = align(off + (<usize>modelSize + 1) * 8, 64);
  const oInStream = off;
  off = align(off + cap * 4, 64);
  const oInTime = off;
  off = align(off + cap * 8, 64);
  const oInValue = off;
  off = align(off + cap * 8, 64);
  const oOut = off; // 10 f64 outputs, each align(cap*8, 64)
  const outStride = align(cap * 8, 64);
  off += outStride * 10;
  const oFlags = off;
  off = align(off + cap * 4, 64);
  const oStreams = off;

  // The stream block.
  const sufMax = <usize>STATE_BYTES + <usize>w2 * 8;
  const sufMin = sufMax + (<usize>window + 1) * 8;
  const model = sufMin + (<usize>window + 1) * 8;
  const stride = align(model + <usize>m2 * 8, 64);
  const total: f64 = <f64>oStreams + <f64>stride * <f64>maxStreams + 64;
  assert(total <= 2147483648.0, "configure: the kernel state would exceed 2 GiB");

  const raw = heap.alloc(<usize>total);
  const base = align(raw, 64);
  memory.fill(base, 0, <usize>total - 64);

  gMaxStreams = maxStreams;
  gWindow = <u32>window;
  gWMask = w2 - 1;
  gModelSize = <u32>modelSize;
  gMMask = m2 - 1;
  gZ = zThreshold;
  gTol = trendTolerance;
  gCap = batchCapacity;
  gInvN = base + oInvN;
  gInvDen = base + oInvDen;
  gInvM = base + oInvM;
  gCompl = base + oCompl;
  gInStream = base + oInStream;
  gInTime = base + oInTime;
  gInValue = base + oInValue;
  gOutMean = base + oOut;
  gOutStd = gOutMean + outStride;
  gOutMin = gOutStd + outStride;
  gOutMax = gOutMin + outStride;
  gOutSlope = gOutMax + outStride;
  gOutZ = gOutSlope + outStride;
  gOutDelta = gOutZ + outStride;
  gOutRate = gOutDelta + outStride;
  gOutDev = gOutRate + outStride;
  gOutCompl = gOutDev + outStride;
  gOutFlags = base + oFlags;
  gStreams = base + oStreams;
  gStride = stride;
  gSufMax = sufMax;
  gSufMin = sufMin;
  gModel = model;

  // Reciprocal tables: one multiply per reading instead of a division.
  for (let n: i32 = 0; n <= window; n++) {
    const fn = <f64>n;
    store<f64>(gInvN + (<usize>n << 3), n == 0 ? 0 : 1 / fn);
    // Σ(j - mean j)² over j = 0…n-1 is n(n²-1)/12.
    store<f64>(gInvDen + (<usize>n << 3), n < 2 ? 0 : 12 / (fn * (fn * fn - 1)));
  }
  for (let m: i32 = 0; m <= modelSize; m++) {
    store<f64>(gInvM + (<usize>m << 3), m == 0 ? 0 : 1 / <f64>m);
    store<f64>(gCompl + (<usize>m << 3), <f64>m / <f64>modelSize);
  }
  const nan = NaN;
  for (let s: i32 = 0; s < maxStreams; s++) {
    const b = block(s);
    clearStream(b);
    store<f64>(b, nan, F_LOW);
    store<f64>(b, nan, F_HIGH);
    store<f64>(b, nan, F_MAXD);
    store<f64>(b, nan, F_MAXDEV);
  }
  configured = true;
  return total;
}

/** Pointer of the batch's stream ids (i32[batchCapacity]). */
export function inStreamPtr(): usize {
  return gInStream;
}
/** Pointer of the batch's event times (f64[batchCapacity]). */
export function inTimePtr(): usize {
  return gInTime;
}
/** Pointer of the batch's values (f64[batchCapacity]). */
export function inValuePtr(): usize {
  return gInValue;
}
/** Pointer of output `k` (0 mean, 1 std, 2 min, 3 max, 4 slope, 5 zscore, 6 delta, 7 rate,
 * 8 deviation, 9 completeness: f64[batchCapacity]; 10 flags: u32[batchCapacity]). */
export function outPtr(k: i32): usize {
  checkConfigured();
  switch (k) {
    case 0: return gOutMean;
    case 1: return gOutStd;
    case 2: return gOutMin;
    case 3: return gOutMax;
    case 4: return gOutSlope;
    case 5: return gOutZ;
    case 6: return gOutDelta;
    case 7: return gOutRate;
    case 8: return gOutDev;
    case 9: return gOutCompl;
    case 10: return gOutFlags;
  }
  assert(false, "outPtr: output index out of range 0…10");
  return 0;
}

/** Sets the limits of stream `s` (NaN disables a check). */
export function setLimits(s: i32, low: f64, high: f64, maxDelta: f64, maxDeviationPct: f64): void {
  checkStream("setLimits", s);
  const b = block(s);
  store<f64>(b, low, F_LOW);
  store<f64>(b, high, F_HIGH);
  store<f64>(b, maxDelta, F_MAXD);
  store<f64>(b, maxDeviationPct, F_MAXDEV);
}

/** Changes the z threshold for the following batches. */
export function setZThreshold(z: f64): void {
  checkConfigured();
  assert(z > 0, "setZThreshold: the threshold must be a number > 0");
  gZ = z;
}

/** Forgets the window, model and previous value of stream `s`. */
export function resetStream(s: i32): void {
  checkStream("resetStream", s);
  clearStream(block(s));
}

/** Grows the memory by `pages` 64 KiB pages (tests: proves the JS views follow a new buffer). */
export function testGrowMemory(pages: i32): i32 {
  return memory.grow(pages);
}

/**
 * Processes readings 0…n-1 of the input arrays in order. Checks every stream id and value
 * first and returns the index of the first bad reading without touching any state, or -1
 * once the whole batch is processed.
 */
export function process(n: i32): i32 {
  checkConfigured();
  assert(n >= 0 && n <= gCap, "process: n is out of range 0…batchCapacity");

  // The one argument check: after it every access below is in bounds by construction.
  const maxS = <u32>gMaxStreams;
  const inStream = gInStream;
  const inTime = gInTime;
  const inValue = gInValue;
  for (let i: i32 = 0; i < n; i++) {
    const s = load<u32>(inStream + (<usize>i << 2));
    const x = load<f64>(inValue + (<usize>i << 3));
    if (s >= maxS || x - x != 0) return i; // x - x is NaN for NaN and ±Infinity
  }

  const window = gWindow;
  const last = window - 1;
  const wN1 = <f64>window - 1;
  const wmask = gWMask;
  const modelSize = gModelSize;
  const mmask = gMMask;
  const zt = gZ;
  const tol = gTol;
  const invNT = gInvN;
  const invDenT = gInvDen;
  const invMT = gInvM;
  const complT = gCompl;
  const streams = gStreams;
  const stride = gStride;
  const oSufMax = gSufMax;
  const oSufMin = gSufMin;
  const oModel = gModel;
  const outMean = gOutMean;
  const outStd = gOutStd;
  const outMin = gOutMin;
  const outMax = gOutMax;
  const outSlope = gOutSlope;
  const outZ = gOutZ;
  const outDelta = gOutDelta;
  const outRate = gOutRate;
  const outDev = gOutDev;
  const outCompl = gOutCompl;
  const outFlags = gOutFlags;

  for (let i: i32 = 0; i < n; i++) {
    const i4 = <usize>i << 2;
    const i8 = <usize>i << 3;
    const b = streams + <usize>load<u32>(inStream + i4) * stride;
    const time = load<f64>(inTime + i8);
    const x = load<f64>(inValue + i8);
    const ring = b + STATE_BYTES;
    const sufMax = b + oSufMax;
    const sufMin = b + oSufMin;

    // ---- window sums, shifted by the anchor a ----
    const t = load<u32>(b, U_T);
    const nOld = load<u32>(b, U_N);
    let a: f64, s1: f64, s2: f64, sj: f64;
    let delta: f64 = 0;
    let rate: f64 = 0;
    if (nOld == 0) {
      a = x; // first reading: anchor on it
      s1 = 0;
      s2 = 0;
      sj = 0;
    } else {
      a = load<f64>(b, F_A);
      s1 = load<f64>(b, F_S1);
      s2 = load<f64>(b, F_S2);
      sj = load<f64>(b, F_SJ);
      delta = x - load<f64>(b, F_PREV);
      const dt = time - load<f64>(b, F_PREVT);
      if (dt > 0) rate = delta * 1000 / dt;
    }
    const d = x - a;
    let nNew = nOld;
    if (nOld == window) {
      // Slide: the oldest (index 0) leaves, every index drops by one, x enters at window-1.
      const d0 = load<f64>(ring + (<usize>((t - window) & wmask) << 3)) - a;
      sj = sj - (s1 - d0) + wN1 * d;
      s1 = s1 - d0 + d;
      s2 = s2 - d0 * d0 + d * d;
    } else {
      sj += <f64>nOld * d;
      s1 += d;
      s2 += d * d;
      nNew = nOld + 1;
    }
    store<f64>(ring + (<usize>(t & wmask) << 3), x);

    // ---- min and max: previous block's suffix extrema and this block's prefix extrema ----
    const r = load<u32>(b, U_R);
    // (The running extrema restart from ±Infinity at each block: no select on r.)
    const pmax = fmax(load<f64>(b, F_PMAX), x);
    const pmin = fmin(load<f64>(b, F_PMIN), x);
    const mx = fmax(pmax, load<f64>(sufMax + (<usize>(r + 1) << 3)));
    const mn = fmin(pmin, load<f64>(sufMin + (<usize>(r + 1) << 3)));
    if (r == last) {
      // The block is complete (and the window full, holding exactly it): one backward pass
      // stores its suffix extrema for the next block and recomputes the sums exactly,
      // re-anchored on the newest value.
      a = x;
      s1 = 0;
      s2 = 0;
      sj = 0;
      let hi = -Infinity;
      let lo = Infinity;
      const first = t - last;
      for (let j: i32 = <i32>last; j >= 0; j--) {
        const v = load<f64>(ring + (<usize>((first + <u32>j) & wmask) << 3));
        hi = fmax(hi, v);
        lo = fmin(lo, v);
        store<f64>(sufMax + (<usize>j << 3), hi);
        store<f64>(sufMin + (<usize>j << 3), lo);
        const dd = v - a;
        s1 += dd;
        s2 += dd * dd;
        sj += <f64>j * dd;
      }
      store<u32>(b, 0, U_R);
      store<f64>(b, -Infinity, F_PMAX);
      store<f64>(b, Infinity, F_PMIN);
    } else {
      store<u32>(b, r + 1, U_R);
      store<f64>(b, pmax, F_PMAX);
      store<f64>(b, pmin, F_PMIN);
    }
    store<f64>(b, a, F_A);
    store<f64>(b, s1, F_S1);
    store<f64>(b, s2, F_S2);
    store<f64>(b, sj, F_SJ);
    store<f64>(b, x, F_PREV);
    store<f64>(b, time, F_PREVT);
    store<u32>(b, t + 1, U_T);
    store<u32>(b, nNew, U_N);

    // ---- moving mean, std, slope ----
    let mean: f64, std: f64, slope: f64;
    if (mx == mn) {
      // Constant window: exact, whatever residue the sums carry.
      mean = x;
      std = 0;
      slope = 0;
    } else {
      const invN = load<f64>(invNT + (<usize>nNew << 3));
      const md = s1 * invN;
      mean = fmin(fmax(a + md, mn), mx);
      const v = s2 * invN - md * md;
      std = sqrt<f64>(fmax(v, 0)); // a negative variance is rounding: clamp to 0
      // Σ(j - j̄)(d_j - d̄) = SJ - j̄ S1 with j̄ = (n-1)/2.
      slope = (sj - 0.5 * (<f64>nNew - 1) * s1) * load<f64>(invDenT + (<usize>nNew << 3));
    }
    let flags: u32 = 0;
    const thr = tol * fmax(abs(mean), 1e-12);
    if (slope > thr) flags = TREND_UP;
    else if (slope < -thr) flags = TREND_DOWN;

    // ---- z-score against the model before x enters it ----
    const mc = load<u32>(b, U_MC);
    let run = load<u32>(b, U_MR);
    let ma = load<f64>(b, F_MA);
    let ms1 = load<f64>(b, F_MS1);
    let ms2 = load<f64>(b, F_MS2);
    let z: f64 = 0;
    if (mc >= 2 && run < mc) {
      const invM = load<f64>(invMT + (<usize>mc << 3));
      const mmd = ms1 * invM;
      const v = ms2 * invM - mmd * mmd;
      if (v > 0) z = ((x - ma) - mmd) / sqrt<f64>(v);
    }
    let mcNew = mc;
    if (mc == modelSize && abs(z) > zt) {
      flags |= ZSCORE; // an anomaly stays out of the model
    } else {
      const model = b + oModel;
      const mp = load<u32>(b, U_MP);
      if (mc == 0) {
        ma = x;
        ms1 = 0;
        ms2 = 0;
        run = 1;
      } else {
        run = load<f64>(model + (<usize>((mp - 1) & mmask) << 3)) == x ? min(run + 1, modelSize) : 1;
      }
      if (mc == modelSize) {
        const d0 = load<f64>(model + (<usize>((mp - mc) & mmask) << 3)) - ma;
        ms1 -= d0;
        ms2 -= d0 * d0;
      } else {
        mcNew = mc + 1;
      }
      const dm = x - ma;
      ms1 += dm;
      ms2 += dm * dm;
      store<f64>(model + (<usize>(mp & mmask) << 3), x);
      const mp1 = mp + 1;
      if ((mp1 & mmask) == 0) {
        ma = x;
        ms1 = 0;
        ms2 = 0;
        const first = mp1 - mcNew;
        for (let j: u32 = 0; j < mcNew; j++) {
          const dd = load<f64>(model + (<usize>((first + j) & mmask) << 3)) - ma;
          ms1 += dd;
          ms2 += dd * dd;
        }
      }
      store<u32>(b, mp1, U_MP);
      store<u32>(b, mcNew, U_MC);
      store<u32>(b, run, U_MR);
      store<f64>(b, ma, F_MA);
      store<f64>(b, ms1, F_MS1);
      store<f64>(b, ms2, F_MS2);
    }
    if (mcNew == modelSize) flags |= MODEL_FULL;

    // ---- deviation and limits ----
    const dev = mean != 0 ? 100 * (x - mean) / abs(mean) : 0;
    if (x > load<f64>(b, F_HIGH)) flags |= HIGH;
    if (x < load<f64>(b, F_LOW)) flags |= LOW;
    if (abs(delta) > load<f64>(b, F_MAXD)) flags |= RAPID;
    if (abs(dev) > load<f64>(b, F_MAXDEV)) flags |= DEVIATION;

    store<f64>(outMean + i8, mean);
    store<f64>(outStd + i8, std);
    store<f64>(outMin + i8, mn);
    store<f64>(outMax + i8, mx);
    store<f64>(outSlope + i8, slope);
    store<f64>(outZ + i8, z);
    store<f64>(outDelta + i8, delta);
    store<f64>(outRate + i8, rate);
    store<f64>(outDev + i8, dev);
    store<f64>(outCompl + i8, load<f64>(complT + (<usize>mcNew << 3)));
    store<u32>(outFlags + i4, flags);
  }
  return -1;
}
