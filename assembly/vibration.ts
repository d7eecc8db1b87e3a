/**
 * Vibration features per frame (AssemblyScript, compiled to build/wasm/vibration.wasm by
 * tools/build_wasm.ts). The contract is engine/kernels/vibration/vibration_types.ts; engine/
 * vibration_features_reference.ts is a line-by-line TypeScript port of `process` below and the
 * two must stay in step (same operations in the same order, so they agree to rounding).
 *
 * Shape: flat exported functions over numbers, all state in module globals and one region of
 * linear memory allocated once by `configure` (`--runtime stub`: never freed). `process(n)`
 * checks its argument once, then runs over the batch with `load`/`store` only.
 *
 * Per frame of N samples x (N a power of two), one row of 5 + K f64:
 *   rms                    sqrt(Σx²/N)  (about zero, not about the mean)
 *   peak_to_peak           max - min
 *   crest_factor           max|x| / rms  (0 for an all-zero frame)
 *   kurtosis               Pearson's, NOT excess: m4/m2² with central moments (3 for a
 *                          Gaussian, 1.5 for a sine); 0 for a constant frame
 *   dominant_frequency_hz  k·fs/N of the largest one-sided power bin k in 1…N/2 of the
 *                          mean-removed frame (first one on ties); 0 for a constant frame
 *   band_energy_1…K        Σ P[k] over the bins k with lo <= k·fs/N < hi (a band whose hi is the
 *                          Nyquist frequency also takes the Nyquist bin)
 *
 * P[k] is the one-sided power of the windowed frame, normalised by the window's power:
 *   P[k] = c_k |X[k]|² / (N Σw²),  c_0 = c_{N/2} = 1, else 2.
 * By Parseval Σ_k P[k] = Σ(w x)² / Σw²: exactly the mean square (rms²) without a window, and the
 * w²-weighted mean square with the Hann window (about rms² for a stationary frame; exactly for
 * a DC frame, or DC plus a sine on bin 3…N/2-2). So bands tiling [0, fs/2] sum to rms².
 *
 * Window: periodic Hann w[n] = 0.5 - 0.5 cos(2πn/N) (DFT-even, Σw² = 3N/8 exactly) or none.
 * Hann is the default of the TS side: running speeds are never on a bin, and the rectangular
 * window's leakage (-13 dB side lobes, decaying 6 dB/octave) would spill a strong 1× line into
 * the neighbouring bands; Hann's side lobes start at -31 dB and fall 18 dB/octave, for a main
 * lobe only ±2 bins wide.
 *
 * Mean removal for the dominant frequency without a second FFT: FFT(w(x - m)) =
 * FFT(wx) - m FFT(w), and FFT(w) is zero except at bins 0 and ±1 (-N/4 at bin 1 for the periodic
 * Hann, nothing there without window). So only bin 1 needs the correction; bin 0 is skipped.
 *
 * Real FFT: one complex FFT of half size M = N/2 on z[j] = x[2j] + i x[2j+1], then the standard
 * split X[k] = E[k] + e^{-2πik/N} O[k] with E = (Z[k] + conj Z[M-k])/2 and
 * O = (Z[k] - conj Z[M-k])/(2i). Chosen over a full-size complex FFT with zero imaginary parts
 * because it does half the butterflies on half the memory for one extra O(N) pass, and a complex
 * number is exactly one f64x2 (re, im) vector. The complex FFT is iterative radix-2 decimation
 * in time, in place:
 *   - the moments pass writes the windowed z[j] and z[j + M/2] straight into their bit-reversed
 *     positions r and r+1 and does the first stage (twiddle 1) on the way;
 *   - the other stages run two at a time (butterflies h and 2h apart) per pass over memory,
 *     keeping the intermediate values in registers; an odd last stage runs alone;
 *   - the split computes bins k and M-k together (they read the same Z[k], Z[M-k]).
 * SIMD here changes no result: every lane does the scalar reference's operations on the same
 * operands in the same order (WASM SIMD has no fused multiply-add). Only the sums of pass 1 and
 * 2 run in two lanes (even and odd samples), and the reference keeps two sums the same way.
 *
 * Memory (bytes, 64-aligned arrays of one region allocated once):
 *   in       f64[cap·N]        frames, back to back (TS writes them with one `set`)
 *   out      f64[cap·(5+K)]    feature rows
 *   window   f64[N]            w[n] (all 1 without window)
 *   twRe     f64[M], twIm f64[M]   cos(2πk/N), -sin(2πk/N)
 *   stageTw  v128[2M]          per stage h, twiddle j < h as (wr, wr), (-wi, wi) at entry h + j
 *   rev      u32[M/2]          bit reversal over log2(M) bits of j < M/2 (always even)
 *   z        v128[M]           the complex work array, (re, im) per element
 *   splitTw  v128[M]           (wr_k, wr_M-k), (wi_k, wi_M-k) for the split, k < M/2
 *   power    f64[M+1]          P[k]
 *   edges    f64[2K]           band edges in Hz, written by TS before `setBands`
 *   bins     i32[2K]           first bin, end bin (exclusive) of each band
 * Planned and allocated with assembly/lib/memory.ts; the host finds array R.X at `ptr(R.X)`.
 */

import {
  allocate,
  beginConfigure,
  checkConfigured,
  f64At,
  place,
  region,
  setF64,
} from "./lib/memory";

export { ptr, testGrowMemory } from "./lib/memory";

/**
 * The arrays of the layout (assembly/lib/memory.ts indices; engine/kernels/vibration/
 * vibration_features_wasm.ts reads IN, OUT and EDGES).
 */
enum R { IN, OUT, EDGES, BINS, WIN, TW_RE, TW_IM, STAGE_TW, REV, Z, SPLIT_TW, POW }

const MIN_FRAME: i32 = 8;
const MAX_FRAME: i32 = 65536;
const MAX_BANDS: i32 = 4096;
const MAX_BATCH: i32 = 1 << 20;
const MAX_BYTES: f64 = 1073741824.0; // 1 GiB, as engine/kernels/vibration/vibration_types.ts
/** Fixed features before the band energies. */
const FIXED: i32 = 5;

let bandsSet = false;
let gN: i32 = 0;
let gM: i32 = 0;
let gFs: f64 = 0;
let gBinHz: f64 = 0;
let gK: i32 = 0;
let gWidth: i32 = 0;
let gHann = false;
let gCap: i32 = 0;
let gScale1: f64 = 0;
let gScale2: f64 = 0;
let gW1: f64 = 0;


/**
 * Allocates every area and precomputes the window, twiddles and bit-reversal table, once.
 * `hann` is 1 for the periodic Hann window, 0 for none. Returns the bytes allocated. Aborts on
 * out-of-range arguments or a second call (the layout never moves afterwards).
 */
export function configure(
  frameSize: i32,
  sampleRate: f64,
  bandCount: i32,
  hann: i32,
  batchCapacity: i32,
): f64 {
  beginConfigure();
  assert(
    frameSize >= MIN_FRAME && frameSize <= MAX_FRAME && (frameSize & (frameSize - 1)) == 0,
    "configure: frameSize must be a power of two in 8…65536",
  );
  assert(sampleRate > 0 && isFinite(sampleRate), "configure: sampleRate must be finite and > 0");
  assert(bandCount >= 1 && bandCount <= MAX_BANDS, "configure: bandCount out of range 1…4096");
  assert(hann == 0 || hann == 1, "configure: hann must be 0 or 1");
  assert(batchCapacity >= 1 && batchCapacity <= MAX_BATCH, "configure: batchCapacity out of range");

  const n = <usize>frameSize;
  const m = n >> 1;
  const cap = <usize>batchCapacity;
  const width = <usize>(FIXED + bandCount);

  const fm = <f64>m;
  place(R.IN, <f64>cap * <f64>n * 8);
  place(R.OUT, <f64>cap * <f64>width * 8);
  place(R.WIN, <f64>n * 8);
  place(R.TW_RE, fm * 8);
  place(R.TW_IM, fm * 8);
  place(R.STAGE_TW, fm * 32);
  place(R.REV, <f64>(m >> 1) * 4);
  place(R.Z, fm * 16);
  place(R.SPLIT_TW, <f64>(m >> 1) * 32);
  place(R.POW, (fm + 1) * 8);
  place(R.EDGES, <f64>bandCount * 16);
  place(R.BINS, <f64>bandCount * 8);
  const total = allocate(MAX_BYTES, "configure: the buffers would exceed 1 GiB");

  gN = frameSize;
  gM = <i32>m;
  gFs = sampleRate;
  gBinHz = sampleRate / <f64>frameSize;
  gK = bandCount;
  gWidth = <i32>width;
  gHann = hann == 1;
  gCap = batchCapacity;

  const twRe = region(R.TW_RE);
  const twIm = region(R.TW_IM);
  const fn = <f64>frameSize;
  // Σw² is 3N/8 for the periodic Hann (exactly, N >= 4) and N without window.
  const sumW2 = gHann ? 0.375 * fn : fn;
  gScale1 = 1 / (fn * sumW2);
  gScale2 = 2 * gScale1;
  gW1 = gHann ? -0.25 * fn : 0;

  for (let i: i32 = 0; i < frameSize; i++) {
    setF64(region(R.WIN), i, gHann ? 0.5 - 0.5 * Math.cos((2 * Math.PI * <f64>i) / fn) : 1);
  }
  for (let k: i32 = 0; k < <i32>m; k++) {
    const a = (2 * Math.PI * <f64>k) / fn;
    setF64(twRe, k, Math.cos(a));
    setF64(twIm, k, -Math.sin(a));
  }
  // Stage with butterflies `half` apart: twiddle j < half is table entry j·(N/2)/half, stored as
  // the vectors (wr, wr), (-wi, wi) at entry half + j (32 bytes each).
  for (let half: usize = 2; half < m; half <<= 1) {
    const stride = <i32>(m / half);
    for (let j: usize = 0; j < half; j++) {
      const wr = f64At(twRe, <i32>j * stride);
      const wi = f64At(twIm, <i32>j * stride);
      const at = region(R.STAGE_TW) + ((half + j) << 5);
      store<f64>(at, wr);
      store<f64>(at, wr, 8);
      store<f64>(at, -wi, 16);
      store<f64>(at, wi, 24);
    }
  }
  // The split's twiddles for bins k and M-k side by side: (wr_k, wr_M-k), (wi_k, wi_M-k).
  for (let k: usize = 1; k < (m >> 1); k++) {
    const at = region(R.SPLIT_TW) + (k << 5);
    store<f64>(at, f64At(twRe, <i32>k));
    store<f64>(at, f64At(twRe, <i32>(m - k)), 8);
    store<f64>(at, f64At(twIm, <i32>k), 16);
    store<f64>(at, f64At(twIm, <i32>(m - k)), 24);
  }
  const bits = <i32>ctz<u32>(<u32>m);
  for (let j: i32 = 0; j < <i32>(m >> 1); j++) {
    let r: u32 = 0;
    let v = <u32>j;
    for (let b: i32 = 0; b < bits; b++) {
      r = (r << 1) | (v & 1);
      v >>= 1;
    }
    store<u32>(region(R.REV) + (<usize>j << 2), r);
  }
  return total;
}

/**
 * Turns the band edges at `bandEdgesPtr` into bin ranges: first bin ceil(lo·N/fs), end bin
 * ceil(hi·N/fs), or N/2 + 1 when hi is the Nyquist frequency. Returns -1 when every band is
 * valid (0 <= lo < hi <= fs/2 and at least one bin), else the index of the first bad band
 * (nothing changed).
 */
export function setBands(): i32 {
  checkConfigured("setBands");
  const edges = region(R.EDGES);
  const bins = region(R.BINS);
  const fn = <f64>gN;
  const nyquist = gFs * 0.5;
  for (let b: i32 = 0; b < gK; b++) {
    const lo = f64At(edges, 2 * b);
    const hi = f64At(edges, 2 * b + 1);
    if (!(lo >= 0 && lo < hi && hi <= nyquist)) return b;
    const kLo = Math.ceil((lo * fn) / gFs);
    const kHi = hi == nyquist ? <f64>(gM + 1) : Math.ceil((hi * fn) / gFs);
    if (!(kLo < kHi)) return b;
  }
  for (let b: i32 = 0; b < gK; b++) {
    const lo = f64At(edges, 2 * b);
    const hi = f64At(edges, 2 * b + 1);
    const kLo = Math.ceil((lo * fn) / gFs);
    const kHi = hi == nyquist ? <f64>(gM + 1) : Math.ceil((hi * fn) / gFs);
    store<i32>(bins + (<usize>(2 * b) << 2), <i32>kLo);
    store<i32>(bins + (<usize>(2 * b + 1) << 2), <i32>kHi);
  }
  bandsSet = true;
  return -1;
}

/**
 * Computes the feature rows of frames 0…n-1 of the input area. Returns -1 when done, or the
 * index of the first frame holding a non-finite sample (or whose Σx² overflows); the rows of
 * the frames before it are written, that frame's and the later ones are not.
 */
export function process(n: i32): i32 {
  checkConfigured("process");
  assert(bandsSet, "process: setBands() has not succeeded");
  assert(n >= 0 && n <= gCap, "process: n is out of range 0…batchCapacity");

  const frameSize = gN;
  const m = gM;
  const q = m >> 1;
  const fn = <f64>frameSize;
  const win = region(R.WIN);
  const twRe = region(R.TW_RE);
  const twIm = region(R.TW_IM);
  const stageTw = region(R.STAGE_TW);
  const splitTw = region(R.SPLIT_TW);
  const rev = region(R.REV);
  const z = region(R.Z);
  const pow = region(R.POW);
  const input = region(R.IN);
  const output = region(R.OUT);
  const bins = region(R.BINS);
  const s1 = gScale1;
  const s2 = gScale2;
  const w1 = gW1;
  // Half a frame further on: the sample pair of z[j + M/2].
  const qBytes = <usize>q << 4;

  for (let f: i32 = 0; f < n; f++) {
    const x = input + (<usize>f * <usize>frameSize << 3);
    const row = output + (<usize>f * <usize>gWidth << 3);

    // ---- pass 1: sums (even and odd samples in the two lanes), extrema ----
    let vSum = f64x2.splat(0);
    let vSq = f64x2.splat(0);
    let vMin = f64x2.splat(Infinity);
    let vMax = f64x2.splat(-Infinity);
    for (let j: i32 = 0; j < m; j++) {
      const v = v128.load(x + (<usize>j << 4));
      vSum = f64x2.add(vSum, v);
      vSq = f64x2.add(vSq, f64x2.mul(v, v));
      vMin = f64x2.pmin(vMin, v);
      vMax = f64x2.pmax(vMax, v);
    }
    const sum = f64x2.extract_lane(vSum, 0) + f64x2.extract_lane(vSum, 1);
    const sumSq = f64x2.extract_lane(vSq, 0) + f64x2.extract_lane(vSq, 1);
    const mn0 = f64x2.extract_lane(vMin, 0);
    const mn1 = f64x2.extract_lane(vMin, 1);
    const mx0 = f64x2.extract_lane(vMax, 0);
    const mx1 = f64x2.extract_lane(vMax, 1);
    const mn = mn1 < mn0 ? mn1 : mn0;
    const mx = mx0 < mx1 ? mx1 : mx0;
    // NaN or ±Infinity anywhere makes Σx² NaN or +Infinity (so does an overflow).
    if (!(sumSq < Infinity)) return f;
    const mean = sum / fn;
    const rms = Math.sqrt(sumSq / fn);
    const peak = mx > -mn ? mx : -mn;
    const constant = mx == mn;

    // ---- pass 2: central moments; windowed z[j], z[j+M/2] into bit-reversed positions r,
    // r+1 (r even), with the FFT's first stage (twiddle 1) done on the way ----
    const vMean = f64x2.splat(mean);
    let vC2 = f64x2.splat(0);
    let vC4 = f64x2.splat(0);
    for (let j: i32 = 0; j < q; j++) {
      const pa = <usize>j << 4;
      const a = v128.load(x + pa);
      const b = v128.load(x + pa + qBytes);
      const da = f64x2.sub(a, vMean);
      const qa = f64x2.mul(da, da);
      vC2 = f64x2.add(vC2, qa);
      vC4 = f64x2.add(vC4, f64x2.mul(qa, qa));
      const db = f64x2.sub(b, vMean);
      const qb = f64x2.mul(db, db);
      vC2 = f64x2.add(vC2, qb);
      vC4 = f64x2.add(vC4, f64x2.mul(qb, qb));
      const wa = f64x2.mul(a, v128.load(win + pa));
      const wb = f64x2.mul(b, v128.load(win + pa + qBytes));
      const r = <usize>load<u32>(rev + (<usize>j << 2));
      v128.store(z + (r << 4), f64x2.add(wa, wb));
      v128.store(z + (r << 4) + 16, f64x2.sub(wa, wb));
    }
    const c2 = f64x2.extract_lane(vC2, 0) + f64x2.extract_lane(vC2, 1);
    const c4 = f64x2.extract_lane(vC4, 0) + f64x2.extract_lane(vC4, 1);

    // ---- the remaining stages of the complex FFT of size M, radix-2 DIT, in place ----
    // Complex numbers are (re, im) lanes; t = w·L = L·(wr, wr) + swap(L)·(-wi, wi). Two stages
    // (butterflies `half` and 2·half apart) per pass over memory: the same butterflies with the
    // same operands as one stage at a time, with the intermediate values kept in registers.
    let half: i32 = 2;
    for (; half * 2 < m; half <<= 2) {
      const twA = stageTw + (<usize>half << 5);
      const twB = stageTw + (<usize>half << 6);
      const span = half << 2;
      const hb = <usize>half << 4;
      for (let start: i32 = 0; start < m; start += span) {
        const p0 = z + (<usize>start << 4);
        const p1 = p0 + hb;
        const p2 = p1 + hb;
        const p3 = p2 + hb;
        for (let j: i32 = 0; j < half; j++) {
          const o = <usize>j << 4;
          const wrA = v128.load(twA + (o << 1));
          const wiA = v128.load(twA + (o << 1), 16);
          const v0 = v128.load(p0 + o);
          const v1 = v128.load(p1 + o);
          const v2 = v128.load(p2 + o);
          const v3 = v128.load(p3 + o);
          const t1 = f64x2.add(f64x2.mul(v1, wrA), f64x2.mul(f64x2.shuffle(v1, v1, 1, 0), wiA));
          const a0 = f64x2.add(v0, t1);
          const a1 = f64x2.sub(v0, t1);
          const t3 = f64x2.add(f64x2.mul(v3, wrA), f64x2.mul(f64x2.shuffle(v3, v3, 1, 0), wiA));
          const a2 = f64x2.add(v2, t3);
          const a3 = f64x2.sub(v2, t3);
          const wrB = v128.load(twB + (o << 1));
          const wiB = v128.load(twB + (o << 1), 16);
          const t2 = f64x2.add(f64x2.mul(a2, wrB), f64x2.mul(f64x2.shuffle(a2, a2, 1, 0), wiB));
          v128.store(p0 + o, f64x2.add(a0, t2));
          v128.store(p2 + o, f64x2.sub(a0, t2));
          const wrC = v128.load(twB + (hb << 1) + (o << 1));
          const wiC = v128.load(twB + (hb << 1) + (o << 1), 16);
          const t4 = f64x2.add(f64x2.mul(a3, wrC), f64x2.mul(f64x2.shuffle(a3, a3, 1, 0), wiC));
          v128.store(p1 + o, f64x2.add(a1, t4));
          v128.store(p3 + o, f64x2.sub(a1, t4));
        }
      }
    }
    if (half < m) {
      // An odd number of stages: the last one alone.
      const tw = stageTw + (<usize>half << 5);
      const size = half << 1;
      for (let start: i32 = 0; start < m; start += size) {
        const pk = z + (<usize>start << 4);
        const pl = pk + (<usize>half << 4);
        for (let j: i32 = 0; j < half; j++) {
          const o = <usize>j << 4;
          const wr = v128.load(tw + (o << 1));
          const wi = v128.load(tw + (o << 1), 16);
          const l = v128.load(pl + o);
          const k = v128.load(pk + o);
          const t = f64x2.add(f64x2.mul(l, wr), f64x2.mul(f64x2.shuffle(l, l, 1, 0), wi));
          v128.store(pl + o, f64x2.sub(k, t));
          v128.store(pk + o, f64x2.add(k, t));
        }
      }
    }

    // ---- split into the real FFT's one-sided power; dominant bin of the mean-removed frame ----
    const z0r = load<f64>(z);
    const z0i = load<f64>(z, 8);
    const x0 = z0r + z0i;
    const xm = z0r - z0i;
    setF64(pow, 0, x0 * x0 * s1);
    setF64(pow, m, xm * xm * s1);
    let p1: f64 = 0;
    // Bins k and M-k read the same two numbers Z[k], Z[M-k]: lane 0 computes X[k], lane 1
    // X[M-k], with exactly the scalar expressions of the reference (the roles of Z[k] and Z[M-k]
    // swap in lane 1).
    const vHalf = f64x2.splat(0.5);
    const vS2 = f64x2.splat(s2);
    for (let k: i32 = 1; k < q; k++) {
      const zk = v128.load(z + (<usize>k << 4));
      const zc = v128.load(z + (<usize>(m - k) << 4));
      const a = f64x2.shuffle(zk, zc, 0, 2); // (a, c)
      const b = f64x2.shuffle(zk, zc, 1, 3); // (b, d)
      const c = f64x2.shuffle(zc, zk, 0, 2); // (c, a)
      const d = f64x2.shuffle(zc, zk, 1, 3); // (d, b)
      const tw = splitTw + (<usize>k << 5);
      const wr = v128.load(tw);
      const wi = v128.load(tw, 16);
      const sb = f64x2.add(b, d);
      const dr = f64x2.sub(a, c);
      const xr = f64x2.mul(
        vHalf,
        f64x2.add(f64x2.add(f64x2.add(a, c), f64x2.mul(wr, sb)), f64x2.mul(wi, dr)),
      );
      const xi = f64x2.mul(
        vHalf,
        f64x2.sub(f64x2.add(f64x2.sub(b, d), f64x2.mul(wi, sb)), f64x2.mul(wr, dr)),
      );
      const p = f64x2.mul(f64x2.add(f64x2.mul(xr, xr), f64x2.mul(xi, xi)), vS2);
      setF64(pow, k, f64x2.extract_lane(p, 0));
      setF64(pow, m - k, f64x2.extract_lane(p, 1));
      if (k == 1) {
        // Bin 1 of the mean-removed frame, for the dominant frequency.
        const cr = f64x2.extract_lane(xr, 0) - mean * w1;
        const ci = f64x2.extract_lane(xi, 0);
        p1 = (cr * cr + ci * ci) * s2;
      }
    }
    {
      // Bin M/2 pairs with itself.
      const zk = z + (<usize>q << 4);
      const a = load<f64>(zk);
      const b = load<f64>(zk, 8);
      const wr = f64At(twRe, q);
      const wi = f64At(twIm, q);
      const sb = b + b;
      const dr = a - a;
      const xr = 0.5 * ((a + a) + wr * sb + wi * dr);
      const xi = 0.5 * ((b - b) + wi * sb - wr * dr);
      setF64(pow, q, (xr * xr + xi * xi) * s2);
    }
    // Dominant bin: first largest power in 1…M, bin 1 taken mean-removed.
    let best = p1;
    let bestK: i32 = 1;
    for (let k: i32 = 2; k <= m; k++) {
      const v = f64At(pow, k);
      if (v > best) {
        best = v;
        bestK = k;
      }
    }

    // ---- bands ----
    for (let b: i32 = 0; b < gK; b++) {
      const kLo = load<i32>(bins + (<usize>(2 * b) << 2));
      const kHi = load<i32>(bins + (<usize>(2 * b + 1) << 2));
      let e: f64 = 0;
      for (let k = kLo; k < kHi; k++) e += f64At(pow, k);
      setF64(row, FIXED + b, e);
    }

    setF64(row, 0, rms);
    setF64(row, 1, mx - mn);
    setF64(row, 2, rms > 0 ? peak / rms : 0);
    setF64(row, 3, constant ? 0 : (fn * c4) / (c2 * c2));
    setF64(row, 4, constant ? 0 : <f64>bestK * gBinHz);
  }
  return -1;
}
