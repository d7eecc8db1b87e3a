/**
 * `DEVICE_STATUS` events from the state a device reports (`S:` of the `kv` wire format).
 * @module
 */
import type { AnomalyEvent, Severity } from "../core/types.ts";

/** What most readings raise: nothing (frozen, so that no caller can add to the shared array). */
const NO_EVENTS: readonly AnomalyEvent[] = Object.freeze([]);

/** Options of {@linkcode DeviceStatusTracker}. */
export interface DeviceStatusTrackerOptions {
  /** Machines tracked at most (further machines raise no device-state events), so arbitrary
   * machine ids on the wire cannot grow memory without limit. @default {10000} */
  maxMachines?: number;
}

/** The severity of a reported device state, or null for a normal one. */
export function deviceStateSeverity(status: string): Severity | null {
  if (status === "OFFLINE" || status.startsWith("CRITICAL_")) return "CRITICAL";
  if (status.startsWith("WARNING_")) return "WARNING";
  return null;
}

/**
 * Edge-triggered device states: one event when a `WARNING_*`, `CRITICAL_*` or `OFFLINE` state
 * starts, a new one when it changes to another such state, and one `INFO` event when the device
 * reports a normal state again (any other state, usually `NORMAL`). A reading without a state
 * changes nothing.
 */
export class DeviceStatusTracker {
  readonly #max: number;
  /** The alarming state each machine is in; absent when normal. */
  readonly #states = new Map<string, string>();
  /** Machines seen, to bound the map. */
  readonly #seen = new Set<string>();

  constructor(options: DeviceStatusTrackerOptions = {}) {
    const max = options.maxMachines ?? 10_000;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxMachines must be an integer >= 1, got ${max}`);
    }
    this.#max = max;
  }

  /** A reading of `machine` at `time` (epoch ms) reporting `status`. Nearly every reading
   * raises nothing: then the answer is one shared empty array, not a new one per reading. */
  observe(machine: string, status: string | null, time: number): readonly AnomalyEvent[] {
    if (status === null) return NO_EVENTS;
    if (!this.#seen.has(machine)) {
      if (this.#seen.size >= this.#max) return NO_EVENTS;
      this.#seen.add(machine);
    }
    const previous = this.#states.get(machine) ?? null;
    const severity = deviceStateSeverity(status);
    if (severity === null) {
      if (previous === null) return NO_EVENTS;
      this.#states.delete(machine);
      return [event(
        machine,
        time,
        "INFO",
        `Device ${machine} reports ${status} again (was ${previous}).`,
      )];
    }
    if (status === previous) return NO_EVENTS;
    this.#states.set(machine, status);
    return [event(machine, time, severity, `Device ${machine} reports ${status}.`)];
  }
}

function event(
  machine: string,
  time: number,
  severity: Severity,
  description: string,
): AnomalyEvent {
  return {
    timestamp: new Date(time).toISOString(),
    machine,
    type: "DEVICE_STATUS",
    severity,
    channel: null,
    value: null,
    threshold: null,
    description,
  };
}
