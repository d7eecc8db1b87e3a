/**
 * Command-line flags and the JSON config file of `start` and `replay`, validated with zod.
 * Flags override the file; every bad value is a {@linkcode ConfigError} naming it.
 * @module
 */
import { parseArgs } from "node:util";
import { z } from "zod";
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

const SOURCE = /^(simulator|[a-z][a-z0-9+.-]*:.+)$/;

const range = z.tuple([z.number(), z.number()]).refine(([a, b]) => a <= b, "low must be <= high");
const channelSchema = z.strictObject({
  label: z.string().optional(),
  unit: z.string().optional(),
  normal: range.optional(),
  alert: range.optional(),
  maxDelta: z.number().positive().optional(),
  maxDeviationPct: z.number().positive().optional(),
  activeStatuses: z.array(z.string()).optional(),
  clearAfter: z.number().int().min(1).max(1_000_000).optional(),
  clearBand: z.number().min(0).optional(),
  onDelay: z.number().int().min(1).max(1_000_000).optional(),
  offDelay: z.number().int().min(1).max(1_000_000).optional(),
});

const num = () => z.coerce.number<unknown>().refine(Number.isFinite, "must be a finite number");
const int = (min: number, max: number) =>
  z.coerce.number<unknown>().int("must be a whole number").min(min).max(max);
const bool = z.union([z.boolean(), z.literal("true").transform(() => true)]);

/** Every setting, by its flag name (the config file uses the same keys). */
const schema = z.strictObject({
  source: z.string().regex(
    SOURCE,
    "must be simulator or SCHEME:…, e.g. file:PATH, serial:PATH, mqtt://… or nats://…",
  )
    .default("simulator"),
  profile: z.enum(["machine", "vibration", "device", "generic"]).optional(),
  detector: z.enum(["adaptive", "zscore"]).default("adaptive"),
  machines: int(1, 10_000).default(1),
  seed: int(0, 2 ** 32 - 1).optional(),
  interval: num().pipe(z.number().positive()).default(2),
  "processing-interval": num().pipe(z.number().positive()).default(10),
  window: int(1, 65_536).default(5),
  format: z.enum(INPUT_FORMATS as [InputFormat, ...InputFormat[]]).optional(),
  baud: int(50, 4_000_000).default(115_200),
  "data-dir": z.string().min(1).default("./data"),
  host: z.string().min(1).default("127.0.0.1"),
  port: int(0, 65_535).default(8000),
  model: z.string().min(1).optional(),
  "online-model": int(2, 100_000).optional(),
  publish: z.string().regex(/^mqtts?:\/\/[^/\s]+/, "must be mqtt://HOST:PORT").optional(),
  "publish-anomalies": z.string().min(1).default("vigil/{machine}/anomalies"),
  "publish-rows": z.string().default("vigil/{machine}/rows"),
  token: z.string().min(1).optional(),
  "token-file": z.string().min(1).optional(),
  // One name, or several separated by commas; an array of names in a config file.
  "allowed-hosts": z.union([
    z.string().regex(/^[^\s/]+$/, "must be names separated by commas, e.g. vigil.local"),
    z.array(z.string().regex(/^[^\s/,]+$/, "must be a host name, e.g. vigil.local")).min(1),
  ]).optional(),
  "z-threshold": num().pipe(z.number().positive()).default(3),
  "model-size": int(2, 65_536).default(100),
  "fault-rate": num().pipe(z.number().min(0).max(1)).default(0.01),
  "simulator-only": bool.default(false),
  "processor-only": bool.default(false),
  channels: z.record(z.string(), channelSchema).default({}),
  "heartbeat-timeout": z.union([
    z.literal("auto"),
    z.literal("off"),
    num().pipe(z.number().positive().max(86_400)),
  ], { error: "must be seconds (> 0, at most 86400), auto or off" }).optional(),
  "incident-window": num().pipe(z.number().min(0).max(86_400)).default(60),
  // One URL, or several separated by commas; an array of URLs in a config file.
  webhook: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  influx: z.string().min(1).optional(),
  "influx-token-file": z.string().min(1).optional(),
  partition: z.string().regex(/^\d{1,4}\/\d{1,4}$/, "must be k/N, e.g. 0/3").refine((s) => {
    const [k, n] = s.split("/").map(Number) as [number, number];
    return n >= 1 && k < n;
  }, "needs 0 <= k < N").optional(),
  "lease-ttl": num().pipe(z.number().min(1).max(3600)).default(30),
  rate: z.union([z.string(), z.number()]).transform((v, ctx) => {
    const speed = rateOf(v);
    if (speed !== null) return speed;
    ctx.addIssue({
      code: "custom",
      message: "must be max, realtime or a speed-up N > 0, e.g. 10 for ten times real time",
    });
    return z.NEVER;
  }).optional(),
});

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
export const KNOWN_FLAGS: ReadonlySet<string> = new Set([...Object.keys(schema.shape), "config"]);

/** What else {@linkcode resolveConfig} may look at. */
export interface ResolveHints {
  /** The input file of `replay`: with `--source file:PATH`, its format (by `--format` or by
   * name) chooses the default profile. @default {none} */
  input?: string;
}

/**
 * Validates flags (over the optional `--config` file's values) into an {@linkcode EngineConfig}.
 * `env` supplies `VIGIL_TOKEN` when neither `--token` nor `--token-file` is given (the file
 * itself is read by the CLI). The profile defaults to `device`
 * when the input is the device's (`serial:` source, `kv` or `raw` format), else `machine`.
 */
export function resolveConfig(
  flags: Record<string, string | true>,
  fileValues: Record<string, unknown> = {},
  env: { VIGIL_TOKEN?: string } = {},
  hints: ResolveHints = {},
): EngineConfig {
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
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? "");
    if (issue.code === "unrecognized_keys") {
      throw new ConfigError(`unknown config key ${JSON.stringify(issue.keys[0])}`);
    }
    const where = key in given ? `--${key}` : `config key ${JSON.stringify(key)}`;
    const value = issue.path.reduce<unknown>(
      (v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey],
      raw,
    );
    const at = issue.path.length > 1 ? ` at ${issue.path.slice(1).join(".")}` : "";
    throw new ConfigError(
      `bad value for ${where}${at}: ${JSON.stringify(value)} (${issue.message})`,
    );
  }
  const c = parsed.data;
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

/** `--rate`'s value as a speed (Infinity for `max`, 1 for `realtime`); null when invalid. */
function rateOf(v: string | number): number | null {
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
