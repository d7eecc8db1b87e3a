/**
 * The settings of `start` and `replay` as the CLI resolves them: without zod when it can
 * (`plainConfig`), else with the schema, loaded then (config_schema.ts).
 * @module
 */
import { type EngineConfig, plainConfig, type ResolveHints } from "./config.ts";

/**
 * Resolves flags over a config file's values as `resolveConfig` (engine/core/config_schema.ts)
 * does, with the same result and the same errors, loading zod only when a config file has
 * values or a flag's value is not a plain valid one.
 *
 * @example
 * ```ts
 * import { loadConfig } from "./load_config.ts";
 *
 * (await loadConfig({ machines: "3" }, {})).machines; // 3, zod not loaded
 * ```
 */
export async function loadConfig(
  flags: Record<string, string | true>,
  fileValues: Record<string, unknown>,
  env: { VIGIL_TOKEN?: string } = {},
  hints: ResolveHints = {},
): Promise<EngineConfig> {
  return plainConfig(flags, fileValues, env, hints) ??
    (await import("./config_schema.ts")).resolveConfig(flags, fileValues, env, hints);
}
