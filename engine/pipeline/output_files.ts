/**
 * The data directory's files, written so that a restart (even after `kill -9`) resumes with no
 * row written twice or skipped: every derived file's size is recorded in `checkpoint.json`
 * (replaced atomically) after the bytes are written; on open, derived files are cut back to the
 * sizes of the last checkpoint, and the input is re-run from the start with output suppressed
 * up to the checkpoint's line (see `pipeline.ts`).
 *
 * The file passes 400 lines and stays whole: writing, rolling back on a full disk, the
 * checkpoint and the incremental report all read and move the same per-file sizes, which would
 * otherwise have to be shared across files.
 * @module
 */
import { join } from "node:path";
import { StartupError } from "../core/config.ts";
import { diskFullOr } from "../core/disk_full.ts";
import { readAt } from "../core/read_at.ts";
import { writeAllSync } from "../core/write_all.ts";
import { FILES } from "../core/files.ts";

/** `checkpoint.json`: how far processing got. */
export interface Checkpoint {
  version: 1;
  /** What the input is: `file:<absolute path>` (replay), or `log` (live: the data directory's
   * own `stream_output.jsonl` is the input, written before it is processed). */
  source: string;
  /** Input lines consumed. */
  lines: number;
  readings: number;
  rows: number;
  anomalies: number;
  errors: number;
  /** Byte size of every derived file at this point. */
  files: Record<string, number>;
  /** Machines whose `HEARTBEAT_LOSS` is written and not yet restored, with the last reading
   * time of each loss, so that a restart does not raise them again; absent when none. */
  heartbeat?: Record<string, number>;
}

/** Options of {@linkcode OutputFiles.open}. */
export interface OutputFilesOptions {
  /** The checkpoint's `source`; a checkpoint of another source is an error. */
  source: string;
  /** Whether `stream_output.jsonl` is derived (replay: rewritten from the input) or the input
   * log (live: only ever appended, never cut but for a torn last line). */
  streamDerived: boolean;
  /** Whether `structured_metrics.csv` (the device readings) is written: a derived file, cut
   * back to the checkpoint like the others. Off, the file is neither created nor recorded in
   * the checkpoint. @default {false} */
  structured?: boolean;
}

/** Thrown when the data directory holds a checkpoint of another input. */
export class CheckpointMismatchError extends StartupError {
  constructor(readonly dir: string, readonly found: string, readonly wanted: string) {
    super(
      `${join(dir, FILES.checkpoint)} belongs to ${inputOf(found)}, not ${inputOf(wanted)}: ` +
        `pass another --data-dir (replay without --data-dir uses one of its own per file), ` +
        `or remove ${dir} to start over there`,
    );
    this.name = "CheckpointMismatchError";
  }
}

/** A checkpoint's `source` in words: `log` is the live engine's own input log. */
function inputOf(source: string): string {
  if (source === "log") return "a live run (start)";
  if (source.startsWith("file:")) return `the input ${source.slice(5)}`;
  return source;
}

/** What one batch writes to a file: text, or its UTF-8 bytes (written as they are, before
 * `write` returns, so a reused buffer may be handed in). */
export type FileText = string | Uint8Array;

/** What one batch writes. */
export interface BatchOutput {
  stream?: FileText;
  analysis?: FileText;
  anomalies?: FileText;
  errors?: FileText;
  /** Only with {@linkcode OutputFilesOptions.structured}. */
  structured?: FileText;
}

/** The output files, in the order a batch writes them. */
const KEYS = ["stream", "errors", "structured", "analysis", "anomalies"] as const;

const encoder = new TextEncoder();

/** Largest scratch buffer {@linkcode OutputFiles.write} keeps for encoding, bytes: a batch's
 * text that could need more (3 bytes per UTF-16 unit) is encoded into a buffer of its own. */
export const WRITE_BUFFER_MAX = 16 << 20;

/** The end of a non-empty `anomaly_report.json`, cut off to append to it. */
const REPORT_END = "\n]\n";

/** The open output files of a data directory. */
export class OutputFiles {
  readonly dir: string;
  /** The checkpoint found on open, or null for a fresh start. */
  readonly resume: Checkpoint | null;
  readonly #source: string;
  readonly #handles: Partial<Record<keyof BatchOutput, Deno.FsFile>>;
  readonly #sizes: Record<keyof BatchOutput, number>;
  /** The sizes of the last checkpoint (at open: what the files were cut back to). */
  readonly #committed: Record<keyof BatchOutput, number>;
  readonly #derived: (keyof BatchOutput)[];
  #reportAnomalies = -1;
  #reportAt = 0;
  /** Bytes of `anomalies.jsonl` the report on disk holds, and that report's size; 0 and -1
   * until this process wrote one (a report of another process is rewritten whole). */
  #reportFrom = 0;
  #reportSize = -1;
  /** Reused for encoding each batch's text: one buffer, not one per file and batch (replay
   * writes about 140 MB per million readings, and every fresh buffer is garbage to collect).
   * Grows to fit the largest batch, up to {@linkcode WRITE_BUFFER_MAX}. */
  #scratch = new Uint8Array(1 << 20);
  /** The report's buffers (`appendReportTail`), made at the first report this process writes. */
  #reportBuffers: { input: Uint8Array; output: Uint8Array } | null = null;

  private constructor(
    dir: string,
    source: string,
    resume: Checkpoint | null,
    handles: Partial<Record<keyof BatchOutput, Deno.FsFile>>,
    sizes: Record<keyof BatchOutput, number>,
    derived: (keyof BatchOutput)[],
  ) {
    this.dir = dir;
    this.#source = source;
    this.resume = resume;
    this.#handles = handles;
    this.#sizes = sizes;
    this.#committed = { ...sizes };
    this.#derived = derived;
  }

  /** Opens (creating) the data directory, cutting derived files back to the checkpoint. */
  static async open(dir: string, options: OutputFilesOptions): Promise<OutputFiles> {
    await Deno.mkdir(join(dir, "logs"), { recursive: true });
    const resume = await readCheckpoint(dir);
    if (resume && resume.source !== options.source) {
      throw new CheckpointMismatchError(dir, resume.source, options.source);
    }
    const derived: (keyof BatchOutput)[] = ["analysis", "anomalies", "errors"];
    if (options.streamDerived) derived.push("stream");
    if (options.structured) derived.push("structured");
    const handles: Partial<Record<keyof BatchOutput, Deno.FsFile>> = {};
    const sizes = { stream: 0, analysis: 0, anomalies: 0, errors: 0, structured: 0 };
    const keys = ["stream", "analysis", "anomalies", "errors"] as (keyof BatchOutput)[];
    if (options.structured) keys.push("structured");
    for (const key of keys) {
      const path = join(dir, FILES[key]);
      const file = await Deno.open(path, { read: true, write: true, create: true });
      let size = (await file.stat()).size;
      if (derived.includes(key)) {
        // No checkpoint means nothing was committed: whatever is there is from a run that
        // died before its first checkpoint, and is written again.
        const keep = resume?.files[FILES[key]] ?? 0;
        if (size > keep) await file.truncate(keep);
        size = Math.min(size, keep);
      } else {
        size = await cutTornLine(file, size);
      }
      await file.seek(size, Deno.SeekMode.Start);
      handles[key] = file;
      sizes[key] = size;
    }
    return new OutputFiles(dir, options.source, resume, handles, sizes, derived);
  }

  /** Current byte size of a file. */
  size(key: keyof BatchOutput): number {
    return this.#sizes[key];
  }

  /** Whether `stream_output.jsonl` is derived from the input (a replay), so that every output
   * can be rebuilt from the input alone. */
  get streamDerived(): boolean {
    return this.#derived.includes("stream");
  }

  /** Whether `structured_metrics.csv` is written. */
  get structured(): boolean {
    return this.#handles.structured !== undefined;
  }

  /**
   * Appends a batch's output, each file with one write. When a write fails (a full disk: a
   * `DiskFullError` naming the file), every file is put back as at the last checkpoint before
   * the error is thrown, so that no torn line is left behind.
   */
  async write(out: BatchOutput): Promise<void> {
    const before = { ...this.#sizes };
    for (const key of KEYS) {
      const text = out[key];
      if (!text || text.length === 0) continue;
      const file = this.#handles[key];
      if (!file) throw new Error(`${FILES[key]} is not open for writing`);
      const bytes = typeof text === "string" ? this.#encode(text) : text;
      try {
        writeAllSync(file, bytes);
      } catch (e) {
        await this.#rollBack(before);
        throw diskFullOr(e, join(this.dir, FILES[key]));
      }
      this.#sizes[key] += bytes.length;
    }
  }

  /** `text` as UTF-8, in the scratch buffer when it fits (valid until the next call). */
  #encode(text: string): Uint8Array {
    const worst = text.length * 3;
    if (worst > this.#scratch.length && worst <= WRITE_BUFFER_MAX) {
      let size = this.#scratch.length;
      while (size < worst) size *= 2;
      this.#scratch = new Uint8Array(Math.min(size, WRITE_BUFFER_MAX));
    }
    if (worst > this.#scratch.length) return encoder.encode(text);
    const { written } = encoder.encodeInto(text, this.#scratch);
    return this.#scratch.subarray(0, written);
  }

  /**
   * Cuts every derived file back to the last checkpoint and the input log (live) back to
   * `before` (its size before the failed batch: its lines past the checkpoint are input, which
   * a restart processes). Truncating frees space, so it works on a full disk too.
   */
  async #rollBack(before: Record<keyof BatchOutput, number>): Promise<void> {
    for (const [key, file] of Object.entries(this.#handles) as [keyof BatchOutput, Deno.FsFile][]) {
      const keep = this.#derived.includes(key) ? this.#committed[key] : before[key];
      await file.truncate(keep);
      await file.seek(keep, Deno.SeekMode.Start);
      this.#sizes[key] = keep;
    }
  }

  /**
   * Records progress in `checkpoint.json` (write to a temporary file, then rename, so it is
   * always whole) and refreshes `anomaly_report.json` when anomalies were added, at most once
   * per `reportEveryMs` unless `final`.
   */
  async checkpoint(
    counts: Omit<Checkpoint, "version" | "source" | "files" | "heartbeat">,
    options: {
      final?: boolean;
      reportEveryMs?: number;
      heartbeat?: Record<string, number> | null;
    } = {},
  ): Promise<void> {
    const files: Record<string, number> = {};
    for (const key of this.#derived) files[FILES[key]] = this.#sizes[key];
    const cp: Checkpoint = { version: 1, source: this.#source, ...counts, files };
    const lost = options.heartbeat;
    if (lost && Object.keys(lost).length > 0) cp.heartbeat = lost;
    try {
      await replaceFile(join(this.dir, FILES.checkpoint), JSON.stringify(cp) + "\n");
    } catch (e) {
      // The checkpoint on disk is still the last one: the files go back to it.
      await this.#rollBack(this.#sizes);
      throw diskFullOr(e, join(this.dir, FILES.checkpoint));
    }
    Object.assign(this.#committed, this.#sizes);
    const due = options.final || Date.now() - this.#reportAt >= (options.reportEveryMs ?? 1000);
    if (counts.anomalies !== this.#reportAnomalies && due) {
      await this.#writeReport();
      this.#reportAnomalies = counts.anomalies;
      this.#reportAt = Date.now();
    }
  }

  /**
   * `anomaly_report.json`: `anomalies.jsonl` as one JSON array, replaced atomically. Once this
   * process has written one, the next is a copy of it with only the events added since
   * appended (read from `anomalies.jsonl` past what the report holds): re-reading and
   * re-joining the whole log every second made a long replay quadratic.
   */
  async #writeReport(): Promise<void> {
    const path = join(this.dir, FILES.report);
    const end = this.#sizes.anomalies;
    if (this.#reportSize > 0 && this.#reportFrom > 0 && end >= this.#reportFrom) {
      const log = this.#handles.anomalies!;
      const tmp = `${path}.tmp`;
      let written = 0;
      try {
        Deno.copyFileSync(path, tmp);
        using file = await Deno.open(tmp, { write: true });
        await file.truncate(this.#reportSize - REPORT_END.length);
        await file.seek(this.#reportSize - REPORT_END.length, Deno.SeekMode.Start);
        written = this.#appendReportTail(log, this.#reportFrom, end, file);
        await Deno.rename(tmp, path);
      } catch (e) {
        // The old report stays whole; the half-written copy goes, to free its space.
        await Deno.remove(tmp).catch(() => {});
        throw diskFullOr(e, path);
      } finally {
        await log.seek(end, Deno.SeekMode.Start); // where the next batch is appended
      }
      this.#reportSize += written - REPORT_END.length;
      this.#reportFrom = end;
      return;
    }
    // This process's first report: the whole log as an array, built from its bytes a chunk at
    // a time as an extension is. Read whole, split, joined and encoded again, a restart's
    // first checkpoint held the log several times over: the 1 M replay re-run on its finished
    // directory peaked at 143–154 MiB, against 111 for the replay itself (BENCHMARKS.md,
    // eleventh stop), and the log of a plant's months could not be held at all.
    const log = this.#handles.anomalies!;
    const tmp = `${path}.tmp`;
    let size: number;
    try {
      using file = await Deno.open(tmp, { write: true, create: true, truncate: true });
      writeAllSync(file, REPORT_OPEN_BYTES);
      size = REPORT_OPEN_BYTES.length + this.#appendReportTail(log, 0, end, file, true);
      if (size === REPORT_OPEN_BYTES.length + REPORT_END_BYTES.length) {
        // No event: `[]`, not an empty array's lines.
        await file.truncate(0);
        await file.seek(0, Deno.SeekMode.Start);
        writeAllSync(file, EMPTY_REPORT_BYTES);
        size = -1;
      }
      await Deno.rename(tmp, path);
    } catch (e) {
      // The old report stays whole (a restart's first checkpoint writes it again).
      await Deno.remove(tmp).catch(() => {});
      throw diskFullOr(e, path);
    } finally {
      await log.seek(end, Deno.SeekMode.Start); // where the next batch is appended
    }
    // Appending needs a report that ends in REPORT_END: one of at least one event.
    this.#reportFrom = size > 0 ? end : 0;
    this.#reportSize = size;
  }

  /** `appendReportTail` with this writer's reused buffers. */
  #appendReportTail(
    log: Deno.FsFile,
    from: number,
    end: number,
    out: Deno.FsFile,
    first = false,
  ): number {
    // A chunk of n bytes comes out at most 2n + 2 long: `,\n` before each line, one byte at worst.
    this.#reportBuffers ??= {
      input: new Uint8Array(REPORT_CHUNK),
      output: new Uint8Array(REPORT_CHUNK * 2 + 2),
    };
    return appendReportTail(log, from, end, out, this.#reportBuffers, first);
  }

  /** Closes every file. */
  close(): void {
    for (const f of Object.values(this.#handles)) f.close();
  }
}

const REPORT_END_BYTES = encoder.encode(REPORT_END);
/** A report's first byte, before its first event's `\n`. */
const REPORT_OPEN_BYTES = encoder.encode("[");
/** The report of no event. */
const EMPTY_REPORT_BYTES = encoder.encode("[]\n");

/** Bytes of `anomalies.jsonl` read at a time when a report is written or extended. */
const REPORT_CHUNK = 64 << 10;

/**
 * Appends to `out` what follows a report's last event for the `anomalies.jsonl` lines in
 * `log`'s bytes `[from, end)` (blank ones skipped): `,\n` and the lines joined by `,\n`, then
 * {@linkcode REPORT_END}; only `REPORT_END` for none. With `first`, what follows a report's
 * `[`: the first line gets `\n` instead of `,\n`. Returns the bytes written. Built from
 * the bytes as they are, a chunk at a time through two reused buffers: decoding, splitting,
 * joining and encoding them again cost more than the copy (event descriptions hold `°`, so the
 * text is not one-byte), and the whole stretch and its copy at once (a few MiB, in malloc's
 * heap once a larger block has been freed) were most of the last checkpoint's rise in peak RSS.
 */
function appendReportTail(
  log: Deno.FsFile,
  from: number,
  end: number,
  out: Deno.FsFile,
  buffers: { input: Uint8Array; output: Uint8Array },
  first = false,
): number {
  const { input, output } = buffers;
  // Sync reads on this thread, as FileSource reads a regular file: each async one was a hand-off
  // to Deno's blocking pool, and the main thread idled through the round trips (~20 ms of a
  // 1 M replay's in-process time for its report a second).
  log.seekSync(from, Deno.SeekMode.Start);
  let written = 0;
  let inLine = false; // the current line's `,\n` is out (the line may span chunks)
  let lead = first; // the next line is the report's first: `\n` alone before it
  let left = end - from;
  while (left > 0) {
    const n = log.readSync(input.subarray(0, Math.min(left, input.length)));
    if (n === null) break;
    left -= n;
    let at = 0;
    let pos = 0;
    while (pos < n) {
      let nl = input.indexOf(10, pos);
      if (nl === -1 || nl >= n) nl = n;
      if (nl > pos) {
        if (!inLine) {
          if (!lead) output[at++] = 44; // ","
          output[at++] = 10;
          inLine = true;
          lead = false;
        }
        output.set(input.subarray(pos, nl), at);
        at += nl - pos;
      }
      if (nl < n) inLine = false;
      pos = nl + 1;
    }
    writeAllSync(out, output.subarray(0, at));
    written += at;
  }
  writeAllSync(out, REPORT_END_BYTES);
  return written + REPORT_END_BYTES.length;
}

/** Thrown when `checkpoint.json` is not a whole, valid checkpoint. */
export class CheckpointError extends StartupError {
  constructor(readonly path: string, readonly problem: string) {
    super(
      // One line whatever the file holds: JSON.parse quotes a piece of the text in its message.
      `${path} is damaged (${
        problem.replace(/\s+/g, " ")
      }); remove it to rebuild the outputs beside it from ` +
        `their input, or pass another --data-dir (docs/files.md#checkpointjson)`,
    );
    this.name = "CheckpointError";
  }
}

/**
 * The checkpoint of `dir`, or null when there is none. A damaged one (empty, truncated, not
 * JSON, a field missing, of the wrong type or out of range) is a {@linkcode CheckpointError}
 * naming the first problem: resuming from it would duplicate or drop outputs.
 *
 * @example
 * ```ts
 * const cp = await readCheckpoint("./data");
 * console.log(cp ? `resumes after line ${cp.lines}` : "starts fresh");
 * ```
 */
export async function readCheckpoint(dir: string): Promise<Checkpoint | null> {
  const path = join(dir, FILES.checkpoint);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  if (text.trim() === "") throw new CheckpointError(path, "the file is empty");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(path, `not JSON: ${(e as Error).message}`);
  }
  // Loaded with a checkpoint to read: a fresh run never loads zod (checkpoint_schema.ts).
  const { CHECKPOINT } = await import("./checkpoint_schema.ts");
  const parsed = CHECKPOINT.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length === 0 ? "the checkpoint" : issue.path.join(".");
    throw new CheckpointError(path, `${at}: ${issue.message}`);
  }
  return parsed.data as Checkpoint;
}

/**
 * Up to `length` bytes of `file` from byte `from` (fewer at its end), as text.
 *
 * @example
 * ```ts
 * using file = await Deno.open("data/vigil.lock");
 * const pid = await readText(file, 0, 64);
 * ```
 */
export async function readText(file: Deno.FsFile, from: number, length: number): Promise<string> {
  return new TextDecoder().decode(await readAt(file, from, length));
}

/** Writes `path` whole: a temporary file beside it, then a rename over it. A failed write
 * removes the temporary file (on a full disk it would hold space and half a file). Synchronous
 * calls: the checkpoint is replaced after every batch, or every 250 ms in a replay as fast as it
 * can (see `../core/write_all.ts` for why). */
export function replaceFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  try {
    Deno.writeTextFileSync(tmp, text);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch { /* never created */ }
    return Promise.reject(e);
  }
  try {
    Deno.renameSync(tmp, path);
  } catch (e) {
    return Promise.reject(e);
  }
  return Promise.resolve();
}

/** Cuts a torn last line (a write interrupted by a crash) off an append-only log. */
async function cutTornLine(file: Deno.FsFile, size: number): Promise<number> {
  if (size === 0) return 0;
  const tail = new Uint8Array(Math.min(size, 65536));
  await file.seek(size - tail.length, Deno.SeekMode.Start);
  let got = 0;
  while (got < tail.length) {
    const n = await file.read(tail.subarray(got));
    if (n === null) break;
    got += n;
  }
  const nl = tail.lastIndexOf(10);
  if (nl === tail.length - 1) return size;
  // No newline in the last 64 KiB: the whole tail is one torn line (lines are shorter).
  const keep = nl === -1 ? size - tail.length : size - tail.length + nl + 1;
  await file.truncate(keep);
  return keep;
}
