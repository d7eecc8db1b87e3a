/**
 * The contract of the adaptive detector: per stream, a seasonal, robust, self-scaling anomaly
 * score and an alarm state with on/off delays. Two implementations share it and agree bit for
 * bit: the WebAssembly kernel (`adaptive_wasm.ts` over `assembly/adaptive.ts`) and its
 * plain-TypeScript reference (`adaptive_reference.ts`, the specification).
 *
 * Where it comes from: the study in docs/detector.md (with a plain-TS prototype), which
 * chose these mechanisms and defaults on labelled data (NAB realKnownCause standard score
 * 63.8; SKAB F1 0.829 at FAR 19.8 %). Only the mechanisms of the chosen defaults are kept:
 * seasonality (auto daily/weekly), the fast/mid/slow levels, robust scales with a resolution
 * floor, the spike and level-shift scores, winsorised learning that continues in alarm, the
 * alarm's on/off delays with a clear level (hysteresis), bounded acceptance of a sustained
 * shift and the warm-up. Left out, as the report tried them and they lost or are off by
 * default: CUSUM, a frozen model in alarm (`alarmLearn`), a minimum hold (`minHold`), clearing
 * on the shift part only, and the machine-level state machine: a machine's alarm is the OR of
 * its channels' ALARM flags (`machineMode` 1), which is the analyzer's business.
 * @module
 */
import { positiveInteger, positiveNumber } from "../../core/validate.ts";

/** Options of an adaptive detector; every one has the lab's default. */
export interface AdaptiveOptions {
  /** Most streams (machine × channel); stream ids are `0 … maxStreams-1`. @default {4096} */
  maxStreams?: number;
  /** Most readings one `process` call takes. @default {8192} */
  batchCapacity?: number;
  /** Readings of a stream before it may score or alarm (estimators learn meanwhile): both
   * benchmarks give ≥ 400 readings before scoring. @default {400} */
  warmup?: number;
  /** Half-life in readings of the fast level, the one-step prediction. @default {8} */
  fastHalfLife?: number;
  /** Half-life of the mid level, compared with the slow one for a level shift. @default {16} */
  midHalfLife?: number;
  /** Half-life of the slow reference level. @default {720} */
  slowHalfLife?: number;
  /** Half-life of the robust scales (mean absolute deviations). @default {720} */
  scaleHalfLife?: number;
  /** Winsorising bound of every update once warm, in scale units. @default {3} */
  clipK?: number;
  /** |one-step z| that alone reaches score 1 (the spike score is |z| / zSpike). @default {7} */
  zSpike?: number;
  /** |(mid − slow) / its own scale| that alone reaches score 1. @default {5} */
  zShift?: number;
  /** Consecutive readings with score ≥ 1 that raise the alarm. @default {1} */
  onDelay?: number;
  /** Consecutive readings with score < clearLevel that clear it. @default {20} */
  offDelay?: number;
  /** Hysteresis: a score below this counts towards clearing, in (0, 1]. @default {0.5} */
  clearLevel?: number;
  /** Readings of continuous alarm after which the new level is accepted as normal and the
   * alarm clears (ACCEPTED); 0 = never. @default {720} */
  acceptAfter?: number;
  /** `auto`: daily and weekly profiles, each switched on when it cuts the one-step error
   * enough (after 2 and 14 days of data); `off`: none (and no memory for them). @default {"auto"} */
  season?: "auto" | "off";
  /** Bins per day of the daily profile (the weekly one has 7×): an integer in 1…1440 that
   * divides 86,400,000, so that a bin is a whole number of milliseconds. @default {48} */
  seasonBins?: number;
  /** A profile switches on when its error is below this fraction of the current one's, in
   * (0, 1]. @default {0.7} */
  seasonGain?: number;
  /** Smallest gain of a bin's update per visit, in (0, 1]. @default {0.25} */
  seasonVisitGain?: number;
  /** Scale floor in units of the stream's resolution (smallest non-zero step seen), ≥ 0.
   * @default {1} */
  quantumFloor?: number;
}

/** The options with every default filled in. */
export type ResolvedAdaptiveOptions = Readonly<Required<AdaptiveOptions>>;

/** The defaults documented on {@linkcode AdaptiveOptions}. */
export const ADAPTIVE_DEFAULTS: ResolvedAdaptiveOptions = Object.freeze({
  maxStreams: 4096,
  batchCapacity: 8192,
  warmup: 400,
  fastHalfLife: 8,
  midHalfLife: 16,
  slowHalfLife: 720,
  scaleHalfLife: 720,
  clipK: 3,
  zSpike: 7,
  zShift: 5,
  onDelay: 1,
  offDelay: 20,
  clearLevel: 0.5,
  acceptAfter: 720,
  season: "auto",
  seasonBins: 48,
  seasonGain: 0.7,
  seasonVisitGain: 0.25,
  quantumFloor: 1,
});

/**
 * Bits of {@linkcode AdaptiveOutput.flags} (the same values in `assembly/adaptive.ts`).
 *
 * @example
 * ```ts
 * if (out.flags[i]! & ADAPTIVE_FLAG.RAISE) notify(stream[i]!, out.score[i]!);
 * ```
 */
export const ADAPTIVE_FLAG = Object.freeze({
  /** The stream's alarm is on after this reading (state). */
  ALARM: 1,
  /** The alarm was raised at this reading (edge; ALARM is set too). */
  RAISE: 2,
  /** The alarm cleared at this reading (edge). */
  CLEAR: 4,
  /** A sustained shift became the new normal at this reading (once; CLEAR is set too). */
  ACCEPTED: 8,
  /** The stream is warming up: score 0, no alarm. */
  WARMING_UP: 16,
  /** The daily profile shaped this reading's level. */
  SEASONAL_DAILY: 32,
  /** The weekly profile shaped this reading's level. */
  SEASONAL_WEEKLY: 64,
});

/** A batch of readings for one `process` call, as parallel arrays of at least `n` entries. */
export interface AdaptiveInput {
  /** Stream id of each reading, `0 … maxStreams-1`. */
  stream: Int32Array;
  /** Event time, epoch milliseconds (finite); day and week phases are taken in UTC. */
  time: Float64Array;
  /** The value; NaN or ±Infinity is a missing reading: it changes no state. */
  value: Float64Array;
}

/**
 * Results of one `process` call, one entry per input reading, in input order. The arrays are
 * views the detector owns: valid until the next call, copy what must outlive it.
 */
export interface AdaptiveOutput {
  /** max(spike, shift) score before learning from the reading; 1 is the alarm threshold; 0
   * while warming up and for a missing reading. */
  score: Float64Array;
  /** The expected value (seasonal profile + fast level, the one-step prediction); for a
   * stream's first value that value, before any value NaN. */
  level: Float64Array;
  /** The robust one-step scale: `|value − level| / scale / zSpike` is the spike score, so a
   * band `level ± zSpike·scale` is where spikes alarm. 0 for a stream's first value. */
  scale: Float64Array;
  /** {@linkcode ADAPTIVE_FLAG} bits. */
  flags: Uint32Array;
}

/** The adaptive detector: one call per batch, never one per value. */
export interface AdaptiveDetector {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedAdaptiveOptions;
  /**
   * Processes `n ≤ batchCapacity` readings in order, updating each stream's state. Results do
   * not depend on how readings are cut into batches. Throws a `RangeError` naming the value for
   * a bad `n`, stream id or time, before any state changes.
   */
  process(input: AdaptiveInput, n: number): AdaptiveOutput;
  /** Forgets everything a stream learned (levels, scales, profiles, alarm): a model reset. */
  resetStream(stream: number): void;
}

/** Largest accepted sizes (the AssemblyScript `configure` checks the same). */
export const ADAPTIVE_MAX = Object.freeze({
  maxStreams: 1 << 22,
  batchCapacity: 1 << 22,
  /** Bytes of state: the WASM memory's 2 GiB less room for the batch arrays' staggering. */
  bytes: 2 ** 31 - 2 ** 24,
});

/** Milliseconds per day; the weekly profile starts on Monday 00:00 UTC. */
export const DAY_MS = 86_400_000;
/** Bytes of one stream's fields (three cache lines) in the WASM layout. */
export const ADAPTIVE_STATE_BYTES = 192;

/**
 * Bytes per stream in the WASM layout: fields, plus the stream's (value, visits) f64 pair in
 * each bin of the daily and weekly profiles when seasonality is on (the profiles are bin-major
 * arrays after all the fields, see assembly/adaptive.ts).
 *
 * @example
 * ```ts
 * adaptiveStreamBytes(ADAPTIVE_DEFAULTS); // 6336: 192 + 8 · 48 bins · 16
 * ```
 */
export function adaptiveStreamBytes(o: ResolvedAdaptiveOptions): number {
  return ADAPTIVE_STATE_BYTES + (o.season === "auto" ? 8 * o.seasonBins * 16 : 0);
}

/**
 * EWMA gain of half-life `h` readings: after h updates a past value weighs half. Computed
 * here once for both implementations, so that they share one `Math.pow`.
 *
 * @example
 * ```ts
 * halfLifeGain(1); // 0.5
 * ```
 */
export function halfLifeGain(h: number): number {
  return 1 - Math.pow(2, -1 / h);
}

function inRange(name: string, v: number, lo: number, hi: number, loOpen: boolean): number {
  if (typeof v !== "number" || !(loOpen ? v > lo : v >= lo) || !(v <= hi)) {
    throw new RangeError(
      `${name} must be a number in ${loOpen ? "(" : "["}${lo}, ${hi}], got ${v}`,
    );
  }
  return v;
}

function nonNegativeInteger(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${name} must be an integer >= 0, got ${v}`);
  }
  return v;
}

/**
 * Fills in the defaults and validates every option, throwing a `RangeError` that names the bad
 * option and value.
 *
 * @example
 * ```ts
 * resolveAdaptiveOptions({ zSpike: 6 }).offDelay; // 20
 * resolveAdaptiveOptions({ clearLevel: 2 }); // throws RangeError: clearLevel must be a number in (0, 1], got 2
 * ```
 */
export function resolveAdaptiveOptions(options: AdaptiveOptions = {}): ResolvedAdaptiveOptions {
  const o: Required<AdaptiveOptions> = { ...ADAPTIVE_DEFAULTS };
  for (const key of Object.keys(ADAPTIVE_DEFAULTS) as (keyof AdaptiveOptions)[]) {
    if (options[key] !== undefined) Object.assign(o, { [key]: options[key] });
  }
  for (const key of ["maxStreams", "batchCapacity"] as const) {
    if (positiveInteger(key, o[key]) > ADAPTIVE_MAX[key]) {
      throw new RangeError(`${key} must be at most ${ADAPTIVE_MAX[key]}, got ${o[key]}`);
    }
  }
  for (const key of ["warmup", "onDelay", "offDelay"] as const) positiveInteger(key, o[key]);
  nonNegativeInteger("acceptAfter", o.acceptAfter);
  for (
    const key of [
      "fastHalfLife",
      "midHalfLife",
      "slowHalfLife",
      "scaleHalfLife",
      "clipK",
      "zSpike",
      "zShift",
    ] as const
  ) positiveNumber(key, o[key]);
  for (const key of ["clearLevel", "seasonGain", "seasonVisitGain"] as const) {
    inRange(key, o[key], 0, 1, true);
  }
  inRange("quantumFloor", o.quantumFloor, 0, Number.MAX_VALUE, false);
  if (o.season !== "auto" && o.season !== "off") {
    throw new RangeError(`season must be "auto" or "off", got ${JSON.stringify(o.season)}`);
  }
  const bins = o.seasonBins;
  if (!Number.isInteger(bins) || bins < 1 || bins > 1440 || DAY_MS % bins !== 0) {
    throw new RangeError(
      `seasonBins must be an integer in 1…1440 that divides ${DAY_MS}, got ${bins}`,
    );
  }
  // Stream blocks, plus the batch arrays (i32 + 5 f64 + u32 per reading).
  const bytes = o.maxStreams * adaptiveStreamBytes(o) + o.batchCapacity * 48;
  if (bytes > ADAPTIVE_MAX.bytes) {
    throw new RangeError(
      `the state would need ${bytes} bytes (maxStreams ${o.maxStreams}, season ${o.season}, ` +
        `seasonBins ${bins}, batchCapacity ${o.batchCapacity}), more than ${ADAPTIVE_MAX.bytes}`,
    );
  }
  return Object.freeze(o);
}

/**
 * Throws a `RangeError` naming the first of readings `0…n-1` that a detector refuses (a stream
 * id out of range or a non-finite time); values are not checked (NaN is a missing reading).
 *
 * @example
 * ```ts
 * const input = { stream: Int32Array.of(0, 9), time: Float64Array.of(0, 0), value: new Float64Array(2) };
 * checkReadings(input, 2, 4); // throws RangeError: stream id must be an integer in 0…3, got 9 (reading 1)
 * ```
 */
export function checkReadings(input: AdaptiveInput, n: number, maxStreams: number): void {
  for (let i = 0; i < n; i++) {
    const s = input.stream[i]!;
    const t = input.time[i]!;
    if (!(s >= 0 && s < maxStreams)) {
      throw new RangeError(
        `stream id must be an integer in 0…${maxStreams - 1}, got ${s} (reading ${i})`,
      );
    }
    if (!Number.isFinite(t)) throw new RangeError(`time at reading ${i} must be finite, got ${t}`);
  }
}
