/**
 * Merging of a stream's small chunks. A flush writes one chunk per stream, so a stream of one
 * value a second flushed each second gets a chunk per value: a row, a BLOB and an index entry
 * per value again, which made its file and its reads (decoding chunk by chunk) cost more than
 * the one-row-per-value table of schema version 2. Its newest chunks are therefore merged in
 * two steps: {@linkcode MERGE_RUN} chunks (or {@linkcode MERGE_ENTRIES} entries) into one,
 * and as many of those into one of up to about {@linkcode MERGE_ENTRIES} entries. Each value is
 * so written at most three times. The chunks merged are the stream's newest, so their
 * concatenation in write order, written as a new chunk (a later `seq`), keeps what the stream's
 * entries mean (stream_rows.ts). A chunk of {@linkcode MERGE_ENTRIES} entries or more is left
 * as written.
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { type Chunk, decodeChunk, encodeChunk, type EntryColumns } from "./chunk_codec.ts";
import type { StreamState } from "./streams.ts";

/** Chunks merged into one. */
export const MERGE_RUN = 64;
/** Entries past which a run of chunks is merged even if shorter, and a chunk is left alone. */
export const MERGE_ENTRIES = 4096;

/**
 * Merges the newest chunks of streams, inside the caller's transaction.
 *
 * @example
 * ```ts
 * import { openHistoryDb } from "./schema.ts";
 * import { StreamIndex } from "./streams.ts";
 * const db = openHistoryDb(":memory:");
 * const merger = new Merger(db);
 * merger.wrote(new StreamIndex(db, 16).get("m1", "t"), 1, 0); // false: nothing merged yet
 * ```
 */
export class Merger {
  readonly #after: StatementSync;
  readonly #delete: StatementSync;
  readonly #insert: StatementSync;

  /** Prepares the statements on `db`, which has the current schema (see schema.ts). */
  constructor(db: DatabaseSync) {
    // By the stream's index: SQLite would otherwise take every chunk after `seq` by the rowid.
    this.#after = db.prepare(
      `SELECT data FROM chunks INDEXED BY chunks_by_stream WHERE stream = ? AND seq > ?
       ORDER BY seq`,
    );
    this.#delete = db.prepare(
      `DELETE FROM chunks WHERE seq IN
         (SELECT seq FROM chunks INDEXED BY chunks_by_stream WHERE stream = ? AND seq > ?)`,
    );
    this.#insert = db.prepare(
      `INSERT INTO chunks (stream, first, last, count, data) VALUES (?, ?, ?, ?, ?) RETURNING seq`,
    );
  }

  /**
   * Notes that a chunk of `count` entries was written to `s` in this flush, whose newest chunk
   * has `seq` `newest` or less, and merges its newest chunks when they are due. Returns whether
   * it merged (the stream's state is then to be written again: its chunks' `seq` changed).
   */
  wrote(s: StreamState, count: number, newest: number): boolean {
    if (count >= MERGE_ENTRIES) {
      // Left as written; the smaller ones before it stay as they are.
      Object.assign(s, { small: 0, smallEntries: 0, smallFrom: newest });
      Object.assign(s, { mid: 0, midEntries: 0, midFrom: newest });
      return false;
    }
    s.small++;
    s.smallEntries += count;
    if (s.small < MERGE_RUN && !(s.small > 1 && s.smallEntries >= MERGE_ENTRIES)) return false;
    const n = this.#merge(s, s.smallFrom);
    s.small = s.smallEntries = 0;
    s.mid++;
    s.midEntries += n.count;
    s.smallFrom = n.seq;
    if (s.mid >= MERGE_RUN || (s.mid > 1 && s.midEntries >= MERGE_ENTRIES)) {
      const m = this.#merge(s, s.midFrom);
      Object.assign(s, { mid: 0, midEntries: 0, midFrom: m.seq, smallFrom: m.seq });
    } else if (n.count >= MERGE_ENTRIES) {
      Object.assign(s, { mid: 0, midEntries: 0, midFrom: n.seq });
    }
    return true;
  }

  /**
   * Replaces the stream's chunks after `after` (a `seq`) by one holding their entries at or
   * above its floor, in write order; returns its `seq` (`after` when none is left) and count.
   */
  #merge(s: StreamState, after: number): { seq: number; count: number } {
    const chunks: Chunk[] = [];
    let n = 0;
    for (const { data } of this.#after.iterate(s.id, after)) {
      const c = decodeChunk(data as Uint8Array);
      chunks.push(c);
      for (let i = 0; i < c.length; i++) if (c.time[i]! >= s.floor) n++;
    }
    this.#delete.run(s.id, after);
    if (n === 0) return { seq: after, count: 0 };
    const all = concat(chunks, n, s.floor);
    let first = Infinity, last = -Infinity;
    for (const t of all.time) {
      if (t < first) first = t;
      if (t > last) last = t;
    }
    const at = new Uint32Array(n);
    for (let k = 0; k < n; k++) at[k] = k;
    const seq = (this.#insert.get(s.id, first, last, n, encodeChunk(all, at, n)) as {
      seq: number;
    }).seq;
    mergeStats.merges++;
    return { seq, count: n };
  }
}

/** Merges done, for tests. */
export const mergeStats = { merges: 0 };

/** The `n` entries at or above `floor` of `chunks`, in order, as one set of columns. */
function concat(chunks: readonly Chunk[], n: number, floor: number): EntryColumns {
  const out: EntryColumns = {
    kind: new Uint8Array(n),
    time: new Float64Array(n),
    value: new Float64Array(n),
    mean: new Float64Array(n),
    std: new Float64Array(n),
    zscore: new Float64Array(n),
    threshold: new Float64Array(n),
    ratio: new Float64Array(n),
    anomaly: new Uint8Array(n),
    event: new Uint8Array(n),
  };
  const columns = Object.keys(out) as (keyof EntryColumns)[];
  let k = 0;
  for (const c of chunks) {
    let whole = true;
    for (let i = 0; i < c.length; i++) if (c.time[i]! < floor) whole = false;
    if (whole) {
      for (const col of columns) (out[col] as Float64Array).set(c[col] as Float64Array, k);
      k += c.length;
      continue;
    }
    for (let i = 0; i < c.length; i++) {
      if (c.time[i]! < floor) continue;
      for (const col of columns) out[col][k] = c[col][i]!;
      k++;
    }
  }
  return out;
}
