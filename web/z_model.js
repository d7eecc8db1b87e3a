/**
 * The page's copy of the engine's z-score model of one channel, to draw the ±z·σ band: the
 * last `size` normal points; while it fills every point enters and none is flagged; once full
 * a point with |z| above the threshold stays out, so an anomaly cannot widen the band. The
 * engine's rows carry only z, not the model's mean and σ, so the page rebuilds them from the
 * same readings (assembly/rolling.ts has the same rules).
 */
export class ZModel {
  /** @param {number} size points in the model (the engine's `model_size`) */
  constructor(size) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`model size must be a positive integer, got ${size}`);
    }
    this.size = size;
    this.values = new Float64Array(size);
    this.start = 0;
    this.count = 0;
    // Sums of values shifted by the first value, so that large offsets (a speed of 1500 RPM)
    // do not eat the precision of the variance.
    this.anchor = NaN;
    this.sum = 0;
    this.sumSq = 0;
    /** Newest points equal in a row (a stuck sensor): z is 0 when the whole model is one run. */
    this.run = 0;
  }

  /** Whether the model holds `size` points, so the detector is active. */
  get full() {
    return this.count === this.size;
  }

  /**
   * Scores `x` against the model, then lets it in unless the full model calls it an anomaly.
   * @returns {{mean: number, std: number, z: number, anomaly: boolean}} the model before `x`
   */
  update(/** @type {number} */ x, /** @type {number} */ zThreshold) {
    let mean = NaN, std = NaN, z = 0;
    if (this.count >= 1) {
      const m = this.sum / this.count;
      mean = this.anchor + m;
      std = Math.sqrt(Math.max(this.sumSq / this.count - m * m, 0));
      if (this.count >= 2 && this.run < this.count && std > 0) z = (x - mean) / std;
    }
    const anomaly = this.full && Math.abs(z) > zThreshold;
    if (!anomaly) this.#enter(x);
    return { mean, std, z, anomaly };
  }

  #enter(/** @type {number} */ x) {
    if (this.count === 0) this.anchor = x;
    const newest = this.count > 0 ? this.values[(this.start + this.count - 1) % this.size] : NaN;
    this.run = newest === x ? Math.min(this.run + 1, this.size) : 1;
    const d = x - this.anchor;
    if (this.count === this.size) {
      const old = this.values[this.start] - this.anchor;
      this.sum -= old;
      this.sumSq -= old * old;
      this.values[this.start] = x;
      this.start = (this.start + 1) % this.size;
    } else {
      this.values[(this.start + this.count) % this.size] = x;
      this.count++;
    }
    this.sum += d;
    this.sumSq += d * d;
  }
}
