/**
 * The serial path end to end with real processes: `deno task emulate` writes the forced-failure
 * script into one end of a socat pty pair, `deno task start:serial` reads the other end. Every
 * detector fires as scripted, the heartbeat loss comes within its timeout (plus the tick and some
 * slack for a loaded machine), `/anomalies`, `anomalies.jsonl` and `anomaly_report.json` agree,
 * and `raw.log` replayed with `--format raw` reproduces `structured_metrics.csv` byte for byte.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ptyPair, ROOT, runVigil, startVigil, type Vigil } from "../helpers.ts";

/** The `(type, severity)` sequence one pass of the forced-failure script raises, in order. */
const SCRIPTED = [
  ["DEVICE_STATUS", "INFO"], // the port opened: "Device connected."
  ["RAPID_CHANGE_TEMP", "WARNING"], // 45.4 → 62.0 °C
  ["THRESHOLD_BREACH_TEMP", "CRITICAL"], // 85.5 °C
  ["DEVICE_STATUS", "CRITICAL"], // S:CRITICAL_TEMP
  ["THRESHOLD_BREACH_TEMP", "INFO"], // 78.0 °C: cleared
  ["RAPID_CHANGE_TEMP", "INFO"], // a step under 15 °C: cleared
  ["DEVICE_STATUS", "WARNING"], // S:WARNING_TEMP
  ["THRESHOLD_BREACH_VOLTAGE", "CRITICAL"], // 4.20 V
  ["DEVICE_STATUS", "WARNING"], // S:WARNING_VOLTAGE
  ["THRESHOLD_BREACH_VOLTAGE", "CRITICAL"], // 5.80 V: the high alarm starts…
  ["THRESHOLD_BREACH_VOLTAGE", "INFO"], // …and the low one clears
  ["DEVICE_STATUS", "CRITICAL"], // S:CRITICAL_VOLTAGE
  ["DEVICE_STATUS", "CRITICAL"], // S:OFFLINE
  ["THRESHOLD_BREACH_VOLTAGE", "INFO"], // 5.00 V: the high alarm clears
  ["DEVICE_STATUS", "INFO"], // back to NORMAL
  ["HEARTBEAT_LOSS", "CRITICAL"], // then silence
];

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("emulate → socat → start:serial: every detector as scripted, heartbeat, files agree", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-serial-" });
  const dataDir = `./data/test-${crypto.randomUUID()}`;
  const pty = await ptyPair(dir);
  const { dev, app } = pty;
  let engine: Vigil | undefined;
  try {
    engine = await startVigil(
      [
        "--source",
        `serial:${app}`,
        "--port",
        "0",
        "--data-dir",
        dataDir,
        "--processing-interval",
        "1",
      ],
      { task: "start:serial", timeoutMs: 120_000 },
    );
    const base = engine.url;
    const get = async (path: string) => await (await fetch(new URL(path, base))).json();
    // The port is open once the engine says the device is connected.
    await waitFor("the device to connect", 30_000, async () => {
      const h = await get("/health");
      return h.sources[0]?.state === "running" ? true : undefined;
    });

    const emulate = await runVigil(
      [
        "--port",
        dev,
        "--scenario",
        "forced-failure",
        "--rate",
        "20",
        "--count",
        "13", // one pass of the script: 5 baseline lines, 7 triggers, 1 normal line
        "--seed",
        "1",
      ],
      { task: "emulate" },
    );
    const silentFrom = Date.now();
    assert.equal(emulate.code, 0, emulate.stderr);
    assert.equal(JSON.parse(emulate.stdout).lines, 13);

    const anomalies = await waitFor("HEARTBEAT_LOSS", 30_000, async () => {
      const a = await get("/anomalies?limit=100");
      return a.anomalies.some((e: { type: string }) => e.type === "HEARTBEAT_LOSS")
        ? a.anomalies
        : undefined;
    });
    // The 5 s timeout plus the 250 ms tick, plus polling and slack for a loaded CI machine.
    const seen = Date.now() - silentFrom;
    assert.ok(seen < 5_000 + 250 + 2_500, `heartbeat loss seen ${seen} ms after the silence`);
    assert.deepEqual(
      anomalies.map((e: { type: string; severity: string }) => [e.type, e.severity]),
      SCRIPTED,
    );
    const loss = anomalies.at(-1);
    assert.equal(loss.description, "No data received for 5.0 seconds. Device may be offline.");
    assert.ok(
      anomalies.some((e: { description: string }) =>
        e.description === "Temperature 85.50°C exceeded threshold of 80.0°C."
      ),
    );

    const health = await get("/health");
    assert.equal(health.sources[0].readings, 13);
    assert.equal(health.sources[0].errors, 0);

    assert.equal((await engine.stop("SIGTERM")).code, 0);
    const d = join(ROOT, dataDir);
    const jsonl = (await Deno.readTextFile(join(d, "anomalies.jsonl"))).trim().split("\n").map((
      l,
    ) => JSON.parse(l));
    assert.deepEqual(jsonl, anomalies);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(d, "anomaly_report.json"))), jsonl);
    const raw = (await Deno.readTextFile(join(d, "raw.log"))).trim().split("\n");
    assert.equal(raw.length, 13);

    // The audit log re-parsed reproduces the structured metrics byte for byte.
    const replayDir = `${dataDir}-replay`;
    const replay = await runVigil(
      [join(d, "raw.log"), "--format", "raw", "--data-dir", replayDir],
      { task: "replay" },
    );
    assert.equal(replay.code, 0, replay.stderr);
    assert.equal(
      await Deno.readTextFile(join(ROOT, replayDir, "structured_metrics.csv")),
      await Deno.readTextFile(join(d, "structured_metrics.csv")),
    );
    await Deno.remove(join(ROOT, replayDir), { recursive: true });
  } finally {
    await engine?.stop("SIGKILL");
    await pty.close();
    await Deno.remove(join(ROOT, dataDir), { recursive: true }).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
