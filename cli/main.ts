/**
 * Vigil's command line: argv → one command. Every command is one file of `cli/`.
 * @module
 */
// The settings' core only, not engine/run_mod.ts: every command would evaluate the whole replay
// engine before its own module (pipeline, detectors, kernels' hosts, sources, sinks), which
// `train`, `score`, `emulate` and `--help` never run (BENCHMARKS.md, "A cheaper start").
import {
  BOOLEAN_FLAGS,
  ConfigError,
  parseFlags,
  StartupError,
  UnavailableError,
} from "../engine/core/config.ts";
import { DiskFullError, isDiskFull } from "../engine/core/disk_full.ts";

const USAGE = `usage: main.ts <command> [flags]
commands:
  start [flags]          live engine: source, pipeline, outputs and the HTTP API
  replay FILE [flags]    process a recorded JSONL, CSV, Parquet, kv or raw.log file (--rate)
  emulate --port PATH    serial device emulator (--scenario, --rate, --seed, --count, --baud, …)
  train --input FILE [--features a,b,c] --out MODEL.json [--seed N] [--trees 100] [--max-samples 256]
  score --model MODEL.json --input FILE [--out FILE]
  eval PATH [--json] [flags]  score the alarms on a labelled NAB or SKAB folder (docs/eval.md)
flags of start, replay and eval: see docs/cli.md (--source, --profile, --machines, --seed, --interval,
  --processing-interval, --window, --format, --baud, --data-dir, --host, --port, --config,
  --token-file, --token, --allowed-hosts, --z-threshold, --model-size, --fault-rate,
  --heartbeat-timeout, --incident-window, --webhook, --simulator-only, --processor-only,
  --rate max|realtime|N, --partition k/N, --online-model N)`;

const FLAGS_DOC = "every flag: docs/cli.md";

/** Each command's own help (`main.ts COMMAND --help`): its synopsis and main flags. */
const HELP: Record<string, string> = {
  start: `usage: main.ts start [flags]
the live engine: source, pipeline, outputs in --data-dir (./data) and the HTTP API
  --source simulator|serial:PATH|file:PATH|mqtt://HOST:PORT/TOPIC|nats://HOST:PORT/SUBJECT
  --profile machine|device|vibration  --machines N  --seed N  --interval S  --fault-rate P
  --data-dir DIR  --host H  --port P (0: any free port)  --config FILE.json
  --token-file PATH (or env VIGIL_TOKEN; --token T shows in ps)  --allowed-hosts NAME[,NAME]
  --processing-interval S  --window N  --z-threshold Z  --model-size N  --model MODEL.json
  --online-model N  --heartbeat-timeout S|auto|off  --webhook URL[,URL]  --publish mqtt://HOST:PORT
  --format json|csv|kv|raw  --baud B  --rate max|realtime|N  --partition k/N
  --simulator-only  --processor-only
${FLAGS_DOC}`,
  replay: `usage: main.ts replay FILE [flags]
a recorded JSONL, CSV, Parquet, kv or raw.log file through the pipeline, as fast as it can
(or at --rate); outputs in --data-dir (default ./data/replay/<file stem>-<hash>); the last
line on stdout is a JSON summary
  --format json|csv|kv|raw  --rate max|realtime|N  --data-dir DIR  --profile machine|device|vibration
  --processing-interval S  --window N  --z-threshold Z  --model-size N  --model MODEL.json
  --online-model N  --heartbeat-timeout S|auto|off  --config FILE.json
${FLAGS_DOC}`,
  // Filled in from emulate.ts when asked for (helpOf), which is loaded only then.
  emulate: "",
  train: `usage: main.ts train --input FILE --out MODEL.json [flags]
fits a standard scaler and an isolation forest on a CSV, JSONL or Parquet file's numeric columns
  --features a,b,c  --seed N  --trees N (100)  --max-samples N (256)
${FLAGS_DOC}`,
  score: `usage: main.ts score --model MODEL.json --input FILE [--out FILE]
scores every record of a file with an isolation-forest model
${FLAGS_DOC}`,
  eval: `usage: main.ts eval PATH [--json] [flags of replay]
scores Vigil's alarms on a labelled NAB or SKAB folder
docs/eval.md; ${FLAGS_DOC}`,
};

/**
 * Whether `args` ask for help: `--help` or `-h` anywhere, unless it is the value of the flag
 * before it (`--token -h`). Checked before any other parsing, so that help never meets a
 * flag's own error ("flag --help needs a value") and works from every task. Hand-written rather
 * than parseArgs (which parseFlags uses): it runs before any command's own flags are looked at
 * (train, score and emulate keep theirs), so it takes every `--name` but the boolean ones and
 * `--json` as taking a value, as parseFlags does with a known flag.
 */
function asksHelp(args: readonly string[]): boolean {
  return args.some((a, i) => {
    if (a !== "--help" && a !== "-h") return false;
    const before = i > 0 ? args[i - 1]! : "";
    const name = before.slice(2);
    const takesValue = before.startsWith("--") && !before.includes("=") && name !== "help" &&
      name !== "json" && !BOOLEAN_FLAGS.has(name);
    return !takesValue;
  });
}

/** `name`'s own help, or undefined when it is no command (own keys only: `toString`). */
async function helpOf(name: string | undefined): Promise<string | undefined> {
  if (name === undefined || !Object.hasOwn(HELP, name)) return undefined;
  if (name !== "emulate") return HELP[name];
  const { EMULATE_USAGE } = await import("./emulate.ts");
  return `${EMULATE_USAGE}\n${FLAGS_DOC} and docs/serial.md`;
}

/** The settings of `start` and `replay` (cli/options.ts, and through it the engine's run_mod.ts). */
function options(): Promise<typeof import("./options.ts")> {
  return import("./options.ts");
}

/**
 * Runs one command; resolves with the exit code (2 for a bad flag or value, or a start refused
 * for a reason the user can fix, named on stderr in one line).
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 *
 * Deno.exit(await main(["replay", "readings.jsonl", "--data-dir", "out"]));
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  const commandHelp = command !== undefined && asksHelp(rest) ? await helpOf(command) : undefined;
  if (commandHelp !== undefined) {
    console.log(commandHelp);
    return 0;
  }
  const named = command === "help" ? await helpOf(rest[0]) : undefined;
  if (named !== undefined) {
    console.log(named);
    return 0;
  }
  // Each command's module is imported when it runs, not with this file: a replay then never
  // loads the HTTP API (hono, its routes), the history's SQLite layer, the simulator or the
  // evaluation code, about 10 MiB of its peak RSS (BENCHMARKS.md "Memory", 2026-11-29).
  try {
    switch (command) {
      case "start":
        return await (await import("./start.ts")).start(await (await options()).configOf(rest, 0));
      case "replay": {
        const { positional } = parseFlags(rest);
        if (positional.length !== 1) throw new ConfigError("replay takes exactly one FILE");
        const config = await (await options()).configOf(rest, 1);
        return await (await import("./replay.ts")).replay(positional[0]!, config);
      }
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      case "emulate":
        return await (await import("./emulate.ts")).emulateCommand(rest);
      case "train":
        return await (await import("./train.ts")).trainCommand(rest);
      case "score":
        return await (await import("./score.ts")).scoreCommand(rest);
      case "eval":
        return await (await import("./eval.ts")).evalCommand(rest);
      default:
        throw new ConfigError(
          `unknown command ${
            JSON.stringify(command)
          }; commands: start, replay, emulate, train, score, eval`,
        );
    }
  } catch (e) {
    if (e instanceof ConfigError || e instanceof StartupError) {
      console.error(`vigil: ${e.message}`);
      return 2;
    }
    if (e instanceof UnavailableError) {
      console.error(`vigil: ${e.message}`);
      return 1;
    }
    // Every output was put back as at its last checkpoint before this was thrown.
    if (e instanceof DiskFullError) {
      console.error(
        `vigil: ${e.message}: free some space there and run it again (it resumes from the last checkpoint)`,
      );
      return 2;
    }
    if (isDiskFull(e)) {
      console.error(`vigil: disk full: ${(e as Error).message}: free some space and run it again`);
      return 2;
    }
    // NotCapable is Deno's sandbox (a missing --allow-* flag); PermissionDenied is the
    // operating system (a file's owner or mode), which no Deno flag changes.
    if (e instanceof Deno.errors.PermissionDenied) {
      console.error(
        `vigil: ${(e as Error).message}: the operating system refused access; ` +
          `check that file's owner and mode`,
      );
      return 2;
    }
    if (e instanceof Deno.errors.NotCapable) {
      // The hint about files only for a file: a missing --allow-net names its host already.
      const files = /read access|write access|--allow-read|--allow-write/.test(e.message);
      console.error(
        `vigil: ${e.message}` +
          (files
            ? `. The deno tasks grant access to ./data only: for another --data-dir or file, ` +
              `run main.ts with deno run and the matching --allow-read/--allow-write`
            : ""),
      );
      return 2;
    }
    throw e;
  }
}
