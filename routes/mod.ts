/**
 * Vigil's HTTP API: {@linkcode createApp} builds the Hono app over the engine's state.
 * @module
 */
export { type ApiOptions, createApp } from "./app.ts";
export { ASSET_NAMES, staticRoutes } from "./static.ts";
