/**
 * The engine's public surface, as named exports: what `cli/`, `routes/` and the tests (which
 * use the engine as its users do) may import. Anything not named here is internal to
 * `engine/`; `tests/unit/architecture_test.ts` keeps `routes/` from reaching around it.
 * @module
 */

// Core: types, state, settings, logging, the data directory's names
export {
  type AnomalyEvent,
  MACHINE_STATUSES,
  type MachineStatus,
  type ProcessedRow,
  type Reading,
  type Severity,
} from "./core/types.ts";
export { StatusTransitionError, TRANSITIONS } from "./core/status.ts";
export {
  EngineState,
  type MachineController,
  NotControllableError,
  UnknownMachineError,
} from "./core/state.ts";
export { FileLogger, type Logger, type LogLevel, nullLogger } from "./core/logger.ts";
export { type Batch, type EventfulBatch } from "./core/batch.ts";
export {
  type ChannelConfig,
  defaultProfileOf,
  DEVICE_CHANNELS,
  MACHINE_CHANNELS,
  VIBRATION_CHANNELS,
} from "./core/channel_config.ts";
export {
  BOOLEAN_FLAGS,
  ConfigError,
  type EngineConfig,
  type FlagSpec,
  formatOf,
  KNOWN_FLAGS,
  parseFlags,
  plainConfig,
  readConfigFile,
  StartupError,
  UnavailableError,
} from "./core/config.ts";
export { resolveConfig } from "./core/config_schema.ts";
export { loadConfig } from "./core/load_config.ts";
export { concatStreams, ReadingBatchStream } from "./core/streams.ts";
export { FILES } from "./core/files.ts";
export { DiskFullError, diskFullOr, isDiskFull } from "./core/disk_full.ts";
export { type ActiveAlarm, type ActiveAlarmFilter, ActiveAlarms } from "./core/active_alarms.ts";
export {
  DEFAULT_INCIDENT_WINDOW_MS,
  groupByIncident,
  type IncidentGroup,
  Incidents,
  type IncidentsOptions,
} from "./core/incidents.ts";
export { ControlUnavailableError, EngineControl } from "./core/control.ts";
export { type Clock } from "./core/clock.ts";
export { withHeartbeatTicks } from "./core/heartbeat_ticks.ts";
export { loadMqtt, requireMqttPermissions } from "./core/load_mqtt.ts";

// Formats: parsers and writers
export { structuredMetricsLine } from "./formats/structured_metrics.ts";
export { rowToObject } from "./formats/row_format.ts";
export { formatReading } from "./formats/reading_format.ts";
export { createLineParser, type ParseResult, parseTime } from "./formats/reading_parser.ts";
export { csvLine, splitCsv } from "./formats/csv.ts";
export { formatRawLine, parseRawLine } from "./formats/raw_line.ts";
export {
  type DeviceNotice,
  ReceivedLineBatchStream,
  type ReceivedLineItem,
} from "./formats/received_line_batch_stream.ts";
export { LineSplitter } from "./formats/line_splitter.ts";

// Kernels: WASM hosts and their reference twins
export {
  FLAG,
  type Kernel,
  type KernelInput,
  type KernelOptions,
  type KernelOutput,
} from "./kernels/rolling/kernel_types.ts";
export {
  alarmThresholdAt,
  averagePathLength,
  DEFAULT_ALARM_QUANTILE,
  isForestAlarm,
  type IsolationForestModel,
  ModelError,
  serializeModel,
} from "./kernels/iforest/isolation_forest_model.ts";
export { parseModel, validateModel } from "./kernels/iforest/model_validation.ts";
export { scoreReference } from "./kernels/iforest/isolation_forest_reference.ts";
export { WasmIsolationForest } from "./kernels/iforest/isolation_forest_wasm.ts";
export { trainIsolationForest } from "./kernels/iforest/isolation_forest_train.ts";
export { loadModel } from "./kernels/iforest/load_model.ts";
export {
  DEFAULT_VIBRATION_BANDS,
  type FrequencyBand,
  type ResolvedVibrationOptions,
  resolveVibrationOptions,
  VIBRATION_DEFAULTS,
  VIBRATION_FIXED_FEATURES,
  type VibrationFeatureExtractor,
  type VibrationFeatureOptions,
  type VibrationWindow,
} from "./kernels/vibration/vibration_types.ts";
export { WasmVibrationFeatures } from "./kernels/vibration/vibration_features_wasm.ts";
export { ReferenceVibrationFeatures } from "./kernels/vibration/vibration_features_reference.ts";
export { ROLLING_ARRAYS, WasmKernel } from "./kernels/rolling/kernel_wasm.ts";
export { ReferenceKernel } from "./kernels/rolling/kernel_reference.ts";
export {
  ADAPTIVE_DEFAULTS,
  ADAPTIVE_FLAG,
  type AdaptiveDetector,
  type AdaptiveInput,
  type AdaptiveOptions,
} from "./kernels/adaptive/adaptive_types.ts";
export { WasmAdaptiveDetector } from "./kernels/adaptive/adaptive_wasm.ts";
export { ReferenceAdaptiveDetector } from "./kernels/adaptive/adaptive_reference.ts";

// Detection
export { HeartbeatMonitor } from "./detect/heartbeat_monitor.ts";
export { OnlineForests } from "./detect/online_forest.ts";
export { Analyzer, type AnalyzerOptions } from "./detect/analyzer.ts";

// Pipeline: runs, checkpoints, stream stages
export { type DataDir, LOCK_FILES, openDataDir } from "./pipeline/data_dir.ts";
export { type PipelineCounts } from "./pipeline/pipeline.ts";
export { openRun, type Run } from "./pipeline/run.ts";

// Sources: the registry and each source
export { FileSource } from "./sources/file/file_source.ts";
export { type SourceContext, type SourceDefinition, SourceRegistry } from "./sources/source.ts";
export { fileSource } from "./sources/file/mod.ts";
export { serialSource } from "./sources/serial/mod.ts";
export { mqttSource } from "./sources/mqtt/mod.ts";
export { natsSource } from "./sources/nats/mod.ts";
export { SerialError, SerialPort } from "./sources/serial/serial_port.ts";
export { type SerialItem, SerialSource } from "./sources/serial/serial_source.ts";
export { type MqttParseError, MqttSource } from "./sources/mqtt/mqtt_source.ts";
export { ensureStream, natsServerConfig, partitionOf } from "./sources/nats/nats_partitions.ts";
export { NatsSource } from "./sources/nats/nats_source.ts";
export {
  NATS_LEASE_BUCKET,
  NatsLease,
  NatsLeaseHeldError,
  NatsLeaseLostError,
} from "./sources/nats/nats_lease.ts";
export { ParquetSource } from "./sources/file/parquet_source.ts";
export { RateLimitStream } from "./sources/file/rate_limit_stream.ts";
export { RecordedInput } from "./sources/file/recorded_input.ts";
export { inputChannels } from "./sources/file/input_channels.ts";

// Sinks: the interface and each sink
export { type DeliveryStats, type Sink } from "./sinks/sink.ts";
export { InfluxSink, type InfluxSinkOptions } from "./sinks/influx/influx_sink.ts";
export {
  ANOMALY_LIST_SIZE,
  HistoryStore,
  type HistoryStoreOptions,
  MAX_OUTLIERS,
} from "./sinks/history/history_store.ts";
export { EventHub, EventHubClosedError, TooManyClientsError } from "./sinks/events/event_hub.ts";
export { Metrics } from "./sinks/metrics/metrics.ts";
export { WebhookSink, type WebhookSinkOptions } from "./sinks/webhook/webhook_sink.ts";
export { MqttPublisher } from "./sinks/mqtt/mqtt_publisher.ts";

// Evaluation on labelled data
export {
  type AlarmEvent,
  alarmRows,
  alarmStateRows,
  parseAnomalyLines,
} from "./eval/alarm_rows.ts";
export {
  formatNabTable,
  formatSkabTable,
  type NabReport,
  nabReport,
  type SkabReport,
  skabReport,
} from "./eval/eval_report.ts";
export { detectLabelledLayout, type LabelledLayout } from "./eval/layout.ts";
export { readNabCorpus, readSkabCorpus, stripSkabLabelColumns } from "./eval/labelled_data.ts";
export { SKAB_TRAIN_ROWS } from "./eval/skab_metrics.ts";
