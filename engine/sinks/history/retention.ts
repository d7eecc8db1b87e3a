/**
 * Retention of the history file: the newest `retention` readings per machine and channel are
 * kept, the older ones deleted at the flush that passed the limit. Finding the cut-off reading
 * costs a walk over up to `retention` rows of the stream, so it is done only for a stream that
 * may hold more than that: each stream's row count is counted once (bounded by
 * `retention + 1`) and then kept up to date by adding what each flush wrote, rather than walked
 * at every flush (which cost a fifth of the write, bench/history_bench.ts).
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

/**
 * Deletes what retention no longer keeps, inside the caller's transaction.
 *
 * @example
 * ```ts
 * import { openHistoryDb } from "./schema.ts";
 * const retention = new Retention(openHistoryDb(":memory:"), 100_000, 4096);
 * retention.wrote("m1", "temperature", 1); // after writing a reading of m1/temperature
 * retention.apply(); // deletes m1/temperature's readings beyond the newest 100,000
 * ```
 */
export class Retention {
  readonly #keep: number;
  readonly #maxStreams: number;
  /** Per stream (`machine \0 channel`): rows it holds at most, counted or added up. */
  #rows = new Map<string, number>();
  /** Streams written since the last {@linkcode apply}, with their rows written. */
  #touched = new Map<string, { machine: string; channel: string; rows: number }>();
  readonly #count: StatementSync;
  readonly #cutoff: StatementSync;
  readonly #deleteBefore: StatementSync;

  /**
   * @param keep readings kept per stream.
   * @param maxStreams streams whose count is kept in memory: beyond it the counts are
   * forgotten, and counted again when their streams are next written (memory stays bounded).
   */
  constructor(db: DatabaseSync, keep: number, maxStreams: number) {
    this.#keep = keep;
    this.#maxStreams = maxStreams;
    this.#count = db.prepare(
      `SELECT count(*) AS n FROM
         (SELECT 1 FROM readings WHERE machine = ? AND channel = ? LIMIT ?)`,
    );
    this.#cutoff = db.prepare(
      `SELECT time FROM readings WHERE machine = ? AND channel = ?
       ORDER BY time DESC LIMIT 1 OFFSET ?`,
    );
    this.#deleteBefore = db.prepare(
      `DELETE FROM readings WHERE machine = ? AND channel = ? AND time <= ?`,
    );
  }

  /** Notes that `rows` rows of the stream were written (an upsert may have added none). */
  wrote(machine: string, channel: string, rows: number): void {
    const key = `${machine}\u0000${channel}`;
    const t = this.#touched.get(key);
    if (t) t.rows += rows;
    else this.#touched.set(key, { machine, channel, rows });
  }

  /**
   * Deletes, in every stream written since the last call that may hold more than `keep` rows,
   * the rows older than its newest `keep`. Run inside the transaction of the writes; if that
   * transaction is rolled back, call {@linkcode forget}.
   */
  apply(): void {
    for (const [key, { machine, channel, rows }] of this.#touched) {
      let held = this.#rows.get(key);
      // A stream not counted yet, with the map full: forget the others (each is counted again
      // when next written), so memory stays bounded whatever the number of streams.
      if (held === undefined && this.#rows.size >= this.#maxStreams) this.#rows.clear();
      // Counted after this flush's writes, so they are in the count already.
      held = held === undefined ? this.#counted(machine, channel) : held + rows;
      if (held > this.#keep) {
        const cut = this.#cutoff.get(machine, channel, this.#keep) as { time: number } | undefined;
        if (cut) this.#deleteBefore.run(machine, channel, cut.time);
        // Without a cut-off the stream held no more than `keep` after all (upserts that
        // replaced rows): count it, so the next flush does not walk it again.
        held = cut ? this.#keep : this.#counted(machine, channel);
      }
      this.#rows.set(key, held);
    }
    this.#touched.clear();
  }

  /**
   * Forgets every count and touched stream: after a rolled-back transaction the counts may be
   * short of what the file holds (its deletes were undone), and a short count would skip a
   * deletion. The touched streams are dropped with the writes that were rolled back.
   */
  forget(): void {
    this.#rows.clear();
    this.#touched.clear();
  }

  /** The stream's rows, counted up to `keep + 1` (enough to know whether to cut). */
  #counted(machine: string, channel: string): number {
    return (this.#count.get(machine, channel, this.#keep + 1) as { n: number }).n;
  }
}
