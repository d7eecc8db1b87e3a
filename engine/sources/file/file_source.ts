/**
 * Reads a file of readings as a stream of parsed batches: for `replay`, for re-reading the
 * input log on restart, and (following the file as it grows) for `--processor-only`.
 *
 * The file passes 400 lines and stays whole: the read loop, the runs of the WASM scanner with their
 * backoff, the batches cut from them and their text share one reading position and the state of
 * one constructor's closures; apart, each would have to be handed all of it per line.
 * @module
 */
import { type Batch, columnBatch } from "../../core/batch.ts";
import { ReadingColumns } from "../../core/reading_columns.ts";
import { LineSplitter } from "../../formats/line_splitter.ts";
import type { InputFormat } from "../../core/input_format.ts";
import { createLineParser, type ParseResult } from "../../formats/reading_parser.ts";
import { ByteLines } from "../../formats/byte_lines.ts";
import { JsonLineScanner } from "../../formats/json_line_scanner.ts";
import { WasmLineScanner } from "../../formats/wasm_line_scanner.ts";
import type { Reading } from "../../core/types.ts";
import { abortableSleep } from "../../core/abortable_sleep.ts";
import { BatchTextBuilder } from "./batch_text.ts";

/** Options of {@linkcode FileSource}. */
export interface FileSourceOptions {
  format: InputFormat;
  /** Lines before this one are history: their batches are marked `suppress`. @default {0} */
  suppressLines?: number;
  /** Whether batches' readings go to `stream_output.jsonl` (see {@linkcode Batch.log}).
   * @default {true} */
  log?: boolean;
  /** Readings per batch, at most. @default {8192} */
  batchSize?: number;
  /** Keep reading as the file grows, polling every `followMs`, until `signal` aborts.
   * @default {false} */
  follow?: boolean;
  /** @default {200} */
  followMs?: number;
  signal?: AbortSignal;
  /** Longest line accepted. @default {65536} */
  maxLineLength?: number;
  /** Read chunk size in bytes. @default {1048576} */
  chunkBytes?: number;
  /** JSONL: whether runs of lines in the written form are read at once by `WasmLineScanner`
   * (false: every line by `JsonLineScanner`, which tests compare it with). @default {true} */
  runs?: boolean;
  /**
   * Start a new batch before reading `next` when this says so (`first` is the batch's first
   * reading); history batches are never split. `--rate` cuts batches by due time with it
   * (`RateLimitStream.splitBefore`), so that each batch's `lines` stay exact.
   * @default {never}
   */
  splitBefore?: (first: Reading, next: Reading) => boolean;
  /** What the parser decided about the file, once each (see `LineParserOptions.onNotice`).
   * @default {none} */
  onNotice?: (message: string) => void;
  /** `kv` and `raw`: each line must carry the `device` profile's keys (`LineParserOptions`).
   * @default {false} */
  deviceKeys?: boolean;
}

/**
 * Bytes decoded at a time. Decoded at once, a 1 MiB read is one string of 1 MiB, which V8 puts in
 * its large-object space and promotes to the old generation on the first scavenge it survives
 * (its lines, slices of it, keep it alive until they are parsed): 107 of the 440 MiB a replay of
 * 1,000,000 readings promoted. Pieces of 32 KiB (64 KiB as UTF-16, under V8's 128 KiB) are
 * ordinary young strings, most of which die young (BENCHMARKS.md "Memory", 2026-11-29).
 */
const PIECE_BYTES = 32768;

/** Columns kept for reuse by a file source (see `free` in {@linkcode FileSource}): the
 * pipeline holds about four batches at a time. */
const FREE_COLUMNS = 8;

/** Lines at most that a JSONL file source reads the usual way after the fast path
 * (`WasmLineScanner`) declined one, before it tries again. */
const MAX_SKIP = 256;

/** A run of JSONL lines shorter than this, cut by a declined line, backs the fast path off as
 * a decline does (see `run` in {@linkcode FileSource}). */
const MIN_RUN = 4;

/** What a JSONL line's `next` returns when it appended the line's reading to its columns. */
const TAKEN = 1;

/**
 * A file as `ReadableStream<Batch>`. Pull-based: the file is read only as fast as the pipeline
 * takes batches, so memory stays bounded by one chunk, the partial line carried to the next read
 * (at most `maxLineLength + 1` units, or `3 × maxLineLength + 9` bytes for JSONL) and one batch,
 * plus, for JSONL, up to {@linkcode FREE_COLUMNS} sets of columns kept for reuse (each about
 * 29 B a reading and 16 B a channel value of a batch: some 0.5 MiB at 8,192 readings of two
 * channels) and the scanners' tables of the strings they have seen (`JsonLineScanner`'s and
 * `WasmLineScanner`'s, each at most 65,536 strings of at most 256 bytes: the WASM one's about
 * 3.6 MiB, then its strings' bytes in WASM memory and as JS strings).
 *
 * JSONL is split on the bytes read and each line read by `JsonLineScanner` straight from them;
 * only a line the scanner declines is decoded and parsed as the other formats are (issue 14: the
 * decoding, `JSON.parse` and the garbage of both were about a third of the CPU time of a replay).
 * Before that, runs of lines in the written form (`writeReading`'s, as every line of a file Vigil
 * wrote or a normalised recording is) are read many at a time by `WasmLineScanner`, which takes
 * exactly those lines and leaves every other one to `JsonLineScanner` (about 100 against 250 ns a
 * line; BENCHMARKS.md, "The JSONL scanner in WebAssembly").
 * Each JSONL batch also carries its `stream_output.jsonl` lines (`Batch.text`): the input lines
 * already in that form copied, the others formatted (`BatchTextBuilder`); a batch of such lines
 * only, one after another, is given them where they were read, and the read buffer is kept
 * until the batch is released (`ByteLines.lend`: the batches the pipeline holds keep a buffer of
 * `chunkBytes` each at most, and up to 4 given back are kept for later reads). Its readings are
 * columns (`Batch.columns`, see `columnBatch`), but with `splitBefore` (`--rate`), which cuts by
 * reading objects.
 */
export class FileSource {
  readonly readable: ReadableStream<Batch>;
  #lines = 0;
  #runLines = 0;

  constructor(readonly path: string, options: FileSourceOptions) {
    const parser = createLineParser(options.format, {
      maxLineLength: options.maxLineLength,
      onNotice: options.onNotice,
      deviceKeys: options.deviceKeys,
    });
    const suppressLines = options.suppressLines ?? 0;
    const batchSize = options.batchSize ?? 8192;
    const log = options.log ?? true;
    const splitBefore = options.splitBefore;
    const chunkBytes = options.chunkBytes ?? 1 << 20;
    let file: Deno.FsFile | null = null;
    /** A regular file, read with `readSync` (see `read`). */
    let regular = false;
    let done = false;
    // The last reading, for the time of an error line after it: kept rather than its timestamp,
    // which a closure variable would hold boxed, a new HeapNumber per reading (12 MB per million).
    // (`batchOf`'s, for the formats other than JSONL and for `--rate`.)
    let lastReading: Reading | null = null;

    /** The batches of reading objects of the next `batchSize` lines at most (the formats other
     * than JSONL, and JSONL with `splitBefore`): `next()` parses the next line
     * (`undefined`: none left until the next read), `text()` is the text of the line it just
     * parsed, asked for an error only; `logged(r)` (JSONL) is told of each reading in order,
     * after `open(b)` of its batch, and `close()` follows the last. */
    // The readings of the batch being filled, `pending[0, count)`, given to it in an array of
    // their number when it is complete. Pushed into the batch's own array, which grows by half
    // each time, they allocated about three times that array: `batchOf` allocated 28 MB in the
    // 1 M replay, 8 MB so (BENCHMARKS.md, 2026-11-30). Entries past `count` are the last batch's,
    // overwritten as the next one fills.
    const pending: Reading[] = [];
    let count = 0;
    const batchOf = (
      next: () => ParseResult | undefined,
      text: () => string,
      texts?: { open(b: Batch): void; logged(r: Reading): void; close(): void },
    ): Batch[] => {
      const batches: Batch[] = [];
      let b: Batch | null = null;
      for (let i = 0; i < batchSize; i++) {
        const suppress = this.#lines < suppressLines;
        const r = next();
        if (r === undefined) break;
        if (
          !b || b.suppress !== suppress || count >= batchSize ||
          (splitBefore && !suppress && count > 0 && r !== null && typeof r !== "string" &&
            splitBefore(pending[0]!, r))
        ) {
          if (b) b.readings = pending.slice(0, count);
          count = 0;
          b = { readings: [], errors: [], lines: 0, suppress, log };
          batches.push(b);
          texts?.open(b);
        }
        this.#lines++;
        b.lines++;
        if (r === null) continue;
        if (typeof r === "string") {
          // A raw.log line refused for the line it carries is logged as live: that line at its
          // receive time (a line that is not raw.log's own format stays as it is).
          const received = parser.received;
          b.errors.push(
            received
              ? { line: received.line, error: r, time: received.time }
              : { line: text(), error: r, time: lastReading?.timestamp ?? null },
          );
        } else {
          pending[count++] = r;
          texts?.logged(r);
          lastReading = r;
        }
      }
      if (b) b.readings = pending.slice(0, count);
      count = 0;
      texts?.close();
      return batches;
    };

    // The entries of the last batch of columns: new columns start with room for as many
    // (batches of a file are alike), instead of doubling their way up.
    let entriesHint = 0;
    // The event time of the last reading of a batch of columns before the current one, for
    // an error line (see `lastReading`): in an array, where a number is stored unboxed. NaN: none.
    const lastTime = new Float64Array([NaN]);
    /**
     * Columns the writer gave back (`Batch.release`), reused for later batches: a batch's
     * columns are a few typed arrays of 64–128 KiB, and allocating them per batch (memory the
     * system maps, faults in and unmaps each time) cost more than writing the readings into
     * them (BENCHMARKS.md, "The columnar batch"). At most {@linkcode FREE_COLUMNS}: a batch
     * never given back (a reader other than the pipeline's writer) only costs new columns.
     */
    const free: ReadingColumns[] = [];
    const take = (): ReadingColumns => {
      const c = free.pop();
      if (c === undefined) return new ReadingColumns(batchSize, entriesHint);
      c.clear();
      return c;
    };
    const giveBack = (c: ReadingColumns) => () => {
      if (free.length < FREE_COLUMNS && !free.includes(c)) free.push(c);
    };
    /** The batch of `columns` is complete: what later batches take from it. */
    const close = (columns: ReadingColumns) => {
      entriesHint = columns.entries;
      if (columns.length > 0) lastTime[0] = columns.time[columns.length - 1]!;
    };
    /**
     * `batchOf` for a JSONL file read without `splitBefore`: each batch's readings are written
     * as columns (`columnBatch`) by `next`, which appends the next line's reading to the columns
     * it is given (`TAKEN`) or returns what `batchOf`'s `next` does for a line with none. A
     * batch is cut where `batchOf` cuts one; its columns are taken before its first line is
     * read, and given back when no line comes.
     */
    const columnBatchesOf = (
      next: (columns: ReadingColumns) => ParseResult | typeof TAKEN | undefined,
      text: () => string,
      builder: BatchTextBuilder,
      logged: (columns: ReadingColumns, i: number) => void,
      run: (columns: ReadingColumns, most: number) => number,
      loggedRun: () => void,
    ): Batch[] => {
      const batches: Batch[] = [];
      let b: Batch | null = null;
      let columns: ReadingColumns | null = null;
      for (let i = 0; i < batchSize;) {
        const suppress = this.#lines < suppressLines;
        const fresh: boolean = b === null || columns === null || b.suppress !== suppress ||
          columns.length >= batchSize;
        const into: ReadingColumns = fresh || columns === null ? take() : columns;
        // First a run of lines in the written form, read at once (`run`); then, where the run
        // stopped, one line the usual way. A run stays within this call's lines, the batch's
        // readings and the lines on one side of `suppressLines`.
        let most = Math.min(batchSize - i, batchSize - into.length);
        if (suppress) most = Math.min(most, suppressLines - this.#lines);
        const taken = run(into, most);
        const r = taken > 0 ? TAKEN : next(into);
        if (r === undefined) {
          // Columns taken for a batch that got no line go back.
          if (fresh) free.push(into);
          break;
        }
        if (fresh) {
          if (columns) close(columns);
          columns = into;
          b = columnBatch(columns, 0, suppress, log, giveBack(columns));
          batches.push(b);
          builder.open(b);
        }
        if (taken > 0) {
          loggedRun();
          this.#lines += taken;
          b!.lines += taken;
          i += taken;
          continue;
        }
        i++;
        this.#lines++;
        b!.lines++;
        if (r === null) continue;
        if (r === TAKEN) {
          logged(columns!, columns!.length - 1);
          continue;
        }
        const received = parser.received;
        const c = columns!;
        const last = c.length > 0 ? c.time[c.length - 1]! : lastTime[0]!;
        b!.errors.push(
          received
            ? { line: received.line, error: r as string, time: received.time }
            : { line: text(), error: r as string, time: Number.isNaN(last) ? null : last },
        );
      }
      if (columns) close(columns);
      builder.close();
      return batches;
    };

    /** Reads into `buf`: `null` at the end. */
    const read = async (buf: Uint8Array): Promise<number | null> => {
      // A sync read on this thread rather than a hand-off to Deno's blocking pool: a 1 MiB read
      // of a regular file from the page cache took 0.20 ms sync against 0.28 async, and the 1 M
      // replay peaked about 4 MiB lower (BENCHMARKS.md "Memory", 2026-11-29). A pipe or a device
      // could block this thread until it has data: those are read async.
      const n = regular ? file!.readSync(buf) : await file!.read(buf);
      if (n === null && options.follow && !options.signal?.aborted) {
        await abortableSleep(options.followMs ?? 200, options.signal);
        return 0;
      }
      return n;
    };

    /** What one pull adds to the stream; false when a read is needed first. */
    let emit: (controller: ReadableStreamDefaultController<Batch>) => boolean;
    /** The next read; false at the end of the file. */
    let fill: () => Promise<boolean>;
    if (options.format === "json") {
      const lines = new ByteLines({ maxLineLength: options.maxLineLength, chunkBytes });
      const scanner = new JsonLineScanner();
      const max = options.maxLineLength ?? 65536;
      let text = "";
      // Whether the line just read is, with its newline, the line written for its reading.
      let copyable = false;
      /** The next line, its reading appended to `columns` (then `TAKEN`). */
      const nextInto = (columns: ReadingColumns): ParseResult | typeof TAKEN | undefined => {
        // The scanner reads the next line from where it starts and finds its end, rather than
        // `lines` looking for the end first (`scanLine`); a line it declines, or one too long
        // for it, is found by `lines` and parsed.
        const ahead = lines.ahead;
        if (ahead >= 0) {
          if (scanner.scanLineInto(lines.buffer, ahead, lines.limit, columns)) {
            lines.nextAt(scanner.lineEnd);
            if (lines.end - lines.start <= max) {
              copyable = scanner.canonical && lines.newline;
              return TAKEN;
            }
            columns.pop();
          } else if (!lines.next()) return undefined;
        } else if (!lines.next()) return undefined;
        copyable = false;
        text = lines.text();
        const r = parser.parse(text);
        if (r === null || typeof r === "string") return r;
        columns.push(r);
        return TAKEN;
      };
      // A batch's lines that stand as one run in the read buffer are handed to the writer there
      // (`lend`): a batch ends where a read does, before `lines` reads again.
      const builder = new BatchTextBuilder({
        lend: (bytes) => bytes === lines.buffer ? lines.lend() : undefined,
      });
      // Made when the first line comes: its instance holds about 3.5 MiB from the start, which
      // a live engine's empty input log, read at every start, should not cost.
      let wasm: WasmLineScanner | null = null;
      const runs = options.runs !== false;
      // The bytes of the last run, `lines.buffer[runFrom, runTo)`, newlines included.
      let runFrom = 0, runTo = 0;
      // After a line the fast path declined, the lines left to the usual way before it is tried
      // again, and how many the next decline leaves (doubled up to MAX_SKIP while it keeps
      // declining): a file whose lines are not in the written form pays a call per MAX_SKIP
      // lines, not one per line.
      let skip = 0, nextSkip = 1;
      /** A run of up to `most` lines in the written form (see `WasmLineScanner`) appended to
       * `columns`: how many. */
      const run = (columns: ReadingColumns, most: number): number => {
        if (!runs) return 0;
        if (skip > 0) {
          skip--;
          return 0;
        }
        const ahead = lines.ahead;
        if (ahead < 0 || most <= 0) return 0;
        wasm ??= new WasmLineScanner({ maxLineLength: max });
        const n = wasm.scanInto(lines.buffer, ahead, lines.limit, most, columns);
        if (wasm.declined && n < MIN_RUN) {
          // A declined line, with no run or a run so short that, in a file where most runs are,
          // a call costs more than the lines it reads (BENCHMARKS.md, eleventh stop): back off.
          // (Not from lines it had no room to reach: `declined` is false then.)
          skip = nextSkip;
          nextSkip = Math.min(2 * nextSkip, MAX_SKIP);
        } else if (n > 0) {
          // The line it stopped at goes the usual way at once, not to a second call that
          // would only decline it again.
          skip = wasm.declined ? 1 : 0;
          nextSkip = 1;
        }
        if (n === 0) return 0;
        this.#runLines += n;
        runFrom = ahead;
        runTo = wasm.end;
        lines.nextAt(runTo - 1);
        return n;
      };
      /** The last run's lines are its readings' `stream_output.jsonl` lines, as they stand. */
      const loggedRun = () => builder.copy(lines.buffer, runFrom, runTo);
      /** The line just read is reading `i` of `columns`: its `stream_output.jsonl` line. */
      const logged = (columns: ReadingColumns, i: number) => {
        if (copyable) builder.copy(lines.buffer, lines.start, lines.end + 1);
        else builder.format(columns.reading(i));
      };
      if (splitBefore) {
        // `--rate` cuts batches by the readings' times (`splitBefore`): batches of objects, one
        // reading at a time through a scratch column set (a paced replay is not CPU-bound).
        const scratch = new ReadingColumns(1);
        const next = (): ParseResult | undefined => {
          scratch.clear();
          const r = nextInto(scratch);
          return r === TAKEN ? scratch.reading(0) : r;
        };
        const texts = {
          open: (b: Batch) => builder.open(b),
          logged: () => logged(scratch, 0),
          close: () => builder.close(),
        };
        emit = (controller) => {
          const batches = batchOf(next, () => text, texts);
          for (const b of batches) controller.enqueue(b);
          return batches.length > 0;
        };
      } else {
        emit = (controller) => {
          const batches = columnBatchesOf(nextInto, () => text, builder, logged, run, loggedRun);
          for (const b of batches) controller.enqueue(b);
          return batches.length > 0;
        };
      }
      fill = async () => {
        const n = await read(lines.space());
        if (n === null) lines.finish();
        else lines.commit(n);
        return n !== null;
      };
    } else {
      const splitter = new LineSplitter({ maxLineLength: options.maxLineLength });
      const decoder = new TextDecoder();
      const buf = new Uint8Array(chunkBytes);
      let pending: string[] = [];
      let at = 0;
      let line = "";
      const next = (): ParseResult | undefined => {
        if (at === pending.length) return undefined;
        line = pending[at++]!;
        return parser.parse(line);
      };
      emit = (controller) => {
        if (at === pending.length) return false;
        for (const b of batchOf(next, () => line)) controller.enqueue(b);
        return true;
      };
      fill = async () => {
        const n = await read(buf);
        pending = [];
        at = 0;
        if (n === null) {
          pending = [...splitter.push(decoder.decode()), ...splitter.flush()];
          return false;
        }
        for (let off = 0; off < n; off += PIECE_BYTES) {
          const piece = buf.subarray(off, Math.min(n, off + PIECE_BYTES));
          for (const line of splitter.push(decoder.decode(piece, { stream: true }))) {
            pending.push(line);
          }
        }
        return true;
      };
    }

    this.readable = new ReadableStream<Batch>({
      start: async () => {
        file = await Deno.open(path, { read: true });
        regular = (await file.stat()).isFile;
      },
      pull: async (controller) => {
        while (true) {
          if (emit(controller)) return;
          if (done) {
            file?.close();
            file = null;
            controller.close();
            return;
          }
          done = !(await fill());
        }
      },
      cancel: () => {
        file?.close();
        file = null;
      },
      // Read only when the pipeline asks, not a batch ahead: on one thread a batch read ahead
      // gains nothing, and each batch in flight holds its readings and its lines (`text`).
    }, { highWaterMark: 0 });
  }

  /** Lines read so far. */
  get lines(): number {
    return this.#lines;
  }

  /** Of {@linkcode lines}, those read in runs by `WasmLineScanner` (JSONL; see `runs`). */
  get runLines(): number {
    return this.#runLines;
  }
}
