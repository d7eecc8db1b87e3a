/**
 * `eval PATH`: Vigil's alarms scored against a labelled benchmark folder (NAB or SKAB layout,
 * found by {@link detectLabelledLayout}). Each file is replayed as `replay` does, into its own
 * temporary data directory (deleted afterwards), with the flags of `replay`; the anomaly events
 * become per-row alarms (NAB) or alarm states (SKAB), scored in `engine/eval/`. Prints a table,
 * or with `--json` one JSON object. See docs/eval.md.
 * @module
 */
import { basename, join, relative } from "node:path";
import {
  type AlarmEvent,
  alarmRows,
  alarmStateRows,
  BOOLEAN_FLAGS,
  ConfigError,
  detectLabelledLayout,
  FILES,
  formatNabTable,
  formatSkabTable,
  KNOWN_FLAGS,
  type LabelledLayout,
  type NabReport,
  nabReport,
  parseAnomalyLines,
  parseFlags,
  readNabCorpus,
  readSkabCorpus,
  RecordedInput,
  SKAB_TRAIN_ROWS,
  type SkabReport,
  skabReport,
  stripSkabLabelColumns,
} from "../engine/mod.ts";
import { configOf } from "./options.ts";
import { replayInto } from "./replay.ts";

/** Flags `eval` refuses: it picks each file's data directory and reads files itself. */
const REFUSED = ["data-dir", "source"];

/** `--event-types A,B`: upper-case type names (`ISOLATION_FOREST`, `ANOMALY_TEMP`, …). */
function eventTypesFlag(raw: string | true | undefined): ReadonlySet<string> | null {
  if (raw === undefined) return null;
  const types = raw === true ? [] : raw.split(",").map((t) => t.trim());
  if (types.length === 0 || types.some((t) => !/^[A-Z][A-Z0-9_]*$/.test(t))) {
    throw new ConfigError(
      `bad value for --event-types: ${JSON.stringify(raw === true ? "" : raw)} ` +
        "(event types, comma-separated, e.g. ISOLATION_FOREST)",
    );
  }
  return new Set(types);
}

/**
 * Replays one file (`input`, with the `replay` flags `flagArgs`) into a new temporary data
 * directory and resolves with the anomaly events it wrote (only those of the types in `only`,
 * when given: `--event-types`); the directory is removed.
 */
async function eventsOf(
  input: string,
  flagArgs: readonly string[],
  only: ReadonlySet<string> | null,
): Promise<AlarmEvent[]> {
  const dataDir = await Deno.makeTempDir({ prefix: "vigil-eval-" });
  try {
    const config = await configOf([input, ...flagArgs, "--data-dir", dataDir], 1);
    const recorded = await RecordedInput.open(input, config.format, "replay");
    await replayInto(input, recorded, config);
    const events = parseAnomalyLines(await Deno.readTextFile(join(dataDir, FILES.anomalies)));
    return only ? events.filter((e) => only.has(e.type)) : events;
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

async function evalNab(
  layout: Extract<LabelledLayout, { kind: "nab" }>,
  flagArgs: readonly string[],
  only: ReadonlySet<string> | null,
): Promise<NabReport> {
  const corpus = await readNabCorpus(layout.root, {
    categories: layout.categories,
    windowsFile: layout.windowsFile,
  });
  if (corpus.files.length === 0) {
    throw new ConfigError(`eval: no labelled CSV of ${layout.root} was found`);
  }
  const files = [];
  for (const f of corpus.files) {
    const events = await eventsOf(join(layout.root, f.relativePath), flagArgs, only);
    const { flags, unmapped } = alarmRows(f.timestamps, events);
    files.push({
      name: f.relativePath,
      timestamps: f.timestamps,
      alarms: flags,
      windows: f.windows,
      unmappedEvents: unmapped,
    });
  }
  const missing = layout.categories === undefined ? corpus.missing : [];
  return nabReport(files, {}, missing);
}

async function evalSkab(
  root: string,
  flagArgs: readonly string[],
  only: ReadonlySet<string> | null,
): Promise<SkabReport> {
  const corpus = await readSkabCorpus(root);
  const files = [];
  const scratch = await Deno.makeTempDir({ prefix: "vigil-eval-skab-" });
  try {
    for (const f of corpus) {
      if (f.anomaly === null) continue;
      // The labels never reach Vigil: it replays a copy without them, under the same file name.
      const dir = await Deno.makeTempDir({ dir: scratch });
      const stripped = join(dir, basename(f.path));
      await Deno.writeTextFile(stripped, stripSkabLabelColumns(await Deno.readTextFile(f.path)));
      const events = await eventsOf(stripped, flagArgs, only);
      const { flags, unmapped } = alarmStateRows(f.datetime, events);
      files.push({
        name: relative(root, f.path),
        anomaly: f.anomaly,
        state: flags,
        unmappedEvents: unmapped,
      });
    }
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
  if (files.length === 0) throw new ConfigError(`eval: no labelled SKAB CSV under ${root}`);
  return skabReport(files, SKAB_TRAIN_ROWS);
}

/**
 * Runs `eval PATH [--json] [--event-types T,…] [replay flags]`; resolves with the exit code (2 for a bad path or
 * flag, thrown as a `ConfigError`).
 *
 * @example
 * ```ts
 * import { evalCommand } from "./eval.ts";
 *
 * await evalCommand(["/data/nab/realKnownCause", "--json"]);
 * ```
 */
export async function evalCommand(args: readonly string[]): Promise<number> {
  const json = args.includes("--json");
  // The flags of replay, and eval's own `--event-types` (`--json` is taken out above).
  const { flags, positional } = parseFlags(args.filter((a) => a !== "--json"), {
    values: [...KNOWN_FLAGS, "event-types"],
    booleans: BOOLEAN_FLAGS,
  });
  if (positional.length !== 1) {
    throw new ConfigError("eval takes exactly one PATH (a NAB or SKAB folder)");
  }
  for (const name of REFUSED) {
    if (name in flags) {
      throw new ConfigError(`eval replays each file into its own temporary folder: no --${name}`);
    }
  }
  const countedTypes = eventTypesFlag(flags["event-types"]);
  delete flags["event-types"];
  const flagArgs = Object.entries(flags).map(([k, v]) => v === true ? `--${k}` : `--${k}=${v}`);
  const path = positional[0]!;
  const layout = await detectLabelledLayout(path);
  const report = layout.kind === "nab"
    ? await evalNab(layout, flagArgs, countedTypes)
    : await evalSkab(layout.root, flagArgs, countedTypes);
  if (json) {
    const eventTypes = countedTypes ? [...countedTypes] : null;
    console.log(JSON.stringify({ path, flags: flagArgs, eventTypes, ...report }));
  } else {
    console.log(
      `${layout.kind === "nab" ? "NAB" : "SKAB"} ${path}` +
        (flagArgs.length > 0 ? ` (${flagArgs.join(" ")})` : " (default flags)") +
        (countedTypes ? `, only ${[...countedTypes].join(",")} events` : "") + "\n",
    );
    console.log(report.layout === "nab" ? formatNabTable(report) : formatSkabTable(report));
  }
  return 0;
}
