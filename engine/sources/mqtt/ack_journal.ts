/**
 * The MQTT source's delivery journal (`mqtt_deliveries.jsonl` in the data directory): which
 * message (packet id and a hash of topic and payload) became which lines of
 * `stream_output.jsonl`. The source acknowledges a message only once its readings are in that
 * file and checkpointed, so a `kill -9` leaves some written messages unacknowledged; the broker
 * delivers them again (DUP flag set) to the next run, which finds them here and drops them.
 * @module
 */
import { writeAllSync } from "../../core/write_all.ts";

/**
 * Delivered messages as flat numbers, four per message (no object per message: the source
 * records one per message received): the MQTT packet id it came with; FNV-1a of topic, a newline
 * and the payload (see {@linkcode deliveryHash}); its first reading's line in
 * `stream_output.jsonl` (0-based); its readings (0 for a payload that only held bad lines). Its
 * readings take the lines `[start, start + lines)`.
 */
export type Deliveries = number[];

/**
 * FNV-1a (32 bits) of a message's topic and payload text: with the packet id, what tells a
 * redelivery from a new message that reuses the id.
 *
 * @example
 * ```ts
 * import { deliveryHash } from "./ack_journal.ts";
 *
 * deliveryHash("plant/m1/telemetry", '{"temperature":20}') !== deliveryHash("plant/m2/telemetry", "");
 * ```
 */
export function deliveryHash(topic: string, payload: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) h = Math.imul(h ^ topic.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 10, 0x01000193);
  for (let i = 0; i < payload.length; i++) h = Math.imul(h ^ payload.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * {@linkcode deliveryHash} of the topic and the payload's bytes, without decoding them, when every
 * byte is ASCII (one byte a char code, so the two hashes are equal and a journal written by either
 * is read by the other); -1 when a byte is not ASCII: then the payload's text must be hashed (a
 * multi-byte character, a bad sequence's U+FFFD or a byte order mark the decoder drops).
 *
 * @example
 * ```ts
 * import { deliveryHash, deliveryHashOfAscii } from "./ack_journal.ts";
 *
 * deliveryHashOfAscii("t", new TextEncoder().encode("{}")) === deliveryHash("t", "{}"); // true
 * deliveryHashOfAscii("t", new TextEncoder().encode("é")); // -1
 * ```
 */
export function deliveryHashOfAscii(topic: string, payload: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) h = Math.imul(h ^ topic.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 10, 0x01000193);
  let high = 0;
  for (let i = 0; i < payload.length; i++) {
    const c = payload[i]!;
    high |= c;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return high >= 0x80 ? -1 : h >>> 0;
}

const encoder = new TextEncoder();

/**
 * An append-only file of delivery records ({@linkcode Deliveries}), one JSON array of flat numbers
 * per append (`[id, hash, start, lines, id, …]`), written before the readings they describe reach
 * the pipeline. Compacted (a temporary file renamed over it) once it holds more than `4 × keep`
 * records and twice what the last compaction kept, to each packet id's latest message: a record is
 * dropped only once a later one shows the broker gave its id to another message, which it does
 * only after it has read the PUBACK of the one before (MQTT 5 §2.2.1). Nothing else tells which
 * PUBACKs the broker read before a crash: one written and committed may still lie unread in its
 * socket (mosquitto 2.0 was seen reading one PUBACK per turn of its loop between a thousand sends,
 * and dropping thousands unread when the connection went), and the broker then delivers that
 * message again. So the journal keeps up to one message per packet id, 65,535 (a file of about
 * 2 MiB). It is compacted once it holds more than twice what a compaction would keep (counted
 * again at each start) and more than `4 × keep`: with the source's default window of 1,000, at
 * most 131,070 records before a compaction; in memory 18 bytes a record, in arrays grown by
 * doubling.
 *
 * A genuinely new message that reuses the packet id and the topic and payload of the id's last
 * recorded one, and is redelivered after a crash before it was journaled, is taken for the old
 * one and dropped: nothing in the id and hash tells them apart. A JSON payload names its times,
 * so that is a repeat; a `kv` payload is stamped on arrival, so that is a lost reading
 * (docs/connectors.md says when).
 */
export class DeliveryJournal {
  readonly path: string;
  readonly #keep: number;
  #file: Deno.FsFile;
  /** The file's records, in typed arrays (18 bytes each, not a number array's 32). */
  #table: RecordTable;
  /** Records in the file past which it is compacted. */
  #limit: number;

  private constructor(path: string, file: Deno.FsFile, table: RecordTable, keep: number) {
    this.path = path;
    this.#file = file;
    this.#table = table;
    this.#keep = keep;
    // Twice what a compaction would keep now, not twice what was read: a run that appends less
    // than it read (killed early, again and again) would otherwise raise the limit at every start
    // and the file would grow without bound.
    this.#limit = Math.max(4 * keep, 2 * countKept(latestPerIdOf(table)));
  }

  /**
   * Opens (creating) the journal and reads what it holds. A torn last line (a crash during an
   * append, before the readings it describes went anywhere) is cut off. `keep`: it is not
   * compacted below `4 × keep` records (the source: its receive window).
   */
  static async open(path: string, keep: number): Promise<DeliveryJournal> {
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const table = new RecordTable();
    let whole = 0;
    for (let start = 0; start < text.length;) {
      const end = text.indexOf("\n", start);
      if (end === -1) break; // torn: its batch never left the source
      let values: unknown;
      try {
        values = JSON.parse(text.slice(start, end));
      } catch {
        break;
      }
      if (!Array.isArray(values) || values.length % 4 !== 0) break;
      table.push(values);
      start = whole = end + 1;
    }
    const file = await Deno.open(path, { read: true, write: true, create: true });
    await file.truncate(encoder.encode(text.slice(0, whole)).length);
    await file.seek(0, Deno.SeekMode.End);
    return new DeliveryJournal(path, file, table, keep);
  }

  /**
   * The records it holds, oldest first, four numbers each (see {@linkcode Deliveries}): a copy,
   * made for the reader of a journal just opened.
   */
  get records(): number[] {
    return this.#table.flat();
  }

  /** Appends records (one write); past the limit, compacts (see {@linkcode DeliveryJournal}). */
  async append(records: readonly number[]): Promise<void> {
    if (records.length === 0) return;
    this.#table.push(records);
    if (this.#table.length <= this.#limit) {
      writeAllSync(this.#file, encoder.encode(JSON.stringify(records) + "\n"));
      return;
    }
    // Compact: the kept records, written beside (a line per 4,096) and renamed over the journal.
    const table = this.#table.kept(latestPerIdOf(this.#table));
    const tmp = `${this.path}.tmp`;
    const out = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      for (let i = 0; i < table.length; i += 4096) {
        const line = table.flat(i, Math.min(table.length, i + 4096));
        writeAllSync(out, encoder.encode(JSON.stringify(line) + "\n"));
      }
    } finally {
      out.close();
    }
    await Deno.rename(tmp, this.path);
    this.#table = table;
    this.#file.close();
    this.#file = await Deno.open(this.path, { read: true, write: true });
    await this.#file.seek(0, Deno.SeekMode.End);
    // Twice what was kept: each record is rewritten about once, however many are kept.
    this.#limit = Math.max(4 * this.#keep, 2 * table.length);
  }

  /** Closes the file. */
  close(): void {
    try {
      this.#file.close();
    } catch {
      // Already closed.
    }
  }
}

/**
 * Delivery records in a typed array per field, growing by doubling: 18 bytes a record where a
 * number array takes 32 (its numbers are doubles: the hashes pass 2³⁰). The journal holds up to
 * twice what a compaction keeps (at most 65,535) or `4 × keep`, whichever is more.
 */
class RecordTable {
  ids = new Uint16Array(1024);
  hashes = new Uint32Array(1024);
  starts = new Float64Array(1024);
  lines = new Uint32Array(1024);
  /** Records held. */
  length = 0;

  /** Appends flat records (`[id, hash, start, lines, …]`). */
  push(records: readonly number[]): void {
    for (let i = 0; i + 3 < records.length; i += 4) {
      this.#add(records[i]!, records[i + 1]!, records[i + 2]!, records[i + 3]!);
    }
  }

  /** Records `from` to `to` (exclusive), flat. */
  flat(from = 0, to = this.length): number[] {
    const out: number[] = [];
    for (let k = from; k < to; k++) {
      out.push(this.ids[k]!, this.hashes[k]!, this.starts[k]!, this.lines[k]!);
    }
    return out;
  }

  /** A new table of the records whose flag is set, in order. */
  kept(flags: Uint8Array): RecordTable {
    const t = new RecordTable();
    for (let k = 0; k < this.length; k++) {
      if (flags[k] === 1) t.#add(this.ids[k]!, this.hashes[k]!, this.starts[k]!, this.lines[k]!);
    }
    return t;
  }

  #add(id: number, hash: number, start: number, lines: number): void {
    if (this.length === this.ids.length) this.#grow();
    const k = this.length++;
    this.ids[k] = id;
    this.hashes[k] = hash;
    this.starts[k] = start;
    this.lines[k] = lines;
  }

  #grow(): void {
    const size = this.ids.length * 2;
    const ids = new Uint16Array(size), hashes = new Uint32Array(size);
    const starts = new Float64Array(size), lines = new Uint32Array(size);
    ids.set(this.ids);
    hashes.set(this.hashes);
    starts.set(this.starts);
    lines.set(this.lines);
    this.ids = ids;
    this.hashes = hashes;
    this.starts = starts;
    this.lines = lines;
  }
}

/** How many records `flags` (from {@linkcode latestPerIdOf}) keeps. */
function countKept(flags: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < flags.length; i++) n += flags[i]!;
  return n;
}

/** What {@linkcode latestPerIdOf} knows of a packet id, walking from the newest record back (0: no
 * record yet): its latest message's records are being kept; or, past them, dropped. */
const ID_OPEN = 1, ID_CLOSED = 2;

/**
 * Which records of `table` (1: kept) are those of each packet id's latest message: walking back
 * from the newest, a record is kept while it is the id's first, or an earlier record of the same
 * message (same hash, more lines: the message was read partly before a restart and its rest again
 * after, one record each); one with the same hash and as many lines as the last kept is that part
 * read before, its lines cut by a restart before they were written (dropped, the walk goes on).
 * The first record of the id that is none of these belongs to an earlier message, whose PUBACK the
 * broker read before it reused the id: it and every older record of the id are dropped. A message
 * repeated with the same payload under the same id is so not kept twice: its records do not
 * shrink.
 */
function latestPerIdOf(table: RecordTable): Uint8Array {
  // A state, a hash and a count of readings per possible packet id (576 KiB), for the length of
  // a compaction.
  const state = new Uint8Array(65536);
  const hash = new Uint32Array(65536);
  const lines = new Uint32Array(65536);
  const flags = new Uint8Array(table.length);
  for (let k = table.length - 1; k >= 0; k--) {
    const id = table.ids[k]!, h = table.hashes[k]!, n = table.lines[k]!;
    const s = state[id]!;
    if (s === ID_CLOSED) continue;
    if (s === ID_OPEN) {
      // The same part read again (its earlier record's lines were cut before it was written):
      // only the later counts, the parts before it still do.
      if (hash[id] === h && n === lines[id]!) continue;
      if (!(hash[id] === h && n > lines[id]!)) {
        state[id] = ID_CLOSED;
        continue;
      }
    }
    state[id] = ID_OPEN;
    hash[id] = h;
    lines[id] = n;
    flags[k] = 1;
  }
  return flags;
}

/**
 * The records (flat, oldest first) of each packet id's latest message, as the journal keeps them
 * when it compacts: see {@linkcode DeliveryJournal}.
 *
 * @example
 * ```ts
 * import { latestPerId } from "./ack_journal.ts";
 *
 * // Packet id 7 carried message 0xa, then (acknowledged) 0xb: only 0xb is kept.
 * latestPerId([7, 0xa, 0, 1, 8, 0xc, 1, 1, 7, 0xb, 2, 1]); // [8, 0xc, 1, 1, 7, 0xb, 2, 1]
 * ```
 */
export function latestPerId(records: readonly number[]): Deliveries {
  const table = new RecordTable();
  table.push(records);
  return table.kept(latestPerIdOf(table)).flat();
}
