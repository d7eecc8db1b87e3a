/**
 * What every input format holds a reading to besides its syntax: the machine id, the status
 * word, and the `kv` keys of the `device` profile. One home, so that JSONL, CSV, `kv`, `raw` and
 * Parquet refuse the same values with the same error text (docs/input-formats.md).
 * @module
 */

/** The `kv` keys each line of the `device` profile carries: `S` always, `T` and `V` unless the
 * state is `OFFLINE` (a device that reports itself offline sends no values). */
export const DEVICE_KV_KEYS: readonly string[] = ["T", "V", "S"];

/** The longest machine id, in UTF-16 code units. */
export const MAX_MACHINE_ID_LENGTH = 128;

// C0 controls (newline, tab, NUL…), DEL and the C1 controls: they would split or garble the id
// in every line-based output (logs, CSV, Prometheus labels, SSE).
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why `id` is not a machine id, or `null` when it is one: 1 to {@linkcode MAX_MACHINE_ID_LENGTH}
 * characters, no control character, no white space at either end.
 *
 * @example
 * ```ts
 * machineIdError("press-1"); // null
 * machineIdError("a\nb"); // 'bad machine id "a\\nb": holds a control character'
 * ```
 */
export function machineIdError(id: string): string | null {
  if (GOOD_IDS.has(id)) return null;
  const bad = (why: string) => `bad machine id ${JSON.stringify(id.slice(0, 80))}: ${why}`;
  if (id === "") return bad("empty");
  if (id.length > MAX_MACHINE_ID_LENGTH) {
    return bad(`longer than ${MAX_MACHINE_ID_LENGTH} characters (${id.length})`);
  }
  if (CONTROL.test(id)) return bad("holds a control character");
  if (id.trim() !== id) return bad("white space at its start or end");
  remember(GOOD_IDS, id);
  return null;
}

// Ids and status words that passed: a handful of short strings repeated in every reading, so a
// set lookup saves the checks on each. Bounded: arbitrary input cannot grow it without limit.
const GOOD_CAPACITY = 65_536;
const GOOD_IDS = new Set<string>();
const GOOD_STATUSES = new Set<string>();

function remember(good: Set<string>, s: string): void {
  if (good.size < GOOD_CAPACITY) good.add(s);
}

/** The longest status word. */
export const MAX_STATUS_LENGTH = 32;

// A word in capitals: the form of every status Vigil knows, and of the `kv` wire format's `S:`.
const STATUS_WORD = /^[A-Z][A-Z0-9_]*$/;

/**
 * Why `status` is not a status word, or `null` when it is one: a capital letter, then capitals,
 * digits or `_`, at most {@linkcode MAX_STATUS_LENGTH} characters (`RUNNING`, `WARNING_TEMP`,
 * `IDLE`). Anything else (`running`, `ok`, `Running `, `WARN-1`) is a parser error: the
 * detectors compare status words exactly, so a variant spelling would pass unnoticed.
 * Well-formed words Vigil does not know are kept (see `isKnownStatus`).
 *
 * @example
 * ```ts
 * statusError("IDLE"); // null
 * statusError("running"); // 'bad status "running": …'
 * ```
 */
export function statusError(status: string): string | null {
  if (GOOD_STATUSES.has(status)) return null;
  if (status.length <= MAX_STATUS_LENGTH && STATUS_WORD.test(status)) {
    remember(GOOD_STATUSES, status);
    return null;
  }
  return `bad status ${
    JSON.stringify(status.slice(0, 80))
  }: a status is a word of capitals, digits and _ starting with a capital, at most ${MAX_STATUS_LENGTH} characters (RUNNING, PAUSED, WARNING_TEMP)`;
}

/** 2000-01-01T00:00:00Z: the earliest epoch ms a time column found by position (no `timestamp`
 * or `datetime` column: the first one) is taken as holding. */
export const EARLIEST_UNNAMED_TIME = 946_684_800_000;

/**
 * The error of every row of a CSV or Parquet file without a time column by name whose first
 * column holds measurements, not times: read as epoch ms they gave 1970 dates, and the channel
 * was gone.
 *
 * @example
 * ```ts
 * unnamedTimeError("pressure", "3.2"); // 'no time column: name it "timestamp" or …'
 * ```
 */
export function unnamedTimeError(column: string, value: string): string {
  return `no time column: name it "timestamp" or "datetime" (the first column, ${
    JSON.stringify(column)
  }, holds ${
    JSON.stringify(value.slice(0, 80))
  }, not an ISO 8601 time or epoch ms from 2000-01-01)`;
}
