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
}

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

/** The `<CH>` of event types: `TEMP` for temperature, else the upper-cased channel name. */
export function channelCode(channel: string): string {
  return channel === "temperature" ? "TEMP" : channel.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
}

/** `Temperature` for `temperature` when no label is configured. */
export function channelLabel(channel: string, config: ChannelConfig | undefined): string {
  return config?.label ?? channel.charAt(0).toUpperCase() + channel.slice(1).replace(/_/g, " ");
}
