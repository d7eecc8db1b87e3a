/**
 * The rows of a Parquet file, one row group at a time: what {@linkcode ParquetSource} (replay)
 * and the table reader of `train` and `score` both read Parquet with.
 * @module
 */
import type { AsyncBuffer, FileMetaData } from "hyparquet";

/** hyparquet's module, as `import("hyparquet")` gives it. */
export type Hyparquet = typeof import("hyparquet");

let hyparquetModule: Promise<Hyparquet> | null = null;

/**
 * hyparquet, imported on the first Parquet file rather than with the engine: loading it costs
 * about 10 MiB of resident memory (its code and the JS heap it takes), which a replay of a JSONL
 * or CSV file then never pays (BENCHMARKS.md "Memory", 2026-11-29).
 *
 * @example
 * ```ts
 * const { parquetSchema } = await hyparquet();
 * ```
 */
export function hyparquet(): Promise<Hyparquet> {
  return hyparquetModule ??= import("hyparquet");
}

/**
 * The values of chosen top-level columns of a Parquet file, row by row, holding one row group's
 * columns in memory at a time (hyparquet's values: numbers, bigints, strings, `Date`s, nested
 * objects; `null` where a row has none).
 *
 * @example
 * ```ts
 * const rows = new ParquetRows(buffer, metadata, ["timestamp", "temperature"]);
 * const values: unknown[] = [];
 * while (await rows.nextGroup()) {
 *   while (rows.left > 0) {
 *     rows.next(values); // values[0]: the time, values[1]: the temperature
 *   }
 * }
 * ```
 */
export class ParquetRows {
  #group = 0;
  #groupStart = 0;
  #cursors: ColumnCursor[] = [];
  #left = 0;

  constructor(
    readonly buffer: AsyncBuffer,
    readonly metadata: FileMetaData,
    readonly columns: readonly string[],
  ) {}

  /** The row group read next: after a failed {@linkcode nextGroup}, the one that failed. */
  get group(): number {
    return this.#group;
  }

  /** Rows of the current row group not taken yet. */
  get left(): number {
    return this.#left;
  }

  /**
   * Reads the next row group's columns, first letting the current one's go; resolves `false`
   * when there is none. A read error rejects with hyparquet's error.
   */
  async nextGroup(): Promise<boolean> {
    this.#cursors = [];
    this.#left = 0;
    const g = this.metadata.row_groups[this.#group];
    if (g === undefined) return false;
    const rows = Number(g.num_rows);
    const start = this.#groupStart;
    const chunks = new Map<string, { start: number; data: ArrayLike<unknown> }[]>();
    const { parquetRead } = await hyparquet();
    await parquetRead({
      file: this.buffer,
      metadata: this.metadata,
      columns: [...this.columns],
      rowStart: start,
      rowEnd: start + rows,
      onChunk: ({ columnName, columnData, rowStart }) => {
        let list = chunks.get(columnName);
        if (!list) chunks.set(columnName, list = []);
        list.push({ start: rowStart, data: columnData as ArrayLike<unknown> });
      },
    });
    this.#cursors = this.columns.map((c) => new ColumnCursor(chunks.get(c) ?? [], start));
    this.#left = rows;
    this.#groupStart += rows;
    this.#group++;
    return true;
  }

  /** Writes the next row's values, in {@linkcode columns} order, into `values`. */
  next(values: unknown[]): void {
    const cursors = this.#cursors;
    for (let j = 0; j < cursors.length; j++) values[j] = cursors[j]!.next();
    this.#left--;
  }
}

/** The values of one column of the current row group, in row order, across its chunks. */
class ColumnCursor {
  #chunk = 0;
  #i = 0;
  constructor(
    readonly chunks: { start: number; data: ArrayLike<unknown> }[],
    start: number,
  ) {
    chunks.sort((a, b) => a.start - b.start);
    // A chunk may begin before the row group (hyparquet may hand out whole pages).
    const first = chunks[0];
    if (first) this.#i = Math.max(0, start - first.start);
  }

  next(): unknown {
    let c = this.chunks[this.#chunk];
    while (c && this.#i >= c.data.length) {
      c = this.chunks[++this.#chunk];
      this.#i = 0;
    }
    return c ? c.data[this.#i++] : null;
  }
}

/**
 * An open file as hyparquet's `AsyncBuffer`. Reads are chained one after another: they share
 * the file's position, and hyparquet asks for several column chunks at once.
 *
 * @example
 * ```ts
 * const file = await Deno.open("in.parquet");
 * const metadata = await parquetMetadataAsync(fileBuffer(file, (await file.stat()).size));
 * ```
 */
export function fileBuffer(file: Deno.FsFile, size: number): AsyncBuffer {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    byteLength: size,
    slice(start: number, end = size): Promise<ArrayBuffer> {
      const read = queue.then(async () => {
        const bytes = new Uint8Array(Math.max(0, end - start));
        await file.seek(start, Deno.SeekMode.Start);
        let off = 0;
        while (off < bytes.length) {
          const n = await file.read(bytes.subarray(off));
          if (n === null) throw new Error(`unexpected end of file at byte ${start + off}`);
          off += n;
        }
        return bytes.buffer;
      });
      queue = read.catch(() => {});
      return read;
    },
  };
}
