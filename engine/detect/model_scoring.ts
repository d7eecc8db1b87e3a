/**
 * Isolation-forest scoring of the analyzer's batches: which forest scores each reading (the one
 * model, or its machine's online forest), the scores of a whole batch in few WASM calls, and
 * each machine's outlier state, from which the `ISOLATION_FOREST` alarm is raised. Apart from
 * the analyzer because it runs before the kernel walk, over the whole batch, with buffers of
 * its own; the analyzer only asks it, reading by reading, what came out.
 * @module
 */
import type { IsolationScorer } from "../core/analysis.ts";
import type { AnomalyEvent, Reading } from "../core/types.ts";
import type { OnlineForests } from "./online_forest.ts";
import { forestEvent } from "./event_text.ts";
import { AlarmState } from "./alarm_state.ts";
import { isForestAlarm } from "../kernels/iforest/isolation_forest_model.ts";

/** A machine's isolation-forest state, kept by the caller with its other per-machine state. */
export interface MachineScore {
  /** `score_samples` of the machine's last scored reading; NaN before any. */
  score: number;
  /**
   * Whether that reading was an outlier (`score_samples < alarm_threshold` with a calibrated
   * model, else `decision_function < 0`): the alarm's state.
   */
  outlier: boolean;
  /** With delays: the machine's forest alarm (one stream, one bit), made on first use. */
  alarm?: AlarmState;
}

/** On- and off-delay of the forest alarm, in scored readings (see `AlarmState.delays`). */
export interface ForestDelays {
  onDelay: number;
  offDelay: number;
}

/** Whether `r` has a value for every one of `features`. */
function hasAll(r: Reading, features: readonly string[]): boolean {
  for (const f of features) if (r.channels[f] === undefined) return false;
  return true;
}

/**
 * Scores batches of readings with one model (`forest`) or per-machine online forests
 * (`online`), never both. Call {@linkcode ModelScoring.scoreAll} once per batch, then
 * {@linkcode ModelScoring.observe} for each reading of it, in order.
 *
 * @example
 * ```ts ignore
 * const scoring = new ModelScoring(new WasmIsolationForest(model), null);
 * scoring.scoreAll(readings);
 * const state = { score: NaN, outlier: false };
 * readings.forEach((r, i) => {
 *   const event = scoring.observe(r, i, state); // ISOLATION_FOREST once per anomalous stretch
 * });
 * ```
 */
export class ModelScoring {
  readonly #forest: IsolationScorer | null;
  readonly #online: OnlineForests | null;
  /** Feature rows of one scoring call (reused; grown to the largest call). */
  #features = new Float64Array(0);
  /** Per reading of the batch being analysed: the forest that scored it. */
  #scorerOf: (IsolationScorer | null)[] = [];
  /** Per reading of the batch being analysed: score and decision, NaN when not scored. */
  #scores = new Float64Array(0);
  #decisions = new Float64Array(0);

  /** Null: raised once per anomalous stretch, never cleared (the `zscore` detector's way). */
  readonly #delays: ForestDelays | null;

  /**
   * Throws a `RangeError` when given both a model and online forests. `delays`: the alarm is a
   * state raised after `onDelay` outliers in a row and cleared (INFO) after `offDelay` normal
   * scored readings in a row; null: raised when a machine turns anomalous, never cleared.
   */
  constructor(
    forest: IsolationScorer | null,
    online: OnlineForests | null,
    delays: ForestDelays | null = null,
  ) {
    if (forest && online) {
      throw new RangeError("isolationForest and onlineForests exclude each other");
    }
    this.#forest = forest;
    this.#online = online;
    this.#delays = delays;
  }

  /**
   * Scores the batch's readings that carry every feature of their forest (the model, or their
   * machine's online forest once trained), grouped by forest, `batchCapacity` records per WASM
   * call; the others get NaN. Online forests see every reading here, in order: that is how
   * they collect their training sets. A reading with a non-finite feature cannot reach here
   * (the parsers refuse NaN and Infinity).
   */
  scoreAll(readings: readonly Reading[]): void {
    if (this.#scores.length < readings.length) {
      this.#scores = new Float64Array(readings.length);
      this.#decisions = new Float64Array(readings.length);
    }
    this.#scores.fill(NaN, 0, readings.length);
    this.#decisions.fill(NaN, 0, readings.length);
    this.#scorerOf.length = readings.length;
    const groups = new Map<IsolationScorer, number[]>();
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      const scorer = this.#forest
        ? (hasAll(r, this.#forest.model.features) ? this.#forest : null)
        : this.#online!.scorerFor(r);
      this.#scorerOf[i] = scorer;
      if (scorer) {
        const group = groups.get(scorer);
        if (group) group.push(i);
        else groups.set(scorer, [i]);
      }
    }
    for (const [scorer, indices] of groups) this.#score(scorer, readings, indices);
  }

  /**
   * After {@linkcode ModelScoring.scoreAll}: takes reading `index` (`r`) of the batch into its
   * machine's `state` and returns the `ISOLATION_FOREST` event when the machine turns
   * anomalous with it (or, with delays, its clearing), else null. Like the other alarms a
   * state: raised once when it begins (without delays, nothing when it ends). A reading that was not scored leaves `state` as it is.
   */
  observe(r: Reading, index: number, state: MachineScore): AnomalyEvent | null {
    const decision = this.#decisions[index]!;
    if (Number.isNaN(decision)) return null;
    state.score = this.#scores[index]!;
    const model = this.#scorerOf[index]!.model;
    const outlier = isForestAlarm(model, state.score, decision);
    const d = this.#delays;
    if (d) {
      const alarm = state.alarm ??= new AlarmState(1, [1]);
      alarm.delays(0, outlier ? 1 : 0, 0, d.onDelay, d.offDelay);
      state.outlier = alarm.raised(0) !== 0;
      if (!(alarm.rising | alarm.clearing)) return null;
      const iso = new Date(r.timestamp).toISOString();
      return forestEvent(r, iso, model, state.score, decision, alarm.clearing !== 0);
    }
    const turned = outlier && !state.outlier;
    state.outlier = outlier;
    if (!turned) return null;
    return forestEvent(r, new Date(r.timestamp).toISOString(), model, state.score, decision);
  }

  /** Scores `indices` of `readings` with `scorer`, a batch at a time. */
  #score(scorer: IsolationScorer, readings: readonly Reading[], indices: number[]): void {
    const names = scorer.model.features;
    const d = names.length;
    const cap = scorer.batchCapacity;
    if (this.#features.length < Math.min(cap, indices.length) * d) {
      this.#features = new Float64Array(Math.min(cap, indices.length) * d);
    }
    const x = this.#features;
    for (let from = 0; from < indices.length; from += cap) {
      const n = Math.min(cap, indices.length - from);
      for (let k = 0; k < n; k++) {
        const channels = readings[indices[from + k]!]!.channels;
        for (let j = 0; j < d; j++) x[k * d + j] = channels[names[j]!]!;
      }
      const { scoreSamples, decisionFunction } = scorer.scoreBatch(x, n);
      for (let k = 0; k < n; k++) {
        this.#scores[indices[from + k]!] = scoreSamples[k]!;
        this.#decisions[indices[from + k]!] = decisionFunction[k]!;
      }
    }
  }
}
