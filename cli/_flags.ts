/**
 * Flag parsing shared by the `train` and `score` commands (private to `cli/`): only the allowed
 * flags, each with a value, no positional argument; every problem a {@linkcode ConfigError}
 * naming the command and the flag.
 * @module
 */
import { ConfigError, parseFlags } from "../engine/core/config.ts";

/**
 * Parses `args`, allowing only `allowed` flags (each with a value) and no positionals.
 *
 * @example
 * ```ts
 * commandFlags("score", ["--model", "m.json", "--input", "in.csv"], ["model", "input", "out"]);
 * // { model: "m.json", input: "in.csv" }
 * commandFlags("score", ["--colour", "red"], ["model"]); // ConfigError "score: unknown flag --colour; flags: --model"
 * ```
 */
export function commandFlags(
  command: string,
  args: readonly string[],
  allowed: readonly string[],
): Record<string, string> {
  const { flags, positional } = parseFlags(args, {
    values: allowed,
    unknown: (name) =>
      `${command}: unknown flag --${name}; flags: ${allowed.map((a) => "--" + a).join(", ")}`,
  });
  if (positional.length > 0) {
    throw new ConfigError(`${command}: unexpected argument ${JSON.stringify(positional[0])}`);
  }
  // No boolean flag here: every value is a string (the filter only narrows the type).
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(flags)) if (typeof v === "string") out[k] = v;
  return out;
}

/**
 * The value of a required flag; absent or empty is a {@linkcode ConfigError}.
 *
 * @example
 * ```ts
 * requiredFlag("train", { input: "in.csv" }, "input"); // "in.csv"
 * requiredFlag("train", {}, "out"); // ConfigError "train: --out is required"
 * ```
 */
export function requiredFlag(
  command: string,
  flags: Record<string, string>,
  name: string,
): string {
  const v = flags[name];
  if (v === undefined || v === "") throw new ConfigError(`${command}: --${name} is required`);
  return v;
}
