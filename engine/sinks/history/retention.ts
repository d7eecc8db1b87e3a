/**
 * Retention of the history file: the newest `retention` readings per machine and channel are
 * kept, the older ones deleted at the flush that passed the limit. Finding the cut-off reading
 * from the newest end costs a walk over `retention` rows of the stream (about 10 ms at 100,000),
 * which, once every stream of a live engine is full, would be due for every stream at every
 * flush: so each stream's row count is counted once (bounded by `retention + 1`) and then kept
 * up to date by adding what each flush wrote, and while it is exact the rows beyond `retention`
 * are cut from the oldest end, a walk over only those (microseconds).
 *
 * A count stays exact while each flush brings a stream only rows newer than any it holds, at
 * distinct times (the live engine's readings): each of those is a new row. A flush that may
 * have replaced rows instead (a repeated or older timestamp, a row or event upsert) leaves an
 * upper bound, and the cut is then found from the newest end, as the count is exact again after
 * it.
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

/** What is known of one stream's rows in the file. */
interface Held {
  /** Rows it holds: exactly when `exact`, else at most. */
  rows: number;
  exact: boolean;
  /** Its newest time, or later (a later bound only makes a flush look less certain). */
  newest: number;
}

/** A stream written since the last {@linkcode Retention.apply}. */
interface Touched {
  machine: string;
  channel: string;
  /** Rows written (an upsert may have added none). */
  rows: number;
  /** Oldest and newest time written. */
  first: number;
  last: number;
  /** Whether the rows were written at distinct times, in one run (each is new if newer than
   * what the stream held). */
  distinct: boolean;
}

/**
 * Deletes what retention no longer keeps, inside the caller's transaction.
 *
 * @example
 * ```ts
 * import { openHistoryDb } from "./schema.ts";
 * const retention = new Retention(openHistoryDb(":memory:"), 100_000, 4096);
 * retention.wrote("m1", "temperature", 1, 0); // after writing a reading of m1/temperature at 0
 * retention.apply(); // deletes m1/temperature's readings beyond the newest 100,000
 * ```
 */
export class Retention {
  readonly #keep: number;
  readonly #maxStreams: number;
  /** Per stream (`machine \0 channel`): what is known of its rows. */
  #held = new Map<string, Held>();
  /** Streams written since the last {@linkcode apply}. */
  #touched = new Map<string, Touched>();
  readonly #count: StatementSync;
  readonly #newest: StatementSync;
  readonly #cutoff: StatementSync;
  readonly #deleteBefore: StatementSync;
  readonly #deleteOldest: StatementSync;

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
    this.#newest = db.prepare(
      `SELECT time FROM readings WHERE machine = ? AND channel = ? ORDER BY time DESC LIMIT 1`,
    );
    this.#cutoff = db.prepare(
      `SELECT time FROM readings WHERE machine = ? AND channel = ?
       ORDER BY time DESC LIMIT 1 OFFSET ?`,
    );
    this.#deleteBefore = db.prepare(
      `DELETE FROM readings WHERE machine = ? AND channel = ? AND time <= ?`,
    );
    this.#deleteOldest = db.prepare(
      `DELETE FROM readings WHERE machine = ?1 AND channel = ?2 AND time <=
         (SELECT time FROM readings WHERE machine = ?1 AND channel = ?2
          ORDER BY time ASC LIMIT 1 OFFSET ?3)`,
    );
  }

  /**
   * Notes that `rows` rows of the stream were written (an upsert may have added none), at times
   * from `first` to `last`; `distinct` when they were one run at distinct times.
   */
  wrote(
    machine: string,
    channel: string,
    rows: number,
    first: number,
    last = first,
    distinct = false,
  ): void {
    const key = `${machine}\u0000${channel}`;
    const t = this.#touched.get(key);
    if (t) {
      // Written twice in one flush: no longer known to be all new.
      t.rows += rows;
      t.first = Math.min(t.first, first);
      t.last = Math.max(t.last, last);
      t.distinct = false;
    } else this.#touched.set(key, { machine, channel, rows, first, last, distinct });
  }

  /**
   * Deletes, in every stream written since the last call that may hold more than `keep` rows,
   * the rows older than its newest `keep`. Run inside the transaction of the writes; if that
   * transaction is rolled back, call {@linkcode forget}.
   */
  apply(): void {
    for (const [key, t] of this.#touched) {
      let held = this.#held.get(key);
      if (held === undefined) {
        // A stream not counted yet, with the map full: forget the others (each is counted
        // again when next written), so memory stays bounded whatever the number of streams.
        if (this.#held.size >= this.#maxStreams) this.#held.clear();
        // Counted after this flush's writes, so they are in the count already.
        held = this.#counted(t.machine, t.channel);
      } else if (held.exact && t.distinct && t.first > held.newest) {
        held.rows += t.rows; // each row newer than the stream's newest: a new one
        held.newest = t.last;
      } else {
        held.rows += t.rows;
        held.exact = false;
        held.newest = Math.max(held.newest, t.last);
      }
      if (held.rows > this.#keep) {
        if (held.exact) {
          this.#deleteOldest.run(t.machine, t.channel, held.rows - this.#keep - 1);
          held.rows = this.#keep;
        } else {
          const cut = this.#cutoff.get(t.machine, t.channel, this.#keep) as
            | { time: number }
            | undefined;
          if (cut) this.#deleteBefore.run(t.machine, t.channel, cut.time);
          // Without a cut-off the stream held no more than `keep` after all (upserts that
          // replaced rows): count it, so the next flush does not walk it again.
          held = cut ? { ...held, rows: this.#keep, exact: true } : this.#counted(
            t.machine,
            t.channel,
          );
        }
      }
      this.#held.set(key, held);
    }
    this.#touched.clear();
  }

  /**
   * Forgets every count and touched stream: after a rolled-back transaction the counts may be
   * short of what the file holds (its deletes were undone), and a short count would skip a
   * deletion. The touched streams are dropped with the writes that were rolled back.
   */
  forget(): void {
    this.#held.clear();
    this.#touched.clear();
  }

  /**
   * The stream's rows, counted up to `keep + 1` (enough to know whether to cut; exact below
   * that), and its newest time.
   */
  #counted(machine: string, channel: string): Held {
    const rows = (this.#count.get(machine, channel, this.#keep + 1) as { n: number }).n;
    const newest = this.#newest.get(machine, channel) as { time: number } | undefined;
    return { rows, exact: rows <= this.#keep, newest: newest?.time ?? -Infinity };
  }
}
