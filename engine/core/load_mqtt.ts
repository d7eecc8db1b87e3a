/**
 * mqtt.js, loaded on first use by the MQTT source and publisher.
 * @module
 */
import { ConfigError } from "./config.ts";

/**
 * The mqtt.js module. Loaded lazily because its dependencies read the environment as they load
 * (`debug` lists every variable), which needs `--allow-env`: runs without MQTT must not need it.
 * A missing permission becomes an `Error` that says which flag is needed.
 */
export async function loadMqtt(): Promise<typeof import("mqtt").default> {
  try {
    return (await import("mqtt")).default;
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new Error(`MQTT needs --allow-env (mqtt.js reads the environment): ${e.message}`);
    }
    throw e;
  }
}

/**
 * MQTT needs the broker's host and, since mqtt.js reads the environment, all of `--allow-env`:
 * said at start (`Deno.errors.NotCapable`, which the CLI turns into exit 2) rather than at the
 * first connection. `flag` names the flag the URL came from.
 *
 * @example
 * ```ts
 * import { requireMqttPermissions } from "./load_mqtt.ts";
 *
 * await requireMqttPermissions("--publish", "mqtt://127.0.0.1:1883");
 * ```
 */
export async function requireMqttPermissions(flag: string, url: string): Promise<void> {
  const host = /^mqtts?:\/\/([^/:]+)/.exec(url)?.[1];
  if (!host) throw new ConfigError(`bad value for ${flag}: ${JSON.stringify(url)} has no host`);
  for (const p of [{ name: "net", host } as const, { name: "env" } as const]) {
    if ((await Deno.permissions.query(p)).state !== "granted") {
      throw new Deno.errors.NotCapable(
        `${flag} ${url} needs --allow-net=${host} and --allow-env (mqtt.js reads the environment)`,
      );
    }
  }
}
