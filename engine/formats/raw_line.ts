/**
 * The line format of `raw.log`: `<ISO receive time> <the line, JSON-string-escaped>`, e.g.
 * `2026-01-01T00:00:00.250Z "T:85.5,V:5.0,S:WARNING_TEMP"`. JSON escaping keeps every received
 * line on one log line whatever it holds (control characters, `\r`, quotes, U+FFFD from bytes
 * that were not UTF-8) and makes the log re-parsable exactly.
 * @module
 */

/** One received line with its receive time. */
export interface ReceivedLine {
  /** Receive time, epoch ms; `raw.log` keeps it to the millisecond. */
  time: number;
  /** The line as received, without its `\n`/`\r\n`. */
  line: string;
}

/** The `raw.log` line (without newline) of `line` received at `time` (epoch ms). */
export function formatRawLine(time: number, line: string): string {
  return `${new Date(time).toISOString()} ${JSON.stringify(line)}`;
}

/**
 * Parses one `raw.log` line back into its receive time and line, or returns an error text
 * naming what is wrong.
 */
export function parseRawLine(text: string): ReceivedLine | string {
  const space = text.indexOf(" ");
  if (space <= 0) return `not a raw.log line (expected "<ISO time> <JSON string>")`;
  const stamp = text.slice(0, space);
  // Only the zoned ISO form that formatRawLine writes: a bare number or a naive time would be
  // read differently by other tools.
  const time = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(stamp) ? Date.parse(stamp) : NaN;
  if (Number.isNaN(time)) return `bad receive time: ${JSON.stringify(stamp)}`;
  const rest = text.slice(space + 1);
  let line: unknown;
  try {
    line = rest.startsWith('"') ? JSON.parse(rest) : undefined;
  } catch {
    line = undefined;
  }
  if (typeof line !== "string") {
    return `not a JSON string after the receive time: ${JSON.stringify(rest.slice(0, 80))}`;
  }
  return { time, line };
}
