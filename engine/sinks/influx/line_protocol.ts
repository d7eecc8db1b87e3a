/**
 * Vigil's readings, processed rows and anomaly events as InfluxDB line protocol, one point
 * each, every point stamped with its event time in ms (the sink writes with `precision=ms`), so
 * that a point written twice (a replay, a resent batch) overwrites itself.
 *
 * Measurements (fixed names, nothing to escape in them):
 * - `vigil_reading`, tag `machine`: a float field per channel (the channel's name), `status` a
 *   string field when the reading has one.
 * - `vigil_row`, tag `machine`: the columns of `analysis_output.csv` (formats/row_format.ts) as
 *   fields: per channel `<ch>_current`, `<ch>_moving_avg`, `<ch>_zscore` (floats), `<ch>_trend`
 *   (string), plus `<ch>_std` (the window's standard deviation, when the analyzer computed
 *   per-reading values), `status_current`, `status_mode`, `alerts` (strings, alerts joined with
 *   `"; "`), `status_changes` (integer), `health_score` and `anomaly_score` (floats, the latter
 *   with a model).
 * - `vigil_anomaly`, tags `machine`, `type`, `severity`, `channel` (absent for events without
 *   one): fields `value`, `threshold` (floats, when not null) and `description` (string). Raises
 *   and clears alike: a clear has the raise's type and its own time and description.
 *
 * Escaping, as InfluxDB reads line protocol: in tag keys, tag values and field keys a comma, an
 * equals sign and a space get a backslash; in string field values a double quote and a
 * backslash get one. A newline (or carriage return) cannot be escaped anywhere and would end the
 * point, so each becomes a space: a machine id `"a\nb"` is the series `machine=a b` (it then
 * shares that series with a machine actually named `"a b"`). Other backslashes in keys and tag
 * values are written as they are and read back as they are, except one at the end or before a
 * comma, equals sign or space, which InfluxDB 1.x reads as an escape (or refuses the point):
 * it becomes a `/` (`C:\dir\` is written `C:\dir/`). An empty tag value is not allowed:
 * the tag is left out. Non-finite numbers (never in readings, possible in a row) are left out;
 * a point left with no field is not written. Non-ASCII text is written as UTF-8, as is.
 * @module
 */
import type { AnomalyEvent, ProcessedRow, Reading } from "../../core/types.ts";

const NEWLINES = /[\r\n]/g;
const KEY_SPECIALS = /[,= ]/g;
/** A backslash that InfluxDB would read as escaping what follows it (or the point's end). */
const KEY_BACKSLASH = /\\(?=[,= ]|$)/g;
const STRING_SPECIALS = /["\\]/g;

/**
 * A tag key, tag value or field key escaped for line protocol (the module doc's rules).
 *
 * @example
 * ```ts
 * escapeKey("press 1,a=b"); // "press\\ 1\\,a\\=b"
 * escapeKey("line\nbreak"); // "line\\ break"
 * escapeKey("C:\\dir\\"); // "C:\\dir/"
 * ```
 */
export function escapeKey(text: string): string {
  return text.replace(NEWLINES, " ").replace(KEY_BACKSLASH, "/").replace(
    KEY_SPECIALS,
    (c) => "\\" + c,
  );
}

/**
 * A string field value, quoted and escaped (the module doc's rules).
 *
 * @example
 * ```ts
 * stringField('say "hi" \\o/'); // '"say \\"hi\\" \\\\o/"'
 * ```
 */
export function stringField(text: string): string {
  return '"' + text.replace(NEWLINES, " ").replace(STRING_SPECIALS, (c) => "\\" + c) + '"';
}

/** Builds one point's field set; `line` is null when it has no field. */
class Fields {
  #parts: string[] = [];

  number(key: string, value: number | null | undefined): void {
    if (typeof value === "number" && Number.isFinite(value)) {
      this.#parts.push(`${escapeKey(key)}=${value}`);
    }
  }

  integer(key: string, value: number): void {
    if (Number.isSafeInteger(value)) this.#parts.push(`${escapeKey(key)}=${value}i`);
  }

  string(key: string, value: string | null | undefined): void {
    if (typeof value === "string") this.#parts.push(`${escapeKey(key)}=${stringField(value)}`);
  }

  /** The whole line, or null without fields or with an unreadable time. */
  line(measurementAndTags: string, timeMs: number): string | null {
    if (this.#parts.length === 0 || !Number.isFinite(timeMs)) return null;
    return `${measurementAndTags} ${this.#parts.join(",")} ${Math.round(timeMs)}`;
  }
}

/** `measurement,k=v,…` with empty tag values left out. */
function series(measurement: string, tags: readonly [string, string | null][]): string {
  let out = measurement;
  for (const [k, v] of tags) {
    if (v !== null && v !== "") out += `,${k}=${escapeKey(v)}`;
  }
  return out;
}

/**
 * The `vigil_reading` point of a reading; null when it has neither channels nor status.
 *
 * @example
 * ```ts
 * readingPoint({ timestamp: 1767225600000, machine: "m 1", status: "RUNNING",
 *   channels: { temperature: 71.5 } });
 * // 'vigil_reading,machine=m\\ 1 temperature=71.5,status="RUNNING" 1767225600000'
 * ```
 */
export function readingPoint(r: Reading): string | null {
  const f = new Fields();
  for (const name in r.channels) f.number(name, r.channels[name]);
  f.string("status", r.status);
  return f.line(series("vigil_reading", [["machine", r.machine]]), r.timestamp);
}

/**
 * The `vigil_row` point of a processed row; `std` holds each channel's standard deviation over
 * the window when known. Null for a row whose time cannot be read.
 *
 * @example
 * ```ts
 * rowPoint({ timestamp: "2026-01-01T00:00:00.000Z", machine: "m1", status_current: "RUNNING",
 *   status_mode: "RUNNING", status_changes: 0, health_score: 1, alerts: [],
 *   channels: { speed: { current: 1500, moving_avg: 1490, trend: "stable", zscore: 0.4 } } },
 *   { speed: 12.5 });
 * // 'vigil_row,machine=m1 speed_current=1500,speed_moving_avg=1490,speed_std=12.5,…'
 * ```
 */
export function rowPoint(
  row: ProcessedRow,
  std?: Readonly<Record<string, number>>,
): string | null {
  const f = new Fields();
  for (const name in row.channels) {
    const c = row.channels[name]!;
    f.number(`${name}_current`, c.current);
    f.number(`${name}_moving_avg`, c.moving_avg);
    f.number(`${name}_std`, std?.[name]);
    f.number(`${name}_zscore`, c.zscore);
    f.string(`${name}_trend`, c.trend);
  }
  f.string("status_current", row.status_current);
  f.string("status_mode", row.status_mode);
  f.integer("status_changes", row.status_changes);
  f.number("health_score", row.health_score);
  f.string("alerts", row.alerts.join("; "));
  f.number("anomaly_score", row.anomaly_score);
  return f.line(series("vigil_row", [["machine", row.machine]]), Date.parse(row.timestamp));
}

/**
 * The `vigil_anomaly` point of an anomaly event (a raise or a clear).
 *
 * @example
 * ```ts
 * anomalyPoint({ timestamp: "2026-01-01T00:00:00.000Z", machine: "m1", severity: "CRITICAL",
 *   type: "THRESHOLD_BREACH_TEMPERATURE", channel: "temperature", value: 95, threshold: 85,
 *   description: "Temperature 95.00°C exceeds 85.0°C." });
 * // 'vigil_anomaly,machine=m1,type=THRESHOLD_BREACH_TEMPERATURE,severity=CRITICAL,…'
 * ```
 */
export function anomalyPoint(e: AnomalyEvent): string | null {
  const f = new Fields();
  f.number("value", e.value);
  f.number("threshold", e.threshold);
  f.string("description", e.description);
  const tags: [string, string | null][] = [
    ["machine", e.machine],
    ["type", e.type],
    ["severity", e.severity],
    ["channel", e.channel],
  ];
  return f.line(series("vigil_anomaly", tags), Date.parse(e.timestamp));
}
