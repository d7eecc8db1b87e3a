/**
 * Incidents: the alarms of one machine that start together, grouped under one id (as
 * Alertmanager groups alerts by label and PagerDuty folds alerts into an incident), so that a
 * bearing failure that raises vibration, temperature and speed alarms pages once, not three
 * times.
 *
 * Derived from the anomaly events alone, in event time (no wall clock, no detector state), like
 * the active alarms: the live pipeline and a restart's rebuild from `anomalies.jsonl` reach the
 * same state, so a resumed run numbers incidents as an uninterrupted one did.
 *
 * The rule, per machine: an alarm raised while another alarm of the machine is active, or within
 * `windowMs` of event time after the raise that opened the machine's latest incident, joins that
 * incident; any other raise opens a new one, whose id is `<machine>@<that raise's timestamp>`. A
 * clear carries the id of the incident its alarm belongs to. An incident is open while any of
 * its alarms is active (or until its window has passed).
 * @module
 */
import { type ActiveAlarm, AlarmKeys, clearedAlarmType } from "./active_alarms.ts";
import type { AnomalyEvent, Severity } from "./types.ts";

/** Options of {@linkcode Incidents}. */
export interface IncidentsOptions {
  /** Event-time ms after an incident's first raise in which any raise of the machine joins
   * it, even when its alarms have all cleared meanwhile (a flapping alarm, a second symptom a
   * moment later). 0: only alarms raised while another is active join. @default {60000} */
  windowMs?: number;
  /** Machines tracked at most; past it the one whose latest event is oldest is forgotten (its
   * next raise opens a new incident). @default {10000} */
  capacity?: number;
}

/** One machine's latest incident. */
interface MachineIncident {
  id: string;
  /** Epoch ms of the raise that opened it. */
  openedMs: number;
  /** Its active alarms, by type and channel. */
  active: AlarmKeys<true>;
}

/** The default {@linkcode IncidentsOptions.windowMs}. */
export const DEFAULT_INCIDENT_WINDOW_MS = 60_000;

/**
 * Assigns each anomaly event its incident, in event order.
 *
 * @example
 * ```ts
 * import { Incidents } from "./incidents.ts";
 *
 * const incidents = new Incidents({ windowMs: 0 });
 * const e = { machine: "m1", value: 1, threshold: 1, description: "" };
 * incidents.assign({ ...e, timestamp: "2026-01-01T00:00:00.000Z", type: "ANOMALY_TEMP", severity: "WARNING", channel: "temperature" });
 * // "m1@2026-01-01T00:00:00.000Z"
 * incidents.assign({ ...e, timestamp: "2026-01-01T00:00:05.000Z", type: "ANOMALY_SPEED", severity: "CRITICAL", channel: "speed" });
 * // "m1@2026-01-01T00:00:00.000Z": the temperature alarm is still active
 * ```
 */
export class Incidents {
  readonly windowMs: number;
  readonly capacity: number;
  // Insertion order is the order of each machine's latest event: eviction takes the first.
  readonly #machines = new Map<string, MachineIncident>();
  /** The last event time parsed, and its epoch ms: the events of a tick share one time. */
  #lastIso = "";
  #lastMs = NaN;
  /** The entry last (re-)inserted into `#machines`, while it is still its last. */
  #last: MachineIncident | undefined = undefined;

  /** @throws {RangeError} naming a window that is not a finite number ≥ 0 or a capacity that
   * is not an integer ≥ 1. */
  constructor(options: IncidentsOptions = {}) {
    const windowMs = options.windowMs ?? DEFAULT_INCIDENT_WINDOW_MS;
    const capacity = options.capacity ?? 10_000;
    if (!Number.isFinite(windowMs) || windowMs < 0) {
      throw new RangeError(`incident window must be a finite number >= 0 ms, got ${windowMs}`);
    }
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`incident capacity must be an integer >= 1, got ${capacity}`);
    }
    this.windowMs = windowMs;
    this.capacity = capacity;
  }

  /**
   * The incident of `e`, applying it: a raise joins or opens one; a clear returns the incident
   * of the alarm it clears, or null when it clears no alarm known here.
   */
  assign(e: AnomalyEvent): string | null {
    const current = this.#machines.get(e.machine);
    // Re-inserted so the map stays ordered by latest event; not when it is the last already
    // (the events of one reading, or of one machine's burst, come together).
    if (current !== undefined && current !== this.#last) {
      this.#machines.delete(e.machine);
      this.#machines.set(e.machine, current);
      this.#last = current;
    }
    if (e.severity === "INFO") {
      return current?.active.delete(clearedAlarmType(e.type), e.channel) ? current.id : null;
    }
    if (e.timestamp !== this.#lastIso) {
      this.#lastIso = e.timestamp;
      this.#lastMs = Date.parse(e.timestamp);
    }
    const t = this.#lastMs;
    // `t - openedMs` is negative for an event older than the opening raise (input out of
    // order): it joins, so a new incident's opening time is always later than the last one's
    // and its id is new.
    if (current && (current.active.size > 0 || t - current.openedMs <= this.windowMs)) {
      current.active.set(e.type, e.channel, true);
      return current.id;
    }
    if (!current && this.#machines.size >= this.capacity) {
      const oldest = this.#machines.keys().next().value;
      if (oldest !== undefined) this.#machines.delete(oldest);
    }
    const opened: MachineIncident = {
      id: `${e.machine}@${e.timestamp}`,
      openedMs: t,
      active: new AlarmKeys(),
    };
    opened.active.set(e.type, e.channel, true);
    this.#machines.delete(e.machine);
    this.#machines.set(e.machine, opened);
    this.#last = opened;
    return opened.id;
  }

  /**
   * `e` with its incident as a last field, `incident` (null for a clear of no known alarm),
   * applying it as {@linkcode Incidents.assign} does.
   */
  label(e: AnomalyEvent): AnomalyEvent {
    return { ...e, incident: this.assign(e) };
  }
}

/** Active alarms of one incident, as `GET /alarms?group=incident` serves them. */
export interface IncidentGroup {
  /** The incident id; null for an alarm without one (`--detector zscore`), alone in its group. */
  incident: string | null;
  machine: string;
  /** The highest severity of its alarms. */
  severity: Exclude<Severity, "INFO">;
  /** The earliest `raised_at` of its active alarms. */
  raised_at: string;
  /** The latest `last_at` of its active alarms. */
  last_at: string;
  /** Its active alarms, in the order they were given. */
  alarms: ActiveAlarm[];
}

/**
 * `alarms` grouped by incident. Groups keep the order of their first alarm in `alarms`, so the
 * engine's order (CRITICAL first, then longest active) orders the incidents too.
 *
 * @example
 * ```ts
 * import { EngineState } from "./state.ts";
 * import { groupByIncident } from "./incidents.ts";
 *
 * groupByIncident(new EngineState().alarms()); // []
 * ```
 */
export function groupByIncident(alarms: readonly ActiveAlarm[]): IncidentGroup[] {
  const groups: IncidentGroup[] = [];
  const byId = new Map<string, IncidentGroup>();
  for (const a of alarms) {
    const id = a.incident ?? null;
    const group = id === null ? undefined : byId.get(id);
    if (!group) {
      const g: IncidentGroup = {
        incident: id,
        machine: a.machine,
        severity: a.severity,
        raised_at: a.raised_at,
        last_at: a.last_at,
        alarms: [a],
      };
      groups.push(g);
      if (id !== null) byId.set(id, g);
      continue;
    }
    group.alarms.push(a);
    if (a.severity === "CRITICAL") group.severity = "CRITICAL";
    if (Date.parse(a.raised_at) < Date.parse(group.raised_at)) group.raised_at = a.raised_at;
    if (Date.parse(a.last_at) > Date.parse(group.last_at)) group.last_at = a.last_at;
  }
  return groups;
}
