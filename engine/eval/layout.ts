/**
 * Which benchmark layout a folder holds (see `labelled_data.ts`): NAB when it has
 * `labels/combined_windows.json` (or is a category folder of such a root), SKAB when its
 * sub-folders hold `;`-separated CSVs with an `anomaly` column.
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError } from "../core/config.ts";

/** A NAB root (optionally one category) or a SKAB root. `windowsFile`: the label file,
 * relative to `root`, when it is not `root`'s own (a NAB checkout keeps the CSVs under `data/`
 * and the labels beside it: `../labels/combined_windows.json`). */
export type LabelledLayout =
  | {
    readonly kind: "nab";
    readonly root: string;
    readonly categories?: readonly string[];
    readonly windowsFile?: string;
  }
  | { readonly kind: "skab"; readonly root: string };

/** The NAB label file, relative to the root. */
export const NAB_WINDOWS_FILE = "labels/combined_windows.json";

/** The label file seen from a NAB checkout's `data/` folder. */
const CHECKOUT_WINDOWS_FILE = join("..", NAB_WINDOWS_FILE);

/** What is at `path`: a file, a folder, or null (nothing, or something else). */
async function kindOf(path: string): Promise<"file" | "dir" | null> {
  try {
    const info = await Deno.stat(path);
    return info.isFile ? "file" : info.isDirectory ? "dir" : null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

const isFile = async (path: string) => (await kindOf(path)) === "file";
const isDirectory = async (path: string) => (await kindOf(path)) === "dir";

/** Whether any sub-folder of `dir` other than `labels` and `data` holds a CSV. */
async function hasCategoryCsv(dir: string): Promise<boolean> {
  for await (const e of Deno.readDir(dir)) {
    if (!e.isDirectory || e.name === "labels" || e.name === "data") continue;
    if ((await csvFiles(join(dir, e.name))).length > 0) return true;
  }
  return false;
}

async function csvFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".csv")) out.push(join(dir, e.name));
  }
  return out.sort();
}

/** Whether a CSV's header (first line) is `;`-separated and has an `anomaly` column. */
async function hasAnomalyColumn(path: string): Promise<boolean> {
  const file = await Deno.open(path);
  try {
    const buf = new Uint8Array(4096);
    const n = await file.read(buf);
    const head = new TextDecoder().decode(buf.subarray(0, n ?? 0)).split(/\r?\n/)[0] ?? "";
    return head.split(";").map((h) => h.trim()).includes("anomaly");
  } finally {
    file.close();
  }
}

/**
 * Finds the layout of `path`; a `ConfigError` names a path that is missing, not a folder, or of
 * neither kind. Needs read access to the folder.
 *
 * @example
 * ```ts
 * await detectLabelledLayout("/data/nab"); // { kind: "nab", root: "/data/nab" }
 * await detectLabelledLayout("/data/nab/realKnownCause");
 * // { kind: "nab", root: "/data/nab", categories: ["realKnownCause"] }
 * await detectLabelledLayout("/data/skab"); // { kind: "skab", root: "/data/skab" }
 * // A clone of numenta/NAB: the CSVs under data/, the labels beside it.
 * await detectLabelledLayout("/src/NAB/data/realTraffic");
 * // { kind: "nab", root: "/src/NAB/data", categories: ["realTraffic"],
 * //   windowsFile: "../labels/combined_windows.json" }
 * ```
 */
export async function detectLabelledLayout(path: string): Promise<LabelledLayout> {
  const root = resolve(path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(root);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ConfigError(`eval: no such folder ${path}`);
    throw e;
  }
  if (!info.isDirectory) throw new ConfigError(`eval: ${path} is not a folder`);
  const parent = dirname(root);
  const grandparent = dirname(parent);
  if (await isFile(join(root, NAB_WINDOWS_FILE))) {
    // A NAB checkout's root: its CSVs are under data/.
    if (await isDirectory(join(root, "data")) && !(await hasCategoryCsv(root))) {
      return { kind: "nab", root: join(root, "data"), windowsFile: CHECKOUT_WINDOWS_FILE };
    }
    return { kind: "nab", root };
  }
  const hasCsv = (await csvFiles(root)).length > 0;
  if (parent !== root && await isFile(join(parent, NAB_WINDOWS_FILE))) {
    if (hasCsv) return { kind: "nab", root: parent, categories: [basename(root)] };
    // A checkout's data/ folder (the labels are its sibling).
    if (basename(root) === "data") {
      return { kind: "nab", root, windowsFile: CHECKOUT_WINDOWS_FILE };
    }
  }
  if (
    hasCsv && basename(parent) === "data" && grandparent !== parent &&
    await isFile(join(grandparent, NAB_WINDOWS_FILE))
  ) {
    // A category folder of a checkout: NAB/data/<category>.
    return {
      kind: "nab",
      root: parent,
      categories: [basename(root)],
      windowsFile: CHECKOUT_WINDOWS_FILE,
    };
  }
  for await (const e of Deno.readDir(root)) {
    if (!e.isDirectory || e.name === "anomaly-free") continue;
    for (const csv of await csvFiles(join(root, e.name))) {
      if (await hasAnomalyColumn(csv)) return { kind: "skab", root };
    }
  }
  throw new ConfigError(
    `eval: ${path} is neither a NAB folder (no ${NAB_WINDOWS_FILE}) nor a SKAB folder ` +
      `(no sub-folder CSV with an anomaly column)`,
  );
}
