/**
 * The engine's public surface: what `main.ts` and `routes/` may use.
 * @module
 */
export * from "./types.ts";
export * from "./status.ts";
export * from "./state.ts";
export * from "./row_format.ts";
export * from "./logger.ts";
export * from "./batch.ts";
export * from "./channel_config.ts";
export * from "./config.ts";
export * from "./file_source.ts";
export * from "./kernel_types.ts";
export * from "./output_files.ts";
export * from "./pipeline.ts";
export * from "./reading_format.ts";
export * from "./reading_parser.ts";
export * from "./run.ts";
export * from "./control.ts";
export * from "./history_store.ts";
export * from "./event_hub.ts";
export * from "./metrics.ts";
export * from "./webhook_sink.ts";
export * from "./isolation_forest_model.ts";
export * from "./isolation_forest_reference.ts";
export * from "./isolation_forest_wasm.ts";
export * from "./isolation_forest_train.ts";
export * from "./iforest_commands.ts";
export * from "./serial_port.ts";
export * from "./serial_source.ts";
export * from "./emulate_command.ts";
export * from "./clock.ts";
export * from "./device_status_tracker.ts";
export * from "./heartbeat_monitor.ts";
export * from "./heartbeat_ticks.ts";
export * from "./raw_line.ts";
export * from "./received_line_batch_stream.ts";
export * from "./structured_metrics.ts";
export * from "./mqtt_source.ts";
export * from "./mqtt_publisher.ts";
export * from "./nats_partitions.ts";
export * from "./nats_source.ts";
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
} from "./vibration_types.ts";
export { WasmVibrationFeatures } from "./vibration_features_wasm.ts";
export { ReferenceVibrationFeatures } from "./vibration_features_reference.ts";
export * from "./parquet_source.ts";
export * from "./rate_limit_stream.ts";
export * from "./recorded_input.ts";
export * from "./online_forest.ts";
