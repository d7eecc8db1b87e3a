/**
 * The writer's view of the `streams` table: each (machine, channel)'s id, retention floor and
 * what retention knows of its rows, kept in memory so that a flush costs no lookup per stream.
 * Bounded by `maxStreams`, like the other per-stream maps; a stream not held costs one SELECT
 * (and one INSERT when it is new) at its next flush.
 *
 * What retention knows is written to `streams` with each change of the floor (and after a
 * count or a merge of chunks, retention.ts), with the `seq` of the newest chunk it covers
 * (`known`): a stream read back starts from it and applies only its chunks written since, so a
 * restart does not decode full streams to count their rows again.
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

/** One stream, as the writer and retention (retention.ts) know it. */
export interface StreamState {
  /** Its id in `streams`, the `stream` of its chunks. */
  readonly id: number;
  /** Its retention floor: entries older than it are deleted (-Infinity: none). */
  floor: number;
  /** Its rows (distinct times at or above the floor): exactly when `exact`, else at most. */
  rows: number;
  exact: boolean;
  /** Its newest row time, and newest entry time (any kind), at or above the floor. */
  newest: number;
  last: number;
  /**
   * The latest time of an entry written after a later one (older than the `last` of its
   * time), -Infinity for none, +Infinity when not known. While it is below the floor, the
   * entries at or above the floor came in non-decreasing time order, so that its chunks by
   * `last` hold its times oldest first (retention then cuts from that end).
   */
  late: number;
  /**
   * Its oldest row times from the floor on (sorted, distinct, none left out before the last),
   * as far as retention's last cut saw them; empty when not known. New rows come after them
   * unless a time older than `newest` comes, which empties it.
   */
  oldest: number[];
  /**
   * The `seq` up to which the above was read from `streams`: its chunks after it are applied
   * before its next flush is planned (undefined: none to apply).
   */
  behind: number | undefined;
  /**
   * Its newest chunks not yet merged (retention.ts, `Merger`): those after `smallFrom` (a
   * `seq`), how many and their entries; and the merged ones after `midFrom`.
   */
  small: number;
  smallEntries: number;
  smallFrom: number;
  mid: number;
  midEntries: number;
  midFrom: number;
}

/** A stream's row in `streams`, as the writer reads it. */
interface StoredStream {
  id: number;
  floor: number | null;
  rows: number | null;
  newest: number | null;
  last: number | null;
  late: number | null;
  known: number | null;
}

/**
 * Streams by machine and channel (two levels of maps, so that no key string is built per
 * buffered value).
 *
 * @example
 * ```ts
 * import { openHistoryDb } from "./schema.ts";
 * const streams = new StreamIndex(openHistoryDb(":memory:"), 4096);
 * streams.get("m1", "temperature").id; // 1, inserted
 * ```
 */
export class StreamIndex {
  readonly #maxStreams: number;
  readonly #byMachine = new Map<string, Map<string, StreamState>>();
  #size = 0;
  readonly #select: StatementSync;
  readonly #insert: StatementSync;
  readonly #entries: StatementSync;
  readonly #maxSeq: StatementSync;

  /** @param maxStreams streams held; beyond it all are forgotten and looked up again. */
  constructor(db: DatabaseSync, maxStreams: number) {
    this.#maxStreams = maxStreams;
    this.#select = db.prepare(
      `SELECT id, floor, rows, newest, last, late, known FROM streams
       WHERE machine = ? AND channel = ?`,
    );
    this.#maxSeq = db.prepare(`SELECT coalesce(max(seq), 0) AS seq FROM chunks`);
    this.#insert = db.prepare(`INSERT INTO streams (machine, channel) VALUES (?, ?) RETURNING id`);
    this.#entries = db.prepare(`SELECT coalesce(sum(count), 0) AS n FROM chunks WHERE stream = ?`);
  }

  /**
   * The stream, inserted into `streams` if it is new: call inside the flush's transaction (a
   * rollback must then be followed by {@linkcode forget}).
   */
  get(machine: string, channel: string): StreamState {
    let channels = this.#byMachine.get(machine);
    const held = channels?.get(channel);
    if (held !== undefined) return held;
    if (this.#size >= this.#maxStreams) this.forget();
    const stored = this.#select.get(machine, channel) as StoredStream | undefined;
    // Chunks written from now on are the stream's newest, which the next merge takes.
    const from = (this.#maxSeq.get() as { seq: number }).seq;
    const merge = {
      small: 0,
      smallEntries: 0,
      smallFrom: from,
      mid: 0,
      midEntries: 0,
      midFrom: from,
    };
    let s: StreamState;
    if (stored === undefined) {
      s = {
        id: (this.#insert.get(machine, channel) as { id: number }).id,
        floor: -Infinity,
        rows: 0,
        exact: true,
        newest: -Infinity,
        last: -Infinity,
        late: -Infinity,
        behind: undefined,
        oldest: [],
        ...merge,
      };
    } else if (stored.known !== null) {
      s = {
        id: stored.id,
        floor: stored.floor ?? -Infinity,
        rows: stored.rows!,
        exact: true,
        newest: stored.newest ?? -Infinity,
        last: stored.last ?? -Infinity,
        late: stored.late ?? -Infinity,
        behind: stored.known,
        oldest: [],
        ...merge,
      };
    } else {
      // Not known: its rows are at most its entries (summed without decoding its chunks), and
      // retention counts them (decoding) only once that bound passes `retention`.
      s = {
        id: stored.id,
        floor: stored.floor ?? -Infinity,
        rows: (this.#entries.get(stored.id) as { n: number }).n,
        exact: false,
        newest: -Infinity,
        last: -Infinity,
        late: Infinity,
        behind: undefined,
        oldest: [],
        ...merge,
      };
    }
    channels = this.#byMachine.get(machine);
    if (channels === undefined) this.#byMachine.set(machine, channels = new Map());
    channels.set(channel, s);
    this.#size++;
    return s;
  }

  /**
   * Forgets every stream: after a rolled-back transaction, ids inserted and floors and counts
   * changed in it are no longer what the file holds.
   */
  forget(): void {
    this.#byMachine.clear();
    this.#size = 0;
  }
}
