/**
 * The `train` and `score` commands: read a CSV, JSONL or Parquet file, fit an isolation
 * forest (`train`) or score every record with one (`score`). Each parses its own flags; a bad
 * flag, file or value throws a {@linkcode ConfigError} naming it (main exits with code 2).
 * @module
 */
import { parquetReadObjects } from "hyparquet";
import { ConfigError, parseFlags } from "../engine/core/config.ts";
import {
  type IsolationForestModel,
  parseModel,
  serializeModel,
} from "../engine/kernels/iforest/isolation_forest_model.ts";
import { trainIsolationForest } from "../engine/kernels/iforest/isolation_forest_train.ts";
import { WasmIsolationForest } from "../engine/kernels/iforest/isolation_forest_wasm.ts";
import { splitCsv } from "../engine/formats/reading_parser.ts";
import { csvLine, csvValue } from "../engine/formats/csv.ts";

/**
 * Largest input file read, in bytes: the commands hold the file (and one row of cells per
 * record) in memory, so a bigger one is refused with a clear message rather than an
 * out-of-memory crash.
 */
const MAX_INPUT_BYTES = 1 << 30;

/** Records scored per WASM call. */
const SCORE_BATCH = 4096;

/** Bytes of CSV text buffered before each write of `score`'s output. */
const WRITE_CHUNK = 1 << 16;

/** A file's records as columns and rows of cells (strings from CSV, JSON values otherwise). */
interface Table {
  columns: string[];
  rows: unknown[][];
}

function countOf(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i !== -1; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

function parseCsv(text: string, path: string): Table {
  const lines = text.split(/\r?\n/);
  const headerLine = lines.find((l) => l.trim() !== "");
  if (headerLine === undefined) throw new ConfigError(`${path}: the CSV file is empty`);
  // The separator is sniffed from the header, as the engine's CSV reader does.
  const sep = countOf(headerLine, ";") > countOf(headerLine, ",") ? ";" : ",";
  const columns = splitCsv(headerLine.replace(/^\uFEFF/, ""), sep).map((h) => h.trim());
  const rows: unknown[][] = [];
  let seenHeader = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    if (!seenHeader) {
      seenHeader = true;
      continue;
    }
    const cells = splitCsv(line, sep);
    if (cells.length !== columns.length) {
      throw new ConfigError(
        `${path}: line ${i + 1} has ${cells.length} columns, the header has ${columns.length}`,
      );
    }
    rows.push(cells);
  }
  return { columns, rows };
}

/** Rows of objects (JSONL, Parquet) as a table: columns in order of first appearance. */
function tableOfObjects(objects: readonly Record<string, unknown>[]): Table {
  const index = new Map<string, number>();
  for (const o of objects) {
    for (const k of Object.keys(o)) if (!index.has(k)) index.set(k, index.size);
  }
  const columns = [...index.keys()];
  const rows = objects.map((o) => columns.map((c) => o[c]));
  return { columns, rows };
}

function parseJsonl(text: string, path: string): Table {
  const objects: Record<string, unknown>[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new ConfigError(`${path}: line ${i + 1} is not JSON (${(e as Error).message})`);
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw new ConfigError(`${path}: line ${i + 1} is not a JSON object`);
    }
    objects.push(v as Record<string, unknown>);
  }
  return tableOfObjects(objects);
}

/** Reads a CSV (`,` or `;`), JSONL or Parquet file, chosen by extension (CSV otherwise). */
async function readTable(path: string): Promise<Table> {
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new ConfigError(`--input: ${JSON.stringify(path)} is not a file`);
    if (info.size > MAX_INPUT_BYTES) {
      throw new ConfigError(`--input: ${JSON.stringify(path)} is over ${MAX_INPUT_BYTES} bytes`);
    }
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigError(`--input: no such file ${JSON.stringify(path)}`);
    }
    throw e;
  }
  const lower = path.toLowerCase();
  if (lower.endsWith(".parquet") || lower.endsWith(".pq")) {
    try {
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      const objects = await parquetReadObjects({ file: file as ArrayBuffer });
      return tableOfObjects(objects as Record<string, unknown>[]);
    } catch (e) {
      throw new ConfigError(`${path}: not a readable Parquet file (${(e as Error).message})`);
    }
  }
  const text = new TextDecoder().decode(bytes);
  if (lower.endsWith(".jsonl") || lower.endsWith(".json") || lower.endsWith(".ndjson")) {
    return parseJsonl(text, path);
  }
  return parseCsv(text, path);
}

/** A cell as a number: numbers, bigints and numeric strings; NaN otherwise. */
function numberOf(cell: unknown): number {
  if (typeof cell === "number") return cell;
  if (typeof cell === "bigint") return Number(cell);
  if (typeof cell === "string") {
    const s = cell.trim();
    return s === "" ? NaN : Number(s);
  }
  return NaN;
}

/** Columns never used as features by default: the time column. */
const TIME_COLUMNS = new Set(["timestamp", "datetime"]);

/** Every column whose cells are all finite numbers (the time column excluded). */
function numericColumns(t: Table): string[] {
  return t.columns.filter((c, j) =>
    !TIME_COLUMNS.has(c.toLowerCase()) && t.rows.length > 0 &&
    t.rows.every((r) => Number.isFinite(numberOf(r[j])))
  );
}

/** The named columns of every row as one row-major `Float64Array`. */
function featureMatrix(t: Table, features: readonly string[], path: string): Float64Array {
  const cols = features.map((f) => {
    const j = t.columns.indexOf(f);
    if (j === -1) {
      throw new ConfigError(
        `${path}: no column ${JSON.stringify(f)}; columns: ${t.columns.join(", ")}`,
      );
    }
    return j;
  });
  const d = cols.length;
  const x = new Float64Array(t.rows.length * d);
  t.rows.forEach((r, i) => {
    for (let k = 0; k < d; k++) {
      const v = numberOf(r[cols[k]!]);
      if (!Number.isFinite(v)) {
        throw new ConfigError(
          `${path}: record ${i + 1}, column ${features[k]}: ${
            JSON.stringify(r[cols[k]!] ?? null)
          } is not a finite number`,
        );
      }
      x[i * d + k] = v;
    }
  });
  return x;
}

/** Parses `args`, allowing only `allowed` flags and no positionals. */
function flagsOf(
  command: string,
  args: readonly string[],
  allowed: readonly string[],
): Record<string, string> {
  const { flags, positional } = parseFlags(args);
  if (positional.length > 0) {
    throw new ConfigError(`${command}: unexpected argument ${JSON.stringify(positional[0])}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(flags)) {
    if (!allowed.includes(k)) {
      throw new ConfigError(
        `${command}: unknown flag --${k}; flags: ${allowed.map((a) => "--" + a).join(", ")}`,
      );
    }
    if (v === true) throw new ConfigError(`${command}: flag --${k} needs a value`);
    out[k] = v;
  }
  return out;
}

function required(command: string, flags: Record<string, string>, name: string): string {
  const v = flags[name];
  if (v === undefined || v === "") throw new ConfigError(`${command}: --${name} is required`);
  return v;
}

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
 * [--max-samples 256]`: fits a standard scaler and an isolation forest on the named columns
 * (default: every numeric column but the time column) and writes the model. Resolves with
 * the exit code (0); a bad flag, file or value throws a {@linkcode ConfigError}.
 */
export async function trainCommand(args: readonly string[]): Promise<number> {
  const flags = flagsOf("train", args, [
    "input",
    "features",
    "out",
    "seed",
    "trees",
    "max-samples",
  ]);
  const input = required("train", flags, "input");
  const out = required("train", flags, "out");
  const trees = integerFlag(flags, "trees", 1, 100000);
  const maxSamples = integerFlag(flags, "max-samples", 1, 1 << 30);
  const seed = integerFlag(flags, "seed", 0, Number.MAX_SAFE_INTEGER);
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
  const model = trainIsolationForest(x, table.rows.length, features, { trees, maxSamples, seed });
  await writeText(out, serializeModel(model), "--out");
  console.error(
    `train: ${model.trees.length} trees, max_samples ${model.max_samples}, ` +
      `${table.rows.length} records, features ${features.join(",")} -> ${out}`,
  );
  return 0;
}

async function readModel(path: string): Promise<IsolationForestModel> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigError(`--model: no such file ${JSON.stringify(path)}`);
    }
    throw e;
  }
  try {
    return parseModel(text);
  } catch (e) {
    throw new ConfigError(`--model: ${path}: ${(e as Error).message}`);
  }
}

/**
 * `score --model MODEL.json --input FILE [--out FILE]`: writes a CSV of the input's columns
 * followed by `score_samples,decision_function`, one row per record in input order, to
 * `--out` or stdout. Resolves with the exit code (0).
 */
export async function scoreCommand(args: readonly string[]): Promise<number> {
  const flags = flagsOf("score", args, ["model", "input", "out"]);
  const model = await readModel(required("score", flags, "model"));
  const input = required("score", flags, "input");
  const table = await readTable(input);
  const x = featureMatrix(table, model.features, input);
  const forest = new WasmIsolationForest(model, { batchCapacity: SCORE_BATCH });
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
