/**
 * A fixed-capacity table of numeric columns: pushing into a full buffer overwrites the oldest
 * row, so a chart's memory stays the same however long the page is open.
 */
export class RingBuffer {
  /**
   * @param {number} capacity rows kept (a positive integer)
   * @param {number} columns numbers per row (a positive integer)
   */
  constructor(capacity, columns) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
    if (!Number.isInteger(columns) || columns < 1) {
      throw new RangeError(`columns must be a positive integer, got ${columns}`);
    }
    this.capacity = capacity;
    /** @type {Float64Array[]} NaN marks a missing value (drawn as a gap). */
    this.cols = Array.from({ length: columns }, () => new Float64Array(capacity));
    this.start = 0;
    this.length = 0;
  }

  /** Removes every row. */
  clear() {
    this.start = 0;
    this.length = 0;
  }

  /** Appends a row (missing trailing values are NaN), dropping the oldest when full. */
  push(/** @type {number[]} */ values) {
    let at;
    if (this.length < this.capacity) {
      at = (this.start + this.length) % this.capacity;
      this.length++;
    } else {
      at = this.start;
      this.start = (this.start + 1) % this.capacity;
    }
    for (let c = 0; c < this.cols.length; c++) this.cols[c][at] = values[c] ?? NaN;
  }

  /** Slot of the row `i` rows from the oldest. */
  #slot(/** @type {number} */ i) {
    return (this.start + i) % this.capacity;
  }

  /** Value of column `col` in row `i` (0 = oldest). */
  get(/** @type {number} */ col, /** @type {number} */ i) {
    return this.cols[col][this.#slot(i)];
  }

  /** Sets column `col` of row `i` (0 = oldest). */
  set(/** @type {number} */ col, /** @type {number} */ i, /** @type {number} */ value) {
    this.cols[col][this.#slot(i)] = value;
  }

  /**
   * The index of the newest row whose column 0 (time) is at most `t`, or -1: anomaly marks and
   * processed rows arrive after their reading and are placed by time.
   */
  findAtOrBefore(/** @type {number} */ t) {
    for (let i = this.length - 1; i >= 0; i--) if (this.get(0, i) <= t) return i;
    return -1;
  }

  /**
   * The rows whose column 0 is at least `from`, as one plain array per column (null for NaN),
   * the shape uPlot draws.
   */
  toArrays(/** @type {number} */ from = -Infinity) {
    let first = 0;
    while (first < this.length && this.get(0, first) < from) first++;
    const n = this.length - first;
    return this.cols.map((col) => {
      const out = new Array(n);
      for (let i = 0; i < n; i++) {
        const v = col[this.#slot(first + i)];
        out[i] = Number.isNaN(v) ? null : v;
      }
      return out;
    });
  }
}
