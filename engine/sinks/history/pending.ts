/**
 * The history sink's buffer of writes not yet committed, held column by column: a typed array
 * per number and one array per string column, instead of an object per buffered value. At the
 * live engine's rate the buffer holds tens of thousands of values between flushes; as objects
 * they cost about 230 bytes each (every number a boxed heap number) and garbage at every flush;
 * as columns, 75 bytes a slot (59 in typed arrays, two 8-byte string references), in arrays
 * reused from flush to flush (bench/history_bench.ts, BENCHMARKS.md).
 * @module
 */

/** What a buffered entry writes (see `HistoryWriter`): its `kind` column. */
export const KIND = {
  /** A reading's value with all its results. */
  result: 0,
  /** A reading's value alone. */
  reading: 1,
  /** A processed row's moving average and z-score. */
  row: 2,
  /** An anomaly event's flag. */
  anomaly: 3,
} as const;

/** One of {@linkcode KIND}'s values. */
export type Kind = typeof KIND[keyof typeof KIND];

/**
 * Entries the columns hold at first; they double as needed up to the flush bound given to the
 * constructor, and beyond it (a batch may overshoot the bound before the flush it forces) by an
 * eighth at a time.
 */
const FIRST_CAPACITY = 1024;

/**
 * Buffered history writes, in arrival order, one column per field. A number column holds NaN
 * where the entry has no value (null): every nullable field is stored only when finite, so
 * NaN never stands for a value. `value` is stored as given (a reading's value).
 *
 * @example
 * ```ts
 * const pending = new PendingWrites();
 * pending.push(KIND.reading, "m1", "temperature", 0, 21.5);
 * pending.length; // 1
 * PendingWrites.nullable(pending.mean[0]!); // null
 * pending.clear();
 * ```
 */
export class PendingWrites {
  /** Entries held. */
  length = 0;
  /**
   * The flush bound (`maxPending`): the columns grow to it exactly rather than to the next power
   * of two. At the live engine's default of 50,000, 65,536 slots would hold 0.9 MiB that a
   * flush never uses (the MQTT flood fills the buffer to the bound: BENCHMARKS.md, "Live peak RSS
   * under the MQTT flood").
   */
  readonly #bound: number;
  kind = new Uint8Array(FIRST_CAPACITY);
  machine: string[] = [];
  channel: string[] = [];
  time = new Float64Array(FIRST_CAPACITY);
  value = new Float64Array(FIRST_CAPACITY);
  mean = new Float64Array(FIRST_CAPACITY);
  std = new Float64Array(FIRST_CAPACITY);
  zscore = new Float64Array(FIRST_CAPACITY);
  threshold = new Float64Array(FIRST_CAPACITY);
  ratio = new Float64Array(FIRST_CAPACITY);
  anomaly = new Uint8Array(FIRST_CAPACITY);
  event = new Uint8Array(FIRST_CAPACITY);

  /** Columns for `bound` entries at most before a flush (more are taken, in steps of an eighth). */
  constructor(bound = Infinity) {
    this.#bound = bound;
  }

  /** A stored nullable number back as the entry gave it: NaN is null. */
  static nullable(x: number): number | null {
    return Number.isNaN(x) ? null : x;
  }

  /**
   * Appends an entry; the fields it does not have are NaN (null) and 0. Returns its index, to
   * set the other fields.
   */
  push(kind: Kind, machine: string, channel: string, time: number, value: number): number {
    const i = this.length;
    if (i === this.kind.length) this.#grow();
    this.kind[i] = kind;
    this.machine[i] = machine;
    this.channel[i] = channel;
    this.time[i] = time;
    this.value[i] = value;
    this.mean[i] = NaN;
    this.std[i] = NaN;
    this.zscore[i] = NaN;
    this.threshold[i] = NaN;
    this.ratio[i] = NaN;
    this.anomaly[i] = 0;
    this.event[i] = 0;
    this.length = i + 1;
    return i;
  }

  /** Drops every entry; the columns keep their size for the next ones. */
  clear(): void {
    this.length = 0;
    // The string columns keep their slots too (overwritten by the next entries): emptied, a
    // column of 50,000 slots was grown again from nothing at every flush, through V8's
    // large-object space, which lifted the live engine's peak RSS (BENCHMARKS.md, "Live peak RSS
    // at 400,000 readings: what varies"). What they hold until then are machine ids and channel
    // names, which the engine's state keeps anyway.
  }

  #grow(): void {
    const length = this.kind.length;
    const size = length < this.#bound
      ? Math.min(length * 2, this.#bound)
      : length + Math.max(length >> 3, 1);
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    const u8 = (a: Uint8Array) => {
      const b = new Uint8Array(size);
      b.set(a);
      return b;
    };
    this.kind = u8(this.kind);
    this.time = f64(this.time);
    this.value = f64(this.value);
    this.mean = f64(this.mean);
    this.std = f64(this.std);
    this.zscore = f64(this.zscore);
    this.threshold = f64(this.threshold);
    this.ratio = f64(this.ratio);
    this.anomaly = u8(this.anomaly);
    this.event = u8(this.event);
  }
}
