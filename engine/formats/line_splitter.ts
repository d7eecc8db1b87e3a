/**
 * Splits decoded text into lines, keeping memory bounded whatever the input sends.
 * @module
 */

/** Options of {@linkcode LineSplitter}. */
export interface LineSplitterOptions {
  /** Longest line passed on whole, in UTF-16 code units. A longer line is cut to
   * `maxLineLength + 1` units (so the parser can tell it was too long) and the rest of it is
   * dropped up to the next newline. @default {65536} */
  maxLineLength?: number;
}

/**
 * Splits on `\n`, dropping a `\r` before it, and returns every line in input order (so line
 * positions stay exact). The partial last line is held until the next chunk or `flush()`; it is
 * never held beyond `maxLineLength + 1` units, so a device that never sends `\n` cannot exhaust
 * memory.
 */
export class LineSplitter {
  readonly #max: number;
  #partial = "";
  #overlong = false;

  constructor(options: LineSplitterOptions = {}) {
    this.#max = options.maxLineLength ?? 65536;
  }

  /** The longest line passed on whole. */
  get maxLineLength(): number {
    return this.#max;
  }

  /** Adds a chunk; returns the lines it completed. */
  push(chunk: string): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf("\n"); nl !== -1; nl = chunk.indexOf("\n", start)) {
      if (this.#overlong) {
        lines.push(this.#partial);
      } else {
        const line = this.#partial === ""
          ? chunk.slice(start, nl)
          : this.#partial + chunk.slice(start, nl);
        lines.push(this.#cut(line.endsWith("\r") ? line.slice(0, -1) : line));
      }
      this.#partial = "";
      this.#overlong = false;
      start = nl + 1;
    }
    if (start < chunk.length && !this.#overlong) {
      this.#partial += chunk.slice(start);
      // A `\r` at the end may be the one before a `\n` in the next chunk, which is dropped:
      // a line of `max` units and its `\r\n` split there is not too long, as in one chunk.
      const p = this.#partial;
      if (p.length > this.#max + (p.charCodeAt(p.length - 1) === 13 ? 1 : 0)) {
        this.#partial = this.#cut(this.#partial);
        this.#overlong = true;
      }
    }
    return lines;
  }

  /** Ends the input: a partial last line counts as a line. */
  flush(): string[] {
    const rest = this.#partial;
    const had = rest !== "" || this.#overlong;
    this.#partial = "";
    this.#overlong = false;
    if (!had) return [];
    return [this.#cut(rest.endsWith("\r") ? rest.slice(0, -1) : rest)];
  }

  #cut(line: string): string {
    return line.length > this.#max ? line.slice(0, this.#max + 1) : line;
  }
}
