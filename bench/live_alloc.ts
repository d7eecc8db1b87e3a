/**
 * Where a live engine's garbage comes from: `main.ts start` of a tree on a private mosquitto, with
 * the `start` task's V8 flags and environment, under an MQTT flood of COUNT readings of 1,000
 * machines (the publisher of `mqtt_peers_bench.ts`), sampled by V8's allocation profiler over the
 * inspector (`HeapProfiler.startSampling`, every 16 KiB, objects freed by either collector kept)
 * from the first published reading to the last one processed. Prints the bytes sampled per
 * reading, then the top files and functions by bytes allocated (a native function, such as
 * `subarray`, under its caller), and writes the whole profile (a `.heapprofile`, for DevTools)
 * to OUT.
 *
 *   deno task build:wasm && deno run -A bench/live_alloc.ts [TREE=.] [COUNT=200000] [OUT=live.heapprofile]
 *
 * A sampling profile: each figure is an estimate, good to a few percent at 200,000 readings.
 * @module
 */
import { join, resolve } from "node:path";
import { freePort, startBroker } from "./_mqtt.ts";
import { taskEnv, taskV8Flags } from "./_task.ts";

const TREE = resolve(Deno.args[0] ?? ".");
const COUNT = Number(Deno.args[1] ?? 200_000);
const OUT = Deno.args[2] ?? "live.heapprofile";
const SELF = new URL("./mqtt_peers_bench.ts", import.meta.url).pathname;

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const dir = await Deno.makeTempDir({ prefix: "vigil-live-alloc-" });
const mqttPort = freePort(), httpPort = freePort(), inspectPort = freePort();
const broker = await startBroker(dir, mqttPort);
const task = { flags: taskV8Flags(TREE, "start"), env: taskEnv(TREE, "start") };
const engine = new Deno.Command("deno", {
  args: [
    "run",
    ...task.flags,
    `--inspect=127.0.0.1:${inspectPort}`,
    "-A",
    "main.ts",
    "start",
    "--source",
    `mqtt://127.0.0.1:${mqttPort}/plant/+/telemetry`,
    "--port",
    String(httpPort),
    "--data-dir",
    join(dir, "data"),
  ],
  cwd: TREE,
  env: task.env,
  stdout: "null",
  stderr: "null",
}).spawn();

/** Readings the engine has processed (`/health`), -1 before it answers. */
async function processed(): Promise<number> {
  try {
    const r = await fetch(`http://127.0.0.1:${httpPort}/health`);
    return (await r.json()).totals.readings;
  } catch {
    return -1;
  }
}

try {
  while (await processed() < 0) await new Promise((r) => setTimeout(r, 200));
  const targets = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((r) => ws.onopen = r);
  let id = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    waiting.get(m.id)?.(m.result);
    waiting.delete(m.id);
  };
  const call = <T>(method: string, params = {}) =>
    new Promise<T>((r) => {
      waiting.set(++id, r as (result: unknown) => void);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("HeapProfiler.enable");
  await call("HeapProfiler.startSampling", {
    samplingInterval: 16384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const publisher = new Deno.Command("deno", {
    args: [
      "run",
      "--no-code-cache",
      "-A",
      SELF,
      "publish",
      `mqtt://127.0.0.1:${mqttPort}`,
      `${COUNT}`,
    ],
    stdout: "null",
  }).spawn();
  await publisher.status;
  while (await processed() < COUNT) await new Promise((r) => setTimeout(r, 300));
  const { profile } = await call<{ profile: { head: ProfileNode } }>("HeapProfiler.stopSampling");
  ws.close();
  await Deno.writeTextFile(OUT, JSON.stringify(profile));

  const byFile = new Map<string, number>(), byFunction = new Map<string, number>();
  let total = 0;
  const walk = (node: ProfileNode, caller: string) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.split("/").pop() || "(native)";
    const name = `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`;
    total += node.selfSize;
    byFile.set(file, (byFile.get(file) ?? 0) + node.selfSize);
    const key = url === "" ? `${name} < ${caller}` : name;
    byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child, name);
  };
  walk(profile.head, "");
  const top = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) =>
      `${(v / 1e6).toFixed(1).padStart(7)} MB ${(100 * v / total).toFixed(1).padStart(5)} %  ${k}`
    ).join("\n");
  console.log(
    `${TREE}: ${(total / 1e6).toFixed(1)} MB sampled over ${COUNT} readings, ` +
      `${(total / COUNT).toFixed(0)} B a reading\n\nby file:\n${top(byFile, 15)}\n\n` +
      `by function:\n${top(byFunction, 25)}`,
  );
} finally {
  engine.kill("SIGINT");
  await engine.status;
  broker.kill("SIGTERM");
  await broker.status;
  await Deno.remove(dir, { recursive: true });
}
