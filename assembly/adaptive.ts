/**
 * Vigil's adaptive detector (AssemblyScript, compiled to build/wasm/adaptive.wasm by
 * tools/build_wasm.ts). The algorithm is the study's in docs/detector.md, restricted to the
 * mechanisms of its chosen defaults; the contract is
 * engine/kernels/adaptive/adaptive_types.ts and the specification, with every step explained,
 * is engine/kernels/adaptive/adaptive_reference.ts: the same floating-point operations in the
 * same order, so the two agree bit for bit (tests/unit/adaptive_kernel_test.ts asserts it).
 * Change one, change the other.
 *
 * Shape: flat exported functions over numbers; `configure` allocates everything, the stream
 * state for the first 64 streams (it grows later, below; assembly/lib/memory.ts); `process(n)`
 * checks its arguments once (and grows the stream state), then runs one pass over the batch with
 * `load`/`store` only: no allocation, no calls out. The gains come from the host, so both twins
 * share one `Math.pow` (this module's need not round like V8's).
 *
 * Memory: the batch arrays (stream ids i32, times f64, values f64; score, level, scale f64,
 * flags u32; staggered modulo 4 KiB), then one block of 128 bytes of fields per stream (offsets
 * below), then, when seasonality is on, the profiles bin-major: 8·B rows (the daily profile's B
 * bins, then the weekly one's 7·B), each row one (deviation, visits) f64 pair per stream, so
 * that one access serves both. Room for 64 streams at first, doubled (up to maxStreams) when a
 * stream id passes it: `growStreams` extends the region and moves each profile row to its
 * wider place (the last row first, so no row is overwritten before it moved). Why bin-major: streams that report at about the same time of day
 * (a live plant, a replay) are all in the same two bins, so the profile bins in use are two
 * dense rows (16 bytes a stream) instead of two cache lines scattered over 6 KiB per stream;
 * with 1,000 streams the hot state went from ~6 MB of spread blocks (beyond the cache, one TLB
 * page per bin) to 128 KB of fields + 32 KB of bins. No rings: nothing needs a power of two.
 * Past 400 lines because the loop and its exactness arguments (binsOf, steadyFrom) belong
 * together with the layout they rely on.
 */
import {
  allocate,
  beginConfigure,
  checkArgument,
  growLayout,
  moveArray,
  offsetOf,
  checkConfigured,
  place,
  placeStaggered,
  region,
} from "./lib/memory";

export { ptr, testGrowMemory } from "./lib/memory";

/** The arrays of the layout (engine/kernels/adaptive/adaptive_wasm.ts reads the batch's). */
enum R { IN_STREAM, IN_TIME, IN_VALUE, SCORE, LEVEL, SCALE, FLAGS, STREAMS, PROFILES }

// ---- fields of a stream block (byte offsets; f64 unless marked): 128 bytes, two cache lines
// that the adjacent-line prefetcher fetches together (the stride is a multiple of 128) ----
const N: usize = 0; // readings seen (missing ones not counted)
const LF: usize = 8, LM: usize = 16, LS: usize = 24; // fast, mid and slow (reference) levels
const MAD_F: usize = 32, MAD_S: usize = 40, MAD_D: usize = 48; // MADs: fast, slow, mid - slow
const QUANTUM: usize = 56; // smallest non-zero step seen (+Infinity before one)
const PREV_X: usize = 64;
const E0: usize = 72, ED: usize = 80, EW: usize = 88; // squared errors: no season, daily, weekly
const T0: usize = 96; // time of the first value
const BIN_START: usize = 104; // first ms of the cached weekly bin (NaN: none), see binsOf
// u32: readings with score >= 1 in a row while off (ON), < clearLevel in a row while on (OFF).
// One slot for both: each is read only in its own state and zeroed on entering it; bounded by
// onDelay / offDelay.
const RUN: usize = 112;
const ALARM_LEN: usize = 116; // u32: readings since the raise (<= acceptAfter when it is > 0)
const BINS: usize = 120; // u32: the cached bins, (weekly << 16) | daily
const ALARM: usize = 124; // u8: 0 off, 1 on (the ALARM flag bit as it is)
const MODE: usize = 125; // u8: 0 none, 1 daily, 2 weekly
const STATE_BYTES: usize = 128;

// ---- flag bits (ADAPTIVE_FLAG in adaptive_types.ts); ALARM is the field, SEASONAL_DAILY and
// SEASONAL_WEEKLY are MODE << 5 ----
const RAISE: u32 = 2;
const CLEAR: u32 = 4;
const ACCEPTED: u32 = 8;
const WARMING_UP: u32 = 16;

const MAX_STREAMS: i32 = 1 << 22;
const MAX_BATCH: i32 = 1 << 22;
/** Streams the first allocation holds; growStreams doubles from there. */
const INITIAL_STREAMS: i32 = 64;
const DAY_MS: f64 = 86400000;
const MAD_TO_SIGMA: f64 = 1.2533141373155; // sqrt(pi/2): E|N(0, s)| = s·sqrt(2/pi)

// ---- configuration (set once by configure) ----
let gMaxStreams: i32 = 0;
let gCap: i32 = 0;
let gStride: usize = 0;
let gStreamCap: i32 = 0; // streams allocated so far (a power of two, or maxStreams)
let gRow: usize = 0; // bytes of one profile row: gStreamCap (deviation, visits) pairs
let gWarmup: f64 = 0;
let gGainF: f64 = 0, gGainM: f64 = 0, gGainS: f64 = 0, gGainScale: f64 = 0; // half-life gains
let gClipK: f64 = 0, gZSpike: f64 = 0, gZShift: f64 = 0;
let gOnDelay: u32 = 0, gOffDelay: u32 = 0, gClearLevel: f64 = 0, gAcceptAfter: f64 = 0;
let gBins: i32 = 0; // 0: seasonality off
let gBinMs: f64 = 0, gSeasonGain: f64 = 0, gVisitGain: f64 = 0;
let gQuantumFloor: f64 = 0;
// From these counts on, the warm-start gains max(gain, 1/(n+1)) are the gains themselves (see
// steadyFrom): the division is skipped, the result is the same.
let gSteadyN: f64 = 0, gSteadyVisits: f64 = 0;

/**
 * One byte per profile row (8 · seasonBins of them, at most 8 · 1,440), set when a reading's
 * bins are that row's: a row not marked holds only zeros. `growStreams` and `clearStream`
 * neither read nor write the rows never visited: zeroing them made 6 MiB resident at the
 * doubling to 2,048 streams (and reading them does too, on a kernel without a shared zero page).
 */
const VISITED: usize = memory.data(8 * 1440);

/** Integer times below this (in magnitude) take the exact bin arithmetic of binsOf. */
const EXACT_T: f64 = 4503599627370496; // 2^52

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

/**
 * The smallest count c such that max(g, 1/(n+1)) is exactly g for every count n >= c
 * (Infinity when there is none in range). 1/(n+1) is correctly rounded, so it never rises as
 * n grows: once it is <= g it stays so, and max returns g (or an equal value).
 */
function steadyFrom(g: f64): f64 {
  if (!(g > 0)) return Infinity;
  let c = Math.ceil(1 / g);
  if (!(c < EXACT_T)) return Infinity;
  while (1 / (c + 1) > g) c++;
  while (c > 0 && 1 / c <= g) c--;
  return c;
}

/** Stream `s`'s fields as they start (its profile columns are clearStream's). */
function clearFields(s: i32): void {
  const b = block(s);
  memory.fill(b, 0, gStride);
  store<f64>(b, Infinity, QUANTUM);
  store<f64>(b, NaN, BIN_START);
}

/** Forgets everything stream `s` learned: its fields and its column of every profile row
 * visited (a row never visited is zero already, and is left untouched: not made resident). */
function clearStream(s: i32): void {
  clearFields(s);
  const rows = <usize>gBins * 8;
  const column = region(R.PROFILES) + (<usize>s << 4);
  for (let k: usize = 0; k < rows; k++) {
    if (load<u8>(VISITED + k) != 0) v128.store(column + k * gRow, f64x2.splat(0));
  }
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
  // binsOf's exact arithmetic needs whole-millisecond bins (the contract requires them).
  assert(seasonBins == 0 || 86400000 % seasonBins == 0, "configure: seasonBins must divide a day");
  const cap = <f64>batchCapacity;
  placeStaggered(R.IN_STREAM, 0, cap * 4);
  placeStaggered(R.IN_TIME, 1, cap * 8);
  placeStaggered(R.IN_VALUE, 2, cap * 8);
  placeStaggered(R.SCORE, 3, cap * 8);
  placeStaggered(R.LEVEL, 4, cap * 8);
  placeStaggered(R.SCALE, 5, cap * 8);
  placeStaggered(R.FLAGS, 6, cap * 4);
  const stride = STATE_BYTES;
  const streamCap = min(maxStreams, INITIAL_STREAMS);
  place(R.STREAMS, <f64>stride * <f64>streamCap);
  const row = <usize>streamCap << 4;
  place(R.PROFILES, <f64>row * 8 * <f64>seasonBins);
  const total = allocate(2147483648.0, "configure: the detector state would exceed 2 GiB");
  gMaxStreams = maxStreams;
  gCap = batchCapacity;
  gStride = stride;
  gRow = row;
  gStreamCap = streamCap;
  gWarmup = warmup;
  gGainF = gainFast;
  gGainM = gainMid;
  gGainS = gainSlow;
  gGainScale = gainScale;
  gClipK = clipK;
  gZSpike = zSpike;
  gZShift = zShift;
  gOnDelay = <u32>onDelay;
  gOffDelay = <u32>offDelay;
  gClearLevel = clearLevel;
  gAcceptAfter = acceptAfter;
  gBins = seasonBins;
  gBinMs = seasonBins > 0 ? DAY_MS / <f64>seasonBins : 0;
  gSeasonGain = seasonGain;
  gVisitGain = seasonVisitGain;
  gQuantumFloor = quantumFloor;
  gSteadyN = Math.max(
    Math.max(steadyFrom(gainFast), steadyFrom(gainMid)),
    Math.max(steadyFrom(gainSlow), steadyFrom(gainScale)),
  );
  gSteadyVisits = steadyFrom(seasonVisitGain);
  memory.fill(VISITED, 0, 8 * 1440);
  for (let s: i32 = 0; s < streamCap; s++) clearStream(s);
  return total;
}

/**
 * Room for stream ids `0 … need-1` (need <= maxStreams): the next power of two (at most
 * maxStreams) stream blocks and profile columns, the new ones fresh. The stream blocks keep
 * their place; the profiles, last, move up to make room for the new blocks and each row widens
 * to the new column count: rows are moved last first, since each row's new place is at or
 * after its old one and before the old places of the rows after it.
 */
function growStreams(need: i32): void {
  if (need <= gStreamCap) return;
  const old = gStreamCap;
  const cap = min(gMaxStreams, <i32>(need <= 1 ? 1 : (<u32>1) << (32 - clz<u32>(<u32>need - 1))));
  const oldRow = gRow;
  const row = <usize>cap << 4;
  const rows = <usize>gBins * 8;
  const at = Math.ceil((offsetOf(R.STREAMS) + <f64>gStride * <f64>cap) / 64) * 64;
  growLayout(
    at + <f64>row * <f64>rows,
    2147483648.0,
    "growStreams: the detector state would exceed 2 GiB",
  );
  // growLayout may have moved the whole region: addresses are read after it.
  const from = region(R.PROFILES);
  moveArray(R.PROFILES, at);
  const to = region(R.PROFILES);
  // A row never visited (all but the bins of the hours the data covers: a replay of half an
  // hour visits two of the 384) is all zero: it is neither read nor copied, so its pages are
  // never touched and never become resident (12 MiB at 2,048 streams). A row's new place lies
  // over the old places of itself and of rows after it (moved already): of those only the
  // visited ones can hold anything but zeros, so only their bytes there are zeroed.
  for (let k = rows; k > 0; k--) {
    const dst = to + (k - 1) * row;
    let stale = dst;
    if (load<u8>(VISITED + k - 1) != 0) {
      memory.copy(dst, from + (k - 1) * oldRow, oldRow);
      stale = dst + oldRow;
    }
    zeroVisited(stale, dst + row, from, oldRow, rows);
  }
  gRow = row;
  gStreamCap = cap;
  // The new blocks overlap the old profile rows: clearFields resets them; their profile columns
  // are zero from the loop above.
  for (let s: i32 = old; s < cap; s++) clearFields(s);
}

/**
 * Zeroes the bytes of [a, b) that lie in the old place of a visited row (old rows of
 * `oldRow` bytes from `from`, `rows` of them; a >= from). Past the old rows every byte is zero
 * already (growLayout), and so is the old place of a row never visited.
 */
function zeroVisited(a: usize, b: usize, from: usize, oldRow: usize, rows: usize): void {
  for (let i = (a - from) / oldRow; i < rows; i++) {
    const start = from + i * oldRow;
    if (start >= b) break;
    if (load<u8>(VISITED + i) == 0) continue;
    const lo = max(a, start);
    const hi = min(b, start + oldRow);
    if (lo < hi) memory.fill(lo, 0, hi - lo);
  }
}

/** Streams allocated so far (tests: the memory follows the streams in use). */
export function streamCapacity(): i32 {
  return gStreamCap;
}

/** Model reset: stream `s` starts over as if it had never been seen (`resetStream(12)`). */
export function resetStream(s: i32): void {
  checkConfigured("resetStream");
  assert(<u32>s < <u32>gMaxStreams, "resetStream: stream id out of range");
  // A stream past the capacity has never been seen: it starts fresh when it is allocated.
  if (s < gStreamCap) clearStream(s);
}

/**
 * Bin of time `t` in a period of `bins` bins of `binMs`. The phase t - floor(t/P)·P, corrected
 * when the quotient rounded across an integer, is exactly t mod P for |t| < 2^53, for one
 * division instead of a software fmod; the bin is clamped in f64 (any finite t is in range).
 * Returns the bin; the phase is left in `gPhase` (binsOf caches from it).
 */
let gPhase: f64 = 0;
@inline function binOf(t: f64, binMs: f64, bins: i32): i32 {
  const period = binMs * <f64>bins;
  let pos = t - Math.floor(t / period) * period;
  pos = pos < 0 ? pos + period : pos >= period ? pos - period : pos;
  gPhase = pos;
  const b = Math.floor(pos / binMs);
  return b >= <f64>bins ? bins - 1 : b > 0 ? <i32>b : 0;
}

/**
 * The daily and weekly bins of time `t` for the stream at `b`, as (weekly << 16) | daily:
 * binOf's, four divisions, unless `t` falls in the stream's cached weekly bin or the next one.
 *
 * Why the cache gives binOf's answer: for an integer t with |t| < 2^52 and whole-millisecond
 * bins, every step of binOf is exact (t + 3 days, the quotient's multiple of the period and
 * the phase are integers below 2^53; the phase / binMs is at least 1/binMs from the next
 * integer, far more than its rounding), so binOf returns the mathematical bins. Mathematically
 * the weekly bin is constant on [start, start + binMs) with start = t - (phase mod binMs), and
 * a weekly bin lies inside one day (a day is a whole number of bins), whose daily bin is the
 * same for all of it. So an integer t in a cached interval has the cached bins; any other t
 * takes binOf. The next interval, [start + binMs, start + 2·binMs) (exact: integers below
 * 2^53), is weekly bin (w + 1) mod 7·B, and its daily bin (d + 1) mod B, because a weekly bin's
 * daily bin is its index mod B (a week is 7 whole days of B bins, both aligned on the epoch's
 * days); the cache then moves to it. Readings a few minutes apart with bins of 30 minutes hit
 * one of the two nearly always (measured: the bin arithmetic was ~40 % of the detector's time
 * on 10-minute readings with the cached bin alone).
 */
@inline function binsOf(b: usize, t: f64, binMs: f64, bins: i32): u32 {
  const start = load<f64>(b, BIN_START);
  if (t >= start && t < start + 2 * binMs && t == Math.floor(t) && Math.abs(t) < EXACT_T) {
    // In the cached bin or the next one, branch-free: a stream's next reading is nearly always
    // in one of the two, and which one is random reading to reading.
    const next = <u32>(t >= start + binMs);
    const cached = load<u32>(b, BINS);
    const w = (cached >>> 16) + next;
    const d = (cached & 0xffff) + next;
    const wd = (select<u32>(0, w, w == 7 * <u32>bins) << 16) | select<u32>(0, d, d == <u32>bins);
    store<f64>(b, start + <f64>next * binMs, BIN_START);
    store<u32>(b, wd, BINS);
    return wd;
  }
  const d = binOf(t, binMs, bins);
  // The epoch was a Thursday: + 3 days puts Monday 00:00 UTC at the week's start.
  const w = binOf(t + 3 * DAY_MS, binMs, 7 * bins);
  const wd = (<u32>w << 16) | <u32>d;
  if (t == Math.floor(t) && Math.abs(t) < EXACT_T) {
    store<f64>(b, t - (gPhase - <f64>w * binMs), BIN_START);
    store<u32>(b, wd, BINS);
  }
  return wd;
}

/** The gain of a profile bin visited `c` times before: max(g, 1/(c+1)). */
@inline function visitGain(c: f64): f64 {
  return c >= gSteadyVisits ? gVisitGain : Math.max(gVisitGain, 1 / (c + 1));
}

/** Learns the season: the three predictors' errors, the two profiles (bins at pD and pW,
 * loaded by the caller: deviation and visits), the choice. */
@inline function learnSeason(
  b: usize,
  pD: usize,
  pW: usize,
  dev: f64,
  devD: f64,
  cD: f64,
  devW: f64,
  cW: f64,
  cS: f64,
  elapsed: f64,
): void {
  const sd = cD > 0 ? devD : 0;
  const sw = cW > 0 ? devW : 0;
  const e0 = clip(dev, cS);
  const eD = clip(dev - sd, cS);
  const eW = clip(dev - sw, cS);
  const aE = gGainS;
  const p0 = load<f64>(b, E0), pd = load<f64>(b, ED), pw = load<f64>(b, EW);
  const v0 = p0 + aE * (e0 * e0 - p0);
  const vD = pd + aE * (eD * eD - pd);
  const vW = pw + aE * (eW * eW - pw);
  store<f64>(b, v0, E0);
  store<f64>(b, vD, ED);
  store<f64>(b, vW, EW);
  store<f64>(pD, devD + visitGain(cD) * (dev - devD));
  store<f64>(pD, cD + 1, 8);
  store<f64>(pW, devW + visitGain(cW) * (dev - devW));
  store<f64>(pW, cW + 1, 8);
  let m: u8 = 0;
  if (elapsed >= 2 * DAY_MS && vD < gSeasonGain * v0) m = 1;
  if (elapsed >= 14 * DAY_MS && vW < gSeasonGain * (m == 1 ? vD : v0)) m = 2;
  store<u8>(b, m, MODE);
}

/**
 * Steps the alarm state machine of the stream at `b` on this reading's score; returns the
 * edge bits (RAISE, CLEAR, ACCEPTED).
 */
@inline function stepAlarm(b: usize, sc: f64, warm: bool): u32 {
  if (load<u8>(b, ALARM) == 0) {
    const on: u32 = warm && sc >= 1 ? load<u32>(b, RUN) + 1 : 0;
    store<u32>(b, on, RUN);
    if (on < gOnDelay) return 0;
    store<u8>(b, 1, ALARM);
    store<u32>(b, 0, RUN); // now OFF
    store<u32>(b, 0, ALARM_LEN);
    return RAISE;
  }
  const len = load<u32>(b, ALARM_LEN) + 1;
  store<u32>(b, len, ALARM_LEN);
  const off: u32 = sc < gClearLevel ? load<u32>(b, RUN) + 1 : 0;
  store<u32>(b, off, RUN);
  let edges: u32 = 0;
  if (off >= gOffDelay) {
    edges = CLEAR;
  } else if (gAcceptAfter > 0 && <f64>len >= gAcceptAfter) {
    // The shift is the new normal: re-anchor the slow level on the mid one.
    store<f64>(b, load<f64>(b, LM), LS);
    store<f64>(b, Math.max(load<f64>(b, MAD_S), load<f64>(b, MAD_F)), MAD_S);
    edges = CLEAR | ACCEPTED;
  } else {
    return 0;
  }
  store<u8>(b, 0, ALARM);
  store<u32>(b, 0, RUN); // now ON
  return edges;
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
  let top: u32 = 0; // the largest id, to grow the streams before the loop
  for (let i: i32 = 0; i < n; i++) {
    const t = load<f64>(inTime + (<usize>i << 3));
    const s = load<u32>(inStream + (<usize>i << 2));
    if (s >= maxS || t - t != 0) return i;
    top = max(top, s);
  }
  if (n > 0) growStreams(<i32>top + 1);
  // Addresses and settings in locals: a load from the region table (with its bounds check) per
  // use in the loop is measurable.
  const streams = region(R.STREAMS);
  const stride = gStride;
  const outScore = region(R.SCORE);
  const outLevel = region(R.LEVEL);
  const outScale = region(R.SCALE);
  const outFlags = region(R.FLAGS);
  const bins = gBins;
  const binMs = gBinMs;
  const profiles = region(R.PROFILES);
  const row = gRow;
  const weekly = <usize>bins * row;
  const warmup = gWarmup;

  for (let i: i32 = 0; i < n; i++) {
    const i8 = <usize>i << 3;
    const s = <usize>load<u32>(inStream + (<usize>i << 2));
    const b = streams + s * stride;
    const t = load<f64>(inTime + i8);
    const x = load<f64>(inValue + i8);
    const cnt = load<f64>(b, N);
    const warm = cnt >= warmup;
    let flags: u32 = warm ? 0 : WARMING_UP;

    // Seasonal component: the active profile's deviation at this phase of the day / week.
    let seas: f64 = 0;
    let pD: usize = 0;
    let pW: usize = 0;
    let devD: f64 = 0, cD: f64 = 0, devW: f64 = 0, cW: f64 = 0;
    if (bins > 0) {
      const mode = <u32>load<u8>(b, MODE);
      const wd = binsOf(b, t, binMs, bins);
      store<u8>(VISITED + (wd & 0xffff), 1);
      store<u8>(VISITED + <usize>bins + (wd >> 16), 1);
      const column = profiles + (s << 4);
      pD = column + <usize>(wd & 0xffff) * row;
      pW = column + weekly + <usize>(wd >> 16) * row;
      devD = load<f64>(pD);
      cD = load<f64>(pD, 8);
      devW = load<f64>(pW);
      cW = load<f64>(pW, 8);
      seas = mode == 1 ? (cD > 0 ? devD : 0) : mode == 2 ? (cW > 0 ? devW : 0) : 0;
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
      flags |= <u32>load<u8>(b, ALARM);
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
        // score = max(score, ·) as SIMD pmax (a < b ? b : a, exactly the reference's `if (b >
        // a) a = b`): which score wins is random reading to reading, and the two branches this
        // replaces mispredicted often enough to cost ~1/3 of the detector's time (measured).
        score = f64x2.extract_lane(f64x2.pmax(f64x2.splat(score), f64x2.splat(shiftS)), 0);
        const spikeS = Math.abs(r1 / sF) / gZSpike;
        score = f64x2.extract_lane(f64x2.pmax(f64x2.splat(score), f64x2.splat(spikeS)), 0);
      }
      level = seas + lf;
      scale = sF;

      // Learning: winsorised EWMAs (once warm) with the warm-start gain 1/(n+1), which is
      // below every gain from gSteadyN readings on.
      let aF = gGainF;
      let aS = gGainS;
      let aSc = gGainScale;
      let aM = gGainM;
      if (cnt < gSteadyN) {
        const inv = 1 / (cnt + 1);
        aF = gGainF > inv ? gGainF : inv;
        aS = gGainS > inv ? gGainS : inv;
        aSc = gGainScale > inv ? gGainScale : inv;
        aM = gGainM > inv ? gGainM : inv;
      }
      const kc = warm ? gClipK : Infinity;
      const r1c = clip(r1, kc * sF);
      lf += aF * r1c;
      madF += aSc * (Math.abs(r1c) - madF);
      lm += aM * (x - seas - lm);
      const r2c = clip(r2, kc * sS);
      ls += aS * r2c;
      madS += aSc * (Math.abs(r2c) - madS);
      const capD = kc * Math.max(MAD_TO_SIGMA * madD, floor);
      madD += aSc * (Math.min(Math.abs(lm - ls), capD) - madD);
      store<f64>(b, lf, LF);
      store<f64>(b, lm, LM);
      store<f64>(b, ls, LS);
      store<f64>(b, madF, MAD_F);
      store<f64>(b, madS, MAD_S);
      store<f64>(b, madD, MAD_D);
      if (bins > 0) {
        learnSeason(b, pD, pW, x - ls, devD, cD, devW, cW, kc * sS, t - load<f64>(b, T0));
      }
      store<f64>(b, cnt + 1, N);
      flags |= stepAlarm(b, score, warm) | <u32>load<u8>(b, ALARM);
    }
    store<f64>(outScore + i8, score);
    store<f64>(outLevel + i8, level);
    store<f64>(outScale + i8, scale);
    store<u32>(outFlags + (<usize>i << 2), flags);
  }
  return -1;
}
