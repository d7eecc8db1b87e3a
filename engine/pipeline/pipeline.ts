/**
 * The Web-Streams pipeline: batches of parsed readings → {@linkcode AnalysisStream} (kernel and
 * detectors) → {@linkcode OutputSink} (files, live state, checkpoint). Backpressure runs end to
 * end: each stage holds at most one batch in its queue, and sources read only when pulled.
 * @module
 */
import type { Analyzer } from "../detect/analyzer.ts";
import type { AnalysisResult } from "../core/analysis.ts";
import type { Sink } from "../sinks/sink.ts";
import { type Batch, type EventfulBatch, readingCount } from "../core/batch.ts";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { OutputFiles } from "./output_files.ts";
import { writeReading } from "../formats/reading_format.ts";
import { ByteText } from "../formats/byte_text.ts";
import { CORE_CHANNELS, rowColumns, writeRowsCsv } from "../formats/row_format.ts";
import type { EngineState, ReadingNotice } from "../core/state.ts";
import { Incidents } from "../core/incidents.ts";
import { STRUCTURED_HEADER, structuredMetricsLine } from "../formats/structured_metrics.ts";

/** A batch with what the analyzer made of it. */
export interface AnalyzedBatch {
  batch: Batch;
  result: AnalysisResult;
  /** The analyzer's lost heartbeats once this batch was analysed (for the checkpoint, which
   * must describe the written batch, not the analyzer that may already be one ahead). */
  heartbeat?: Record<string, number> | null;
}

/** Options of {@linkcode AnalysisStream}. */
export interface AnalysisStreamOptions {
  /** Live runs: after each batch that is not history, the analyzer's heartbeat is checked
   * against this clock (see {@linkcode Analyzer.checkHeartbeat}); feed the stream with
   * `withHeartbeatTicks` so that the check runs while nothing arrives. Without a clock, a
   * heartbeat loss is found from event-time gaps only (replay). @default {none} */
  clock?: Clock;
  /** Told how long each batch's analysis took (ms, `performance.now()`) and for how many
   * readings: `Metrics.observeKernel`, for `vigil_kernel_seconds_total`. @default {none} */
  observeKernel?: (ms: number, readings: number) => void;
}

/** Runs each batch through an {@linkcode Analyzer}. */
export class AnalysisStream extends TransformStream<Batch, AnalyzedBatch> {
  constructor(analyzer: Analyzer, options: AnalysisStreamOptions = {}) {
    const clock = options.clock;
    const observeKernel = options.observeKernel;
    super(
      {
        transform: (batch: EventfulBatch, controller) => {
          const started = observeKernel ? performance.now() : 0;
          // A batch of columns (a JSONL file's) is read as such: no reading object is built (but
          // for the isolation forests, which the analyzer gives objects).
          const result = batch.columns
            ? analyzer.analyzeColumns(batch.columns)
            : analyzer.analyze(batch.readings);
          const count = readingCount(batch);
          if (observeKernel && count > 0) observeKernel(performance.now() - started, count);
          if (batch.events && batch.events.length > 0 && !batch.suppress) {
            result.events.unshift(...batch.events.map((event) => ({ index: 0, event })));
          }
          if (clock && !batch.suppress) {
            for (const event of analyzer.checkHeartbeat(clock.now())) {
              result.events.push({ index: count, event });
            }
          }
          controller.enqueue({ batch, result, heartbeat: analyzer.heartbeatState() });
        },
      },
      { highWaterMark: 1 },
      { highWaterMark: 1 },
    );
  }
}

/** Parser errors and refused readings logged per batch; the rest of a flood is one summary
 * line (every one of them is in `parser_errors.log` or counted). */
const LOGGED_PER_BATCH = 10;

function logRefused(
  logger: Logger,
  errors: Batch["errors"],
  rejected: AnalysisResult["rejected"],
): void {
  let logged = 0;
  for (const e of errors) {
    if (logged++ === LOGGED_PER_BATCH) break;
    logger.warn("parser error", { line: e.line.slice(0, 200), error: e.error });
  }
  for (const r of rejected) {
    if (logged++ === LOGGED_PER_BATCH) break;
    logger.warn("reading refused", r);
  }
  const more = errors.length + rejected.length - LOGGED_PER_BATCH;
  if (more > 0) logger.warn("more refused input in this batch, not logged", { count: more });
}

/** Warns of what {@linkcode EngineState.recordReadings} tells once: a machine's first late or
 * repeated reading, a status word the detectors do not know. */
function logNotices(logger: Logger, notices: readonly ReadingNotice[]): void {
  for (const n of notices) {
    if (n.kind === "unknown_status") {
      logger.warn(`status ${JSON.stringify(n.status)} is not one Vigil knows: kept as it is`, {
        machine: n.machine,
        known: "STARTED, RUNNING, PAUSED, COMPLETED, SHUTDOWN, NORMAL, OFFLINE, WARNING_*, " +
          "CRITICAL_* (docs/input-formats.md)",
      });
      continue;
    }
    logger.warn(
      n.kind === "out_of_order"
        ? "reading older than its machine's latest: processed as it came"
        : "reading at its machine's latest time again: processed as it came",
      {
        machine: n.machine,
        timestamp: new Date(n.timestamp).toISOString(),
        latest: new Date(n.latest).toISOString(),
        counted: `/health totals.${n.kind}; further ones of this machine are only counted`,
      },
    );
  }
}

/** The `parser_errors.log` lines of a batch: one per refused line, then one summary of the
 * lines the source only counted (stamped with the last refused line's time). */
function errorLines(errors: Batch["errors"], unlogged: number): string {
  let text = "";
  for (const e of errors) text += errorLine(e.time, e.line, e.error);
  if (unlogged > 0) {
    text += errorLine(
      errors.at(-1)?.time ?? null,
      "",
      `${unlogged} more refused lines, counted but not logged one by one (a flood while the ` +
        `pipeline was behind)`,
    );
  }
  return text;
}

function errorLine(time: number | null, line: string, error: string): string {
  return JSON.stringify({
    timestamp: time === null ? null : new Date(time).toISOString(),
    line,
    error,
  }) + "\n";
}

/** The channel names of a batch's first reading, in order (of a batch of columns, without
 * building the reading). */
function firstChannels(batch: Batch): string[] {
  const c = batch.columns;
  if (!c) return Object.keys(batch.readings[0]!.channels);
  return c.key.slice(c.first[0]!, c.first[1]!);
}

/** Running totals of a pipeline run. */
export interface PipelineCounts {
  lines: number;
  readings: number;
  rows: number;
  anomalies: number;
  errors: number;
}

/** Options of {@linkcode OutputSink}. */
export interface OutputSinkOptions {
  outputs: OutputFiles;
  state: EngineState;
  logger: Logger;
  /** Told of every written batch's readings, rows and events. @default {[]} */
  sinks?: Sink[];
  /** The `/health` source entry that counts this pipeline's readings and errors. */
  sourceName?: string;
  /** Least interval between `anomaly_report.json` rewrites, ms. @default {1000} */
  reportEveryMs?: number;
  /** Whether rows end with `anomaly_score` (an isolation-forest model is loaded).
   * @default {false} */
  anomalyScore?: boolean;
  /**
   * Told, after each checkpoint, the input lines now committed (the checkpoint's `lines`): a
   * source that must acknowledge its input only once it is safely written (NATS) does it here.
   * @default {none}
   */
  onCommit?: (lines: number) => void;
  /**
   * Least time between two checkpoints while batches keep coming, ms: a batch written sooner
   * than this after the last checkpoint is committed by the next one (or by the final one, when
   * the input ends). A restart cuts every file back to the last checkpoint and re-runs the input
   * from the start, so this is only for a run whose every output can be rebuilt from its input:
   * a derived `stream_output.jsonl` (a replay), and batches of input lines (a batch of none, a
   * heartbeat tick's or a source's own events, is committed at once). A run with `sinks` or
   * `onCommit` commits every batch whatever this says: they are told of a batch only once it is
   * committed, so that a restart never tells them twice. @default {0: every batch}
   */
  commitEveryMs?: number;
  /** Labels each written event with its incident (the adaptive detector; rebuilt from
   * `anomalies.jsonl` on a restart, as the alarms are). @default {none: events unlabelled} */
  incidents?: Incidents;
  /**
   * The checkpoint the run resumes from. Its `errors` and `anomalies` are taken over once the
   * history (the suppressed batches) is re-run: a live source's history is its readings log,
   * which holds neither the lines it refused nor the events it raised itself (device
   * connect/disconnect, a timer's heartbeat loss), so a re-count alone would drop them from
   * `/health`, `/metrics` and the next checkpoint. @default {null: a fresh start}
   */
  resume?: { lines: number; errors: number; anomalies: number } | null;
}

/**
 * Writes analysed batches to the data directory and the live state, then checkpoints. History
 * batches (`suppress`) update counts and state but write nothing.
 */
export class OutputSink extends WritableStream<AnalyzedBatch> {
  readonly #counts: PipelineCounts;

  constructor(options: OutputSinkOptions) {
    const { outputs, state, logger } = options;
    const sinks = options.sinks ?? [];
    const counts: PipelineCounts = { lines: 0, readings: 0, rows: 0, anomalies: 0, errors: 0 };
    let columns: string[] | null = null;
    let heartbeat: Record<string, number> | null = null;
    const commitEveryMs = sinks.length > 0 || options.onCommit || !outputs.streamDerived
      ? 0
      : options.commitEveryMs ?? 0;
    let committedAt = -Infinity;
    // History (re-read from the start of the input) is labelled by a grouper of its own, so that
    // its events in /anomalies carry the ids they were written with; the written events' grouper
    // was rebuilt from anomalies.jsonl and must not see them twice.
    const history = options.incidents && new Incidents({ windowMs: options.incidents.windowMs });
    const resume = options.resume ?? null;
    // Each batch's output built as bytes in buffers reused batch after batch (see ByteText).
    // (`stream` only once a batch comes without its lines: never in a replay of JSONL.)
    let stream: ByteText | null = null;
    const analysis = new ByteText(1 << 18);
    const anomalies = new ByteText(1 << 16);
    let carried = resume === null;
    // Once, when the history ends (its lines are counted, or a batch that is not history
    // comes): the counts become the checkpoint's (see `resume`).
    const carry = () => {
      if (carried || resume === null) return;
      carried = true;
      const errors = resume.errors - counts.errors;
      const anomalies = resume.anomalies - counts.anomalies;
      counts.errors = resume.errors;
      counts.anomalies = resume.anomalies;
      state.carryCounts({ errors, anomalies });
      if (options.sourceName) state.countSource(options.sourceName, 0, errors);
    };
    /** Writes one batch (`write`, which then releases it). */
    const write = async ({ batch, result, heartbeat: lost }: AnalyzedBatch) => {
      // The batch's readings are read as objects only where they must be (`batch.readings`,
      // built on first use from a batch of columns): the sinks and a device profile's
      // structured lines; so in no replay of JSONL without `--webhook` or `--influx`.
      const count = readingCount(batch);
      if (!batch.suppress) carry();
      if (columns === null && count > 0) {
        columns = rowColumns({
          anomalyScore: options.anomalyScore ?? false,
          extraChannels: firstChannels(batch).filter((c) =>
            !(CORE_CHANNELS as readonly string[]).includes(c)
          ),
        });
      }
      counts.lines += batch.lines;
      counts.readings += count - result.rejected.length;
      counts.rows += result.rows.length;
      counts.anomalies += result.events.length;
      const unlogged = batch.unloggedErrors ?? 0;
      counts.errors += batch.errors.length + unlogged + result.rejected.length;
      const incidents = batch.suppress ? history : options.incidents;
      // The loops over a batch's rows and events here are indexed, not `for…of`: this function
      // runs once a batch, too few times to be optimized, and unoptimized, `for…of` allocates
      // an iterator result per row and event (~16 MB of a 1 M replay's garbage).
      const { rows, events } = result;
      if (incidents) {
        for (let i = 0; i < events.length; i++) {
          events[i]!.event = incidents.label(events[i]!.event);
        }
      }
      const late = batch.columns
        ? state.recordColumns(batch.columns)
        : state.recordReadings(batch.readings);
      // History's notices were logged by the run that first read it.
      if (!batch.suppress) logNotices(logger, late);
      state.recordRows(rows);
      // History's alarms were rebuilt from anomalies.jsonl when the run opened.
      state.recordAnomalies(result.events.map((e) => e.event), { alarms: !batch.suppress });
      state.recordErrors(batch.errors.length + unlogged + result.rejected.length);
      if (options.sourceName) {
        state.countSource(options.sourceName, count, batch.errors.length + unlogged);
      }
      if (resume !== null && counts.lines >= resume.lines) carry();
      if (batch.suppress) return;
      // A heartbeat tick that found nothing: no need to touch the disk. A live source's batch
      // of refused lines only has `lines` 0 (its input log holds readings only), and still
      // goes to parser_errors.log.
      if (
        batch.lines === 0 && count === 0 && result.events.length === 0 &&
        batch.errors.length === 0 && unlogged === 0
      ) return;

      logRefused(logger, batch.errors, result.rejected);
      analysis.clear();
      if (result.rows.length > 0 && columns) {
        if (outputs.size("analysis") === 0) analysis.text(columns.join(",") + "\n");
        writeRowsCsv(rows, columns, analysis);
      }
      // The source's lines when it built them (see `Batch.text`), else the readings formatted.
      let streamBytes: Uint8Array | undefined;
      if (batch.log && batch.text) streamBytes = batch.text.bytes;
      else if (batch.log) {
        stream ??= new ByteText(1 << 20);
        stream.clear();
        for (const r of batch.readings) writeReading(r, stream);
        streamBytes = stream.bytes();
      }
      let structured = "";
      if (outputs.structured && count > 0) {
        if (outputs.size("structured") === 0) structured = STRUCTURED_HEADER + "\n";
        for (const r of batch.readings) structured += structuredMetricsLine(r) + "\n";
      }
      anomalies.clear();
      for (let i = 0; i < events.length; i++) {
        anomalies.text(JSON.stringify(events[i]!.event));
        anomalies.byte(10);
      }
      await outputs.write({
        structured,
        stream: streamBytes,
        errors: errorLines(batch.errors, unlogged),
        analysis: analysis.bytes(),
        anomalies: anomalies.bytes(),
      });
      // Written: its buffer may be read into again (again in `finally`, for a batch that fails).
      batch.text?.release();
      heartbeat = lost ?? null;
      // Replacing checkpoint.json, a rename over the old file once per batch of 8,192 lines
      // (ext4 starts writing the new one out then), was a tenth of a 1 M replay's wall time:
      // a replay commits every `commitEveryMs` instead (BENCHMARKS.md, "Replay's checkpoints
      // 250 ms apart").
      const now = performance.now();
      if (batch.lines > 0 && now - committedAt < commitEveryMs) return;
      committedAt = now;
      await outputs.checkpoint(counts, { reportEveryMs: options.reportEveryMs, heartbeat });
      options.onCommit?.(counts.lines);
      for (const l of sinks) {
        if (l.results && result.values) {
          l.results(batch.readings, result);
          continue;
        }
        l.readings?.(batch.readings);
        if (l.row) { for (let i = 0; i < rows.length; i++) l.row(rows.row(i)); }
        if (l.anomaly) { for (const { event } of result.events) l.anomaly(event); }
      }
    };
    super({
      write: async (analyzed) => {
        try {
          await write(analyzed);
        } finally {
          // Its source may reuse its columns and its text's buffer, the analyzer its row table:
          // nothing here reads the batch or its rows after this (a batch that failed too).
          analyzed.batch.text?.release();
          analyzed.batch.release?.();
          analyzed.result.release?.();
        }
      },
      close: async () => {
        carry();
        await outputs.checkpoint(counts, { final: true, heartbeat });
        options.onCommit?.(counts.lines);
      },
    }, { highWaterMark: 1 });
    this.#counts = counts;
  }

  /** Totals so far (history included). */
  get counts(): Readonly<PipelineCounts> {
    return this.#counts;
  }
}
