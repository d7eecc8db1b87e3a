/**
 * Vigil's anomaly events (`anomalies.jsonl`) turned into per-row figures of a labelled file:
 *
 * - {@link alarmRows}: the row at which each alarm was raised (what NAB scores: an alarm is a
 *   detection at one row);
 * - {@link alarmStateRows}: whether some alarm of the machine is standing at each row (what SKAB
 *   scores: its labels mark every row of an anomaly, so the state is compared row by row).
 *
 * An event raises an alarm when its severity is `WARNING` or `CRITICAL`; an `INFO` event clears
 * the alarm of the same machine, type and channel (`HEARTBEAT_RESTORED` clears
 * `HEARTBEAT_LOSS`). See docs/events.md.
 *
 * An event goes to the row of the reading that raised it: the first row whose timestamp equals
 * the event's, else (an event timed between readings, such as `HEARTBEAT_LOSS` at last reading +
 * timeout) the first row after it. An event after the last row maps to no row and is counted in
 * `unmapped`.
 *
 * @module
 */
import { clearedAlarmType } from "../core/active_alarms.ts";

/** The fields of an anomaly event (docs/events.md) these functions read. */
export interface AlarmEvent {
  /** ISO 8601, or epoch ms. */
  readonly timestamp: string | number;
  readonly machine: string;
  readonly type: string;
  readonly severity: string;
  readonly channel: string | null;
}

/**
 * Whether an event raises an alarm (`WARNING` or `CRITICAL`) rather than clearing one (`INFO`).
 *
 * @example
 * ```ts
 * raisesAlarm({ timestamp: 0, machine: "m1", type: "ZSCORE_VALUE", severity: "WARNING", channel: "value" }); // true
 * ```
 */
export function raisesAlarm(event: AlarmEvent): boolean {
  return event.severity === "WARNING" || event.severity === "CRITICAL";
}

/**
 * The events of an `anomalies.jsonl` text, in file order (blank lines skipped).
 *
 * @example
 * ```ts
 * parseAnomalyLines('{"timestamp":"2014-04-10T00:00:00.000Z","machine":"m1","type":"ZSCORE_VALUE","severity":"WARNING","channel":"value"}\n').length; // 1
 * ```
 */
export function parseAnomalyLines(text: string): AlarmEvent[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as AlarmEvent);
}

const timeOf = (t: string | number): number => typeof t === "number" ? t : Date.parse(t);

/** Maps timestamps to rows; built once per file. */
export class RowIndex {
  readonly #first = new Map<number, number>();
  readonly #timestamps: readonly number[];
  readonly #sorted: boolean;

  /** `timestamps`: the file's rows, epoch ms, in file order. */
  constructor(timestamps: readonly number[]) {
    this.#timestamps = timestamps;
    let sorted = true;
    for (let i = 0; i < timestamps.length; i++) {
      const t = timestamps[i]!;
      if (!this.#first.has(t)) this.#first.set(t, i);
      if (i > 0 && t < timestamps[i - 1]!) sorted = false;
    }
    this.#sorted = sorted;
  }

  /**
   * The row of an event time: the first row with that timestamp, else the first row after it
   * (in file order), else null.
   *
   * @example
   * ```ts
   * const index = new RowIndex([0, 10, 10, 20]);
   * index.rowOf(10); // 1
   * index.rowOf(15); // 3
   * index.rowOf(25); // null
   * ```
   */
  rowOf(time: number): number | null {
    const exact = this.#first.get(time);
    if (exact !== undefined) return exact;
    const ts = this.#timestamps;
    if (!this.#sorted) {
      for (let i = 0; i < ts.length; i++) if (ts[i]! > time) return i;
      return null;
    }
    let lo = 0, hi = ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ts[mid]! > time) hi = mid;
      else lo = mid + 1;
    }
    return lo < ts.length ? lo : null;
  }
}

/** {@link alarmRows}' and {@link alarmStateRows}' result. */
export interface RowFlags {
  /** One flag per row. */
  readonly flags: boolean[];
  /** Events after the last row (mapped to no row). */
  readonly unmapped: number;
}

/**
 * One flag per row: true where at least one event raised an alarm on that row's reading.
 *
 * @example
 * ```ts
 * const e = (t: number, severity: string) =>
 *   ({ timestamp: t, machine: "m1", type: "ZSCORE_VALUE", severity, channel: "value" });
 * alarmRows([0, 10, 20, 30], [e(10, "WARNING"), e(20, "INFO")]).flags;
 * // [false, true, false, false]
 * ```
 */
export function alarmRows(timestamps: readonly number[], events: readonly AlarmEvent[]): RowFlags {
  const index = new RowIndex(timestamps);
  const flags = new Array<boolean>(timestamps.length).fill(false);
  let unmapped = 0;
  for (const event of events) {
    const row = index.rowOf(timeOf(event.timestamp));
    if (row === null) unmapped++;
    else if (raisesAlarm(event)) flags[row] = true;
  }
  return { flags, unmapped };
}

/**
 * One flag per row: true while some alarm of the file's machines stands — from the row of a
 * raising event up to (not including) the row of the `INFO` event of the same machine, type and
 * channel that clears it; an alarm never cleared stands to the last row. Events of one row apply
 * in file order, and the row takes the state after them.
 *
 * @example
 * ```ts
 * const e = (t: number, severity: string) =>
 *   ({ timestamp: t, machine: "m1", type: "THRESHOLD_BREACH_TEMP", severity, channel: "temperature" });
 * alarmStateRows([0, 10, 20, 30, 40], [e(10, "CRITICAL"), e(30, "INFO")]).flags;
 * // [false, true, true, false, false]
 * ```
 */
export function alarmStateRows(
  timestamps: readonly number[],
  events: readonly AlarmEvent[],
): RowFlags {
  const index = new RowIndex(timestamps);
  const byRow = new Map<number, AlarmEvent[]>();
  let unmapped = 0;
  for (const event of events) {
    const row = index.rowOf(timeOf(event.timestamp));
    if (row === null) {
      unmapped++;
      continue;
    }
    const list = byRow.get(row);
    if (list === undefined) byRow.set(row, [event]);
    else list.push(event);
  }
  const key = (machine: string, type: string, channel: string | null) =>
    JSON.stringify([machine, type, channel]);
  const standing = new Set<string>();
  const flags = new Array<boolean>(timestamps.length).fill(false);
  for (let row = 0; row < timestamps.length; row++) {
    for (const event of byRow.get(row) ?? []) {
      if (raisesAlarm(event)) standing.add(key(event.machine, event.type, event.channel));
      else if (event.severity === "INFO") {
        standing.delete(key(event.machine, clearedAlarmType(event.type), event.channel));
      }
    }
    flags[row] = standing.size > 0;
  }
  return { flags, unmapped };
}
