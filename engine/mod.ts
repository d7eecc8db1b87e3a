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
