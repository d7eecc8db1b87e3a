/**
 * The live simulator source: drives a {@linkcode MachineSimulator} from a wall-clock timer and
 * offers its readings as a stream; also the engine's {@linkcode MachineController}.
 * @module
 */
import type { MachineController } from "../engine/core/state.ts";
import type { MachineStatus, Reading } from "../engine/core/types.ts";
import type { MachineSimulator } from "./machine_simulator.ts";
import { Ticker } from "./ticker.ts";

/** Options of {@linkcode SimulatorSource}. */
export interface SimulatorSourceOptions {
  /** The simulator to drive; the source only ticks it and forwards operator changes. */
  simulator: MachineSimulator;
  /** Wall-clock time between ticks, ms. @default {2000} */
  intervalMs?: number;
  /** The clock that stamps readings (event time, epoch ms). @default {Date.now} */
  now?: () => number;
  /** Aborting it stops the timer and closes the stream. */
  signal?: AbortSignal;
  /** Chunks (ticks) the stream buffers before ticks are dropped. @default {64} */
  highWaterMark?: number;
}

/**
 * Ticks the simulator every `intervalMs` of wall-clock time (the first tick at once) and
 * enqueues each tick's readings as one `Reading[]` chunk on {@linkcode readable}; a tick in
 * which every machine is in a dropout enqueues nothing.
 *
 * Bounded: when the consumer falls behind and `highWaterMark` chunks are queued, further ticks
 * are dropped — the simulator is not ticked at all, so no reading (and no injected-fault ground
 * truth) is lost, the machines' event time simply skips those intervals — and counted in
 * {@linkcode dropped}. Operator changes ({@linkcode setStatus}) are always enqueued: there is
 * one per API call, and the engine must see it.
 *
 * Stops on `signal` abort or {@linkcode cancel} (the timer is cleared and the stream closes after
 * the queued chunks), or when the consumer cancels the stream.
 */
export class SimulatorSource implements MachineController {
  /** The readings, one chunk per tick or operator change. */
  readonly readable: ReadableStream<Reading[]>;
  readonly #simulator: MachineSimulator;
  readonly #now: () => number;
  readonly #ticker: Ticker<Reading[]>;

  /** Throws `RangeError` for a bad interval or high-water mark. */
  constructor(options: SimulatorSourceOptions) {
    this.#simulator = options.simulator;
    this.#now = options.now ?? Date.now;
    this.#ticker = new Ticker({
      produce: () => {
        const readings = this.#simulator.tick(this.#now());
        return readings.length > 0 ? readings : null;
      },
      intervalMs: options.intervalMs ?? 2000,
      signal: options.signal,
      highWaterMark: options.highWaterMark,
    });
    this.readable = this.#ticker.readable;
  }

  /** While true, ticks are skipped (the machines are frozen, not simulated in the dark). */
  get paused(): boolean {
    return this.#ticker.paused;
  }

  set paused(value: boolean) {
    this.#ticker.paused = value;
  }

  /** Ticks dropped so far because the consumer was `highWaterMark` chunks behind. */
  get dropped(): number {
    return this.#ticker.dropped;
  }

  /** Whether the source has stopped (cancelled, aborted or its stream cancelled). */
  get stopped(): boolean {
    return this.#ticker.stopped;
  }

  /** Whether `machine` is one of the simulator's. */
  controls(machine: string): boolean {
    return this.#simulator.has(machine);
  }

  /**
   * Changes a machine's status through the simulator at `now()`, enqueues the resulting reading
   * as its own chunk and resolves with it. Rejects with the simulator's `UnknownMachineError` or
   * `StatusTransitionError`, or an `Error` once the source has stopped; a rejection changes and
   * enqueues nothing.
   */
  setStatus(machine: string, status: MachineStatus): Promise<Reading> {
    try {
      if (this.#ticker.stopped) throw new Error("SimulatorSource has stopped");
      const reading = this.#simulator.setStatus(machine, status, this.#now());
      this.#ticker.enqueue([reading]);
      return Promise.resolve(reading);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Stops ticking and closes the stream; chunks already queued can still be read. Idempotent. */
  cancel(): void {
    this.#ticker.cancel();
  }
}
