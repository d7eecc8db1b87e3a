/**
 * The bulk JSONL line scanner (AssemblyScript, compiled to build/wasm/jsonl.wasm by
 * tools/build_wasm.ts; host: engine/formats/wasm_line_scanner.ts). It reads only *canonical*
 * lines, byte for byte what `writeReading` (engine/formats/reading_format.ts) writes:
 *
 *   {"timestamp":"YYYY-MM-DDTHH:MM:SS.sssZ","machine":"<s>","status":null|"<s>"
 *   then `,"<key>":<number>` per channel, then optionally `,"injected":"<s>"`, then `}\n`
 *
 * and declines every other line, which the host leaves to `JsonLineScanner` (engine/formats/
 * json_line_scanner.ts), whose `scanLineInto` with `canonical` true is the specification: a line
 * taken here is one it takes as canonical, with the same time, machine, status, `injected`, keys
 * and values (bit for bit, the value by the same Clinger fast path). tests/unit/
 * wasm_line_scanner_test.ts compares the two line by line. Change one, check the other.
 *
 * Shape (as the kernels): flat exported functions over numbers, all state in module globals and
 * in one region of linear memory planned by assembly/lib/memory.ts in `configure`; `scan` checks
 * its arguments once, then reads with `load` only and allocates nothing.
 *
 * Strings (machine ids, status words, keys, `injected` labels) are ids into a table kept here
 * (hash of the bytes → id), bounded by `maxStrings` strings of at most `maxStringBytes` bytes.
 * The table knows only what the host registered with `intern`, with the flags the host computed
 * (a key's role, whether the string is a valid machine id or status word: the rules live in
 * TypeScript, engine/formats/reading_rules.ts, and are applied once per string). A string not in
 * the table stops the scan (UNKNOWN, its byte range in the state); past the bounds the line is
 * declined, which is always safe.
 *
 * Memory (array R.X at `ptr(R.X)`): per line taken (up to lineCapacity) its time (f64), machine,
 * status and `injected` ids (i32, -1 for null / none), its first entry (i32, one more slot for
 * the end) and the offset of its `\n` (i32); per entry (up to entryCapacity) its key id (i32) and
 * value (f64); the string table (8 i32 per string: arena offset, length, flags, the last line it
 * was a key of, the string that followed it at its place, a machine's last status), its hash
 * slots (id + 1, 0 empty), a small state array, the string last seen at each place of a line, the
 * input bytes, and the string arena last (it grows in place as strings are added).
 *
 * About 620 lines, over the project's ~400: one concern, the canonical line's grammar, whose
 * parts (strings and their table, numbers, times) are inlined into the one scan loop and share
 * the layout's module globals; what they share with the kernels is already in lib/memory.ts.
 * @module
 */

import {
  allocate,
  beginConfigure,
  checkConfigured,
  growLayout,
  offsetOf,
  place,
  region,
} from "./lib/memory";

export { ptr, testGrowMemory } from "./lib/memory";

/** The arrays of the layout (engine/formats/wasm_line_scanner.ts `JSONL_ARRAYS`). */
enum R {
  LINE_TIME, LINE_MACHINE, LINE_STATUS, LINE_INJECTED, LINE_FIRST, LINE_END,
  ENTRY_KEY, ENTRY_VALUE, STRINGS, HASH, STATE, LAST, INPUT, ARENA,
}

/** Fields of a string's entry in R.STRINGS (STRING_FIELDS i32 each). */
const F_OFFSET: i32 = 0; // in the arena
const F_LENGTH: i32 = 1;
const F_FLAGS: i32 = 2;
const F_LINE: i32 = 3; // the last line it was a key of
const F_AFTER: i32 = 4; // the string that followed it at its place in a line, last time (id + 1)
const F_STATUS: i32 = 5; // as a machine id: the status of its last line (id + 1)
const STRING_FIELDS: i32 = 8;

/** Places of a string in a line, for R.LAST (the id + 1 of the string last seen there): the
 * machine, the status, the n-th channel key (2 + n), the `injected` label. */
const AT_MACHINE: i32 = 0;
const AT_STATUS: i32 = 1;
const AT_KEY: i32 = 2;
const AT_INJECTED: i32 = 63;
const PLACES: i32 = 64;

/** Fields of the state array (i32): what the last `scan` left for the host. */
const S_LINES: i32 = 0; // lines taken
const S_ENTRIES: i32 = 1; // entries written for them
const S_AT: i32 = 2; // start of the first line not taken
const S_UNKNOWN_START: i32 = 3; // an unknown string's bytes (UNKNOWN)
const S_UNKNOWN_END: i32 = 4;
const S_STRINGS: i32 = 5; // strings in the table
const STATE_FIELDS: i32 = 8;

/** Why `scan` stopped (positive: the helpers return them negated, beside ids and offsets). */
const DECLINED: i32 = 1; // the line at S_AT is not canonical (or past a bound)
const FULL: i32 = 2; // maxLines taken, or the line's entries would not fit
const UNKNOWN: i32 = 3; // the line at S_AT holds a string the table lacks
const END: i32 = 4; // no complete line left before `to` (or `from` reached it)

/** String flags: the role as a key (low 4 bits), then the rules it passes. */
const ROLE_MASK: i32 = 15;
const CHANNEL: i32 = 0;
const INJECTED: i32 = 4;
const MACHINE_OK: i32 = 16;
const STATUS_OK: i32 = 32;

/** Keys of a line at most (JsonLineScanner's MAX_KEYS): timestamp, machine, status, the
 * channels and `injected`. */
const MAX_KEYS: i32 = 64;

const QUOTE: u32 = 0x22;
const BACKSLASH: u32 = 0x5c;
const COMMA: u32 = 0x2c;
const CLOSE: u32 = 0x7d;
const NL: u32 = 0x0a;
const MINUS: u32 = 0x2d;
const DOT: u32 = 0x2e;
const ZERO: u32 = 0x30;

/** Exact powers of ten 1e0 … 1e22 (the divisor of Clinger's fast path, as in #number). */
const POW10: usize = memory.data<f64>([
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
  1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
], 16);

let gLineCap: i32 = 0;
let gEntryCap: i32 = 0;
let gInputCap: i32 = 0;
let gMaxStrings: i32 = 0;
let gMaxStringBytes: i32 = 0;
let gMaxLineLength: i32 = 0;
let gMask: u32 = 0;
let gStrings: i32 = 0;
let gArenaUsed: i32 = 0;
let gArenaCap: i32 = 0;
/** The number of the line being read, for the duplicate-key check (wrapping could only decline
 * a line: a stale mark equal to a later line's number reads as a duplicate). */
let gLine: i32 = 0;

// Addresses of the arrays the string helpers below use, set by `bind` at each export's start.
let gBase: usize = 0;
let gStr: usize = 0;
let gArena: usize = 0;
let gLast: usize = 0;

/** Sets the address globals (the region may move when the arena grows). */
function bind(): void {
  gBase = region(R.INPUT);
  gStr = region(R.STRINGS);
  gArena = region(R.ARENA);
  gLast = region(R.LAST);
}

// Scan cursor and results of the helpers below (globals: no allocation, no tuples).
let gAt: i32 = 0;
let gHash: u32 = 0;
/** The stop code of a number `readNumber` declined (negative). */
let gNumberStop: i32 = 0;
/** The entries the last line `readLine` took wrote. */
let gEntries: i32 = 0;
/** The last time converted, and its 24 bytes as 3 words; NaN before the first (the words are
 * then zeros, which 24 NUL bytes in a line would match). */
let gLastTime: f64 = NaN;
let gLastTime0: u64 = 0;
let gLastTime1: u64 = 0;
let gLastTime2: u64 = 0;

/**
 * Lays out the scanner: `lineCapacity` lines and `entryCapacity` entries (≥ 64: a line's) per
 * scan, `inputCapacity` input bytes, a string table of `maxStrings` strings of at most
 * `maxStringBytes` bytes, lines of at most `maxLineLength` bytes. Returns the bytes allocated.
 */
export function configure(
  lineCapacity: i32,
  entryCapacity: i32,
  inputCapacity: i32,
  maxStrings: i32,
  maxStringBytes: i32,
  maxLineLength: i32,
): f64 {
  beginConfigure();
  assert(lineCapacity >= 1 && lineCapacity <= (1 << 22), "configure: lineCapacity out of range");
  assert(
    entryCapacity >= MAX_KEYS && entryCapacity <= (1 << 24),
    "configure: entryCapacity out of range",
  );
  assert(maxLineLength >= 1 && maxLineLength < (1 << 28), "configure: maxLineLength out of range");
  assert(
    inputCapacity > maxLineLength && inputCapacity <= (1 << 29),
    "configure: inputCapacity out of range",
  );
  assert(maxStrings >= 1 && maxStrings <= (1 << 20), "configure: maxStrings out of range");
  assert(maxStringBytes >= 0 && maxStringBytes <= 4096, "configure: maxStringBytes out of range");
  const lines = <f64>lineCapacity;
  const slots = (<u32>1) << (32 - clz<u32>(<u32>maxStrings * 2 - 1));
  place(R.LINE_TIME, lines * 8);
  place(R.LINE_MACHINE, lines * 4);
  place(R.LINE_STATUS, lines * 4);
  place(R.LINE_INJECTED, lines * 4);
  place(R.LINE_FIRST, (lines + 1) * 4);
  place(R.LINE_END, lines * 4);
  place(R.ENTRY_KEY, <f64>entryCapacity * 4);
  place(R.ENTRY_VALUE, <f64>entryCapacity * 8);
  place(R.STRINGS, <f64>maxStrings * STRING_FIELDS * 4);
  place(R.HASH, <f64>slots * 4);
  place(R.STATE, <f64>STATE_FIELDS * 4);
  place(R.LAST, <f64>PLACES * 4);
  // 8 bytes of slack after the input and the arena: a string is compared 8 bytes at a time.
  place(R.INPUT, <f64>inputCapacity + 8);
  const arena = 65536;
  place(R.ARENA, <f64>arena + 8);
  const total = allocate(2147483648.0, "configure: the scanner would exceed 2 GiB");
  gLineCap = lineCapacity;
  gEntryCap = entryCapacity;
  gInputCap = inputCapacity;
  gMaxStrings = maxStrings;
  gMaxStringBytes = maxStringBytes;
  gMaxLineLength = maxLineLength;
  gMask = slots - 1;
  gArenaCap = arena;
  return total;
}

@inline function byteAt(i: i32): u32 {
  return <u32>load<u8>(gBase + <usize>i);
}

@inline function stringField(id: i32, field: i32): i32 {
  return load<i32>(gStr + (<usize>(id * STRING_FIELDS + field) << 2));
}

@inline function setStringField(id: i32, field: i32, v: i32): void {
  store<i32>(gStr + (<usize>(id * STRING_FIELDS + field) << 2), v);
}

/** Whether `length` bytes at `a` and `b` are equal: 8 at a time, the last word masked (both
 * regions have 8 bytes of slack after their end). */
@inline function sameBytes(a: usize, b: usize, length: i32): bool {
  let k: i32 = 0;
  for (; k + 8 <= length; k += 8) {
    if (load<u64>(a + <usize>k) != load<u64>(b + <usize>k)) return false;
  }
  const rest = <u64>(length - k);
  if (rest == 0) return true;
  const mask = (<u64>1 << (rest << 3)) - 1;
  return ((load<u64>(a + <usize>k) ^ load<u64>(b + <usize>k)) & mask) == 0;
}

/** Whether the string whose content starts at `i` (before `e`) is string `id`; then leaves the
 * position after its closing quote in gAt. */
@inline function matches(id: i32, i: i32, e: i32): bool {
  const length = stringField(id, F_LENGTH);
  const close = i + length;
  if (close >= e || byteAt(close) != QUOTE) return false;
  if (!sameBytes(gArena + <usize>stringField(id, F_OFFSET), gBase + <usize>i, length)) {
    return false;
  }
  gAt = close + 1;
  return true;
}

/**
 * `readString` for the string at `place` of a line: the string last seen there and the one that
 * followed it there last time are tried first (lines of one file repeat their keys and status
 * in one order, their machines in turn), which saves hashing and looking it up.
 */
function readStringAt(p: i32, i: i32, e: i32, place: i32): i32 {
  const slot = gLast + (<usize>place << 2);
  const last = load<i32>(slot) - 1;
  if (last >= 0) {
    const after = stringField(last, F_AFTER) - 1;
    if (after >= 0 && matches(after, i, e)) {
      store<i32>(slot, after + 1);
      return after;
    }
    if (matches(last, i, e)) return last;
  }
  const id = readString(p, i, e);
  if (id >= 0) {
    if (last >= 0) setStringField(last, F_AFTER, id + 1);
    store<i32>(slot, id + 1);
  }
  return id;
}

/** The id of the string `[start, end)` of the input (hashed into gHash), -1 when not known. */
function lookup(start: i32, end: i32): i32 {
  const length = end - start;
  const hash = region(R.HASH);
  const arena = gArena;
  const at = gBase + <usize>start;
  let slot = gHash & gMask;
  while (true) {
    const v = load<i32>(hash + (<usize>slot << 2));
    if (v == 0) return -1;
    const id = v - 1;
    if (
      stringField(id, F_LENGTH) == length &&
      sameBytes(arena + <usize>stringField(id, F_OFFSET), at, length)
    ) return id;
    slot = (slot + 1) & gMask;
  }
}

/** Out of bytes at `e` reading the line at `p`: declined when `e` is its longest end (the line
 * is too long), else END (more bytes may complete it). */
@inline function outOfBytes(p: i32, e: i32): i32 {
  return e - p > gMaxLineLength ? -DECLINED : -END;
}

/**
 * Reads the string whose content starts at `i` (before `e`): its id, or a negative stop code
 * (-DECLINED, -END, -UNKNOWN with its range in the state). Leaves the position after its
 * closing quote in gAt. Bytes 0x20–0x7e but `"` and `\` only: no escape, control or non-ASCII.
 */
function readString(p: i32, i: i32, e: i32): i32 {
  let h: u32 = 0x811c9dc5;
  const start = i;
  for (; i < e; i++) {
    const c = byteAt(i);
    if (c == QUOTE) {
      gAt = i + 1;
      gHash = h;
      const id = lookup(start, i);
      if (id >= 0) return id;
      if (i - start > gMaxStringBytes || gStrings >= gMaxStrings) return -DECLINED;
      const state = region(R.STATE);
      store<i32>(state + (<usize>S_UNKNOWN_START << 2), start);
      store<i32>(state + (<usize>S_UNKNOWN_END << 2), i);
      return -UNKNOWN;
    }
    if (c - 0x20 >= 0x5f || c == BACKSLASH) return -DECLINED;
    h = (h ^ c) * 0x01000193;
  }
  return outOfBytes(p, e);
}

/** Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian). */
@inline function daysFromCivil(year: i32, month: i32, day: i32): i64 {
  const y = month <= 2 ? year - 1 : year;
  const era = (y >= 0 ? y : y - 399) / 400;
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = (153 * mp + 2) / 5 + day - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return <i64>era * 146097 + <i64>doe - 719468;
}

/** The two-digit number at `i`, or -1000 when a byte is not a digit. */
@inline function two(i: i32): i32 {
  const a = byteAt(i) - ZERO, b = byteAt(i + 1) - ZERO;
  return a > 9 || b > 9 ? -1000 : <i32>(a * 10 + b);
}

/** Epoch ms of the `toISOString` form `YYYY-MM-DDTHH:MM:SS.sssZ` at `i` (24 bytes, present),
 * NaN when it is not that form of a valid date. */
function isoTime(i: i32): f64 {
  const hi = two(i), lo = two(i + 2);
  const month = two(i + 5), day = two(i + 8);
  const hour = two(i + 11), minute = two(i + 14), second = two(i + 17);
  const ms1 = byteAt(i + 20) - ZERO;
  const ms23 = two(i + 21);
  if (
    hi < 0 || lo < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
    minute < 0 || minute > 59 || second < 0 || second > 59 || ms1 > 9 || ms23 < 0 ||
    byteAt(i + 4) != MINUS || byteAt(i + 7) != MINUS || byteAt(i + 10) != 0x54 ||
    byteAt(i + 13) != 0x3a || byteAt(i + 16) != 0x3a || byteAt(i + 19) != DOT ||
    byteAt(i + 23) != 0x5a
  ) return NaN;
  const year = hi * 100 + lo;
  let days = 31;
  if (month == 2) {
    const leap = (year & 3) == 0 && (year % 100 != 0 || year % 400 == 0);
    days = leap ? 29 : 28;
  } else if (month == 4 || month == 6 || month == 9 || month == 11) days = 30;
  if (day > days) return NaN;
  const ms = daysFromCivil(year, month, day) * 86400000 +
    <i64>(hour * 3600000 + minute * 60000 + second * 1000 + <i32>ms1 * 100 + ms23);
  return <f64>ms;
}

/**
 * Reads the plain number at `i` (before `e`), as JsonLineScanner's #number when it leaves
 * #plainNumber true: `-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?`, at most 15 significant digits, not
 * `-0`, 0 or at least 1e-6 in magnitude. Returns the value, or NaN to decline (the stop code
 * in gNumberStop). Leaves its end in gAt.
 */
function readNumber(p: i32, i: i32, e: i32): f64 {
  const negative = byteAt(i) == MINUS;
  if (negative) i++;
  // w < 1e15 after each digit: at most 15 significant digits (w holds no leading zero), and
  // no overflow.
  let w: i64 = 0;
  let e10: i32 = 0;
  if (i >= e) {
    gNumberStop = outOfBytes(p, e);
    return NaN;
  }
  if (byteAt(i) == ZERO) i++;
  else {
    const from = i;
    for (; i < e; i++) {
      const d = byteAt(i) - ZERO;
      if (d > 9) break;
      w = w * 10 + <i64>d;
      if (w >= 1000000000000000) break;
    }
    if (i == from || w >= 1000000000000000) {
      gNumberStop = i == e ? outOfBytes(p, e) : -DECLINED;
      return NaN;
    }
  }
  if (i < e && byteAt(i) == DOT) {
    const from = ++i;
    for (; i < e; i++) {
      const d = byteAt(i) - ZERO;
      if (d > 9) break;
      w = w * 10 + <i64>d;
      if (w >= 1000000000000000 || --e10 < -22) {
        gNumberStop = -DECLINED;
        return NaN;
      }
    }
    if (i == from || byteAt(i - 1) == ZERO) {
      gNumberStop = i == e ? outOfBytes(p, e) : -DECLINED;
      return NaN;
    }
  }
  if (i >= e) {
    gNumberStop = outOfBytes(p, e);
    return NaN;
  }
  gAt = i;
  if (w == 0) {
    if (negative) {
      gNumberStop = -DECLINED;
      return NaN;
    }
    return 0;
  }
  const fw = <f64>w;
  const v = e10 == 0 ? fw : fw / load<f64>(POW10 + (<usize>(-e10) << 3));
  if (v < 1e-6) {
    gNumberStop = -DECLINED;
    return NaN;
  }
  return negative ? -v : v;
}

/**
 * Reads the line at `p` (before `to`) into line `line` and entries from `entry`: the end of
 * its `\n` + 1 (> p) when taken, else a negative stop code (-DECLINED, -END, -FULL, -UNKNOWN).
 * Sets gEntries to the entries it wrote.
 */
function readLine(p: i32, to: i32, line: i32, entry: i32): i32 {
  const e = min(to, p + gMaxLineLength + 1);
  const lineNumber = gLine = gLine + 1;
  const base = gBase + <usize>p;
  // {"timestamp":"  (14 bytes), 24 bytes of time, then ","machine":"  (13 bytes)
  if (p + 51 > e) return outOfBytes(p, e);
  if (
    load<u64>(base) != 0x7473656d6974227b || load<u32>(base, 8) != 0x22706d61 ||
    load<u16>(base, 12) != 0x223a || load<u8>(base, 38) != <u8>QUOTE ||
    load<u64>(base, 39) != 0x6e696863616d222c || load<u32>(base, 47) != 0x223a2265
  ) return -DECLINED;
  // Lines come in ticks of one time: the last time's 24 bytes, compared as 3 words, are
  // converted once.
  let time = gLastTime;
  if (
    isNaN(time) || load<u64>(base, 14) != gLastTime0 || load<u64>(base, 22) != gLastTime1 ||
    load<u64>(base, 30) != gLastTime2
  ) {
    time = isoTime(p + 14);
    if (isNaN(time)) return -DECLINED;
    gLastTime = time;
    gLastTime0 = load<u64>(base, 14);
    gLastTime1 = load<u64>(base, 22);
    gLastTime2 = load<u64>(base, 30);
  }
  const machine = readStringAt(p, p + 51, e, AT_MACHINE);
  if (machine < 0) return machine;
  if ((stringField(machine, F_FLAGS) & MACHINE_OK) == 0) return -DECLINED;
  // ,"status":  (10 bytes), then null or a string
  let i = gAt;
  if (i + 14 > e) return outOfBytes(p, e);
  const at = gBase + <usize>i;
  if (load<u64>(at) != 0x737574617473222c || load<u16>(at, 8) != 0x3a22) return -DECLINED;
  let status: i32 = -1;
  if (load<u32>(at, 10) == 0x6c6c756e) i += 14;
  else {
    if (byteAt(i + 10) != QUOTE) return -DECLINED;
    // A machine's status changes seldom, the status at its place in the line often (machines
    // in turn): the machine's last status is tried first.
    const last = stringField(machine, F_STATUS) - 1;
    if (last >= 0 && matches(last, i + 11, e)) status = last;
    else {
      status = readStringAt(p, i + 11, e, AT_STATUS);
      if (status < 0) return status;
      setStringField(machine, F_STATUS, status + 1);
    }
    if ((stringField(status, F_FLAGS) & STATUS_OK) == 0) return -DECLINED;
    i = gAt;
  }
  let injected: i32 = -1;
  let n: i32 = 0;
  const keyBase = region(R.ENTRY_KEY), valueBase = region(R.ENTRY_VALUE);
  // Members after the first three: channels, then `injected` last.
  while (true) {
    if (i >= e) return outOfBytes(p, e);
    const c = byteAt(i);
    if (c == CLOSE) break;
    if (c != COMMA || injected >= 0) return -DECLINED;
    if (i + 1 >= e) return outOfBytes(p, e);
    if (byteAt(i + 1) != QUOTE) return -DECLINED;
    if (n + 3 >= MAX_KEYS) return -DECLINED; // a 65th key: JsonLineScanner declines the line
    const key = readStringAt(p, i + 2, e, AT_KEY + n);
    if (key < 0) return key;
    i = gAt;
    if (i + 1 >= e) return outOfBytes(p, e);
    if (byteAt(i) != 0x3a) return -DECLINED;
    const role = stringField(key, F_FLAGS) & ROLE_MASK;
    if (role == CHANNEL) {
      // A duplicate key: JsonLineScanner declines it.
      if (stringField(key, F_LINE) == lineNumber) return -DECLINED;
      setStringField(key, F_LINE, lineNumber);
      const c1 = byteAt(i + 1);
      if (c1 != MINUS && c1 - ZERO > 9) return -DECLINED;
      const v = readNumber(p, i + 1, e);
      if (isNaN(v)) return gNumberStop;
      if (entry + n >= gEntryCap) return -FULL;
      store<i32>(keyBase + (<usize>(entry + n) << 2), key);
      store<f64>(valueBase + (<usize>(entry + n) << 3), v);
      n++;
      i = gAt;
    } else if (role == INJECTED) {
      // A string value only: a number makes `injected` a channel, not written so.
      if (byteAt(i + 1) != QUOTE) return -DECLINED;
      injected = readStringAt(p, i + 2, e, AT_INJECTED);
      if (injected < 0) return injected;
      i = gAt;
    } else return -DECLINED; // a field twice, `__proto__`, a key starting with a digit
  }
  if (i + 1 >= e) return outOfBytes(p, e);
  if (byteAt(i + 1) != NL) return -DECLINED;
  if (n == 0 && status < 0) return -DECLINED; // no channel and no status: an error
  const l = <usize>line;
  store<f64>(region(R.LINE_TIME) + (l << 3), time);
  store<i32>(region(R.LINE_MACHINE) + (l << 2), machine);
  store<i32>(region(R.LINE_STATUS) + (l << 2), status);
  store<i32>(region(R.LINE_INJECTED) + (l << 2), injected);
  store<i32>(region(R.LINE_FIRST) + (l << 2), entry);
  store<i32>(region(R.LINE_END) + (l << 2), i + 1);
  gEntries = n;
  return i + 2;
}

/**
 * Scans the input bytes `[from, to)` line by line, taking lines into the line and entry
 * arrays from their start until one is declined, unknown, incomplete, or `maxLines` are taken.
 * Returns why it stopped (DECLINED 1, FULL 2, UNKNOWN 3, END 4); the state array holds the
 * lines and entries taken and where the first line not taken starts.
 */
export function scan(from: i32, to: i32, maxLines: i32): i32 {
  checkConfigured("scan");
  // One check here: every read below is in [from, to) of the input region.
  assert(
    from >= 0 && from <= to && to <= gInputCap && maxLines >= 0 && maxLines <= gLineCap,
    "scan: argument out of range",
  );
  bind();
  let p = from, lines: i32 = 0, entries: i32 = 0;
  let why = END;
  while (true) {
    if (lines == maxLines) {
      why = FULL;
      break;
    }
    if (p >= to) break;
    const r = readLine(p, to, lines, entries);
    if (r < 0) {
      why = -r;
      break;
    }
    lines++;
    entries += gEntries;
    p = r;
  }
  store<i32>(region(R.LINE_FIRST) + (<usize>lines << 2), entries);
  const state = region(R.STATE);
  store<i32>(state + (<usize>S_LINES << 2), lines);
  store<i32>(state + (<usize>S_ENTRIES << 2), entries);
  store<i32>(state + (<usize>S_AT << 2), p);
  return why;
}

/**
 * Adds the input bytes `[start, end)` to the string table with `flags` (role | MACHINE_OK |
 * STATUS_OK); returns its id. The host calls it for the string an UNKNOWN scan reported.
 */
export function intern(start: i32, end: i32, flags: i32): i32 {
  checkConfigured("intern");
  const length = end - start;
  assert(
    start >= 0 && start <= end && end <= gInputCap && length <= gMaxStringBytes &&
      gStrings < gMaxStrings,
    "intern: argument out of range or table full",
  );
  bind();
  let h: u32 = 0x811c9dc5;
  for (let i = start; i < end; i++) h = (h ^ byteAt(i)) * 0x01000193;
  gHash = h;
  const known = lookup(start, end);
  if (known >= 0) return known;
  if (gArenaUsed + length > gArenaCap) {
    let cap = gArenaCap;
    while (gArenaUsed + length > cap) cap *= 2;
    growLayout(offsetOf(R.ARENA) + <f64>cap + 8, 2147483648.0, "intern: the strings exceed 2 GiB");
    gArenaCap = cap;
    bind();
  }
  memory.copy(gArena + <usize>gArenaUsed, gBase + <usize>start, length);
  const id = gStrings++;
  setStringField(id, F_OFFSET, gArenaUsed);
  setStringField(id, F_LENGTH, length);
  setStringField(id, F_FLAGS, flags);
  setStringField(id, F_LINE, 0);
  setStringField(id, F_AFTER, 0);
  setStringField(id, F_STATUS, 0);
  gArenaUsed += length;
  const hash = region(R.HASH);
  let slot = h & gMask;
  while (load<i32>(hash + (<usize>slot << 2)) != 0) slot = (slot + 1) & gMask;
  store<i32>(hash + (<usize>slot << 2), id + 1);
  store<i32>(region(R.STATE) + (<usize>S_STRINGS << 2), gStrings);
  return id;
}
