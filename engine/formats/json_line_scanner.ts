/**
 * Reads a JSONL line straight from its bytes into the reading that `createLineParser("json")`
 * makes of it (an object, or a batch's columns: `scanLineInto`), without decoding the line or
 * building the object `JSON.parse` would: in a replay of a normalised file those two were a fifth
 * of the CPU time and much of the garbage (issue 14).
 *
 * The scanner takes only lines it is certain about and declines every other one, which then goes
 * the usual way (decoded, `JSON.parse`, the same error texts). It declines: escapes, control
 * characters or non-ASCII bytes in a string (line limits count UTF-16 units; declining keeps a
 * taken line pure ASCII, one unit a byte), keys that start with a digit (`JSON.parse` enumerates
 * integer-like keys first), `__proto__` (what assigning it does depends on the runtime's
 * `Object.prototype.__proto__`), duplicate keys, nested objects and arrays, a `\n` (never in a
 * line: so `scanLine` finds where one ends), more than {@linkcode MAX_KEYS} keys, and any line
 * the rules of the parser refuse, so that the error text stays the parser's.
 *
 * About 630 lines, over the project's ~400: one class, whose hot path (`#read` and the string,
 * number and time readers it calls per member) shares the scanner's tables and position fields;
 * split into modules, those would be calls and lookups per member of every line.
 * @module
 */
import type { Reading } from "../core/types.ts";
import type { ReadingColumns } from "../core/reading_columns.ts";
import { parseTime } from "./reading_parser.ts";
import { machineIdError, statusError } from "./reading_rules.ts";

/** Keys of a line the scanner takes at most (duplicates are found by a linear search). */
export const MAX_KEYS = 64;

/** Strings kept by their bytes at most: machine ids, status words, keys, fault labels. Past it,
 * a string is made per use (still right, only slower), so input cannot grow the table without
 * limit. */
export const MAX_INTERNED = 65_536;

/** The longest string kept, in bytes: with {@linkcode MAX_INTERNED}, the table holds at most
 * 16 MiB of strings whatever the input. Machine ids are at most 128 characters. */
export const MAX_INTERNED_BYTES = 256;

/** Timestamp strings longer than this are not cached by their bytes (`parseTime` still is). */
const MAX_TIME_BYTES = 64;

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, COLON = 0x3a, MINUS = 0x2d, PLUS = 0x2b;
const DOT = 0x2e, ZERO = 0x30, NINE = 0x39, OPEN = 0x7b, CLOSE = 0x7d, NL = 0x0a, CR = 0x0d;

// Powers of ten a double holds exactly: the multiplier of Clinger's fast path.
const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

interface Interned {
  /** The string, ASCII: compared with the bytes of a line by its char codes (a flat string holds
   * them inline: one object to reach, not a typed array and its backing store). */
  readonly text: string;
  readonly hash: number;
  /** The next entry of its hash bucket. */
  next: Interned | null;
  /** The string that followed this one at its place in the line, last time: tried first. */
  after: Interned | null;
  /** The rules this string passed (`MACHINE_ID`, `STATUS_WORD`). */
  checked: number;
  /** The number (`#line`) of the last line it was a key of: a kept key seen twice in a line. */
  line: number;
  /** As a machine id: the status of its last line (a kept entry), tried first for the next. */
  status: Interned | null;
  /** Its role as a key (`CHANNEL`, `TIMESTAMP`…). */
  readonly role: number;
  /** As a channel key: the channel key it last followed in a line when {@linkcode tagFields}
   * ran for it (null: it came first), undefined before that. */
  taggedAfter: Interned | null | undefined;
  /** In the table: only such an entry is remembered at a place or as the one after another. */
  readonly kept: boolean;
}

const MACHINE_ID = 1, STATUS_WORD = 2;

/** What a string means as a key: one of the reading's fields, a channel, or a key to decline
 * (integer-like: `JSON.parse` enumerates those first; `__proto__`: a special property). */
const CHANNEL = 0, TIMESTAMP = 1, MACHINE = 2, STATUS = 3, INJECTED = 4, NO_KEY = 5;
const ROLES: ReadonlyMap<string, number> = new Map([
  ["timestamp", TIMESTAMP],
  ["machine", MACHINE],
  ["status", STATUS],
  ["injected", INJECTED],
  ["__proto__", NO_KEY],
]);

/**
 * The role of `text` as a key: 0 a channel, 1 `timestamp`, 2 `machine`, 3 `status`, 4
 * `injected`, 5 a key the scanner declines. Exported for the WASM scanner
 * (wasm_line_scanner.ts), whose string table keeps it per string.
 *
 * @example
 * ```ts
 * roleOf("machine"); // 2
 * roleOf("1a"); // 5
 * ```
 */
export function roleOf(text: string): number {
  const first = text.charCodeAt(0);
  if (first >= ZERO && first <= NINE) return NO_KEY;
  return ROLES.get(text) ?? CHANNEL;
}

/**
 * `text` as V8's internalized copy, the form a property key takes: a channel key stored with
 * it is not looked up in the string table on each store.
 *
 * @example
 * ```ts
 * internalized("speed"); // "speed"
 * ```
 */
export function internalized(text: string): string {
  return Object.keys({ [text]: 0 })[0] ?? text;
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
  // The keys of the line being read (the first `count` of them), for the duplicate check; one
  // array for every line.
  readonly #keys: string[] = new Array(MAX_KEYS).fill("");
  readonly #lastTime = new Uint8Array(MAX_TIME_BYTES);
  #lastTimeLength = -1;
  /** The last time's epoch ms. Starts as `null` so that V8 keeps the field tagged: it then
   * holds the heap number `parseTime` returned and every reading of that time shares it, where
   * a double field made a new one per reading (16 MB of a 1 M replay). */
  #lastTimeMs: number | null = null;
  // The end of the last string or number read (set by #string and #number).
  #at = 0;
  #hash = 0;
  // Whether the last #number's text is `String()` of its value, and the last #time's is
  // `toISOString()` of its (see `canonical`).
  #plainNumber = false;
  #plainTime = false;
  #lastTimePlain = false;
  #canonical = false;
  // The number of the line being read, for the duplicate check (see `Interned.line`); wrapping
  // past 2^31 lines could only decline a line, never take a wrong one.
  #line = 0;
  #lineEnd = 0;
  // What the last line #read took: its fields, and its channels (`#entryKeys`, `#entryValues`,
  // the first `#entryCount`) in their order. Kept apart from any object, so that `scanLineInto`
  // writes columns with no object made per line, and `scanLine` builds its reading from them.
  /** Tagged (starts as `null`) for the reason of `#lastTimeMs`. */
  #timeMs: number | null = null;
  #machineId = "";
  #statusText: string | null = null;
  #injected: string | undefined = undefined;
  readonly #entryKeys: Interned[] = [];
  readonly #entryValues = new Float64Array(MAX_KEYS);
  /** The value the last #number read. */
  readonly #numberOut = new Float64Array(1);
  #entryCount = 0;

  /**
   * Whether the line of the last reading `scan` returned is, byte for byte, the line
   * `writeReading` writes of that reading (without its newline): `timestamp` (a string in
   * `toISOString` form), `machine` (a string), `status` (a string or `null`), then the channels
   * (each number as `String` prints it) and `injected` (a string) last, with no spaces. A
   * source can then copy the line to `stream_output.jsonl` instead of formatting it again.
   */
  get canonical(): boolean {
    return this.#canonical;
  }

  /** Where the line of the last reading `scanLine` returned ends: the index of its `\n`. */
  get lineEnd(): number {
    return this.#lineEnd;
  }

  /**
   * The reading of the line `bytes[start, end)` (no newline, no trailing `\r`), exactly as
   * `createLineParser("json")` makes it of the decoded line; `null` when the scanner declines
   * the line (the caller then decodes and parses it).
   */
  scan(bytes: Uint8Array, start: number, end: number): Reading | null {
    return this.#read(bytes, start, end, false) ? this.#reading() : null;
  }

  /**
   * The reading of the line that starts at `start` and ends at the first `\n` before `limit`
   * (then at {@linkcode lineEnd}), as `scan` reads that line without its newline (and a `\r`
   * before it); `null` when `scan` declines it or there is no `\n`. The scanner never reads
   * past a `\n` (a line holds none: it declines one), so that a splitter need not look for the
   * end of a line before it is read: finding it was 8 % of the input side's CPU profile (a call
   * of `indexOf` per line; BENCHMARKS.md, 2026-11-30).
   */
  scanLine(bytes: Uint8Array, start: number, limit: number): Reading | null {
    return this.#read(bytes, start, limit, true) ? this.#reading() : null;
  }

  /**
   * `scanLine`, appending the reading to `columns` instead of returning it (see
   * {@linkcode ReadingColumns}): false, and `columns` as they were, where `scanLine` returns
   * `null`. No object is made for a line of known machine, status and keys.
   *
   * @example
   * ```ts
   * import { ReadingColumns } from "../core/reading_columns.ts";
   *
   * const columns = new ReadingColumns();
   * const bytes = new TextEncoder().encode('{"timestamp":0,"machine":"m1","t":1.5}\n');
   * new JsonLineScanner().scanLineInto(bytes, 0, bytes.length, columns); // true
   * columns.reading(0); // { timestamp: 0, machine: "m1", status: null, channels: { t: 1.5 } }
   * ```
   */
  scanLineInto(bytes: Uint8Array, start: number, limit: number, columns: ReadingColumns): boolean {
    if (!this.#read(bytes, start, limit, true)) return false;
    const n = this.#entryCount, keys = this.#entryKeys, values = this.#entryValues;
    columns.reserve(n);
    const at = columns.entries, key = columns.key, value = columns.value;
    for (let k = 0; k < n; k++) {
      key[at + k] = keys[k]!.text;
      value[at + k] = values[k]!;
    }
    columns.add(this.#timeMs!, this.#machineId, this.#statusText, this.#injected, n);
    return true;
  }

  /** The reading the last #read took, as an object. */
  #reading(): Reading {
    const channels: Record<string, number> = {};
    // The channel key stored last in `channels` (see `Interned.taggedAfter`).
    let previous: Interned | null = null;
    const keys = this.#entryKeys, values = this.#entryValues;
    for (let k = 0; k < this.#entryCount; k++) {
      const keyEntry = keys[k]!;
      if (keyEntry.taggedAfter !== previous && keyEntry.kept) {
        tagFields(channels, keyEntry.text);
        keyEntry.taggedAfter = previous;
      }
      channels[keyEntry.text] = values[k]!;
      previous = keyEntry;
    }
    const reading: Reading = {
      timestamp: this.#timeMs!,
      machine: this.#machineId,
      status: this.#statusText,
      channels,
    };
    if (this.#injected !== undefined) reading.injected = this.#injected;
    return reading;
  }

  /** Reads a line into the fields above; false to decline it. `scan` (`open` false), or
   * `scanLine` (`open`: `end` is a limit, the line ends at a `\n`). */
  #read(bytes: Uint8Array, start: number, end: number, open: boolean): boolean {
    let i = skipSpace(bytes, start, end);
    if (i >= end || bytes[i] !== OPEN) return false;
    // Canonical so far (see `canonical`): no space skipped, the keys in writeReading's order.
    let canon = i === start;
    let at = i + 1;
    i = skipSpace(bytes, at, end);
    if (i !== at) canon = false;
    const keys = this.#keys;
    const line = this.#line = (this.#line + 1) | 0;
    let count = 0;
    let timestamp: number | null = null;
    let machine: Interned | string | null = null;
    let status: Interned | null = null;
    let injected: string | null = null;
    const entryKeys = this.#entryKeys, entryValues = this.#entryValues;
    let n = 0;
    while (true) {
      if (i >= end || bytes[i] !== QUOTE) return false;
      const slot = 2 * count;
      const keyEntry = this.#text(bytes, i + 1, end, slot);
      if (keyEntry === null) return false;
      const key = keyEntry.text, role = keyEntry.role;
      if (role === NO_KEY || count === MAX_KEYS) return false;
      // A key in the table is one object per text: marked with the line's number, a duplicate is
      // found at once; another key is compared with those before it. (Comparing each key with
      // those before was 2 % of the input side's CPU profile, with 5 keys a line.)
      if (keyEntry.kept) {
        if (keyEntry.line === line) return false;
        keyEntry.line = line;
      } else for (let k = 0; k < count; k++) if (keys[k] === key) return false;
      // writeReading's order: timestamp, machine, status (roles 1, 2, 3), channels, injected.
      if (count < 3 ? role !== count + 1 : injected !== null) canon = false;
      keys[count++] = key;
      at = this.#at;
      i = skipSpace(bytes, at, end);
      if (i !== at) canon = false;
      if (i >= end || bytes[i] !== COLON) return false;
      at = i + 1;
      i = skipSpace(bytes, at, end);
      if (i !== at) canon = false;
      if (i >= end) return false;
      const c = bytes[i]!;
      if (c === QUOTE) {
        if (role === TIMESTAMP) {
          timestamp = this.#time(bytes, i + 1, end);
          if (timestamp === null) return false;
          if (!this.#plainTime) canon = false;
        } else if (role === CHANNEL) {
          if (this.#string(bytes, i + 1, end) < 0) return false; // text: not a channel
          canon = false; // skipped: not in the written line
        } else if (role === STATUS && machine !== null && typeof machine !== "string") {
          // A machine's status changes seldom, the status at its place in the line often (one
          // line in five of the 1 M replay missed both guesses of #text): its machine's last
          // status is tried first.
          const last = machine.status;
          status = last !== null && this.#matches(last, bytes, i + 1, end)
            ? last
            : this.#text(bytes, i + 1, end, slot + 1);
          if (status === null) return false;
          if (status.kept) machine.status = status;
        } else {
          const value = this.#text(bytes, i + 1, end, slot + 1);
          if (value === null) return false;
          if (role === MACHINE) machine = value;
          else if (role === STATUS) status = value;
          else injected = value.text;
        }
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        if (!this.#number(bytes, i, end)) return false;
        const v = this.#numberOut[0]!;
        if (role === TIMESTAMP) {
          timestamp = parseTime(v);
          if (timestamp === null) return false;
          canon = false;
        } else if (role === MACHINE) {
          machine = String(v);
          canon = false;
        } else if (role === STATUS || !Number.isFinite(v)) return false;
        else {
          // A numeric `injected` is a channel, written where it stands: taken as not canonical
          // rather than reasoned about.
          if (!this.#plainNumber || role !== CHANNEL) canon = false;
          entryKeys[n] = keyEntry;
          entryValues[n++] = v;
        }
      } else {
        // true, false or null: `null` is no machine (`m1`) and no status; other keys skip it.
        const kind = literal(bytes, i, end);
        if (kind === 0 || role === TIMESTAMP) return false;
        if ((role === MACHINE || role === STATUS) && kind !== NULL) return false;
        // Only a `null` status is written as it stands.
        if (role !== STATUS) canon = false;
        this.#at = i + LITERALS[kind]!.length;
      }
      at = this.#at;
      i = skipSpace(bytes, at, end);
      if (i !== at) canon = false;
      if (i >= end) return false;
      if (bytes[i] === CLOSE) break;
      if (bytes[i] !== COMMA) return false;
      at = i + 1;
      i = skipSpace(bytes, at, end);
      if (i !== at) canon = false;
    }
    let stop = skipSpace(bytes, i + 1, end);
    if (open) {
      if (stop >= end || bytes[stop] !== NL) return false;
      this.#lineEnd = stop;
      // The line `scan` would be given ends before a `\r` before the `\n`.
      if (bytes[stop - 1] === CR) stop--;
    } else if (stop !== end) return false;
    if (timestamp === null) return false;
    if (i + 1 !== stop) canon = false;
    // The rules' verdict on an interned string is kept with it: a string checked once.
    let machineId: string;
    if (machine === null || typeof machine === "string") {
      machineId = machine ?? "m1";
      if (machineIdError(machineId) !== null) return false;
    } else {
      if ((machine.checked & MACHINE_ID) === 0) {
        if (machineIdError(machine.text) !== null) return false;
        machine.checked |= MACHINE_ID;
      }
      machineId = machine.text;
    }
    if (status !== null && (status.checked & STATUS_WORD) === 0) {
      if (statusError(status.text) !== null) return false;
      status.checked |= STATUS_WORD;
    }
    if (n === 0 && status === null) return false;
    this.#canonical = canon;
    this.#timeMs = timestamp;
    this.#machineId = machineId;
    this.#statusText = status === null ? null : status.text;
    this.#injected = injected ?? undefined;
    this.#entryCount = n;
    return true;
  }

  /**
   * The string whose content starts at `i`, `null` to decline; leaves the position after its
   * closing quote in #at. `slot` is where it stands in the line (key or value of the n-th
   * member): the string last seen there is tried first, as lines of one file repeat their keys
   * in one order and often their status, which saves hashing them.
   */
  #text(bytes: Uint8Array, i: number, end: number, slot: number): Interned | null {
    const last = this.#slots[slot];
    if (last !== undefined) {
      // What followed the last one there (machines in turn), then the last one again.
      const after = last.after;
      if (after !== null && this.#matches(after, bytes, i, end)) {
        this.#slots[slot] = after;
        return after;
      }
      if (this.#matches(last, bytes, i, end)) return last;
    }
    const stop = this.#string(bytes, i, end);
    if (stop < 0) return null;
    const e = this.#intern(bytes, i, stop);
    if (e.kept && slot < 2 * MAX_KEYS) {
      if (last !== undefined) last.after = e;
      this.#slots[slot] = e;
    }
    return e;
  }

  /** Whether the string at `i` is `e`'s (then #at is after its closing quote). */
  #matches(e: Interned, bytes: Uint8Array, i: number, end: number): boolean {
    const length = e.text.length;
    if (i + length >= end || bytes[i + length] !== QUOTE) return false;
    if (!sameText(e.text, bytes, i, length)) return false;
    this.#at = i + length + 1;
    return true;
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
        e.hash === hash && e.text.length === length && sameText(e.text, bytes, start, length)
      ) {
        return e;
      }
    }
    const text = internalized(ascii(bytes, start, end));
    const kept = this.#interned < MAX_INTERNED && length <= MAX_INTERNED_BYTES;
    const e: Interned = {
      text,
      hash,
      next: null,
      after: null,
      checked: 0,
      line: 0,
      status: null,
      role: roleOf(text),
      taggedAfter: undefined,
      kept,
    };
    if (kept) {
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
      this.#plainTime = this.#lastTimePlain;
      return this.#lastTimeMs!;
    }
    const end = this.#string(bytes, start, lineEnd);
    if (end < 0) return null;
    const length = end - start;
    const text = ascii(bytes, start, end);
    const ms = parseTime(text);
    // Within Date's range (±8.64e15 ms) toISOString does not throw.
    this.#plainTime = ms !== null && Math.abs(ms) <= 8.64e15 &&
      new Date(ms).toISOString() === text;
    if (ms !== null && length <= MAX_TIME_BYTES) {
      this.#lastTime.set(bytes.subarray(start, end));
      this.#lastTimeLength = length;
      this.#lastTimeMs = ms;
      this.#lastTimePlain = this.#plainTime;
    }
    return ms;
  }

  /**
   * Reads the JSON number starting at `i` into `#numberOut[0]`, equal to what `JSON.parse`
   * makes of it; false when it is not one. Leaves its end in #at. (Not returned: the call is
   * not inlined, and a number returned from it is boxed, a heap number per channel value that
   * columns, holding it unboxed, would only drop.) Up to 15 significant digits and a power of
   * ten within ±22, both operands are exact doubles and one multiplication or division rounds
   * correctly (Clinger's fast path), which is what `JSON.parse` returns; anything else is
   * `Number()` of the text, the same correctly rounded conversion.
   *
   * Leaves in #plainNumber whether `String` of the value prints this very text: true for a
   * number of at most 15 significant digits, no exponent, no trailing zero after the point,
   * not `-0`, and 0 or at least 1e-6 in magnitude (below, `String` uses an exponent). Two
   * decimals of at most 15 significant digits are never the same double, so the shortest
   * decimal that reads back as the value — what `String` prints — is the text's own digits.
   */
  #number(bytes: Uint8Array, i: number, end: number): boolean {
    const start = i;
    const negative = bytes[i] === MINUS;
    if (negative) i++;
    let w = 0, digits = 0, e10 = 0;
    let plain = true;
    if (i < end && bytes[i] === ZERO) i++;
    else {
      const from = i;
      for (; i < end; i++) {
        const d = bytes[i]! - ZERO;
        if (d < 0 || d > 9) break;
        w = w * 10 + d;
        if (w > 0) digits++;
      }
      if (i === from) return false;
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
      if (i === from) return false;
      if (bytes[i - 1] === ZERO) plain = false;
    }
    if (i < end && (bytes[i] === 0x65 || bytes[i] === 0x45)) {
      plain = false;
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
      if (i === from) return false;
      e10 += sign * exp;
    }
    this.#at = i;
    let v: number;
    if (w === 0) v = 0;
    else if (digits > 15 || e10 > 22 || e10 < -22) {
      this.#plainNumber = false;
      this.#numberOut[0] = Number(ascii(bytes, start, i));
      return true;
    } else v = e10 === 0 ? w : e10 > 0 ? w * POW10[e10]! : w / POW10[-e10]!;
    this.#plainNumber = plain && (v === 0 ? !negative : v >= 1e-6);
    this.#numberOut[0] = negative ? -v : v;
    return true;
  }
}

/**
 * Keeps V8 from storing `key`'s value as an unboxed double in a `channels` object that holds
 * the keys of `channels` and then `key` (in that order): a twin built the same way with `null`
 * in each field turns those fields tagged before a number is stored in them. A tagged field
 * holds the heap number `#number` returned; a double field boxed it again on each store, and
 * each read by a `for…in` key (the analyzer's) boxed a new one: 30 MB of a 1 M replay's
 * garbage (BENCHMARKS.md, "Channel fields tagged as they are first read"). Only for the
 * readings `scan` and `scanLine` return as objects (live payloads): `scanLineInto` writes
 * columns, which hold numbers unboxed. Called when a key
 * follows another key than when it was last called for it: once per key in a file whose lines
 * keep one order; on every line where two orders alternate (a cost, never a wrong value: the
 * twin only changes how V8 stores the fields). A key remembers only the key before it, while
 * V8's shape is the whole order: a shape that differs further back (`xx,bb,cc` after
 * `aa,bb,cc`) is not tagged here, nor one V8 dropped in a full GC after its twin (only the last
 * twin is kept). When replays still read objects, a 1 M replay allocated 295.7 MB with this,
 * 328.2 without (BENCHMARKS.md, "Channel fields tagged as they are first read").
 */
function tagFields(channels: Readonly<Record<string, number>>, key: string): void {
  const twin: Record<string, null> = {};
  for (const name in channels) twin[name] = null;
  twin[key] = null;
  // Kept, so that an optimizing compiler cannot drop the twin as unused.
  _lastFieldTwin = twin;
}

/** The last twin {@linkcode tagFields} made. */
let _lastFieldTwin: object | null = null;

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

/** Past JSON's spaces but a `\n`, which no line holds (see `scanLine`): one is declined. */
function skipSpace(bytes: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = bytes[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== CR) break;
    i++;
  }
  return i;
}

function sameText(text: string, b: Uint8Array, start: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (text.charCodeAt(k) !== b[start + k]) return false;
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array, start: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (a[k] !== b[start + k]) return false;
  return true;
}

/**
 * The string of the ASCII bytes `bytes[start, end)`: a flat string, in pieces small enough to
 * pass as arguments. Exported for the WASM scanner's host (wasm_line_scanner.ts), which
 * decodes each new string of its table with it.
 *
 * @example
 * ```ts
 * ascii(new TextEncoder().encode('"m1"'), 1, 3); // "m1"
 * ```
 */
export function ascii(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let k = start; k < end; k += 4096) {
    s += String.fromCharCode.apply(null, bytes.subarray(k, Math.min(end, k + 4096)) as never);
  }
  return s;
}
