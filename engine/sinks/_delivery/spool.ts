/**
 * A bounded on-disk queue of serialised items (one line each) for one delivery target, so that
 * a target that is down loses nothing, even across a restart of Vigil. Apart from the delivery
 * loop (delivery.ts) and from what is delivered, so that every sink with at-least-once delivery
 * (webhooks, InfluxDB line protocol…) keeps the same files in the same way; the files and how
 * they are read back after a crash are in spool_files.ts.
 *
 * Items accepted in one tick are appended in one write. When the acknowledged prefix passes
 * `compactBytes`, the unacknowledged rest is copied to a spool of the next generation, the ack
 * file is switched to it, then the old spool is deleted: a crash at any point leaves the ack file
 * naming a complete spool (an unreferenced one is deleted on the next open).
 *
 * The queue is bounded: at most `maxQueued` items wait (in the spool, mirrored in memory so that
 * sending needs no reads). An item that arrives at a full queue evicts the **oldest** waiting
 * one, counted in {@linkcode Spool.dropped} and logged once per tick as a warning with the count.
 * @module
 */
import { join } from "node:path";
import { type DeliveryLog, report } from "./log.ts";
import {
  type Entry,
  type RecoveredSpool,
  recoverSpool,
  spoolFileName,
  writeAck,
  writeAll,
} from "./spool_files.ts";

/** Options of {@linkcode Spool.open}. */
export interface SpoolOptions {
  /** The spool directory; it must exist. Several targets may share it (their ids differ). */
  dir: string;
  /** What names the target's files (through its hash): its full URL. */
  key: string;
  /** The spool files' extension, without the dot (`jsonl`). */
  extension: string;
  /** What is written to the ack file as `url`: the target without secrets. */
  label: string;
  /** Most items waiting; beyond it the oldest are evicted. */
  maxQueued: number;
  /** Acknowledged spool bytes that trigger a compaction. */
  compactBytes: number;
  /** Whether a line read back at open is an item; others are logged and skipped. */
  isValid: (line: string) => boolean;
  /** Who speaks in the log: the sink, its items and the target. */
  log: DeliveryLog;
  /** Called whenever new items are on disk, ready to be taken (wakes the delivery loop). */
  onAppend?: () => void;
}

/** Items taken for one send: the lines, oldest first, and the spool offset just after them. */
export interface SpoolBatch {
  readonly lines: readonly string[];
  readonly end: number;
}

const encoder = new TextEncoder();

/**
 * One target's spool. Items go in with {@linkcode Spool.push}; the delivery loop takes the
 * oldest with {@linkcode Spool.take}, ends the send with {@linkcode Spool.release} and, when the
 * target is done with them, {@linkcode Spool.acknowledge}s them. One batch is in flight at most.
 *
 * @example
 * ```ts
 * import { Spool } from "./spool.ts";
 * import { nullLogger } from "../../core/logger.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const spool = await Spool.open({
 *   dir, key: "https://example.com/hook", label: "https://example.com/hook", extension: "jsonl",
 *   maxQueued: 1000, compactBytes: 1 << 20, isValid: () => true,
 *   log: { logger: nullLogger, name: "demo", noun: "items", fields: {} },
 * });
 * spool.push('{"a":1}');
 * await spool.flush(); // on disk now
 * const batch = (await spool.take(100))!;
 * // … the target got batch.lines …
 * spool.release(true);
 * await spool.acknowledge(batch.end);
 * await spool.close();
 * ```
 */
export class Spool {
  readonly #o: SpoolOptions;
  readonly #id: string;
  #generation: number;
  #file: Deno.FsFile;
  /** Bytes in the current spool. */
  #size: number;
  /** Spool offset up to which everything is done with. */
  #acked: number;
  /** Written to the spool, not yet done with, oldest first. */
  #queue: Entry[];
  /** Items accepted but not yet written to the spool. */
  #incoming: string[] = [];
  /** Items being written right now, and how many of them were evicted meanwhile. */
  #writing = 0;
  #writingEvicted = 0;
  /** Entries at the queue's head in the batch in flight, and how many were evicted meanwhile. */
  #inflight = 0;
  #inflightEvicted = 0;
  /** Evictions not yet logged, and whether the ack offset moved since it was saved. */
  #unloggedDrops = 0;
  #ackDirty = false;
  #dropped = 0;
  /** File operations (appends, ack writes, compaction), one at a time, in order. */
  #io: Promise<void> = Promise.resolve();
  #flushScheduled = false;

  private constructor(o: SpoolOptions, state: RecoveredSpool) {
    this.#o = o;
    this.#id = state.id;
    this.#generation = state.generation;
    this.#file = state.file;
    this.#size = state.size;
    this.#acked = state.acked;
    this.#queue = state.queue;
  }

  /**
   * Opens (or creates) the target's spool in `dir` and queues what a previous run left
   * unacknowledged (logged with its count), as `recoverSpool` in spool_files.ts reads it back.
   * @throws the file system's error when the directory cannot be read or the spool opened.
   */
  static async open(o: SpoolOptions): Promise<Spool> {
    const state = await recoverSpool(o.dir, o.key, o.extension, o.isValid, o.log);
    const s = new Spool(o, state);
    if (state.queue.length > 0) {
      report(o.log, "info", `${o.log.noun} to resend from the spool`, {
        queued: state.queue.length,
      });
    }
    s.#enforceBound();
    await s.flush();
    return s;
  }

  /** Items waiting: accepted and not yet done with (including a batch in flight). */
  get queued(): number {
    return this.#queue.length + this.#writing - this.#writingEvicted + this.#incoming.length;
  }

  /** Items on disk, ready to be taken. */
  get ready(): number {
    return this.#queue.length;
  }

  /** Items evicted unsent because the queue was full (less those delivered after all). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Accepts one item's line (no newline): written with the others of this tick, in one append. */
  push(line: string): void {
    this.#incoming.push(line);
    this.#enforceBound();
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // After the pipeline's synchronous listener loop: one spool write per written batch.
      queueMicrotask(() => {
        this.#flushScheduled = false;
        this.flush();
      });
    }
  }

  /**
   * Marks the oldest (up to `max`) items on disk as in flight and returns them, after a
   * compaction if one is due (it runs only with nothing in flight); `null` when none is ready.
   */
  async take(max: number): Promise<SpoolBatch | null> {
    await this.#compact();
    const batch = this.#queue.slice(0, max);
    if (batch.length === 0) return null;
    this.#inflight = batch.length;
    this.#inflightEvicted = 0;
    return { lines: batch.map((e) => e.line), end: batch[batch.length - 1]!.end };
  }

  /**
   * Ends the batch in flight; returns how many of it were evicted meanwhile. When `delivered`,
   * those are counted back out of {@linkcode Spool.dropped}: they did arrive after all.
   */
  release(delivered: boolean): number {
    const evicted = this.#inflightEvicted;
    this.#inflight = 0;
    this.#inflightEvicted = 0;
    if (delivered) this.#dropped -= evicted;
    return evicted;
  }

  /** Marks everything up to `end` done with, saves that, and compacts when it is due. */
  async acknowledge(end: number): Promise<void> {
    while (this.#queue.length > 0 && this.#queue[0]!.end <= end) this.#queue.shift();
    if (end > this.#acked) this.#acked = end;
    await this.#serial(() => this.#writeAck());
    await this.#compact();
  }

  /** Writes the accepted items to the spool now (normally done once per tick by `push`). */
  flush(): Promise<void> {
    return this.#serial(async () => {
      if (this.#unloggedDrops > 0) {
        report(this.#o.log, "warn", `queue full, oldest ${this.#o.log.noun} dropped`, {
          dropped: this.#unloggedDrops,
          max_queued: this.#o.maxQueued,
        });
        this.#unloggedDrops = 0;
      }
      if (this.#ackDirty) await this.#writeAck();
      if (this.#incoming.length === 0) return;
      const lines = this.#incoming;
      this.#incoming = [];
      this.#writing = lines.length;
      this.#writingEvicted = 0;
      const parts = lines.map((l) => encoder.encode(l + "\n"));
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
      try {
        await writeAll(this.#file, bytes);
      } catch (e) {
        // Not on disk (disk full?): cut off any part written, so no torn line glues onto the
        // next append, and keep them in memory (ahead of newer ones) for the next flush.
        await this.#file.truncate(this.#size).catch(() => {});
        await this.#file.seek(this.#size, Deno.SeekMode.Start).catch(() => {});
        this.#incoming = lines.slice(this.#writingEvicted).concat(this.#incoming);
        this.#writing = 0;
        this.#writingEvicted = 0;
        throw e;
      }
      const evicted = this.#writingEvicted;
      this.#writing = 0;
      this.#writingEvicted = 0;
      for (let i = 0; i < lines.length; i++) {
        this.#size += parts[i]!.length;
        // Evicted while being written: done with as soon as they are on disk.
        if (i < evicted) this.#acked = this.#size;
        else this.#queue.push({ line: lines[i]!, end: this.#size });
      }
      if (evicted > 0) await this.#writeAck();
      this.#o.onAppend?.();
    });
  }

  /**
   * Saves the ack offset, waits for the file operations queued and closes the spool; what is
   * not acknowledged stays for the next {@linkcode Spool.open}. Call once, with nothing in flight.
   */
  async close(): Promise<void> {
    await this.#serial(() => this.#writeAck());
    await this.#io;
    this.#file.close();
  }

  /** Drops the oldest items while more than `maxQueued` wait. */
  #enforceBound(): void {
    let over = this.queued - this.#o.maxQueued;
    if (over <= 0) return;
    while (over > 0) {
      over--;
      this.#dropped++;
      this.#unloggedDrops++;
      const head = this.#queue.shift();
      if (head) {
        this.#acked = head.end;
        this.#ackDirty = true;
        if (this.#inflight > 0) {
          this.#inflight--;
          this.#inflightEvicted++;
        }
      } else if (this.#writing - this.#writingEvicted > 0) this.#writingEvicted++;
      else this.#incoming.shift();
    }
    // Logged and saved once per tick by flush, not once per item: a storm must not become a
    // storm of log lines and file writes.
  }

  /** Queues a file operation after the ones already queued; its failure is logged, not thrown. */
  #serial(op: () => Promise<void>): Promise<void> {
    const next = this.#io.then(op).catch((e) => {
      report(this.#o.log, "error", "spool write failed", { error: String(e) });
    });
    this.#io = next;
    return next;
  }

  #writeAck(): Promise<void> {
    this.#ackDirty = false;
    const spool = spoolFileName(this.#id, this.#generation, this.#o.extension);
    return writeAck(this.#o.dir, this.#id, this.#o.label, spool, this.#acked);
  }

  /** Copies the unacknowledged rest to a new spool generation (runs with nothing in flight). */
  #compact(): Promise<void> {
    return this.#serial(async () => {
      if (this.#acked < this.#o.compactBytes || this.#inflight > 0) return;
      const oldPath = join(
        this.#o.dir,
        spoolFileName(this.#id, this.#generation, this.#o.extension),
      );
      // Evictions may move #acked while this awaits: shift by the offset the copy starts at.
      const shift = this.#acked;
      const rest = (await Deno.readFile(oldPath)).subarray(shift, this.#size);
      const generation = this.#generation + 1;
      const newPath = join(this.#o.dir, spoolFileName(this.#id, generation, this.#o.extension));
      await Deno.writeFile(newPath, rest);
      const file = await Deno.open(newPath, { read: true, write: true });
      await file.seek(rest.length, Deno.SeekMode.Start);
      const oldFile = this.#file;
      this.#generation = generation;
      this.#file = file;
      this.#size = rest.length;
      this.#acked -= shift;
      for (const e of this.#queue) e.end -= shift;
      await this.#writeAck();
      oldFile.close();
      await Deno.remove(oldPath);
    });
  }
}
