/**
 * Which benchmark layout a folder holds (see `labelled_data.ts`): NAB when it has
 * `labels/combined_windows.json` (or is a category folder of such a root), SKAB when its
 * sub-folders hold `;`-separated CSVs with an `anomaly` column.
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError } from "../core/config.ts";

/** A NAB root (optionally one category) or a SKAB root. */
export type LabelledLayout =
  | { readonly kind: "nab"; readonly root: string; readonly categories?: readonly string[] }
  | { readonly kind: "skab"; readonly root: string };

/** The NAB label file, relative to the root. */
export const NAB_WINDOWS_FILE = "labels/combined_windows.json";

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
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
  if (await isFile(join(root, NAB_WINDOWS_FILE))) return { kind: "nab", root };
  const parent = dirname(root);
  if (
    parent !== root && await isFile(join(parent, NAB_WINDOWS_FILE)) &&
    (await csvFiles(root)).length > 0
  ) {
    return { kind: "nab", root: parent, categories: [basename(root)] };
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
