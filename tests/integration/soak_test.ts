/**
 * Soak: the live engine on NATS JetStream (the source whose exactly-once guarantee holds today:
 * it acknowledges only what a checkpoint committed; MQTT still acknowledges on queueing) fed a
 * mix of good readings and bad lines, while it is killed with -9 and restarted, stopped cleanly,
 * the broker is restarted, and its disk (a tmpfs) fills up. At the end every accepted reading is
 * in `stream_output.jsonl` exactly once, every bad line in `parser_errors.log` exactly once, and
 * the outputs are those of one uninterrupted replay of the same input. Bounded (a minute or two);
 * nothing is timed. Without `mount` permission the disk-full round is skipped, saying so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { connect } from "nats";
import { generateReadings } from "../../simulator/mod.ts";
import { ensureStream, FILES, formatReading, natsServerConfig } from "../../engine/mod.ts";
import { freePort, runVigil, startVigil, type Vigil } from "../helpers.ts";

const DEADLINE_MS = 120_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + DEADLINE_MS;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`soak: still waiting for ${what}`);
    await sleep(50);
  }
}

async function run(command: string, ...args: string[]): Promise<boolean> {
  const out = await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output()
    .catch(() => null);
  return out?.success ?? false;
}

/** A nats-server (JetStream, one partition) that can be restarted on its port and store. */
async function natsServer(dir: string) {
  const port = freePort();
  const conf = join(dir, "nats.conf");
  await Deno.writeTextFile(
    conf,
    natsServerConfig({ partitions: 1, port, storeDir: join(dir, "js") }),
  );
  let proc: Deno.ChildProcess;
  const up = async () => {
    proc = new Deno.Command("nats-server", { args: ["-c", conf], stdout: "null", stderr: "null" })
      .spawn();
    await until(
      "nats-server",
      () =>
        Deno.connect({ hostname: "127.0.0.1", port }).then((c) => (c.close(), true), () => false),
    );
  };
  const down = async () => {
    proc.kill("SIGTERM");
    await proc.status;
  };
  await up();
  return { server: `127.0.0.1:${port}`, url: `nats://127.0.0.1:${port}/telemetry`, up, down };
}

Deno.test("soak: kill -9, clean stops, broker restarts and a full disk; each reading once", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "vigil-soak-" });
  const disk = join(tmp, "disk");
  await Deno.mkdir(disk);
  const mounted = await run("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", disk);
  if (!mounted) console.warn("soak: `mount -t tmpfs` not permitted: no disk-full round");
  const nats = await natsServer(tmp);
  const dataDir = join(disk, "data");
  let engine: Vigil | null = null;
  try {
    // 20 machines × 250 ticks, with a bad line every 97 readings (not JSON, or no timestamp).
    const good = [...generateReadings({
      machines: 20,
      seed: 5,
      count: 5000,
      start: Date.UTC(2026, 0, 1),
      intervalMs: 2000,
      faultRate: 0.03,
    })].map(formatReading);
    const input: { line: string; subject: string; id: string }[] = [];
    const bad: string[] = [];
    good.forEach((line, i) => {
      input.push({ line, subject: `telemetry.${JSON.parse(line).machine}`, id: `g${i}` });
      if (i % 97 === 50) {
        // (Not a timestamp that is not a time: Date.parse reads "not a time 1" as 2001.)
        const b = i % 2 === 0 ? `T:not json ${i}` : `{"machine":"m1","temperature":${i}}`;
        bad.push(b);
        input.push({ line: b, subject: "telemetry.m1", id: `b${i}` });
      }
    });

    const nc = { conn: await connect({ servers: nats.server, maxReconnectAttempts: -1 }) };
    await ensureStream(await nc.conn.jetstreamManager());
    const enc = new TextEncoder();
    /** In order, each acknowledged by the stream (so the sequence is the input's order). A
     * publish that fails (the broker restarting) is sent again with the same message id, which
     * the stream deduplicates: each input message is stored once. */
    const publish = async (part: typeof input) => {
      const js = nc.conn.jetstream();
      for (const { line, subject, id } of part) {
        for (let i = 0;; i++) {
          try {
            await js.publish(subject, enc.encode(line), { msgID: id });
            break;
          } catch (e) {
            if (i > 600) throw e;
            await sleep(100);
          }
        }
      }
    };
    const checkpointLines = () =>
      Deno.readTextFile(join(dataDir, FILES.checkpoint)).then((t) => JSON.parse(t).lines, () => 0);
    // A start right after a kill -9 meets the dead instance's lease until it expires (1 s).
    const startEngine = async (): Promise<Vigil> => {
      for (let i = 0;; i++) {
        try {
          return await startVigil([
            "--source",
            nats.url,
            "--port",
            "0",
            "--data-dir",
            dataDir,
            "--lease-ttl",
            "1",
          ]);
        } catch (e) {
          if (!/owned by another instance/.test(String(e)) || i > 100) throw e;
          await sleep(200);
        }
      }
    };

    engine = await startEngine();
    const rounds = 8;
    const size = Math.ceil(input.length / rounds);
    let published = 0;
    const stats = { kills: 0, stops: 0, brokerRestarts: 0, diskFull: 0 };
    for (let r = 0; r < rounds; r++) {
      const part = input.slice(r * size, (r + 1) * size);
      const action = ["kill", "broker", "disk", "stop"][r % 4]!;
      if (action === "disk" && mounted) {
        // Fill the disk, then publish: the engine's next write finds it full and it stops.
        const filler = await Deno.open(join(disk, "filler"), { write: true, create: true });
        try {
          for (;;) await filler.write(new Uint8Array(1 << 20));
        } catch { /* full */ }
        filler.close();
        await publish(part);
        const status: Deno.CommandStatus = await engine.child.status;
        assert.equal(status.code, 2, engine.stderr());
        assert.match(engine.stderr(), /vigil: disk full writing /);
        await engine.stop();
        stats.diskFull++;
        await Deno.remove(join(disk, "filler"));
        engine = await startEngine();
        published += part.length;
        continue;
      }
      const before = await checkpointLines();
      const publishing = publish(part);
      // Act while this part is being committed.
      await until("a commit", async () => (await checkpointLines()) > before);
      if (action === "kill") {
        await engine.stop("SIGKILL");
        stats.kills++;
        engine = await startEngine();
      } else if (action === "stop") {
        assert.equal((await engine.stop("SIGTERM")).code, 0, engine.stderr());
        stats.stops++;
        engine = await startEngine();
      } else if (action === "broker") {
        await nats.down();
        await nats.up();
        stats.brokerRestarts++;
      }
      await publishing;
      published += part.length;
    }
    assert.equal(published, input.length);
    await until("the last commit", async () => (await checkpointLines()) === input.length);
    assert.equal((await engine.stop("SIGTERM")).code, 0, engine.stderr());
    engine = null;
    await nc.conn.close();
    console.log(`soak: ${input.length} messages (${bad.length} bad), ${JSON.stringify(stats)}`);

    // Every accepted reading exactly once, every bad line exactly once.
    const stream = (await Deno.readTextFile(join(dataDir, FILES.stream))).split("\n").filter(
      Boolean,
    );
    assert.equal(stream.length, good.length);
    assert.deepEqual(stream.toSorted(), good.toSorted());
    const errors = (await Deno.readTextFile(join(dataDir, FILES.errors))).split("\n").filter(
      Boolean,
    ).map((l) => JSON.parse(l).line);
    assert.deepEqual(errors.toSorted(), bad.toSorted());
    // And the outputs are those of one uninterrupted run over the same input.
    const file = join(tmp, "input.jsonl");
    await Deno.writeTextFile(file, input.map((m) => m.line).join("\n") + "\n");
    const ref = await runVigil(["replay", file, "--data-dir", join(tmp, "ref")]);
    assert.equal(ref.code, 0, ref.stderr);
    for (const f of [FILES.stream, FILES.analysis, FILES.anomalies, FILES.errors]) {
      const [a, b] = await Promise.all(
        [dataDir, join(tmp, "ref")].map((d) => Deno.readTextFile(join(d, f))),
      );
      assert.ok(a === b, `${f} differs from an uninterrupted replay`);
    }
  } finally {
    await engine?.stop("SIGKILL");
    await nats.down().catch(() => {});
    if (mounted) await run("umount", disk);
    await Deno.remove(tmp, { recursive: true });
  }
});
