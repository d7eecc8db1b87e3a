/**
 * Splits a byte stream into lines without decoding it, so that a line can be read from its bytes
 * (`JsonLineScanner`) and decoded only when it must be. The lines and their text are those of
 * `TextDecoder` + `LineSplitter`: split on `\n`, one `\r` before it dropped, a UTF-8 byte order
 * mark at the start of the stream dropped, a last line without `\n` kept, and a line longer than
 * `maxLineLength` UTF-16 units cut to `maxLineLength + 1` of them.
 * @module
 */

const NL = 0x0a, CR = 0x0d;

/** A read buffer and how many lenders' holds it has (see `ByteLines.lend`). */
interface Slot {
  readonly bytes: Uint8Array;
  holds: number;
}

/** Options of {@linkcode ByteLines}. */
export interface ByteLinesOptions {
  /** Longest line passed on whole, in UTF-16 code units. @default {65536} */
  maxLineLength?: number;
  /** Bytes read at a time. @default {1048576} */
  chunkBytes?: number;
  /** Read buffers given back after a `lend` kept for later reads, at most (see
   * {@linkcode ByteLines.lend}). @default {4} */
  spareBuffers?: number;
}

/**
 * The lines of a byte stream, filled a read at a time:
 * `space()` → read into it → `commit(n)` (or `finish()` at the end) → `next()` until false.
 *
 * The buffer read into holds one read plus the partial line carried to the next one, which is cut to
 * `3 × maxLineLength + 9` bytes: a UTF-16 unit takes at most 3 bytes of UTF-8 (a replacement
 * character for a bad sequence too), so those bytes decode to more than `maxLineLength + 1`
 * units, the first `maxLineLength + 1` of them as the whole line would.
 *
 * A reader may keep bytes of a read past the next one with `lend()` (a file source hands a
 * batch's lines to the writer as they stand in the buffer, instead of copying them): that buffer
 * is then neither read into nor compacted again until every lend of it is given back; the next
 * read goes to a spare buffer of the same size, and only the partial line moves. Given back, a
 * buffer is kept for a later read, up to `spareBuffers` of them, each `chunkBytes` + 4 KiB: a
 * buffer kept in use is written to again, where a new one costs a page fault per 4 KiB (about
 * 5–10 ms a MiB here, BENCHMARKS.md "Batch text without a copy"). A lend never given back (a
 * batch dropped on an error) only costs a new buffer.
 *
 * @example
 * ```ts
 * const lines = new ByteLines({ chunkBytes: 64 });
 * const n = new TextEncoder().encodeInto("a\r\nb", lines.space()).written;
 * lines.commit(n);
 * lines.next(); // true: lines.buffer[lines.start, lines.end) is "a"
 * lines.next(); // false: "b" waits for the next read or finish()
 * ```
 */
export class ByteLines {
  readonly #chunk: number;
  readonly #max: number;
  /** Bytes of a line decoded for its text at most (see the class). */
  readonly #cap: number;
  /** The size of a read buffer (larger only for a partial line longer than 4 KiB). */
  readonly #size: number;
  readonly #spares: number;
  /** Buffers given back, ready for a read (all of `#size`). */
  readonly #spare: Slot[] = [];
  /** The buffer read into, and its bytes (`#slot.bytes`, apart for the hot loops). */
  #slot: Slot;
  #buf: Uint8Array;
  /** Next line's start; complete lines end before #limit; bytes end at #avail. */
  #pos = 0;
  #limit = 0;
  #avail = 0;
  /** The stream ended: [#pos, #avail) is a last line without `\n`. */
  #last = false;
  /** The start of the stream is not yet known to hold a byte order mark or not. */
  #bom = true;
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  /** The line `next()` returned: `buffer[start, end)`, its `\r` dropped. */
  start = 0;
  end = 0;

  constructor(options: ByteLinesOptions = {}) {
    this.#max = options.maxLineLength ?? 65536;
    this.#chunk = options.chunkBytes ?? 1 << 20;
    this.#cap = 3 * this.#max + 8;
    this.#spares = options.spareBuffers ?? 4;
    this.#size = this.#chunk + Math.min(4096, this.#cap + 1);
    this.#slot = { bytes: new Uint8Array(this.#size), holds: 0 };
    this.#buf = this.#slot.bytes;
  }

  /** The bytes the lines are in, valid until the next `space()` (unless lent: `lend`). */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /**
   * Keeps `buffer` as it is until the function returned is called (once or more, in any order
   * with other lends'): reads after this one go to another buffer. Never called, the buffer is
   * left to the garbage collector with whatever holds it.
   */
  lend(): () => void {
    const slot = this.#slot;
    slot.holds++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--slot.holds === 0 && slot !== this.#slot) this.#keep(slot);
    };
  }

  /** Where the next read goes (`chunkBytes` long), after the partial line carried over. Only
   * when `next()` has returned false. */
  space(): Uint8Array {
    const keep = this.#avail - this.#pos;
    const need = keep + this.#chunk;
    if (this.#slot.holds > 0 || need > this.#buf.length) {
      // The buffer is lent, or too small for the partial line and a read: the next one.
      const old = this.#slot;
      let slot = this.#spare.pop();
      if (slot === undefined || slot.bytes.length < need) {
        if (slot !== undefined) this.#spare.push(slot);
        slot = { bytes: new Uint8Array(Math.max(need, this.#size)), holds: 0 };
      }
      slot.bytes.set(this.#buf.subarray(this.#pos, this.#avail));
      this.#slot = slot;
      this.#buf = slot.bytes;
      if (old.holds === 0) this.#keep(old);
    } else if (this.#pos > 0) {
      this.#buf.copyWithin(0, this.#pos, this.#avail);
    }
    this.#pos = this.#limit = 0;
    this.#avail = keep;
    return this.#buf.subarray(keep, keep + this.#chunk);
  }

  /** `n` bytes were read into `space()`: the lines they complete are next. */
  commit(n: number): void {
    if (n <= 0) return;
    this.#avail += n;
    if (this.#bom) this.#checkBom(false);
    const nl = this.#avail === 0 ? -1 : this.#buf.lastIndexOf(NL, this.#avail - 1);
    this.#limit = nl + 1;
    // A partial line past the cap: its first bytes are all its text can show.
    if (this.#avail - this.#limit > this.#cap + 1) this.#avail = this.#limit + this.#cap + 1;
  }

  /** The stream ended: a partial last line is a line. */
  finish(): void {
    if (this.#bom) this.#checkBom(true);
    this.#limit = this.#pos;
    this.#last = this.#avail > this.#pos;
  }

  /** Moves to the next complete line; false when there is none until the next read. */
  next(): boolean {
    let end: number;
    if (this.#pos < this.#limit) end = this.#buf.indexOf(NL, this.#pos);
    else if (this.#last) {
      end = this.#avail;
      this.#last = false;
    } else return false;
    this.#take(end);
    return true;
  }

  /** Where the next complete line starts (a `\n` before `limit` ends it), -1 when there is none
   * until the next read: a reader that finds the `\n` itself moves to the line with `nextAt`. */
  get ahead(): number {
    return this.#pos < this.#limit ? this.#pos : -1;
  }

  /** The complete lines end before this. */
  get limit(): number {
    return this.#limit;
  }

  /** Moves to the next line, as `next()` does, when the caller has found its `\n` at `nl`: the
   * first one from `ahead`. */
  nextAt(nl: number): void {
    this.#take(nl);
  }

  /** The next line ends at `end`: a `\n`, or the end of the stream. */
  #take(end: number): void {
    this.start = this.#pos;
    this.#pos = end === this.#avail ? end : end + 1;
    if (end > this.start && this.#buf[end - 1] === CR) end--;
    this.end = end;
  }

  /** Whether the current line ended with a `\n` alone (not `\r\n`, not the end of the
   * stream): then `buffer[start, end + 1)` is the line and its newline. */
  get newline(): boolean {
    return this.#pos === this.end + 1 && this.#buf[this.end] === NL;
  }

  /** The text of the current line as `LineSplitter` passes it on (cut to `maxLineLength + 1`
   * units when longer). */
  text(): string {
    const end = Math.min(this.end, this.start + this.#cap);
    const text = this.#decoder.decode(this.#buf.subarray(this.start, end));
    return text.length > this.#max ? text.slice(0, this.#max + 1) : text;
  }

  /** `slot`, lent no more and not read into, is a spare if there is room for it. */
  #keep(slot: Slot): void {
    if (this.#spare.length < this.#spares && slot.bytes.length === this.#size) {
      this.#spare.push(slot);
    }
  }

  /** Drops a UTF-8 byte order mark at the start of the stream, as `TextDecoder` does, once
   * three bytes (or the end) tell whether there is one. */
  #checkBom(ended: boolean): void {
    const buf = this.#buf, avail = this.#avail;
    const bom = (avail < 1 || buf[0] === 0xef) && (avail < 2 || buf[1] === 0xbb) &&
      (avail < 3 || buf[2] === 0xbf);
    if (bom && avail < 3 && !ended) return;
    this.#bom = false;
    if (bom && avail >= 3) {
      buf.copyWithin(0, 3, avail);
      this.#avail -= 3;
    }
  }
}
