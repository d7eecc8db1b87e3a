/**
 * The `machine` profile's simulator: the pure, clock-free core. Each call to
 * {@linkcode MachineSimulator.tick} advances every machine by one reading interval; nothing here
 * reads a clock, sets a timer or does I/O, so a seed and the sequence of calls determine every
 * number exactly (the live timer is {@linkcode ./simulator_source.ts}).
 *
 * Kept whole past ~400 lines: the per-machine state machine (status walk, faults, noise,
 * dropouts) shares one PRNG sequence, which a split would have to thread through every file.
 * @module
 */
import { UnknownMachineError } from "../engine/core/state.ts";
import { assertTransition } from "../engine/core/status.ts";
import type { MachineStatus, Reading } from "../engine/core/types.ts";
import { createGaussian, createPrng, type Random, randomSeed } from "./prng.ts";

/** Options of {@linkcode MachineSimulator}. */
export interface MachineSimulatorOptions {
  /** Number of machines, named `m1` … `mN`. @default {1} */
  machines?: number;
  /**
   * Seed (a safe integer) that makes every reading reproducible.
   * @default {a random 32-bit seed from `crypto.getRandomValues`; see `MachineSimulator.seed`}
   */
  seed?: number;
  /**
   * Probability, per machine and per tick while RUNNING, that an injected fault starts; 0
   * disables fault injection.
   * @default {0.01}
   */
  faultRate?: number;
  /**
   * Noise knob in [0, 1]: 0 is the base sensor noise, 1 multiplies it by ten (see
   * {@linkcode noiseScale}).
   * @default {0}
   */
  anomalyLevel?: number;
}

/** The kinds of injected faults, as `Reading.injected` names them. */
export type FaultKind = "spike" | "drift" | "stuck" | "dropout";

/** Every fault kind. */
export const FAULT_KINDS: readonly FaultKind[] = ["spike", "drift", "stuck", "dropout"];

/**
 * The `machine` profile's channels, in reading order, with their normal and alert ranges
 * ([min, max]). Readings not marked `injected` stay inside the alert range at anomaly level 0.
 */
export const MACHINE_PROFILE = {
  temperature: { unit: "°C", normal: [15, 35], alert: [10, 40] },
  speed: { unit: "RPM", normal: [1000, 2000], alert: [800, 2200] },
} as const;

/**
 * The automatic production cycle: the status each one moves to when its dwell time is up.
 * Every step is allowed by the contract's transition table.
 */
export const NEXT_STATUS: Readonly<Record<MachineStatus, MachineStatus>> = {
  STARTED: "RUNNING",
  RUNNING: "PAUSED",
  PAUSED: "COMPLETED",
  COMPLETED: "SHUTDOWN",
  SHUTDOWN: "STARTED",
};

/**
 * Time spent in each status, in ticks, drawn uniformly from [min, max]: production runs are
 * long, the transitional states short, so that most readings are RUNNING but every status shows
 * up within a few minutes of a 2 s interval.
 */
export const DWELL_TICKS: Readonly<Record<MachineStatus, readonly [number, number]>> = {
  STARTED: [3, 6],
  RUNNING: [30, 90],
  PAUSED: [2, 6],
  COMPLETED: [2, 4],
  SHUTDOWN: [3, 8],
};

/**
 * Multiplier of the base noise for an anomaly level: `1 + 9 × level`. Linear so a slider feels
 * even; at 1 the temperature noise (σ 3 °C) and speed noise (σ 120 RPM) regularly leave the
 * normal ranges, so z-score and threshold detectors visibly react, while the base level is
 * quiet enough that only injected faults look anomalous.
 */
export function noiseScale(anomalyLevel: number): number {
  return 1 + 9 * anomalyLevel;
}

// Base sensor noise (standard deviations) at anomaly level 0.
const TEMP_NOISE = 0.3;
const TEMP_PROCESS_NOISE = 0.05;
const SPEED_NOISE = 12;
// Fraction of the gap to the target closed per tick: speed spins up over a few ticks in STARTED
// and holds firmly in RUNNING; temperature is thermal mass, so it moves slowly.
const SPIN_UP = 0.4;
const SPEED_HOLD = 0.7;
const WARM_STARTED = 0.05;
const WARM_RUNNING = 0.08;
const COOL = 0.1;
// Fault durations, in ticks.
const DRIFT_TICKS: readonly [number, number] = [10, 30];
const STUCK_TICKS: readonly [number, number] = [5, 20];
const DROPOUT_TICKS: readonly [number, number] = [3, 10];

/** Rounds to 2 decimals; `+ 0` turns a -0 into 0 so readings compare and print as plain 0. */
function round2(x: number): number {
  return Math.round(x * 100) / 100 + 0;
}

/** One simulated machine: its random streams, physical state and active fault. */
class Machine {
  readonly random: Random;
  readonly normal: () => number;
  /** Speed held in RUNNING, RPM. */
  readonly setpoint: number;
  /** Temperature approached while RUNNING, °C. */
  readonly runTemp: number;
  /** Temperature approached when stopped, °C. */
  readonly ambient: number;
  status: MachineStatus = "STARTED";
  /** Ticks left in `status`. */
  dwell: number;
  /** True (unmeasured) temperature and speed. */
  temp: number;
  speed = 0;
  /** Last emitted values, which a stuck sensor repeats. */
  lastTemp: number;
  lastSpeed = 0;
  fault: FaultKind | null = null;
  /** Ticks the fault still affects (drift, stuck) or still swallows (dropout). */
  faultLeft = 0;
  /** Spike and stuck: which channel (true: temperature). */
  faultOnTemp = true;
  /** Drift: current offset and its increase per tick, °C. */
  driftOffset = 0;
  driftStep = 0;
  /** Stuck: the repeated value. */
  stuckValue = 0;

  constructor(readonly id: string, seed: number, index: number) {
    this.random = createPrng(seed, index);
    this.normal = createGaussian(this.random);
    this.setpoint = 1200 + 600 * this.random();
    this.runTemp = 25 + 5 * this.random();
    this.ambient = 18 + 2 * this.random();
    this.temp = this.ambient;
    this.lastTemp = this.ambient;
    this.dwell = this.draw(DWELL_TICKS.STARTED);
  }

  /** A uniform integer in [min, max]. */
  draw(range: readonly [number, number]): number {
    return range[0] + Math.floor(this.random() * (range[1] - range[0] + 1));
  }

  /** A uniform number in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.random();
  }

  /** Enters `status` with a fresh dwell time; any fault ends, since faults only run in RUNNING. */
  enter(status: MachineStatus): void {
    this.status = status;
    this.dwell = this.draw(DWELL_TICKS[status]);
    this.fault = null;
    this.driftOffset = 0;
  }

  /** One interval of physics in the current status. */
  step(scale: number): void {
    switch (this.status) {
      case "STARTED":
        this.speed += (this.setpoint - this.speed) * SPIN_UP;
        this.temp += (this.runTemp - this.temp) * WARM_STARTED;
        break;
      case "RUNNING":
        this.speed += (this.setpoint - this.speed) * SPEED_HOLD;
        this.temp += (this.runTemp - this.temp) * WARM_RUNNING;
        break;
      default:
        // PAUSED, COMPLETED, SHUTDOWN: the spindle is stopped, the machine cools.
        this.speed = 0;
        this.temp += (this.ambient - this.temp) * COOL;
    }
    this.temp += this.normal() * TEMP_PROCESS_NOISE * scale;
  }

  /**
   * Maybe starts a fault (RUNNING only). A fault must fit in the remaining RUNNING time, so the
   * automatic cycle never cuts one short; one that does not fit is shortened or skipped.
   */
  maybeFault(rate: number): void {
    if (this.status !== "RUNNING" || this.fault !== null || rate <= 0) return;
    if (this.random() >= rate) return;
    const kind = FAULT_KINDS[Math.floor(this.random() * FAULT_KINDS.length)]!;
    // `dwell` is the number of RUNNING ticks after this one.
    switch (kind) {
      case "spike":
        this.faultOnTemp = this.random() < 0.5;
        this.faultLeft = 1;
        break;
      case "drift": {
        const n = Math.min(this.draw(DRIFT_TICKS), this.dwell + 1);
        if (n < DRIFT_TICKS[0] / 2) return;
        this.faultLeft = n;
        this.driftOffset = 0;
        // Ends 38–45 °C: steadily past the normal range, by the last reading past the alert one.
        this.driftStep = (this.uniform(38, 45) - this.temp) / n;
        break;
      }
      case "stuck": {
        const n = Math.min(this.draw(STUCK_TICKS), this.dwell + 1);
        if (n < 3) return;
        this.faultLeft = n;
        this.faultOnTemp = this.random() < 0.5;
        this.stuckValue = this.faultOnTemp ? this.lastTemp : this.lastSpeed;
        break;
      }
      case "dropout": {
        const n = Math.min(this.draw(DROPOUT_TICKS), this.dwell);
        if (n < 1) return;
        this.faultLeft = n;
        break;
      }
    }
    this.fault = kind;
  }

  /** The reading at `time`, or `null` while a dropout swallows it. */
  measure(time: number, scale: number): Reading | null {
    let temp = this.temp + this.normal() * TEMP_NOISE * scale;
    // Stopped means exactly 0: no sensor noise on a spindle that does not turn.
    let speed = this.speed === 0
      ? 0
      : Math.max(0, this.speed + this.normal() * SPEED_NOISE * scale);
    let injected: FaultKind | null = null;
    switch (this.fault) {
      case null:
        break;
      case "spike":
        if (this.faultOnTemp) temp = Math.max(temp + this.uniform(15, 25), this.uniform(41, 46));
        else speed = Math.max(speed * this.uniform(1.4, 1.6), this.uniform(2250, 2500));
        injected = "spike";
        this.fault = null;
        break;
      case "drift":
        this.driftOffset += this.driftStep;
        temp += this.driftOffset;
        injected = "drift";
        if (--this.faultLeft === 0) this.fault = null;
        break;
      case "stuck":
        if (this.faultOnTemp) temp = this.stuckValue;
        else speed = this.stuckValue;
        injected = "stuck";
        if (--this.faultLeft === 0) this.fault = null;
        break;
      case "dropout":
        if (this.faultLeft > 0) {
          this.faultLeft--;
          return null;
        }
        injected = "dropout";
        this.fault = null;
        break;
    }
    temp = round2(temp);
    speed = round2(speed);
    this.lastTemp = temp;
    this.lastSpeed = speed;
    const channels = { temperature: temp, speed };
    return injected === null
      ? { timestamp: time, machine: this.id, status: this.status, channels }
      : { timestamp: time, machine: this.id, status: this.status, channels, injected };
  }
}

function checkUnit(name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${value}`);
  return value;
}

/**
 * Simulated machines of the `machine` profile: per tick, one reading per machine with
 * `temperature` (°C) and `speed` (RPM) and a status that cycles STARTED → RUNNING → PAUSED →
 * COMPLETED → SHUTDOWN → STARTED … on its own ({@linkcode NEXT_STATUS}, {@linkcode DWELL_TICKS}),
 * or as an operator sets it. Faults are injected while RUNNING and marked on the affected
 * readings (`injected`), as ground truth for scoring detectors:
 *
 * - `spike`: one reading far out of range (temperature +15…25 °C, or speed ×1.4…1.6), at
 *   least past the alert range.
 * - `drift`: temperature climbs steadily for 10–30 readings to 38–45 °C.
 * - `stuck`: one channel repeats the previous reading's value exactly for 5–20 readings.
 * - `dropout`: no reading for 3–10 ticks; the first reading after the gap is marked.
 *
 * Each machine draws from its own random stream (seed, index), so machine `m3` behaves the same
 * whether 3 or 1000 machines are simulated.
 */
export class MachineSimulator {
  /** The seed in use (the random one when none was given), so a run can be reproduced. */
  readonly seed: number;
  readonly #machines: Machine[] = [];
  readonly #byId = new Map<string, Machine>();
  #faultRate: number;
  #anomalyLevel: number;
  #scale: number;

  /** Throws `RangeError` for a bad option. */
  constructor(options: MachineSimulatorOptions = {}) {
    const n = options.machines ?? 1;
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new RangeError(`machines must be an integer >= 1, got ${n}`);
    }
    const seed = options.seed ?? randomSeed();
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    this.seed = seed;
    this.#faultRate = checkUnit("faultRate", options.faultRate ?? 0.01);
    this.#anomalyLevel = checkUnit("anomalyLevel", options.anomalyLevel ?? 0);
    this.#scale = noiseScale(this.#anomalyLevel);
    for (let i = 1; i <= n; i++) {
      const m = new Machine(`m${i}`, seed, i);
      this.#machines.push(m);
      this.#byId.set(m.id, m);
    }
  }

  /** Probability per machine per RUNNING tick that a fault starts; takes effect next tick. */
  get faultRate(): number {
    return this.#faultRate;
  }

  /** Throws `RangeError` outside [0, 1]. */
  set faultRate(value: number) {
    this.#faultRate = checkUnit("faultRate", value);
  }

  /** The noise knob in [0, 1] (see {@linkcode noiseScale}); takes effect next reading. */
  get anomalyLevel(): number {
    return this.#anomalyLevel;
  }

  /** Throws `RangeError` outside [0, 1]. */
  set anomalyLevel(value: number) {
    this.#anomalyLevel = checkUnit("anomalyLevel", value);
    this.#scale = noiseScale(value);
  }

  /** The machine ids, `m1` … `mN`. */
  machines(): string[] {
    return this.#machines.map((m) => m.id);
  }

  /** Whether `machine` is one of this simulator's. */
  has(machine: string): boolean {
    return this.#byId.has(machine);
  }

  /** A machine's current status; throws `UnknownMachineError` for an unknown id. */
  status(machine: string): MachineStatus {
    return this.#get(machine).status;
  }

  /**
   * Advances every machine by one interval and returns their readings stamped `time` (event
   * time, epoch ms), in machine order, leaving out machines in a dropout.
   */
  tick(time: number): Reading[] {
    const out: Reading[] = [];
    const rate = this.#faultRate;
    const scale = this.#scale;
    for (const m of this.#machines) {
      if (m.dwell <= 0) m.enter(NEXT_STATUS[m.status]);
      m.dwell--;
      m.step(scale);
      m.maybeFault(rate);
      const r = m.measure(time, scale);
      if (r !== null) out.push(r);
    }
    return out;
  }

  /**
   * An operator's status change. Validates it against the transition table and then changes the
   * status, restarts its dwell time, ends any fault, and returns a reading taken at `time` that
   * already reflects the new status (one interval of its physics: PAUSED gives speed 0). The
   * reading does not count as a tick of the new dwell time. A dropout in progress ends here, so
   * this reading carries `injected: "dropout"` as the first after the gap.
   *
   * Throws `UnknownMachineError` for an unknown machine and `StatusTransitionError` for a
   * transition the table refuses; a throw changes nothing.
   */
  setStatus(machine: string, status: MachineStatus, time: number): Reading {
    const m = this.#get(machine);
    assertTransition(m.status, status);
    const gap = m.fault === "dropout";
    m.enter(status);
    m.step(this.#scale);
    const r = m.measure(time, this.#scale)!;
    if (gap) r.injected = "dropout";
    return r;
  }

  #get(machine: string): Machine {
    const m = this.#byId.get(machine);
    if (m === undefined) throw new UnknownMachineError(machine);
    return m;
  }
}
