/**
 * Alarm state per stream: which of the alarms that are states (HIGH, LOW, RAPID, ZSCORE,
 * DEVIATION, or any bits given) are raised, and which ones a reading's flags raise or clear,
 * with an on-delay and an off-delay in readings.
 *
 * Apart from the analyzer so that the rules of when an alarm starts and ends can be read,
 * changed and tested without a kernel, readings or texts: {@linkcode AlarmState} sees only
 * stream ids and {@linkcode FLAG} bits, and keeps its state in typed arrays sized once (no
 * allocation per reading). What a channel's configuration means for those rules (`clearBand`)
 * is {@linkcode bandHold}, also here.
 * @module
 */
import type { ChannelConfig } from "../core/channel_config.ts";
import { FLAG } from "../core/analysis.ts";

/** The alarms that are states, in the order their events are raised. */
export const STATE_ALARMS = [FLAG.HIGH, FLAG.LOW, FLAG.RAPID, FLAG.ZSCORE, FLAG.DEVIATION] as const;

/** The bits of {@linkcode STATE_ALARMS} together: the flags that can raise an alarm event. */
export const ALARM_BITS = FLAG.HIGH | FLAG.LOW | FLAG.RAPID | FLAG.ZSCORE | FLAG.DEVIATION;

/**
 * The raised alarms of every stream and the transitions each reading causes, in one of two
 * modes chosen per call (a channel keeps its mode for good):
 *
 * - {@linkcode AlarmState.edge} (the `zscore` detector's channels without `clearAfter`): an
 *   alarm is raised when its flag comes on and ends silently with the first reading without
 *   it; RAPID is raised on every flagged reading (a rapid change is an event each time it
 *   happens, not a state).
 * - {@linkcode AlarmState.delays} (every channel under the `adaptive` detector, and channels
 *   with `clearAfter` under `zscore`, whose {@linkcode AlarmState.hysteresis} is delays with an
 *   on-delay of 1): every alarm, RAPID too, is a state raised once, after `onDelay`
 *   consecutive flagged readings, and cleared once, after `offDelay` consecutive normal
 *   readings; a reading the caller marks as held (see {@linkcode bandHold}) is neither
 *   alarming nor normal.
 *
 * The alarms are bits: by default {@linkcode STATE_ALARMS} (the kernel's flags), or any list
 * of single bits given to the constructor (the analyzer keeps the isolation forest's per-machine
 * alarm in a second instance with one bit). Each call leaves its transitions in
 * {@linkcode AlarmState.rising} and {@linkcode AlarmState.clearing} (fields, not a returned
 * pair: this runs for every channel of every reading).
 *
 * @example Delays: raised after two flagged readings, cleared after two normal ones
 * ```ts
 * import { AlarmState } from "./alarm_state.ts";
 * import { FLAG } from "../core/analysis.ts";
 *
 * const alarms = new AlarmState(1);
 * alarms.delays(0, FLAG.HIGH, 0, 2, 2); // rising === 0: one flagged reading is not enough
 * alarms.delays(0, FLAG.HIGH, 0, 2, 2); // rising === FLAG.HIGH
 * alarms.delays(0, FLAG.HIGH, 0, 2, 2); // rising === 0: already raised
 * alarms.delays(0, 0, 0, 2, 2); // one normal reading: nothing yet
 * alarms.delays(0, 0, 0, 2, 2); // clearing === FLAG.HIGH
 * ```
 */
export class AlarmState {
  /** The alarm bits this instance keeps, in the order of their events. */
  readonly #bits: readonly number[];
  /** Their union. */
  readonly #mask: number;
  /** Per stream: the alarms raised and not yet cleared. */
  readonly #raised: Uint32Array;
  /** Per stream and alarm (`stream * bits + k`): consecutive normal readings since the alarm
   * was last flagged or held (while raised), or consecutive flagged readings (while down). */
  readonly #run: Uint32Array;
  /** Per stream, 1 when one of its `#run` counts may be above 0: a quiet reading of a stream
   * that is 0 here (nearly every reading) changes nothing, and `delays` returns at once. */
  readonly #counting: Uint8Array;
  /** Alarms the last call raised. */
  rising = 0;
  /** Alarms the last call cleared (delays only; edge mode clears without an event). */
  clearing = 0;

  /**
   * Room for stream ids `0 … maxStreams-1`, every alarm down. `bits`: the alarms kept, each a
   * single bit (a `RangeError` names one that is not). @default {STATE_ALARMS}
   */
  constructor(maxStreams: number, bits: readonly number[] = STATE_ALARMS) {
    let mask = 0;
    for (const bit of bits) {
      if (!(bit > 0 && bit <= 2 ** 31 && (bit & (bit - 1)) === 0)) {
        throw new RangeError(`AlarmState: an alarm must be a single bit, got ${bit}`);
      }
      mask |= bit;
    }
    this.#bits = bits;
    this.#mask = mask;
    this.#raised = new Uint32Array(maxStreams);
    this.#run = new Uint32Array(maxStreams * bits.length);
    this.#counting = new Uint8Array(maxStreams);
  }

  /** The alarms of `stream` raised now. */
  raised(stream: number): number {
    return this.#raised[stream]!;
  }

  /** Every alarm of every stream down, as after construction (a new kernel starts afresh). */
  reset(): void {
    this.#raised.fill(0);
    this.#run.fill(0);
    this.#counting.fill(0);
  }

  /**
   * Edge mode: `live` is the reading's flags (0 when the checks do not apply to it). Raises
   * the alarms flagged now and not on the previous reading; RAPID, never kept as raised, is
   * raised on every flagged reading.
   *
   * @example
   * ```ts
   * import { AlarmState } from "./alarm_state.ts";
   * import { FLAG } from "../core/analysis.ts";
   *
   * const alarms = new AlarmState(1);
   * alarms.edge(0, FLAG.HIGH | FLAG.RAPID); // rising === FLAG.HIGH | FLAG.RAPID
   * alarms.edge(0, FLAG.HIGH | FLAG.RAPID); // rising === FLAG.RAPID
   * ```
   */
  edge(stream: number, live: number): void {
    const alarms = live & this.#mask;
    this.rising = alarms & ~this.#raised[stream]!;
    this.clearing = 0;
    this.#raised[stream] = alarms & ~FLAG.RAPID;
  }

  /**
   * The `zscore` detector's hysteresis (channels with `clearAfter`): {@linkcode AlarmState.delays}
   * with an on-delay of one reading.
   */
  hysteresis(stream: number, live: number, hold: number, clearAfter: number): void {
    this.delays(stream, live, hold, 1, clearAfter);
  }

  /**
   * Delay mode: `live` is the reading's flags (0 when the checks do not apply to it), `hold`
   * the raised alarms this reading neither sustains nor counts towards clearing (it resets
   * their count), `onDelay` the flagged readings in a row that raise an alarm, `offDelay` the
   * normal readings in a row that clear it (both ≥ 1).
   */
  delays(stream: number, live: number, hold: number, onDelay: number, offDelay: number): void {
    if (((this.#raised[stream]! | live) & this.#mask) === 0 && this.#counting[stream] === 0) {
      // Nothing raised, nothing flagged, no count running (nearly every reading): nothing
      // changes, no transition.
      this.rising = 0;
      this.clearing = 0;
    } else this.#count(stream, live, hold, onDelay, offDelay);
  }

  /**
   * `delays` of a reading that flags an alarm, or of a stream with one raised or a count
   * running. Apart, for V8: `delays` is inlined in the analyzer's walk, and the paths here
   * (a count reaching an on- or off-delay) are first met at different times of a run; inlined,
   * each was compiled without feedback and threw the walk's compiled code away when met.
   */
  #count(stream: number, live: number, hold: number, onDelay: number, offDelay: number): void {
    let raised = this.#raised[stream]!;
    let rising = 0;
    let clearing = 0;
    const bits = this.#bits;
    if (((raised | live) & this.#mask) === 0) {
      // Nothing raised, nothing flagged: every count starts over (the loop below would set
      // each to 0), and no transition.
      this.#run.fill(0, stream * bits.length, (stream + 1) * bits.length);
      this.#counting[stream] = 0;
      this.rising = 0;
      this.clearing = 0;
      return;
    }
    this.#counting[stream] = 1;
    for (let k = 0; k < bits.length; k++) {
      const bit = bits[k]!;
      const slot = stream * bits.length + k;
      if (!(raised & bit)) {
        // Down: count flagged readings in a row; any other reading starts the count over.
        if (!(live & bit)) this.#run[slot] = 0;
        else if (++this.#run[slot]! >= onDelay) {
          rising |= bit;
          raised |= bit;
          this.#run[slot] = 0;
        }
      } else if ((live | hold) & bit) {
        this.#run[slot] = 0;
      } else if (++this.#run[slot]! >= offDelay) {
        clearing |= bit;
        raised &= ~bit;
        this.#run[slot] = 0;
      }
    }
    this.#raised[stream] = raised;
    this.rising = rising;
    this.clearing = clearing;
  }
}

/**
 * The `hold` of {@linkcode AlarmState.hysteresis} for a reading of a channel with `clearBand`:
 * the alarms whose limit the reading is still within `clearBand` of (HIGH, LOW: the alert
 * range; RAPID: `maxDelta`, compared with the change `delta`), so a value hovering at a limit
 * does not raise and clear on every reading. 0 without a band.
 *
 * @example
 * ```ts
 * import { bandHold } from "./alarm_state.ts";
 *
 * // A breach of 80 with a band of 2: 79 still holds HIGH, 78 does not.
 * bandHold({ alert: [0, 80], clearBand: 2 }, 79, 0); // FLAG.HIGH
 * bandHold({ alert: [0, 80], clearBand: 2 }, 78, 0); // 0
 * ```
 */
export function bandHold(config: ChannelConfig, value: number, delta: number): number {
  const band = config.clearBand ?? 0;
  if (!(band > 0)) return 0;
  let hold = 0;
  // Without an alert range (or maxDelta) the kernel never flags HIGH/LOW (RAPID), so there is
  // nothing to hold; the comparisons with NaN are false.
  const alert = config.alert;
  if (alert && value > alert[1] - band) hold |= FLAG.HIGH;
  if (alert && value < alert[0] + band) hold |= FLAG.LOW;
  if (Math.abs(delta) > (config.maxDelta ?? NaN) - band) hold |= FLAG.RAPID;
  return hold;
}
