/**
 * The unit that flows through the pipeline: a slice of input lines, parsed.
 * @module
 */
import type { AnomalyEvent, Reading } from "./types.ts";

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
  readings: Reading[];
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
}

/** Lines a source built for a batch's readings (see {@linkcode Batch.text}). */
export interface BatchText {
  /** UTF-8, one line per reading, in order, each ending in `\n`. */
  readonly bytes: Uint8Array;
  /** Called once the bytes are written: their buffer may be reused for a later batch. */
  release(): void;
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
