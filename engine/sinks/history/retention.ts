/**
 * Retention of the history file: the newest `retention` rows (distinct times) per machine and
 * channel are kept, exactly, after every flush. A stream's chunks are cut whole from the oldest
 * end, and its `floor` in `streams` (the oldest time kept) hides the older entries of the chunk
 * that straddles it, so that chunk is not rewritten at each flush; the floor is written only
 * when it changes, with what retention knows of the stream (streams.ts) so that a restart
 * starts from it.
 *
 * Counting a stream's rows means decoding all its chunks, so each stream's count is counted
 * once and then kept up to date: a row exists at a time exactly when an entry that creates
 * one was written there (none is ever removed above the floor), so a flush adds the times newer
 * than the stream's newest row, none for a time equal to it, and for an older time (a late or
 * repeated reading) looks up the chunks that may hold that time. Only more than
 * {@linkcode MAX_LOOKUPS} such times in one flush make the count an upper bound, and the
 * stream is counted again once that bound passes `retention` (exact again after it).
 *
 * The cut: while a stream's entries above the floor came in time order, it walks its oldest
 * chunks by `last`; otherwise its chunks by `first`, taking times once no chunk left can hold an
 * older one. Either reads about the chunks it cuts, not the stream, and keeps the next
 * {@linkcode KNOWN_OLDEST} times past the new floor, from which the next cuts of a stream at full
 * retention take theirs without reading its oldest chunk (of up to hundreds of KiB) each flush.
 *
 * An entry older than the floor of a stream holding `retention` rows is cut as it arrives (it
 * is the oldest): the floor hides it. A stream holding fewer (the file reopened with a larger
 * retention) is rewritten without its floor first, so that such an entry is kept.
 *
 * Small chunks (one per flush: a stream of one value a second flushed each second) are merged,
 * see {@linkcode Merger}.
 *
 * Past ~400 lines: a stream's count, its floor, the cut and the state kept for a restart change
 * together at every flush; apart, each would have to know the others' invariants.
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { decodeChunk, type EntryColumns, rowChunks } from "./chunk_codec.ts";
import type { StreamState } from "./streams.ts";
import { creates, StreamRows } from "./stream_rows.ts";

/**
 * Most distinct times older than a stream's newest row that one flush may bring and keep its
 * count exact: each is looked up in the chunks that may hold it. A flush with more (a backfill)
 * makes the count an upper bound instead.
 */
export const MAX_LOOKUPS = 64;

/**
 * Times past a cut's new floor that it keeps in memory (`StreamState.oldest`): the next cuts of
 * a stream at full retention take their floor from them rather than read its oldest chunk (up
 * to hundreds of KiB) at every flush.
 */
const KNOWN_OLDEST = 64;

/**
 * What retention did, for tests: full counts (each decodes a whole stream), cuts by `first`
 * and lookups of an older time.
 */
export const retentionStats = { counts: 0, cutsByFirst: 0, lookups: 0 };

/**
 * For tests: when `check` is set, each planned flush also counts the stream from its chunks
 * and throws if what retention keeps of it (rows, newest, last, late above the floor) differs.
 */
export const retentionCheck = { check: false };

const orNull = (x: number): number | null => Number.isFinite(x) ? x : null;

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
  #cuts = new Set<StreamState>();
  /** Streams whose state is to be written to `streams` at {@linkcode apply}. */
  #dirty = new Set<StreamState>();
  readonly #bySeq: StatementSync;
  readonly #after: StatementSync;
  readonly #oldestFirst: StatementSync;
  readonly #byFirst: StatementSync;
  readonly #data: StatementSync;
  readonly #holding: StatementSync;
  readonly #deleteBelow: StatementSync;
  readonly #deleteAll: StatementSync;
  readonly #setState: StatementSync;
  readonly #insert: StatementSync;
  readonly #streamMaxSeq: StatementSync;

  /** @param keep rows kept per stream. */
  constructor(db: DatabaseSync, keep: number) {
    this.#keep = keep;
    this.#bySeq = db.prepare(`SELECT data FROM chunks WHERE stream = ? ORDER BY seq`);
    this.#after = db.prepare(
      `SELECT seq, data FROM chunks INDEXED BY chunks_by_stream WHERE stream = ? AND seq > ?
       ORDER BY seq`,
    );
    this.#oldestFirst = db.prepare(`SELECT data FROM chunks WHERE stream = ? ORDER BY last, seq`);
    this.#byFirst = db.prepare(
      `SELECT seq, first FROM chunks INDEXED BY chunks_by_stream WHERE stream = ?
       ORDER BY first, seq`,
    );
    this.#data = db.prepare(`SELECT data FROM chunks WHERE seq = ?`);
    this.#holding = db.prepare(
      `SELECT data FROM chunks WHERE stream = ? AND last >= ? AND first <= ? AND seq < ?`,
    );
    this.#deleteBelow = db.prepare(`DELETE FROM chunks WHERE stream = ? AND last < ?`);
    this.#deleteAll = db.prepare(`DELETE FROM chunks WHERE stream = ?`);
    this.#setState = db.prepare(
      `UPDATE streams SET floor = ?, rows = ?, newest = ?, last = ?, late = ?, known = ?
       WHERE id = ?`,
    );
    this.#streamMaxSeq = db.prepare(
      `SELECT coalesce(max(seq), 0) AS seq FROM chunks WHERE stream = ?`,
    );
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
    if (s.behind !== undefined) this.#catchUp(s);
    let below = false;
    for (const i of at) if (c.time[i]! < s.floor) below = true;
    if (below) {
      if (!s.exact) this.#count(s);
      if (s.rows < keep) this.#unfloor(s);
    }
    this.#advance(s, c, at, Number.MAX_SAFE_INTEGER);
    if (s.rows > keep) {
      const excess = s.rows - keep;
      let floor: number | undefined;
      if (s.exact && s.oldest.length > excess) {
        // The rows' oldest times, known from an earlier cut: no chunk read.
        floor = s.oldest[excess]!;
        s.oldest = s.oldest.slice(excess);
      } else {
        floor = !s.exact
          ? this.#count(s, c, at)
          : s.late < s.floor
          ? this.#oldestKept(s, c, at, excess)
          : this.#oldestByFirst(s, c, at, excess);
      }
      if (floor !== undefined) {
        s.floor = floor;
        s.rows = keep;
        this.#cuts.add(s);
        this.#dirty.add(s);
      }
    }
    if (retentionCheck.check && s.exact) {
      const copy = { ...s };
      const [saved, counts] = [new Set(this.#dirty), retentionStats.counts];
      const out = { sorted: new Float64Array() };
      this.#count(copy, c, at, out);
      s.oldest.forEach((t, k) => {
        if (t !== out.sorted[k]) throw new Error(`CHECK oldest[${k}]: ${t} vs ${out.sorted[k]}`);
      });
      [this.#dirty, retentionStats.counts] = [saved, counts];
      // `late` only matters at or above the floor.
      copy.late = copy.late < s.floor ? -Infinity : copy.late;
      const late = s.late < s.floor ? -Infinity : s.late;
      for (const k of ["rows", "newest", "last"] as const) {
        if (!Object.is(copy[k], s[k])) throw new Error(`CHECK ${k}: ${s[k]} vs counted ${copy[k]}`);
      }
      if (late !== copy.late) throw new Error(`CHECK late: ${late} vs counted ${copy.late}`);
    }
    return at.some((i) => c.time[i]! >= s.floor);
  }

  /** Marks the stream's state to be written at {@linkcode apply} (its chunks were merged). */
  touched(s: StreamState): void {
    this.#dirty.add(s);
  }

  /**
   * Deletes the chunks below the floors that rose in this flush, and writes those floors and
   * the state of the streams changed. Run after the flush's chunks are written (in the same
   * transaction); if that transaction is rolled back, call {@linkcode forget}.
   */
  apply(): void {
    for (const s of this.#cuts) this.#deleteBelow.run(s.id, s.floor);
    if (this.#dirty.size > 0) {
      // A stream's state covers its own chunks up to its newest: the table's newest would not
      // do, as SQLite gives a new chunk the table's largest seq plus one, and after a cut
      // deleted the chunk on top another stream's next chunk can get a seq at or below it.
      for (const s of this.#dirty) {
        const known = (this.#streamMaxSeq.get(s.id) as { seq: number }).seq;
        const exact = s.exact && s.behind === undefined;
        this.#setState.run(
          orNull(s.floor),
          exact ? s.rows : null,
          exact ? orNull(s.newest) : null,
          exact ? orNull(s.last) : null,
          exact ? orNull(s.late) : null,
          exact ? known : null,
          s.id,
        );
      }
    }
    this.#cuts.clear();
    this.#dirty.clear();
  }

  /** Drops the planned cuts (their transaction was rolled back). */
  forget(): void {
    this.#cuts.clear();
    this.#dirty.clear();
  }

  /**
   * Brings a stream read back from `streams` up to date with its chunks written after the
   * state stored there (`behind`), applying them in write order.
   */
  #catchUp(s: StreamState): void {
    const after = s.behind!;
    s.behind = undefined;
    for (
      const { seq, data } of this.#after.all(s.id, after) as { seq: number; data: Uint8Array }[]
    ) {
      const chunk = decodeChunk(data);
      this.#advance(s, chunk, Array.from({ length: chunk.length }, (_, k) => k), seq);
    }
  }

  /**
   * Adds the entries `at` of `c` to what is known of the stream's rows, as if written after its
   * chunks before `seq` (the stored chunks that may already hold their times).
   */
  #advance(s: StreamState, c: EntryColumns, at: ArrayLike<number>, seq: number): void {
    let last = s.last, late = s.late, newest = s.newest;
    // Times that create a row: newer than the newest row, and older (which may have one).
    const newer: number[] = [], older: number[] = [];
    let sorted = true;
    for (let k = 0; k < at.length; k++) {
      const i = at[k]!;
      const t = c.time[i]!;
      if (t < s.floor) continue;
      if (t < last) {
        if (t > late) late = t;
      } else last = t;
      if (!creates(c, i)) continue;
      if (t > s.newest) {
        if (newer.length > 0 && t < newer[newer.length - 1]!) sorted = false;
        newer.push(t);
        if (t > newest) newest = t;
      } else if (t < s.newest) {
        older.push(t);
        // It may make a row among the oldest known: they are found again at the next cut.
        s.oldest = [];
      }
      // At the newest row's own time: that row exists, no new one.
    }
    let added = distinct(newer, sorted);
    if (older.length > 0) {
      const times = new Set(older);
      if (s.exact && times.size <= MAX_LOOKUPS) {
        for (const t of times) if (!this.#holds(s, t, seq)) added++;
      } else {
        s.exact = false;
        added += times.size;
      }
    }
    s.rows += added;
    s.newest = newest;
    s.last = last;
    s.late = late;
  }

  /** Whether the stream's chunks before `seq` hold an entry that made a row at time `t`. */
  #holds(s: StreamState, t: number, seq: number): boolean {
    retentionStats.lookups++;
    for (const { data } of this.#holding.iterate(s.id, t, t, seq)) {
      const chunk = decodeChunk(data as Uint8Array);
      for (let i = 0; i < chunk.length; i++) {
        if (chunk.time[i] === t && creates(chunk, i)) return true;
      }
    }
    return false;
  }

  /**
   * Counts the stream's rows from its chunks, and the entries `at` of `c` about to be written;
   * returns the new floor when there are more than `keep` (the caller then keeps `keep`).
   */
  #count(
    s: StreamState,
    c?: EntryColumns,
    at: readonly number[] = [],
    out?: { sorted: Float64Array },
  ): number | undefined {
    retentionStats.counts++;
    const times = new Set<number>();
    let last = -Infinity, late = -Infinity;
    const take = (col: EntryColumns, i: number) => {
      const t = col.time[i]!;
      if (t < s.floor) return;
      if (t < last) {
        if (t > late) late = t;
      } else last = t;
      if (creates(col, i)) times.add(t);
    };
    for (const { data } of this.#bySeq.iterate(s.id)) {
      const chunk = decodeChunk(data as Uint8Array);
      for (let i = 0; i < chunk.length; i++) take(chunk, i);
    }
    if (c) { for (const i of at) take(c, i); }
    const sorted = Float64Array.from(times).sort();
    if (out) out.sorted = sorted;
    Object.assign(s, {
      rows: sorted.length,
      exact: true,
      newest: sorted.length > 0 ? sorted[sorted.length - 1]! : -Infinity,
      last,
      late,
    });
    this.#dirty.add(s);
    if (sorted.length <= this.#keep) {
      s.oldest = [];
      return undefined;
    }
    const from = sorted.length - this.#keep;
    s.oldest = Array.from(sorted.subarray(from, from + 1 + KNOWN_OLDEST));
    return sorted[from]!;
  }

  /**
   * The time of the oldest row kept once the `excess` oldest are cut, in a stream whose
   * entries came in time order: its chunks by `last` then hold them oldest first, and the
   * entries `at` of `c` follow.
   */
  #oldestKept(s: StreamState, c: EntryColumns, at: readonly number[], excess: number): number {
    // The times from the new floor on, up to KNOWN_OLDEST more, to spare the next cuts a read.
    const kept: number[] = [];
    let cut = 0, prev = NaN;
    const take = (col: EntryColumns, i: number): boolean => {
      const t = col.time[i]!;
      if (t < s.floor || t === prev || !creates(col, i)) return false;
      prev = t;
      if (cut < excess) cut++;
      else kept.push(t);
      return kept.length > KNOWN_OLDEST;
    };
    walk: for (const { data } of this.#oldestFirst.iterate(s.id)) {
      const chunk = decodeChunk(data as Uint8Array);
      // The oldest chunk straddles the floor: its entries below it first, skipped cheaply.
      const time = chunk.time, floor = s.floor;
      let i = 0;
      while (i < chunk.length && time[i]! < floor) i++;
      for (; i < chunk.length; i++) if (take(chunk, i)) break walk;
      // The times walked so far are all the oldest (the walk is in time order).
      if (kept.length > 0) break;
    }
    if (kept.length === 0) { for (const i of at) if (take(c, i)) break; }
    s.oldest = kept;
    return kept[0]!;
  }

  /**
   * {@linkcode oldestKept} in a stream whose entries did not come in time order: its chunks by
   * `first` (and the entries `at` of `c`, as one more), decoded until no chunk left can hold a
   * time older than the `excess + 1` oldest seen.
   */
  #oldestByFirst(s: StreamState, c: EntryColumns, at: readonly number[], excess: number): number {
    retentionStats.cutsByFirst++;
    const chunks = this.#byFirst.all(s.id) as { seq: number; first: number }[];
    let batchFirst = Infinity;
    for (const i of at) {
      const t = c.time[i]!;
      if (t >= s.floor && t < batchFirst) batchFirst = t;
    }
    // The `excess + 1` oldest distinct times seen, oldest first: the last is the answer once
    // no chunk left can hold an older time.
    const want = excess + 1;
    const oldest = new SmallestTimes(want + KNOWN_OLDEST);
    const take = (col: EntryColumns, n: number, index: (k: number) => number) => {
      for (let k = 0; k < n; k++) {
        const i = index(k);
        const t = col.time[i]!;
        if (t >= s.floor && creates(col, i)) oldest.add(t);
      }
    };
    let batchTaken = false;
    for (let k = 0; k <= chunks.length; k++) {
      const next = k < chunks.length ? chunks[k]!.first : Infinity;
      if (!batchTaken && batchFirst <= next) {
        take(c, at.length, (j) => at[j]!);
        batchTaken = true;
      }
      const found = oldest.nth(want, next);
      if (found !== undefined) {
        s.oldest = oldest.from(want, next);
        return found;
      }
      if (k === chunks.length) break;
      const chunk = decodeChunk((this.#data.get(chunks[k]!.seq) as { data: Uint8Array }).data);
      take(chunk, chunk.length, (j) => j);
    }
    throw new Error("history retention: fewer rows than counted"); // the count was exact
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
    const newest = sorted.length > 0 ? sorted[sorted.length - 1]!.time : -Infinity;
    Object.assign(s, {
      floor: -Infinity,
      rows: sorted.length,
      exact: true,
      newest,
      last: newest,
      late: -Infinity,
      oldest: [],
    });
    // Its chunks were rewritten: nothing older is left to merge. (Its own newest, as for
    // `known` in apply(): the table's can be a seq a later chunk of another stream reuses.)
    const seq = (this.#streamMaxSeq.get(s.id) as { seq: number }).seq;
    Object.assign(s, {
      small: 0,
      smallEntries: 0,
      smallFrom: seq,
      mid: 0,
      midEntries: 0,
      midFrom: seq,
    });
    this.#dirty.add(s);
  }
}

/**
 * The `cap` smallest distinct times added: kept sorted by insertion while `cap` is small (a
 * cut of a few rows, each flush), else collected and sorted when asked.
 */
class SmallestTimes {
  readonly #cap: number;
  #times: number[] = [];
  readonly #small: boolean;

  constructor(cap: number) {
    this.#cap = cap;
    this.#small = cap <= 256;
  }

  add(t: number): void {
    const a = this.#times;
    if (!this.#small) {
      a.push(t);
      return;
    }
    if (a.length === this.#cap && t >= a[a.length - 1]!) return;
    let k = a.length;
    while (k > 0 && a[k - 1]! > t) k--;
    if (k > 0 && a[k - 1] === t) return;
    a.splice(k, 0, t);
    if (a.length > this.#cap) a.pop();
  }

  /** The `n`-th smallest distinct time (1-based), if it is below `bound` (all below it seen). */
  nth(n: number, bound: number): number | undefined {
    if (!this.#small) {
      this.#times = [...new Set(this.#times)].sort((a, b) => a - b).slice(0, this.#cap);
    }
    const t = this.#times[n - 1];
    return t !== undefined && t < bound ? t : undefined;
  }

  /** The times from the `n`-th smallest (1-based) on that are below `bound`, after `nth`. */
  from(n: number, bound: number): number[] {
    const out: number[] = [];
    for (let k = n - 1; k < this.#times.length && this.#times[k]! < bound; k++) {
      out.push(this.#times[k]!);
    }
    return out;
  }
}

/** Distinct values of `times` (sorted when `sorted`). */
function distinct(times: number[], sorted: boolean): number {
  if (!sorted) return new Set(times).size;
  let n = 0, prev = NaN;
  for (const t of times) {
    if (t !== prev) n++;
    prev = t;
  }
  return n;
}
