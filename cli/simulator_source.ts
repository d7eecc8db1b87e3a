/**
 * The `simulator` source (the default): simulated machines (or vibration frames turned into
 * feature readings with `--profile vibration`) appended to `stream_output.jsonl` and processed
 * from there; `--processor-only` follows a log another process writes.
 *
 * It is defined here, not under `engine/sources/`, because it joins `simulator/` (which the
 * engine must not import) with an engine kernel (vibration features); it is registered in
 * `cli/sources.ts` like every other source.
 * @module
 */
import {
  concatStreams,
  ReadingBatchStream,
  type SourceDefinition,
  WasmVibrationFeatures,
} from "../engine/run_mod.ts";

/**
 * `--source simulator`.
 *
 * @example
 * ```ts
 * import { SourceRegistry } from "../engine/run_mod.ts";
 * import { simulatorSource } from "./simulator_source.ts";
 *
 * new SourceRegistry().register(simulatorSource).get("simulator");
 * ```
 */
export const simulatorSource: SourceDefinition = {
  scheme: "simulator",
  usage: "simulator",
  async open({ config, state, signal }) {
    // Imported when opened: the registry (and so every replay) loads only this definition.
    const { MachineSimulator, SimulatorSource, VibrationSimulator, VibrationSource } = await import(
      "../simulator/mod.ts"
    );
    const simulated = !config.processorOnly;
    const options = {
      machines: config.machines,
      seed: config.seed ?? undefined,
      faultRate: config.faultRate,
    };
    // The vibration profile simulates waveforms and turns each frame into one feature reading.
    const vibration = simulated && config.profile === "vibration"
      ? new VibrationSimulator(options)
      : null;
    const simulator = simulated && config.profile !== "vibration"
      ? new MachineSimulator(options)
      : null;
    // The readings start only after history is re-read; a pause asked for before that is
    // remembered and applied when they start.
    let running: { paused: boolean } | null = null;
    let pausedWanted = false;
    const pauseSwitch = {
      get paused() {
        return running?.paused ?? pausedWanted;
      },
      set paused(value: boolean) {
        pausedWanted = value;
        if (running) running.paused = value;
      },
    };
    const liveReadings = () => {
      if (vibration) {
        const source = new VibrationSource({
          simulator: vibration,
          extractor: new WasmVibrationFeatures({ batchCapacity: Math.max(64, config.machines) }),
          signal,
        });
        source.paused = pausedWanted;
        running = source;
        state.setSource({ name: "simulator", state: "running", readings: 0, errors: 0 });
        return source.readable;
      }
      const source = new SimulatorSource({
        simulator: simulator!,
        intervalMs: config.interval * 1000,
        signal,
      });
      source.paused = pausedWanted;
      running = source;
      state.setController(source);
      state.setSource({ name: "simulator", state: "running", readings: 0, errors: 0 });
      return source.readable;
    };
    // The simulator's knobs for /control (anomaly level, fault rate), whichever profile runs.
    const knobs = simulator ?? vibration;
    return {
      id: "log",
      name: knobs ? "simulator" : "log",
      streamDerived: false,
      controls: knobs ? { simulator: knobs, source: pauseSwitch } : undefined,
      readingsOnly: knobs ? liveReadings : undefined,
      batches(resume) {
        if (!knobs) {
          state.setSource({ name: "log", state: "running", readings: 0, errors: 0 });
          return resume.log({ follow: config.processorOnly });
        }
        return concatStreams(
          resume.log(),
          () => liveReadings().pipeThrough(new ReadingBatchStream()),
        );
      },
    };
  },
};
