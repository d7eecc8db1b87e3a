/**
 * Per-channel limits, units and wording: what the detectors check and how alerts read.
 * @module
 */

/** How one channel is checked and described. Every limit is optional. */
export interface ChannelConfig {
  /** Name in texts, e.g. `Temperature`. @default {the channel name, capitalised} */
  label?: string;
  /** Unit as appended to a value: `°C` (no space), ` RPM` (with one). @default {""} */
  unit?: string;
  /** Normal range `[low, high]` of the moving average: outside it the row gets an alert. */
  normal?: [number, number];
  /** Alert range `[low, high]` of each reading: outside it, `THRESHOLD_BREACH_<CH>`. */
  alert?: [number, number];
  /** Largest change between consecutive readings before `RAPID_CHANGE_<CH>`. */
  maxDelta?: number;
  /** Largest deviation from the moving average, in percent, before `DEVIATION_<CH>`. */
  maxDeviationPct?: number;
  /** The checks apply only while the machine reports one of these statuses (a paused
   * machine's speed of 0 is no breach). @default {every status} */
  activeStatuses?: string[];
  /**
   * Hysteresis: when set, every alarm of this channel (threshold, rapid change, z-score,
   * deviation) is a state raised once when it starts and cleared once, with an `INFO` event of
   * the same type, after this many consecutive normal readings. Unset: the older edge-triggered
   * behaviour (no clearing event; a breach is raised again after one normal reading; a rapid
   * change is an event every time). @default {unset}
   */
  clearAfter?: number;
  /**
   * With `clearAfter`: how far back inside a limit a reading must be to count as normal, in
   * the channel's unit (a breach of 80 °C with a band of 2 clears only at or below 78 °C), so a
   * value hovering at the limit does not raise and clear on every reading. Applies to the alert
   * range and `maxDelta`. @default {0}
   */
  clearBand?: number;
  /**
   * Under the `adaptive` detector: the consecutive flagged readings that raise each of this
   * channel's limit alarms (threshold, rapid change, deviation). 1 raises on the first.
   * @default {1}
   */
  onDelay?: number;
  /**
   * Under the `adaptive` detector: the consecutive normal readings that clear each of this
   * channel's limit alarms, with an `INFO` event of the same type. @default {clearAfter when
   * set, else 20 (the adaptive detector's own off-delay)}
   */
  offDelay?: number;
}

/** The on-delay of a channel without `onDelay`, in readings. */
export const DEFAULT_ON_DELAY = 1;
/** The off-delay of a channel without `offDelay` or `clearAfter`, in readings: the adaptive
 * detector's (`ADAPTIVE_DEFAULTS.offDelay`), so every alarm of a channel clears alike. */
export const DEFAULT_OFF_DELAY = 20;

/** The `machine` profile's channels: the ranges of the system Vigil replaces. */
export const MACHINE_CHANNELS: Readonly<Record<string, ChannelConfig>> = {
  temperature: {
    label: "Temperature",
    unit: "°C",
    normal: [15, 35],
    alert: [10, 40],
    maxDelta: 10,
  },
  speed: {
    label: "Speed",
    unit: " RPM",
    normal: [1000, 2000],
    alert: [800, 2200],
    maxDelta: 400,
    // No deviation check by default: the moving average lags every start-up ramp, so a fixed
    // percentage would warn on each production cycle. Enable it per site in the config.
    activeStatuses: ["RUNNING"],
  },
};

/**
 * The profile a file source runs when no `--profile` is given and its format is not the
 * device's: `generic` when it names channels and none of them is one of the `machine`
 * profile's ({@linkcode MACHINE_CHANNELS}, exact names), since that profile's limits would
 * then watch nothing and its name would claim a kind of machine the data is not; else
 * `machine`, as before (also when the channels are unknown, `null`: an empty or unreadable file).
 *
 * @example
 * ```ts
 * defaultProfileOf(["value"]); // "generic" (NAB)
 * defaultProfileOf(["temperature", "vibration"]); // "machine"
 * defaultProfileOf(null); // "machine"
 * ```
 */
export function defaultProfileOf(channels: readonly string[] | null): "machine" | "generic" {
  if (channels === null || channels.length === 0) return "machine";
  return channels.some((c) => Object.hasOwn(MACHINE_CHANNELS, c)) ? "machine" : "generic";
}

/**
 * The `device` profile's channels: the serial device of the `kv` wire format (`T:` °C, `V:` V).
 * Temperature has no real lower limit (absolute zero stands in for none); alarms are states with
 * hysteresis, cleared after one normal reading.
 */
export const DEVICE_CHANNELS: Readonly<Record<string, ChannelConfig>> = {
  temperature: {
    label: "Temperature",
    unit: "°C",
    alert: [-273.15, 80],
    maxDelta: 15,
    clearAfter: 1,
  },
  voltage: {
    label: "Voltage",
    unit: "V",
    alert: [4.5, 5.5],
    clearAfter: 1,
  },
};

/** The `<CH>` of event types: `TEMP` for temperature, else the upper-cased channel name. */
export function channelCode(channel: string): string {
  return channel === "temperature" ? "TEMP" : channel.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
}

/** `Temperature` for `temperature` when no label is configured. */
export function channelLabel(channel: string, config: ChannelConfig | undefined): string {
  return config?.label ?? channel.charAt(0).toUpperCase() + channel.slice(1).replace(/_/g, " ");
}

/**
 * The `vibration` profile's channels: features of each frame (engine/kernels/vibration/vibration_types.ts). Limits
 * from the simulator's healthy and faulty ranges (20 machines × 200 frames, anomaly level 0):
 * healthy rms 0.59–0.90 m/s² vs imbalance 1.7–3.0; the 2× band 0.014–0.064 vs misalignment
 * 0.41–2.1; the 100–500 Hz harmonics 0.0003–0.0008 vs looseness 0.063–0.16; the 1–2 kHz band
 * 0.0009–0.0017 vs a bearing defect 0.013–0.061. Each limit sits between the two, and an alarm
 * clears after 3 normal frames so a fault's on-off flicker is one alarm.
 */
export const VIBRATION_CHANNELS: Readonly<Record<string, ChannelConfig>> = {
  rms: { label: "RMS vibration", unit: " m/s²", normal: [0.3, 1.2], alert: [0, 2], clearAfter: 3 },
  band_energy_3: {
    label: "2× band energy (misalignment)",
    alert: [0, 0.25],
    clearAfter: 3,
  },
  band_energy_5: {
    label: "Harmonics band energy (looseness)",
    alert: [0, 0.02],
    clearAfter: 3,
  },
  band_energy_7: {
    label: "Bearing band energy",
    alert: [0, 0.008],
    clearAfter: 3,
  },
};
