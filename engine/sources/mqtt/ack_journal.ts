/**
 * The MQTT source's delivery journal (`mqtt_deliveries.jsonl` in the data directory): which
 * message (packet id and a hash of topic and payload) became which lines of
 * `stream_output.jsonl`. The source acknowledges a message only once its readings are in that
 * file and checkpointed, so a `kill -9` leaves some written messages unacknowledged; the broker
 * delivers them again (DUP flag set) to the next run, which finds them here and drops them.
 *
 * Past ~400 lines: the file's format, its compaction and the record table it is read into and
 * written from are one concern, each rule of one needing the others (the hashes apart).
 * @module
 */
import { writeAllSync } from "../../core/write_all.ts";
import { ByteText, SAFE_INTEGER_ROOM, writeSafeInteger } from "../../formats/byte_text.ts";

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
 * {@linkcode deliveryHash} of the topic and the payload's bytes (`payload[from, to)`), without decoding them, when every
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
export function deliveryHashOfAscii(
  topic: string,
  payload: Uint8Array,
  from = 0,
  to = payload.length,
): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) h = Math.imul(h ^ topic.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 10, 0x01000193);
  let high = 0;
  for (let i = from; i < to; i++) {
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
 * most 131,070 records before a compaction. In memory they take one buffer of 18 bytes a record
 * sized to that bound once (2.3 MiB, 2.8 with a compaction's scratch; its pages resident only as
 * records fill them) and compacted in place: no copy while it grows or compacts (see
 * {@linkcode RecordTable}).
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
  /** An append's line, reused. */
  readonly #line = new ByteText(1 << 12);
  /** The file's records (18 bytes each, not a number array's 32), compacted in place. */
  readonly #table: RecordTable;
  /** Records in the file past which it is compacted. */
  #limit: number;
  /** The table's reserved capacity, which it returns to after a compaction if it had to grow. */
  readonly #bound: number;

  private constructor(path: string, file: Deno.FsFile, table: RecordTable, keep: number) {
    this.path = path;
    this.#file = file;
    this.#table = table;
    this.#keep = keep;
    this.#bound = boundOf(keep);
    // Twice what a compaction would keep now, not twice what was read: a run that appends less
    // than it read (killed early, again and again) would otherwise raise the limit at every start
    // and the file would grow without bound.
    this.#limit = Math.max(4 * keep, 2 * table.latestPerId(false));
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
    // The most it holds between compactions (twice the 65,535 packet ids' latest messages, or
    // `4 × keep`), reserved once.
    const table = new RecordTable(boundOf(keep));
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

  /** Records its buffer holds before it must grow: the bound, unless it read or was given
   * more, until its next compaction. */
  get capacity(): number {
    return this.#table.capacity;
  }

  /**
   * Appends records (one write); past the limit, compacts (see {@linkcode DeliveryJournal}).
   * `records` is read before the promise is returned: its buffer may be reused at once.
   */
  async append(records: ArrayLike<number>): Promise<void> {
    if (records.length === 0) return;
    const table = this.#table;
    if (table.length + records.length / 4 <= this.#limit) {
      table.push(records);
      const line = this.#line;
      line.clear();
      table.writeJson(line, table.length - records.length / 4, table.length);
      writeAllSync(this.#file, line.bytes());
      return;
    }
    // Compact, in place. Without room for the new records, what is held is compacted first: it
    // keeps exactly what compacting it with them would (see RecordTable.latestPerId), so the
    // buffer grows only if the kept records and the new ones together do not fit.
    if (table.length + records.length / 4 > table.capacity) table.latestPerId(true);
    table.push(records);
    table.latestPerId(true);
    table.shrink(this.#bound);
    // The kept records, written beside (a line per 4,096) and renamed over the journal.
    const tmp = `${this.path}.tmp`;
    const out = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      const line = this.#line;
      for (let i = 0; i < table.length; i += 4096) {
        line.clear();
        table.writeJson(line, i, Math.min(table.length, i + 4096));
        writeAllSync(out, line.bytes());
      }
    } finally {
      out.close();
    }
    await Deno.rename(tmp, this.path);
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

/** Packet ids MQTT can give (1…65,535; 0 is unused), and the size of a per-id scratch array. */
const PACKET_IDS = 65536;

/** The most records a journal of window `keep` holds between compactions: twice the packet ids'
 * latest messages, or `4 × keep`. */
function boundOf(keep: number): number {
  return Math.max(4 * keep, 2 * PACKET_IDS);
}

/** What {@linkcode RecordTable.latestPerId} knows of a packet id, walking from the newest record
 * back (0: no record yet): its latest message's records are being kept; or, past them, dropped. */
const ID_OPEN = 1, ID_CLOSED = 2;

/**
 * Delivery records in a typed array per field, all views of one buffer reserved at a given
 * capacity (the journal's bound): 18 bytes a record where a number array takes 32 (its numbers
 * are doubles: the hashes pass 2³⁰), and the per-packet-id scratch of a compaction (576 KiB). The
 * buffer's pages become resident as records fill them, and stay: nothing is copied or dropped
 * while it grows to the bound, and a compaction moves the kept records down inside it. Only more
 * records than the bound (a compaction keeping more than 65,535, the parts of messages read over
 * several restarts; or a journal written with a larger window) replace it by one a quarter larger.
 */
class RecordTable {
  starts!: Float64Array;
  hashes!: Uint32Array;
  lines!: Uint32Array;
  ids!: Uint16Array;
  /** Per packet id during a compaction: its state, and its latest kept record's hash and lines. */
  #idState!: Uint8Array;
  #idHash!: Uint32Array;
  #idLines!: Uint32Array;
  /** Records held. */
  length = 0;

  constructor(capacity: number) {
    this.#reserve(capacity);
  }

  /** Records it holds without replacing its buffer. */
  get capacity(): number {
    return this.ids.length;
  }

  /** Appends flat records (`[id, hash, start, lines, …]`). */
  push(records: ArrayLike<number>): void {
    const n = records.length >> 2;
    if (this.length + n > this.capacity) this.#grow(this.length + n);
    for (let i = 0, k = this.length; i + 3 < records.length; i += 4, k++) {
      this.ids[k] = records[i]!;
      this.hashes[k] = records[i + 1]!;
      this.starts[k] = records[i + 2]!;
      this.lines[k] = records[i + 3]!;
    }
    this.length += n;
  }

  /**
   * Appends records `from` to `to` (exclusive) to `out` as one line: `JSON.stringify` of them
   * flat, and a newline, written without the array and the strings. Both were much of a live
   * engine's garbage (8 %: BENCHMARKS.md, "The live MQTT path's JavaScript and garbage").
   */
  writeJson(out: ByteText, from: number, to: number): void {
    let buf = out.reserve(3);
    let at = out.length;
    buf[at++] = 0x5b; // [
    for (let k = from; k < to; k++) {
      // Room for a record's four numbers and commas, reserved once.
      out.end(at);
      buf = out.reserve(4 * (SAFE_INTEGER_ROOM + 1));
      if (k > from) buf[at++] = 0x2c; // ,
      at = writeSafeInteger(buf, at, this.ids[k]!);
      buf[at++] = 0x2c;
      at = writeSafeInteger(buf, at, this.hashes[k]!);
      buf[at++] = 0x2c;
      // A line number is the one field that is not a typed integer: refused if it is not one.
      at = writeSafeInteger(buf, at, this.starts[k]!);
      if (at < 0) throw new RangeError(`delivery journal: bad start line ${this.starts[k]}`);
      buf[at++] = 0x2c;
      at = writeSafeInteger(buf, at, this.lines[k]!);
    }
    out.end(at);
    buf = out.reserve(2);
    buf[at++] = 0x5d; // ]
    buf[at++] = 0x0a;
    out.end(at);
  }

  /** Records `from` to `to` (exclusive), flat. */
  flat(from = 0, to = this.length): number[] {
    const out: number[] = [];
    for (let k = from; k < to; k++) {
      out.push(this.ids[k]!, this.hashes[k]!, this.starts[k]!, this.lines[k]!);
    }
    return out;
  }

  /**
   * How many records are those of each packet id's latest message; with `compact`, keeps only
   * them, in order. Walking back from the newest, a record is kept while it is the id's first, or
   * an earlier record of the same message (same hash, more lines: the message was read partly
   * before a restart and its rest again after, one record each); one with the same hash and as
   * many lines as the last kept is that part read before, its lines cut by a restart before they
   * were written (dropped, the walk goes on). The first record of the id that is none of these
   * belongs to an earlier message, whose PUBACK the broker read before it reused the id: it and
   * every older record of the id are dropped. A message repeated with the same payload under the
   * same id is so not kept twice: its records do not shrink.
   *
   * Compacting the older records first changes nothing: the walk drops a record only once the
   * id's state is closed (then every older one goes too) or on a repeated part (the state stays),
   * and the id's newest older record is kept either way, leaving the state as it found it; so the
   * append that lacks room compacts what is held, then pushes and compacts again.
   */
  latestPerId(compact: boolean): number {
    const state = this.#idState, idHash = this.#idHash, idLines = this.#idLines;
    state.fill(0);
    const { ids, hashes, starts, lines } = this;
    // The kept records are moved to the top, from `w` up: never onto one not yet walked.
    let w = this.length;
    for (let k = this.length - 1; k >= 0; k--) {
      const id = ids[k]!, h = hashes[k]!, n = lines[k]!;
      const s = state[id]!;
      if (s === ID_CLOSED) continue;
      if (s === ID_OPEN) {
        // The same part read again (its earlier record's lines were cut before it was written):
        // only the later counts, the parts before it still do.
        if (idHash[id] === h && n === idLines[id]!) continue;
        if (!(idHash[id] === h && n > idLines[id]!)) {
          state[id] = ID_CLOSED;
          continue;
        }
      }
      state[id] = ID_OPEN;
      idHash[id] = h;
      idLines[id] = n;
      w--;
      if (compact && w !== k) {
        ids[w] = id;
        hashes[w] = h;
        starts[w] = starts[k]!;
        lines[w] = n;
      }
    }
    const kept = this.length - w;
    if (compact && w > 0) {
      ids.copyWithin(0, w, this.length);
      hashes.copyWithin(0, w, this.length);
      starts.copyWithin(0, w, this.length);
      lines.copyWithin(0, w, this.length);
      this.length = kept;
    }
    return kept;
  }

  /** One buffer for `capacity` records and the scratch, 8-byte fields first (aligned). */
  #reserve(capacity: number): void {
    const buffer = new ArrayBuffer(18 * capacity + 9 * PACKET_IDS);
    let at = 0;
    const take = (bytes: number) => (at += bytes) - bytes;
    this.starts = new Float64Array(buffer, take(8 * capacity), capacity);
    this.hashes = new Uint32Array(buffer, take(4 * capacity), capacity);
    this.lines = new Uint32Array(buffer, take(4 * capacity), capacity);
    this.#idHash = new Uint32Array(buffer, take(4 * PACKET_IDS), PACKET_IDS);
    this.#idLines = new Uint32Array(buffer, take(4 * PACKET_IDS), PACKET_IDS);
    this.ids = new Uint16Array(buffer, take(2 * capacity), capacity);
    this.#idState = new Uint8Array(buffer, take(PACKET_IDS), PACKET_IDS);
  }

  /** Past the bound only: a buffer for `needed` records or a quarter more, the records moved. */
  #grow(needed: number): void {
    this.#move(Math.max(needed, this.capacity + (this.capacity >> 2)));
  }

  /**
   * Back to a buffer of `capacity` records when it holds more and its records fit: after a
   * compaction, so that a start that read a file past the bound (written with a larger window,
   * or by a version whose journal grew without bound) does not keep that buffer for the run.
   */
  shrink(capacity: number): void {
    if (this.capacity > capacity && this.length <= capacity) this.#move(capacity);
  }

  /** A buffer for `capacity` records, the records moved into it. */
  #move(capacity: number): void {
    const { starts, hashes, lines, ids, length } = this;
    this.#reserve(capacity);
    this.starts.set(starts.subarray(0, length));
    this.hashes.set(hashes.subarray(0, length));
    this.lines.set(lines.subarray(0, length));
    this.ids.set(ids.subarray(0, length));
  }
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
  const table = new RecordTable(records.length >> 2);
  table.push(records);
  table.latestPerId(true);
  return table.flat();
}
