/**
 * The page's copy of the active alarms: replaced by each `GET /alarms` answer (the source of
 * truth) and kept live in between by the `/events` anomaly events, with the engine's own rule
 * (docs/api.md, GET /alarms): a WARNING or CRITICAL event raises or updates the alarm of its
 * machine + type + channel, an INFO event of the same three clears it, HEARTBEAT_RESTORED
 * clears HEARTBEAT_LOSS.
 *
 * Bounded: at most `cap` alarms (ALARM_CAP, 500) are kept, the first in the engine's order
 * (CRITICAL first, then longest active); `total` says how many the engine has. Plain module
 * without DOM, so Deno's tests import it as the page does.
 */

/** Alarms the page keeps and shows; the badge still counts them all. */
export const ALARM_CAP = 500;

/** The type an INFO event of `type` clears: its own, but for the heartbeat pair. */
const CLEARS = /** @type {Record<string, string>} */ ({ HEARTBEAT_RESTORED: "HEARTBEAT_LOSS" });
const RANK = /** @type {Record<string, number>} */ ({ INFO: 0, WARNING: 1, CRITICAL: 2 });

/**
 * @typedef {object} Alarm
 * @property {string} machine
 * @property {string} type
 * @property {string | null} channel
 * @property {string} severity
 * @property {string} raised_at
 * @property {string} last_at
 * @property {number | null} value
 * @property {number | null} threshold
 * @property {string} description
 * @property {number} count
 * @property {string} [incident] the incident of its first raise (the adaptive detector)
 */

/** A key no machine, type or channel text can collide in. */
function keyOf(
  /** @type {string} */ machine,
  /** @type {string} */ type,
  /** @type {string | null} */ channel,
) {
  return JSON.stringify([machine, type, channel]);
}

/** The engine's order: CRITICAL first, then by raised_at, then machine, type, channel. */
function compare(/** @type {Alarm} */ a, /** @type {Alarm} */ b) {
  return (RANK[b.severity] ?? 0) - (RANK[a.severity] ?? 0) ||
    Date.parse(a.raised_at) - Date.parse(b.raised_at) ||
    a.machine.localeCompare(b.machine) || a.type.localeCompare(b.type) ||
    (a.channel ?? "").localeCompare(b.channel ?? "");
}

/**
 * The active alarms as the page knows them.
 *
 * @example
 * ```js
 * const alarms = new AlarmList();
 * alarms.replace((await (await fetch("/alarms")).json()));
 * alarms.apply(anomalyEvent); // true when it changed the list
 * alarms.sorted(); // what the table shows
 * ```
 */
export class AlarmList {
  /** @type {Map<string, Alarm>} */
  #alarms = new Map();
  #cap;
  /** Active alarms in the engine: the last answer's count, moved by live raises and clears
   * (past the cap only roughly, since the clear of an alarm not kept is not seen, until the
   * next answer). */
  total = 0;

  constructor(cap = ALARM_CAP) {
    this.#cap = cap;
  }

  get size() {
    return this.#alarms.size;
  }

  /** Replaces the list with a `GET /alarms` answer (`{count, alarms}`), keeping the first `cap`. */
  replace(/** @type {{count: number, alarms: Alarm[]}} */ answer) {
    this.#alarms.clear();
    for (const a of answer.alarms.slice(0, this.#cap)) {
      this.#alarms.set(keyOf(a.machine, a.type, a.channel), { ...a });
    }
    this.total = answer.count;
  }

  /**
   * Applies one anomaly event; returns whether the list changed. Events the last answer already
   * held change nothing when applied again in order (a raise not newer than the alarm's
   * `last_at` is skipped, a clear older than its `raised_at` too, and a raise the answer no
   * longer has is followed by its clear), so the events that came while /alarms was being read
   * can be applied to its answer.
   */
  apply(/** @type {any} */ e) {
    const t = Date.parse(e.timestamp);
    if (e.severity === "INFO") {
      const key = keyOf(e.machine, CLEARS[e.type] ?? e.type, e.channel ?? null);
      const a = this.#alarms.get(key);
      if (!a || t < Date.parse(a.raised_at)) return false;
      this.#alarms.delete(key);
      this.total = Math.max(this.total - 1, this.#alarms.size);
      return true;
    }
    if (e.severity !== "WARNING" && e.severity !== "CRITICAL") return false;
    const key = keyOf(e.machine, e.type, e.channel ?? null);
    const a = this.#alarms.get(key);
    if (a) {
      if (t <= Date.parse(a.last_at)) return false;
      if (RANK[e.severity] > (RANK[a.severity] ?? 0)) a.severity = e.severity;
      a.last_at = e.timestamp;
      a.value = e.value;
      a.threshold = e.threshold;
      a.description = e.description;
      a.count++;
      return true;
    }
    /** @type {Alarm} */
    const alarm = {
      machine: e.machine,
      type: e.type,
      channel: e.channel ?? null,
      severity: e.severity,
      raised_at: e.timestamp,
      last_at: e.timestamp,
      value: e.value,
      threshold: e.threshold,
      description: e.description ?? "",
      count: 1,
    };
    // As the engine keeps it: the incident of the first raise, when events carry one.
    if (typeof e.incident === "string") alarm.incident = e.incident;
    this.#alarms.set(key, alarm);
    this.total++;
    if (this.#alarms.size > this.#cap) {
      // Over the cap: drop the one the engine's order puts last (least severe, newest).
      const last = this.sorted().at(-1);
      if (last) this.#alarms.delete(keyOf(last.machine, last.type, last.channel));
    }
    return true;
  }

  /** The alarms in the engine's order. */
  sorted() {
    return [...this.#alarms.values()].sort(compare);
  }
}
