/**
 * Retention of the history file: the newest `retention` rows (distinct times) per machine and
 * channel are kept, exactly, after every flush. A stream's chunks are cut whole from the oldest
 * end, and its `floor` in `streams` (the oldest time kept) hides the older entries of the chunk
 * that straddles it, so that chunk is not rewritten at each flush; the floor is written only
 * when it changes.
 *
 * Counting a stream's rows means decoding all its chunks, so each stream's count is counted
 * once and then kept up to date: a flush that brings only times newer than any the stream
 * holds adds its distinct times (the live engine's readings, O(1) per stream). Otherwise the
 * count becomes an upper bound, and the stream is counted again only once that bound passes
 * `retention`. While a stream's entries came in time order, the cut walks its oldest chunks
 * only; otherwise it takes the count's sorted times.
 *
 * An entry older than the floor of a stream holding `retention` rows is cut as it arrives (it
 * is the oldest): the floor hides it. A stream holding fewer (the file reopened with a larger
 * retention) is rewritten without its floor first, so that such an entry is kept.
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { decodeChunk, type EntryColumns, rowChunks } from "./chunk_codec.ts";
import type { StreamState } from "./streams.ts";
import { creates, StreamRows } from "./stream_rows.ts";

/**
 * Plans, inside the caller's transaction, what each flush's entries do to their streams' rows,
 * and deletes what retention no longer keeps.
 *
 * @example
 * ```ts
 * import { openHistoryDb } from "./schema.ts";
 * import { StreamIndex } from "./streams.ts";
 * import { KIND, PendingWrites } from "./pending.ts";
 * const db = openHistoryDb(":memory:");
 * const retention = new Retention(db, 100_000);
 * const p = new PendingWrites();
 * p.push(KIND.reading, "m1", "temperature", 0, 21.5);
 * retention.plan(new StreamIndex(db, 4096).get("m1", "temperature"), p, [0]); // true: write it
 * retention.apply(); // after the chunks are written
 * ```
 */
export class Retention {
  readonly #keep: number;
  /** Streams whose floor rose in this flush. */
  #cuts: StreamState[] = [];
  readonly #bySeq: StatementSync;
  readonly #oldestFirst: StatementSync;
  readonly #deleteBelow: StatementSync;
  readonly #deleteAll: StatementSync;
  readonly #setFloor: StatementSync;
  readonly #insert: StatementSync;

  /** @param keep rows kept per stream. */
  constructor(db: DatabaseSync, keep: number) {
    this.#keep = keep;
    this.#bySeq = db.prepare(`SELECT data FROM chunks WHERE stream = ? ORDER BY seq`);
    this.#oldestFirst = db.prepare(`SELECT data FROM chunks WHERE stream = ? ORDER BY last, seq`);
    this.#deleteBelow = db.prepare(`DELETE FROM chunks WHERE stream = ? AND last < ?`);
    this.#deleteAll = db.prepare(`DELETE FROM chunks WHERE stream = ?`);
    this.#setFloor = db.prepare(`UPDATE streams SET floor = ? WHERE id = ?`);
    this.#insert = db.prepare(
      `INSERT INTO chunks (stream, first, last, count, data) VALUES (?, ?, ?, ?, ?)`,
    );
  }

  /**
   * Notes that the entries `at` of `c` (in write order) are about to be written to stream `s`,
   * and plans its cut. Returns whether any of them is kept (else the chunk need not be written).
   */
  plan(s: StreamState, c: EntryColumns, at: readonly number[]): boolean {
    const keep = this.#keep;
    let below = false;
    for (const i of at) if (c.time[i]! < s.floor) below = true;
    if (below) {
      if (!s.exact) this.#count(s);
      if (s.rows < keep) this.#unfloor(s);
    }
    // The entries at or above the floor: in order after the stream's? All newer than its rows?
    let inOrder = true, allNewer = true, sorted = true;
    let last = s.last, newest = s.newest, created = 0, distinct = 0, prev = NaN;
    const times: number[] = [];
    for (const i of at) {
      const t = c.time[i]!;
      if (t < s.floor) continue;
      if (t < last) inOrder = false;
      else last = t;
      if (!creates(c, i)) continue;
      created++;
      if (t <= s.newest) allNewer = false;
      if (t < prev) sorted = false;
      else if (t !== prev) distinct++;
      prev = t;
      times.push(t);
      if (t > newest) newest = t;
    }
    if (s.exact && allNewer) s.rows += sorted ? distinct : new Set(times).size;
    else {
      s.exact = false;
      s.rows += created;
    }
    s.ordered &&= inOrder;
    s.newest = newest;
    s.last = last;
    if (s.rows > keep) {
      const floor = s.exact && s.ordered
        ? this.#oldestKept(s, c, at, s.rows - keep)
        : this.#count(s, c, at);
      if (floor !== undefined) {
        s.floor = floor;
        s.rows = keep;
        this.#cuts.push(s);
      }
    }
    return at.some((i) => c.time[i]! >= s.floor);
  }

  /**
   * Deletes the chunks below the floors that rose in this flush and writes those floors. Run
   * after the flush's chunks are written (in the same transaction); if that transaction is
   * rolled back, call {@linkcode forget}.
   */
  apply(): void {
    for (const s of this.#cuts) {
      this.#deleteBelow.run(s.id, s.floor);
      this.#setFloor.run(s.floor, s.id);
    }
    this.#cuts = [];
  }

  /** Drops the planned cuts (their transaction was rolled back). */
  forget(): void {
    this.#cuts = [];
  }

  /**
   * Counts the stream's rows from its chunks, and the entries `at` of `c` about to be written;
   * returns the new floor when there are more than `keep` (the caller then keeps `keep`).
   */
  #count(s: StreamState, c?: EntryColumns, at: readonly number[] = []): number | undefined {
    const times = new Set<number>();
    let ordered = true, last = -Infinity;
    const take = (col: EntryColumns, i: number) => {
      const t = col.time[i]!;
      if (t < s.floor) return;
      if (t < last) ordered = false;
      else last = t;
      if (creates(col, i)) times.add(t);
    };
    for (const { data } of this.#bySeq.iterate(s.id)) {
      const chunk = decodeChunk(data as Uint8Array);
      for (let i = 0; i < chunk.length; i++) take(chunk, i);
    }
    if (c) { for (const i of at) take(c, i); }
    const sorted = Float64Array.from(times).sort();
    Object.assign(s, {
      rows: sorted.length,
      exact: true,
      ordered,
      newest: sorted.length > 0 ? sorted[sorted.length - 1]! : -Infinity,
      last,
    });
    return sorted.length > this.#keep ? sorted[sorted.length - this.#keep]! : undefined;
  }

  /**
   * The time of the oldest row kept once the `excess` oldest are cut, in a stream whose
   * entries came in time order: its chunks by `last` then hold them oldest first, and the
   * entries `at` of `c` follow.
   */
  #oldestKept(s: StreamState, c: EntryColumns, at: readonly number[], excess: number): number {
    let cut = 0, prev = NaN, found: number | undefined;
    const take = (col: EntryColumns, i: number): boolean => {
      const t = col.time[i]!;
      if (t < s.floor || t === prev || !creates(col, i)) return false;
      if (cut === excess) found = t;
      cut++;
      prev = t;
      return found !== undefined;
    };
    walk: for (const { data } of this.#oldestFirst.iterate(s.id)) {
      const chunk = decodeChunk(data as Uint8Array);
      for (let i = 0; i < chunk.length; i++) if (take(chunk, i)) break walk;
    }
    if (found === undefined) { for (const i of at) if (take(c, i)) break; }
    return found!;
  }

  /**
   * Rewrites the stream's chunks as its rows, without a floor: its older entries are gone, and
   * entries older than the old floor may be kept again.
   */
  #unfloor(s: StreamState): void {
    const rows = new StreamRows();
    for (const { data } of this.#bySeq.iterate(s.id)) {
      const chunk = decodeChunk(data as Uint8Array);
      for (let i = 0; i < chunk.length; i++) if (chunk.time[i]! >= s.floor) rows.apply(chunk, i);
    }
    const sorted = rows.sorted();
    this.#deleteAll.run(s.id);
    for (const r of rowChunks(sorted)) this.#insert.run(s.id, r.first, r.last, r.count, r.data);
    this.#setFloor.run(null, s.id);
    const newest = sorted.length > 0 ? sorted[sorted.length - 1]!.time : -Infinity;
    Object.assign(s, {
      floor: -Infinity,
      rows: sorted.length,
      exact: true,
      ordered: true,
      newest,
      last: newest,
    });
  }
}
