/**
 * The live settings behind `GET /control` and `POST /control`: what an operator may change
 * while the engine runs, each applied at once.
 * @module
 */

/** The settings as `/control` shows them; `null` where this engine has no such knob. */
export interface ControlSettings {
  /** Whether the simulator is producing readings. */
  running: boolean | null;
  /** |z| above which a reading is an anomaly. */
  z_threshold: number | null;
  /** The simulator's noise knob, 0…1. */
  anomaly_level: number | null;
  /** The simulator's fault probability per machine and tick, 0…1. */
  fault_rate: number | null;
  /** Points in each z-score model (`--model-size` at start). */
  model_size: number;
  /** Readings in the moving window (set at start with `--window`). */
  window: number;
}

/** The settings `POST /control` may change. */
export interface ControlPatch {
  running?: boolean;
  z_threshold?: number;
  anomaly_level?: number;
  fault_rate?: number;
  model_size?: number;
}

/** What the control acts on; a missing member is a knob this engine does not have. */
export interface ControlTargets {
  /** Changes the z threshold of the analysis. */
  setZThreshold?: (z: number) => void;
  zThreshold?: number;
  /** The simulator's knobs. */
  simulator?: { anomalyLevel: number; faultRate: number };
  /** The live source's pause switch. */
  source?: { paused: boolean };
  modelSize: number;
  /** Changes the model size (every z-score model restarts with the new size). */
  setModelSize?: (n: number) => void;
  window: number;
}

/** Thrown for a setting this engine does not have (e.g. `anomaly_level` without a simulator). */
export class ControlUnavailableError extends Error {
  constructor(readonly setting: string) {
    super(`${setting} cannot be changed here: this engine has no such setting`);
    this.name = "ControlUnavailableError";
  }
}

/** Reads and applies the live settings. */
export class EngineControl {
  readonly #t: ControlTargets;
  #z: number | null;
  #modelSize: number;

  constructor(targets: ControlTargets) {
    this.#t = targets;
    this.#z = targets.setZThreshold ? targets.zThreshold ?? null : null;
    this.#modelSize = targets.modelSize;
  }

  /** The current settings. */
  get(): ControlSettings {
    const t = this.#t;
    return {
      running: t.source ? !t.source.paused : null,
      z_threshold: this.#z,
      anomaly_level: t.simulator?.anomalyLevel ?? null,
      fault_rate: t.simulator?.faultRate ?? null,
      model_size: this.#modelSize,
      window: t.window,
    };
  }

  /**
   * Applies a validated patch: every setting is checked to exist before any is changed, so a
   * refused patch changes nothing. Throws {@linkcode ControlUnavailableError}.
   */
  apply(patch: ControlPatch): ControlSettings {
    const t = this.#t;
    if (patch.running !== undefined && !t.source) throw new ControlUnavailableError("running");
    if (patch.z_threshold !== undefined && !t.setZThreshold) {
      throw new ControlUnavailableError("z_threshold");
    }
    for (const k of ["anomaly_level", "fault_rate"] as const) {
      if (patch[k] !== undefined && !t.simulator) throw new ControlUnavailableError(k);
    }
    if (patch.model_size !== undefined && !t.setModelSize) {
      throw new ControlUnavailableError("model_size");
    }
    if (patch.running !== undefined) t.source!.paused = !patch.running;
    if (patch.z_threshold !== undefined) {
      t.setZThreshold!(patch.z_threshold);
      this.#z = patch.z_threshold;
    }
    if (patch.anomaly_level !== undefined) t.simulator!.anomalyLevel = patch.anomaly_level;
    if (patch.fault_rate !== undefined) t.simulator!.faultRate = patch.fault_rate;
    // Only an actual change restarts the models.
    if (patch.model_size !== undefined && patch.model_size !== this.#modelSize) {
      t.setModelSize!(patch.model_size);
      this.#modelSize = patch.model_size;
    }
    return this.get();
  }
}
