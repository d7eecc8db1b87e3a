/**
 * Readers for the two labelled benchmarks Vigil is evaluated on.
 *
 * - NAB layout (github.com/numenta/NAB): `<root>/<category>/<file>.csv` with a `timestamp,value`
 *   header and `YYYY-MM-DD HH:MM:SS` timestamps, and `<root>/labels/combined_windows.json`
 *   mapping `"<category>/<file>.csv"` to `[[start, end], ...]`, limits as
 *   `"YYYY-MM-DD HH:MM:SS.ffffff"` (`nab/corpus.py` reads the CSVs with
 *   `parse_dates=["timestamp"]`, `nab/labeler.py` `CorpusLabel.getWindows` the windows).
 * - SKAB layout (github.com/waico/SKAB): `;`-separated CSVs under `valve1/`, `valve2/`,
 *   `other/` with a `datetime` first column, sensor columns, then `anomaly` and `changepoint`
 *   label columns; `anomaly-free/anomaly-free.csv` has no label columns. The notebooks read them
 *   with `pd.read_csv(file, sep=";", index_col="datetime", parse_dates=True)` and strip the
 *   labels with `df.drop(["anomaly", "changepoint"], axis=1)` before feeding a model.
 *
 * Timestamps carry no zone in either benchmark; they are read as UTC, to epoch milliseconds
 * (fractions of a millisecond are dropped).
 *
 * @module
 */

import type { WindowLimit } from "./nab_scorer.ts";

/** The label columns of a SKAB file. */
export const SKAB_LABEL_COLUMNS: readonly string[] = ["anomaly", "changepoint"];

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

/**
 * Parses `YYYY-MM-DD HH:MM:SS[.ffffff]` (no zone, read as UTC) to epoch ms.
 *
 * @example
 * ```ts
 * parseBenchmarkTimestamp("2014-04-10 07:15:00.000000"); // 1397114100000
 * parseBenchmarkTimestamp("2014-04-10 07:15:00"); // 1397114100000
 * ```
 */
export function parseBenchmarkTimestamp(text: string): number {
  const m = TIMESTAMP.exec(text.trim());
  if (m === null) throw new Error(`not a YYYY-MM-DD HH:MM:SS timestamp: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000 + 1e-6);
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
}

/** One NAB data file. */
export interface NabSeries {
  readonly timestamps: number[];
  readonly values: number[];
}

/**
 * Parses a NAB `timestamp,value` CSV.
 *
 * @example
 * ```ts
 * parseNabCsv("timestamp,value\n2014-07-01 00:00:00,10844\n").values; // [10844]
 * ```
 */
export function parseNabCsv(text: string): NabSeries {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = (lines[0] ?? "").split(",").map((h) => h.trim());
  const ti = header.indexOf("timestamp");
  const vi = header.indexOf("value");
  if (ti < 0 || vi < 0) throw new Error(`NAB CSV needs timestamp and value columns: ${lines[0]}`);
  const timestamps: number[] = [];
  const values: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i]!.split(",");
    timestamps.push(parseBenchmarkTimestamp(cells[ti] ?? ""));
    values.push(Number(cells[vi]));
  }
  return { timestamps, values };
}

/**
 * Parses `combined_windows.json`: relative path → windows as epoch ms, in file order.
 *
 * @example
 * ```ts
 * parseNabWindows('{"a/b.csv": [["2014-04-10 07:15:00.000000", "2014-04-10 08:15:00.000000"]]}')
 *   .get("a/b.csv"); // [[1397114100000, 1397117700000]]
 * ```
 */
export function parseNabWindows(text: string): Map<string, WindowLimit[]> {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const out = new Map<string, WindowLimit[]>();
  for (const [path, windows] of Object.entries(raw)) {
    if (!Array.isArray(windows)) throw new Error(`${path}: windows must be a list`);
    out.set(
      path,
      windows.map((w) => {
        if (!Array.isArray(w) || w.length !== 2) throw new Error(`${path}: bad window ${w}`);
        return [parseBenchmarkTimestamp(String(w[0])), parseBenchmarkTimestamp(String(w[1]))];
      }),
    );
  }
  return out;
}

/** One NAB file with its windows. */
export interface NabDataFile extends NabSeries {
  /** Key in `combined_windows.json`, e.g. `"realKnownCause/nyc_taxi.csv"`. */
  readonly relativePath: string;
  readonly windows: WindowLimit[];
}

/** {@link readNabCorpus}' result. */
export interface NabCorpus {
  readonly files: NabDataFile[];
  /** Label keys whose CSV is not under the root (skipped). */
  readonly missing: string[];
}

const joinPath = (...parts: string[]) => parts.join("/").replace(/\/+/g, "/");

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Reads a NAB-layout folder: every key of `labels/combined_windows.json` whose CSV exists under
 * `root` (optionally only the given categories), in the label file's order. Needs read access.
 *
 * @example
 * ```ts
 * const { files } = await readNabCorpus("/data/nab", { categories: ["realKnownCause"] });
 * files[0]?.relativePath; // "realKnownCause/ambient_temperature_system_failure.csv"
 * ```
 */
export async function readNabCorpus(
  root: string,
  options: { readonly categories?: readonly string[]; readonly windowsFile?: string } = {},
): Promise<NabCorpus> {
  const windowsPath = joinPath(root, options.windowsFile ?? "labels/combined_windows.json");
  const windows = parseNabWindows(await Deno.readTextFile(windowsPath));
  const files: NabDataFile[] = [];
  const missing: string[] = [];
  for (const [relativePath, limits] of windows) {
    const category = relativePath.split("/")[0] ?? "";
    if (options.categories !== undefined && !options.categories.includes(category)) continue;
    const path = joinPath(root, relativePath);
    if (!(await exists(path))) {
      missing.push(relativePath);
      continue;
    }
    const series = parseNabCsv(await Deno.readTextFile(path));
    files.push({ relativePath, ...series, windows: limits });
  }
  return { files, missing };
}

/** One SKAB file, labels split from the sensor columns. */
export interface SkabFile {
  /** Path given to {@link readSkabFile}, or `""` when parsed from text. */
  readonly path: string;
  /** `datetime` column, epoch ms. */
  readonly datetime: number[];
  /** Sensor column names, label columns removed. */
  readonly featureNames: string[];
  /** One row of sensor values per timestamp (what a detector may see). */
  readonly features: number[][];
  /** `anomaly` column (0/1), or null where the file has none (anomaly-free). */
  readonly anomaly: number[] | null;
  /** `changepoint` column (0/1), or null. */
  readonly changepoint: number[] | null;
}

/**
 * Parses a SKAB CSV (`;`-separated, `datetime` first), splitting off the label columns.
 *
 * @example
 * ```ts
 * const f = parseSkabCsv("datetime;Current;anomaly;changepoint\n2020-03-09 10:14:33;1.3;0.0;0.0\n");
 * f.featureNames; // ["Current"]
 * f.anomaly; // [0]
 * ```
 */
export function parseSkabCsv(text: string, path = ""): SkabFile {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = (lines[0] ?? "").split(";").map((h) => h.trim());
  if (header[0] !== "datetime") throw new Error(`SKAB CSV must start with datetime: ${lines[0]}`);
  const ai = header.indexOf("anomaly");
  const ci = header.indexOf("changepoint");
  const featureIdx = header.map((_, i) => i).filter((i) =>
    i > 0 && !SKAB_LABEL_COLUMNS.includes(header[i]!)
  );
  const datetime: number[] = [];
  const features: number[][] = [];
  const anomaly: number[] = [];
  const changepoint: number[] = [];
  for (let r = 1; r < lines.length; r++) {
    const cells = lines[r]!.split(";");
    datetime.push(parseBenchmarkTimestamp(cells[0] ?? ""));
    features.push(featureIdx.map((i) => Number(cells[i])));
    if (ai >= 0) anomaly.push(Number(cells[ai]));
    if (ci >= 0) changepoint.push(Number(cells[ci]));
  }
  return {
    path,
    datetime,
    featureNames: featureIdx.map((i) => header[i]!),
    features,
    anomaly: ai >= 0 ? anomaly : null,
    changepoint: ci >= 0 ? changepoint : null,
  };
}

/**
 * Removes the `anomaly` and `changepoint` columns from SKAB CSV text, leaving every other cell
 * as written (for replaying a file through a detector that must not see labels).
 *
 * @example
 * ```ts
 * stripSkabLabelColumns("datetime;Current;anomaly;changepoint\nt;1.3;0.0;0.0\n");
 * // "datetime;Current\nt;1.3\n"
 * ```
 */
export function stripSkabLabelColumns(text: string): string {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? "").split(";");
  const keep = header.map((h, i) => SKAB_LABEL_COLUMNS.includes(h.trim()) ? -1 : i).filter((i) =>
    i >= 0
  );
  return lines.map((line) => {
    if (line === "") return line;
    const cells = line.split(";");
    return keep.map((i) => cells[i] ?? "").join(";");
  }).join("\n");
}

/**
 * Reads one SKAB CSV file. Needs read access.
 *
 * @example
 * ```ts
 * const f = await readSkabFile("/data/skab/valve1/0.csv");
 * f.features.length === f.anomaly?.length; // true
 * ```
 */
export async function readSkabFile(path: string): Promise<SkabFile> {
  return parseSkabCsv(await Deno.readTextFile(path), path);
}

/**
 * Reads every labelled SKAB file under `root` (the `.csv` files of its sub-folders, except
 * `anomaly-free/`, as the notebooks' `list_of_df`), sorted by path. Needs read access.
 *
 * @example
 * ```ts
 * const files = await readSkabCorpus("/data/skab");
 * files.length; // 34 for SKAB v0.9
 * ```
 */
export async function readSkabCorpus(root: string): Promise<SkabFile[]> {
  const paths: string[] = [];
  for await (const dir of Deno.readDir(root)) {
    if (!dir.isDirectory || dir.name === "anomaly-free") continue;
    for await (const f of Deno.readDir(joinPath(root, dir.name))) {
      if (f.isFile && f.name.endsWith(".csv")) paths.push(joinPath(root, dir.name, f.name));
    }
  }
  paths.sort();
  const files: SkabFile[] = [];
  for (const p of paths) files.push(await readSkabFile(p));
  return files;
}
