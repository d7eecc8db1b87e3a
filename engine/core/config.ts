/**
 * Command-line flags and the JSON config file of `start` and `replay`: the settings, their flag
 * parsing, and their plain reading without zod ({@linkcode plainConfig}); the zod schema, which
 * validates a config file and names every bad value, is in config_schema.ts (`resolveConfig`).
 * Flags override the file; every bad value is a {@linkcode ConfigError} naming it.
 *
 * Past 400 lines: the settings' table, their parsing and their resolution into the engine's
 * configuration read the same names and defaults, which would otherwise be shared across files.
 * @module
 */
import { parseArgs } from "node:util";
import type { ChannelConfig } from "./channel_config.ts";
import { INPUT_FORMATS, type InputFormat } from "./input_format.ts";
import { parseInfluxUrl } from "./influx_url.ts";

/** A bad flag, file or config value: the CLI prints the message and exits with code 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * A start refused for a reason outside the flags that the user can fix (a damaged checkpoint,
 * a checkpoint of another input, a port in use, a data directory that is read-only or in use by
 * another process): the CLI prints the message, one line saying what is wrong and what to do,
 * and exits with code 2, as for a {@linkcode ConfigError}.
 *
 * @example
 * ```ts
 * throw new StartupError("port 8000 is in use: pass another --port, or --port 0 for any");
 * ```
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

/**
 * A service the run needs (a NATS server) cannot be reached at start: the CLI prints the
 * message in one line and exits with code 1 (not 2: nothing the user passed is wrong, and a
 * retry may succeed).
 *
 * @example
 * ```ts
 * throw new UnavailableError("NATS 127.0.0.1:4222: CONNECTION_REFUSED");
 * ```
 */
export class UnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnavailableError";
  }
}

/**
 * Where readings come from: the `--source` value and its scheme. Which schemes exist is the
 * source registry's business (`engine/sources/source.ts`), so a new source needs no change here.
 */
export interface SourceSpec {
  /** The scheme: `simulator`, `file`, `serial`, `mqtt`, `nats`, … */
  kind: string;
  /** The whole value, e.g. `serial:/dev/ttyUSB0`. */
  target: string;
}

/** The engine's settings, every default filled in. */
export interface EngineConfig {
  source: SourceSpec;
  profile: "machine" | "vibration" | "device" | "generic";
  /** Whether `--profile` (or the config file's `profile`) was given: when not, a file whose
   * channels are none of the `machine` profile's runs `generic` (see `defaultProfileOf`). */
  profileGiven: boolean;
  /** `--detector`: `adaptive` (the default alarm: engine/kernels/adaptive, every alarm a state
   * with on/off delays) or `zscore` (the rolling z-score alarms and edge-triggered limits, as
   * before the adaptive detector). */
  detector: "adaptive" | "zscore";
  machines: number;
  seed: number | null;
  /** Seconds between simulated readings. */
  interval: number;
  /** Seconds of event time between processed rows per machine. */
  processingInterval: number;
  window: number;
  format: InputFormat | null;
  baud: number;
  dataDir: string;
  host: string;
  port: number;
  model: string | null;
  /** `--online-model N`: each machine's first N readings train its own isolation forest;
   * null: off. */
  onlineModel: number | null;
  /** `--publish mqtt://HOST:PORT`: the broker anomaly events and rows go to; null: none. */
  publish: string | null;
  /** `--publish-anomalies`: topic of anomaly events (`{machine}` is replaced). */
  publishAnomalies: string;
  /** `--publish-rows`: topic of processed rows; null (`""` given): none. */
  publishRows: string | null;
  /** The API token: `--token`, else `VIGIL_TOKEN`; with `--token-file`, null here and read
   * from the file by the CLI. */
  token: string | null;
  /** `--token-file PATH`: a file holding the API token (it replaces `VIGIL_TOKEN`); null: not
   * given. */
  tokenFile: string | null;
  /** `--allowed-hosts`: further Host names the API answers to (`name` or `name:port`), beyond
   * `--host` (and the loopback names on loopback); empty: none. */
  allowedHosts: string[];
  zThreshold: number;
  modelSize: number;
  faultRate: number;
  simulatorOnly: boolean;
  processorOnly: boolean;
  /** Channel limits over the profile's defaults. */
  channels: Record<string, ChannelConfig>;
  /** Seconds without a reading before `HEARTBEAT_LOSS`; `"auto"`: learned per machine;
   * `"off"`: none; null: the default (5 s for `device`, none under `--detector zscore`, else
   * `"auto"`). */
  heartbeatTimeout: number | "auto" | "off" | null;
  /** `--incident-window`: event-time seconds after an incident's first alarm in which any alarm
   * of the machine joins it (the adaptive detector; engine/core/incidents.ts). */
  incidentWindow: number;
  /** `--partition k/N`: the NATS partition this instance owns; null: not given (0/1). */
  partition: { index: number; count: number } | null;
  /** `--lease-ttl S`: seconds a NATS partition's lease outlives its holder's last renewal. */
  leaseTtl: number;
  /** URLs every anomaly event is POSTed to (`--webhook`); empty: no webhooks. */
  webhooks: string[];
  /** `--influx URL`: the InfluxDB readings, rows and anomalies are written to (forms in
   * core/influx_url.ts); null: none. */
  influx: string | null;
  /** `--influx-token-file PATH`: a file holding the InfluxDB token (else `VIGIL_INFLUX_TOKEN`);
   * null: not given. */
  influxTokenFile: string | null;
  /** `--rate` of a recorded file (`replay`, `--source file:`): event-time seconds replayed per
   * wall-clock second; `Infinity` (`max`, the default) is as fast as possible, 1 `realtime`. */
  rate: number;
}

/** What `--source` may be: `simulator` or `SCHEME:…` (which schemes exist is the registry's). */
export const SOURCE_PATTERN: RegExp = /^(simulator|[a-z][a-z0-9+.-]*:.+)$/;

/** `--profile`'s values. */
export const PROFILES = ["machine", "vibration", "device", "generic"] as const;
/** `--detector`'s values. */
export const DETECTORS = ["adaptive", "zscore"] as const;
/** `--publish`: an MQTT broker's URL. */
export const PUBLISH_PATTERN: RegExp = /^mqtts?:\/\/[^/\s]+/;
/** `--allowed-hosts` as a flag: names separated by commas. */
export const HOSTS_PATTERN: RegExp = /^[^\s/]+$/;
/** `--partition`'s form, `k/N`. */
export const PARTITION_PATTERN: RegExp = /^\d{1,4}\/\d{1,4}$/;

/**
 * Whether a `k/N` partition (of {@linkcode PARTITION_PATTERN}'s form) has 0 <= k < N.
 *
 * @example
 * ```ts
 * partitionInRange("1/3"); // true
 * partitionInRange("3/3"); // false
 * ```
 */
export function partitionInRange(s: string): boolean {
  const [k, n] = s.split("/").map(Number) as [number, number];
  return n >= 1 && k < n;
}

/** The settings as validated, by flag name, before `resolveConfig`'s cross-checks:
 * the schema's output (engine/core/config_schema.ts checks that the two agree). */
export interface Settings {
  source: string;
  profile?: typeof PROFILES[number];
  detector: typeof DETECTORS[number];
  machines: number;
  seed?: number;
  interval: number;
  "processing-interval": number;
  window: number;
  format?: InputFormat;
  baud: number;
  "data-dir": string;
  host: string;
  port: number;
  model?: string;
  "online-model"?: number;
  publish?: string;
  "publish-anomalies": string;
  "publish-rows": string;
  token?: string;
  "token-file"?: string;
  "allowed-hosts"?: string | string[];
  "z-threshold": number;
  "model-size": number;
  "fault-rate": number;
  "simulator-only": boolean;
  "processor-only": boolean;
  channels: Record<string, ChannelConfig>;
  "heartbeat-timeout"?: number | "auto" | "off";
  "incident-window": number;
  webhook?: string | string[];
  influx?: string;
  "influx-token-file"?: string;
  partition?: string;
  "lease-ttl": number;
  rate?: number;
}

/** A value {@linkcode plainConfig} leaves to the schema. */
const TO_SCHEMA = Symbol("to the schema");

/** One setting read without the schema: its plain value, or TO_SCHEMA; and its default. */
interface PlainSetting {
  read(value: string | true): unknown;
  fallback?: () => unknown;
}

// The plain forms only: digits with an optional fraction (no exponent, sign of plus, spaces or
// hex, which the schema's coercion also takes), a whole number for a whole-number setting.
const DECIMAL = /^-?\d+(\.\d+)?$/;
const WHOLE = /^-?\d+$/;

function whole(min: number, max: number, fallback?: number): PlainSetting {
  return {
    read: (v) => {
      const n = typeof v === "string" && WHOLE.test(v) ? Number(v) : NaN;
      return Number.isSafeInteger(n) && n >= min && n <= max ? n : TO_SCHEMA;
    },
    fallback: fallback === undefined ? undefined : () => fallback,
  };
}

function decimal(ok: (n: number) => boolean, fallback?: number): PlainSetting {
  return {
    read: (v) => {
      const n = typeof v === "string" && DECIMAL.test(v) ? Number(v) : NaN;
      return Number.isFinite(n) && ok(n) ? n : TO_SCHEMA;
    },
    fallback: fallback === undefined ? undefined : () => fallback,
  };
}

function text(ok: (s: string) => boolean, fallback?: string): PlainSetting {
  return {
    read: (v) => typeof v === "string" && ok(v) ? v : TO_SCHEMA,
    fallback: fallback === undefined ? undefined : () => fallback,
  };
}

const nonEmpty = (s: string) => s !== "";
const oneOf = (values: readonly string[], fallback?: string) =>
  text((s) => values.includes(s), fallback);
const flag: PlainSetting = { read: (v) => v === true || v === "true" ? true : TO_SCHEMA };

/**
 * Every setting by its flag name, in the schema's order, with its plain reading: the schema
 * (engine/core/config_schema.ts, zod) accepts each such value as it is, with these defaults,
 * which tests/unit/config_plain_test.ts checks value by value. Why both: zod is about 4 MiB of the
 * replay's live heap (zod and the schema, `deno eval` after a full collection) and V8 lets the
 * heap grow to 1.5× the live set (`--heap-growing-percent=50`), so a replay that reads no
 * config file loads none of it; any value not plain here (and every config file) goes to the
 * schema, which names what is wrong in its own words (BENCHMARKS.md, "Replay peak RSS, third
 * pass").
 */
const SETTINGS: Record<keyof Settings, PlainSetting> = {
  source: text((s) => SOURCE_PATTERN.test(s), "simulator"),
  profile: oneOf(PROFILES),
  detector: oneOf(DETECTORS, "adaptive"),
  machines: whole(1, 10_000, 1),
  seed: whole(0, 2 ** 32 - 1),
  interval: decimal((n) => n > 0, 2),
  "processing-interval": decimal((n) => n > 0, 10),
  window: whole(1, 65_536, 5),
  format: oneOf(INPUT_FORMATS),
  baud: whole(50, 4_000_000, 115_200),
  "data-dir": text(nonEmpty, "./data"),
  host: text(nonEmpty, "127.0.0.1"),
  port: whole(0, 65_535, 8000),
  model: text(nonEmpty),
  "online-model": whole(2, 100_000),
  publish: text((s) => PUBLISH_PATTERN.test(s)),
  "publish-anomalies": text(nonEmpty, "vigil/{machine}/anomalies"),
  "publish-rows": text(() => true, "vigil/{machine}/rows"),
  token: text(nonEmpty),
  "token-file": text(nonEmpty),
  "allowed-hosts": text((s) => HOSTS_PATTERN.test(s)),
  "z-threshold": decimal((n) => n > 0, 3),
  "model-size": whole(2, 65_536, 100),
  "fault-rate": decimal((n) => n >= 0 && n <= 1, 0.01),
  "simulator-only": { ...flag, fallback: () => false },
  "processor-only": { ...flag, fallback: () => false },
  channels: { read: () => TO_SCHEMA, fallback: () => ({}) },
  "heartbeat-timeout": {
    read: (v) => v === "auto" || v === "off" ? v : decimal((n) => n > 0 && n <= 86_400).read(v),
  },
  "incident-window": decimal((n) => n >= 0 && n <= 86_400, 60),
  webhook: text(nonEmpty),
  influx: text(nonEmpty),
  "influx-token-file": text(nonEmpty),
  partition: text((s) => PARTITION_PATTERN.test(s) && partitionInRange(s)),
  "lease-ttl": decimal((n) => n >= 1 && n <= 3600, 30),
  rate: { read: (v) => typeof v === "string" ? rateOf(v) ?? TO_SCHEMA : TO_SCHEMA },
};
/** Flags of `start` and `replay` that take no value. */
export const BOOLEAN_FLAGS: ReadonlySet<string> = new Set(["simulator-only", "processor-only"]);

/** Result of {@linkcode parseFlags}: flag values and positional arguments. */
export interface ParsedArgs {
  flags: Record<string, string | true>;
  positional: string[];
}

/** Which flags {@linkcode parseFlags} accepts and how it names one it does not. */
export interface FlagSpec {
  /** Every accepted flag that takes a value. */
  values: Iterable<string>;
  /** Every accepted flag that takes none. @default {none} */
  booleans?: Iterable<string>;
  /** The message for a flag outside both. @default {`unknown flag --NAME`} */
  unknown?: (name: string) => string;
}

/**
 * Splits `--name value`, `--name=value` and boolean `--name` flags from positionals, with
 * node:util's `parseArgs`; `spec` defaults to the flags of the config schema
 * ({@linkcode KNOWN_FLAGS}, of which {@linkcode BOOLEAN_FLAGS} take no value). The last of a
 * repeated flag wins. A value may start with one dash (`--z-threshold -1`, `--machines -h`) but
 * not with two (`--token --port 1`: "flag --token needs a value"); `-x`, `-1` and `-` are
 * positionals; `--` is a bad flag, as is an unknown one. Every error is a {@linkcode ConfigError}.
 *
 * parseArgs runs with `strict: false`: in strict mode it refuses a value that starts with a
 * dash as "ambiguous" and every `-x` as an unknown short option, both of which Vigil accepts.
 * So the checks of strict mode are made here on its tokens, with Vigil's own wording.
 *
 * @example
 * ```ts
 * parseFlags(["day1.jsonl", "--rate", "10", "--simulator-only"]);
 * // { flags: { rate: "10", "simulator-only": true }, positional: ["day1.jsonl"] }
 * parseFlags(["--model"], { values: ["model"] }); // ConfigError "flag --model needs a value"
 * ```
 */
export function parseFlags(
  args: readonly string[],
  spec: FlagSpec = { values: KNOWN_FLAGS, booleans: BOOLEAN_FLAGS },
): ParsedArgs {
  const booleans = new Set(spec.booleans);
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const name of spec.values) options[name] = { type: "string" };
  for (const name of booleans) options[name] = { type: "boolean" };
  const { tokens } = parseArgs({
    args: [...args],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const flags: Record<string, string | true> = {};
  const positional: string[] = [];
  let lastShort = -1;
  for (const t of tokens) {
    if (t.kind === "positional") positional.push(t.value);
    else if (t.kind === "option-terminator") throw new ConfigError(`bad flag "--"`);
    else if (!t.rawName.startsWith("--")) {
      // `-abc` comes as one token per letter, all of the same index: the argument once.
      if (t.index !== lastShort) positional.push(args[t.index]!);
      lastShort = t.index;
    } else if (t.name === "" || t.name.startsWith("=")) {
      throw new ConfigError(`bad flag ${JSON.stringify(args[t.index])}`);
    } else if (!Object.hasOwn(options, t.name)) {
      throw new ConfigError(spec.unknown?.(t.name) ?? `unknown flag --${t.name}`);
    } else if (t.inlineValue) flags[t.name] = t.value!;
    else if (booleans.has(t.name)) flags[t.name] = true;
    // parseArgs takes any next argument as the value; one of two dashes is the next flag.
    else if (t.value === undefined || t.value.startsWith("--")) {
      throw new ConfigError(`flag --${t.name} needs a value`);
    } else flags[t.name] = t.value;
  }
  return { flags, positional };
}

/** Which flags a command accepts (`config` is always accepted). */
export const KNOWN_FLAGS: ReadonlySet<string> = new Set([...Object.keys(SETTINGS), "config"]);

/** What else `resolveConfig` (config_schema.ts) and {@linkcode plainConfig} may look at. */
export interface ResolveHints {
  /** The input file of `replay`: with `--source file:PATH`, its format (by `--format` or by
   * name) chooses the default profile. @default {none} */
  input?: string;
}

/** The values to validate (the file's under the flags', `VIGIL_TOKEN` as `token`) and the
 * flags given, after the checks that come before any value's: an unknown flag, `--token` with
 * `--token-file`. Shared by {@linkcode plainConfig} and the schema's `resolveConfig`. */
export interface SettingsInput {
  raw: Record<string, unknown>;
  given: Record<string, string | true>;
}

/**
 * The first step of resolving settings (see {@linkcode SettingsInput}); a {@linkcode ConfigError}
 * for an unknown flag or `--token` with `--token-file`.
 *
 * @example
 * ```ts
 * settingsInput({ port: "0" }, { port: 8080, window: 7 }, {}).raw; // { port: "0", window: 7 }
 * ```
 */
export function settingsInput(
  flags: Record<string, string | true>,
  fileValues: Record<string, unknown>,
  env: { VIGIL_TOKEN?: string },
): SettingsInput {
  for (const name of Object.keys(flags)) {
    if (!KNOWN_FLAGS.has(name)) throw new ConfigError(`unknown flag --${name}`);
  }
  const { config: _config, ...given } = flags;
  const raw: Record<string, unknown> = { ...fileValues, ...given };
  if (raw.token !== undefined && raw["token-file"] !== undefined) {
    throw new ConfigError("--token and --token-file exclude each other: pick one");
  }
  // An explicit --token-file wins over the environment, as --token does.
  if (raw.token === undefined && raw["token-file"] === undefined && env.VIGIL_TOKEN) {
    raw.token = env.VIGIL_TOKEN;
  }
  return { raw, given };
}

/**
 * What `resolveConfig` (engine/core/config_schema.ts) returns, without loading the schema, when
 * there are no config file values and every flag's value is a plain valid one (digits for a
 * number, one of the names of a choice, …; see `SETTINGS`); null otherwise, and the schema then
 * decides, naming what is wrong. Checks that come before or after the values' (an unknown flag,
 * `--rate` without a file, a bad `--webhook` URL, …) throw here as there.
 *
 * @example
 * ```ts
 * plainConfig({ "data-dir": "out" })?.dataDir; // "out"
 * plainConfig({ machines: "many" }); // null: the schema names the problem
 * ```
 */
export function plainConfig(
  flags: Record<string, string | true>,
  fileValues: Record<string, unknown> = {},
  env: { VIGIL_TOKEN?: string } = {},
  hints: ResolveHints = {},
): EngineConfig | null {
  if (Object.keys(fileValues).length > 0) return null;
  const { raw, given } = settingsInput(flags, fileValues, env);
  const c: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(SETTINGS)) {
    const value = raw[name];
    if (value === undefined) {
      c[name] = setting.fallback?.();
      continue;
    }
    const plain = setting.read(value as string | true);
    if (plain === TO_SCHEMA) return null;
    c[name] = plain;
  }
  return engineConfig(c as unknown as Settings, given, hints);
}

/**
 * The {@linkcode EngineConfig} of validated settings `c`, after the cross-checks between them
 * (`--simulator-only` with `--processor-only`, `--rate` without a file, each `--webhook` and
 * `--influx` URL); `given` are the flags given (for the messages), `hints` as for
 * `resolveConfig`. The profile defaults to `device` when the input is the device's (`serial:`
 * source, `kv` or `raw` format), else `machine`.
 *
 * @example
 * ```ts
 * import { resolveConfig } from "./config_schema.ts";
 *
 * // What resolveConfig does once the schema has validated the values:
 * resolveConfig({ "simulator-only": true, "processor-only": true }); // ConfigError
 * ```
 */
export function engineConfig(
  c: Settings,
  given: Record<string, string | true>,
  hints: ResolveHints,
): EngineConfig {
  if (c["simulator-only"] && c["processor-only"]) {
    throw new ConfigError("--simulator-only and --processor-only exclude each other");
  }
  const source = parseSource(c.source);
  if ("rate" in given && source.kind !== "file" && hints.input === undefined) {
    throw new ConfigError("--rate paces a recorded file: it applies to replay and --source file:");
  }
  const input = hints.input ??
    (source.kind === "file" ? source.target.slice("file:".length) : null);
  const inputFormat = input === null ? c.format ?? null : formatOf(input, c.format ?? null);
  const device = source.kind === "serial" || inputFormat === "kv" || inputFormat === "raw";
  return {
    source,
    profile: c.profile ?? (device ? "device" : "machine"),
    profileGiven: c.profile !== undefined,
    detector: c.detector,
    machines: c.machines,
    seed: c.seed ?? null,
    interval: c.interval,
    processingInterval: c["processing-interval"],
    window: c.window,
    format: c.format ?? null,
    baud: c.baud,
    dataDir: c["data-dir"],
    host: c.host,
    port: c.port,
    model: c.model ?? null,
    onlineModel: c["online-model"] ?? null,
    publish: c.publish ?? null,
    publishAnomalies: c["publish-anomalies"],
    publishRows: c["publish-rows"] === "" ? null : c["publish-rows"],
    token: c.token ?? null,
    tokenFile: c["token-file"] ?? null,
    allowedHosts:
      (Array.isArray(c["allowed-hosts"])
        ? c["allowed-hosts"]
        : (c["allowed-hosts"] ?? "").split(",")).filter((h) => h !== ""),
    zThreshold: c["z-threshold"],
    modelSize: c["model-size"],
    faultRate: c["fault-rate"],
    simulatorOnly: c["simulator-only"],
    processorOnly: c["processor-only"],
    channels: c.channels,
    heartbeatTimeout: c["heartbeat-timeout"] ?? null,
    incidentWindow: c["incident-window"],
    partition: c.partition === undefined ? null : {
      index: Number(c.partition.split("/")[0]),
      count: Number(c.partition.split("/")[1]),
    },
    leaseTtl: c["lease-ttl"],
    webhooks: webhookUrls(c.webhook),
    influx: influxUrl(c.influx, "influx" in given ? "--influx" : 'config key "influx"'),
    influxTokenFile: c["influx-token-file"] ?? null,
    rate: c.rate ?? Infinity,
  };
}

/** `--webhook`'s URLs, each checked here so a bad one exits 2 before anything starts. */
function webhookUrls(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const urls = (Array.isArray(value) ? value : value.split(",")).map((u) => u.trim())
    .filter((u) => u !== "");
  const seen = new Set<string>();
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new ConfigError(`bad value for --webhook: ${JSON.stringify(u)} is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new ConfigError(`bad value for --webhook: ${JSON.stringify(u)} is not http(s)`);
    }
    if (seen.has(url.href)) {
      throw new ConfigError(`bad value for --webhook: ${JSON.stringify(u)} is given twice`);
    }
    seen.add(url.href);
  }
  return urls;
}

/** `--influx`'s URL, checked here (its form, see core/influx_url.ts) so a bad one exits 2. */
function influxUrl(value: string | undefined, where: string): string | null {
  if (value === undefined) return null;
  try {
    parseInfluxUrl(value);
  } catch (e) {
    throw new ConfigError(`bad value for ${where}: ${(e as Error).message}`);
  }
  return value;
}

/**
 * `--rate`'s value as a speed (Infinity for `max`, 1 for `realtime`); null when invalid.
 *
 * @example
 * ```ts
 * rateOf("10"); // 10
 * rateOf("fast"); // null
 * ```
 */
export function rateOf(v: string | number): number | null {
  if (v === "max") return Infinity;
  if (v === "realtime") return 1;
  const n = typeof v === "number" ? v : v.trim() === "" ? NaN : Number(v);
  return Number.isFinite(n) && n > 0 ? n : null;
}

function parseSource(s: string): SourceSpec {
  return { kind: s === "simulator" ? s : s.slice(0, s.indexOf(":")), target: s };
}

/** Reads a `--config` file: a JSON object whose keys are flag names. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ConfigError(`cannot read --config ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`--config ${JSON.stringify(path)} is not JSON: ${(e as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`--config ${JSON.stringify(path)} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** The input format of a file: `--format`, else by name (`raw.log`: raw; `.csv`; `.kv`/`.txt`:
 * kv; else JSONL). */
export function formatOf(path: string, given: InputFormat | null): InputFormat {
  if (given) return given;
  if (/(^|[/\\])raw\.log$/.test(path)) return "raw";
  if (/\.csv$/i.test(path)) return "csv";
  if (/\.(kv|txt)$/i.test(path)) return "kv";
  return "json";
}
