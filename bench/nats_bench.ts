/**
 * NATS scale-out: readings per second through 1 engine instance (`--partition 0/1`) and through
 * 3 (`0/3`, `1/3`, `2/3`) side by side, each a `main.ts start` child process with its own data
 * directory, reading one local `nats-server` (Debian package `nats-server`; skipped without
 * it) whose stream already holds COUNT simulated readings of 1,000 machines (published once,
 * before the benches, so that the publisher is not what is timed).
 *
 *   deno bench --allow-all bench/nats_bench.ts
 *
 * Timed: from the first commit any instance writes to the last one that completes its
 * partition, polling `checkpoint.json` every 20 ms; the engines' start-up (Deno, WASM) is not
 * counted, and readings already committed at the first poll are left out of the rate. Printed
 * per iteration: readings/s over all instances. Every process (the server, the engines and
 * this one) shares the machine's cores.
 */
import { join } from "node:path";
import { generateReadings } from "../simulator/mod.ts";
import { publishReadings } from "../tools/nats_publish.ts";
import { formatReading, natsServerConfig, partitionOf } from "../engine/mod.ts";

const COUNT = 200_000;
const MACHINES = 1000;
const MAIN = new URL("../main.ts", import.meta.url).pathname;

function hasNatsServer(): boolean {
  try {
    return new Deno.Command("nats-server", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

async function committed(dir: string): Promise<number> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, "checkpoint.json"))).readings;
  } catch {
    return 0;
  }
}

/** Runs `partitions` instances over the whole stream; readings per second of the busy span. */
async function run(
  url: string,
  root: string,
  partitions: number,
  expected: number[],
): Promise<number> {
  const dirs = expected.map((_, k) => join(root, `n${partitions}-p${k}-${crypto.randomUUID()}`));
  const procs = dirs.map((dir, k) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "start",
        "--source",
        url,
        "--partition",
        `${k}/${partitions}`,
        "--port",
        "0",
        "--data-dir",
        dir,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn()
  );
  try {
    const first: (number | null)[] = dirs.map(() => null);
    let t0 = Infinity;
    let t1 = 0;
    const until = Date.now() + 600_000;
    while (true) {
      const now = performance.now();
      const counts = await Promise.all(dirs.map(committed));
      let done = 0;
      counts.forEach((c, k) => {
        if (c > 0 && first[k] === null) {
          first[k] = c;
          t0 = Math.min(t0, now);
        }
        if (c >= expected[k]!) done++;
      });
      if (done === dirs.length) {
        t1 = now;
        break;
      }
      if (Date.now() > until) throw new Error(`not done: ${counts} of ${expected}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const n = expected.reduce((a, e, k) => a + e - (first[k] ?? 0), 0);
    return n / ((t1 - t0) / 1000);
  } finally {
    for (const p of procs) {
      p.kill("SIGTERM");
      await p.status;
    }
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
}

const ok = hasNatsServer();
const root = await Deno.makeTempDir({ prefix: "vigil-nats-bench-" });
let url = "";
const expected1 = [COUNT];
const expected3 = [0, 0, 0];
let server: Deno.ChildProcess | null = null;
if (ok) {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const conf = join(root, "nats.conf");
  await Deno.writeTextFile(
    conf,
    natsServerConfig({ partitions: 3, port, storeDir: join(root, "store") }),
  );
  server = new Deno.Command("nats-server", { args: ["-c", conf], stdout: "null", stderr: "null" })
    .spawn();
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  url = `nats://127.0.0.1:${port}/telemetry`;
  const lines: string[] = [];
  for (
    const r of generateReadings({
      machines: MACHINES,
      seed: 42,
      count: COUNT,
      start: Date.UTC(2026, 0, 1),
      intervalMs: 2000,
      faultRate: 0.01,
    })
  ) {
    lines.push(formatReading(r));
    expected3[partitionOf(r.machine, 3)]!++;
  }
  const t = performance.now();
  await publishReadings(lines, { server: `127.0.0.1:${port}` });
  console.log(
    `published ${COUNT} readings in ${((performance.now() - t) / 1000).toFixed(1)} s ` +
      `(partitions: ${expected3.join(", ")})`,
  );
}
// Deno.bench runs the benches after this module: the server goes when the process does.
globalThis.addEventListener("unload", () => {
  server?.kill("SIGTERM");
  Deno.removeSync(root, { recursive: true });
});

for (const partitions of [1, 3]) {
  Deno.bench({
    name: partitions === 1 ? "1 instance (--partition 0/1)" : "3 instances (0/3, 1/3, 2/3)",
    group: `NATS JetStream, ${COUNT} readings of ${MACHINES} machines`,
    baseline: partitions === 1,
    ignore: !ok,
    n: 2,
    warmup: 0,
    async fn() {
      const rate = await run(url, root, partitions, partitions === 1 ? expected1 : expected3);
      console.log(`${partitions} instance(s): ${Math.round(rate)} readings/s`);
    },
  });
}
