/**
 * Refused input of live sources, with real processes: the emulator writes malformed lines into
 * a socat pty pair read by `start:serial`, and a mosquitto broker carries malformed payloads to
 * `start --source mqtt://`. Every refused line is in `parser_errors.log` as it is counted (also
 * when no reading follows it), a replay of `raw.log` writes the same lines at the same times, and
 * a restart keeps the `/health` counts of what the previous run refused and raised.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import mqtt from "mqtt";
import { connect } from "nats";
import { natsServerConfig } from "../../engine/mod.ts";
import { ptyPair, ROOT, runVigil, type StartOptions, startVigil, type Vigil } from "../helpers.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Resolves once `port` on 127.0.0.1 accepts a connection (a broker is up). */
async function listening(what: string, port: number): Promise<void> {
  await waitFor(`${what} on ${port}`, 10_000, async () => {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch {
      return undefined;
    }
  });
}

/** The complete lines of a JSONL file, which may be read while the engine writes to it. */
async function jsonLines(path: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter((l) => l !== "").map((l) =>
    JSON.parse(l)
  );
}

interface Health {
  sources: { state: string; readings: number; errors: number }[];
  totals: { readings: number; anomalies: number; errors: number };
}

async function health(engine: Vigil): Promise<Health> {
  return await (await fetch(new URL("/health", engine.url))).json();
}

/**
 * `start ARGS` (or the task's), resolved once its source is `running`; `track` is told of the
 * engine first, so that the test's `finally` kills it even if it never gets there.
 */
async function startRunning(
  args: string[],
  track: (engine: Vigil) => void,
  options: StartOptions = {},
): Promise<Vigil> {
  const engine = await startVigil(args, options);
  track(engine);
  await waitFor(`${args[1]} running`, 30_000, async () => {
    return (await health(engine)).sources[0]?.state === "running" ? true : undefined;
  });
  return engine;
}

/** `/health` once `ready` holds of it (the re-run of history is done), or as it is after 10 s
 * (for the assertions to name what is wrong). */
async function settled(engine: Vigil, ready: (h: Health) => boolean): Promise<Health> {
  return await waitFor("the history re-run", 10_000, async () => {
    const h = await health(engine);
    return ready(h) ? h : undefined;
  }).catch(() => health(engine));
}

/** The port's own notices (the device came, went or came back), not readings' states. */
function isDeviceNotice(e: Record<string, unknown>): boolean {
  return e.type === "DEVICE_STATUS" &&
    /^Device (connected|disconnected|reconnected)\b/.test(String(e.description));
}

Deno.test("serial: every refused line in parser_errors.log, as a raw.log replay writes it; counts survive a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-input-errors-" });
  const dataDir = `./data/test-${crypto.randomUUID()}`;
  const replayDir = `${dataDir}-replay`;
  const d = join(ROOT, dataDir);
  const pty = await ptyPair(dir);
  const { dev, app } = pty;
  let engine: Vigil | undefined;
  const start = () =>
    startRunning(
      ["--source", `serial:${app}`, "--port", "0", "--data-dir", dataDir],
      (e) => engine = e,
      { task: "start:serial", timeoutMs: 120_000 },
    );
  try {
    let live = await start();
    const lines = 200;
    const emulate = await runVigil(
      ["--port", dev, "--malformed", "0.3", "--rate", "100", "--count", `${lines}`, "--seed", "7"],
      { task: "emulate" },
    );
    assert.equal(emulate.code, 0, emulate.stderr);
    const malformed: number = JSON.parse(emulate.stdout).malformed;
    assert.ok(malformed > 20, emulate.stdout);

    const counted = await waitFor("every line counted", 30_000, async () => {
      const h = await health(live);
      const s = h.sources[0]!;
      return s.readings + s.errors === lines ? h : undefined;
    });
    assert.equal(counted.sources[0]!.errors, malformed);
    assert.equal(counted.totals.errors, malformed);
    // Written in the batch that counted them; a refused line no reading follows included.
    const errorLog = join(d, "parser_errors.log");
    const logged = await waitFor("parser_errors.log", 10_000, async () => {
      const l = await jsonLines(errorLog);
      return l.length >= malformed ? l : undefined;
    }).catch(async () => await jsonLines(errorLog));
    assert.equal(logged.length, malformed, "parser_errors.log holds every refused line");

    assert.equal((await live.stop("SIGTERM")).code, 0);
    const anomaliesBefore = (await jsonLines(join(d, "anomalies.jsonl"))).length;
    assert.equal(counted.totals.anomalies, anomaliesBefore);

    // A restart: the counts are the files', the previous run's refusals and notices included.
    live = await start();
    const after = await settled(live, (h) => h.sources[0]!.errors === malformed);
    assert.equal(after.sources[0]!.errors, malformed);
    assert.equal(after.totals.errors, malformed);
    assert.equal(after.sources[0]!.readings, lines - malformed);
    assert.equal((await live.stop("SIGTERM")).code, 0);
    const anomalies = await jsonLines(join(d, "anomalies.jsonl"));
    // This run's own "Device connected." (and maybe a heartbeat loss) came on top.
    assert.ok(after.totals.anomalies >= anomaliesBefore, JSON.stringify(after.totals));
    assert.ok(after.totals.anomalies <= anomalies.length, JSON.stringify(after.totals));

    // The replay of raw.log refuses the same lines at the same times. A line the reader cut
    // (over its 1 KiB limit) is in raw.log cut, so only its error text differs.
    const replay = await runVigil(
      [join(d, "raw.log"), "--format", "raw", "--data-dir", replayDir],
      { task: "replay" },
    );
    assert.equal(replay.code, 0, replay.stderr);
    const replayed = await jsonLines(join(ROOT, replayDir, "parser_errors.log"));
    const overlong = (e: Record<string, unknown>) => /^line longer than/.test(String(e.error));
    assert.deepEqual(
      replayed.map((e, i) => overlong(logged[i]!) ? { ...e, error: logged[i]!.error } : e),
      logged,
    );
    assert.ok(logged.some(overlong) && logged.some((e) => !overlong(e)));

    // anomalies.jsonl: the live file less the port's notices (and a loss the replay cannot see:
    // no reading follows the last silence in raw.log) is the replay's, byte for byte.
    const replayText = await Deno.readTextFile(join(ROOT, replayDir, "anomalies.jsonl"));
    const liveText = (await Deno.readTextFile(join(d, "anomalies.jsonl"))).split("\n")
      .filter((l) => l !== "" && !isDeviceNotice(JSON.parse(l)));
    while (liveText.length > 0 && JSON.parse(liveText.at(-1)!).type === "HEARTBEAT_LOSS") {
      liveText.pop();
    }
    assert.equal(liveText.map((l) => l + "\n").join(""), replayText);
    assert.ok(anomalies.some(isDeviceNotice));
  } finally {
    await engine?.stop("SIGKILL");
    await pty.close();
    await Deno.remove(d, { recursive: true }).catch(() => {});
    await Deno.remove(join(ROOT, replayDir), { recursive: true }).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("mqtt: a malformed payload no reading follows is in parser_errors.log; counted after a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-input-mqtt-" });
  await Deno.chmod(dir, 0o777);
  const port = freePort();
  const conf = join(dir, "mosquitto.conf");
  await Deno.writeTextFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\n`);
  const broker = new Deno.Command("mosquitto", {
    args: ["-c", conf],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const dataDir = join(dir, "data");
  const url = `mqtt://127.0.0.1:${port}`;
  let engine: Vigil | undefined;
  const start = () =>
    startRunning(
      ["--source", `${url}/plant/+/telemetry`, "--port", "0", "--data-dir", dataDir],
      (e) => engine = e,
    );
  try {
    await listening("mosquitto", port);
    let live = await start();
    const pub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    const t0 = Date.UTC(2026, 0, 1);
    await pub.publishAsync(
      "plant/press-1/telemetry",
      JSON.stringify({ timestamp: t0, temperature: 25, speed: 1500, status: "RUNNING" }),
      { qos: 1 },
    );
    await waitFor("the reading", 10_000, async () => {
      return (await health(live)).totals.readings === 1 ? true : undefined;
    });
    // Nothing follows these: before, they were counted and never written.
    await pub.publishAsync("plant/press-1/telemetry", "not json", { qos: 1 });
    await pub.publishAsync("plant/press-1/telemetry", '{"timestamp":1e20,"temperature":1}', {
      qos: 1,
    });
    // The machine id of this one is its topic level, which holds a space at its start.
    await pub.publishAsync("plant/ press-9/telemetry", "T:20,V:5", { qos: 1 });
    await pub.endAsync();
    await waitFor("3 errors counted", 10_000, async () => {
      return (await health(live)).sources[0]!.errors === 3 ? true : undefined;
    });
    const errorLog = join(dataDir, "parser_errors.log");
    const logged = await waitFor("parser_errors.log", 10_000, async () => {
      const l = await jsonLines(errorLog);
      return l.length >= 3 ? l : undefined;
    }).catch(async () => await jsonLines(errorLog));
    assert.deepEqual(logged.map((e) => e.line), [
      "not json",
      '{"timestamp":1e20,"temperature":1}',
      "T:20,V:5",
    ]);
    assert.equal(
      logged[2]!.error,
      'plant/ press-9/telemetry: bad machine id " press-9": white space at its start or end',
    );
    assert.equal((await live.stop("SIGTERM")).code, 0);

    live = await start();
    const after = await settled(live, (h) => h.sources[0]!.errors === 3);
    assert.equal(after.sources[0]!.errors, 3);
    assert.equal(after.totals.errors, 3);
    assert.equal(after.totals.readings, 1);
    assert.equal((await live.stop("SIGTERM")).code, 0);
  } finally {
    await engine?.stop("SIGKILL");
    try {
      broker.kill("SIGTERM");
    } catch { /* already gone */ }
    await broker.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("replay: a truncated device line, a bad machine id and an unknown status are parser errors naming them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-input-words-" });
  try {
    const kv = join(dir, "device.kv");
    await Deno.writeTextFile(kv, "T:45.2,V:5.01,S:NORMAL\nT:2\nT:45.3,V:5.0\nS:OFFLINE\n");
    const out = await runVigil(["replay", kv, "--data-dir", join(dir, "kv")]);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(
      (await jsonLines(join(dir, "kv", "parser_errors.log"))).map((e) => [e.line, e.error]),
      [
        [
          "T:2",
          "missing V and S: a line of the device profile carries T, V and S (S:OFFLINE alone)",
        ],
        [
          "T:45.3,V:5.0",
          "missing S: a line of the device profile carries T, V and S (S:OFFLINE alone)",
        ],
      ],
    );

    const jsonl = join(dir, "machines.jsonl");
    const at = (i: number) => `"timestamp":${Date.UTC(2026, 0, 1) + i * 1000},"temperature":20`;
    await Deno.writeTextFile(
      jsonl,
      [
        `{${at(0)},"machine":"press-1","status":"RUNNING"}`,
        `{${at(1)},"machine":""}`,
        `{${at(2)},"machine":"a\\nb"}`,
        `{${at(3)},"machine":"press-1","status":"idle"}`,
        `{${at(4)},"machine":"press-1","status":"PAUSED"}`,
        // A well-formed word the detectors do not know: kept, said once.
        `{${at(5)},"machine":"press-1","status":"IDLE"}`,
        `{${at(6)},"machine":"press-2","status":"IDLE"}`,
      ].join("\n") + "\n",
    );
    const out2 = await runVigil(["replay", jsonl, "--data-dir", join(dir, "jsonl")]);
    assert.equal(out2.code, 0, out2.stderr);
    const summary = JSON.parse(out2.stdout.trim().split("\n").at(-1)!);
    assert.equal(summary.readings, 4);
    assert.equal(summary.errors, 3);
    const log = await Deno.readTextFile(join(dir, "jsonl", "logs", "processor.log"));
    assert.equal(
      log.match(/status \\"IDLE\\" is not one Vigil knows: kept as it is/g)?.length,
      1,
      log,
    );
    assert.match(
      await Deno.readTextFile(join(dir, "jsonl", "stream_output.jsonl")),
      /"machine":"press-2","status":"IDLE"/,
    );
    assert.deepEqual(
      (await jsonLines(join(dir, "jsonl", "parser_errors.log"))).map((e) => e.error),
      [
        'bad machine id "": empty',
        'bad machine id "a\\nb": holds a control character',
        'bad status "idle": a status is a word of capitals, digits and _ starting with a ' +
        "capital, at most 32 characters (RUNNING, PAUSED, WARNING_TEMP)",
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("out-of-order and repeated times: processed, counted in /health and /metrics, one warning per machine", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-input-order-" });
  let engine: Vigil | undefined;
  try {
    const input = join(dir, "late.jsonl");
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();
    const line = (s: number, machine: string) =>
      JSON.stringify({ timestamp: t(s), machine, temperature: 20, speed: 1500 });
    await Deno.writeTextFile(
      input,
      [
        line(0, "m1"),
        line(1, "m1"),
        line(1, "m1"), // the same time again
        line(0, "m1"), // late
        line(0, "m2"),
        line(5, "m2"),
        line(3, "m2"), // late
        line(2, "m2"), // late
        line(6, "m2"),
      ].join("\n") + "\n",
    );
    engine = await startVigil([
      "--source",
      `file:${input}`,
      "--port",
      "0",
      "--data-dir",
      join(dir, "data"),
    ]);
    const e = engine;
    const h = await waitFor("the file read", 30_000, async () => {
      const h = await health(e) as Health & {
        totals: { out_of_order: number; duplicate_timestamp: number };
      };
      return h.sources[0]?.state === "finished" ? h : undefined;
    });
    assert.equal(h.totals.readings, 9);
    assert.equal(h.totals.out_of_order, 3);
    assert.equal(h.totals.duplicate_timestamp, 1);
    const metrics = await (await fetch(new URL("/metrics", e.url))).text();
    assert.match(metrics, /^vigil_reading_order_total\{kind="out_of_order"\} 3$/m);
    assert.match(metrics, /^vigil_reading_order_total\{kind="duplicate_timestamp"\} 1$/m);
    assert.equal((await e.stop("SIGTERM")).code, 0);
    // Every reading is processed: none dropped, none reordered.
    const stream = await jsonLines(join(dir, "data", "stream_output.jsonl"));
    assert.equal(stream.length, 9);
    // One warning per machine (its first late or repeated reading), not one per reading.
    assert.equal(e.stderr().match(/processed as it came/g)?.length, 2, e.stderr());
    const log = await Deno.readTextFile(join(dir, "data", "logs", "processor.log"));
    const warned = log.split("\n").filter((l) => l.includes("processed as it came"));
    assert.deepEqual(warned.map((l) => /"machine":"(m\d)"/.exec(l)?.[1]), ["m1", "m2"], log);
    assert.match(
      warned[1]!,
      /"timestamp":"2026-01-01T00:00:03.000Z","latest":"2026-01-01T00:00:05.000Z"/,
    );
  } finally {
    await engine?.stop("SIGKILL");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("nats: a malformed message is in parser_errors.log and counted after a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-input-nats-" });
  const port = freePort();
  const conf = join(dir, "nats.conf");
  await Deno.writeTextFile(
    conf,
    natsServerConfig({ partitions: 1, port, storeDir: join(dir, "store") }),
  );
  const server = new Deno.Command("nats-server", {
    args: ["-c", conf],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const dataDir = join(dir, "data");
  let engine: Vigil | undefined;
  const start = () =>
    startRunning(
      [
        "--source",
        `nats://127.0.0.1:${port}/telemetry`,
        "--partition",
        "0/1",
        "--port",
        "0",
        "--data-dir",
        dataDir,
      ],
      (e) => engine = e,
    );
  try {
    await listening("nats-server", port);
    let live = await start();
    const nc = await connect({ servers: `127.0.0.1:${port}` });
    const js = nc.jetstream();
    const encoder = new TextEncoder();
    await js.publish(
      "telemetry.m1",
      encoder.encode(JSON.stringify({ timestamp: Date.UTC(2026, 0, 1), temperature: 20 })),
    );
    await js.publish("telemetry.m1", encoder.encode("not json"));
    await js.publish("telemetry.m1", encoder.encode('{"timestamp":1e20,"temperature":1}'));
    await nc.close();
    const errorLog = join(dataDir, "parser_errors.log");
    const logged = await waitFor("parser_errors.log", 30_000, async () => {
      const l = await jsonLines(errorLog);
      return l.length >= 2 ? l : undefined;
    });
    assert.deepEqual(logged.map((e) => e.line), ["not json", '{"timestamp":1e20,"temperature":1}']);
    assert.equal((await health(live)).sources[0]!.errors, 2);
    assert.equal((await live.stop("SIGTERM")).code, 0);

    live = await start();
    const after = await settled(live, (h) => h.sources[0]!.errors === 2);
    assert.equal(after.sources[0]!.errors, 2);
    assert.equal(after.totals.errors, 2);
    assert.equal((await live.stop("SIGTERM")).code, 0);
  } finally {
    await engine?.stop("SIGKILL");
    try {
      server.kill("SIGTERM");
    } catch { /* already gone */ }
    await server.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
