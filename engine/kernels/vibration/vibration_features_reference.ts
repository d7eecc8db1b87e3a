/**
 * The plain-TypeScript reference of the vibration feature extractor: a scalar port of `process`
 * in `assembly/vibration.ts`, which the tests compare the WebAssembly extractor with and the
 * benchmark measures it against. Every value is computed with the same operations on the same
 * operands in the same order as one SIMD lane of the kernel (its sums run in two lanes, even and
 * odd samples, so here too), so the two differ only where `Math.cos`/`Math.sin` of the twiddles
 * differ in the last bit. The algorithm is documented there; the contract in
 * `vibration_types.ts`.
 * @module
 */
import {
  badFrameError,
  checkExtract,
  type ResolvedVibrationOptions,
  resolveVibrationOptions,
  type VibrationFeatureExtractor,
  type VibrationFeatureOptions,
} from "./vibration_types.ts";

/**
 * Vibration features in plain TypeScript over typed arrays. All buffers are allocated at
 * construction; `extract` allocates nothing but its result's subarray view.
 *
 * @example
 * ```ts
 * const fx = new ReferenceVibrationFeatures({ frameSize: 1024, sampleRate: 4000 });
 * const rows = fx.extract(samples, 4); // 4 rows of fx.width values
 * ```
 */
export class ReferenceVibrationFeatures implements VibrationFeatureExtractor {
  readonly options: ResolvedVibrationOptions;
  readonly width: number;
  readonly #win: Float64Array;
  readonly #twRe: Float64Array;
  readonly #twIm: Float64Array;
  readonly #rev: Uint32Array;
  readonly #re: Float64Array;
  readonly #im: Float64Array;
  readonly #pow: Float64Array;
  readonly #bins: Int32Array;
  readonly #out: Float64Array;
  readonly #hann: boolean;
  readonly #scale1: number;
  readonly #scale2: number;
  readonly #w1: number;
  readonly #binHz: number;

  /** Validates the options (a `RangeError` names a bad one) and precomputes the tables. */
  constructor(options: VibrationFeatureOptions = {}) {
    const o = resolveVibrationOptions(options);
    this.options = o;
    this.width = o.featureNames.length;
    const n = o.frameSize;
    const m = n / 2;
    const fn = n;
    this.#hann = o.window === "hann";
    this.#binHz = o.sampleRate / n;
    const sumW2 = this.#hann ? 0.375 * fn : fn;
    this.#scale1 = 1 / (fn * sumW2);
    this.#scale2 = 2 * this.#scale1;
    this.#w1 = this.#hann ? -0.25 * fn : 0;
    this.#win = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.#win[i] = this.#hann ? 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / fn) : 1;
    }
    this.#twRe = new Float64Array(m);
    this.#twIm = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      const a = (2 * Math.PI * k) / fn;
      this.#twRe[k] = Math.cos(a);
      this.#twIm[k] = -Math.sin(a);
    }
    const bits = Math.log2(m);
    // Only the first half is needed: z[j + M/2] goes next to z[j] (see assembly/vibration.ts).
    this.#rev = new Uint32Array(m / 2);
    for (let j = 0; j < m / 2; j++) {
      let r = 0;
      let v = j;
      for (let b = 0; b < bits; b++) {
        r = (r << 1) | (v & 1);
        v >>= 1;
      }
      this.#rev[j] = r;
    }
    this.#re = new Float64Array(m);
    this.#im = new Float64Array(m);
    this.#pow = new Float64Array(m + 1);
    this.#bins = new Int32Array(o.bins.flat());
    this.#out = new Float64Array(o.batchCapacity * this.width);
  }

  /** See {@linkcode VibrationFeatureExtractor.extract}. */
  extract(samples: Float64Array, frames: number): Float64Array {
    checkExtract(samples, frames, this.options);
    const frameSize = this.options.frameSize;
    const m = frameSize / 2;
    const q = m / 2;
    const fn = frameSize;
    const width = this.width;
    const bandCount = width - 5;
    const win = this.#win;
    const twRe = this.#twRe;
    const twIm = this.#twIm;
    const rev = this.#rev;
    const re = this.#re;
    const im = this.#im;
    const pow = this.#pow;
    const bins = this.#bins;
    const out = this.#out;
    const s1 = this.#scale1;
    const s2 = this.#scale2;
    const w1 = this.#w1;

    for (let f = 0; f < frames; f++) {
      const x = f * frameSize;
      const row = f * width;

      // ---- pass 1: sums (even and odd samples apart, as the kernel's two lanes), extrema ----
      let sumE = 0;
      let sumO = 0;
      let sqE = 0;
      let sqO = 0;
      let mn0 = Infinity;
      let mn1 = Infinity;
      let mx0 = -Infinity;
      let mx1 = -Infinity;
      for (let j = 0; j < m; j++) {
        const v0 = samples[x + 2 * j]!;
        const v1 = samples[x + 2 * j + 1]!;
        sumE += v0;
        sumO += v1;
        sqE += v0 * v0;
        sqO += v1 * v1;
        if (v0 < mn0) mn0 = v0;
        if (v1 < mn1) mn1 = v1;
        if (mx0 < v0) mx0 = v0;
        if (mx1 < v1) mx1 = v1;
      }
      const sum = sumE + sumO;
      const sumSq = sqE + sqO;
      const mn = mn1 < mn0 ? mn1 : mn0;
      const mx = mx0 < mx1 ? mx1 : mx0;
      if (!(sumSq < Infinity)) throw badFrameError(samples, f, frameSize);
      const mean = sum / fn;
      const rms = Math.sqrt(sumSq / fn);
      const peak = mx > -mn ? mx : -mn;
      const constant = mx === mn;

      // ---- pass 2: central moments; windowed z[j], z[j+M/2] into bit-reversed positions r,
      // r+1 (r even), with the FFT's first stage (twiddle 1) done on the way ----
      let c2E = 0;
      let c2O = 0;
      let c4E = 0;
      let c4O = 0;
      for (let j = 0; j < q; j++) {
        const ia = x + 2 * j;
        const ib = ia + m;
        const a0 = samples[ia]!;
        const a1 = samples[ia + 1]!;
        const b0 = samples[ib]!;
        const b1 = samples[ib + 1]!;
        const da0 = a0 - mean;
        const da1 = a1 - mean;
        const qa0 = da0 * da0;
        const qa1 = da1 * da1;
        c2E += qa0;
        c2O += qa1;
        c4E += qa0 * qa0;
        c4O += qa1 * qa1;
        const db0 = b0 - mean;
        const db1 = b1 - mean;
        const qb0 = db0 * db0;
        const qb1 = db1 * db1;
        c2E += qb0;
        c2O += qb1;
        c4E += qb0 * qb0;
        c4O += qb1 * qb1;
        const wa0 = a0 * win[2 * j]!;
        const wa1 = a1 * win[2 * j + 1]!;
        const wb0 = b0 * win[2 * j + m]!;
        const wb1 = b1 * win[2 * j + m + 1]!;
        const r = rev[j]!;
        re[r] = wa0 + wb0;
        im[r] = wa1 + wb1;
        re[r + 1] = wa0 - wb0;
        im[r + 1] = wa1 - wb1;
      }
      const c2 = c2E + c2O;
      const c4 = c4E + c4O;

      // ---- the remaining stages of the complex FFT of size M, radix-2 DIT, in place ----
      for (let half = 2; half < m; half <<= 1) {
        const size = half << 1;
        const stride = m / half;
        for (let start = 0; start < m; start += size) {
          for (let j = 0; j < half; j++) {
            const k = start + j;
            const l = k + half;
            const wr = twRe[j * stride]!;
            const wi = twIm[j * stride]!;
            const lr = re[l]!;
            const li = im[l]!;
            const tr = wr * lr - wi * li;
            const ti = wr * li + wi * lr;
            const kr = re[k]!;
            const ki = im[k]!;
            re[l] = kr - tr;
            im[l] = ki - ti;
            re[k] = kr + tr;
            im[k] = ki + ti;
          }
        }
      }

      // ---- split into the real FFT's one-sided power; dominant bin of the mean-removed frame ----
      const z0r = re[0]!;
      const z0i = im[0]!;
      const x0 = z0r + z0i;
      const xm = z0r - z0i;
      pow[0] = x0 * x0 * s1;
      const pm = xm * xm * s1;
      pow[m] = pm;
      let best = -1;
      let bestK = 0;
      for (let k = 1; k < m; k++) {
        const a = re[k]!;
        const b = im[k]!;
        const c = re[m - k]!;
        const d = im[m - k]!;
        const wr = twRe[k]!;
        const wi = twIm[k]!;
        const sb = b + d;
        const dr = a - c;
        const xr = 0.5 * ((a + c) + wr * sb + wi * dr);
        const xi = 0.5 * ((b - d) + wi * sb - wr * dr);
        const p = (xr * xr + xi * xi) * s2;
        pow[k] = p;
        let q = p;
        if (k === 1) {
          const cr = xr - mean * w1;
          q = (cr * cr + xi * xi) * s2;
        }
        if (q > best) {
          best = q;
          bestK = k;
        }
      }
      if (pm > best) bestK = m;

      // ---- bands ----
      for (let b = 0; b < bandCount; b++) {
        const kLo = bins[2 * b]!;
        const kHi = bins[2 * b + 1]!;
        let e = 0;
        for (let k = kLo; k < kHi; k++) e += pow[k]!;
        out[row + 5 + b] = e;
      }

      out[row] = rms;
      out[row + 1] = mx - mn;
      out[row + 2] = rms > 0 ? peak / rms : 0;
      out[row + 3] = constant ? 0 : (fn * c4) / (c2 * c2);
      out[row + 4] = constant ? 0 : bestK * this.#binHz;
    }
    return out.subarray(0, frames * width);
  }
}
