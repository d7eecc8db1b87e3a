/**
 * Vigil's command line: argv → one command. Every command is one file of `cli/`.
 * @module
 */
import { ConfigError, parseFlags, StartupError } from "../engine/mod.ts";
import { emulateCommand } from "./emulate.ts";
import { evalCommand } from "./eval.ts";
import { scoreCommand } from "./score.ts";
import { trainCommand } from "./train.ts";
import { configOf } from "./options.ts";
import { replay } from "./replay.ts";
import { start } from "./start.ts";

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
  --token, --z-threshold, --model-size, --fault-rate, --heartbeat-timeout, --webhook,
  --simulator-only, --processor-only, --rate max|realtime|N, --partition k/N, --online-model N)`;

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
  try {
    switch (command) {
      case "start":
        return await start(await configOf(rest, 0));
      case "replay": {
        const { positional } = parseFlags(rest);
        if (positional.length !== 1) throw new ConfigError("replay takes exactly one FILE");
        return await replay(positional[0]!, await configOf(rest, 1));
      }
      case undefined:
      case "help":
      case "--help":
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      case "emulate":
        return await emulateCommand(rest);
      case "train":
        return await trainCommand(rest);
      case "score":
        return await scoreCommand(rest);
      case "eval":
        return await evalCommand(rest);
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
      console.error(
        `vigil: ${(e as Error).message}. The deno tasks grant access to ./data only: ` +
          `for another --data-dir or file, run main.ts with deno run and the matching --allow-read/--allow-write`,
      );
      return 2;
    }
    throw e;
  }
}
