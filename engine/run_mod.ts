/**
 * The part of the engine's public surface that resolving settings and running a recorded input
 * needs: what `cli/options.ts`, `cli/replay.ts`, `cli/sinks.ts` and the source registry
 * (`cli/sources.ts`, `cli/simulator_source.ts`) import (`cli/main.ts` imports only the settings'
 * core, engine/core/config.ts and disk_full.ts, and `cli/options.ts` when `start` or `replay`
 * runs: `train`, `score`, `emulate` and `--help` never evaluate this). Every name here is also in
 * `engine/mod.ts`, the whole surface; this entry leaves out what a replay never runs (the
 * history store's SQLite layer, the event hub, metrics, MQTT publishing, evaluation, the
 * training code, the config file's zod schema), so that `replay FILE` loads about 4–5 MiB less
 * heap, which V8 lets grow to 1.5× before a full collection (BENCHMARKS.md, "Replay peak RSS,
 * third pass"). `start` loads engine/mod.ts with its own module. Like engine/mod.ts, only
 * `cli/` and the tests import it.
 * @module
 */

export { EngineState } from "./core/state.ts";
export { FileLogger, type Logger } from "./core/logger.ts";
export { defaultProfileOf, MACHINE_CHANNELS } from "./core/channel_config.ts";
export {
  BOOLEAN_FLAGS,
  ConfigError,
  type EngineConfig,
  parseFlags,
  readConfigFile,
  StartupError,
  UnavailableError,
} from "./core/config.ts";
export { loadConfig } from "./core/load_config.ts";
export { concatStreams, ReadingBatchStream } from "./core/streams.ts";
export { DiskFullError, isDiskFull } from "./core/disk_full.ts";
export { loadModel } from "./kernels/iforest/load_model.ts";
export { type WasmIsolationForest } from "./kernels/iforest/isolation_forest_wasm.ts";
export { WasmVibrationFeatures } from "./kernels/vibration/vibration_features_wasm.ts";
export { openDataDir } from "./pipeline/data_dir.ts";
export { type PipelineCounts } from "./pipeline/pipeline.ts";
export { openRun } from "./pipeline/run.ts";
export { type SourceDefinition, SourceRegistry } from "./sources/source.ts";
export { fileSource } from "./sources/file/mod.ts";
export { serialSource } from "./sources/serial/mod.ts";
export { mqttSource } from "./sources/mqtt/mod.ts";
export { natsSource } from "./sources/nats/mod.ts";
export { RecordedInput } from "./sources/file/recorded_input.ts";
export { inputChannels } from "./sources/file/input_channels.ts";
export { type Sink } from "./sinks/sink.ts";
export { InfluxSink } from "./sinks/influx/influx_sink.ts";
export { WebhookSink } from "./sinks/webhook/webhook_sink.ts";
