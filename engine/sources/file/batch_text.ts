/**
 * {@linkcode BatchTextBuilder}: a file source's batches' `stream_output.jsonl` lines, built as it
 * reads them. A replay writes one line per reading; a line of the input that is already in the
 * written form (`JsonLineScanner.canonical`) is copied, and runs of such lines, one after another
 * in the read buffer, are copied at once, instead of formatting each reading again (issue 14).
 * @module
 */
import type { Batch } from "../../core/batch.ts";
import type { Reading } from "../../core/types.ts";
import { ByteText } from "../../formats/byte_text.ts";
import { writeReading } from "../../formats/reading_format.ts";

/** Bytes of a new text buffer: a batch of 8,192 simulator readings is about 925 KB. */
const TEXT_BYTES = 1 << 20;

/** Released buffers kept for later batches, at most: as many as the pipeline holds batches
 * between the source and the writer; more are left to the garbage collector. */
export const SPARE_TEXTS = 4;

/** A batch's text shorter than this is copied out of its buffer at `close` (see there). */
const SMALL_TEXT = TEXT_BYTES / 4;

/** Options of {@linkcode BatchTextBuilder}. */
export interface BatchTextOptions {
  /**
   * Keeps `bytes` (the buffer given to `copy`) unchanged until the function returned is called,
   * or says it cannot (`undefined`): a batch whose text is one run of them is then that run
   * itself, not a copy (`ByteLines.lend`). @default {never: every text is copied}
   */
  lend?: (bytes: Uint8Array) => (() => void) | undefined;
}

/** The text of a batch that writes no line (all its lines refused). */
const NO_TEXT = { bytes: new Uint8Array(0), release: () => {} };

/**
 * Builds each batch's {@linkcode Batch.text}: `open` a batch, then for each of its readings in
 * order `copy` its input line or `format` it, and `close` before the input bytes change.
 * Batches that write nothing (`suppress`, or not `log`) get no text.
 *
 * A batch whose lines are all copied, one after another in one buffer (a replay of a file Vigil
 * wrote: every batch), is given those bytes as they stand when `lend` keeps them: copying them
 * was 4 % of a 1 M replay (BENCHMARKS.md, "Batch text without a copy"). Any other is built in a
 * buffer of its own.
 *
 * @example
 * ```ts
 * import type { Batch } from "../../core/batch.ts";
 *
 * const texts = new BatchTextBuilder();
 * const input = new TextEncoder().encode('{"timestamp":"1970-01-01T00:00:00.000Z","machine":"m1","status":null,"t":1}\n');
 * const batch: Batch = { readings: [], errors: [], lines: 1, suppress: false, log: true };
 * texts.open(batch);
 * texts.copy(input, 0, input.length);
 * texts.close();
 * batch.text?.bytes; // the input line, newline included
 * ```
 */
export class BatchTextBuilder {
  readonly #spare: ByteText[] = [];
  readonly #lend: BatchTextOptions["lend"];
  #batch: Batch | null = null;
  /** The open batch's own buffer, once it needs one (a line formatted, or a second run). */
  #text: ByteText | null = null;
  // The pending run of input lines to copy: `#from[#start, #end)`.
  #from: Uint8Array | null = null;
  #start = 0;
  #end = 0;

  constructor(options: BatchTextOptions = {}) {
    this.#lend = options.lend;
  }

  /** Starts `batch`'s text (closing the previous batch's). */
  open(batch: Batch): void {
    this.close();
    if (batch.suppress || !batch.log) return;
    this.#batch = batch;
  }

  /** The next reading's line is `bytes[start, end)`, its newline included, as it stands. */
  copy(bytes: Uint8Array, start: number, end: number): void {
    if (this.#batch === null) return;
    if (bytes === this.#from && start === this.#end) {
      this.#end = end;
      return;
    }
    this.#flush();
    this.#from = bytes;
    this.#start = start;
    this.#end = end;
  }

  /** The next reading's line is formatted (`writeReading`). */
  format(r: Reading): void {
    if (this.#batch === null) return;
    this.#flush();
    writeReading(r, this.#own());
  }

  /** Ends the open batch's text; the copied bytes may change after it (unless lent). */
  close(): void {
    const batch = this.#batch;
    if (batch === null) return;
    this.#batch = null;
    if (this.#text === null) {
      // Nothing formatted, at most one run: the run as it stands, if its buffer can be kept.
      const from = this.#from;
      if (from === null) {
        batch.text = NO_TEXT;
        return;
      }
      const release = this.#lend?.(from);
      if (release !== undefined) {
        batch.text = { bytes: from.subarray(this.#start, this.#end), release };
        this.#from = null;
        this.#start = this.#end = 0;
        return;
      }
    }
    this.#flush();
    const text = this.#own();
    this.#text = null;
    const spare = this.#spare;
    const bytes = text.bytes();
    if (bytes.length < SMALL_TEXT) {
      // A small batch keeps a copy of its bytes and the buffer is free at once: a paced replay
      // (`splitBefore`) cuts one read into up to `batchSize` batches that wait their turn, and a
      // 1 MiB buffer each would be gigabytes held for a few readings.
      batch.text = { bytes: bytes.slice(), release: () => {} };
      if (spare.length < SPARE_TEXTS) spare.push(text);
      return;
    }
    let released = false;
    batch.text = {
      bytes,
      release: () => {
        if (released) return;
        released = true;
        if (spare.length < SPARE_TEXTS) spare.push(text);
      },
    };
  }

  /** The open batch's own buffer, taken when it first needs one. */
  #own(): ByteText {
    let text = this.#text;
    if (text === null) {
      text = this.#spare.pop() ?? new ByteText(TEXT_BYTES);
      text.clear();
      this.#text = text;
    }
    return text;
  }

  #flush(): void {
    if (this.#from !== null && this.#end > this.#start) {
      this.#own().raw(this.#from.subarray(this.#start, this.#end));
    }
    this.#from = null;
    this.#start = this.#end = 0;
  }
}
