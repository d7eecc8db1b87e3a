/**
 * `deno task start --source mqtt://…` with the task's own permissions (no `--allow-env` beyond
 * the token variables) against a real mosquitto: a local broker works; a broker the task may not
 * reach is refused with one line naming exactly the missing flag.
 */
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { freePort, runVigil, startVigil } from "../helpers.ts";

/** mosquitto on 127.0.0.1:`port` (no persistence), ready when the port accepts connections. */
async function mosquitto(port: number): Promise<AsyncDisposable> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/m.conf`, `listener ${port} 127.0.0.1\nallow_anonymous true\n`);
  const proc = new Deno.Command("mosquitto", { args: ["-c", `${dir}/m.conf`], stderr: "null" })
    .spawn();
  for (let i = 0;; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch (e) {
      if (i > 200) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    [Symbol.asyncDispose]: async () => {
      proc.kill("SIGTERM");
      await proc.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("deno task start --source mqtt://127.0.0.1:PORT/TOPIC reads a local broker", async () => {
  const port = freePort();
  await using _broker = await mosquitto(port);
  const dataDir = `./data/test-${crypto.randomUUID()}`;
  try {
    const url = `mqtt://127.0.0.1:${port}/plant/readings`;
    await using vigil = await startVigil(
      ["--source", url, "--port", "0", "--data-dir", dataDir],
      { task: "start" },
    );
    // Published until one arrives: the engine may subscribe after the first ones (bounded).
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`);
    let readings = 0;
    try {
      for (let i = 0; i < 300 && readings === 0; i++) {
        const timestamp = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
        const reading = { timestamp, machine: "m1", temperature: 50 };
        await client.publishAsync("plant/readings", JSON.stringify(reading), { qos: 1 });
        await new Promise((r) => setTimeout(r, 100));
        const health = await (await fetch(new URL("/health", vigil.url))).json();
        readings = health.totals.readings;
      }
    } finally {
      await client.endAsync();
    }
    assert.ok(readings > 0, `no reading arrived; stderr: ${vigil.stderr()}`);
    assert.doesNotMatch(vigil.stderr(), /allow-env/);
    assert.equal((await vigil.stop("SIGTERM")).code, 0, vigil.stderr());
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("deno task start: a broker the task may not reach is named with exactly the missing flag", async () => {
  const dataDir = `./data/test-${crypto.randomUUID()}`;
  for (
    const [args, line] of [
      [
        ["--source", "mqtt://10.255.0.1:1883/t"],
        "vigil: --source mqtt://10.255.0.1:1883/t needs --allow-net=10.255.0.1",
      ],
      [
        // A user and password in front: the host is what follows them.
        ["--source", "mqtt://vigil:pw@broker.example:1883/t"],
        "vigil: --source mqtt://vigil:pw@broker.example:1883/t needs --allow-net=broker.example",
      ],
      [
        ["--publish", "mqtt://broker.example:1883"],
        "vigil: --publish mqtt://broker.example:1883 needs --allow-net=broker.example",
      ],
    ] as [string[], string][]
  ) {
    const out = await runVigil([...args, "--port", "0", "--data-dir", dataDir], { task: "start" });
    assert.equal(out.code, 2, out.stderr);
    assert.equal(out.stderr.trim(), line);
  }
  await assert.rejects(Deno.stat(dataDir), Deno.errors.NotFound);
});
