/**
 * The write side of the history file: what the pipeline hands the history sink, turned into
 * buffered entries (with each stream's anomaly ratio, see flag_ring.ts) and committed in one
 * transaction per flush, because one transaction per reading would cost a disk sync each. A
 * flush writes one chunk per stream (chunk_codec.ts): its entries of that flush, in arrival
 * order, as one row, because SQLite's cost is per row. The buffer is bounded: `maxPending`
 * entries force a flush at once, and a timer writes the rest within `flushEvery` ms. Each flush
 * then deletes what retention no longer keeps (retention.ts).
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { AnalysisResult } from "../../core/analysis.ts";
import { FLAG } from "../../core/analysis.ts";
import type { Logger } from "../../core/logger.ts";
import { DiskFullError, diskFullOr } from "../../core/disk_full.ts";
import type { AnomalyEvent, ProcessedRow, Reading } from "../../core/types.ts";
import { FlagRings } from "./flag_ring.ts";
import { ChunkedInsert } from "./chunked_insert.ts";
import { encodeChunk } from "./chunk_codec.ts";
import { ChunkReader } from "./chunk_reader.ts";
import { KIND, PendingWrites } from "./pending.ts";
import { Retention } from "./retention.ts";
import { Merger } from "./merge.ts";
import { StreamIndex, type StreamState } from "./streams.ts";

/**
 * Bounds and reporting of a {@linkcode HistoryWriter}, checked and defaulted by `HistoryStore`
 * (the defaults are documented on `HistoryStoreOptions`).
 */
export interface HistoryWriterSettings {
  /** Readings kept per machine and channel; the oldest beyond it are deleted at each flush. */
  retention: number;
  /** Longest time a buffered entry waits before it is written, ms. */
  flushEvery: number;
  /** Buffered entries that force a flush at once. */
  maxPending: number;
  /** Readings in each stream's anomaly ratio. */
  anomalyListSize: number;
  /** Streams whose anomaly-ratio ring is kept in memory. */
  maxStreams: number;
  /** Where failed background flushes are reported. */
  logger: Logger;
  /** The file, for the message of a full disk (`disk full writing <path>`). */
  path: string;
  /** Told when a background flush found the disk full (see `HistoryStoreOptions`). */
  onDiskFull?: (e: DiskFullError) => void;
}

const finiteOrNull = (x: number | null | undefined): number | null =>
  typeof x === "number" && Number.isFinite(x) ? x : null;

/** A nullable result as the buffer holds it: NaN for null (see `PendingWrites`). */
const finiteOrNaN = (x: number | null | undefined): number =>
  typeof x === "number" && Number.isFinite(x) ? x : NaN;

/**
 * Buffers what the pipeline hands the history sink and writes it to `db` in one transaction per
 * flush. Used through `HistoryStore` (history_store.ts), which refuses writes once closed.
 *
 * @example
 * ```ts
 * import { nullLogger } from "../../core/logger.ts";
 * import { openHistoryDb } from "./schema.ts";
 *
 * const writer = new HistoryWriter(openHistoryDb(":memory:"), {
 *   retention: 100_000, flushEvery: 500, maxPending: 50_000, anomalyListSize: 100,
 *   maxStreams: 4096, logger: nullLogger, path: ":memory:",
 * });
 * writer.readings([{ timestamp: 0, machine: "m1", status: null, channels: { temperature: 21.5 } }]);
 * writer.pending; // 1
 * writer.flush(); // written
 * ```
 */
export class HistoryWriter {
  readonly #db: DatabaseSync;
  readonly #s: HistoryWriterSettings;
  readonly #rings: FlagRings;
  readonly #pending: PendingWrites;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #streams: StreamIndex;
  readonly #insertChunks: ChunkedInsert;
  readonly #reader: ChunkReader;
  readonly #retention: Retention;
  readonly #merger: Merger;
  readonly #maxSeq: StatementSync;

  /** Prepares the writes on `db`, which has the current schema (see schema.ts). */
  constructor(db: DatabaseSync, settings: HistoryWriterSettings) {
    this.#db = db;
    this.#s = settings;
    this.#pending = new PendingWrites(settings.maxPending);
    this.#rings = new FlagRings(settings.anomalyListSize, settings.maxStreams);
    this.#streams = new StreamIndex(db, settings.maxStreams);
    // A flush's chunks, many per statement (see chunked_insert.ts); `seq` counts them in order.
    this.#insertChunks = new ChunkedInsert(
      db,
      "chunks",
      ["stream", "first", "last", "count", "data"],
      "",
    );
    this.#reader = new ChunkReader(db);
    this.#retention = new Retention(db, settings.retention);
    this.#merger = new Merger(db);
    this.#maxSeq = db.prepare(`SELECT coalesce(max(seq), 0) AS seq FROM chunks`);
  }

  /**
   * Buffers every channel value of `readings` with its results from `result.values` (the
   * pipeline calls this instead of `readings`, `row` and `anomaly` when the analyzer computed
   * them, and only then: `Sink.results`). A result without them is refused (a `TypeError`,
   * nothing buffered): the pipeline feeds those batches through the other three.
   */
  results(readings: readonly Reading[], result: AnalysisResult): void {
    const values = result.values;
    if (!values) {
      throw new TypeError(
        `history results: the analysis of ${readings.length} readings has no per-reading ` +
          "values (an Analyzer without readingValues); feed it through readings, row and anomaly",
      );
    }
    // Events are few: by reading index, the channels they flag. (Not a set of joined
    // "index, channel" keys: that built a string per stored value, seen in live profiles.)
    const events = new Map<number, Set<string>>();
    for (const { index, event } of result.events) {
      if (event.channel === null) continue;
      let channels = events.get(index);
      if (!channels) events.set(index, channels = new Set());
      channels.add(event.channel);
    }
    this.#startRings(readings, values.first);
    const threshold = values.zThreshold;
    const p = this.#pending;
    for (let i = 0; i < readings.length; i++) {
      let e = values.first[i]!;
      if (e === -1) continue;
      const r = readings[i]!;
      const flagged = events.get(i);
      for (const channel in r.channels) {
        const anomaly = values.flags[e]! & FLAG.ZSCORE ? 1 : 0;
        const j = p.push(KIND.result, r.machine, channel, r.timestamp, r.channels[channel]!);
        p.mean[j] = finiteOrNaN(values.mean[e]);
        p.std[j] = finiteOrNaN(values.std[e]);
        p.zscore[j] = finiteOrNaN(values.zscore[e]);
        p.threshold[j] = threshold;
        p.anomaly[j] = anomaly;
        p.ratio[j] = this.#rings.ratio(r.machine, channel, anomaly);
        p.event[j] = flagged !== undefined && flagged.has(channel) ? 1 : 0;
        e++;
      }
    }
    this.#scheduled();
  }

  /** Buffers every channel value of `readings`. */
  readings(readings: readonly Reading[]): void {
    for (const r of readings) {
      for (const channel in r.channels) {
        this.#pending.push(KIND.reading, r.machine, channel, r.timestamp, r.channels[channel]!);
      }
    }
    this.#scheduled();
  }

  /** Buffers a processed row's moving average and z-score onto the reading that closed it. */
  row(row: ProcessedRow): void {
    const time = Date.parse(row.timestamp);
    if (Number.isNaN(time)) return;
    for (const channel in row.channels) {
      const s = row.channels[channel]!;
      const value = finiteOrNull(s.current);
      if (value === null) continue;
      const j = this.#pending.push(KIND.row, row.machine, channel, time, value);
      this.#pending.mean[j] = finiteOrNaN(s.moving_avg);
      this.#pending.zscore[j] = finiteOrNaN(s.zscore);
    }
    this.#scheduled();
  }

  /**
   * Buffers the anomaly flag of the event's reading. Events about no channel (heartbeat,
   * device status, isolation forest) have no reading to flag and are ignored.
   */
  anomaly(event: AnomalyEvent): void {
    if (event.channel === null) return;
    const time = Date.parse(event.timestamp);
    if (Number.isNaN(time)) return;
    this.#pending.push(KIND.anomaly, event.machine, event.channel, time, finiteOrNaN(event.value));
    this.#scheduled();
  }

  /** Entries buffered and not yet written. */
  get pending(): number {
    return this.#pending.length;
  }

  /**
   * Writes everything buffered in one transaction, then deletes what retention no longer
   * keeps. On failure the transaction is rolled back and the buffered entries are dropped (so
   * memory stays bounded), and the error is thrown.
   */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const p = this.#pending;
    if (p.length === 0) return;
    try {
      this.#db.exec("BEGIN");
      const groups = this.#groups();
      const written: Group[] = [];
      for (const g of groups) {
        g.stream = this.#streams.get(g.machine, g.channel);
        if (this.#retention.plan(g.stream, p, g.at)) written.push(g);
      }
      this.#insertChunks.run(written.length, (params, at, row) => {
        const g = written[row]!;
        let first = Infinity, last = -Infinity;
        for (const i of g.at) {
          const t = p.time[i]!;
          if (t < first) first = t;
          if (t > last) last = t;
        }
        params[at] = g.stream!.id;
        params[at + 1] = first;
        params[at + 2] = last;
        params[at + 3] = g.at.length;
        params[at + 4] = encodeChunk(p, g.at, g.at.length);
      });
      // Every chunk of this flush has a `seq` up to this one.
      const newest = (this.#maxSeq.get() as { seq: number }).seq;
      for (const g of written) {
        if (this.#merger.wrote(g.stream!, g.at.length, newest)) this.#retention.touched(g.stream!);
      }
      this.#retention.apply();
      this.#db.exec("COMMIT");
    } catch (e) {
      // The streams' ids, floors and counts may be those of the rolled-back transaction.
      this.#streams.forget();
      this.#retention.forget();
      // SQLite has already rolled back by itself after some errors (SQLITE_FULL among them):
      // a ROLLBACK then fails with "no transaction is active" and hides the cause.
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw diskFullOr(e, this.#s.path);
    } finally {
      // Written or rolled back: either way the entries go (memory stays bounded).
      p.clear();
    }
  }

  /**
   * The buffered entries by stream, each stream's in arrival order (the order its upserts
   * apply in). An entry SQLite's table refused (its NOT NULL `time`, and `value` of a reading
   * or result) fails the flush as the table did.
   */
  #groups(): Group[] {
    const p = this.#pending;
    const byMachine = new Map<string, Map<string, Group>>();
    const groups: Group[] = [];
    for (let i = 0; i < p.length; i++) {
      const machine = p.machine[i]!, channel = p.channel[i]!;
      if (
        Number.isNaN(p.time[i]!) ||
        (Number.isNaN(p.value[i]!) && (p.kind[i] === KIND.result || p.kind[i] === KIND.reading))
      ) {
        throw new Error(
          `history: NOT NULL constraint failed: ${machine}/${channel} at ${p.time[i]} has no value`,
        );
      }
      let channels = byMachine.get(machine);
      if (channels === undefined) byMachine.set(machine, channels = new Map());
      let g = channels.get(channel);
      if (g === undefined) {
        channels.set(channel, g = { machine, channel, at: [], stream: undefined });
        groups.push(g);
      }
      g.at.push(i);
    }
    return groups;
  }

  /**
   * Makes sure every stream of the batch has its ring, before any of the batch is buffered: a
   * new ring starts from the stream's stored flags before its first reading here, so a restart
   * continues the ratio where the file left it. Buffered writes are flushed first so that the
   * file has them.
   */
  #startRings(readings: readonly Reading[], first: Int32Array): void {
    let flushed = false;
    for (let i = 0; i < readings.length; i++) {
      if (first[i] === -1) continue;
      const r = readings[i]!;
      for (const channel in r.channels) {
        if (this.#rings.has(r.machine, channel)) continue;
        if (!flushed && this.#pending.length > 0) {
          this.flushQuietly();
          flushed = true;
        }
        let stored: (0 | 1)[] = [];
        try {
          stored = this.#recentFlags(r.machine, channel, r.timestamp);
        } catch (e) {
          // A listener must not stop the pipeline: the ratio starts afresh instead.
          this.#s.logger.error("history: reading stored flags failed", { error: String(e) });
        }
        this.#rings.start(r.machine, channel, stored);
      }
    }
  }

  /**
   * The flags a ring starts from: the stream's newest `anomalyListSize` rows before `time` that
   * have results (the threshold is set exactly when they do), oldest first.
   */
  #recentFlags(machine: string, channel: string, time: number): (0 | 1)[] {
    const s = this.#reader.stream(machine, channel);
    if (s === undefined) return [];
    return this.#reader.recentFlags(s, time, this.#s.anomalyListSize);
  }

  /** After buffering: flush now if the buffer is full, else make sure a flush is due. */
  #scheduled(): void {
    if (this.#pending.length >= this.#s.maxPending) {
      this.flushQuietly();
    } else if (this.#timer === undefined && this.#pending.length > 0) {
      const timer = setTimeout(() => {
        this.#timer = undefined;
        this.flushQuietly();
      }, this.#s.flushEvery);
      // A pending flush must not keep a finished process alive; `close()` writes the rest.
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** A flush nobody awaits (timer, full buffer, before a read): its failure is logged. */
  flushQuietly(): void {
    try {
      this.flush();
    } catch (e) {
      // A full disk is told to whoever stops the engine (one line there, not one per flush).
      if (e instanceof DiskFullError && this.#s.onDiskFull) this.#s.onDiskFull(e);
      else this.#s.logger.error("history flush failed", { error: String(e) });
    }
  }
}

/** One stream's entries in a flush: their indices in the buffer, in arrival order. */
interface Group {
  machine: string;
  channel: string;
  at: number[];
  stream: StreamState | undefined;
}
