/**
 * The machine simulator: the deterministic core, batch generation and the live source.
 * @module
 */
export {
  DWELL_TICKS,
  FAULT_KINDS,
  type FaultKind,
  MACHINE_PROFILE,
  MachineSimulator,
  type MachineSimulatorOptions,
  NEXT_STATUS,
  noiseScale,
} from "./machine_simulator.ts";
export { type GenerateOptions, generateReadings } from "./generate.ts";
export { SimulatorSource, type SimulatorSourceOptions } from "./simulator_source.ts";
export { createGaussian, createPrng, type Random, randomSeed } from "./prng.ts";
export {
  type ScheduledVibrationFault,
  VIBRATION_FAULTS,
  type VibrationFault,
  type VibrationFrame,
  VibrationSimulator,
  type VibrationSimulatorOptions,
  type VibrationTick,
} from "./vibration_simulator.ts";
export {
  featureReadings,
  VibrationSource,
  type VibrationSourceOptions,
} from "./vibration_source.ts";
