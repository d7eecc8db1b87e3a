/**
 * The readings of a message payload (MQTT, NATS): one per line, split on `\n` (a `\r` at a line's
 * end dropped, before a `\n` or at the payload's end, as the file and serial sources drop it),
 * JSON or `kv`.
 * A JSON line is read straight from the payload's bytes by `JsonLineScanner` (issue 14: decoding
 * the payload, `JSON.parse` and the copies of both were much of a live reading's CPU); a line the
 * scanner declines, and every `kv` line, is decoded and parsed by `createLineParser`, with the
 * text, the parser and the error it had when the whole payload was decoded and split as a string.
 * @module
 */
import type { Reading } from "../core/types.ts";
import type { ByteText } from "./byte_text.ts";
import { JsonLineScanner } from "./json_line_scanner.ts";
import { createLineParser, type LineParser } from "./reading_parser.ts";

/** Options of {@linkcode PayloadLines}. */
export interface PayloadLinesOptions {
  /** `auto`: a line is JSON when it starts with `{` (after spaces), else `kv`. */
  format: "auto" | "json" | "kv";
  /** Longest line, in UTF-16 units, without its `\r`. @default {65536} */
  maxLineLength?: number;
  /** `kv` lines must carry the `device` profile's keys (`LineParserOptions.deviceKeys`). */
  deviceKeys?: boolean;
  /** The receive time: the time of a `kv` reading. @default {Date.now} */
  now?: () => number;
}

/**
 * Told of a reading; `named`: its line names a machine (holds `"machine"`, or `M:` in `kv`),
 * else the parsers' default `m1` stands in for one.
 */
export type TakeReading = (reading: Reading, named: boolean) => void;

/** Told of a line the parser refused: its text (as the decoded payload held it, without the
 * `\r` of a `\r\n`) and why. */
export type RefuseLine = (line: string, error: string) => void;

const KV_MACHINE = /(?:^|,)\s*M\s*:/;

/** `"machine"` as bytes. */
const MACHINE_KEY = new TextEncoder().encode('"machine"');

/** Whether `bytes[start, end)` holds `"machine"`: `includes('"machine"')` of an ASCII line. */
function mentionsMachine(bytes: Uint8Array, start: number, end: number): boolean {
  const last = end - MACHINE_KEY.length;
  for (let i = bytes.indexOf(0x22, start); i !== -1 && i <= last; i = bytes.indexOf(0x22, i + 1)) {
    let k = 1;
    while (k < MACHINE_KEY.length && bytes[i + k] === MACHINE_KEY[k]) k++;
    if (k === MACHINE_KEY.length) return true;
  }
  return false;
}

/**
 * Reads payloads into readings, one payload at a time, keeping the scanner's tables (machine ids,
 * keys, the last timestamp) from one payload to the next. The lines, their readings and the
 * errors are those of decoding the whole payload (`TextDecoder`, a leading byte order mark
 * dropped), splitting it on `\n`, dropping a `\r` at a line's end (as `LineSplitter` does for
 * the file and serial sources: `parser_errors.log` logs a CRLF line alike from all of them, and
 * `maxLineLength` counts the same units) and parsing each line (blank lines skipped).
 *
 * @example
 * ```ts
 * const got: string[] = [];
 * const lines = new PayloadLines(
 *   { format: "auto" },
 *   (r, named) => got.push(`${r.machine} ${named}`),
 *   (line, error) => got.push(`${line}: ${error}`),
 * );
 * lines.read(new TextEncoder().encode('{"timestamp":0,"t":1}\n{"timestamp":0}'));
 * got; // ["m1 false", '{"timestamp":0}: no numeric channel']
 * ```
 */
export class PayloadLines {
  readonly #format: "auto" | "json" | "kv";
  readonly #max: number;
  readonly #json: LineParser;
  readonly #kv: LineParser;
  readonly #scanner = new JsonLineScanner();
  readonly #take: TakeReading;
  readonly #refuse: RefuseLine;
  /** The first line's decoder drops a byte order mark, as decoding the payload does; the others
   * keep it (a U+FEFF the parsers then see). */
  readonly #first = new TextDecoder();
  readonly #rest = new TextDecoder("utf-8", { ignoreBOM: true });
  /** The line of the last reading taken: its text, or `null` when it was read from
   * `#bytes[#start, #end)`. */
  #line: string | null = null;
  #bytes: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;

  constructor(options: PayloadLinesOptions, take: TakeReading, refuse: RefuseLine) {
    this.#format = options.format;
    this.#max = options.maxLineLength ?? 65536;
    const parserOptions = { now: options.now, maxLineLength: options.maxLineLength };
    this.#json = createLineParser("json", parserOptions);
    this.#kv = createLineParser("kv", { ...parserOptions, deviceKeys: options.deviceKeys });
    this.#take = take;
    this.#refuse = refuse;
  }

  /** The text of the line of the reading last taken (for an error found by the taker). */
  line(): string {
    this.#line ??= this.#decode(this.#bytes, this.#start, this.#end);
    return this.#line;
  }

  /**
   * Appends the line of the reading last taken, and a newline, to `out` when that line is, byte
   * for byte, what `writeReading` writes of the reading as the scanner made it (see
   * `JsonLineScanner.canonical`); else appends nothing and answers false (the caller formats
   * the reading). A live source so builds its `stream_output.jsonl` lines by copying the
   * payloads it read instead of formatting each reading again.
   */
  copyLine(out: ByteText): boolean {
    if (this.#line !== null || !this.#scanner.canonical) return false;
    const start = this.#start, n = this.#end - start;
    const buf = out.reserve(n + 1);
    const at = out.length;
    // `set` of a view, not a loop: for a line of about 110 bytes the loop took 145–240 ns, the
    // view and `set` 60–85 (a throwaway microbenchmark); the view is short-lived garbage.
    buf.set(this.#bytes.subarray(start, this.#end), at);
    buf[at + n] = 0x0a;
    out.end(at + n + 1);
    return true;
  }

  /** Reads the lines of a payload from its bytes. */
  read(bytes: Uint8Array): void {
    const n = bytes.length;
    const format = this.#format;
    for (let start = 0; start <= n;) {
      let end = bytes.indexOf(0x0a, start);
      if (end === -1) end = n;
      const s = start;
      start = end + 1;
      if (end > s && bytes[end - 1] === 0x0d) end--;
      // Scanned only when the text would go to the JSON parser: `{` first, after the ASCII
      // spaces `trimStart` would drop (others: decided on the text below).
      let json = format === "json";
      if (format === "auto") {
        let i = s;
        if (bytes[i] === 0x20 || bytes[i] === 0x09) {
          while (i < end && (bytes[i] === 0x20 || (bytes[i]! >= 0x09 && bytes[i]! <= 0x0d))) i++;
        }
        json = i < end && bytes[i] === 0x7b;
      }
      // A line the scanner takes is ASCII: its bytes are its UTF-16 units.
      if (json && end - s <= this.#max) {
        const r = this.#scanner.scan(bytes, s, end);
        if (r !== null) {
          this.#line = null;
          this.#bytes = bytes;
          this.#start = s;
          this.#end = end;
          this.#take(r, r.machine !== "m1" || mentionsMachine(bytes, s, end));
          continue;
        }
      }
      this.#parse(this.#decode(bytes, s, end));
    }
  }

  /** Reads the lines of a payload already decoded. */
  readText(text: string): void {
    for (let start = 0; start <= text.length;) {
      let end = text.indexOf("\n", start);
      if (end === -1) end = text.length;
      const next = end + 1;
      if (end > start && text.charCodeAt(end - 1) === 13 /* \r */) end--;
      this.#parse(text.slice(start, end));
      start = next;
    }
  }

  /** Parses one line's text with the parser its first character chooses. */
  #parse(line: string): void {
    let first = line.charCodeAt(0);
    if (first === 32 || first === 9) first = line.trimStart().charCodeAt(0);
    const json = this.#format === "json" || (this.#format === "auto" && first === 123 /* { */);
    const r = (json ? this.#json : this.#kv).parse(line);
    if (r === null) return;
    if (typeof r === "string") return this.#refuse(line, r);
    this.#line = line;
    this.#take(r, json ? line.includes('"machine"') : KV_MACHINE.test(line));
  }

  #decode(bytes: Uint8Array, start: number, end: number): string {
    return (start === 0 ? this.#first : this.#rest).decode(bytes.subarray(start, end));
  }
}
