/**
 * The storage of {@linkcode ReadingValues}, the per-reading kernel results the analyzer hands
 * to the history store: two sets used in turn, grown by doubling, filled by bulk copies of the
 * kernel's output. Apart from the analyzer because its lifetime rules (a set stays valid until
 * the second call after it) are their own concern; the layout is documented on the type.
 * @module
 */
import type { ReadingValues } from "../core/analysis.ts";
import type { KernelOutput } from "../kernels/rolling/kernel_types.ts";

function emptyValues(zThreshold: number): ReadingValues {
  return {
    count: 0,
    first: new Int32Array(0),
    mean: new Float64Array(0),
    std: new Float64Array(0),
    zscore: new Float64Array(0),
    flags: new Uint32Array(0),
    zThreshold,
  };
}

/** Makes room for `entries` entries, keeping the ones already filled (doubling). */
function growValues(v: ReadingValues, entries: number): void {
  if (v.mean.length >= entries) return;
  const size = Math.max(entries, 2 * v.mean.length, 64);
  const grow = (a: Float64Array) => {
    const b = new Float64Array(size);
    b.set(a.subarray(0, v.count));
    return b;
  };
  v.mean = grow(v.mean);
  v.std = grow(v.std);
  v.zscore = grow(v.zscore);
  const flags = new Uint32Array(size);
  flags.set(v.flags.subarray(0, v.count));
  v.flags = flags;
}

/**
 * The two alternating sets of {@linkcode ReadingValues}: {@linkcode ReadingValueSets.begin}
 * once per batch, then {@linkcode ReadingValueSets.append} once per kernel call of it.
 *
 * @example
 * ```ts ignore
 * const sets = new ReadingValueSets(3);
 * const values = sets.begin(readings.length, 3);
 * // for each slice of the batch, after the kernel ran on its n entries:
 * ReadingValueSets.append(values, out, n, entryOf, from, to);
 * ```
 */
export class ReadingValueSets {
  readonly #sets: readonly [ReadingValues, ReadingValues];
  #turn = 0;

  /** Two empty sets; `zThreshold` until the first batch sets its own. */
  constructor(zThreshold: number) {
    this.#sets = [emptyValues(zThreshold), emptyValues(zThreshold)];
  }

  /** The set for the next batch, of `readings` readings, emptied: the other one of last time,
   * so the previous batch's values stay valid while this one is filled. */
  begin(readings: number, zThreshold: number): ReadingValues {
    const values = this.#sets[this.#turn]!;
    this.#turn ^= 1;
    values.count = 0;
    values.zThreshold = zThreshold;
    if (values.first.length < readings) {
      values.first = new Int32Array(Math.max(readings, 2 * values.first.length));
    }
    return values;
  }

  /**
   * Appends one kernel call's `n` entries (`out`, null when there were none) for readings
   * `from … to-1` of the batch, whose first entries in `out` are `entryOf[i - from]` (-1: the
   * reading was refused).
   */
  static append(
    values: ReadingValues,
    out: KernelOutput | null,
    n: number,
    entryOf: ArrayLike<number>,
    from: number,
    to: number,
  ): void {
    // Bulk copies of the kernel's views: one `set` per array and slice, not per reading.
    const base = values.count;
    growValues(values, base + n);
    if (out) {
      values.mean.set(out.mean, base);
      values.std.set(out.std, base);
      values.zscore.set(out.zscore, base);
      values.flags.set(out.flags, base);
    }
    for (let i = from; i < to; i++) {
      const first = entryOf[i - from]!;
      values.first[i] = first === -1 ? -1 : base + first;
    }
    values.count = base + n;
  }
}
