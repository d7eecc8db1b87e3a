/**
 * The `vibration` profile's simulator: per machine, an accelerometer waveform sampled at a fixed
 * rate and cut into frames, with injectable mechanical faults. Like the machine simulator it is a
 * pure, clock-free core: a seed and the sequence of calls determine every sample exactly.
 *
 * Kept whole past ~400 lines: the waveform, its fault signatures and the framing share one PRNG
 * sequence per machine; split, the exact-sample determinism would depend on call order across
 * files.
 * @module
 */
import { noiseScale } from "./machine_simulator.ts";
import { createGaussian, createPrng, type Random, randomSeed } from "./prng.ts";

/** The injectable faults, as a frame's `injected` names them. */
export type VibrationFault = "imbalance" | "misalignment" | "bearing" | "looseness";

/** Every fault kind, in the order a random fault is drawn from. */
export const VIBRATION_FAULTS: readonly VibrationFault[] = [
  "imbalance",
  "misalignment",
  "bearing",
  "looseness",
];

/** A fault to inject at a given frame. */
export interface ScheduledVibrationFault {
  /** Machine id, `m1` … `mN`. */
  machine: string;
  fault: VibrationFault;
  /** Index of the machine's first faulty frame (its first frame is 0). */
  start: number;
  /** Number of faulty frames, >= 1. */
  frames: number;
}

/** Options of {@linkcode VibrationSimulator}. */
export interface VibrationSimulatorOptions {
  /** Number of machines, named `m1` … `mN`. @default {1} */
  machines?: number;
  /** Seed (a safe integer) that makes every sample reproducible. @default {a random 32-bit seed} */
  seed?: number;
  /** Samples per second, Hz. @default {4000} */
  sampleRate?: number;
  /** Samples per frame (any integer 8…65536; the feature extractor wants a power of two).
   * @default {1024} */
  frameSize?: number;
  /**
   * Probability, per machine and frame without a fault, that a random fault (uniform over
   * {@linkcode VIBRATION_FAULTS}) starts, lasting 8–40 frames; 0 disables random faults.
   * @default {0.01}
   */
  faultRate?: number;
  /**
   * Knob in [0, 1]: the broadband noise is multiplied by `1 + 9 × level` (as the machine
   * profile's noise) and a per-machine DC offset of 0.2–0.5 m/s² is scaled by `level`.
   * @default {0}
   */
  anomalyLevel?: number;
  /** Faults injected at fixed frames, whatever `faultRate` draws. @default {[]} */
  schedule?: readonly ScheduledVibrationFault[];
}

/** One frame of one machine. */
export interface VibrationFrame {
  machine: string;
  /** Event time of the frame's first sample, epoch ms. */
  timestamp: number;
  /** The machine's frame counter (0 for its first frame). */
  index: number;
  /** Running speed during the frame, Hz (1× frequency). */
  speedHz: number;
  /** `frameSize` acceleration samples, m/s²; a view into {@linkcode VibrationTick.samples}. */
  samples: Float64Array;
  /** Ground truth: the fault present in this frame, or `null`. */
  injected: VibrationFault | null;
}

/** The frames of one tick: all machines' samples back to back, ready for one `extract` call. */
export interface VibrationTick {
  /** machines × frameSize samples; frame i starts at i·frameSize. */
  samples: Float64Array;
  /** One per machine, in machine order. */
  frames: VibrationFrame[];
}

// Healthy machine, m/s²: 1× dominates, 2× and 3× are small, the noise floor is low.
const BASE_NOISE = 0.05;
/** Relative frame-to-frame jitter of the running speed (a real drive is never perfectly steady). */
const SPEED_JITTER = 0.001;
const FAULT_FRAMES: readonly [number, number] = [8, 40];
/** Bearing: ring-down time constant of the structural resonance excited by each impact, s. */
const BEARING_TAU = 0.002;
/** Looseness: the harmonics it excites (4× … 10×). */
const LOOSE_FIRST = 4;
const LOOSE_LAST = 10;
const TWO_PI = 2 * Math.PI;

function checkUnit(name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${value}`);
  return value;
}

function checkFault(where: string, fault: unknown): VibrationFault {
  if (!VIBRATION_FAULTS.includes(fault as VibrationFault)) {
    throw new RangeError(
      `${where} must be one of ${VIBRATION_FAULTS.join(", ")}, got ${JSON.stringify(fault)}`,
    );
  }
  return fault as VibrationFault;
}

function checkCount(where: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${where} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** One simulated machine: its random stream, its healthy signature and its active fault. */
class VibrationMachine {
  readonly random: Random;
  readonly normal: () => number;
  /** Nominal running speed, Hz. */
  readonly speedHz: number;
  /** Amplitudes and phases of the 1×, 2×, 3× lines. */
  readonly amp: [number, number, number];
  readonly phase: [number, number, number];
  /** DC offset at anomaly level 1, m/s². */
  readonly bias: number;
  /** Shaft revolutions at the next frame's first sample, modulo 2. */
  cycles = 0;
  /** Frames produced so far (the next frame's index). */
  frame = 0;
  fault: VibrationFault | null = null;
  faultLeft = 0;
  // Fault parameters, drawn when a fault starts.
  imbalanceGain = 1;
  misalign2 = 0;
  misalign3 = 0;
  /** Bearing: impacts per second, resonance Hz, impact amplitude, last and next impact (s). */
  impactRate = 0;
  resonanceHz = 0;
  impactAmp = 0;
  lastImpact = 0;
  nextImpact = 0;
  lastAmp = 0;
  /** Looseness: amplitudes, and cos and sin of the phases, of the 0.5× line and of 4× … 10×. */
  readonly looseAmp = new Float64Array(LOOSE_LAST + 1);
  readonly looseCos = new Float64Array(LOOSE_LAST + 1);
  readonly looseSin = new Float64Array(LOOSE_LAST + 1);
  /** Index of the next scheduled fault of this machine. */
  nextScheduled = 0;

  constructor(
    readonly id: string,
    seed: number,
    index: number,
    readonly schedule: ScheduledVibrationFault[],
  ) {
    this.random = createPrng(seed, index);
    this.normal = createGaussian(this.random);
    this.speedHz = 22 + 6 * this.random();
    const a1 = 0.8 + 0.4 * this.random();
    this.amp = [a1, a1 * (0.2 + 0.1 * this.random()), a1 * (0.08 + 0.05 * this.random())];
    this.phase = [TWO_PI * this.random(), TWO_PI * this.random(), TWO_PI * this.random()];
    this.bias = (this.random() < 0.5 ? -1 : 1) * (0.2 + 0.3 * this.random());
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.random();
  }

  /** Starts `kind` for `frames` frames at time `t` (s), drawing its severity. */
  start(kind: VibrationFault, frames: number, t: number): void {
    this.fault = kind;
    this.faultLeft = frames;
    const a1 = this.amp[0];
    switch (kind) {
      case "imbalance":
        this.imbalanceGain = this.uniform(2.5, 4);
        break;
      case "misalignment":
        this.misalign2 = a1 * this.uniform(0.8, 1.5);
        this.misalign3 = a1 * this.uniform(0.2, 0.5);
        break;
      case "bearing":
        // Outer-race defect: 3–5 impacts per revolution ring a 1.2–1.8 kHz resonance.
        this.impactRate = this.speedHz * this.uniform(3, 5);
        this.resonanceHz = this.uniform(1200, 1800);
        this.impactAmp = this.uniform(0.6, 1.2);
        // No ring-down before the first impact (at t), and every dt below stays finite.
        this.lastImpact = t;
        this.lastAmp = 0;
        this.nextImpact = t;
        break;
      case "looseness":
        for (let h = 0; h <= LOOSE_LAST; h = h === 0 ? LOOSE_FIRST : h + 1) {
          this.looseAmp[h] = a1 * (h === 0 ? this.uniform(0.2, 0.4) : this.uniform(0.1, 0.25));
          const phase = TWO_PI * this.random();
          this.looseCos[h] = Math.cos(phase);
          this.looseSin[h] = Math.sin(phase);
        }
        break;
    }
  }

  /** Writes the next frame into `out` and returns its label. */
  generate(out: Float64Array, fs: number, rate: number, noise: number, offset: number): {
    injected: VibrationFault | null;
    speedHz: number;
  } {
    const n = out.length;
    const t0 = (this.frame * n) / fs;
    // A scheduled fault takes over from whatever is running; else a random one may start.
    let due: ScheduledVibrationFault | undefined;
    for (let s = this.schedule[this.nextScheduled]; s !== undefined && s.start <= this.frame;) {
      due = s; // of several due at once, the last one listed wins
      s = this.schedule[++this.nextScheduled];
    }
    if (due !== undefined) {
      this.start(due.fault, due.frames, t0);
    } else if (this.fault === null && rate > 0 && this.random() < rate) {
      const kind = VIBRATION_FAULTS[Math.floor(this.random() * VIBRATION_FAULTS.length)]!;
      const frames = FAULT_FRAMES[0] +
        Math.floor(this.random() * (FAULT_FRAMES[1] - FAULT_FRAMES[0] + 1));
      this.start(kind, frames, t0);
    }
    const fault = this.fault;
    const f0 = this.speedHz * (1 + SPEED_JITTER * this.normal());
    const a1 = fault === "imbalance" ? this.amp[0] * this.imbalanceGain : this.amp[0];
    const a2 = fault === "misalignment" ? this.amp[1] + this.misalign2 : this.amp[1];
    const a3 = fault === "misalignment" ? this.amp[2] + this.misalign3 : this.amp[2];
    const [p1, p2, p3] = this.phase;
    const pc1 = Math.cos(p1), ps1 = Math.sin(p1);
    const pc2 = Math.cos(p2), ps2 = Math.sin(p2);
    const pc3 = Math.cos(p3), ps3 = Math.sin(p3);
    const lc = this.looseCos;
    const ls = this.looseSin;
    const c0 = this.cycles;
    const perSample = f0 / fs;
    // Rotating phasors instead of a sine per line and sample: u = e^{iπ·rev} (half the shaft
    // angle: the 0.5× line), e^{ihθ} by complex products, sin(hθ + p) = Im(e^{ihθ}) cos p +
    // Re(e^{ihθ}) sin p. u restarts from cos/sin every frame, so rounding cannot build up
    // beyond one frame of rotations (~1e-13).
    let ur = Math.cos(Math.PI * c0);
    let ui = Math.sin(Math.PI * c0);
    const rr = Math.cos(Math.PI * perSample);
    const ri = Math.sin(Math.PI * perSample);
    for (let i = 0; i < n; i++) {
      const e1r = ur * ur - ui * ui;
      const e1i = 2 * ur * ui;
      const e2r = e1r * e1r - e1i * e1i;
      const e2i = 2 * e1r * e1i;
      const e3r = e2r * e1r - e2i * e1i;
      const e3i = e2r * e1i + e2i * e1r;
      let x = offset + a1 * (e1i * pc1 + e1r * ps1) + a2 * (e2i * pc2 + e2r * ps2) +
        a3 * (e3i * pc3 + e3r * ps3) + noise * this.normal();
      if (fault === "bearing") {
        const t = t0 + i / fs;
        if (t >= this.nextImpact) {
          this.lastImpact = this.nextImpact;
          this.lastAmp = this.impactAmp * this.uniform(0.8, 1.2);
          this.nextImpact += (1 + 0.02 * this.normal()) / this.impactRate;
        }
        // Each impact rings down until the next one (its tail is cut there: < 3 % left).
        const dt = t - this.lastImpact;
        x += this.lastAmp * Math.exp(-dt / BEARING_TAU) * Math.sin(TWO_PI * this.resonanceHz * dt);
      } else if (fault === "looseness") {
        x += this.looseAmp[0]! * (ui * lc[0]! + ur * ls[0]!);
        let er = e3r;
        let ei = e3i;
        for (let h = LOOSE_FIRST; h <= LOOSE_LAST; h++) {
          const nr = er * e1r - ei * e1i;
          ei = er * e1i + ei * e1r;
          er = nr;
          x += this.looseAmp[h]! * (ei * lc[h]! + er * ls[h]!);
        }
      }
      out[i] = x;
      const nr = ur * rr - ui * ri;
      ui = ur * ri + ui * rr;
      ur = nr;
    }
    // Kept in [0, 2) revolutions (the 0.5× line repeats every 2) so the angle never grows and
    // loses digits in a long run.
    this.cycles = (c0 + perSample * n) % 2;
    this.frame++;
    if (fault !== null && --this.faultLeft === 0) this.fault = null;
    return { injected: fault, speedHz: f0 };
  }
}

/**
 * Simulated machines of the `vibration` profile. Each frame of a machine is `frameSize`
 * acceleration samples (m/s²) at `sampleRate`, continuing the previous frame's waveform:
 *
 * - healthy: running speed f0 of 22–28 Hz per machine (±0.1 % jitter per frame), a 1× line of
 *   0.8–1.2 m/s², 2× at 20–30 % and 3× at 8–13 % of it, Gaussian noise σ 0.05 m/s²;
 * - `imbalance`: the 1× amplitude × 2.5–4;
 * - `misalignment`: 2× grows by 0.8–1.5 × the 1× amplitude, 3× by 0.2–0.5 ×;
 * - `bearing`: 3–5 impacts per revolution, each ringing a 1.2–1.8 kHz resonance (τ = 2 ms):
 *   the high band lights up and the kurtosis and crest factor rise;
 * - `looseness`: a 0.5× sub-harmonic and 4× … 10× harmonics appear.
 *
 * Faults start at random ({@linkcode VibrationSimulatorOptions.faultRate}), by schedule, or by
 * {@linkcode VibrationSimulator.inject}; every frame carries its ground truth in `injected`.
 * Machine `m3` draws from its own random stream, so it behaves the same whatever the number of
 * machines.
 */
export class VibrationSimulator {
  /** The seed in use (the random one when none was given). */
  readonly seed: number;
  readonly sampleRate: number;
  readonly frameSize: number;
  readonly #machines: VibrationMachine[] = [];
  readonly #byId = new Map<string, VibrationMachine>();
  #faultRate: number;
  #anomalyLevel: number;

  /** Throws `RangeError` naming a bad option. */
  constructor(options: VibrationSimulatorOptions = {}) {
    const n = checkCount("machines", options.machines ?? 1, 1);
    const seed = options.seed ?? randomSeed();
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    this.seed = seed;
    const fs = options.sampleRate ?? 4000;
    if (typeof fs !== "number" || !(fs > 0) || !Number.isFinite(fs)) {
      throw new RangeError(`sampleRate must be a finite number > 0, got ${String(fs)}`);
    }
    this.sampleRate = fs;
    const frameSize = checkCount("frameSize", options.frameSize ?? 1024, 8);
    if (frameSize > 65536) {
      throw new RangeError(`frameSize must be an integer in 8…65536, got ${frameSize}`);
    }
    this.frameSize = frameSize;
    this.#faultRate = checkUnit("faultRate", options.faultRate ?? 0.01);
    this.#anomalyLevel = checkUnit("anomalyLevel", options.anomalyLevel ?? 0);
    const schedules = new Map<string, ScheduledVibrationFault[]>();
    for (let i = 1; i <= n; i++) schedules.set(`m${i}`, []);
    (options.schedule ?? []).forEach((s, i) => {
      const list = schedules.get(s.machine);
      if (list === undefined) {
        throw new RangeError(`schedule[${i}].machine must be m1…m${n}, got ${String(s.machine)}`);
      }
      list.push({
        machine: s.machine,
        fault: checkFault(`schedule[${i}].fault`, s.fault),
        start: checkCount(`schedule[${i}].start`, s.start, 0),
        frames: checkCount(`schedule[${i}].frames`, s.frames, 1),
      });
    });
    for (let i = 1; i <= n; i++) {
      const id = `m${i}`;
      const list = schedules.get(id)!.sort((a, b) => a.start - b.start);
      const m = new VibrationMachine(id, seed, i, list);
      this.#machines.push(m);
      this.#byId.set(id, m);
    }
  }

  /** Duration of one frame, ms. */
  get frameDurationMs(): number {
    return (1000 * this.frameSize) / this.sampleRate;
  }

  /** Probability per machine and fault-free frame that a random fault starts. */
  get faultRate(): number {
    return this.#faultRate;
  }

  /** Throws `RangeError` outside [0, 1]. */
  set faultRate(value: number) {
    this.#faultRate = checkUnit("faultRate", value);
  }

  /** The noise and offset knob in [0, 1]; takes effect with the next frame. */
  get anomalyLevel(): number {
    return this.#anomalyLevel;
  }

  /** Throws `RangeError` outside [0, 1]. */
  set anomalyLevel(value: number) {
    this.#anomalyLevel = checkUnit("anomalyLevel", value);
  }

  /** The machine ids, `m1` … `mN`. */
  machines(): string[] {
    return this.#machines.map((m) => m.id);
  }

  /** A machine's running speed, Hz (without the per-frame jitter). */
  speedHz(machine: string): number {
    return this.#get(machine).speedHz;
  }

  /** Starts `fault` on `machine` from its next frame, for `frames` frames (replacing any). */
  inject(machine: string, fault: VibrationFault, frames: number): void {
    const m = this.#get(machine);
    m.start(
      checkFault("fault", fault),
      checkCount("frames", frames, 1),
      m.frame * this.frameSize / this.sampleRate,
    );
  }

  /**
   * The next frame of every machine, stamped `time` (epoch ms of the frames' first sample).
   * The waveform continues the previous frame whatever `time` says, as if frames were back to
   * back ({@linkcode VibrationSimulator.frameDurationMs} apart).
   */
  tick(time: number): VibrationTick {
    const n = this.frameSize;
    const samples = new Float64Array(this.#machines.length * n);
    const noise = BASE_NOISE * noiseScale(this.#anomalyLevel);
    const frames: VibrationFrame[] = [];
    this.#machines.forEach((m, i) => {
      const view = samples.subarray(i * n, (i + 1) * n);
      const index = m.frame;
      const { injected, speedHz } = m.generate(
        view,
        this.sampleRate,
        this.#faultRate,
        noise,
        m.bias * this.#anomalyLevel,
      );
      frames.push({ machine: m.id, timestamp: time, index, speedHz, samples: view, injected });
    });
    return { samples, frames };
  }

  #get(machine: string): VibrationMachine {
    const m = this.#byId.get(machine);
    if (m === undefined) {
      throw new RangeError(
        `unknown machine ${JSON.stringify(machine)} (have m1…m${this.#machines.length})`,
      );
    }
    return m;
  }
}
