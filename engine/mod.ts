/**
 * The engine's public surface: what `main.ts` and `routes/` may use.
 * @module
 */
export * from "./core/types.ts";
export * from "./core/status.ts";
export * from "./core/state.ts";
export * from "./formats/row_format.ts";
export * from "./core/logger.ts";
export * from "./core/batch.ts";
export * from "./core/channel_config.ts";
export * from "./core/config.ts";
export * from "./sources/file/file_source.ts";
export * from "./kernels/rolling/kernel_types.ts";
export * from "./pipeline/output_files.ts";
export * from "./pipeline/data_dir.ts";
export * from "./pipeline/pipeline.ts";
export * from "./formats/reading_format.ts";
export * from "./formats/reading_parser.ts";
export * from "./formats/csv.ts";
export * from "./pipeline/run.ts";
export * from "./core/streams.ts";
export * from "./core/files.ts";
export * from "./core/input_format.ts";
export * from "./sources/source.ts";
export { fileSource } from "./sources/file/mod.ts";
export { serialSource } from "./sources/serial/mod.ts";
export { mqttSource } from "./sources/mqtt/mod.ts";
export { natsSource } from "./sources/nats/mod.ts";
export * from "./core/control.ts";
export * from "./sinks/sink.ts";
export * from "./sinks/history/history_store.ts";
export * from "./sinks/events/event_hub.ts";
export * from "./sinks/metrics/metrics.ts";
export * from "./sinks/webhook/webhook_sink.ts";
export * from "./kernels/iforest/isolation_forest_model.ts";
export * from "./kernels/iforest/isolation_forest_reference.ts";
export * from "./kernels/iforest/isolation_forest_wasm.ts";
export * from "./kernels/iforest/isolation_forest_train.ts";
export * from "./kernels/iforest/load_model.ts";
export * from "./sources/serial/serial_port.ts";
export * from "./sources/serial/serial_source.ts";
export * from "./core/clock.ts";
export * from "./detect/device_status_tracker.ts";
export * from "./detect/heartbeat_monitor.ts";
export * from "./core/heartbeat_ticks.ts";
export * from "./formats/raw_line.ts";
export * from "./formats/received_line_batch_stream.ts";
export * from "./formats/structured_metrics.ts";
export * from "./sources/mqtt/mqtt_source.ts";
export * from "./sinks/mqtt/mqtt_publisher.ts";
export * from "./sources/nats/nats_partitions.ts";
export * from "./sources/nats/nats_source.ts";
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
export * from "./sources/file/parquet_source.ts";
export * from "./sources/file/rate_limit_stream.ts";
export * from "./sources/file/recorded_input.ts";
export * from "./detect/online_forest.ts";
export { loadMqtt, requireMqttPermissions } from "./core/load_mqtt.ts";
export * from "./eval/alarm_rows.ts";
export * from "./eval/eval_report.ts";
export * from "./eval/layout.ts";
export { readNabCorpus, readSkabCorpus, stripSkabLabelColumns } from "./eval/labelled_data.ts";
export { SKAB_TRAIN_ROWS } from "./eval/skab_metrics.ts";
