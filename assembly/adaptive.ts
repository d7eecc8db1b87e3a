/**
 * Vigil's adaptive detector (AssemblyScript, compiled to build/wasm/adaptive.wasm by
 * tools/build_wasm.ts). The algorithm is the lab's (/work/lab/detect/REPORT.md, prototype
 * detector.ts) restricted to its chosen defaults' mechanisms; the contract is
 * engine/kernels/adaptive/adaptive_types.ts and the specification, with every step explained,
 * is engine/kernels/adaptive/adaptive_reference.ts: the same floating-point operations in the
 * same order, so the two agree bit for bit (tests/unit/adaptive_kernel_test.ts asserts it).
 * Change one, change the other.
 *
 * Shape: flat exported functions over numbers; `configure` allocates everything once
 * (assembly/lib/memory.ts); `process(n)` checks its arguments once, then runs one pass over
 * the batch with `load`/`store` only: no allocation, no calls out. The gains come from the
 * host, so both twins share one `Math.pow` (this module's need not round like V8's).
 *
 * Memory: the batch arrays (stream ids i32, times f64, values f64; score, level, scale f64,
 * flags u32; staggered modulo 4 KiB), then one block of `stride` bytes per stream, so that a
 * reading touches one block: 192 bytes of fields (offsets below), then, when seasonality is
 * on, the daily profile (B bins) and the weekly one (7·B bins), each bin an f64 pair
 * (deviation, visits) so that one cache line serves both. No rings: nothing needs a power of
 * two.
 */
import {
  allocate,
  beginConfigure,
  checkArgument,
  checkConfigured,
  place,
  placeStaggered,
  region,
} from "./lib/memory";

export { ptr, testGrowMemory } from "./lib/memory";

/** The arrays of the layout (engine/kernels/adaptive/adaptive_wasm.ts reads the batch's). */
enum R { IN_STREAM, IN_TIME, IN_VALUE, SCORE, LEVEL, SCALE, FLAGS, STREAMS }

// ---- fields of a stream block (byte offsets; f64 unless marked) ----
const N: usize = 0; // readings seen (missing ones not counted)
const LF: usize = 8, LM: usize = 16, LS: usize = 24; // fast, mid and slow (reference) levels
const MAD_F: usize = 32, MAD_S: usize = 40, MAD_D: usize = 48; // MADs: fast, slow, mid - slow
const QUANTUM: usize = 56; // smallest non-zero step seen (+Infinity before one)
const PREV_X: usize = 64;
const E0: usize = 72, ED: usize = 80, EW: usize = 88; // squared errors: no season, daily, weekly
const T0: usize = 96; // time of the first value
const ON: usize = 104; // readings with score >= 1 in a row (while off)
const OFF: usize = 112; // readings with score < clearLevel in a row (while on)
const ALARM_LEN: usize = 120; // readings since the raise
const ALARM: usize = 128; // u32: 0 off, 1 on (the ALARM flag bit as it is)
const MODE: usize = 132; // u32: 0 none, 1 daily, 2 weekly
const STATE_BYTES: usize = 192;

// ---- flag bits (ADAPTIVE_FLAG in adaptive_types.ts); ALARM is the field, SEASONAL_DAILY and
// SEASONAL_WEEKLY are MODE << 5 ----
const RAISE: u32 = 2;
const CLEAR: u32 = 4;
const ACCEPTED: u32 = 8;
const WARMING_UP: u32 = 16;

const MAX_STREAMS: i32 = 1 << 22;
const MAX_BATCH: i32 = 1 << 22;
const DAY_MS: f64 = 86400000;
const MAD_TO_SIGMA: f64 = 1.2533141373155; // sqrt(pi/2): E|N(0, s)| = s·sqrt(2/pi)

// ---- configuration (set once by configure) ----
let gMaxStreams: i32 = 0;
let gCap: i32 = 0;
let gStride: usize = 0;
let gWarmup: f64 = 0;
let gGainF: f64 = 0, gGainM: f64 = 0, gGainS: f64 = 0, gGainScale: f64 = 0; // half-life gains
let gClipK: f64 = 0, gZSpike: f64 = 0, gZShift: f64 = 0;
let gOnDelay: f64 = 0, gOffDelay: f64 = 0, gClearLevel: f64 = 0, gAcceptAfter: f64 = 0;
let gBins: i32 = 0; // 0: seasonality off
let gBinMs: f64 = 0, gSeasonGain: f64 = 0, gVisitGain: f64 = 0;
let gQuantumFloor: f64 = 0;

@inline function block(s: i32): usize {
  return region(R.STREAMS) + <usize>s * gStride;
}

@inline function clip(v: f64, k: f64): f64 {
  return v > k ? k : v < -k ? -k : v;
}

/** The scale floor: the resolution times quantumFloor (0 before a step is seen), else a
 * relative or an absolute epsilon, so a constant channel's scale is never 0. */
@inline function scaleFloor(q: f64, ls: f64): f64 {
  const qf = gQuantumFloor * (q == Infinity ? 0 : q);
  return Math.max(Math.max(qf, 1e-6 * Math.abs(ls)), 1e-12);
}

/** Forgets everything the stream at `b` learned. */
function clearStream(b: usize): void {
  memory.fill(b, 0, gStride);
  store<f64>(b, Infinity, QUANTUM);
}

/**
 * Allocates the batch arrays and the stream blocks, once, from the options as numbers
 * (engine/kernels/adaptive/adaptive_wasm.ts passes them, validated, in this order; gains are
 * 1 - 2^(-1/half-life); `seasonBins` 0 turns seasonality off). Returns the bytes allocated.
 *
 * @example
 * ```ts
 * configure(4096, 8192, 400, gF, gM, gS, gS, 3, 7, 5, 1, 20, 0.5, 720, 48, 0.7, 0.25, 1);
 * ```
 */
export function configure(
  maxStreams: i32,
  batchCapacity: i32,
  warmup: i32,
  gainFast: f64,
  gainMid: f64,
  gainSlow: f64,
  gainScale: f64,
  clipK: f64,
  zSpike: f64,
  zShift: f64,
  onDelay: i32,
  offDelay: i32,
  clearLevel: f64,
  acceptAfter: i32,
  seasonBins: i32,
  seasonGain: f64,
  seasonVisitGain: f64,
  quantumFloor: f64,
): f64 {
  beginConfigure();
  // The host validated everything (adaptive_types.ts); these guard the layout and the loop.
  checkArgument("maxStreams", maxStreams, 1, MAX_STREAMS);
  checkArgument("batchCapacity", batchCapacity, 1, MAX_BATCH);
  checkArgument("seasonBins", seasonBins, 0, 1440);
  checkArgument("warmup", warmup, 1, Infinity);
  checkArgument("onDelay", onDelay, 1, Infinity);
  checkArgument("offDelay", offDelay, 1, Infinity);
  const cap = <f64>batchCapacity;
  placeStaggered(R.IN_STREAM, 0, cap * 4);
  placeStaggered(R.IN_TIME, 1, cap * 8);
  placeStaggered(R.IN_VALUE, 2, cap * 8);
  placeStaggered(R.SCORE, 3, cap * 8);
  placeStaggered(R.LEVEL, 4, cap * 8);
  placeStaggered(R.SCALE, 5, cap * 8);
  placeStaggered(R.FLAGS, 6, cap * 4);
  const stride = STATE_BYTES + <usize>seasonBins * 8 * 16;
  place(R.STREAMS, <f64>stride * <f64>maxStreams);
  const total = allocate(2147483648.0, "configure: the detector state would exceed 2 GiB");
  gMaxStreams = maxStreams;
  gCap = batchCapacity;
  gStride = stride;
  gWarmup = warmup;
  gGainF = gainFast;
  gGainM = gainMid;
  gGainS = gainSlow;
  gGainScale = gainScale;
  gClipK = clipK;
  gZSpike = zSpike;
  gZShift = zShift;
  gOnDelay = onDelay;
  gOffDelay = offDelay;
  gClearLevel = clearLevel;
  gAcceptAfter = acceptAfter;
  gBins = seasonBins;
  gBinMs = seasonBins > 0 ? DAY_MS / <f64>seasonBins : 0;
  gSeasonGain = seasonGain;
  gVisitGain = seasonVisitGain;
  gQuantumFloor = quantumFloor;
  for (let s: i32 = 0; s < maxStreams; s++) clearStream(block(s));
  return total;
}

/** Model reset: stream `s` starts over as if it had never been seen (`resetStream(12)`). */
export function resetStream(s: i32): void {
  checkConfigured("resetStream");
  assert(<u32>s < <u32>gMaxStreams, "resetStream: stream id out of range");
  clearStream(block(s));
}

/**
 * Bin of time `t` in a period of `bins` bins of `binMs`. The phase t - floor(t/P)·P, corrected
 * when the quotient rounded across an integer, is exactly t mod P for |t| < 2^53, for one
 * division instead of a software fmod; the bin is clamped in f64 (any finite t is in range).
 */
@inline function binOf(t: f64, binMs: f64, bins: i32): i32 {
  const period = binMs * <f64>bins;
  let pos = t - Math.floor(t / period) * period;
  pos = pos < 0 ? pos + period : pos >= period ? pos - period : pos;
  const b = Math.floor(pos / binMs);
  return b >= <f64>bins ? bins - 1 : b > 0 ? <i32>b : 0;
}

/** Learns the season: the three predictors' errors, the two profiles, the choice. */
function learnSeason(
  b: usize,
  pD: usize,
  pW: usize,
  dev: f64,
  sd: f64,
  sw: f64,
  cS: f64,
  elapsed: f64,
): void {
  const e0 = clip(dev, cS);
  const eD = clip(dev - sd, cS);
  const eW = clip(dev - sw, cS);
  const aE = gGainS;
  const v0 = load<f64>(b, E0) + aE * (e0 * e0 - load<f64>(b, E0));
  const vD = load<f64>(b, ED) + aE * (eD * eD - load<f64>(b, ED));
  const vW = load<f64>(b, EW) + aE * (eW * eW - load<f64>(b, EW));
  store<f64>(b, v0, E0);
  store<f64>(b, vD, ED);
  store<f64>(b, vW, EW);
  const g = gVisitGain;
  const cD = load<f64>(pD, 8);
  const a1 = Math.max(g, 1 / (cD + 1));
  store<f64>(pD, load<f64>(pD) + a1 * (dev - load<f64>(pD)));
  store<f64>(pD, cD + 1, 8);
  const cW = load<f64>(pW, 8);
  const a2 = Math.max(g, 1 / (cW + 1));
  store<f64>(pW, load<f64>(pW) + a2 * (dev - load<f64>(pW)));
  store<f64>(pW, cW + 1, 8);
  let m: u32 = 0;
  if (elapsed >= 2 * DAY_MS && vD < gSeasonGain * v0) m = 1;
  if (elapsed >= 14 * DAY_MS && vW < gSeasonGain * (m == 1 ? vD : v0)) m = 2;
  store<u32>(b, m, MODE);
}

/**
 * Steps the alarm state machine of the stream at `b` on this reading's score; returns the
 * edge bits (RAISE, CLEAR, ACCEPTED).
 */
function stepAlarm(b: usize, sc: f64, warm: bool): u32 {
  if (load<u32>(b, ALARM) == 0) {
    const on = warm && sc >= 1 ? load<f64>(b, ON) + 1 : 0;
    store<f64>(b, on, ON);
    if (on < gOnDelay) return 0;
    store<u32>(b, 1, ALARM);
    store<f64>(b, 0, OFF);
    store<f64>(b, 0, ALARM_LEN);
    return RAISE;
  }
  const len = load<f64>(b, ALARM_LEN) + 1;
  store<f64>(b, len, ALARM_LEN);
  const off = sc < gClearLevel ? load<f64>(b, OFF) + 1 : 0;
  store<f64>(b, off, OFF);
  let edges: u32 = 0;
  if (off >= gOffDelay) {
    edges = CLEAR;
  } else if (gAcceptAfter > 0 && len >= gAcceptAfter) {
    // The shift is the new normal: re-anchor the slow level on the mid one.
    store<f64>(b, load<f64>(b, LM), LS);
    store<f64>(b, Math.max(load<f64>(b, MAD_S), load<f64>(b, MAD_F)), MAD_S);
    edges = CLEAR | ACCEPTED;
  } else {
    return 0;
  }
  store<u32>(b, 0, ALARM);
  store<f64>(b, 0, ON);
  return edges;
}

/** Writes output entry `i`. */
@inline function emit(i: i32, score: f64, level: f64, scale: f64, flags: u32): void {
  store<f64>(region(R.SCORE) + (<usize>i << 3), score);
  store<f64>(region(R.LEVEL) + (<usize>i << 3), level);
  store<f64>(region(R.SCALE) + (<usize>i << 3), scale);
  store<u32>(region(R.FLAGS) + (<usize>i << 2), flags);
}

/**
 * Processes readings 0…n-1 of the input arrays in order. Checks every stream id and time
 * first and returns the index of the first bad reading without touching any state, or -1
 * once the whole batch is processed.
 *
 * @example
 * ```ts
 * // host (adaptive_wasm.ts): one `set` per input array at ptr(R.IN_*), then
 * const bad = exports.process(n); // outputs at ptr(R.SCORE … R.FLAGS), entries 0…n-1
 * ```
 */
export function process(n: i32): i32 {
  checkConfigured("process");
  assert(n >= 0 && n <= gCap, "process: n is out of range 0…batchCapacity");
  const inStream = region(R.IN_STREAM);
  const inTime = region(R.IN_TIME);
  const inValue = region(R.IN_VALUE);
  // The one argument check: after it every access below is in bounds by construction, and
  // every time is finite (so its bins are integers in range).
  const maxS = <u32>gMaxStreams;
  for (let i: i32 = 0; i < n; i++) {
    const t = load<f64>(inTime + (<usize>i << 3));
    if (load<u32>(inStream + (<usize>i << 2)) >= maxS || t - t != 0) return i;
  }
  const bins = gBins;
  const binMs = gBinMs;
  const weekly = STATE_BYTES + (<usize>bins << 4);
  const warmup = gWarmup;

  for (let i: i32 = 0; i < n; i++) {
    const i8 = <usize>i << 3;
    const b = block(load<i32>(inStream + (<usize>i << 2)));
    const t = load<f64>(inTime + i8);
    const x = load<f64>(inValue + i8);
    const cnt = load<f64>(b, N);
    const warm = cnt >= warmup;
    let flags: u32 = warm ? 0 : WARMING_UP;

    // Seasonal component: the active profile's deviation at this phase of the day / week.
    let seas: f64 = 0;
    let sd: f64 = 0;
    let sw: f64 = 0;
    let pD: usize = 0;
    let pW: usize = 0;
    if (bins > 0) {
      const mode = load<u32>(b, MODE);
      pD = b + STATE_BYTES + (<usize>binOf(t, binMs, bins) << 4);
      // The epoch was a Thursday: + 3 days puts Monday 00:00 UTC at the week's start.
      pW = b + weekly + (<usize>binOf(t + 3 * DAY_MS, binMs, 7 * bins) << 4);
      sd = load<f64>(pD, 8) > 0 ? load<f64>(pD) : 0;
      sw = load<f64>(pW, 8) > 0 ? load<f64>(pW) : 0;
      seas = mode == 1 ? sd : mode == 2 ? sw : 0;
      flags |= mode << 5;
    }

    let score: f64 = 0;
    let level: f64 = 0;
    let scale: f64 = 0;
    if (x - x != 0 || cnt == 0) {
      // A missing reading changes nothing; a stream's first value only anchors the levels.
      if (x - x == 0) {
        store<f64>(b, x, LF);
        store<f64>(b, x, LS);
        store<f64>(b, x, LM);
        store<f64>(b, x, PREV_X);
        store<f64>(b, t, T0);
        store<f64>(b, 1, N);
        level = x;
        scale = 0;
      } else if (cnt == 0) {
        level = NaN;
        scale = NaN;
      } else {
        level = seas + load<f64>(b, LF);
        const floor = scaleFloor(load<f64>(b, QUANTUM), load<f64>(b, LS));
        scale = Math.max(MAD_TO_SIGMA * load<f64>(b, MAD_F), floor);
      }
      flags |= load<u32>(b, ALARM);
    } else {
      // Resolution: the smallest non-zero step so far floors every scale.
      const dx = Math.abs(x - load<f64>(b, PREV_X));
      let q = load<f64>(b, QUANTUM);
      if (dx > 0 && dx < q) {
        q = dx;
        store<f64>(b, q, QUANTUM);
      }
      store<f64>(b, x, PREV_X);
      let ls = load<f64>(b, LS);
      const floor = scaleFloor(q, ls);

      // Scores, before learning from x.
      let lf = load<f64>(b, LF);
      let lm = load<f64>(b, LM);
      let madF = load<f64>(b, MAD_F);
      let madS = load<f64>(b, MAD_S);
      let madD = load<f64>(b, MAD_D);
      const sF = Math.max(MAD_TO_SIGMA * madF, floor);
      const sS = Math.max(MAD_TO_SIGMA * madS, floor);
      const r1 = x - seas - lf;
      const r2 = x - seas - ls;
      if (warm) {
        const shiftS = Math.abs(lm - ls) / Math.max(MAD_TO_SIGMA * madD, floor) / gZShift;
        if (shiftS > score) score = shiftS;
        const spikeS = Math.abs(r1 / sF) / gZSpike;
        if (spikeS > score) score = spikeS;
      }
      level = seas + lf;
      scale = sF;

      // Learning: winsorised EWMAs (once warm) with the warm-start gain 1/(n+1).
      const inv = 1 / (cnt + 1);
      const aF = gGainF > inv ? gGainF : inv;
      const aS = gGainS > inv ? gGainS : inv;
      const aSc = gGainScale > inv ? gGainScale : inv;
      const aM = gGainM > inv ? gGainM : inv;
      const kc = warm ? gClipK : Infinity;
      const r1c = clip(r1, kc * sF);
      lf += aF * r1c;
      madF += aSc * (Math.abs(r1c) - madF);
      lm += aM * (x - seas - lm);
      const r2c = clip(r2, kc * sS);
      ls += aS * r2c;
      madS += aSc * (Math.abs(r2c) - madS);
      const cD = kc * Math.max(MAD_TO_SIGMA * madD, floor);
      madD += aSc * (Math.min(Math.abs(lm - ls), cD) - madD);
      store<f64>(b, lf, LF);
      store<f64>(b, lm, LM);
      store<f64>(b, ls, LS);
      store<f64>(b, madF, MAD_F);
      store<f64>(b, madS, MAD_S);
      store<f64>(b, madD, MAD_D);
      if (bins > 0) learnSeason(b, pD, pW, x - ls, sd, sw, kc * sS, t - load<f64>(b, T0));
      store<f64>(b, cnt + 1, N);
      flags |= stepAlarm(b, score, warm) | load<u32>(b, ALARM);
    }
    emit(i, score, level, scale, flags);
  }
  return -1;
}
