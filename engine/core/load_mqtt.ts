/**
 * mqtt.js, loaded on first use by the MQTT publisher (`--publish mqtt://`), with no `--allow-env`.
 * The MQTT source speaks the protocol itself (`engine/sources/mqtt/mqtt_connection.ts`).
 * @module
 */
import { ConfigError } from "./config.ts";

/**
 * The environment variables mqtt.js and its dependencies read (found in their sources: `debug`
 * lists every variable as it loads, `readable-stream`, `ws` and mqtt.js's `connect` read these
 * names). Each is passed through when this process may read it; no other is visible to them.
 */
const MQTT_ENV = [
  "DEBUG",
  "DEBUG_COLORS",
  "DEBUG_DEPTH",
  "DEBUG_HIDE_DATE",
  "DEBUG_SHOW_HIDDEN",
  "READABLE_STREAM",
  "WS_NO_BUFFER_UTIL",
  "WS_NO_UTF_8_VALIDATE",
  "MQTTJS_SOCKS_PROXY",
] as const;

/** The variables of {@linkcode MQTT_ENV} this process may read and that are set. */
function mqttEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of MQTT_ENV) {
    if (Deno.permissions.querySync({ name: "env", variable }).state !== "granted") continue;
    const value = Deno.env.get(variable);
    if (value !== undefined) env[variable] = value;
  }
  return env;
}

/** Node's `process`, whose `env` npm packages read. */
type NodeProcess = NodeJS.Process;

/**
 * Runs `fn` with Node's `process.env` (what npm packages read) replaced by the variables of
 * {@linkcode MQTT_ENV} this process may read: `debug`'s listing of every variable otherwise
 * needs all of `--allow-env`, which the deno tasks do not grant (their env holds the API token's
 * neighbours). Vigil's own code reads `Deno.env`, which this leaves alone.
 */
function withMqttEnv<T>(process: NodeProcess, fn: () => T): T {
  const real = process.env;
  process.env = mqttEnv();
  try {
    return fn();
  } finally {
    process.env = real;
  }
}

/**
 * The mqtt.js module, loaded on first use (runs without MQTT load none of it). It and its
 * dependencies see only the environment variables they use ({@linkcode MQTT_ENV}), while they
 * load and in `connect` (which reads `MQTTJS_SOCKS_PROXY`), so no `--allow-env` is needed.
 *
 * @example
 * ```ts
 * const mqtt = await loadMqtt();
 * const client = mqtt.connect("mqtt://127.0.0.1:1883");
 * client.end();
 * ```
 */
export async function loadMqtt(): Promise<typeof import("mqtt").default> {
  // node:process with mqtt.js, not with this module: the MQTT source's definition imports
  // requireMqttPermissions below, and node:process alone is about 0.4 MiB of heap in every run
  // (a replay's included) beside node:path's and node:util's share of Node's compatibility layer.
  const { default: process } = await import("node:process");
  const real = process.env;
  process.env = mqttEnv();
  let mqtt: typeof import("mqtt").default;
  try {
    mqtt = (await import("mqtt")).default;
  } finally {
    process.env = real;
  }
  const connect =
    ((...args: Parameters<typeof mqtt.connect>) =>
      withMqttEnv(process, () => mqtt.connect(...args))) as typeof mqtt.connect;
  // The module's properties are getters: a new object over it, with its own `connect`.
  return Object.create(mqtt, { connect: { value: connect } });
}

/**
 * MQTT needs the broker's host: said at start (`Deno.errors.NotCapable`, which the CLI turns
 * into exit 2, naming exactly the missing flag) rather than at the first connection. `flag`
 * names the flag the URL came from.
 *
 * @example
 * ```ts
 * import { requireMqttPermissions } from "./load_mqtt.ts";
 *
 * await requireMqttPermissions("--publish", "mqtt://127.0.0.1:1883");
 * ```
 */
export async function requireMqttPermissions(flag: string, url: string): Promise<void> {
  // A `USER:PASSWORD@` in front is not the host.
  const host = /^mqtts?:\/\/(?:[^@/]*@)?([^/:@]+)/.exec(url)?.[1];
  if (!host) throw new ConfigError(`bad value for ${flag}: ${JSON.stringify(url)} has no host`);
  if ((await Deno.permissions.query({ name: "net", host })).state !== "granted") {
    throw new Deno.errors.NotCapable(`${flag} ${url} needs --allow-net=${host}`);
  }
}
