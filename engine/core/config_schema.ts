/**
 * The zod schema of the settings of `start` and `replay`, by flag name (the config file uses
 * the same keys), and {@linkcode resolveConfig}, which validates flags and a config file's
 * values with it. Its own module so that a run without a config file, whose flags are all plain
 * values, never loads zod (`plainConfig` in config.ts; the reason and its measure there).
 * @module
 */
import { z } from "zod";
import { INPUT_FORMATS, type InputFormat } from "./input_format.ts";
import {
  ConfigError,
  DETECTORS,
  type EngineConfig,
  engineConfig,
  HOSTS_PATTERN,
  PARTITION_PATTERN,
  partitionInRange,
  PROFILES,
  PUBLISH_PATTERN,
  rateOf,
  type ResolveHints,
  type Settings,
  settingsInput,
  SOURCE_PATTERN,
} from "./config.ts";

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
export const schema = z.strictObject({
  source: z.string().regex(
    SOURCE_PATTERN,
    "must be simulator or SCHEME:…, e.g. file:PATH, serial:PATH, mqtt://… or nats://…",
  )
    .default("simulator"),
  profile: z.enum(PROFILES).optional(),
  detector: z.enum(DETECTORS).default("adaptive"),
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
  publish: z.string().regex(PUBLISH_PATTERN, "must be mqtt://HOST:PORT").optional(),
  "publish-anomalies": z.string().min(1).default("vigil/{machine}/anomalies"),
  "publish-rows": z.string().default("vigil/{machine}/rows"),
  token: z.string().min(1).optional(),
  "token-file": z.string().min(1).optional(),
  // One name, or several separated by commas; an array of names in a config file.
  "allowed-hosts": z.union([
    z.string().regex(HOSTS_PATTERN, "must be names separated by commas, e.g. vigil.local"),
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
  partition: z.string().regex(PARTITION_PATTERN, "must be k/N, e.g. 0/3")
    .refine(partitionInRange, "needs 0 <= k < N").optional(),
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

// The schema's output and config.ts's Settings (which plainConfig fills) are the same type.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _sameSettings: Same<z.output<typeof schema>, Settings> = true;

/**
 * Validates flags (over the optional `--config` file's values) into an {@linkcode EngineConfig}.
 * `env` supplies `VIGIL_TOKEN` when neither `--token` nor `--token-file` is given (the file
 * itself is read by the CLI). The profile defaults to `device`
 * when the input is the device's (`serial:` source, `kv` or `raw` format), else `machine`.
 *
 * @example
 * ```ts
 * resolveConfig({ machines: "3" }, { window: 7 }).window; // 7
 * resolveConfig({ machines: "0" }); // ConfigError "bad value for --machines: "0" (Too small: …)"
 * ```
 */
export function resolveConfig(
  flags: Record<string, string | true>,
  fileValues: Record<string, unknown> = {},
  env: { VIGIL_TOKEN?: string } = {},
  hints: ResolveHints = {},
): EngineConfig {
  const { raw, given } = settingsInput(flags, fileValues, env);
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
  return engineConfig(parsed.data, given, hints);
}
