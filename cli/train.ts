/**
 * The `train` command: fit a standard scaler and an isolation forest on a CSV, JSONL or Parquet
 * file's numeric columns and write the model. A bad flag, file or value throws a
 * {@linkcode ConfigError} naming it (main exits with code 2).
 * @module
 */
import { ConfigError } from "../engine/core/config.ts";
import { featureMatrix, numericColumns } from "../engine/formats/table.ts";
import {
  DEFAULT_ALARM_QUANTILE,
  serializeModel,
} from "../engine/kernels/iforest/isolation_forest_model.ts";
import { trainIsolationForest } from "../engine/kernels/iforest/isolation_forest_train.ts";
import { readTable } from "../engine/sources/file/table_reader.ts";
import { commandFlags, requiredFlag } from "./_flags.ts";

function integerFlag(
  flags: Record<string, string>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!(raw.trim() !== "" && Number.isInteger(v) && v >= min && v <= max)) {
    throw new ConfigError(
      `bad value for --${name}: ${JSON.stringify(raw)} (an integer in ${min}…${max})`,
    );
  }
  return v;
}

/** `--alarm-quantile Q`: a number in (0, 1]; the default when absent. */
function quantileFlag(flags: Record<string, string>): number {
  const raw = flags["alarm-quantile"];
  if (raw === undefined) return DEFAULT_ALARM_QUANTILE;
  const q = Number(raw);
  if (!(raw.trim() !== "" && q > 0 && q <= 1)) {
    throw new ConfigError(
      `bad value for --alarm-quantile: ${JSON.stringify(raw)} (a number in (0, 1], e.g. 0.995)`,
    );
  }
  return q;
}

async function writeText(path: string, text: string, flag: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, text);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigError(`${flag}: cannot write ${JSON.stringify(path)} (no such directory)`);
    }
    throw e;
  }
}

/**
 * `train --input FILE [--features a,b,c] --out MODEL.json [--seed N] [--trees 100]
 * [--max-samples 256] [--alarm-quantile 0.995]`: fits a standard scaler and an isolation forest
 * on the named columns (default: every numeric column but the time column), calibrates the
 * alarm threshold at the `--alarm-quantile` of the training records' anomaly-ness and writes
 * the model. Resolves with the exit code (0); a bad flag, file or value throws a
 * {@linkcode ConfigError}.
 *
 * @example
 * ```ts
 * await trainCommand(["--input", "data/machines.jsonl", "--out", "model.json", "--seed", "7"]);
 * // stderr: "train: 100 trees, max_samples 256, 6000 records, features temperature,speed,
 * //   alarm threshold -0.6012 (quantile 0.995) -> model.json"
 * ```
 */
export async function trainCommand(args: readonly string[]): Promise<number> {
  const flags = commandFlags("train", args, [
    "input",
    "features",
    "out",
    "seed",
    "trees",
    "max-samples",
    "alarm-quantile",
  ]);
  const input = requiredFlag("train", flags, "input");
  const out = requiredFlag("train", flags, "out");
  const trees = integerFlag(flags, "trees", 1, 100000);
  const maxSamples = integerFlag(flags, "max-samples", 1, 1 << 30);
  const seed = integerFlag(flags, "seed", 0, Number.MAX_SAFE_INTEGER);
  const alarmQuantile = quantileFlag(flags);
  const table = await readTable(input);
  if (table.rows.length === 0) throw new ConfigError(`--input: ${input} has no records`);
  let features: string[];
  if (flags.features !== undefined) {
    features = flags.features.split(",").map((f) => f.trim());
    const empty = features.findIndex((f) => f === "");
    if (empty !== -1 || new Set(features).size !== features.length) {
      throw new ConfigError(
        `bad value for --features: ${JSON.stringify(flags.features)} (distinct column names)`,
      );
    }
  } else {
    features = numericColumns(table);
    if (features.length === 0) throw new ConfigError(`--input: ${input} has no numeric column`);
  }
  const x = featureMatrix(table, features, input);
  const model = trainIsolationForest(x, table.rows.length, features, {
    trees,
    maxSamples,
    seed,
    alarmQuantile,
  });
  await writeText(out, serializeModel(model), "--out");
  console.error(
    `train: ${model.trees.length} trees, max_samples ${model.max_samples}, ` +
      `${table.rows.length} records, features ${features.join(",")}, ` +
      `alarm threshold ${model.alarm_threshold!.toFixed(4)} (quantile ${alarmQuantile}) -> ${out}`,
  );
  return 0;
}
