/**
 * The alarms active now, derived from the anomaly events alone (no detector state), so that the
 * live pipeline and a restart's rebuild from `anomalies.jsonl` give the same answer.
 *
 * An alarm is one machine + type + channel. A `WARNING` or `CRITICAL` event raises it (or, when
 * it is already active, updates it: alarms of channels without `clearAfter` are raised on every
 * rising edge and never cleared); an `INFO` event of the same machine, type and channel clears
 * it. `HEARTBEAT_RESTORED` clears `HEARTBEAT_LOSS`; a `DEVICE_STATUS` `INFO` (the device back to
 * a normal state) clears `DEVICE_STATUS`, which the same rule covers.
 * @module
 */
import type { AnomalyEvent, Severity } from "./types.ts";

/** One active alarm, as `GET /alarms` serves it. */
export interface ActiveAlarm {
  machine: string;
  type: string;
  channel: string | null;
  /** The highest severity of its raises since it was first raised. */
  severity: Exclude<Severity, "INFO">;
  /** ISO 8601 event time of the first raise. */
  raised_at: string;
  /** ISO 8601 event time of the latest raise. */
  last_at: string;
  /** Value, threshold and text of the latest raise. */
  value: number | null;
  threshold: number | null;
  description: string;
  /** Raises since the first one, that one included. */
  count: number;
  /** The incident of its first raise (see engine/core/incidents.ts); absent when its events
   * carry none (`--detector zscore`). */
  incident?: string;
}

/** Filter of {@linkcode ActiveAlarms.list}. */
export interface ActiveAlarmFilter {
  machine?: string;
  severity?: Exclude<Severity, "INFO">;
}

/** Options of {@linkcode ActiveAlarms}. */
export interface ActiveAlarmsOptions {
  /** Alarms kept at most; when full, a new one evicts the one whose latest raise is oldest.
   * @default {10000} */
  capacity?: number;
}

/** The type an `INFO` event of `type` clears: its own, but for the heartbeat pair. */
const CLEARS: Readonly<Record<string, string>> = { HEARTBEAT_RESTORED: "HEARTBEAT_LOSS" };

/**
 * The alarm type an `INFO` event of `type` clears: its own type, except `HEARTBEAT_RESTORED`,
 * which clears `HEARTBEAT_LOSS`. The one place that pairing is written.
 *
 * @example
 * ```ts
 * clearedAlarmType("HEARTBEAT_RESTORED"); // "HEARTBEAT_LOSS"
 * clearedAlarmType("ANOMALY_TEMP"); // "ANOMALY_TEMP"
 * ```
 */
export function clearedAlarmType(type: string): string {
  return CLEARS[type] ?? type;
}

const RANK: Readonly<Record<Severity, number>> = { INFO: 0, WARNING: 1, CRITICAL: 2 };

/** A map key no machine, type or channel text can collide in (JSON quotes the separators). */
function keyOf(machine: string, type: string, channel: string | null): string {
  return JSON.stringify([machine, type, channel]);
}

/**
 * The active alarms, bounded by `capacity`. The map's insertion order is the order of latest
 * raises (an update moves the entry to the end), so eviction is O(1): the first entry.
 *
 * @example
 * ```ts
 * import { ActiveAlarms } from "./active_alarms.ts";
 *
 * const alarms = new ActiveAlarms();
 * const base = { machine: "m1", channel: "temperature", value: 91, threshold: 85, description: "" };
 * alarms.observe({ ...base, timestamp: "2026-01-01T00:00:00Z", type: "ANOMALY_TEMP", severity: "WARNING" });
 * alarms.list().length; // 1
 * alarms.observe({ ...base, timestamp: "2026-01-01T00:01:00Z", type: "ANOMALY_TEMP", severity: "INFO" });
 * alarms.list().length; // 0
 * ```
 */
export class ActiveAlarms {
  readonly capacity: number;
  readonly #alarms = new Map<string, ActiveAlarm>();
  #evicted = 0;

  /** @throws {RangeError} naming a `capacity` that is not a positive integer. */
  constructor(options: ActiveAlarmsOptions = {}) {
    const capacity = options.capacity ?? 10_000;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`active alarm capacity must be an integer >= 1, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** Alarms dropped to stay within `capacity` since start. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Active alarms now. */
  get size(): number {
    return this.#alarms.size;
  }

  /** Applies one event: a raise, an update, a clear, or nothing (an `INFO` with no alarm). */
  observe(e: AnomalyEvent): void {
    if (e.severity === "INFO") {
      this.#alarms.delete(keyOf(e.machine, clearedAlarmType(e.type), e.channel));
      return;
    }
    const key = keyOf(e.machine, e.type, e.channel);
    const active = this.#alarms.get(key);
    if (active) {
      // Re-inserted so the map stays ordered by latest raise.
      this.#alarms.delete(key);
      if (RANK[e.severity] > RANK[active.severity]) active.severity = e.severity;
      active.last_at = e.timestamp;
      active.value = e.value;
      active.threshold = e.threshold;
      active.description = e.description;
      active.count++;
      this.#alarms.set(key, active);
      return;
    }
    if (this.#alarms.size >= this.capacity) {
      const oldest = this.#alarms.keys().next().value;
      if (oldest !== undefined) this.#alarms.delete(oldest);
      this.#evicted++;
    }
    const alarm: ActiveAlarm = {
      machine: e.machine,
      type: e.type,
      channel: e.channel,
      severity: e.severity,
      raised_at: e.timestamp,
      last_at: e.timestamp,
      value: e.value,
      threshold: e.threshold,
      description: e.description,
      count: 1,
    };
    if (typeof e.incident === "string") alarm.incident = e.incident;
    this.#alarms.set(key, alarm);
  }

  /**
   * The active alarms matching `filter` (copies), CRITICAL before WARNING, then by `raised_at`
   * (longest active first), then by machine, type and channel so the order is total.
   */
  list(filter: ActiveAlarmFilter = {}): ActiveAlarm[] {
    // Parsed once per alarm, not once per comparison.
    const out: { a: ActiveAlarm; t: number }[] = [];
    for (const a of this.#alarms.values()) {
      if (filter.machine !== undefined && a.machine !== filter.machine) continue;
      if (filter.severity !== undefined && a.severity !== filter.severity) continue;
      out.push({ a: { ...a }, t: Date.parse(a.raised_at) });
    }
    return out.sort((x, y) =>
      RANK[y.a.severity] - RANK[x.a.severity] || x.t - y.t ||
      x.a.machine.localeCompare(y.a.machine) || x.a.type.localeCompare(y.a.type) ||
      (x.a.channel ?? "").localeCompare(y.a.channel ?? "")
    ).map((x) => x.a);
  }
}
