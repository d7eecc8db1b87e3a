/**
 * The writer's view of the `streams` table: each (machine, channel)'s id, retention floor and
 * what retention knows of its rows, kept in memory so that a flush costs no lookup per stream.
 * Bounded by `maxStreams`, like the other per-stream maps; a stream not held costs one SELECT
 * (and one INSERT when it is new) at its next flush.
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
  /**
   * Whether its entries at or above the floor were written in non-decreasing time order, so
   * that its chunks by `last` hold its times oldest first (retention then cuts from that end).
   */
  ordered: boolean;
  /** Its newest row time, and newest entry time (any kind), at or above the floor. */
  newest: number;
  last: number;
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

  /** @param maxStreams streams held; beyond it all are forgotten and looked up again. */
  constructor(db: DatabaseSync, maxStreams: number) {
    this.#maxStreams = maxStreams;
    this.#select = db.prepare(`SELECT id, floor FROM streams WHERE machine = ? AND channel = ?`);
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
    const stored = this.#select.get(machine, channel) as
      | { id: number; floor: number | null }
      | undefined;
    // A stored stream's rows are at most its entries (summed without decoding its chunks):
    // retention counts them (decoding) only once that bound passes `retention`, so a restart
    // on a file of young streams decodes nothing.
    const s: StreamState = stored
      ? {
        id: stored.id,
        floor: stored.floor ?? -Infinity,
        rows: (this.#entries.get(stored.id) as { n: number }).n,
        exact: false,
        ordered: false,
        newest: -Infinity,
        last: -Infinity,
      }
      : {
        id: (this.#insert.get(machine, channel) as { id: number }).id,
        floor: -Infinity,
        rows: 0,
        exact: true,
        ordered: true,
        newest: -Infinity,
        last: -Infinity,
      };
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
