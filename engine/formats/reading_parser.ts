/**
 * Line parsers for the input formats of the contract: JSONL, CSV (`,` or `;`), the serial
 * key-value wire format, and `raw.log` (received `kv` lines with their receive times). A parser
 * never throws on bad input: it returns the error text, and the caller logs and counts it.
 * @module
 */
import { CsvRows } from "./csv.ts";
import { parseRawLine } from "./raw_line.ts";
import {
  DEVICE_KV_KEYS,
  EARLIEST_UNNAMED_TIME,
  machineIdError,
  statusError,
  unnamedTimeError,
} from "./reading_rules.ts";
import type { Reading } from "../core/types.ts";

import type { InputFormat } from "../core/input_format.ts";

/** What a parser makes of one line: a reading, an error text, or `null` for a line to skip
 * (blank, or a CSV header). */
export type ParseResult = Reading | string | null;

/** Parses one line at a time; CSV parsers keep the header between calls. */
export interface LineParser {
  parse(line: string): ParseResult;
  /** `raw` only, after each `parse`: the received line and receive time the parsed line
   * carried, null when it could not be read. For `parser_errors.log`, so that a replayed
   * rejection reads as the live one did. */
  readonly received?: { line: string; time: number } | null;
}

/** Options of {@linkcode createLineParser}. */
export interface LineParserOptions {
  /** Event time for lines that carry none (the `kv` wire format); epoch ms. @default {Date.now} */
  now?: () => number;
  /** Longer lines are rejected. @default {65536} */
  maxLineLength?: number;
  /**
   * Told, once per parser, of what it decided about the input that is not an error of one line
   * (CSV: a text column ignored, no time column by name). For the log. @default {none}
   */
  onNotice?: (message: string) => void;
  /**
   * `kv` and `raw`: each line must carry what the `device` profile reads (see
   * `DEVICE_KV_KEYS`); a line that lacks one of them is a parser error naming it.
   * @default {false}
   */
  deviceKeys?: boolean;
}

/** Channel names of the `kv` keys. */
const KV_CHANNELS: Record<string, string> = { T: "temperature", V: "voltage" };

// ISO 8601 without a zone, or with a space instead of `T` (NAB's `2013-12-02 21:15:00`): the
// contract's files are UTC, while Date.parse would read such a string as local time.
const NAIVE_TIME = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d(?::\d\d(?:\.\d+)?)?)$/;

// The other ISO 8601 forms taken: a date alone (UTC midnight, as Date.parse reads it) or a time
// with an offset. Date.parse alone is lenient beyond ISO (`"not a time 1"` is 2001-01-01 in
// V8), so a string must have one of these shapes before it is parsed.
const ZONED_TIME = /^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d))?$/;

/** `YYYY-MM-DDT…Z` at a glance: the normalised form, checked cheaply on the hot path. */
function looksIsoZ(v: string): boolean {
  return v.length >= 17 && v.charCodeAt(4) === 45 && v.charCodeAt(7) === 45 &&
    v.charCodeAt(10) === 84 && v.charCodeAt(13) === 58;
}

// Readings come in ticks that share one timestamp string: the last conversion is reused.
let lastTimeText = "";
let lastTimeMs = 0;

/** The largest |epoch ms| a `Date` holds (±100,000,000 days, ECMA-262 §21.4.1.1). */
export const MAX_TIME_MS = 8.64e15;

/**
 * `ms` when a `Date` can hold it, else `null`: a time outside that range would throw
 * `RangeError: Invalid time value` in every `toISOString` downstream (outputs, events,
 * the API), so it is a bad line, not a reading.
 *
 * @example
 * ```ts
 * inDateRange(0); // 0
 * inDateRange(1e20); // null
 * ```
 */
export function inDateRange(ms: number): number | null {
  return ms >= -MAX_TIME_MS && ms <= MAX_TIME_MS ? ms : null; // false for NaN too
}

/**
 * Epoch ms of an ISO 8601 string or an epoch-ms number/string; `null` when it is neither, or
 * when it is outside the range of a `Date` (see {@linkcode inDateRange}).
 *
 * @example
 * ```ts
 * parseTime("2026-01-01T00:00:00Z"); // 1767225600000
 * parseTime(1e20); // null
 * ```
 */
export function parseTime(value: unknown): number | null {
  if (typeof value === "number") return inDateRange(value);
  if (typeof value !== "string" || value === "") return null;
  if (value === lastTimeText) return lastTimeMs;
  let ms: number;
  if (value.charCodeAt(value.length - 1) === 90 /* Z */ && looksIsoZ(value)) {
    ms = Date.parse(value); // the zoned form every normalised line carries
  } else if (/^\d+(\.\d+)?$/.test(value)) {
    ms = Number(value);
    if (inDateRange(ms) === null) return null;
  } else {
    const naive = NAIVE_TIME.exec(value);
    if (naive) ms = Date.parse(`${naive[1]}T${naive[2]}Z`);
    else if (ZONED_TIME.test(value)) ms = Date.parse(value);
    else return null;
  }
  if (Number.isNaN(ms)) return null;
  lastTimeText = value;
  lastTimeMs = ms;
  return ms;
}

/** Why a line is not a JSON object: {@linkcode jsonRecord}'s answer for a bad line. */
export class JsonRecordError {
  /** @param notJson `JSON.parse`'s message when the line is not JSON; `null` when it is JSON
   * but not an object (an array, a string, a number, `null`). */
  constructor(readonly notJson: string | null) {}
}

/**
 * One JSONL line as an object, or a {@linkcode JsonRecordError} saying why it is not one: the
 * record rule of replay's JSON parser and of the table reader of `train` and `score`.
 *
 * @example
 * ```ts
 * jsonRecord('{"timestamp": 0, "x": 1}'); // { timestamp: 0, x: 1 }
 * (jsonRecord("[1]") as JsonRecordError).notJson; // null: JSON, not an object
 * (jsonRecord("{") as JsonRecordError).notJson; // "Expected property name or '}' …"
 * ```
 */
export function jsonRecord(line: string): Record<string, unknown> | JsonRecordError {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return new JsonRecordError((e as Error).message);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return new JsonRecordError(null);
  }
  return value as Record<string, unknown>;
}

/** Creates the parser of `format`. */
export function createLineParser(format: InputFormat, options: LineParserOptions = {}): LineParser {
  const max = options.maxLineLength ?? 65536;
  if (format === "raw") {
    // The limit applies to the received line, as live: its raw.log form is longer (time
    // prefix, quotes, escapes of up to 6 characters each).
    const inner = new RawLineParser(max, options.deviceKeys ?? false);
    const rawMax = max * 6 + 64;
    return {
      parse(line: string): ParseResult {
        inner.received = null;
        if (line.length > rawMax) return `line longer than ${rawMax} characters`;
        if (line.trim() === "") return null;
        return inner.parse(line);
      },
      get received() {
        return inner.received;
      },
    };
  }
  const inner = format === "json"
    ? new JsonLineParser()
    : format === "csv"
    ? new CsvLineParser(options.onNotice ?? (() => {}))
    : new KvLineParser(options.now ?? Date.now, options.deviceKeys ?? false);
  return {
    parse(line: string): ParseResult {
      if (line.length > max) return `line longer than ${max} characters`;
      if (line.trim() === "") return null;
      return inner.parse(line);
    },
  };
}

class JsonLineParser implements LineParser {
  parse(line: string): ParseResult {
    const rec = jsonRecord(line);
    if (rec instanceof JsonRecordError) {
      return rec.notJson === null ? "not a JSON object" : `invalid JSON: ${rec.notJson}`;
    }
    const timestamp = parseTime(rec.timestamp);
    if (timestamp === null) {
      return rec.timestamp === undefined
        ? "missing timestamp"
        : `bad timestamp: ${JSON.stringify(rec.timestamp)}`;
    }
    const machine = rec.machine ?? "m1";
    if (typeof machine !== "string" && typeof machine !== "number") {
      return `bad machine: ${JSON.stringify(machine)}`;
    }
    const machineError = machineIdError(String(machine));
    if (machineError !== null) return machineError;
    const status = rec.status ?? null;
    if (status !== null && typeof status !== "string") {
      return `bad status: ${JSON.stringify(status)}`;
    }
    const badStatus = status === null ? null : statusError(status);
    if (badStatus !== null) return badStatus;
    const channels: Record<string, number> = {};
    let n = 0;
    for (const key in rec) {
      const v = rec[key];
      if (typeof v !== "number" || key === "timestamp" || key === "machine") continue;
      // JSON.parse turns 1e999 into Infinity; the kernel must never see it.
      if (!Number.isFinite(v)) return `${key} is not finite`;
      channels[key] = v;
      n++;
    }
    if (n === 0 && status === null) return "no numeric channel";
    const reading: Reading = { timestamp, machine: String(machine), status, channels };
    if (typeof rec.injected === "string") reading.injected = rec.injected;
    return reading;
  }
}

/** Column names that are never a channel: the time, the machine, the status, the fault label. */
export const RESERVED_COLUMNS: ReadonlySet<string> = new Set([
  "timestamp",
  "datetime",
  "machine",
  "status",
  "injected",
]);

/** What a CSV column holds, learnt from its first non-empty cell (CSV has no types); `text`
 * columns are ignored, as the Parquet reader ignores string columns. */
type ColumnKind = "unknown" | "number" | "text";

// "NaN" and "inf" in a numeric column are bad values of it (an error), not a sign of text.
const NON_FINITE = /^[+-]?(?:nan|inf(?:inity)?)$/i;

class CsvLineParser implements LineParser {
  readonly #rows = new CsvRows();
  #header: readonly string[] = [];
  #kinds: ColumnKind[] = [];
  #time = 0;
  /** No time column by name: whether the first column holds times is decided by its first
   * cell (`unchecked` until then); `null` once it does, else the error of every row. */
  #unnamedTime: "unchecked" | string | null = null;
  #machine = -1;
  #status = -1;
  #injected = -1;

  constructor(readonly notice: (message: string) => void) {}

  /**
   * Without a `timestamp` or `datetime` column, the first column is the time when its first
   * cell is one: ISO 8601 text, or a number of epoch ms from 2000-01-01 on. A smaller number is
   * a measurement, not a time: read as epoch ms it gave 1970 dates and lost that channel. Then
   * every row is an error saying so (`null`: the first column is the time).
   */
  #firstColumnTime(cell: string): string | null {
    const name = JSON.stringify(this.#header[0]);
    const n = cell === "" ? NaN : Number(cell);
    const time = Number.isFinite(n) ? (n >= EARLIEST_UNNAMED_TIME ? n : null) : parseTime(cell);
    if (time !== null) {
      this.notice(
        `no "timestamp" or "datetime" column: the first column, ${name}, is read as the time ` +
          `(a row whose cell there is not a time is a parser error)`,
      );
      return null;
    }
    const error = unnamedTimeError(this.#header[0]!, cell);
    this.notice(`${error}: every row is a parser error`);
    return error;
  }

  parse(line: string): ParseResult {
    const cells = this.#rows.next(line);
    if (cells === null) {
      const header = this.#rows.columns!;
      const lower = header.map((h) => h.toLowerCase());
      const t = lower.findIndex((h) => h === "timestamp" || h === "datetime");
      this.#time = t === -1 ? 0 : t;
      this.#unnamedTime = t === -1 ? "unchecked" : null;
      this.#machine = lower.indexOf("machine");
      this.#status = lower.indexOf("status");
      this.#injected = lower.indexOf("injected");
      this.#header = header;
      this.#kinds = header.map((): ColumnKind => "unknown");
      return null;
    }
    const header = this.#header;
    if (cells.length !== header.length) {
      return `expected ${header.length} columns, got ${cells.length}`;
    }
    const rawTime = cells[this.#time]!.trim();
    if (this.#unnamedTime !== null) {
      if (this.#unnamedTime === "unchecked") this.#unnamedTime = this.#firstColumnTime(rawTime);
      if (this.#unnamedTime !== null) return this.#unnamedTime;
    }
    const timestamp = parseTime(rawTime);
    if (timestamp === null) return `bad timestamp: ${JSON.stringify(rawTime)}`;
    const channels: Record<string, number> = {};
    let n = 0;
    for (let i = 0; i < cells.length; i++) {
      if (
        i === this.#time || i === this.#machine || i === this.#status || i === this.#injected ||
        RESERVED_COLUMNS.has(header[i]!.toLowerCase())
      ) continue;
      const kind = this.#kinds[i];
      if (kind === "text") continue;
      const cell = cells[i]!.trim();
      if (cell === "") continue;
      const v = Number(cell);
      if (kind === "unknown") {
        if (Number.isNaN(v) && !NON_FINITE.test(cell)) {
          this.#kinds[i] = "text";
          this.notice(
            `column ${JSON.stringify(header[i])} is not numeric (first value ${
              JSON.stringify(cell.slice(0, 80))
            }): ignored, as string columns of Parquet are`,
          );
          continue;
        }
        this.#kinds[i] = "number";
      }
      if (!Number.isFinite(v)) {
        return `column ${header[i]}: ${JSON.stringify(cell)} is not a number`;
      }
      channels[header[i]!] = v;
      n++;
    }
    const status = this.#status === -1 ? null : cells[this.#status]!.trim() || null;
    const badStatus = status === null ? null : statusError(status);
    if (badStatus !== null) return badStatus;
    if (n === 0 && status === null) return "no numeric channel";
    // An empty cell is no machine, as an absent JSON field: `m1`.
    const machine = this.#machine === -1 ? "m1" : cells[this.#machine]!.trim() || "m1";
    const machineError = machineIdError(machine);
    if (machineError !== null) return machineError;
    const reading: Reading = { timestamp, machine, status, channels };
    const injected = this.#injected === -1 ? "" : cells[this.#injected]!.trim();
    if (injected !== "") reading.injected = injected;
    return reading;
  }
}

class KvLineParser implements LineParser {
  constructor(readonly now: () => number, readonly deviceKeys: boolean) {}

  parse(line: string): ParseResult {
    const channels: Record<string, number> = {};
    let status: string | null = null;
    let machine = "m1";
    let n = 0;
    for (const part of line.trim().split(",")) {
      const colon = part.indexOf(":");
      if (colon <= 0) return `expected KEY:VALUE, got ${JSON.stringify(part)}`;
      const key = part.slice(0, colon).trim();
      const value = part.slice(colon + 1).trim();
      if (key === "S") {
        if (!/^[A-Z][A-Z0-9_]*$/.test(value)) return `bad state: ${JSON.stringify(value)}`;
        const bad = statusError(value);
        if (bad !== null) return bad;
        status = value;
      } else if (key === "M") {
        if (value === "") return "empty machine id";
        const bad = machineIdError(value);
        if (bad !== null) return bad;
        machine = value;
      } else if (key in KV_CHANNELS) {
        const v = value === "" ? NaN : Number(value);
        if (!Number.isFinite(v)) return `${key}: ${JSON.stringify(value)} is not a number`;
        channels[KV_CHANNELS[key]!] = v;
        n++;
      } else {
        return `unknown key ${JSON.stringify(key)}`;
      }
    }
    if (n === 0 && status === null) return "no value and no state";
    if (this.deviceKeys) {
      const missing = DEVICE_KV_KEYS.filter((k) =>
        k === "S" ? status === null : status !== "OFFLINE" && !(KV_CHANNELS[k]! in channels)
      );
      if (missing.length > 0) {
        return `missing ${missing.join(" and ")}: a line of the device profile carries ` +
          `T, V and S (S:OFFLINE alone)`;
      }
    }
    return { timestamp: this.now(), machine, status, channels };
  }
}

/** `raw.log` lines: the receive time becomes the event time of the `kv` line it carries. */
class RawLineParser implements LineParser {
  #time = 0;
  readonly #kv: KvLineParser;

  received: { line: string; time: number } | null = null;

  constructor(readonly maxLineLength: number, deviceKeys: boolean) {
    this.#kv = new KvLineParser(() => this.#time, deviceKeys);
  }

  parse(text: string): ParseResult {
    const raw = parseRawLine(text);
    this.received = typeof raw === "string" ? null : raw;
    if (typeof raw === "string") return raw;
    // As live (createLineParser's checks on the received line).
    if (raw.line.length > this.maxLineLength) {
      return `line longer than ${this.maxLineLength} characters`;
    }
    if (raw.line.trim() === "") return null;
    this.#time = raw.time;
    return this.#kv.parse(raw.line);
  }
}
