/**
 * {@linkcode ReadingColumns}: a batch's readings as columns, written by a source that reads them
 * so (a JSONL file's scanner) and read by index by the analyzer and the output writer, with a
 * {@linkcode Reading} object built only for a reader that asks for one. Building two objects per
 * reading (the reading and its channels record) and a heap number per value, only for the
 * analyzer to take them apart again, was most of what a 1 M replay's scanner did above its floor
 * and most of its garbage (BENCHMARKS.md, "The columnar batch").
 * @module
 */
import type { Reading } from "./types.ts";

/** The least room for channel values new columns start with (they grow by doubling). */
const MIN_ENTRIES = 64;

/**
 * Readings as columns: per reading (`0 … length-1`) its time, machine, status and `injected`
 * label; per channel entry (`first[i] … first[i+1]-1` are reading `i`'s, in its channels'
 * order) the channel's name and value. A writer appends readings with
 * {@linkcode ReadingColumns.push} (an object) or by writing a reading's entries at `entries`
 * onwards (after {@linkcode ReadingColumns.reserve}) and then {@linkcode ReadingColumns.add}.
 * A batch's columns stay as they are until the batch is released (`Batch.release`): its source
 * may then clear and refill them for a later batch. Memory: about
 * 29 B a reading and 16 B a channel value (on 64-bit), grown by doubling.
 *
 * @example
 * ```ts
 * import { ReadingColumns } from "./reading_columns.ts";
 *
 * const c = new ReadingColumns();
 * c.push({ timestamp: 0, machine: "m1", status: "RUNNING", channels: { temperature: 21.5 } });
 * c.reserve(1);
 * c.key[c.entries] = "speed";
 * c.value[c.entries] = 1500;
 * c.add(1000, "m2", null, undefined, 1);
 * c.reading(1); // { timestamp: 1000, machine: "m2", status: null, channels: { speed: 1500 } }
 * ```
 */
export class ReadingColumns {
  /** Readings held. */
  length = 0;
  /** Channel entries held. */
  entries = 0;
  /** Per reading: its event time, epoch ms. */
  time: Float64Array;
  /** Per reading: its machine id. */
  readonly machine: string[];
  /** Per reading: its status, null for none. */
  readonly status: (string | null)[];
  /** Per reading: its `injected` label, undefined for none; null while no reading has one
   * (nearly every batch). */
  injected: (string | undefined)[] | null = null;
  /** Per reading and one more: its first channel entry (the next reading's first ends it). */
  first: Int32Array;
  /** Per entry: the channel's name. */
  readonly key: string[];
  /** Per entry: the channel's value. */
  value: Float64Array;
  /** The `injected` column of the batch before the last `clear`, for `labels` to reuse. */
  #spareLabels: (string | undefined)[] | null = null;

  /** Room for `readings` readings of `entries` channel values in all before the columns grow
   * (a source passes its batch size and the previous batch's entries). */
  constructor(readings = 1024, entries = 2 * readings) {
    const n = Math.max(16, Math.ceil(readings));
    const k = Math.max(MIN_ENTRIES, Math.ceil(entries));
    this.time = new Float64Array(n);
    this.first = new Int32Array(n + 1);
    // Sized up front: written by index, they never regrow within a batch of the hinted size.
    this.machine = new Array(n);
    this.status = new Array(n);
    this.key = new Array(k);
    this.value = new Float64Array(k);
  }

  /** Makes room for `n` more entries past `entries`: a writer fills them (`key`, `value`)
   * before {@linkcode ReadingColumns.add} counts them, or leaves them to be overwritten. */
  reserve(n: number): void {
    const need = this.entries + n;
    if (need <= this.value.length) return;
    let size = this.value.length;
    while (size < need) size *= 2;
    const value = new Float64Array(size);
    value.set(this.value);
    this.value = value;
  }

  /** Makes room for `n` more readings past `length`: a writer that fills `time`, `machine`,
   * `status`, `injected` and `first` itself for many readings at once (the WASM scanner's host)
   * and then sets `length` and `entries`, as {@linkcode ReadingColumns.add} would. */
  reserveReadings(n: number): void {
    while (this.length + n > this.time.length) this.#grow();
  }

  /**
   * Appends a reading whose `count` channel values were written at `entries` onwards. Positional,
   * not an object: a scanner calls it once per line.
   */
  add(
    time: number,
    machine: string,
    status: string | null,
    injected: string | undefined,
    count: number,
  ): void {
    const i = this.length;
    if (i === this.time.length) this.#grow();
    this.time[i] = time;
    this.machine[i] = machine;
    this.status[i] = status;
    if (injected !== undefined) (this.injected ?? this.labels(i))[i] = injected;
    else if (this.injected !== null) this.injected[i] = undefined;
    this.entries += count;
    this.first[i + 1] = this.entries;
    this.length = i + 1;
  }

  /** Removes the last reading (a line a writer took, then found it must refuse). */
  pop(): void {
    if (this.length === 0) return;
    this.length--;
    this.entries = this.first[this.length]!;
    if (this.injected !== null) this.injected[this.length] = undefined;
  }

  /** Appends `r` (a reading a parser built). Its values are read by their `for…in` keys: where
   * V8 stores an object's channel fields as doubles (records filled by assignment: the CSV
   * parser's, the simulator's), each read boxes the value into a new heap number. The JSONL
   * scanner's objects have tagged fields (its `tagFields`); the analyzer's own twin that made the
   * others' tagged went with the columnar batch (BENCHMARKS.md, "The columnar batch"). */
  push(r: Reading): void {
    let e = this.entries;
    for (const name in r.channels) {
      if (e === this.value.length) this.reserve(e - this.entries + 1);
      this.key[e] = name;
      this.value[e++] = r.channels[name]!;
    }
    this.add(r.timestamp, r.machine, r.status, r.injected, e - this.entries);
  }

  /** Reading `i` as an object, as the parser makes it (its channels in their order). */
  reading(i: number): Reading {
    const channels: Record<string, number> = {};
    for (let e = this.first[i]!, end = this.first[i + 1]!; e < end; e++) {
      channels[this.key[e]!] = this.value[e]!;
    }
    const r: Reading = {
      timestamp: this.time[i]!,
      machine: this.machine[i]!,
      status: this.status[i] ?? null,
      channels,
    };
    const injected = this.injected?.[i];
    if (injected !== undefined) r.injected = injected;
    return r;
  }

  /** Every reading as an object (see {@linkcode ReadingColumns.reading}). */
  readings(): Reading[] {
    const out: Reading[] = new Array(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.reading(i);
    return out;
  }

  /** Empties the columns to be filled again: a scratch set's (the analyzer's, for readings
   * given as objects), or a released batch's (its source reuses them). */
  clear(): void {
    this.length = 0;
    this.entries = 0;
    if (this.injected !== null) this.#spareLabels = this.injected;
    this.injected = null;
  }

  /**
   * The `injected` column, made when reading `i` is the first with a label: readings before it
   * have none. The array of an earlier batch is reused, its first `i` slots cleared (slots from
   * `i` on are written as readings are added), rather than a new one grown from empty each
   * batch: that growth was about 30 MB of a 1 M replay's 158 MB of garbage (5 % of its
   * readings carry a label).
   */
  labels(i: number): (string | undefined)[] {
    const labels = this.#spareLabels ?? new Array(this.time.length);
    this.#spareLabels = null;
    for (let k = 0; k < i; k++) labels[k] = undefined;
    return this.injected = labels;
  }

  #grow(): void {
    const n = 2 * this.time.length;
    const time = new Float64Array(n);
    time.set(this.time);
    this.time = time;
    const first = new Int32Array(n + 1);
    first.set(this.first);
    this.first = first;
  }
}
