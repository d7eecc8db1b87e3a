/**
 * The plain-TypeScript implementation of {@linkcode Kernel}: the specification of `process` in
 * `assembly/rolling.ts`, with the same update order and the same floating-point operations, so
 * the two agree bit for bit (tests/unit/kernel_test.ts asserts it; the contract asks 1e-9). It is
 * the differential-test partner of {@linkcode WasmKernel} and the baseline of its benchmark,
 * and it runs anywhere (no WebAssembly).
 *
 * See `assembly/rolling.ts` for the algorithm and its numerics (anchored sums recomputed exactly
 * every `window` readings and every model-ring wrap, exact constant detection, van Herk /
 * Gil-Werman block extrema for min and max). The WASM kernel packs its state differently (for
 * fewer memory accesses: counters in i64 words, f64 pairs in v128s, minima negated, the
 * previous value read from the window ring) but each lane of its f64x2 arithmetic performs
 * exactly the scalar operation written here, so the layouts differ and the results do not.
 * @module
 */
import {
  checkBatch,
  checkLimits,
  checkStreamId,
  checkZThreshold,
  nextPow2,
  resolveKernelOptions,
} from "./kernel_options.ts";
import {
  FLAG,
  type Kernel,
  type KernelInput,
  type KernelOptions,
  type KernelOutput,
  type StreamLimits,
} from "./kernel_types.ts";

// f64 state fields per stream (stride F).
const A = 0, S1 = 1, S2 = 2, SJ = 3, PREV = 4, PREVT = 5, LOW = 6, HIGH = 7, MAXD = 8;
const MAXDEV = 9, MA = 10, MS1 = 11, MS2 = 12, PMAX = 13, PMIN = 14;
const F = 15;
// u32 state fields per stream (stride U); counters wrap at 2³² like the WASM u32s.
const T = 0, N = 1, R = 2, MC = 3, MP = 4, MR = 5;
const U = 6;

/** max and min exactly as the kernel's SIMD pmax/pmin (values are never NaN). */
const fmax = (a: number, b: number) => (a < b ? b : a);
const fmin = (a: number, b: number) => (b < a ? b : a);

/**
 * The fused rolling-statistics kernel in TypeScript over typed arrays, allocated once.
 */
export class ReferenceKernel implements Kernel {
  #options: Readonly<Required<KernelOptions>>;
  #z: number;
  readonly #w: number; // ring capacity of the window
  readonly #m: number; // ring capacity of the model
  readonly #f: Float64Array;
  readonly #u: Uint32Array;
  readonly #ring: Float64Array;
  readonly #sufMax: Float64Array; // per stream window+1 entries, see assembly/rolling.ts
  readonly #sufMin: Float64Array;
  readonly #model: Float64Array;
  readonly #invN: Float64Array;
  readonly #invDen: Float64Array;
  readonly #invM: Float64Array;
  readonly #compl: Float64Array;
  readonly #out: Float64Array[];
  readonly #flags: Uint32Array;

  /** Validates the options (a `RangeError` names a bad one) and allocates all state. */
  constructor(options: KernelOptions = {}) {
    const o = resolveKernelOptions(options);
    this.#options = Object.freeze(o);
    this.#z = o.zThreshold;
    const w = this.#w = nextPow2(o.window);
    const m = this.#m = nextPow2(o.modelSize);
    const s = o.maxStreams;
    this.#f = new Float64Array(s * F);
    this.#u = new Uint32Array(s * U);
    this.#ring = new Float64Array(s * w);
    this.#sufMax = new Float64Array(s * (o.window + 1)).fill(-Infinity);
    this.#sufMin = new Float64Array(s * (o.window + 1)).fill(Infinity);
    this.#model = new Float64Array(s * m);
    // Same tables, same arithmetic as the WASM `configure`.
    this.#invN = new Float64Array(o.window + 1);
    this.#invDen = new Float64Array(o.window + 1);
    for (let n = 1; n <= o.window; n++) {
      this.#invN[n] = 1 / n;
      this.#invDen[n] = n < 2 ? 0 : 12 / (n * (n * n - 1));
    }
    this.#invM = new Float64Array(o.modelSize + 1);
    this.#compl = new Float64Array(o.modelSize + 1);
    for (let k = 1; k <= o.modelSize; k++) {
      this.#invM[k] = 1 / k;
      this.#compl[k] = k / o.modelSize;
    }
    this.#out = [];
    for (let k = 0; k < 10; k++) this.#out.push(new Float64Array(o.batchCapacity));
    this.#flags = new Uint32Array(o.batchCapacity);
    for (let i = 0; i < s; i++) {
      const f = i * F;
      this.#f[f + LOW] = NaN;
      this.#f[f + HIGH] = NaN;
      this.#f[f + MAXD] = NaN;
      this.#f[f + MAXDEV] = NaN;
      this.#f[f + PMAX] = -Infinity;
      this.#f[f + PMIN] = Infinity;
    }
  }

  /** The options in force (`zThreshold` follows {@linkcode ReferenceKernel.setZThreshold}). */
  get options(): Readonly<Required<KernelOptions>> {
    return this.#options;
  }

  /** Sets the limits of one stream (all NaN until set). */
  setLimits(stream: number, limits: StreamLimits): void {
    checkStreamId(stream, this.#options.maxStreams);
    checkLimits(limits);
    const f = stream * F;
    this.#f[f + LOW] = limits.low;
    this.#f[f + HIGH] = limits.high;
    this.#f[f + MAXD] = limits.maxDelta;
    this.#f[f + MAXDEV] = limits.maxDeviationPct;
  }

  /** Changes the z threshold for the following batches. */
  setZThreshold(z: number): void {
    checkZThreshold(z);
    this.#z = z;
    this.#options = Object.freeze({ ...this.#options, zThreshold: z });
  }

  /** Forgets a stream's window, model and previous value (its limits stay). */
  resetStream(stream: number): void {
    checkStreamId(stream, this.#options.maxStreams);
    const f = stream * F;
    for (const k of [A, S1, S2, SJ, PREV, PREVT, MA, MS1, MS2]) this.#f[f + k] = 0;
    this.#f[f + PMAX] = -Infinity;
    this.#f[f + PMIN] = Infinity;
    this.#u.fill(0, stream * U, stream * U + U);
    const e = this.#options.window + 1;
    this.#sufMax.fill(-Infinity, stream * e, stream * e + e);
    this.#sufMin.fill(Infinity, stream * e, stream * e + e);
  }

  /**
   * Processes `input` readings `0…n-1`. The result's arrays are views of length `n` over this
   * kernel's buffers, valid until the next call. Throws a `RangeError` naming the value for a
   * bad `n`, stream id or non-finite value, before any state changes.
   */
  process(input: KernelInput, n: number): KernelOutput {
    const o = this.#options;
    checkBatch(input, n, o.batchCapacity);
    const { stream, time, value } = input;
    const maxS = o.maxStreams;
    for (let i = 0; i < n; i++) {
      const s = stream[i]!;
      if (!(s >= 0 && s < maxS)) {
        throw new RangeError(
          `stream id must be an integer in 0…${maxS - 1}, got ${s} (reading ${i})`,
        );
      }
      const x = value[i]!;
      if (x - x !== 0) throw new RangeError(`value at reading ${i} must be finite, got ${x}`);
    }

    const window = o.window;
    const last = window - 1;
    const wN1 = window - 1;
    const w = this.#w;
    const wmask = w - 1;
    const modelSize = o.modelSize;
    const mcap = this.#m;
    const mmask = mcap - 1;
    const zt = this.#z;
    const tol = o.trendTolerance;
    const fs = this.#f, us = this.#u, ringA = this.#ring;
    const sufMaxA = this.#sufMax, sufMinA = this.#sufMin;
    const modelA = this.#model;
    const invNT = this.#invN, invDenT = this.#invDen, invMT = this.#invM, complT = this.#compl;
    const [oMean, oStd, oMin, oMax, oSlope, oZ, oDelta, oRate, oDev, oCompl] = this.#out as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    const oFlags = this.#flags;

    for (let i = 0; i < n; i++) {
      const s = stream[i]!;
      const tm = time[i]!;
      const x = value[i]!;
      const f = s * F;
      const u = s * U;
      const rb = s * w; // base of this stream's window ring
      const sb = s * (window + 1); // base of its suffix extrema
      const mb = s * mcap; // base of its model ring

      // ---- window sums, shifted by the anchor a ----
      const t = us[u + T]!;
      const nOld = us[u + N]!;
      let a: number, s1: number, s2: number, sj: number;
      let delta = 0;
      let rate = 0;
      if (nOld === 0) {
        a = x;
        s1 = 0;
        s2 = 0;
        sj = 0;
      } else {
        a = fs[f + A]!;
        s1 = fs[f + S1]!;
        s2 = fs[f + S2]!;
        sj = fs[f + SJ]!;
        delta = x - fs[f + PREV]!;
        const dt = tm - fs[f + PREVT]!;
        if (dt > 0) rate = delta * 1000 / dt;
      }
      const d = x - a;
      let nNew = nOld;
      if (nOld === window) {
        const d0 = ringA[rb + ((t - window) & wmask)]! - a;
        sj = sj - (s1 - d0) + wN1 * d;
        s1 = s1 - d0 + d;
        s2 = s2 - d0 * d0 + d * d;
      } else {
        sj += nOld * d;
        s1 += d;
        s2 += d * d;
        nNew = nOld + 1;
      }
      ringA[rb + (t & wmask)] = x;

      // ---- min and max: previous block's suffix extrema and this block's prefix extrema ----
      const r = us[u + R]!;
      const pmax = fmax(fs[f + PMAX]!, x); // ±Infinity at the start of a block
      const pmin = fmin(fs[f + PMIN]!, x);
      const mx = fmax(pmax, sufMaxA[sb + r + 1]!);
      const mn = fmin(pmin, sufMinA[sb + r + 1]!);
      if (r === last) {
        // Block complete: its suffix extrema for the next block, and the sums recomputed
        // exactly, re-anchored on the newest value (one backward pass).
        a = x;
        s1 = 0;
        s2 = 0;
        sj = 0;
        let hi = -Infinity;
        let lo = Infinity;
        const first = t - last;
        for (let j = last; j >= 0; j--) {
          const v = ringA[rb + ((first + j) & wmask)]!;
          hi = fmax(hi, v);
          lo = fmin(lo, v);
          sufMaxA[sb + j] = hi;
          sufMinA[sb + j] = lo;
          const dd = v - a;
          s1 += dd;
          s2 += dd * dd;
          sj += j * dd;
        }
        us[u + R] = 0;
        fs[f + PMAX] = -Infinity;
        fs[f + PMIN] = Infinity;
      } else {
        us[u + R] = r + 1;
        fs[f + PMAX] = pmax;
        fs[f + PMIN] = pmin;
      }
      fs[f + A] = a;
      fs[f + S1] = s1;
      fs[f + S2] = s2;
      fs[f + SJ] = sj;
      fs[f + PREV] = x;
      fs[f + PREVT] = tm;
      us[u + T] = t + 1;
      us[u + N] = nNew;

      // ---- moving mean, std, slope ----
      let mean: number, std: number, slope: number;
      if (mx === mn) {
        mean = x;
        std = 0;
        slope = 0;
      } else {
        const invN = invNT[nNew]!;
        const md = s1 * invN;
        mean = fmin(fmax(a + md, mn), mx);
        const v = s2 * invN - md * md;
        std = Math.sqrt(fmax(v, 0));
        slope = (sj - 0.5 * (nNew - 1) * s1) * invDenT[nNew]!;
      }
      let flags = 0;
      const thr = tol * fmax(Math.abs(mean), 1e-12);
      if (slope > thr) flags = FLAG.TREND_UP;
      else if (slope < -thr) flags = FLAG.TREND_DOWN;

      // ---- z-score against the model before x enters it ----
      const mc = us[u + MC]!;
      let run = us[u + MR]!;
      let ma = fs[f + MA]!;
      let ms1 = fs[f + MS1]!;
      let ms2 = fs[f + MS2]!;
      let z = 0;
      if (mc >= 2 && run < mc) {
        const invM = invMT[mc]!;
        const mmd = ms1 * invM;
        const v = ms2 * invM - mmd * mmd;
        if (v > 0) z = ((x - ma) - mmd) / Math.sqrt(v);
      }
      let mcNew = mc;
      if (mc === modelSize && Math.abs(z) > zt) {
        flags |= FLAG.ZSCORE;
      } else {
        const mp = us[u + MP]!;
        if (mc === 0) {
          ma = x;
          ms1 = 0;
          ms2 = 0;
          run = 1;
        } else {
          run = modelA[mb + ((mp - 1) & mmask)] === x ? Math.min(run + 1, modelSize) : 1;
        }
        if (mc === modelSize) {
          const d0 = modelA[mb + ((mp - mc) & mmask)]! - ma;
          ms1 -= d0;
          ms2 -= d0 * d0;
        } else {
          mcNew = mc + 1;
        }
        const dm = x - ma;
        ms1 += dm;
        ms2 += dm * dm;
        modelA[mb + (mp & mmask)] = x;
        const mp1 = (mp + 1) >>> 0;
        if ((mp1 & mmask) === 0) {
          ma = x;
          ms1 = 0;
          ms2 = 0;
          const first = mp1 - mcNew;
          for (let j = 0; j < mcNew; j++) {
            const dd = modelA[mb + ((first + j) & mmask)]! - ma;
            ms1 += dd;
            ms2 += dd * dd;
          }
        }
        us[u + MP] = mp1;
        us[u + MC] = mcNew;
        us[u + MR] = run;
        fs[f + MA] = ma;
        fs[f + MS1] = ms1;
        fs[f + MS2] = ms2;
      }
      if (mcNew === modelSize) flags |= FLAG.MODEL_FULL;

      // ---- deviation and limits (NaN limits compare false: disabled) ----
      const dev = mean !== 0 ? 100 * (x - mean) / Math.abs(mean) : 0;
      if (x > fs[f + HIGH]!) flags |= FLAG.HIGH;
      if (x < fs[f + LOW]!) flags |= FLAG.LOW;
      if (Math.abs(delta) > fs[f + MAXD]!) flags |= FLAG.RAPID;
      if (Math.abs(dev) > fs[f + MAXDEV]!) flags |= FLAG.DEVIATION;

      oMean[i] = mean;
      oStd[i] = std;
      oMin[i] = mn;
      oMax[i] = mx;
      oSlope[i] = slope;
      oZ[i] = z;
      oDelta[i] = delta;
      oRate[i] = rate;
      oDev[i] = dev;
      oCompl[i] = complT[mcNew]!;
      oFlags[i] = flags;
    }
    return {
      mean: oMean.subarray(0, n),
      std: oStd.subarray(0, n),
      min: oMin.subarray(0, n),
      max: oMax.subarray(0, n),
      slope: oSlope.subarray(0, n),
      zscore: oZ.subarray(0, n),
      delta: oDelta.subarray(0, n),
      rate: oRate.subarray(0, n),
      deviation: oDev.subarray(0, n),
      completeness: oCompl.subarray(0, n),
      flags: oFlags.subarray(0, n),
    };
  }
}
