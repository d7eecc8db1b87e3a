/**
 * The online isolation-forest mode: each machine's first readings train its own forest, which
 * then scores the machine's later readings. Pure bookkeeping; the analyzer does the scoring.
 * @module
 */
import type { IsolationScorer } from "../core/analysis.ts";
import {
  DEFAULT_ALARM_QUANTILE,
  type IsolationForestModel,
} from "../kernels/iforest/isolation_forest_model.ts";
import { trainIsolationForest } from "../kernels/iforest/isolation_forest_train.ts";
import type { Reading } from "../core/types.ts";

/** Options of {@linkcode OnlineForests}. */
export interface OnlineForestOptions {
  /** Readings of each machine to train on (those carrying every feature), 2…100,000. */
  trainSize: number;
  /** Builds the scorer of a trained model (the engine: `new WasmIsolationForest(model)`). */
  createScorer: (model: IsolationForestModel) => IsolationScorer;
  /** Seed of every machine's training (the same readings give the same model). @default {1} */
  seed?: number;
  /** Trees per forest. @default {100} */
  trees?: number;
  /**
   * Each forest's alarm threshold: this quantile of anomaly-ness over its own training
   * readings' scores (as `train --alarm-quantile`); null: the offset rule.
   * @default {0.995}
   */
  alarmQuantile?: number | null;
  /**
   * Machines with a forest (or in training) at most; readings of further machines are not
   * scored. Each trained forest holds up to `trees × 511` nodes (≈ 2 MB of WASM memory at 100
   * trees), and each machine in training `trainSize × features` numbers.
   * @default {1000}
   */
  maxMachines?: number;
}

interface MachineForest {
  /** The features: the machine's first reading's channels, in their order. */
  features: string[];
  /** Training rows, row-major; dropped once trained. */
  rows: Float64Array | null;
  count: number;
  scorer: IsolationScorer | null;
}

/**
 * Per machine: collects the first `trainSize` readings that carry every channel of the
 * machine's first reading, then trains a standard scaler and an isolation forest on them
 * (scikit-learn's defaults: `max_samples` min(256, n), offset −0.5), calibrates its alarm
 * threshold on those same readings' scores (`alarmQuantile`, as `train` does) and from then on
 * hands out that forest for the machine's readings. Deterministic: the same readings in the same order
 * train the same forests, so replay and restarts stay exact.
 */
export class OnlineForests {
  readonly #options: Required<OnlineForestOptions>;
  readonly #machines = new Map<string, MachineForest>();

  /** Throws a `RangeError` naming a bad option. */
  constructor(options: OnlineForestOptions) {
    const o = {
      seed: 1,
      trees: 100,
      maxMachines: 1000,
      alarmQuantile: DEFAULT_ALARM_QUANTILE,
      ...options,
    };
    if (!Number.isInteger(o.trainSize) || o.trainSize < 2 || o.trainSize > 100_000) {
      throw new RangeError(`trainSize must be an integer in 2…100000, got ${o.trainSize}`);
    }
    if (!Number.isInteger(o.maxMachines) || o.maxMachines < 1) {
      throw new RangeError(`maxMachines must be a positive integer, got ${o.maxMachines}`);
    }
    const q = o.alarmQuantile;
    if (q !== null && !(q > 0 && q <= 1)) {
      throw new RangeError(`alarmQuantile must be a number in (0, 1], got ${q}`);
    }
    this.#options = o;
  }

  /** Machines whose forest is trained. */
  get trained(): number {
    let n = 0;
    for (const m of this.#machines.values()) if (m.scorer) n++;
    return n;
  }

  /**
   * The forest that scores `r`, or null: while its machine is still training (the reading is
   * then added to the training set — call once per reading, in order), when the reading lacks a
   * feature, or for a machine over `maxMachines`.
   */
  scorerFor(r: Reading): IsolationScorer | null {
    let m = this.#machines.get(r.machine);
    if (!m) {
      if (this.#machines.size >= this.#options.maxMachines) return null;
      const features = Object.keys(r.channels);
      if (features.length === 0) return null;
      m = {
        features,
        rows: new Float64Array(this.#options.trainSize * features.length),
        count: 0,
        scorer: null,
      };
      this.#machines.set(r.machine, m);
    }
    const d = m.features.length;
    if (m.scorer) {
      for (let j = 0; j < d; j++) if (r.channels[m.features[j]!] === undefined) return null;
      return m.scorer;
    }
    const rows = m.rows!;
    const at = m.count * d;
    for (let j = 0; j < d; j++) {
      const v = r.channels[m.features[j]!];
      if (v === undefined) return null;
      rows[at + j] = v;
    }
    if (++m.count === this.#options.trainSize) {
      const model = trainIsolationForest(rows, m.count, m.features, {
        seed: this.#options.seed,
        trees: this.#options.trees,
        alarmQuantile: this.#options.alarmQuantile,
      });
      m.scorer = this.#options.createScorer(model);
      m.rows = null;
    }
    return null;
  }
}
