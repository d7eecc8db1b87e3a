/**
 * {@linkcode ByteText}: UTF-8 text built straight into one reused byte buffer. Replay writes
 * about 140 MB of lines per million readings; building each batch as a JS string (many short
 * concatenations) and then encoding it cost more than the formatting itself, and the batch's
 * strings lived long enough to be promoted and swell the heap. Output text is mostly short ASCII
 * pieces, copied a code unit at a time; a long string, or one with any other character, goes
 * through `TextEncoder.encodeInto`, giving the same bytes.
 * @module
 */

const encoder = new TextEncoder();

/** Bytes a {@linkcode ByteText} keeps between batches: past this, `clear` drops its buffer
 * for a new one of {@linkcode BYTE_TEXT_KEEP} bytes, so one huge batch does not pin memory. */
export const BYTE_TEXT_KEEP = 4 << 20;

/**
 * A growable byte buffer of UTF-8 text. Each batch `clear`s it, appends, and writes `bytes()`
 * (a view that is valid until the next append or `clear`).
 *
 * @example
 * ```ts
 * const t = new ByteText();
 * t.text("temperature=");
 * t.number(25.7);
 * new TextDecoder().decode(t.bytes()); // "temperature=25.7"
 * ```
 */
export class ByteText {
  #buf: Uint8Array;
  #len = 0;

  constructor(capacity = 1 << 16) {
    this.#buf = new Uint8Array(capacity);
  }

  /** Bytes appended since the last `clear`. */
  get length(): number {
    return this.#len;
  }

  /** The text so far (a view of the buffer: valid until the next append or `clear`). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  /** Empties the text (and drops a buffer that grew past {@linkcode BYTE_TEXT_KEEP}). */
  clear(): void {
    this.#len = 0;
    if (this.#buf.length > BYTE_TEXT_KEEP) this.#buf = new Uint8Array(BYTE_TEXT_KEEP);
  }

  /** Room for `n` more bytes. */
  #room(n: number): Uint8Array {
    const need = this.#len + n;
    if (need > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < need) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    return this.#buf;
  }

  /** Appends one byte (an ASCII code). */
  byte(code: number): void {
    const buf = this.#room(1);
    buf[this.#len++] = code;
  }

  /** Appends bytes (e.g. a cached encoded string). */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    const buf = this.#room(n);
    let at = this.#len;
    // Short pieces (a status, a channel's key) copy faster in a loop than through `set`'s
    // call; from 32 bytes (a line's timestamp head) `set` is faster (measured: BENCHMARKS.md).
    if (n < 32) { for (let i = 0; i < n; i++) buf[at++] = bytes[i]!; }
    else {
      buf.set(bytes, at);
      at += n;
    }
    this.#len = at;
  }

  /** Appends `s` as UTF-8. */
  text(s: string): void {
    const n = s.length;
    // A long string goes to the native encoder at once (its call costs less than the loop).
    if (n > 64) {
      this.#encode(s);
      return;
    }
    const buf = this.#room(n);
    const start = this.#len;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.#encode(s);
        return;
      }
      buf[start + i] = c;
    }
    this.#len = start + n;
  }

  #encode(s: string): void {
    this.#room(s.length * 3);
    const { written } = encoder.encodeInto(s, this.#buf.subarray(this.#len));
    this.#len += written;
  }

  /**
   * The buffer with room for `n` more bytes from `length` on, for a writer that fills it itself
   * (a row's cells at a local index, then {@linkcode ByteText.end}): one check of the room per
   * row instead of one per byte. Valid until the next append or `clear`.
   *
   * @example
   * ```ts
   * const t = new ByteText();
   * const buf = t.reserve(2);
   * let at = t.length;
   * buf[at++] = 111; // "o"
   * buf[at++] = 107; // "k"
   * t.end(at);
   * ```
   */
  reserve(n: number): Uint8Array {
    return this.#room(n);
  }

  /** Ends the text at `at`: the bytes a writer put in the {@linkcode ByteText.reserve}d room up
   * to there are kept (`at` is at most the reserved end). */
  end(at: number): void {
    this.#len = at;
  }

  /**
   * Appends `v` as `String(v)` prints it (see {@linkcode writeNumber}).
   */
  number(v: number): void {
    const at = writeNumber(this.#room(NUMBER_ROOM), this.#len, v);
    if (at < 0) this.text(String(v));
    else this.#len = at;
  }
}

/** Bytes {@linkcode writeNumber} may write at most. */
export const NUMBER_ROOM = 12;

const INT32_MAX = 2147483647;

/**
 * Writes `v` as `String(v)` prints it into `buf` from `at` (which has {@linkcode NUMBER_ROOM}
 * bytes of room) and returns the end; or returns -1 and writes nothing when `v` is not one it
 * handles, for the caller to append `String(v)`. A value that is exactly the double nearest
 * k/1000 (k an integer well below 2^53) prints as k/1000's decimal without trailing zeros — no
 * other decimal of at most 3 places is that close, and a shorter one would be another such
 * decimal — so those (the rounded values every output holds) are written from integer digits
 * when k fits an int32. A free function, not a method, so that a writer filling a reserved
 * buffer (the CSV rows) gets it inlined.
 *
 * @example
 * ```ts
 * const buf = new Uint8Array(NUMBER_ROOM);
 * const end = writeNumber(buf, 0, -25.7); // 5: buf holds "-25.7"
 * ```
 */
export function writeNumber(buf: Uint8Array, at: number, v: number): number {
  const k = Math.round(v * 1000);
  // Past int32 (|v| above about 2.1 million, rare in readings) `String` does it.
  if (k / 1000 !== v || k > INT32_MAX || k < -INT32_MAX) return -1;
  // In int32 arithmetic (measured: about a third faster than in doubles). The sign without a
  // branch of its own: the first negative value comes long after this is optimized (the
  // z-scores start at 0), and a path first taken then deoptimized it and its callers.
  const a = Math.abs(k) | 0;
  buf[at] = 45; // "-", kept only when k < 0
  at += k < 0 ? 1 : 0;
  const int = (a / 1000) | 0;
  let frac = a - int * 1000;
  at = writeDigits32(buf, at, int);
  if (frac !== 0) {
    buf[at++] = 46; // "."
    const d1 = (frac / 100) | 0;
    buf[at++] = 48 + d1;
    frac -= d1 * 100;
    if (frac !== 0) {
      const d2 = (frac / 10) | 0;
      buf[at++] = 48 + d2;
      frac -= d2 * 10;
      if (frac !== 0) buf[at++] = 48 + frac;
    }
  }
  return at;
}

/** Bytes {@linkcode writeSafeInteger} may write at most (2^53 − 1 has 16 digits). */
export const SAFE_INTEGER_ROOM = 16;

/**
 * Writes a non-negative safe integer at `buf[at]` as `String` (and `JSON.stringify`) prints it
 * and returns the end, or -1 for any other number: in two int32 halves, as
 * {@linkcode writeNumber} handles only values below about 2.1 million (an MQTT delivery hash
 * passes 4 billion).
 *
 * @example
 * ```ts
 * const buf = new Uint8Array(SAFE_INTEGER_ROOM);
 * const end = writeSafeInteger(buf, 0, 4294967295); // 10: buf holds "4294967295"
 * ```
 */
export function writeSafeInteger(buf: Uint8Array, at: number, v: number): number {
  if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER) || Math.floor(v) !== v) return -1;
  const high = Math.floor(v / 1e8);
  if (high === 0) return writeDigits32(buf, at, v | 0);
  at = writeDigits32(buf, at, high | 0);
  let low = (v - high * 1e8) | 0;
  for (let i = at + 7; i >= at; i--) {
    const q = (low / 10) | 0;
    buf[i] = 48 + low - q * 10;
    low = q;
  }
  return at + 8;
}

/** Writes the decimal digits of a non-negative int32 at `at`; returns the end. */
function writeDigits32(buf: Uint8Array, at: number, n: number): number {
  // Most integer parts of rows' values are below 1,000 (readings, averages, z-scores): those
  // are written without counting digits first.
  if (n < 10) {
    buf[at] = 48 + n;
    return at + 1;
  }
  if (n < 100) {
    const q = (n / 10) | 0;
    buf[at] = 48 + q;
    buf[at + 1] = 48 + n - q * 10;
    return at + 2;
  }
  if (n < 1000) {
    const q = (n / 100) | 0;
    const r = n - q * 100;
    const t = (r / 10) | 0;
    buf[at] = 48 + q;
    buf[at + 1] = 48 + t;
    buf[at + 2] = 48 + r - t * 10;
    return at + 3;
  }
  return writeLongDigits(buf, at, n);
}

/** {@linkcode writeDigits32} of 1,000 and above: apart so that the short cases stay small
 * enough to be inlined where numbers are written. */
function writeLongDigits(buf: Uint8Array, at: number, n: number): number {
  const len = n < 10000
    ? 4
    : n < 100000
    ? 5
    : n < 1000000
    ? 6
    : n < 10000000
    ? 7
    : n < 100000000
    ? 8
    : n < 1000000000
    ? 9
    : 10;
  let end = at + len;
  while (n >= 10) {
    const q = (n / 10) | 0;
    buf[--end] = 48 + n - q * 10;
    n = q;
  }
  buf[--end] = 48 + n;
  return at + len;
}

/**
 * `s` as UTF-8 bytes, cached: the handful of distinct short strings an output repeats millions
 * of times (machine ids, statuses, channel names, JSON keys). Bounded, so that arbitrary input
 * cannot grow it without limit: past {@linkcode BYTES_CACHE_CAPACITY} strings, new ones are
 * encoded each time.
 *
 * @example
 * ```ts
 * const quoted = new BytesCache((s) => JSON.stringify(s));
 * quoted.get("m1"); // the bytes of "\"m1\""
 * ```
 */
export class BytesCache {
  readonly #map = new Map<string, Uint8Array>();
  readonly #make: (s: string) => string;

  /** `make` gives the text cached for a string (e.g. it quoted). */
  constructor(make: (s: string) => string = (s) => s) {
    this.#make = make;
  }

  /** The bytes of `make(s)`. */
  get(s: string): Uint8Array {
    let b = this.#map.get(s);
    if (b === undefined) {
      b = encoder.encode(this.#make(s));
      if (this.#map.size < BYTES_CACHE_CAPACITY) this.#map.set(s, b);
    }
    return b;
  }
}

/** Strings one {@linkcode BytesCache} keeps. */
export const BYTES_CACHE_CAPACITY = 65_536;
