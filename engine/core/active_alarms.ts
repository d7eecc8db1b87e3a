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

/** Entries an {@linkcode AlarmKeys} searches as a list, at most; past them, maps. */
export const LIST_MAX = 32;

/**
 * Values by alarm type and channel, for one machine (its active alarms, or its incident's): a
 * short list searched in order, `[type, channel, value, …]`. Not a map keyed by a string built
 * of the three, which cost a `JSON.stringify` and the hashing of a new string per event, nor
 * maps of maps, which cost a map or two per raise. A lookup is linear in the machine's active
 * alarms: mostly a handful (a few kinds per channel of one machine), whose types the engine
 * hands as the same strings event after event (event_text.ts), so a comparison is mostly a
 * pointer's. Past {@linkcode LIST_MAX} entries (a machine of many channels in alarm, up to the
 * engine's 10,000 alarms) they move to maps of maps, so that a lookup stays one step: a list
 * of 9,000 made a replay of one machine's 3,000 channels half as slow again (review, 4.0–4.7
 * against 6.2–6.3 CPU-s).
 *
 * @example
 * ```ts
 * import { AlarmKeys } from "./active_alarms.ts";
 *
 * const keys = new AlarmKeys<number>();
 * keys.set("ZSCORE_TEMP", "temperature", 1);
 * keys.get("ZSCORE_TEMP", "temperature"); // 1
 * keys.delete("ZSCORE_TEMP", null); // false: another channel
 * keys.size; // 1
 * ```
 */
export class AlarmKeys<V> {
  /** Type, channel and value of each entry, in turn (while there are at most LIST_MAX). */
  readonly #entries: (string | null | V)[] = [];
  /** Past LIST_MAX entries: the values by type, then channel (and `#entries` is left empty). */
  #byType: Map<string, Map<string | null, V>> | null = null;
  #mapped = 0;

  /** Entries now. */
  get size(): number {
    return this.#byType === null ? this.#entries.length / 3 : this.#mapped;
  }

  /** The index in `#entries` of `type` on `channel`, or -1. */
  #find(type: string, channel: string | null): number {
    const entries = this.#entries;
    for (let i = 0; i < entries.length; i += 3) {
      if (entries[i] === type && entries[i + 1] === channel) return i;
    }
    return -1;
  }

  /** The value of `type` on `channel`, or `undefined`. */
  get(type: string, channel: string | null): V | undefined {
    if (this.#byType !== null) return this.#byType.get(type)?.get(channel);
    const i = this.#find(type, channel);
    return i < 0 ? undefined : this.#entries[i + 2] as V;
  }

  /** Sets the value of `type` on `channel`. */
  set(type: string, channel: string | null, value: V): void {
    if (this.#byType === null) {
      const i = this.#find(type, channel);
      if (i >= 0) {
        this.#entries[i + 2] = value;
        return;
      }
      if (this.#entries.length < 3 * LIST_MAX) {
        this.#entries.push(type, channel, value);
        return;
      }
      this.#toMaps();
    }
    const byType = this.#byType!;
    let byChannel = byType.get(type);
    if (byChannel === undefined) byType.set(type, byChannel = new Map());
    if (!byChannel.has(channel)) this.#mapped++;
    byChannel.set(channel, value);
  }

  /** Removes `type` on `channel`; whether it was there. In the list the last entry takes its
   * place: the order of a machine's entries means nothing. */
  delete(type: string, channel: string | null): boolean {
    if (this.#byType !== null) {
      const byChannel = this.#byType.get(type);
      if (byChannel === undefined || !byChannel.delete(channel)) return false;
      if (byChannel.size === 0) this.#byType.delete(type);
      this.#mapped--;
      return true;
    }
    const i = this.#find(type, channel);
    if (i < 0) return false;
    const entries = this.#entries;
    const last = entries.length - 3;
    entries[i] = entries[last]!;
    entries[i + 1] = entries[last + 1]!;
    entries[i + 2] = entries[last + 2]!;
    entries.length = last;
    return true;
  }

  /** The list's entries moved to the maps (once: a machine that had this many keeps them). */
  #toMaps(): void {
    const entries = this.#entries;
    const byType = new Map<string, Map<string | null, V>>();
    for (let i = 0; i < entries.length; i += 3) {
      const type = entries[i] as string;
      let byChannel = byType.get(type);
      if (byChannel === undefined) byType.set(type, byChannel = new Map());
      byChannel.set(entries[i + 1] as string | null, entries[i + 2] as V);
    }
    this.#mapped = entries.length / 3;
    entries.length = 0;
    this.#byType = byType;
  }
}

/**
 * The active alarms, bounded by `capacity`. `#order` holds them in the order of their latest
 * raises (an update moves the alarm to the end), so eviction is O(1): the first one.
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
  /** Each machine's active alarms (a machine with none has no entry). */
  readonly #machines = new Map<string, AlarmKeys<ActiveAlarm>>();
  /** Every active alarm, in the order of its latest raise. */
  readonly #order = new Set<ActiveAlarm>();
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
    return this.#order.size;
  }

  /** Applies one event: a raise, an update, a clear, or nothing (an `INFO` with no alarm). */
  observe(e: AnomalyEvent): void {
    const keys = this.#machines.get(e.machine);
    if (e.severity === "INFO") {
      if (keys !== undefined) this.#remove(keys, clearedAlarmType(e.type), e.channel);
      return;
    }
    const active = keys?.get(e.type, e.channel);
    if (active !== undefined) {
      if (RANK[e.severity] > RANK[active.severity]) active.severity = e.severity;
      active.last_at = e.timestamp;
      active.value = e.value;
      active.threshold = e.threshold;
      active.description = e.description;
      active.count++;
      // Moved to the end: `#order` stays in the order of latest raises.
      this.#order.delete(active);
      this.#order.add(active);
      return;
    }
    if (this.#order.size >= this.capacity) {
      const oldest = this.#order.values().next().value;
      if (oldest !== undefined) {
        const its = this.#machines.get(oldest.machine);
        if (its !== undefined) this.#remove(its, oldest.type, oldest.channel);
      }
      this.#evicted++;
    }
    const alarm = newAlarm(e);
    // Looked up again: the eviction may have removed the machine's last alarm, and its map.
    const its = this.#machines.get(e.machine);
    if (its !== undefined) its.set(e.type, e.channel, alarm);
    else {
      const created = new AlarmKeys<ActiveAlarm>();
      created.set(e.type, e.channel, alarm);
      this.#machines.set(e.machine, created);
    }
    this.#order.add(alarm);
  }

  /** Removes the alarm of `type` on `channel` of the machine whose alarms are `keys`, if any. */
  #remove(keys: AlarmKeys<ActiveAlarm>, type: string, channel: string | null): void {
    const alarm = keys.get(type, channel);
    if (alarm === undefined) return;
    keys.delete(type, channel);
    if (keys.size === 0) this.#machines.delete(alarm.machine);
    this.#order.delete(alarm);
  }

  /**
   * The active alarms matching `filter` (copies), CRITICAL before WARNING, then by `raised_at`
   * (longest active first), then by machine, type and channel so the order is total.
   */
  list(filter: ActiveAlarmFilter = {}): ActiveAlarm[] {
    // Parsed once per alarm, not once per comparison.
    const out: { a: ActiveAlarm; t: number }[] = [];
    for (const a of this.#order) {
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

/** A new alarm raised by `e`. Its fields always in this order, `incident` last when there is
 * one: the two shapes `list` copies. */
function newAlarm(e: AnomalyEvent): ActiveAlarm {
  const alarm: ActiveAlarm = {
    machine: e.machine,
    type: e.type,
    channel: e.channel,
    // Only a raise (WARNING or CRITICAL) makes an alarm: `observe` returned on INFO.
    severity: e.severity as Exclude<Severity, "INFO">,
    raised_at: e.timestamp,
    last_at: e.timestamp,
    value: e.value,
    threshold: e.threshold,
    description: e.description,
    count: 1,
  };
  if (typeof e.incident === "string") alarm.incident = e.incident;
  return alarm;
}

/**
 * Makes the hidden classes of anomaly events and active alarms general from the start. Events
 * are built by literals all over the engine (event_text.ts, the heartbeat, device status) that
 * V8 gives one class; its `value` and `threshold` fields take a small integer, a fraction or
 * null, `channel` a string or null. Each kind of value first seen mid-run (the first heartbeat
 * loss's null value, in a 1 M replay) generalized a field of that class and deoptimized the
 * code built on it: `alarmEvents` (recompiled by TurboFan, ~10 ms of CPU) and
 * `ActiveAlarms.observe`. Shown every kind here, once at load, the classes need no change.
 */
function generalizeShapes(): void {
  const kinds: [string | null, number | null][] = [["", 1], ["", 0.5], [null, null]];
  for (const [channel, x] of kinds) {
    const e: AnomalyEvent = {
      timestamp: "",
      machine: "",
      type: "",
      severity: "WARNING",
      channel,
      value: x,
      threshold: x,
      description: "",
    };
    newAlarm(e).count++;
  }
}
generalizeShapes();
