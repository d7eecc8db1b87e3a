/**
 * The wording of the analyzer's anomaly events: type, severity, threshold and description of
 * each alarm raised or cleared on a channel, and of the isolation forest's alarm. Apart from
 * the state that decides when an event happens (alarm_state.ts, model_scoring.ts) so that the
 * texts, which users read and tests compare byte for byte, change in one place.
 * @module
 */
import { channelCode, type ChannelConfig, channelLabel } from "../core/channel_config.ts";
import { FLAG, type IsolationScorer } from "../core/analysis.ts";
import type { AnomalyEvent, Reading } from "../core/types.ts";
import { round } from "./row_builder.ts";

/**
 * A reading in an event description: two decimals ("95.50"), or three significant digits for a
 * small non-zero value (a band energy of 0.00044 is not "0.00").
 *
 * @example
 * ```ts
 * import { formatValue } from "./event_text.ts";
 *
 * formatValue(95.5); // "95.50"
 * formatValue(0.00044); // "0.000440"
 * ```
 */
export function formatValue(x: number): string {
  return x !== 0 && Math.abs(x) < 0.1 ? x.toPrecision(3) : x.toFixed(2);
}

/**
 * A limit in an event description: one decimal ("80.0"), or exactly as configured when one
 * decimal would change it (0.25, 0.008).
 *
 * @example
 * ```ts
 * import { formatLimit } from "./event_text.ts";
 *
 * formatLimit(80); // "80.0"
 * formatLimit(0.25); // "0.25"
 * ```
 */
export function formatLimit(x: number): string {
  return Number(x.toFixed(1)) === x ? x.toFixed(1) : String(x);
}

/** Limits formatted, by value: a channel's limits are the same few numbers event after event,
 * and `toFixed` plus `Number` cost more than a lookup. Bounded: past {@linkcode MAX_CACHED}
 * values a limit is formatted each time. */
const LIMIT_TEXT = new Map<number, string>();

/** Entries of each cache of this module at most (limits, channels): far above any plant's. */
const MAX_CACHED = 4096;

/** {@linkcode formatLimit} of `x`, from {@linkcode LIMIT_TEXT} when it is there. */
function limitText(x: number): string {
  let text = LIMIT_TEXT.get(x);
  if (text === undefined) {
    text = formatLimit(x);
    if (LIMIT_TEXT.size < MAX_CACHED) LIMIT_TEXT.set(x, text);
  }
  return text;
}

/** One channel's value at the reading that raised or cleared its alarms, with the kernel's
 * results the descriptions quote. */
export interface AlarmReading {
  /** The reading's machine. */
  machine: string;
  /** The reading's event time, ISO 8601. */
  timestamp: string;
  /** The channel. */
  channel: string;
  /** Its value. */
  value: number;
  /** Change from the channel's previous value. */
  delta: number;
  /** Z-score against the channel's model. */
  zscore: number;
  /** Deviation from the moving average, percent. */
  deviation: number;
  /** The moving average. */
  mean: number;
}

/** What a description is made of. */
interface Words {
  /** The channel's label. */
  label: string;
  /** The value with its unit, formatted. */
  v: string;
  /** The channel's unit. */
  unit: string;
  /** The alarm's limit (its event's `threshold`). */
  t: number;
  /** The reading. */
  at: AlarmReading;
}

/** The wording of one alarm that is a state: its event when raised, and when cleared. */
interface AlarmText {
  /** Its {@linkcode FLAG} bit. */
  bit: number;
  /** The event type before `_<CH>`. */
  type: string;
  /** The severity when raised (INFO when cleared). */
  severity: AnomalyEvent["severity"];
  /** The limit: from the channel's configuration, or the z threshold. */
  limit(config: ChannelConfig | undefined, zThreshold: number): number;
  /** The description when the alarm is raised. */
  raised(w: Words): string;
  /** The description when it clears. */
  cleared(w: Words): string;
}

/** One entry per alarm, in the order their events are raised. */
const ALARM_TEXTS: readonly AlarmText[] = [
  {
    bit: FLAG.HIGH,
    type: "THRESHOLD_BREACH",
    severity: "CRITICAL",
    limit: (c) => c!.alert![1],
    raised: (w) => `${w.label} ${w.v} exceeded threshold of ${limitText(w.t)}${w.unit}.`,
    cleared: (w) => `${w.label} ${w.v} back below threshold of ${limitText(w.t)}${w.unit}.`,
  },
  {
    bit: FLAG.LOW,
    type: "THRESHOLD_BREACH",
    severity: "CRITICAL",
    limit: (c) => c!.alert![0],
    raised: (w) => `${w.label} ${w.v} fell below threshold of ${limitText(w.t)}${w.unit}.`,
    cleared: (w) => `${w.label} ${w.v} back above threshold of ${limitText(w.t)}${w.unit}.`,
  },
  {
    bit: FLAG.RAPID,
    type: "RAPID_CHANGE",
    severity: "WARNING",
    limit: (c) => c!.maxDelta!,
    raised: (w) =>
      `${w.label} changed by ${
        w.at.delta.toFixed(2)
      }${w.unit} to ${w.v} between consecutive readings (limit ${limitText(w.t)}${w.unit}).`,
    cleared: (w) =>
      `${w.label} changed by ${
        w.at.delta.toFixed(2)
      }${w.unit} to ${w.v}, back within the limit of ${
        limitText(w.t)
      }${w.unit} between consecutive readings.`,
  },
  {
    bit: FLAG.ZSCORE,
    type: "ZSCORE",
    severity: "WARNING",
    limit: (_c, zThreshold) => zThreshold,
    raised: (w) =>
      `${w.label} ${w.v} has a z-score of ${
        w.at.zscore.toFixed(2)
      } against its recent normal (threshold ${w.t.toFixed(1)}).`,
    cleared: (w) =>
      `${w.label} ${w.v} is back within the z-score threshold of ${w.t.toFixed(1)} (z = ${
        w.at.zscore.toFixed(2)
      }).`,
  },
  {
    bit: FLAG.DEVIATION,
    type: "DEVIATION",
    severity: "WARNING",
    limit: (c) => c!.maxDeviationPct!,
    raised: (w) =>
      `${w.label} ${w.v} deviates ${w.at.deviation.toFixed(1)}% from its moving average ${
        w.at.mean.toFixed(2)
      }${w.unit} (limit ${limitText(w.t)}%).`,
    cleared: (w) =>
      `${w.label} ${w.v} is back within ${limitText(w.t)}% of its moving average ${
        w.at.mean.toFixed(2)
      }${w.unit}.`,
  },
];

/**
 * The events of one channel's alarm transitions (`rising`, `clearing`: {@linkcode FLAG} bits,
 * see `AlarmState`), rising ones first, each in the order HIGH, LOW, RAPID, ZSCORE, DEVIATION.
 * A raised alarm is `THRESHOLD_BREACH_<CH>` (CRITICAL), `RAPID_CHANGE_<CH>`, `ZSCORE_<CH>` or
 * `DEVIATION_<CH>` (WARNING); its clearing has the same type, severity INFO. `config` holds the
 * limit of every alarm passed (the kernel flags none without one).
 *
 * @example
 * ```ts
 * import { alarmEvents } from "./event_text.ts";
 * import { FLAG } from "../core/analysis.ts";
 *
 * const [e] = alarmEvents(FLAG.HIGH, 0, {
 *   machine: "m1", timestamp: "2026-01-01T00:00:00.000Z", channel: "temperature",
 *   value: 95.5, delta: 0, zscore: 0, deviation: 0, mean: 90,
 * }, { label: "Temperature", unit: "°C", alert: [10, 80] }, 3);
 * // e.type === "THRESHOLD_BREACH_TEMP"
 * // e.description === "Temperature 95.50°C exceeded threshold of 80.0°C."
 * ```
 */
export function alarmEvents(
  rising: number,
  clearing: number,
  at: AlarmReading,
  config: ChannelConfig | undefined,
  zThreshold: number,
): AnomalyEvent[] {
  const events: AnomalyEvent[] = [];
  const unit = config?.unit ?? "";
  const types = typesOf(at.channel).alarm;
  const words = {
    label: channelLabel(at.channel, config),
    v: `${formatValue(at.value)}${unit}`,
    unit,
    t: NaN,
    at,
  };
  // Raised alarms first, then cleared ones: the order the events always had. Indexed loops,
  // not `for…of` over `[false, true]`: this runs per alarm transition (thousands of times in a
  // 1 M replay), much of it before it is optimized, where each `for…of` allocates.
  for (let pass = 0; pass < 2; pass++) {
    const clear = pass === 1;
    const bits = clear ? clearing : rising;
    if (bits === 0) continue;
    for (let k = 0; k < ALARM_TEXTS.length; k++) {
      const text = ALARM_TEXTS[k]!;
      if (!(bits & text.bit)) continue;
      words.t = text.limit(config, zThreshold);
      events.push({
        timestamp: at.timestamp,
        machine: at.machine,
        type: types[k]!,
        severity: clear ? "INFO" : text.severity,
        channel: at.channel,
        value: at.value,
        threshold: words.t,
        description: clear ? text.cleared(words) : text.raised(words),
      });
    }
  }
  return events;
}

/** A channel's event types: `alarm[k]` that of `ALARM_TEXTS[k]`, `adaptive` its `ANOMALY_<CH>`. */
interface ChannelTypes {
  alarm: readonly string[];
  adaptive: string;
}

/** Event types by channel name. Built once a channel so that each event of the channel carries
 * the same string: no `channelCode` (a regular expression) and no new string per event, and
 * the active alarms and incidents (`AlarmKeys`) find their type by a pointer comparison.
 * Bounded: past {@linkcode MAX_CACHED} channels the types are built each time. */
const CHANNEL_TYPES = new Map<string, ChannelTypes>();

/** The event types of `channel` (see {@linkcode CHANNEL_TYPES}). */
function typesOf(channel: string): ChannelTypes {
  let types = CHANNEL_TYPES.get(channel);
  if (types === undefined) {
    const code = channelCode(channel);
    types = {
      alarm: ALARM_TEXTS.map((text) => `${text.type}_${code}`),
      adaptive: `ANOMALY_${code}`,
    };
    if (CHANNEL_TYPES.size < MAX_CACHED) CHANNEL_TYPES.set(channel, types);
  }
  return types;
}

/** A channel's reading at which its adaptive alarm (engine/kernels/adaptive) changed, with
 * the detector's results the descriptions quote. */
export interface AdaptiveReading {
  /** The reading's machine. */
  machine: string;
  /** The reading's event time, ISO 8601. */
  timestamp: string;
  /** The channel. */
  channel: string;
  /** Its value. */
  value: number;
  /** The detector's score (1 is the alarm threshold). */
  score: number;
  /** The expected value (the detector's one-step prediction). */
  level: number;
  /** The robust one-step scale (σ) around it. */
  scale: number;
}

/** A score at or above this many times the threshold (1) raises CRITICAL rather than WARNING:
 * twice as far as the alarm needs is no borderline case. */
export const ADAPTIVE_CRITICAL_SCORE = 2;

/**
 * The `ANOMALY_<CH>` event of an adaptive alarm's transition: `raise` (WARNING, CRITICAL at a
 * score ≥ {@linkcode ADAPTIVE_CRITICAL_SCORE}), `clear` (INFO: back to normal) or `accept`
 * (INFO: the alarm cleared because the new level was accepted as normal after `acceptAfter`
 * readings, `detector.acceptAfter`). `threshold` is the score threshold, 1; `detector.zSpike`
 * tells a spike from a level shift.
 *
 * @example
 * ```ts
 * import { adaptiveEvent } from "./event_text.ts";
 *
 * const e = adaptiveEvent("raise", {
 *   machine: "m1", timestamp: "2026-01-01T00:00:00.000Z", channel: "temperature",
 *   value: 45, score: 1.04, level: 21, scale: 3.29,
 * }, { label: "Temperature", unit: "°C" }, { acceptAfter: 720, zSpike: 7 });
 * // e.type === "ANOMALY_TEMP", e.severity === "WARNING"
 * // e.description === "Temperature 45.00°C is 7.3σ above its expected 21.00°C (score 1.04, threshold 1.0)."
 * ```
 */
export function adaptiveEvent(
  kind: "raise" | "clear" | "accept",
  at: AdaptiveReading,
  config: ChannelConfig | undefined,
  detector: { acceptAfter: number; zSpike: number },
): AnomalyEvent {
  const unit = config?.unit ?? "";
  const label = channelLabel(at.channel, config);
  const v = `${formatValue(at.value)}${unit}`;
  const expected = `${formatValue(at.level)}${unit}`;
  let description: string;
  if (kind === "raise") {
    const z = (at.value - at.level) / at.scale;
    const far = Number.isFinite(z) && z !== 0
      ? `${Math.abs(z).toFixed(1)}σ ${z > 0 ? "above" : "below"} its expected ${expected}`
      : `at its expected ${expected}`;
    // The score is the larger of the spike part (|z| / zSpike) and the level-shift part: when
    // the shift decided, the reading alone may look ordinary, so the text says what alarmed.
    const shift = !(Math.abs(z) / detector.zSpike >= at.score * 0.999);
    description = `${label} ${v} is ${far}${shift ? "; its level has shifted" : ""} (score ${
      at.score.toFixed(2)
    }, threshold 1.0).`;
  } else if (kind === "clear") {
    description = `${label} ${v} is back to normal (expected ${expected}).`;
  } else {
    description =
      `${label} ${v}: the new level is accepted as normal after ${detector.acceptAfter} ` +
      `readings in alarm (expected ${expected}).`;
  }
  return {
    timestamp: at.timestamp,
    machine: at.machine,
    type: typesOf(at.channel).adaptive,
    severity: kind !== "raise"
      ? "INFO"
      : at.score >= ADAPTIVE_CRITICAL_SCORE
      ? "CRITICAL"
      : "WARNING",
    channel: at.channel,
    value: at.value,
    threshold: 1,
    description,
  };
}

/**
 * `ISOLATION_FOREST` (WARNING): reading `r` of its machine turned anomalous for `model`, with
 * its `score_samples` and `decision_function`; with `cleared`, the same type as INFO: the
 * machine's forest alarm cleared. `iso` is the reading's time. The event's `threshold` is the
 * score threshold the alarm compares with: the model's calibrated `alarm_threshold` (the alarm
 * is `score < alarm_threshold`), else its `offset` (`decision < 0`, i.e. `score < offset`).
 *
 * @example
 * ```ts
 * import { forestEvent } from "./event_text.ts";
 *
 * const model = { features: ["temperature", "speed"], offset: -0.5 };
 * const r = { timestamp: 0, machine: "m1", status: null, channels: {} };
 * forestEvent(r, "1970-01-01T00:00:00.000Z", model, -0.61, -0.11).description;
 * // "Isolation forest: temperature, speed look anomalous (score -0.6100, decision -0.1100 < 0)."
 * const calibrated = { ...model, alarm_threshold: -0.58 };
 * forestEvent(r, "1970-01-01T00:00:00.000Z", calibrated, -0.61, -0.11).description;
 * // "Isolation forest: temperature, speed look anomalous (score -0.6100 < alarm threshold
 * // -0.5800, decision -0.1100)."
 * ```
 */
export function forestEvent(
  r: Reading,
  iso: string,
  model: IsolationScorer["model"],
  score: number,
  decision: number,
  cleared = false,
): AnomalyEvent {
  const features = model.features.join(", ");
  const t = model.alarm_threshold;
  const s = score.toFixed(4), dec = decision.toFixed(4);
  const why = t === undefined
    ? (cleared ? `score ${s}, decision ${dec} >= 0` : `score ${s}, decision ${dec} < 0`)
    : `score ${s} ${cleared ? ">=" : "<"} alarm threshold ${t.toFixed(4)}, decision ${dec}`;
  return {
    timestamp: iso,
    machine: r.machine,
    type: "ISOLATION_FOREST",
    severity: cleared ? "INFO" : "WARNING",
    channel: null,
    value: round(score, 6),
    threshold: t ?? model.offset,
    description: cleared
      ? `Isolation forest: ${features} look normal again (${why}).`
      : `Isolation forest: ${features} look anomalous (${why}).`,
  };
}
