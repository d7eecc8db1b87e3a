/**
 * What the MQTT benches share: a private mosquitto on a loopback port and a publisher of
 * simulator readings.
 * @module
 */
import { join } from "node:path";
import { benchReadings } from "./gen_readings.ts";
import { formatReading } from "../engine/mod.ts";

/**
 * Publishes `count` simulator readings of `machines` machines, one JSON reading per message on
 * `plant/<machine>/telemetry` at QoS 1, as fast as one mqtt.js client goes, with at most
 * `window` unacknowledged messages in flight (as a real device would).
 *
 * @example
 * ```ts
 * await publishReadings("mqtt://127.0.0.1:1883", 1000, 10);
 * ```
 */
export async function publishReadings(
  url: string,
  count: number,
  machines: number,
  window = 1000,
): Promise<void> {
  const { default: mqtt } = await import("mqtt");
  const client = await mqtt.connectAsync(url, { clientId: `vigil-bench-publisher-${Date.now()}` });
  const payloads: { topic: string; text: string }[] = [];
  for (
    const r of benchReadings(machines, count)
  ) payloads.push({ topic: `plant/${r.machine}/telemetry`, text: formatReading(r) });
  let inFlight = 0;
  let wake: (() => void) | null = null;
  for (const { topic, text } of payloads) {
    while (inFlight >= window) await new Promise<void>((r) => wake = r);
    inFlight++;
    client.publish(topic, text, { qos: 1 }, () => {
      inFlight--;
      if (wake) {
        const w = wake;
        wake = null;
        w();
      }
    });
  }
  while (inFlight > 0) await new Promise<void>((r) => wake = r);
  await client.endAsync();
}

/**
 * Whether the `mosquitto` binary (Debian package `mosquitto`) is there.
 *
 * @example
 * ```ts
 * if (!hasMosquitto()) console.log("skipped: no mosquitto");
 * ```
 */
export function hasMosquitto(): boolean {
  try {
    new Deno.Command("mosquitto", { args: ["-h"], stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
}

/**
 * A free loopback port (asked of the OS, then released).
 *
 * @example
 * ```ts
 * const port = freePort();
 * ```
 */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts a mosquitto on 127.0.0.1:`port` with its config in `dir` (no persistence, no limit on
 * queued messages); resolves once it accepts connections.
 *
 * @example
 * ```ts
 * const broker = await startBroker(await Deno.makeTempDir(), freePort());
 * broker.kill("SIGTERM");
 * ```
 */
export async function startBroker(dir: string, port: number): Promise<Deno.ChildProcess> {
  const conf = join(dir, "mosquitto.conf");
  await Deno.writeTextFile(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n`,
  );
  const proc = new Deno.Command("mosquitto", { args: ["-c", conf], stdout: "null", stderr: "null" })
    .spawn();
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return proc;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`mosquitto did not listen on ${port}`);
}
