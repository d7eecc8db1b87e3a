/**
 * The engine's public surface: what `main.ts` and `routes/` may use.
 * @module
 */
export * from "./types.ts";
export * from "./status.ts";
export * from "./state.ts";
export * from "./row_format.ts";
export * from "./logger.ts";
