/**
 * The plain-TypeScript adaptive detector: the specification of `process` in
 * `assembly/adaptive.ts`, with the same update order and the same floating-point operations,
 * so the two agree bit for bit (tests/unit/adaptive_kernel_test.ts). It is the WASM kernel's
 * differential-test partner and benchmark baseline, and it runs anywhere.
 *
 * The algorithm is the study's (docs/detector.md, "Algorithm" and "Alarm-state
 * policy") with only its chosen defaults' mechanisms
 * (see adaptive_types.ts for what was left out). Per stream, for a value x at time t, with n
 * the values seen before it and a(h) = max(gain(h), 1/(n+1)) (the warm start: early on an EWMA
 * is the running mean); every clip is ±clipK·σ once warm (n ≥ warmup) and none before, since
 * a scale that starts at zero must be free to grow:
 *
 * 1. Season. A daily profile of B bins and a weekly one of 7·B (Monday 00:00 UTC first) hold
 *    the deviation x − ℓs per bin; the active one's bin value (0 for an unvisited bin) is s,
 *    and y = x − s. Each is switched on by online model selection on the one-step error: the
 *    EWMAs E0, ED, EW of the squared clipped errors of "no season", "daily", "weekly"; daily
 *    after 2 days if ED < seasonGain·E0, weekly after 14 days if EW < seasonGain·(the other).
 * 2. Floor = max(quantumFloor·q, 1e-6·|ℓs|, 1e-12), q the smallest non-zero step seen, so a
 *    quantised channel's scale cannot collapse to 0; σ = max(1.2533·MAD, floor).
 * 3. Scores, before learning from x, 0 while warming up: spike |y − ℓf| / σf / zSpike, shift
 *    |ℓm − ℓs| / σd / zShift (an EWMA chart normalised by the difference's own size, so a
 *    wandering channel does not alarm on its drift); the score is their max, 1 the threshold.
 * 4. Learning, also while in alarm, but winsorised, so an anomaly moves a level by at most
 *    a·clipK·σ: fast ℓf (clipped), mid ℓm (not clipped), slow ℓs (clipped), the MADs of the
 *    clipped fast and slow residuals and of ℓm − ℓs, then the season (with dev = x − ℓs).
 * 5. Alarm: raised after onDelay readings in a row with score ≥ 1, cleared after offDelay in
 *    a row with score < clearLevel; after acceptAfter readings in alarm the new level is
 *    accepted instead (ℓs ← ℓm, MADs ← max(MADs, MADf)) and the alarm clears (ACCEPTED).
 *
 * A missing value (NaN, ±Infinity) changes no state. The WASM kernel keeps the same fields in
 * one block per stream; here they are one typed array per field.
 * @module
 */
import { checkBatch, checkStreamId } from "../rolling/kernel_options.ts";
import {
  ADAPTIVE_FLAG as FLAG,
  type AdaptiveDetector,
  type AdaptiveInput,
  type AdaptiveOptions,
  type AdaptiveOutput,
  checkReadings,
  DAY_MS,
  halfLifeGain,
  resolveAdaptiveOptions,
  type ResolvedAdaptiveOptions,
} from "./adaptive_types.ts";

const MAD_TO_SIGMA = 1.2533141373155; // sqrt(pi/2): E|N(0, s)| = s·sqrt(2/pi)

/** Clamps `v` to ±k (k = Infinity: unchanged). */
const clip = (v: number, k: number) => (v > k ? k : v < -k ? -k : v);

/**
 * Bin of time `t` in a period of `bins` bins of `binMs`: the phase t - floor(t/P)·P, corrected
 * by one period when the quotient rounded across an integer (exactly t mod P for |t| < 2^53,
 * as the prototype's `((t % P) + P) % P`), then its bin, clamped so any finite t is in range.
 */
function binOf(t: number, binMs: number, bins: number): number {
  const period = binMs * bins;
  let pos = t - Math.floor(t / period) * period;
  pos = pos < 0 ? pos + period : pos >= period ? pos - period : pos;
  const b = Math.floor(pos / binMs);
  return b >= bins ? bins - 1 : b > 0 ? b : 0;
}

/**
 * The adaptive detector in TypeScript over typed arrays, allocated once.
 *
 * @example
 * ```ts
 * const d = new ReferenceAdaptiveDetector({ maxStreams: 8 });
 * const out = d.process({ stream, time, value }, n); // views, valid until the next call
 * if (out.flags[0]! & ADAPTIVE_FLAG.RAISE) console.log("raised", out.score[0]);
 * ```
 */
export class ReferenceAdaptiveDetector implements AdaptiveDetector {
  readonly options: ResolvedAdaptiveOptions;
  readonly #gF: number;
  readonly #gM: number;
  readonly #gS: number;
  readonly #gScale: number;
  readonly #bins: number; // 0: seasonality off
  readonly #binMs: number;
  // Per-stream fields (the WASM block's, same names).
  readonly #n: Float64Array;
  readonly #lf: Float64Array;
  readonly #lm: Float64Array;
  readonly #ls: Float64Array;
  readonly #madF: Float64Array;
  readonly #madS: Float64Array;
  readonly #madD: Float64Array;
  readonly #quantum: Float64Array;
  readonly #prevX: Float64Array;
  readonly #e0: Float64Array;
  readonly #eD: Float64Array;
  readonly #eW: Float64Array;
  readonly #t0: Float64Array;
  readonly #on: Float64Array;
  readonly #off: Float64Array;
  readonly #alarmLen: Float64Array;
  readonly #alarm: Uint32Array;
  readonly #mode: Uint32Array;
  // Profiles: deviation and visits per (stream, bin); daily B bins, weekly 7·B.
  readonly #sD: Float64Array;
  readonly #cD: Float64Array;
  readonly #sW: Float64Array;
  readonly #cW: Float64Array;
  readonly #out: AdaptiveOutput;

  /** Validates the options (a `RangeError` names a bad one) and allocates all state. */
  constructor(options: AdaptiveOptions = {}) {
    const o = this.options = resolveAdaptiveOptions(options);
    this.#gF = halfLifeGain(o.fastHalfLife);
    this.#gM = halfLifeGain(o.midHalfLife);
    this.#gS = halfLifeGain(o.slowHalfLife);
    this.#gScale = halfLifeGain(o.scaleHalfLife);
    const b = this.#bins = o.season === "auto" ? o.seasonBins : 0;
    this.#binMs = b > 0 ? DAY_MS / b : 0;
    const f = () => new Float64Array(o.maxStreams);
    [this.#n, this.#lf, this.#lm, this.#ls, this.#madF, this.#madS] = [
      f(),
      f(),
      f(),
      f(),
      f(),
      f(),
    ];
    [this.#madD, this.#quantum, this.#prevX, this.#e0, this.#eD] = [f(), f(), f(), f(), f()];
    [this.#eW, this.#t0, this.#on, this.#off, this.#alarmLen] = [f(), f(), f(), f(), f()];
    this.#alarm = new Uint32Array(o.maxStreams);
    this.#mode = new Uint32Array(o.maxStreams);
    this.#sD = new Float64Array(o.maxStreams * b);
    this.#cD = new Float64Array(o.maxStreams * b);
    this.#sW = new Float64Array(o.maxStreams * 7 * b);
    this.#cW = new Float64Array(o.maxStreams * 7 * b);
    this.#quantum.fill(Infinity);
    const cap = o.batchCapacity;
    this.#out = {
      score: new Float64Array(cap),
      level: new Float64Array(cap),
      scale: new Float64Array(cap),
      flags: new Uint32Array(cap),
    };
  }

  /** Model reset: the stream starts over as if it had never been seen. */
  resetStream(stream: number): void {
    const s = checkStreamId(stream, this.options.maxStreams);
    for (const a of [this.#n, this.#lf, this.#lm, this.#ls, this.#madF, this.#madS, this.#madD]) {
      a[s] = 0;
    }
    for (const a of [this.#prevX, this.#e0, this.#eD, this.#eW, this.#t0, this.#on, this.#off]) {
      a[s] = 0;
    }
    this.#alarmLen[s] = this.#alarm[s] = this.#mode[s] = 0;
    this.#quantum[s] = Infinity;
    const b = this.#bins;
    this.#sD.fill(0, s * b, (s + 1) * b);
    this.#cD.fill(0, s * b, (s + 1) * b);
    this.#sW.fill(0, s * 7 * b, (s + 1) * 7 * b);
    this.#cW.fill(0, s * 7 * b, (s + 1) * 7 * b);
  }

  /** See {@linkcode AdaptiveDetector.process}; the result's arrays are views of length n. */
  process(input: AdaptiveInput, n: number): AdaptiveOutput {
    checkBatch(input, n, this.options.batchCapacity);
    checkReadings(input, n, this.options.maxStreams);
    const out = this.#out;
    for (let i = 0; i < n; i++) {
      this.#step(input.stream[i]!, input.time[i]!, input.value[i]!, i);
    }
    return {
      score: out.score.subarray(0, n),
      level: out.level.subarray(0, n),
      scale: out.scale.subarray(0, n),
      flags: out.flags.subarray(0, n),
    };
  }

  /** One reading of stream `s`: writes output entry `i`. */
  #step(s: number, t: number, x: number, i: number): void {
    const o = this.options;
    const out = this.#out;
    const cnt = this.#n[s]!;
    const warm = cnt >= o.warmup;
    let flags = warm ? 0 : FLAG.WARMING_UP;

    let seas = 0, sd = 0, sw = 0, iD = 0, iW = 0;
    const B = this.#bins;
    if (B > 0) {
      const mode = this.#mode[s]!;
      iD = s * B + binOf(t, this.#binMs, B);
      // The epoch was a Thursday: + 3 days puts Monday 00:00 UTC at the week's start.
      iW = s * 7 * B + binOf(t + 3 * DAY_MS, this.#binMs, 7 * B);
      sd = this.#cD[iD]! > 0 ? this.#sD[iD]! : 0;
      sw = this.#cW[iW]! > 0 ? this.#sW[iW]! : 0;
      seas = mode === 1 ? sd : mode === 2 ? sw : 0;
      flags |= mode === 1 ? FLAG.SEASONAL_DAILY : mode === 2 ? FLAG.SEASONAL_WEEKLY : 0;
    }

    let score = 0, level: number, scale: number;
    if (!Number.isFinite(x) || cnt === 0) {
      // A missing reading changes nothing; a stream's first value only anchors the levels.
      if (Number.isFinite(x)) {
        this.#lf[s] =
          this.#ls[s] =
          this.#lm[s] =
          this.#prevX[s] =
            x;
        this.#t0[s] = t;
        this.#n[s] = 1;
        level = x;
        scale = 0;
      } else if (cnt === 0) {
        level = scale = NaN;
      } else {
        level = seas + this.#lf[s]!;
        scale = Math.max(MAD_TO_SIGMA * this.#madF[s]!, this.#floor(s));
      }
      flags |= this.#alarm[s]!;
    } else {
      const dx = Math.abs(x - this.#prevX[s]!);
      if (dx > 0 && dx < this.#quantum[s]!) this.#quantum[s] = dx;
      this.#prevX[s] = x;
      const floor = this.#floor(s);

      // Scores, before learning from x.
      const lf = this.#lf[s]!;
      let ls = this.#ls[s]!, lm = this.#lm[s]!;
      const madF = this.#madF[s]!, madS = this.#madS[s]!, madD = this.#madD[s]!;
      const sF = Math.max(MAD_TO_SIGMA * madF, floor);
      const sS = Math.max(MAD_TO_SIGMA * madS, floor);
      const r1 = x - seas - lf;
      const r2 = x - seas - ls;
      if (warm) {
        const shiftS = Math.abs(lm - ls) / Math.max(MAD_TO_SIGMA * madD, floor) / o.zShift;
        if (shiftS > score) score = shiftS;
        const spikeS = Math.abs(r1 / sF) / o.zSpike;
        if (spikeS > score) score = spikeS;
      }
      level = seas + lf;
      scale = sF;

      // Learning: winsorised EWMAs (once warm) with the warm-start gain 1/(n+1).
      const inv = 1 / (cnt + 1);
      const aF = this.#gF > inv ? this.#gF : inv;
      const aS = this.#gS > inv ? this.#gS : inv;
      const aSc = this.#gScale > inv ? this.#gScale : inv;
      const aM = this.#gM > inv ? this.#gM : inv;
      const kc = warm ? o.clipK : Infinity;
      const r1c = clip(r1, kc * sF);
      this.#lf[s] = lf + aF * r1c;
      this.#madF[s] = madF + aSc * (Math.abs(r1c) - madF);
      this.#lm[s] = lm += aM * (x - seas - lm);
      const r2c = clip(r2, kc * sS);
      this.#ls[s] = ls += aS * r2c;
      this.#madS[s] = madS + aSc * (Math.abs(r2c) - madS);
      const cD = kc * Math.max(MAD_TO_SIGMA * madD, floor);
      this.#madD[s] = madD + aSc * (Math.min(Math.abs(lm - ls), cD) - madD);
      if (B > 0) this.#learnSeason(s, iD, iW, x - ls, sd, sw, kc * sS, t - this.#t0[s]!);
      this.#n[s] = cnt + 1;
      flags |= this.#stepAlarm(s, score, warm) | this.#alarm[s]!;
    }
    out.score[i] = score;
    out.level[i] = level;
    out.scale[i] = scale;
    out.flags[i] = flags;
  }

  /** The scale floor of stream `s`: its resolution, or a relative/absolute epsilon. */
  #floor(s: number): number {
    const q = this.#quantum[s]!;
    const qf = this.options.quantumFloor * (q === Infinity ? 0 : q);
    return Math.max(Math.max(qf, 1e-6 * Math.abs(this.#ls[s]!)), 1e-12);
  }

  /** Step 1's learning: errors of the three predictors, the two profiles, the choice. */
  #learnSeason(
    s: number,
    iD: number,
    iW: number,
    dev: number,
    sd: number,
    sw: number,
    clipAt: number,
    elapsed: number,
  ): void {
    const e0 = clip(dev, clipAt), eD = clip(dev - sd, clipAt), eW = clip(dev - sw, clipAt);
    const aE = this.#gS; // the plain gain: no warm start for the error EWMAs
    const v0 = this.#e0[s] = this.#e0[s]! + aE * (e0 * e0 - this.#e0[s]!);
    const vD = this.#eD[s] = this.#eD[s]! + aE * (eD * eD - this.#eD[s]!);
    const vW = this.#eW[s] = this.#eW[s]! + aE * (eW * eW - this.#eW[s]!);
    // A bin's first visit takes the deviation; later ones move it by at least seasonVisitGain.
    const g = this.options.seasonVisitGain;
    const cD = this.#cD[iD]!, cW = this.#cW[iW]!;
    const a1 = Math.max(g, 1 / (cD + 1));
    this.#sD[iD] = this.#sD[iD]! + a1 * (dev - this.#sD[iD]!);
    this.#cD[iD] = cD + 1;
    const a2 = Math.max(g, 1 / (cW + 1));
    this.#sW[iW] = this.#sW[iW]! + a2 * (dev - this.#sW[iW]!);
    this.#cW[iW] = cW + 1;
    const gain = this.options.seasonGain;
    let m = 0;
    if (elapsed >= 2 * DAY_MS && vD < gain * v0) m = 1;
    if (elapsed >= 14 * DAY_MS && vW < gain * (m === 1 ? vD : v0)) m = 2;
    this.#mode[s] = m;
  }

  /** Step 5: the alarm state machine; returns the edge bits (RAISE, CLEAR, ACCEPTED). */
  #stepAlarm(s: number, sc: number, warm: boolean): number {
    const o = this.options;
    if (this.#alarm[s] === 0) {
      const on = this.#on[s] = warm && sc >= 1 ? this.#on[s]! + 1 : 0;
      if (on < o.onDelay) return 0;
      this.#alarm[s] = 1;
      this.#off[s] = this.#alarmLen[s] = 0;
      return FLAG.RAISE;
    }
    const len = this.#alarmLen[s] = this.#alarmLen[s]! + 1;
    const off = this.#off[s] = sc < o.clearLevel ? this.#off[s]! + 1 : 0;
    let edges: number;
    if (off >= o.offDelay) {
      edges = FLAG.CLEAR;
    } else if (o.acceptAfter > 0 && len >= o.acceptAfter) {
      // The shift is the new normal: re-anchor the slow level on the mid one.
      this.#ls[s] = this.#lm[s]!;
      this.#madS[s] = Math.max(this.#madS[s]!, this.#madF[s]!);
      edges = FLAG.CLEAR | FLAG.ACCEPTED;
    } else {
      return 0;
    }
    this.#alarm[s] = 0;
    this.#on[s] = 0;
    return edges;
  }
}
