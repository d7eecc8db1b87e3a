/**
 * What `start` and `replay` share: their flags and config file resolved into one settings
 * object (every check that exits 2 before anything starts), the loggers, and the run options.
 * @module
 */
import { basename, extname, join, resolve } from "node:path";
import {
  ConfigError,
  defaultProfileOf,
  type EngineConfig,
  type EngineState,
  FileLogger,
  inputChannels,
  loadConfig,
  loadModel,
  type Logger,
  MACHINE_CHANNELS,
  parseFlags,
  readConfigFile,
  type WasmIsolationForest,
} from "../engine/run_mod.ts";
import { SOURCES } from "./sources.ts";

/** The engine's configuration plus what the CLI loaded for it. */
export type CliConfig = EngineConfig & {
  /** The `--source` value, e.g. `serial:/dev/ttyUSB0` (= `source.target`). */
  target: string;
  /** The `--model` isolation forest, ready to score; null without `--model`. */
  forest: WasmIsolationForest | null;
  /** The InfluxDB token: `--influx-token-file`'s content, else `VIGIL_INFLUX_TOKEN`; null: none.
   * A secret: never printed nor logged. */
  influxToken: string | null;
  /** Why the profile is `generic` without `--profile` (a file of other channels), for the
   * run to log once; null when the profile is the given or the usual default. */
  profileNote: string | null;
};

/**
 * The settings of `start` (`positionals` 0) or `replay FILE` (1) from their arguments: flags
 * over the `--config` file over defaults, then every cross-check; a `ConfigError` (exit 2)
 * names the first bad value.
 *
 * @example
 * ```ts
 * import { configOf } from "./options.ts";
 *
 * const config = await configOf(["--machines", "3"], 0);
 * config.machines; // 3
 * ```
 */
export async function configOf(args: readonly string[], positionals: number): Promise<CliConfig> {
  const { flags, positional } = parseFlags(args);
  if (positional.length > positionals) {
    throw new ConfigError(`unexpected argument ${JSON.stringify(positional[positionals])}`);
  }
  const file = typeof flags.config === "string" ? await readConfigFile(flags.config) : {};
  const config = await loadConfig(flags, file, { VIGIL_TOKEN: envToken() }, {
    input: positionals === 1 ? positional[0] : undefined,
  });
  if (config.model && config.onlineModel !== null) {
    throw new ConfigError("--model and --online-model exclude each other: pick one");
  }
  const forest = config.model ? await loadModel(config.model) : null;
  const profileNote = await defaultFileProfile(
    config,
    positionals === 1 ? positional[0] : undefined,
  );
  if (config.profile === "vibration" && config.simulatorOnly) {
    throw new ConfigError("--profile vibration: --simulator-only is for the machine profile");
  }
  if (config.profile === "device" && config.source.kind === "simulator" && positionals === 0) {
    throw new ConfigError(
      "--profile device: there is no device simulator; use --source serial:PATH, " +
        "--source file:PATH or replay FILE (deno task emulate drives a virtual serial port)",
    );
  }
  const target = config.source.target;
  SOURCES.get(target); // an unknown scheme exits 2 naming the value and the accepted forms
  if (positionals === 1 && config.source.kind !== "simulator" && config.source.kind !== "file") {
    throw new ConfigError(`replay reads its FILE: --source ${config.source.kind} is for start`);
  }
  SOURCES.checkFlags(target, { ...file, ...flags });
  if (positionals === 1 && flags["data-dir"] === undefined && file["data-dir"] === undefined) {
    config.dataDir = await replayDataDir(positional[0]!, config.dataDir);
  }
  const influxToken = config.influx === null ? null : await influxTokenOf(config.influxTokenFile);
  if (config.tokenFile !== null) config.token = await tokenFileOf("--token-file", config.tokenFile);
  return { ...config, target, forest, influxToken, profileNote };
}

/**
 * Without `--profile`, a file source (`replay FILE`, `--source file:PATH`, each file of `eval`)
 * whose channels share none of the `machine` profile's names runs `generic`: sets
 * `config.profile` and returns the line to log, else null. Live sources keep the usual default:
 * their channels are known only once readings arrive, after the run has opened with a profile.
 */
async function defaultFileProfile(
  config: EngineConfig,
  replayed: string | undefined,
): Promise<string | null> {
  if (config.profileGiven || config.profile !== "machine") return null;
  const path = replayed ??
    (config.source.kind === "file" ? config.source.target.slice("file:".length) : null);
  if (path === null) return null;
  const channels = await inputChannels(resolve(path), config.format);
  if (defaultProfileOf(channels) !== "generic") return null;
  config.profile = "generic";
  const shown = channels!.slice(0, 8).join(", ") + (channels!.length > 8 ? ", …" : "");
  return `profile generic: the channels of ${path} (${shown}) are none of the machine ` +
    `profile's (${Object.keys(MACHINE_CHANNELS).join(", ")}); --profile machine forces it`;
}

/**
 * Where `replay FILE` writes without `--data-dir`: `<base>/replay/<file stem>-<8 hex digits of
 * the SHA-256 of its absolute path>`, a directory of its own per input, so that a replay never
 * meets the checkpoint of `start` (or of another file) in `./data`, and the same file always
 * resumes in the same place.
 *
 * @example
 * ```ts
 * await replayDataDir("recordings/day1.jsonl", "./data"); // "data/replay/day1-3f2a9c01"
 * ```
 */
export async function replayDataDir(file: string, base: string): Promise<string> {
  const abs = resolve(file);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(abs));
  const hash = Array.from(
    new Uint8Array(digest).subarray(0, 4),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  // The stem as a safe directory name: a file name may hold anything a path can.
  const stem = basename(abs, extname(abs)).replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 64) ||
    "input";
  return join(base, "replay", `${stem}-${hash}`);
}

function envToken(name = "VIGIL_TOKEN"): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: no token from the environment
  }
}

/** `--influx-token-file`'s content (trimmed), else `VIGIL_INFLUX_TOKEN`, else null. */
function influxTokenOf(path: string | null): Promise<string | null> {
  if (path === null) return Promise.resolve(envToken("VIGIL_INFLUX_TOKEN") || null);
  return tokenFileOf("--influx-token-file", path);
}

/**
 * The secret in the file `path` given to `flag`, trimmed (a file usually ends in a newline); an
 * unreadable or empty file is a {@linkcode ConfigError} naming the flag and the file, never
 * its content. A file keeps the secret out of `ps` and of the task's echo line.
 */
async function tokenFileOf(flag: string, path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ConfigError(`cannot read ${flag} ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
  const token = text.trim();
  if (token === "") throw new ConfigError(`${flag} ${JSON.stringify(path)} is empty`);
  return token;
}

/** The three logs of the data directory's `logs/`. */
export function loggers(dataDir: string): {
  simulator: FileLogger;
  processor: FileLogger;
  api: FileLogger;
} {
  const logs = join(dataDir, "logs");
  return {
    simulator: new FileLogger(join(logs, "simulator.log"), { component: "simulator" }),
    processor: new FileLogger(join(logs, "processor.log"), { component: "processor" }),
    api: new FileLogger(join(logs, "api.log"), { component: "api", stderr: false }),
  };
}

/** The options of `openRun` that come from the settings (the source adds its own). */
export function runOptions(config: CliConfig, state: EngineState, logger: Logger) {
  return {
    dataDir: config.dataDir,
    state,
    logger,
    processingIntervalMs: config.processingInterval * 1000,
    profile: config.profile,
    detector: config.detector,
    heartbeatTimeoutMs: config.heartbeatTimeout === null
      ? undefined
      : config.heartbeatTimeout === "off"
      ? null
      : config.heartbeatTimeout === "auto"
      ? "auto" as const
      : config.heartbeatTimeout * 1000,
    channels: config.channels,
    incidentWindowMs: config.incidentWindow * 1000,
    isolationForest: config.forest ?? undefined,
    onlineForest: config.onlineModel === null
      ? undefined
      : { trainSize: config.onlineModel, seed: config.seed ?? 1 },
    kernel: {
      window: config.window,
      modelSize: config.modelSize,
      zThreshold: config.zThreshold,
    },
  };
}
