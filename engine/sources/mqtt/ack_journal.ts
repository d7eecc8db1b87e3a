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
 * records and twice what the last compaction kept, to the records not yet acknowledged (past the
 * committed line) and the last `keep` acknowledged ones: acknowledgements go out in order, so only
 * the latest ones can have been lost in a crash. (The broker's receive window does not bound what
 * is unacknowledged: mosquitto 2.0 was seen with twice its Receive Maximum in flight.)
 */
export class DeliveryJournal {
  readonly path: string;
  readonly #keep: number;
  #file: Deno.FsFile;
  #records: Deliveries;
  #count: number;
  /** Records in the file past which it is compacted. */
  #limit: number;

  private constructor(path: string, file: Deno.FsFile, records: Deliveries, keep: number) {
    this.path = path;
    this.#file = file;
    this.#records = records;
    this.#count = records.length / 4;
    this.#keep = keep;
    this.#limit = Math.max(4 * keep, 2 * this.#count);
  }

  /**
   * Opens (creating) the journal and reads what it holds. A torn last line (a crash during an
   * append, before the readings it describes went anywhere) is cut off.
   */
  static async open(path: string, keep: number): Promise<DeliveryJournal> {
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const records: Deliveries = [];
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
      for (const v of values) records.push(v);
      start = whole = end + 1;
    }
    const file = await Deno.open(path, { read: true, write: true, create: true });
    await file.truncate(encoder.encode(text.slice(0, whole)).length);
    await file.seek(0, Deno.SeekMode.End);
    return new DeliveryJournal(path, file, records, keep);
  }

  /** The records read on open, oldest first, four numbers each (see {@linkcode Deliveries}). */
  get records(): readonly number[] {
    return this.#records;
  }

  /**
   * Appends records (one write); past the limit, compacts: `committed` is the line below which
   * every message is acknowledged.
   */
  async append(records: readonly number[], committed: number): Promise<void> {
    if (records.length === 0) return;
    for (const v of records) this.#records.push(v);
    this.#count += records.length / 4;
    if (this.#count <= this.#limit) {
      writeAllSync(this.#file, encoder.encode(JSON.stringify(records) + "\n"));
      return;
    }
    // Compact: the kept records in one line, written beside and renamed over the journal.
    let acked = 0;
    const all = this.#records;
    const kept: number[] = [];
    for (let i = all.length - 4; i >= 0; i -= 4) {
      if (all[i + 2]! + all[i + 3]! > committed || acked++ < this.#keep) kept.push(i);
    }
    const keptRecords: Deliveries = [];
    for (let k = kept.length - 1; k >= 0; k--) {
      const i = kept[k]!;
      keptRecords.push(all[i]!, all[i + 1]!, all[i + 2]!, all[i + 3]!);
    }
    this.#records = keptRecords;
    const tmp = `${this.path}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(this.#records) + "\n");
    await Deno.rename(tmp, this.path);
    this.#file.close();
    this.#file = await Deno.open(this.path, { read: true, write: true });
    await this.#file.seek(0, Deno.SeekMode.End);
    this.#count = this.#records.length / 4;
    // Twice what was kept: each record is rewritten about once, however many are pending.
    this.#limit = Math.max(4 * this.#keep, 2 * this.#count);
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
