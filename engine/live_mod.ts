/**
 * The part of the engine's public surface that the live engine needs: what `cli/start.ts` and
 * the HTTP API (`routes/`) import. Every name here is also in `engine/mod.ts`, the whole
 * surface; this entry leaves out what `start` never runs (the config file's zod schema, the
 * evaluation and training code, the reference twins of the kernels, the Parquet reader's
 * wrapper, the NATS lease), so that the live engine's heap holds less module code, and V8 lets
 * the heap grow to 1.5× its live set before a full collection (BENCHMARKS.md, "Live peak RSS
 * under the MQTT flood"). Like engine/mod.ts, only `cli/`, `routes/` and the tests import it.
 * @module
 */

export {
  type AnomalyEvent,
  MACHINE_STATUSES,
  type ProcessedRow,
  type Reading,
} from "./core/types.ts";
export { StatusTransitionError } from "./core/status.ts";
export { EngineState, NotControllableError, UnknownMachineError } from "./core/state.ts";
export { type Logger, nullLogger } from "./core/logger.ts";
export { StartupError } from "./core/config.ts";
export { FILES } from "./core/files.ts";
export { DiskFullError, diskFullOr } from "./core/disk_full.ts";
export { groupByIncident } from "./core/incidents.ts";
export { ControlUnavailableError, EngineControl } from "./core/control.ts";
export { requireMqttPermissions } from "./core/load_mqtt.ts";
export { rowToObject } from "./formats/row_format.ts";
export { formatReading } from "./formats/reading_format.ts";
export { openDataDir } from "./pipeline/data_dir.ts";
export { openRun, type Run } from "./pipeline/run.ts";
export { FileSource } from "./sources/file/file_source.ts";
export { type SourceContext } from "./sources/source.ts";
export { type Sink } from "./sinks/sink.ts";
export { HistoryStore } from "./sinks/history/history_store.ts";
export { EventHub, EventHubClosedError, TooManyClientsError } from "./sinks/events/event_hub.ts";
export { Metrics } from "./sinks/metrics/metrics.ts";
export { MqttPublisher } from "./sinks/mqtt/mqtt_publisher.ts";
