/**
 * Reads a JSONL line straight from its bytes into the reading that `createLineParser("json")`
 * makes of it, without decoding the line or building the object `JSON.parse` would: in a replay
 * of a normalised file those two were a third of the CPU time and most of the garbage (issue 14).
 *
 * The scanner takes only lines it is certain about and declines every other one, which then goes
 * the usual way (decoded, `JSON.parse`, the same error texts). It declines: escapes, control
 * characters or non-ASCII bytes in a string (line limits count UTF-16 units; declining keeps a
 * taken line pure ASCII, one unit a byte), keys that start with a digit (`JSON.parse` enumerates
 * integer-like keys first), `__proto__` (assigning it to the channel object does not make a
 * channel), duplicate keys, nested objects and arrays, more than {@linkcode MAX_KEYS} keys, and
 * any line the rules of the parser refuse, so that the error text stays the parser's.
 * @module
 */
import type { Reading } from "../core/types.ts";
import { parseTime } from "./reading_parser.ts";
import { machineIdError, statusError } from "./reading_rules.ts";

/** Keys of a line the scanner takes at most (duplicates are found by a linear search). */
export const MAX_KEYS = 64;

/** Strings kept by their bytes at most: machine ids, status words, keys, fault labels. Past it,
 * a string is made per use (still right, only slower), so input cannot grow the table without
 * limit. */
export const MAX_INTERNED = 65_536;

/** Timestamp strings longer than this are not cached by their bytes (`parseTime` still is). */
const MAX_TIME_BYTES = 64;

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, COLON = 0x3a, MINUS = 0x2d, PLUS = 0x2b;
const DOT = 0x2e, ZERO = 0x30, NINE = 0x39, OPEN = 0x7b, CLOSE = 0x7d;

// Powers of ten a double holds exactly: the multiplier of Clinger's fast path.
const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

interface Interned {
  readonly bytes: Uint8Array;
  readonly text: string;
  readonly hash: number;
  next: Interned | null;
}

const BUCKETS = 4096;

/**
 * One scanner per input: it keeps the strings it has seen (by their bytes) and the last
 * timestamp, so that a line of known machine, status and keys makes no string at all.
 *
 * @example
 * ```ts
 * const scanner = new JsonLineScanner();
 * const line = new TextEncoder().encode('{"timestamp":0,"machine":"m1","t":1.5}');
 * scanner.scan(line, 0, line.length); // { timestamp: 0, machine: "m1", status: null, channels: { t: 1.5 } }
 * scanner.scan(new TextEncoder().encode('{"t":"\\u0031"}'), 0, 14); // null: declined
 * ```
 */
export class JsonLineScanner {
  readonly #buckets: (Interned | null)[] = new Array(BUCKETS).fill(null);
  #interned = 0;
  readonly #slots: Interned[] = [];
  readonly #keys: string[] = [];
  readonly #lastTime = new Uint8Array(MAX_TIME_BYTES);
  #lastTimeLength = -1;
  #lastTimeMs = 0;
  // The end of the last string or number read (set by #string and #number).
  #at = 0;
  #hash = 0;

  /**
   * The reading of the line `bytes[start, end)` (no newline, no trailing `\r`), exactly as
   * `createLineParser("json")` makes it of the decoded line; `null` when the scanner declines
   * the line (the caller then decodes and parses it).
   */
  scan(bytes: Uint8Array, start: number, end: number): Reading | null {
    let i = skipSpace(bytes, start, end);
    if (i >= end || bytes[i] !== OPEN) return null;
    i = skipSpace(bytes, i + 1, end);
    const keys = this.#keys;
    keys.length = 0;
    let timestamp: number | null = null;
    let machine: string | null = null;
    let status: string | null = null;
    let injected: string | null = null;
    const channels: Record<string, number> = {};
    let n = 0;
    while (true) {
      if (i >= end || bytes[i] !== QUOTE) return null;
      const first = bytes[i + 1]!;
      if (first >= ZERO && first <= NINE) return null;
      const slot = 2 * keys.length;
      const key = this.#text(bytes, i + 1, end, slot);
      if (key === null) return null;
      if (key === "__proto__" || keys.length === MAX_KEYS || keys.includes(key)) return null;
      keys.push(key);
      i = skipSpace(bytes, this.#at, end);
      if (i >= end || bytes[i] !== COLON) return null;
      i = skipSpace(bytes, i + 1, end);
      if (i >= end) return null;
      const c = bytes[i]!;
      if (c === QUOTE) {
        if (key === "timestamp") {
          timestamp = this.#time(bytes, i + 1, end);
          if (timestamp === null) return null;
        } else {
          const value = this.#text(bytes, i + 1, end, slot + 1);
          if (value === null) return null;
          if (key === "machine") machine = value;
          else if (key === "status") status = value;
          else if (key === "injected") injected = value;
        }
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        const v = this.#number(bytes, i, end);
        if (v === null) return null;
        if (key === "timestamp") {
          timestamp = parseTime(v);
          if (timestamp === null) return null;
        } else if (key === "machine") machine = String(v);
        else if (key === "status" || !Number.isFinite(v)) return null;
        else {
          channels[key] = v;
          n++;
        }
      } else {
        // true, false or null: `null` is no machine (`m1`) and no status; other keys skip it.
        const kind = literal(bytes, i, end);
        if (kind === 0 || key === "timestamp") return null;
        if ((key === "machine" || key === "status") && kind !== NULL) return null;
        this.#at = i + LITERALS[kind]!.length;
      }
      i = skipSpace(bytes, this.#at, end);
      if (i >= end) return null;
      if (bytes[i] === CLOSE) break;
      if (bytes[i] !== COMMA) return null;
      i = skipSpace(bytes, i + 1, end);
    }
    if (skipSpace(bytes, i + 1, end) !== end || timestamp === null) return null;
    machine ??= "m1";
    if (machineIdError(machine) !== null) return null;
    if (status !== null && statusError(status) !== null) return null;
    if (n === 0 && status === null) return null;
    const reading: Reading = { timestamp, machine, status, channels };
    if (injected !== null) reading.injected = injected;
    return reading;
  }

  /**
   * The string whose content starts at `i`, `null` to decline; leaves the position after its
   * closing quote in #at. `slot` is where it stands in the line (key or value of the n-th
   * member): the string last seen there is tried first, as lines of one file repeat their keys
   * in one order and often their status, which saves hashing them.
   */
  #text(bytes: Uint8Array, i: number, end: number, slot: number): string | null {
    const last = this.#slots[slot];
    if (last !== undefined) {
      const length = last.bytes.length;
      if (
        i + length < end && bytes[i + length] === QUOTE && sameBytes(last.bytes, bytes, i, length)
      ) {
        this.#at = i + length + 1;
        return last.text;
      }
    }
    const stop = this.#string(bytes, i, end);
    if (stop < 0) return null;
    const e = this.#intern(bytes, i, stop);
    if (slot < 2 * MAX_KEYS) this.#slots[slot] = e;
    return e.text;
  }

  /** The end (closing quote) of the string whose content starts at `i`, -1 to decline; leaves
   * its FNV-1a hash in #hash and the position after the quote in #at. */
  #string(bytes: Uint8Array, i: number, end: number): number {
    let h = 0x811c9dc5;
    for (; i < end; i++) {
      const c = bytes[i]!;
      if (c === QUOTE) {
        this.#hash = h >>> 0;
        this.#at = i + 1;
        return i;
      }
      if (c < 0x20 || c === BACKSLASH || c >= 0x80) return -1;
      h = Math.imul(h ^ c, 0x01000193);
    }
    return -1;
  }

  /** The entry of the ASCII bytes `[start, end)` hashed by the last #string. */
  #intern(bytes: Uint8Array, start: number, end: number): Interned {
    const length = end - start, hash = this.#hash;
    const bucket = hash & (BUCKETS - 1);
    for (let e: Interned | null = this.#buckets[bucket]!; e !== null; e = e.next) {
      if (
        e.hash === hash && e.bytes.length === length && sameBytes(e.bytes, bytes, start, length)
      ) {
        return e;
      }
    }
    const e: Interned = {
      bytes: bytes.slice(start, end),
      text: ascii(bytes, start, end),
      hash,
      next: null,
    };
    if (this.#interned < MAX_INTERNED) {
      e.next = this.#buckets[bucket]!;
      this.#buckets[bucket] = e;
      this.#interned++;
    }
    return e;
  }

  /** Epoch ms of the timestamp string whose content starts at `start`, as `parseTime` reads
   * it; `null` to decline. Leaves the position after its closing quote in #at. */
  #time(bytes: Uint8Array, start: number, lineEnd: number): number | null {
    const last = this.#lastTimeLength;
    if (
      last >= 0 && start + last < lineEnd && bytes[start + last] === QUOTE &&
      sameBytes(this.#lastTime, bytes, start, last)
    ) {
      this.#at = start + last + 1;
      return this.#lastTimeMs;
    }
    const end = this.#string(bytes, start, lineEnd);
    if (end < 0) return null;
    const length = end - start;
    const ms = parseTime(ascii(bytes, start, end));
    if (ms !== null && length <= MAX_TIME_BYTES) {
      this.#lastTime.set(bytes.subarray(start, end));
      this.#lastTimeLength = length;
      this.#lastTimeMs = ms;
    }
    return ms;
  }

  /**
   * The JSON number starting at `i`, equal to what `JSON.parse` makes of it, or `null` when it
   * is not one; leaves its end in #at. Up to 15 significant digits and a power of ten within
   * ±22, both operands are exact doubles and one multiplication or division rounds correctly
   * (Clinger's fast path), which is what `JSON.parse` returns; anything else is `Number()` of
   * the text, the same correctly rounded conversion.
   */
  #number(bytes: Uint8Array, i: number, end: number): number | null {
    const start = i;
    const negative = bytes[i] === MINUS;
    if (negative) i++;
    let w = 0, digits = 0, e10 = 0;
    if (i < end && bytes[i] === ZERO) i++;
    else {
      const from = i;
      for (; i < end; i++) {
        const d = bytes[i]! - ZERO;
        if (d < 0 || d > 9) break;
        w = w * 10 + d;
        if (w > 0) digits++;
      }
      if (i === from) return null;
    }
    if (i < end && bytes[i] === DOT) {
      const from = ++i;
      for (; i < end; i++) {
        const d = bytes[i]! - ZERO;
        if (d < 0 || d > 9) break;
        w = w * 10 + d;
        if (w > 0) digits++;
        e10--;
      }
      if (i === from) return null;
    }
    if (i < end && (bytes[i] === 0x65 || bytes[i] === 0x45)) {
      i++;
      let sign = 1;
      if (i < end && (bytes[i] === MINUS || bytes[i] === PLUS)) {
        if (bytes[i] === MINUS) sign = -1;
        i++;
      }
      const from = i;
      let exp = 0;
      for (; i < end; i++) {
        const d = bytes[i]! - ZERO;
        if (d < 0 || d > 9) break;
        if (exp < 1e6) exp = exp * 10 + d; // past it the value is 0 or Infinity either way
      }
      if (i === from) return null;
      e10 += sign * exp;
    }
    this.#at = i;
    let v: number;
    if (w === 0) v = 0;
    else if (digits > 15 || e10 > 22 || e10 < -22) return Number(ascii(bytes, start, i));
    else v = e10 === 0 ? w : e10 > 0 ? w * POW10[e10]! : w / POW10[-e10]!;
    return negative ? -v : v;
  }
}

const TRUE = 1, FALSE = 2, NULL = 3;
const LITERALS = ["", "true", "false", "null"];

/** Which of `true`, `false` and `null` is at `i`, 0 when none is. */
function literal(bytes: Uint8Array, i: number, end: number): number {
  const c = bytes[i];
  const kind = c === 0x74 ? TRUE : c === 0x66 ? FALSE : c === 0x6e ? NULL : 0;
  const word = LITERALS[kind]!;
  if (kind === 0 || i + word.length > end) return 0;
  for (let k = 1; k < word.length; k++) if (bytes[i + k] !== word.charCodeAt(k)) return 0;
  return kind;
}

function skipSpace(bytes: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = bytes[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) break;
    i++;
  }
  return i;
}

function sameBytes(a: Uint8Array, b: Uint8Array, start: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (a[k] !== b[start + k]) return false;
  return true;
}

/** The string of ASCII bytes: a flat string, in pieces small enough to pass as arguments. */
function ascii(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let k = start; k < end; k += 4096) {
    s += String.fromCharCode.apply(null, bytes.subarray(k, Math.min(end, k + 4096)) as never);
  }
  return s;
}
