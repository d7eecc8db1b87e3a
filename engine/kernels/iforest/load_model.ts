/**
 * The `--model FILE` loader of every command that takes one (`start`, `replay`, `score`).
 * @module
 */
import { ConfigError } from "../../core/config.ts";
import { ModelError } from "./isolation_forest_model.ts";
import { WasmIsolationForest } from "./isolation_forest_wasm.ts";

/**
 * Reads the model file at `path`, validates it (`parseModel` of model_validation.ts, then the WASM kernel's
 * own checks) and loads it into a {@linkcode WasmIsolationForest} ready to score (4,096 records
 * per WASM call). Each problem is one {@linkcode ConfigError} naming the flag and the file:
 *
 * - `bad value for --model: "m.json" does not exist`
 * - `bad value for --model: "models" is not a file`
 * - `bad value for --model: "m.json": not JSON: …` (or the first bad field, e.g.
 *   `trees[3].feature[7]: 9 is not in 0…7`)
 *
 * A missing permission is not caught: `Deno.errors.NotCapable` or `PermissionDenied` reaches
 * the caller as such.
 *
 * @example
 * ```ts
 * const forest = await loadModel("data/model.json");
 * forest.model.features; // ["temperature", "speed"]
 * const { scoreSamples } = forest.score(rows, n); // rows: n × features, row-major
 * ```
 */
export async function loadModel(path: string): Promise<WasmIsolationForest> {
  const bad = (problem: string) =>
    new ConfigError(`bad value for --model: ${JSON.stringify(path)}${problem}`);
  let text: string;
  try {
    if (!(await Deno.stat(path)).isFile) throw bad(" is not a file");
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw bad(" does not exist");
    throw e;
  }
  // Loaded here, with the file: a run without --model never loads zod (model_validation.ts).
  const { parseModel } = await import("./model_validation.ts");
  try {
    return new WasmIsolationForest(parseModel(text));
  } catch (e) {
    // RangeError: the kernel's checks of the flattened trees (`model: …`).
    if (e instanceof ModelError || e instanceof RangeError) throw bad(`: ${e.message}`);
    throw e;
  }
}
