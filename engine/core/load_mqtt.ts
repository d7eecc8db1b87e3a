/**
 * mqtt.js, loaded on first use by the MQTT source and publisher.
 * @module
 */

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
