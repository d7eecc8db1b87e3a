/**
 * A recorded file as the input of `replay FILE` and `start --source file:PATH`: JSONL, CSV,
 * kv or raw.log lines ({@linkcode FileSource}) or Parquet ({@linkcode ParquetSource}), paced by
 * `--rate` ({@linkcode RateLimitStream}).
 * @module
 */
import type { Batch } from "../../core/batch.ts";
import type { Clock } from "../../core/clock.ts";
import { ConfigError, formatOf } from "../../core/config.ts";
import { FileSource } from "./file_source.ts";
import { ParquetSource } from "./parquet_source.ts";
import { RateLimitStream } from "./rate_limit_stream.ts";
import type { InputFormat } from "../../core/input_format.ts";

/** Options of {@linkcode RecordedInput.stream}. */
export interface RecordedStreamOptions {
  /** Lines (Parquet: rows) already committed by the checkpoint: re-read as history.
   * @default {0} */
  suppressLines?: number;
  /** `--rate`: event-time seconds per wall-clock second; `Infinity` is as fast as possible.
   * @default {Infinity} */
  speed?: number;
  /** Aborting ends the stream promptly, even in the middle of a paced wait. @default {none} */
  signal?: AbortSignal;
  /** The pacing clock (tests). @default {systemClock} */
  clock?: Clock;
  /** Readings per batch, at most. @default {8192} */
  batchSize?: number;
  /** Told once of each thing the parser decided about the file (a CSV's ignored text column,
   * its missing time column), for the log. @default {none} */
  onNotice?: (message: string) => void;
  /** `kv` and `raw`: each line must carry the `device` profile's keys (`LineParserOptions`).
   * @default {false} */
  deviceKeys?: boolean;
}

/** Names that mark a Parquet file (when `--format` is not given). */
export const PARQUET = /\.(parquet|parq|pq)$/i;

/**
 * A checked input file. {@linkcode RecordedInput.open} finds problems (missing file, unreadable
 * Parquet footer) before a run opens its outputs, as {@linkcode ConfigError}s naming the file,
 * so that nothing is half-started.
 */
export class RecordedInput {
  private constructor(
    readonly path: string,
    /** `parquet`, or the line format. */
    readonly format: InputFormat | "parquet",
    readonly parquet: ParquetSource | null,
  ) {}

  /**
   * Opens `path`. The format is `format` when given, else Parquet for `.parquet`, `.parq` and
   * `.pq` names, else by name as {@linkcode formatOf} says. `what` names the input in errors
   * (`replay`, `--source`).
   */
  static async open(
    path: string,
    format: InputFormat | null,
    what = "input",
  ): Promise<RecordedInput> {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new ConfigError(`${what}: no such file ${JSON.stringify(path)}`);
      }
      throw e;
    }
    if (!info.isFile) throw new ConfigError(`${what}: ${JSON.stringify(path)} is not a file`);
    if (format === null && PARQUET.test(path)) {
      try {
        return new RecordedInput(path, "parquet", await ParquetSource.open(path));
      } catch (e) {
        if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
          throw e;
        }
        throw new ConfigError(`${what}: ${(e as Error).message}`);
      }
    }
    return new RecordedInput(path, formatOf(path, format), null);
  }

  /** The batches, read once; `suppressLines` comes from the run opened after this. */
  stream(options: RecordedStreamOptions = {}): ReadableStream<Batch> {
    const pacer = new RateLimitStream({
      speed: options.speed,
      clock: options.clock,
      signal: options.signal,
    });
    const common = {
      suppressLines: options.suppressLines,
      batchSize: options.batchSize,
      splitBefore: pacer.splitBefore,
    };
    const source = this.parquet
      ? this.parquet.withOptions(common).readable
      : new FileSource(this.path, {
        format: this.format as InputFormat,
        onNotice: options.onNotice,
        deviceKeys: options.deviceKeys,
        ...common,
      }).readable;
    return source.pipeThrough(pacer);
  }
}
