/**
 * The MQTT source's delivery bookkeeping in typed arrays: the latest delivery of each packet id
 * (to recognise a redelivery) and the acknowledgements waiting for their lines to be committed.
 * As objects in a `Map` and an array they were about 6.5 MiB of live heap after 65,536 packet ids
 * had been used (an object, a boxed hash and a table slot each), which the old generation then
 * doubled at the peak of a flood; as tables indexed by packet id they are 1 MiB, allocated once,
 * and a message allocates nothing here (BENCHMARKS.md "Memory").
 * @module
 */

/** Packet ids are 16 bits, 1…65535 (MQTT 5 §2.2.1): every table is indexed by them. */
const PACKET_IDS = 65536;

/** What {@linkcode SeenDeliveries.state} says of a packet id. */
export const SEEN = {
  /** No delivery recorded under the id. */
  none: 0,
  /** Read whole: a redelivery is dropped. */
  whole: 1,
  /** Partly written before a restart: a redelivery is read from line `position` on. */
  partial: 2,
} as const;

/**
 * The latest delivery of each packet id: its topic-and-payload hash and the lines its readings
 * took, `[start, start + lines)`. Fixed size (about 1 MiB): one slot per possible packet id.
 *
 * @example
 * ```ts
 * import { SEEN, SeenDeliveries } from "./delivery_tables.ts";
 *
 * const seen = new SeenDeliveries();
 * seen.set(7, 0xdeadbeef, 100, 3, SEEN.whole);
 * seen.state(7) === SEEN.whole && seen.hash(7) === 0xdeadbeef && seen.end(7) === 103;
 * ```
 */
export class SeenDeliveries {
  readonly #hash = new Uint32Array(PACKET_IDS);
  // Lines are counted for the life of a data directory: past 2³² they still fit a double.
  readonly #start = new Float64Array(PACKET_IDS);
  readonly #lines = new Uint32Array(PACKET_IDS);
  readonly #state = new Uint8Array(PACKET_IDS);

  /** Records the delivery of packet `id` (replacing the id's earlier one). */
  set(id: number, hash: number, start: number, lines: number, state: number): void {
    this.#hash[id] = hash;
    this.#start[id] = start;
    this.#lines[id] = lines;
    this.#state[id] = state;
  }

  /**
   * Takes the delivery journal's records (oldest first, four numbers each: packet id, hash, first
   * line, readings; see `ack_journal.ts`), the log holding `position` lines: a message whose
   * readings are all in it is `whole`; one with some is `partial`, with `start` put where a
   * redelivery's first `position - start` readings are those already written; one with none is
   * forgotten (a redelivery is read as new). A message read partly before a restart has a record
   * per run, the later ones for its rest (same hash, fewer readings): what the earlier ones wrote
   * counts too, also when the later ones wrote nothing.
   */
  load(records: readonly number[], position: number): void {
    // Per packet id: the hash and readings of its latest message's first record (576 KiB, for
    // the length of the load).
    const chainHash = new Uint32Array(PACKET_IDS);
    const total = new Uint32Array(PACKET_IDS);
    const known = new Uint8Array(PACKET_IDS);
    for (let i = 0; i + 3 < records.length; i += 4) {
      const id = records[i]!, hash = records[i + 1]!, start = records[i + 2]!;
      const lines = records[i + 3]!;
      const rest = known[id] === 1 && chainHash[id] === hash && lines < total[id]!;
      if (!rest) {
        known[id] = 1;
        chainHash[id] = hash;
        total[id] = lines;
      }
      if (start + lines <= position) {
        this.set(id, hash, start, lines, SEEN.whole);
        continue;
      }
      // Written before this record: the readings its message's earlier records put in the log.
      const written = (rest ? total[id]! - lines : 0) + Math.max(0, position - start);
      if (written === 0) this.set(id, hash, 0, 0, SEEN.none);
      else this.set(id, hash, position - written, lines, SEEN.partial);
    }
  }

  /** One of {@linkcode SEEN}'s values. */
  state(id: number): number {
    return this.#state[id]!;
  }

  /** The hash recorded for `id` (meaningful when its state is not `none`). */
  hash(id: number): number {
    return this.#hash[id]!;
  }

  /** The first line of `id`'s readings. */
  start(id: number): number {
    return this.#start[id]!;
  }

  /** The line after `id`'s last reading. */
  end(id: number): number {
    return this.#start[id]! + this.#lines[id]!;
  }
}

/** Acknowledgements a queue holds at first; it doubles as needed. */
const FIRST_ACKS = 1024;

/**
 * Acknowledgements due once a line is committed, oldest first: a ring of packet ids and the
 * line after each message's readings. Holds one entry per message read and not yet
 * acknowledged, which the broker's window bounds (about `receiveMaximum`, twice that seen from
 * mosquitto); it starts at 1,024 and doubles when full.
 *
 * @example
 * ```ts
 * import { AckQueue } from "./delivery_tables.ts";
 *
 * const acks = new AckQueue();
 * acks.push(1, 10);
 * acks.push(2, 20);
 * const ids: number[] = [];
 * acks.shift(acks.countUpTo(15), (id) => ids.push(id)); // ids is [1]
 * acks.length; // 1
 * ```
 */
export class AckQueue {
  #ids = new Uint16Array(FIRST_ACKS);
  #ends = new Float64Array(FIRST_ACKS);
  #head = 0;
  /** Entries held. */
  length = 0;

  /** Appends the acknowledgement of packet `id`, due once line `end` is committed. */
  push(id: number, end: number): void {
    if (this.length === this.#ids.length) this.#grow();
    const i = (this.#head + this.length) & (this.#ids.length - 1);
    this.#ids[i] = id;
    this.#ends[i] = end;
    this.length++;
  }

  /** The number of leading entries whose `end` is at most `line`: those due. */
  countUpTo(line: number): number {
    const mask = this.#ids.length - 1;
    let n = 0;
    while (n < this.length && this.#ends[(this.#head + n) & mask]! <= line) n++;
    return n;
  }

  /** Removes the `n` oldest entries (at most `length`), calling `each` with their ids in order. */
  shift(n: number, each: (id: number) => void): void {
    const mask = this.#ids.length - 1;
    for (let k = 0; k < n; k++) each(this.#ids[(this.#head + k) & mask]!);
    this.#head = (this.#head + n) & mask;
    this.length -= n;
  }

  /** Drops every entry (their connection is gone: the broker delivers them again). */
  clear(): void {
    this.#head = 0;
    this.length = 0;
  }

  #grow(): void {
    const size = this.#ids.length * 2;
    const ids = new Uint16Array(size);
    const ends = new Float64Array(size);
    for (let k = 0; k < this.length; k++) {
      const i = (this.#head + k) & (this.#ids.length - 1);
      ids[k] = this.#ids[i]!;
      ends[k] = this.#ends[i]!;
    }
    this.#ids = ids;
    this.#ends = ends;
    this.#head = 0;
  }
}

/**
 * Delivery records not yet in the journal, flat (`[id, hash, start, lines, …]`, as
 * `DeliveryJournal.append` takes them), in one buffer reused from one batch to the next: a
 * number array per batch, grown by `push`, was 6 % of a live engine's garbage (BENCHMARKS.md,
 * "The live MQTT path's JavaScript and garbage"). The records between two batches are at most the window's messages
 * (`receiveMaximum`: none is acknowledged before it is journaled); the buffer doubles when full
 * and keeps its size.
 *
 * @example
 * ```ts
 * import { PendingDeliveries } from "./delivery_tables.ts";
 *
 * const pending = new PendingDeliveries();
 * pending.push(1, 0xabcdef, 0, 1);
 * Array.from(pending.view()); // [1, 11259375, 0, 1]
 * pending.clear();
 * pending.length; // 0
 * ```
 */
export class PendingDeliveries {
  #buf = new Float64Array(4096);
  #length = 0;

  /** Records held. */
  get length(): number {
    return this.#length >> 2;
  }

  /** Appends one record. */
  push(id: number, hash: number, start: number, lines: number): void {
    let buf = this.#buf;
    const at = this.#length;
    if (at + 4 > buf.length) {
      const grown = new Float64Array(buf.length * 2);
      grown.set(buf);
      this.#buf = buf = grown;
    }
    buf[at] = id;
    buf[at + 1] = hash;
    buf[at + 2] = start;
    buf[at + 3] = lines;
    this.#length = at + 4;
  }

  /** The records, flat: a view, valid until the next `push` or `clear`. */
  view(): Float64Array {
    return this.#buf.subarray(0, this.#length);
  }

  /** Drops every record. */
  clear(): void {
    this.#length = 0;
  }
}
