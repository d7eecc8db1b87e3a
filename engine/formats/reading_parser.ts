/**
 * Line parsers for the input formats of the contract: JSONL, CSV (`,` or `;`), the serial
 * key-value wire format, and `raw.log` (received `kv` lines with their receive times). A parser
 * never throws on bad input: it returns the error text, and the caller logs and counts it.
 * @module
 */
import { parseRawLine } from "./raw_line.ts";
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
}

/** Channel names of the `kv` keys. */
const KV_CHANNELS: Record<string, string> = { T: "temperature", V: "voltage" };

// ISO 8601 without a zone, or with a space instead of `T` (NAB's `2013-12-02 21:15:00`): the
// contract's files are UTC, while Date.parse would read such a string as local time.
const NAIVE_TIME = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d(?::\d\d(?:\.\d+)?)?)$/;

// Readings come in ticks that share one timestamp string: the last conversion is reused.
let lastTimeText = "";
let lastTimeMs = 0;

/** Epoch ms of an ISO 8601 string or an epoch-ms number/string; `null` when it is neither. */
export function parseTime(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value !== "string" || value === "") return null;
  if (value === lastTimeText) return lastTimeMs;
  let ms: number;
  if (value.charCodeAt(value.length - 1) === 90 /* Z */) {
    ms = Date.parse(value); // the zoned form every normalised line carries
  } else if (/^\d+(\.\d+)?$/.test(value)) {
    ms = Number(value);
  } else {
    const naive = NAIVE_TIME.exec(value);
    ms = Date.parse(naive ? `${naive[1]}T${naive[2]}Z` : value);
  }
  if (Number.isNaN(ms)) return null;
  lastTimeText = value;
  lastTimeMs = ms;
  return ms;
}

/** Creates the parser of `format`. */
export function createLineParser(format: InputFormat, options: LineParserOptions = {}): LineParser {
  const max = options.maxLineLength ?? 65536;
  if (format === "raw") {
    // The limit applies to the received line, as live: its raw.log form is longer (time
    // prefix, quotes, escapes of up to 6 characters each).
    const inner = new RawLineParser(max);
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
    ? new CsvLineParser()
    : new KvLineParser(options.now ?? Date.now);
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
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      return `invalid JSON: ${(e as Error).message}`;
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      return "not a JSON object";
    }
    const rec = obj as Record<string, unknown>;
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
    const status = rec.status ?? null;
    if (status !== null && typeof status !== "string") {
      return `bad status: ${JSON.stringify(status)}`;
    }
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

const RESERVED = new Set(["timestamp", "datetime", "machine", "status", "injected"]);

class CsvLineParser implements LineParser {
  #header: string[] | null = null;
  #sep = ",";
  #time = 0;
  #machine = -1;
  #status = -1;
  #injected = -1;

  parse(line: string): ParseResult {
    if (this.#header === null) {
      // Sniff the separator from the header: SKAB's files use `;`, most others `,`.
      this.#sep = count(line, ";") > count(line, ",") ? ";" : ",";
      const header = splitCsv(line, this.#sep).map((h) => h.trim());
      const lower = header.map((h) => h.toLowerCase());
      const t = lower.findIndex((h) => h === "timestamp" || h === "datetime");
      this.#time = t === -1 ? 0 : t;
      this.#machine = lower.indexOf("machine");
      this.#status = lower.indexOf("status");
      this.#injected = lower.indexOf("injected");
      this.#header = header;
      return null;
    }
    const header = this.#header;
    const cells = splitCsv(line, this.#sep);
    if (cells.length !== header.length) {
      return `expected ${header.length} columns, got ${cells.length}`;
    }
    const rawTime = cells[this.#time]!.trim();
    const timestamp = parseTime(rawTime);
    if (timestamp === null) return `bad timestamp: ${JSON.stringify(rawTime)}`;
    const channels: Record<string, number> = {};
    let n = 0;
    for (let i = 0; i < cells.length; i++) {
      if (
        i === this.#time || i === this.#machine || i === this.#status || i === this.#injected ||
        RESERVED.has(header[i]!.toLowerCase())
      ) continue;
      const cell = cells[i]!.trim();
      if (cell === "") continue;
      const v = Number(cell);
      if (!Number.isFinite(v)) {
        return `column ${header[i]}: ${JSON.stringify(cell)} is not a number`;
      }
      channels[header[i]!] = v;
      n++;
    }
    const status = this.#status === -1 ? null : cells[this.#status]!.trim() || null;
    if (n === 0 && status === null) return "no numeric channel";
    const machine = this.#machine === -1 ? "m1" : cells[this.#machine]!.trim() || "m1";
    const reading: Reading = { timestamp, machine, status, channels };
    const injected = this.#injected === -1 ? "" : cells[this.#injected]!.trim();
    if (injected !== "") reading.injected = injected;
    return reading;
  }
}

function count(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i !== -1; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

/** Splits one CSV line; handles `"quoted, fields"` with `""` escapes when a quote is present. */
export function splitCsv(line: string, sep: string): string[] {
  if (!line.includes('"')) return line.split(sep);
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === sep) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

class KvLineParser implements LineParser {
  constructor(readonly now: () => number) {}

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
        status = value;
      } else if (key === "M") {
        if (value === "") return "empty machine id";
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
    return { timestamp: this.now(), machine, status, channels };
  }
}

/** `raw.log` lines: the receive time becomes the event time of the `kv` line it carries. */
class RawLineParser implements LineParser {
  #time = 0;
  readonly #kv = new KvLineParser(() => this.#time);

  received: { line: string; time: number } | null = null;

  constructor(readonly maxLineLength: number) {}

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
