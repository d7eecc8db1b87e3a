/**
 * MQTT ingest: readings published as fast as one client can (QoS 1, one reading per message,
 * the simulator's JSON lines of 1,000 machines on `plant/<machine>/telemetry`) by a separate
 * process into a local mosquitto (Debian package `mosquitto`; skipped without it), queued there
 * for the engine's persistent session, then taken by an {@linkcode MqttSource} subscribed to
 * `plant/+/telemetry` as fast as it can, through the analyzer (WASM kernel and every detector)
 * or not. Queued first because one mqtt.js publisher (~40,000 messages/s here) is slower than
 * the source: publishing live would time the publisher. Printed per iteration: readings per
 * second of wall time, readings per CPU-second of this process (the engine is one JS thread:
 * that is per core) and resident memory (`Deno.memoryUsage().rss`) at the end.
 *
 *   deno bench --allow-all bench/mqtt_bench.ts
 *
 * The publisher is this file run as `deno run -A bench/mqtt_bench.ts publish URL COUNT`.
 */
import process from "node:process";
import { Analyzer, MACHINE_CHANNELS, MqttSource, WasmKernel } from "../engine/mod.ts";
import { hasMosquitto, publishReadings, startBroker } from "./_mqtt.ts";

const COUNT = 200_000;
const MACHINES = 1000;

/**
 * One iteration: the publisher process publishes COUNT readings while this engine's session
 * is offline (the broker queues them), then the source connects and takes them all as fast as
 * it can, through the analyzer when `analyze`. `b.start()` at the first reading and `b.end()`
 * at the last, so only ingest is timed. Returns readings, seconds, CPU-seconds of this
 * process, RSS in MB and anomaly events.
 */
async function ingest(url: string, analyze: boolean, b: Deno.BenchContext) {
  // One session for both benches: a second one would get (and queue) every message too.
  const clientId = "vigil-bench";
  const topic = `${url}/plant/+/telemetry`;
  // The session and its subscription; drains what QoS-1 redeliveries left of the last run.
  // Read while waiting for the SUBACK: the broker sends the backlog first, and the SUBACK
  // is handled only after it, so a full queue nobody reads would wait forever.
  const setup = new AbortController();
  const first = new MqttSource({ url: topic, clientId, signal: setup.signal });
  const drained = (async () => {
    for await (const _ of first.readable) { /* discarded */ }
  })();
  while (!first.subscribed) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 500)); // the rest of the backlog
  setup.abort();
  await drained;
  const published = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "publish", url, String(COUNT)],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!published.success) throw new Error("the publisher failed");

  const stop = new AbortController();
  const analyzer = analyze ? new Analyzer(new WasmKernel(), { channels: MACHINE_CHANNELS }) : null;
  b.start();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const source = new MqttSource({ url: topic, clientId, signal: stop.signal });
  let n = 0;
  let events = 0;
  for await (const batch of source.readable) {
    n += batch.length;
    if (analyzer) events += analyzer.analyze(batch).events.length;
    if (n >= COUNT) break;
  }
  b.end();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const rssMb = Deno.memoryUsage().rss / 2 ** 20;
  stop.abort();
  if (n < COUNT) throw new Error(`ingested ${n} of ${COUNT}`);
  return { n, seconds, cpuSeconds, rssMb, events };
}

if (Deno.args[0] === "publish") {
  await publishReadings(Deno.args[1]!, Number(Deno.args[2]), MACHINES);
} else {
  const ok = hasMosquitto();
  const dir = await Deno.makeTempDir({ prefix: "vigil-mqtt-bench-" });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const broker = ok ? await startBroker(dir, port) : null;
  // Deno.bench runs the benches after this module: the broker goes when the process does.
  globalThis.addEventListener("unload", () => {
    broker?.kill("SIGTERM");
    Deno.removeSync(dir, { recursive: true });
  });
  const url = `mqtt://127.0.0.1:${port}`;
  for (const analyze of [false, true]) {
    Deno.bench({
      name: analyze ? "parse + analyzer (kernel, all detectors)" : "parse only",
      group: `MQTT ingest of ${COUNT} readings, ${MACHINES} machines, QoS 1`,
      baseline: !analyze,
      ignore: !ok,
      n: 3,
      warmup: 1,
      async fn(b) {
        const r = await ingest(url, analyze, b);
        console.log(
          `${analyze ? "parse + analyzer" : "parse only"}: ${Math.round(r.n / r.seconds)} ` +
            `readings/s, ${Math.round(r.n / r.cpuSeconds)} readings per CPU-second, ` +
            `RSS ${r.rssMb.toFixed(0)} MB, ${r.events} anomaly events`,
        );
      },
    });
  }
}
