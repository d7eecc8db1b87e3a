/**
 * A stream's stored rows, read back from its chunks: the chunks that may hold a time range
 * (selected by the `(stream, last)` index), decoded and applied in write order (stream_rows.ts),
 * entries older than the stream's retention `floor` ignored. Shared by the API's queries
 * (history_queries.ts) and the writer, whose anomaly-ratio rings start from the stored flags.
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { type Chunk, decodeChunk, type StoredRow } from "./chunk_codec.ts";
import { creates, StreamRows } from "./stream_rows.ts";
import { KIND } from "./pending.ts";

/** A stream's row in `streams`: its id and retention floor (-Infinity for none). */
export interface StreamRef {
  id: number;
  floor: number;
}

/** Which of a stream's times a read takes: `lo ≤ time ≤ hi`, or `< hi` when `open`. */
export interface TimeRange {
  lo: number;
  hi: number;
  open?: boolean;
}

/** A chunk as selected for a walk from the newest end. */
interface Selected {
  seq: number;
  last: number;
  count: number;
  data: Uint8Array;
}

/** Bounds SQLite compares exactly (±Infinity stand for "no bound" in JS). */
const sqlBound = (x: number): number => Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, x));

/**
 * The read side of the chunks, its statements prepared once.
 *
 * @example
 * ```ts
 * import { openHistoryDb } from "./schema.ts";
 * const reader = new ChunkReader(openHistoryDb(":memory:"));
 * reader.stream("m1", "temperature"); // undefined: never written
 * ```
 */
export class ChunkReader {
  readonly #stream: StatementSync;
  readonly #streamsOf: StatementSync;
  readonly #selectRange: StatementSync;
  readonly #newestFirst: StatementSync;

  /** Prepares the reads on `db`, which has the current schema (see schema.ts). */
  constructor(db: DatabaseSync) {
    this.#stream = db.prepare(`SELECT id, floor FROM streams WHERE machine = ? AND channel = ?`);
    this.#streamsOf = db.prepare(`SELECT id, floor FROM streams WHERE machine = ?`);
    // A chunk holds times from `first` to `last`: those two bound which chunks can hold a range.
    // Unordered: SQLite would sort the rows, BLOBs and all, to give them by `seq`; the caller
    // sorts the decoded chunks instead (see #inRange).
    this.#selectRange = db.prepare(
      `SELECT seq, data FROM chunks WHERE stream = ? AND last >= ? AND first <= ?`,
    );
    this.#newestFirst = db.prepare(
      `SELECT seq, last, count, data FROM chunks WHERE stream = ? AND last >= ? AND first <= ?
       ORDER BY last DESC, seq DESC`,
    );
  }

  /** The stream of `machine` and `channel`, if it was ever written. */
  stream(machine: string, channel: string): StreamRef | undefined {
    const row = this.#stream.get(machine, channel) as
      | { id: number; floor: number | null }
      | undefined;
    return row && { id: row.id, floor: row.floor ?? -Infinity };
  }

  /** Whether any row of `machine` is stored (a stream may hold only flags of no reading). */
  hasMachine(machine: string): boolean {
    const streams = this.#streamsOf.all(machine) as { id: number; floor: number | null }[];
    for (const { id, floor } of streams) {
      const from = floor ?? -Infinity;
      // Newest first: the newest chunk almost always holds a row.
      for (const { data } of this.#select(id, { lo: from, hi: Infinity })) {
        const c = decodeChunk(data);
        for (let i = 0; i < c.length; i++) if (c.time[i]! >= from && creates(c, i)) return true;
      }
    }
    return false;
  }

  /** The stream's rows in `range`, oldest first. */
  range(s: StreamRef, range: TimeRange): StoredRow[] {
    const r = this.#clamped(s, range);
    const rows = new StreamRows();
    for (const c of this.#inRange(s.id, r)) applyChunk(rows, c, r, -Infinity);
    return rows.sorted();
  }

  /**
   * The times and values of the stream's rows in `range`, oldest first: what `/analytics`
   * needs, without a row object per time where the entries in range came in strictly
   * increasing time order (the live engine's), each then a row of its own.
   */
  values(s: StreamRef, range: TimeRange): { time: number[]; value: number[] } {
    const r = this.#clamped(s, range);
    const chunks = this.#inRange(s.id, r);
    const time: number[] = [], value: number[] = [];
    let prev = -Infinity;
    for (const c of chunks) {
      for (let i = 0; i < c.length; i++) {
        const t = c.time[i]!;
        if (t < r.lo || t > r.hi) continue;
        if (t <= prev) return this.#valuesOf(chunks, r);
        prev = t;
        if (creates(c, i)) {
          time.push(t);
          value.push(c.value[i]!);
        }
      }
    }
    return { time, value };
  }

  /** {@linkcode values} by applying every entry (times repeated or out of order). */
  #valuesOf(chunks: Chunk[], r: TimeRange): { time: number[]; value: number[] } {
    const rows = new StreamRows();
    for (const c of chunks) applyChunk(rows, c, r, -Infinity);
    const sorted = rows.sorted();
    return { time: sorted.map((x) => x.time), value: sorted.map((x) => x.value) };
  }

  /**
   * The newest `n` of the stream's rows in `range` that `keep` accepts, oldest first. Chunks are
   * walked from the newest `last` down: once the walk reaches a chunk whose `last` is L, every
   * entry later than L has been seen (it lies in a chunk whose `last` is later), so the rows
   * later than L are final; the walk stops when they are enough.
   */
  newest(
    s: StreamRef,
    range: TimeRange,
    n: number,
    keep: (row: StoredRow) => boolean = () => true,
  ): StoredRow[] {
    const r = this.#clamped(s, range);
    const seen: Selected[] = [];
    // Rows are checked once the entries seen could make `n` rows, then each time they doubled:
    // a walk costs at most about twice the entries it needs.
    let entries = 0, check = n;
    for (const c of this.#select(s.id, r)) {
      if (entries >= check) {
        const rows = applyAll(seen, r, c.last).filter(keep);
        if (rows.length >= n) return rows.slice(rows.length - n);
        check = entries * 2;
      }
      seen.push(c);
      entries += c.count;
    }
    const rows = applyAll(seen, r, -Infinity).filter(keep);
    return rows.slice(Math.max(0, rows.length - n));
  }

  /**
   * The anomaly flags of the newest `n` of the stream's rows before `before` that have results
   * (a threshold), oldest first: what an anomaly-ratio ring starts from. A row's threshold and
   * flag are those of the last result entry at its time (no other kind sets them), so only
   * result entries are looked at, without a row object each: a stream holding none is walked
   * through once, as the version-2 query walked its index.
   */
  recentFlags(s: StreamRef, before: number, n: number): (0 | 1)[] {
    const r = this.#clamped(s, { lo: -Infinity, hi: before, open: true });
    // By time: the last result entry there (its chunk's seq and index), threshold and flag.
    const last = new Map<number, { seq: number; i: number; threshold: number; flag: 0 | 1 }>();
    let check = n;
    const flags = (above: number): (0 | 1)[] | undefined => {
      const times: number[] = [];
      for (const [t, e] of last) if (t > above && !Number.isNaN(e.threshold)) times.push(t);
      if (times.length < n && above !== -Infinity) return undefined;
      times.sort((a, b) => a - b);
      return times.slice(Math.max(0, times.length - n)).map((t) => last.get(t)!.flag);
    };
    for (const c of this.#select(s.id, r)) {
      // Rows later than this chunk's `last` are final (see `newest`).
      if (last.size >= check) {
        const done = flags(c.last);
        if (done !== undefined) return done;
        check = last.size * 2;
      }
      const chunk = decodeChunk(c.data);
      for (let i = 0; i < chunk.length; i++) {
        if (chunk.kind[i] !== KIND.result) continue;
        const t = chunk.time[i]!;
        if (t < r.lo || t >= r.hi) continue;
        const e = last.get(t);
        if (e !== undefined && (e.seq > c.seq || (e.seq === c.seq && e.i > i))) continue;
        const flag = chunk.anomaly[i] === 1 ? 1 : 0;
        last.set(t, { seq: c.seq, i, threshold: chunk.threshold[i]!, flag });
      }
    }
    return flags(-Infinity)!;
  }

  /** The decoded chunks that may hold times in `r`, in write order. */
  #inRange(stream: number, r: TimeRange): Chunk[] {
    const rows = this.#selectRange.all(stream, sqlBound(r.lo), sqlBound(r.hi)) as {
      seq: number;
      data: Uint8Array;
    }[];
    return rows.sort((a, b) => a.seq - b.seq).map((row) => decodeChunk(row.data));
  }

  #select(stream: number, r: TimeRange): Iterable<Selected> {
    return this.#newestFirst.iterate(stream, sqlBound(r.lo), sqlBound(r.hi)) as Iterable<Selected>;
  }

  /** `range` without the times below the stream's floor (retention deleted them). */
  #clamped(s: StreamRef, range: TimeRange): TimeRange {
    return { lo: Math.max(range.lo, s.floor), hi: range.hi, open: range.open };
  }
}

/** Applies, in write order, the entries of `chunks` in `r` and later than `above`. */
function applyAll(chunks: Selected[], r: TimeRange, above: number): StoredRow[] {
  const rows = new StreamRows();
  for (const c of [...chunks].sort((a, b) => a.seq - b.seq)) {
    applyChunk(rows, decodeChunk(c.data), r, above);
  }
  return rows.sorted();
}

/** Applies the entries of `c` in `r` and later than `above`, in order. */
function applyChunk(rows: StreamRows, c: Chunk, r: TimeRange, above: number): void {
  const lo = Math.max(r.lo, above), hi = r.hi;
  for (let i = 0; i < c.length; i++) {
    const t = c.time[i]!;
    // `t > above` and not `>=`: the rows at `above` itself may have entries not yet seen.
    if (t < lo || t === above || t > hi || (r.open && t === hi)) continue;
    rows.apply(c, i);
  }
}
