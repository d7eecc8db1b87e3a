/**
 * The `score` command: score every record of a CSV, JSONL or Parquet file with an
 * isolation-forest model, as CSV. A bad flag, file or value throws a {@linkcode ConfigError}
 * naming it (main exits with code 2).
 * @module
 */
import { ConfigError } from "../engine/core/config.ts";
import { csvLine, csvValue } from "../engine/formats/csv.ts";
import { featureMatrix } from "../engine/formats/table.ts";
import { loadModel } from "../engine/kernels/iforest/load_model.ts";
import { readTable } from "../engine/sources/file/table_reader.ts";
import { commandFlags, requiredFlag } from "./_flags.ts";

/** Bytes of CSV text buffered before each write of the output. */
const WRITE_CHUNK = 1 << 16;

/**
 * `score --model MODEL.json --input FILE [--out FILE]`: writes a CSV of the input's columns
 * followed by `score_samples,decision_function`, one row per record in input order, to
 * `--out` or stdout. Resolves with the exit code (0).
 *
 * @example
 * ```ts
 * await scoreCommand(["--model", "model.json", "--input", "data/machines.csv", "--out", "s.csv"]);
 * // s.csv: timestamp,machine,…,score_samples,decision_function
 * ```
 */
export async function scoreCommand(args: readonly string[]): Promise<number> {
  const flags = commandFlags("score", args, ["model", "input", "out"]);
  const forest = await loadModel(requiredFlag("score", flags, "model"));
  const input = requiredFlag("score", flags, "input");
  const table = await readTable(input);
  const x = featureMatrix(table, forest.model.features, input);
  const { scoreSamples, decisionFunction } = forest.score(x, table.rows.length);

  const file = flags.out === undefined ? null : await (async () => {
    try {
      return await Deno.open(flags.out!, { write: true, create: true, truncate: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new ConfigError(`--out: cannot write ${JSON.stringify(flags.out)}`);
      }
      throw e;
    }
  })();
  const sink = file ?? Deno.stdout;
  const encoder = new TextEncoder();
  const write = async (s: string) => {
    const b = encoder.encode(s);
    for (let off = 0; off < b.length;) off += await sink.write(b.subarray(off));
  };
  try {
    let buf = csvLine([...table.columns, "score_samples", "decision_function"]) + "\n";
    for (let i = 0; i < table.rows.length; i++) {
      buf += csvLine([...table.rows[i]!.map(csvValue), scoreSamples[i], decisionFunction[i]]) +
        "\n";
      if (buf.length >= WRITE_CHUNK) {
        await write(buf);
        buf = "";
      }
    }
    await write(buf);
  } finally {
    file?.close();
  }
  return 0;
}
