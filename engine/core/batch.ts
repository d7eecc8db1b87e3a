/**
 * The unit that flows through the pipeline: a slice of input lines, parsed.
 * @module
 */
import type { AnomalyEvent, Reading } from "./types.ts";
import type { ReadingColumns } from "./reading_columns.ts";

/** A line the parser refused. */
export interface RejectedLine {
  line: string;
  error: string;
  /** When it was received (live), or the event time of the reading before it (files, so that
   * a replay writes the same log twice); epoch ms, or null before any reading. */
  time: number | null;
}

/** Parsed input lines, in order. */
export interface Batch {
  /** The readings as objects. In a batch with {@linkcode Batch.columns}, built from them the
   * first time it is read (see {@linkcode columnBatch}): readers that can, read the columns. */
  readings: Reading[];
  /** The same readings as columns, when the source wrote them so (a JSONL file). Read through
   * {@linkcode readingCount} and the readers that know columns (the analyzer, the output
   * writer); every other reader reads `readings`. @default {none} */
  readonly columns?: ReadingColumns;
  /** Lines refused by the parser. */
  errors: RejectedLine[];
  /** Refused lines a live source counted but did not keep, past its bound of pending errors
   * (a flood while the pipeline was behind): counted with `errors`, and one summary line in
   * `parser_errors.log`. @default {0} */
  unloggedErrors?: number;
  /** Input lines this batch covers (readings, errors and skipped lines alike). */
  lines: number;
  /** History before the checkpoint: it rebuilds state and writes nothing. */
  suppress: boolean;
  /** Whether the readings are new to the data directory and go to `stream_output.jsonl`
   * (false when they are read back from it). */
  log: boolean;
  /** The readings' `stream_output.jsonl` lines, when the source built them (a JSONL file copies
   * the lines that are already in that form): written instead of formatting the readings.
   * @default {none: the writer formats them} */
  text?: BatchText;
  /** Called by the writer once the batch is written (a history batch: recorded): its source may
   * reuse what it holds (its columns), and its `readings` are not read after it unless they
   * were built before. @default {none} */
  release?: () => void;
}

/** Lines a source built for a batch's readings (see {@linkcode Batch.text}). */
export interface BatchText {
  /** UTF-8, one line per reading, in order, each ending in `\n`. */
  readonly bytes: Uint8Array;
  /** Called once the bytes are written: their buffer may be reused for a later batch. */
  release(): void;
}

/**
 * A batch of `columns`, whose `readings` are built from them the first time they are read (and
 * kept): a replay reads no reading object at all. Assigning `readings` replaces them and drops
 * the columns (a batch of objects from then on: its readers never see two different sets).
 * `release` (see {@linkcode Batch.release}) gives the columns back to their source, which may
 * refill them: reading `readings` for the first time after it throws, rather than answer with
 * another batch's readings.
 *
 * @example
 * ```ts
 * import { ReadingColumns } from "./reading_columns.ts";
 * import { columnBatch, readingCount } from "./batch.ts";
 *
 * const columns = new ReadingColumns();
 * columns.push({ timestamp: 0, machine: "m1", status: null, channels: { t: 1 } });
 * const batch = columnBatch(columns, 1, false, true);
 * readingCount(batch); // 1, without building a reading
 * batch.readings[0]!.channels.t; // 1
 * ```
 */
export function columnBatch(
  columns: ReadingColumns,
  lines: number,
  suppress: boolean,
  log: boolean,
  release?: () => void,
): Batch {
  let readings: Reading[] | null = null;
  let released = false;
  const batch: Batch = {
    get readings(): Reading[] {
      if (readings === null && released) {
        throw new Error("a released batch's readings are read: its columns may hold another's");
      }
      return readings ??= columns.readings();
    },
    set readings(value: Reading[]) {
      readings = value;
      delete (batch as { columns?: ReadingColumns }).columns;
    },
    errors: [],
    lines,
    suppress,
    log,
    release: () => {
      released = true;
      release?.();
    },
  };
  // Not enumerable: a copy made by a spread (`{ ...batch, readings: part }`) is a batch of
  // reading objects only (the spread reads `readings`), never one whose columns and readings
  // differ. Configurable: assigning `readings` deletes it.
  Object.defineProperty(batch, "columns", {
    value: columns,
    enumerable: false,
    configurable: true,
  });
  return batch;
}

/**
 * The number of readings in `batch`, from its columns when it has them (without building its
 * reading objects).
 *
 * @example
 * ```ts
 * import { emptyBatch, readingCount } from "./batch.ts";
 *
 * readingCount(emptyBatch()); // 0
 * ```
 */
export function readingCount(batch: Batch): number {
  return batch.columns ? batch.columns.length : batch.readings.length;
}

/** An empty batch with the given flags. */
export function emptyBatch(suppress = false, log = true): Batch {
  return { readings: [], errors: [], lines: 0, suppress, log };
}

/** A batch that may carry anomaly events its source raised itself (a serial device unplugged
 * or back): they are written with the batch, before the analyzer's. */
export interface EventfulBatch extends Batch {
  events?: AnomalyEvent[];
}
