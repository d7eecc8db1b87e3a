/**
 * Alarm state per stream: which of the alarms that are states (HIGH, LOW, RAPID, ZSCORE,
 * DEVIATION) are raised, and which ones a reading's kernel flags raise or clear.
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
 * - {@linkcode AlarmState.edge} (channels without `clearAfter`): an alarm is raised when its
 *   flag comes on and ends silently with the first reading without it; RAPID is raised on every
 *   flagged reading (a rapid change is an event each time it happens, not a state).
 * - {@linkcode AlarmState.hysteresis} (channels with `clearAfter`): every alarm, RAPID too, is
 *   raised once and cleared once, after `clearAfter` consecutive normal readings; a reading the
 *   caller marks as held (see {@linkcode bandHold}) is neither alarming nor normal.
 *
 * Each call leaves its transitions in {@linkcode AlarmState.rising} and
 * {@linkcode AlarmState.clearing} (fields, not a returned pair: this runs for every channel of
 * every reading).
 *
 * @example Hysteresis: raised once, cleared after two normal readings
 * ```ts
 * import { AlarmState } from "./alarm_state.ts";
 * import { FLAG } from "../core/analysis.ts";
 *
 * const alarms = new AlarmState(1);
 * alarms.hysteresis(0, FLAG.HIGH, 0, 2); // rising === FLAG.HIGH
 * alarms.hysteresis(0, FLAG.HIGH, 0, 2); // rising === 0: already raised
 * alarms.hysteresis(0, 0, 0, 2); // one normal reading: nothing yet
 * alarms.hysteresis(0, 0, 0, 2); // clearing === FLAG.HIGH
 * ```
 */
export class AlarmState {
  /** Per stream: the {@linkcode ALARM_BITS} raised and not yet cleared. */
  readonly #raised: Uint32Array;
  /** Per stream and alarm (`stream * STATE_ALARMS.length + k`): consecutive normal readings
   * since the alarm was last flagged or held (hysteresis only). */
  readonly #normalRun: Uint32Array;
  /** Alarms the last call raised (a subset of {@linkcode ALARM_BITS}). */
  rising = 0;
  /** Alarms the last call cleared (hysteresis only; edge mode clears without an event). */
  clearing = 0;

  /** Room for stream ids `0 … maxStreams-1`, every alarm down. */
  constructor(maxStreams: number) {
    this.#raised = new Uint32Array(maxStreams);
    this.#normalRun = new Uint32Array(maxStreams * STATE_ALARMS.length);
  }

  /** The alarms of `stream` raised now. */
  raised(stream: number): number {
    return this.#raised[stream]!;
  }

  /** Every alarm of every stream down, as after construction (a new kernel starts afresh). */
  reset(): void {
    this.#raised.fill(0);
    this.#normalRun.fill(0);
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
    const alarms = live & ALARM_BITS;
    this.rising = alarms & ~this.#raised[stream]!;
    this.clearing = 0;
    this.#raised[stream] = alarms & ~FLAG.RAPID;
  }

  /**
   * Hysteresis mode: `live` is the reading's flags (0 when the checks do not apply to it),
   * `hold` the raised alarms this reading neither sustains nor counts towards clearing (it
   * resets their count), `clearAfter` the normal readings in a row that clear an alarm.
   */
  hysteresis(stream: number, live: number, hold: number, clearAfter: number): void {
    let raised = this.#raised[stream]!;
    let rising = 0;
    let clearing = 0;
    for (let k = 0; k < STATE_ALARMS.length; k++) {
      const bit = STATE_ALARMS[k]!;
      const slot = stream * STATE_ALARMS.length + k;
      if (live & bit) {
        if (!(raised & bit)) {
          rising |= bit;
          raised |= bit;
        }
        this.#normalRun[slot] = 0;
      } else if (raised & bit) {
        if (hold & bit) {
          this.#normalRun[slot] = 0;
        } else if (++this.#normalRun[slot]! >= clearAfter) {
          clearing |= bit;
          raised &= ~bit;
          this.#normalRun[slot] = 0;
        }
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
