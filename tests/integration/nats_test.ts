/**
 * Scale-out over NATS JetStream against a real `nats-server` (Debian package `nats-server`),
 * started by each test on a free port with its own store directory, and engines run as child
 * processes (`main.ts start --source nats://… --partition k/N`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AckPolicy, connect, type ConsumerInfo, DeliverPolicy, type JetStreamManager } from "nats";
import { main } from "../../main.ts";
import { freePort } from "../helpers.ts";
import { generateReadings } from "../../simulator/mod.ts";
import { publishReadings } from "../../tools/nats_publish.ts";
import {
  type Batch,
  ensureStream,
  formatReading,
  NATS_LEASE_BUCKET,
  natsServerConfig,
  NatsSource,
  partitionOf,
} from "../../engine/mod.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** Generous: the suite runs in parallel on a loaded 2-core machine. */
const DEADLINE_MS = 120_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A nats-server with JetStream and the partition mapping for `partitions`, in `dir`. */
async function startNats(dir: string, partitions: number) {
  const port = freePort();
  const conf = join(dir, "nats.conf");
  await Deno.writeTextFile(
    conf,
    natsServerConfig({ partitions, port, storeDir: join(dir, "store") }),
  );
  const spawn = () =>
    new Deno.Command("nats-server", {
      args: ["-c", conf],
      stdout: "null",
      stderr: "null",
    }).spawn();
  const listening = async () => {
    for (let i = 0;; i++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return;
      } catch {
        if (i > 200) throw new Error(`nats-server did not listen on ${port}`);
        await sleep(50);
      }
    }
  };
  let proc = spawn();
  await listening();
  return {
    server: `127.0.0.1:${port}`,
    url: `nats://127.0.0.1:${port}/telemetry`,
    async stop() {
      try {
        proc.kill("SIGTERM");
      } catch {
        // already gone
      }
      await proc.status;
    },
    /** Stops the server and starts it again on the same port and store. */
    async restart() {
      await this.stop();
      proc = spawn();
      await listening();
    },
  };
}

/** One engine instance (`main.ts start`) on a data directory, with `extra` flags. */
function startEngine(
  url: string,
  partition: string,
  dataDir: string,
  extra: readonly string[] = [],
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "start",
      "--source",
      url,
      "--partition",
      partition,
      "--port",
      "0",
      "--data-dir",
      dataDir,
      ...extra,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

async function stopEngine(p: Deno.ChildProcess, signal: Deno.Signal = "SIGTERM") {
  try {
    p.kill(signal);
  } catch {
    // already gone
  }
  const [status] = await Promise.all([p.status, p.stderr.cancel().catch(() => {})]);
  return status;
}

/** The checkpoint's reading count (history included), 0 before the first. */
async function committedReadings(dataDir: string): Promise<number> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dataDir, "checkpoint.json"))).readings;
  } catch {
    return 0;
  }
}

async function waitForReadings(dataDir: string, n: number): Promise<void> {
  const until = Date.now() + DEADLINE_MS;
  let got = 0;
  while (Date.now() < until) {
    got = await committedReadings(dataDir);
    if (got >= n) return;
    await sleep(100);
  }
  throw new Error(`${dataDir}: ${got} of ${n} readings committed after ${DEADLINE_MS} ms`);
}

async function lines(path: string): Promise<string[]> {
  return (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");
}

/** 20 machines, 200 ticks, a high fault rate so that there are anomalies to compare. */
function input(): string[] {
  return [
    ...generateReadings({
      machines: 20,
      seed: 11,
      count: 4000,
      start: Date.UTC(2026, 0, 1),
      intervalMs: 2000,
      faultRate: 0.05,
    }),
  ].map(formatReading);
}

function machineOf(line: string): string {
  return (JSON.parse(line) as { machine: string }).machine;
}

/** Rows of `analysis_output.csv` by the `machine` column, header dropped. */
async function csvRows(path: string): Promise<{ header: string; rows: string[] }> {
  const [header, ...rows] = await lines(path);
  assert.ok(header, `${path} has a header`);
  return { header, rows };
}

function machineColumn(header: string): number {
  const i = header.split(",").indexOf("machine");
  assert.ok(i >= 0, `no machine column in ${header}`);
  return i;
}

/** The exit status and stderr of an engine expected to exit by itself (killed after
 * {@linkcode DEADLINE_MS} if it does not, which fails the caller's exit-code check). */
async function exitOf(p: Deno.ChildProcess) {
  const timer = setTimeout(() => p.kill("SIGKILL"), DEADLINE_MS);
  const [status, stderr] = await Promise.all([p.status, new Response(p.stderr).text()]);
  clearTimeout(timer);
  return { status, stderr };
}

/** The holder the lease of `key` names, or null once it has none (expired or released). */
async function leaseHolder(server: string, key: string): Promise<string | null> {
  const nc = await connect({ servers: server });
  try {
    const kv = await nc.jetstream().views.kv(NATS_LEASE_BUCKET);
    const entry = await kv.get(key);
    return entry?.operation === "PUT" ? JSON.parse(entry.string()).holder : null;
  } finally {
    await nc.close();
  }
}

/** Waits until the lease of `key` is held (`held`) or gone (`!held`); resolves its holder. */
async function waitForLease(server: string, key: string, held: boolean): Promise<string | null> {
  const until = Date.now() + DEADLINE_MS;
  for (;;) {
    const holder = await leaseHolder(server, key);
    if ((holder !== null) === held) return holder;
    if (Date.now() >= until) throw new Error(`lease ${key} still ${held ? "free" : "held"}`);
    await sleep(100);
  }
}

/** Whether `main.ts replay FILE --data-dir DIR` succeeded: the reference a live run is held to. */
async function replayed(file: string, dir: string): Promise<boolean> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "replay", file, "--data-dir", dir],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vigil-nats-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the server's partition mapping sends each machine to partitionOf(machine, N)", async () => {
  await withDir(async (dir) => {
    const nats = await startNats(dir, 3);
    const nc = await connect({ servers: nats.server });
    try {
      const seen = new Map<string, Set<string>>();
      const sub = nc.subscribe("vigil.p.>");
      const done = (async () => {
        let n = 0;
        for await (const m of sub) {
          const [, , k, machine] = m.subject.split(".");
          if (!seen.has(machine!)) seen.set(machine!, new Set());
          seen.get(machine!)!.add(k!);
          if (++n === 200) break;
        }
      })();
      await nc.flush();
      for (let i = 0; i < 200; i++) nc.publish(`telemetry.m${i % 40}`, "{}");
      await done;
      assert.equal(seen.size, 40);
      const used = new Set<string>();
      for (const [machine, ks] of seen) {
        assert.deepEqual([...ks], [String(partitionOf(machine, 3))], machine);
        used.add([...ks][0]!);
      }
      assert.deepEqual([...used].sort(), ["0", "1", "2"]);
    } finally {
      await nc.close();
      await nats.stop();
    }
  });
});

Deno.test("3 partitions: the union of the 3 instances' outputs equals one instance's", async () => {
  await withDir(async (dir) => {
    const nats = await startNats(dir, 3);
    const engines: Deno.ChildProcess[] = [];
    try {
      const readings = input();
      await publishReadings(readings, { server: nats.server });
      const expected = [0, 0, 0];
      for (const l of readings) expected[partitionOf(machineOf(l), 3)]!++;
      assert.ok(expected.every((n) => n > 0), `every partition has readings: ${expected}`);
      const dirs = [0, 1, 2].map((k) => join(dir, `p${k}`));
      const whole = join(dir, "whole");
      for (let k = 0; k < 3; k++) engines.push(startEngine(nats.url, `${k}/3`, dirs[k]!));
      engines.push(startEngine(nats.url, "0/1", whole));
      for (let k = 0; k < 3; k++) await waitForReadings(dirs[k]!, expected[k]!);
      await waitForReadings(whole, readings.length);
      for (const e of engines.splice(0)) assert.equal((await stopEngine(e)).code, 0);

      const one = await csvRows(join(whole, "analysis_output.csv"));
      const oneAnomalies = await lines(join(whole, "anomalies.jsonl"));
      assert.ok(one.rows.length > 100, `rows: ${one.rows.length}`);
      assert.ok(oneAnomalies.length > 10, `anomalies: ${oneAnomalies.length}`);
      const col = machineColumn(one.header);
      const rows: string[] = [];
      const anomalies: string[] = [];
      for (let k = 0; k < 3; k++) {
        const part = await csvRows(join(dirs[k]!, "analysis_output.csv"));
        assert.equal(part.header, one.header);
        // Each instance saw its own machines only.
        for (const r of part.rows) assert.equal(partitionOf(r.split(",")[col]!, 3), k, r);
        rows.push(...part.rows);
        anomalies.push(...await lines(join(dirs[k]!, "anomalies.jsonl")));
        const stream = await lines(join(dirs[k]!, "stream_output.jsonl"));
        assert.equal(stream.length, expected[k]);
      }
      assert.deepEqual(rows.toSorted(), one.rows.toSorted());
      assert.deepEqual(anomalies.toSorted(), oneAnomalies.toSorted());
    } finally {
      for (const e of engines) await stopEngine(e, "SIGKILL");
      await nats.stop();
    }
  });
});

Deno.test("an instance killed with SIGKILL mid-run resumes with every row exactly once", async () => {
  await withDir(async (dir) => {
    const nats = await startNats(dir, 3);
    const engines = new Set<Deno.ChildProcess>();
    // A short lease: a killed instance's partition is free again a second after its death.
    const spawn = (partition: string, dataDir: string) => {
      const p = startEngine(nats.url, partition, dataDir, ["--lease-ttl", "1"]);
      engines.add(p);
      return p;
    };
    const expired = () => waitForLease(nats.server, "vigil-p1-of-3", false);
    try {
      const readings = input();
      const k = 1;
      const mine = readings.filter((l) => partitionOf(machineOf(l), 3) === k).length;
      const killed = join(dir, "killed");
      const reference = join(dir, "reference");
      // Published in 4 chunks while the instance runs; it is killed while it processes the
      // second and the third, and is down while the fourth is published.
      const chunk = Math.ceil(readings.length / 4);
      await publishReadings(readings.slice(0, chunk), { server: nats.server });
      let engine = spawn(`${k}/3`, killed);
      await waitForReadings(killed, 1);
      let kills = 0;
      for (let c = 1; c < 3; c++) {
        const before = await committedReadings(killed);
        const publishing = publishReadings(readings.slice(c * chunk, (c + 1) * chunk), {
          server: nats.server,
        });
        // Kill as soon as the new chunk is being committed: batches are in flight.
        const until = Date.now() + DEADLINE_MS;
        while ((await committedReadings(killed)) === before && Date.now() < until) {
          await sleep(5);
        }
        engines.delete(engine);
        assert.equal((await stopEngine(engine, "SIGKILL")).signal, "SIGKILL");
        kills++;
        await publishing;
        await expired();
        engine = spawn(`${k}/3`, killed);
      }
      engines.delete(engine);
      await stopEngine(engine, "SIGKILL");
      await publishReadings(readings.slice(3 * chunk), { server: nats.server });
      await expired();
      engine = spawn(`${k}/3`, killed);
      spawn("0/1", reference);
      await waitForReadings(killed, mine);
      await waitForReadings(reference, readings.length);
      assert.equal(kills, 2);
      for (const e of [...engines]) assert.equal((await stopEngine(e)).code, 0);
      engines.clear();

      const ref = await csvRows(join(reference, "analysis_output.csv"));
      const col = machineColumn(ref.header);
      const got = await csvRows(join(killed, "analysis_output.csv"));
      assert.equal(got.header, ref.header);
      const refRows = ref.rows.filter((r) => partitionOf(r.split(",")[col]!, 3) === k);
      assert.ok(refRows.length > 20, `rows: ${refRows.length}`);
      // Same rows, same order (one machine's rows keep their order), none twice.
      assert.deepEqual(got.rows, refRows);
      const refAnomalies = (await lines(join(reference, "anomalies.jsonl")))
        .filter((l) => partitionOf(machineOf(l), 3) === k);
      assert.deepEqual(
        (await lines(join(killed, "anomalies.jsonl"))).toSorted(),
        refAnomalies.toSorted(),
      );
      const stream = await lines(join(killed, "stream_output.jsonl"));
      assert.equal(stream.length, mine);
      assert.equal(new Set(stream).size, mine, "no reading twice");
      // (Killed instances may lose their last log lines: the logger flushes every 200 ms.)
      const log = await Deno.readTextFile(join(killed, "logs", "processor.log"));
      assert.match(log, /resuming from checkpoint/);
    } finally {
      for (const e of engines) await stopEngine(e, "SIGKILL");
      await nats.stop();
    }
  });
});

/** Batches of `source` until `n` readings came. */
async function take(source: NatsSource, n: number): Promise<Batch[]> {
  const batches: Batch[] = [];
  let got = 0;
  const reader = source.readable.getReader();
  try {
    while (got < n) {
      const { done, value } = await reader.read();
      if (done) break;
      batches.push(value);
      got += value.readings.length;
    }
  } finally {
    reader.releaseLock();
  }
  return batches;
}

/**
 * The info of consumer `vigil-p0-of-1` once its ack floor is at `seq`, or as it is after 10 s.
 * The client's flush does not wait for JetStream to apply an acknowledgement: an info asked
 * at once showed ack floor 0 on a loaded machine.
 */
async function ackedInfo(jsm: JetStreamManager, seq: number): Promise<ConsumerInfo> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const info = await jsm.consumers.info("VIGIL", "vigil-p0-of-1");
    if (info.ack_floor.stream_seq >= seq || Date.now() >= deadline) return info;
    await sleep(50);
  }
}

Deno.test("NatsSource acks only what was committed; the next source resumes right after it", async () => {
  await withDir(async (dir) => {
    const nats = await startNats(dir, 3);
    const nc = await connect({ servers: nats.server });
    try {
      const readings = input().slice(0, 300);
      await publishReadings(readings, { server: nats.server });
      const stopA = new AbortController();
      const a = new NatsSource({ url: nats.url, batchSize: 50, signal: stopA.signal });
      const first = await take(a, readings.length);
      assert.ok(first.length >= 6, `batches of at most 50: ${first.length}`);
      assert.ok(first.every((b) => b.readings.length <= 50 && !b.suppress && b.log));
      // Positions are stream sequences: with every message in this partition, one per reading.
      assert.equal(first.reduce((s, b) => s + b.lines, 0), readings.length);
      assert.deepEqual(first.flatMap((b) => b.readings.map(formatReading)), readings);
      const committed = first[0]!.lines + first[1]!.lines;
      a.commit(committed);
      stopA.abort();
      await a.close();

      const jsm = await nc.jetstreamManager();
      const info = await ackedInfo(jsm, committed);
      assert.equal(info.ack_floor.stream_seq, committed);
      assert.equal(info.num_ack_pending, readings.length - committed);

      // Delivered but never committed: the next source gets all of it again, in order, at once
      // (not after ack_wait), and nothing that was committed.
      const stopB = new AbortController();
      const b = new NatsSource({ url: nats.url, position: committed, signal: stopB.signal });
      const second = await take(b, readings.length - committed);
      assert.deepEqual(
        second.flatMap((x) => x.readings.map(formatReading)),
        readings.slice(committed),
      );
      assert.equal(committed + second.reduce((s, x) => s + x.lines, 0), readings.length);
      b.commit(readings.length);
      stopB.abort();
      await b.close();
      const after = await ackedInfo(jsm, readings.length);
      assert.equal(after.ack_floor.stream_seq, readings.length);
      assert.equal(after.num_ack_pending, 0);
    } finally {
      await nc.close();
      await nats.stop();
    }
  });
});

Deno.test("NatsSource: a payload's lines that name no machine take the subject's; a bad line is logged with the time before it", async () => {
  await withDir(async (dir) => {
    const nats = await startNats(dir, 1);
    const nc = await connect({ servers: nats.server });
    try {
      await ensureStream(await nc.jetstreamManager());
      const js = nc.jetstream();
      const t0 = Date.UTC(2026, 0, 1);
      // CRLF lines in one message: a reading without `machine`, one naming its own, a bad line.
      await js.publish(
        "telemetry.m42",
        new TextEncoder().encode(
          `{"timestamp":"${new Date(t0).toISOString()}","temperature":21.5}\r\n` +
            `{"timestamp":${t0 + 1000},"machine":"m9","speed":1200}\r\nnot json\r\n`,
        ),
      );
      // Not ASCII (a skipped text field): the line the byte scanner declines, decoded and parsed.
      await js.publish(
        "telemetry.m43",
        new TextEncoder().encode(`{"timestamp":${t0 + 2000},"note":"café","temperature":22}`),
      );
      const stop = new AbortController();
      const source = new NatsSource({ url: nats.url, signal: stop.signal });
      const batches = await take(source, 3);
      stop.abort();
      await source.close();
      assert.deepEqual(
        batches.flatMap((b) => b.readings.map((r) => [r.machine, r.timestamp, r.channels])),
        [
          ["m42", t0, { temperature: 21.5 }],
          ["m9", t0 + 1000, { speed: 1200 }],
          ["m43", t0 + 2000, { temperature: 22 }],
        ],
      );
      const errors = batches.flatMap((b) => b.errors);
      assert.equal(errors.length, 1);
      // Without its `\r`, as the file source logs a CRLF line.
      assert.equal(errors[0]!.line, "not json");
      assert.match(errors[0]!.error, /JSON/);
      assert.doesNotMatch(errors[0]!.error, /\r/);
      assert.equal(errors[0]!.time, t0 + 1000);
      assert.equal(batches.reduce((s, b) => s + b.lines, 0), 2, "one position a message");
    } finally {
      await nc.close();
      await nats.stop();
    }
  });
});

/** `promise`, or a failure naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, what: string, ms = 30_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("NatsSource sets the consumer back when a restarted server forgot its deliveries", async () => {
  await withDir(async (dir) => {
    const nats = await startNats(dir, 3);
    const stop = new AbortController();
    let source: NatsSource | null = null;
    try {
      const readings = input().slice(0, 200);
      await publishReadings(readings.slice(0, 100), { server: nats.server });
      source = new NatsSource({ url: nats.url, signal: stop.signal });
      const first = await within(take(source, 100), "the first 100 readings");
      assert.deepEqual(first.flatMap((b) => b.readings.map(formatReading)), readings.slice(0, 100));
      source.commit(100);
      // What a server restarted before it stored the consumer's state does: the consumer
      // delivers from the start again, delivery sequence 1 after the source's 100.
      const nc = await connect({ servers: nats.server });
      try {
        const jsm = await nc.jetstreamManager();
        await jsm.consumers.delete("VIGIL", "vigil-p0-of-1");
        await jsm.consumers.add("VIGIL", {
          durable_name: "vigil-p0-of-1",
          filter_subject: "vigil.p.>",
          ack_policy: AckPolicy.All,
          deliver_policy: DeliverPolicy.All,
        });
      } finally {
        await nc.close();
      }
      await nats.restart();
      await publishReadings(readings.slice(100), { server: nats.server });
      // The source sees the delivery sequence go back, sets the consumer back to 101 and
      // carries on: nothing twice, nothing lost, in order.
      const second = await within(take(source, 100), "the next 100 readings after the restart");
      assert.deepEqual(second.flatMap((b) => b.readings.map(formatReading)), readings.slice(100));
      assert.equal(source.resyncs, 1);
    } finally {
      stop.abort();
      await source?.close();
      await nats.stop();
    }
  });
});

Deno.test("--partition: a bad value or a source other than nats:// exits 2 naming it", async () => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args.join(" "));
  try {
    const url = "nats://127.0.0.1:4222/telemetry";
    assert.equal(await main(["start", "--source", url, "--partition", "3/3"]), 2);
    assert.equal(await main(["start", "--source", url, "--partition", "1of3"]), 2);
    assert.equal(await main(["start", "--partition", "1/3"]), 2);
    assert.equal(await main(["start", "--source", "nats://127.0.0.1:4222/a.*"]), 2);
  } finally {
    console.error = original;
  }
  assert.match(errors[0]!, /--partition: "3\/3"/);
  assert.match(errors[1]!, /--partition: "1of3"/);
  assert.match(errors[2]!, /--partition 1\/3 applies to --source nats/);
  assert.match(errors[3]!, /bad NATS subject "a\.\*"/);
});

Deno.test("a NATS server restart mid-run loses nothing: the output equals a replay of the input", async () => {
  await withDir(async (dir) => {
    const nats = await startNats(dir, 3);
    let engine: Deno.ChildProcess | null = null;
    try {
      const readings = input();
      const file = join(dir, "input.jsonl");
      await Deno.writeTextFile(file, readings.join("\n") + "\n");
      const live = join(dir, "live");
      const half = readings.length / 2;
      await publishReadings(readings.slice(0, half), { server: nats.server });
      engine = startEngine(nats.url, "0/1", live);
      await waitForReadings(live, 1);
      // The engine is reading when the server goes; it reconnects and carries on.
      await nats.restart();
      await publishReadings(readings.slice(half), { server: nats.server });
      await waitForReadings(live, readings.length);
      assert.equal((await stopEngine(engine)).code, 0);
      engine = null;

      const replayDir = join(dir, "replay");
      assert.ok(await replayed(file, replayDir));
      for (const f of ["stream_output.jsonl", "analysis_output.csv", "anomalies.jsonl"]) {
        assert.deepEqual(await lines(join(live, f)), await lines(join(replayDir, f)), f);
      }
    } finally {
      if (engine) await stopEngine(engine, "SIGKILL");
      await nats.stop();
    }
  });
});

Deno.test("one owner per partition: a second exits 2 naming the holder; kill -9 frees it after the TTL; a lost lease stops the owner", async () => {
  await withDir(async (dir) => {
    const nats = await startNats(dir, 1);
    const engines = new Set<Deno.ChildProcess>();
    const key = "vigil-p0-of-1";
    try {
      const readings = input();
      await publishReadings(readings.slice(0, 500), { server: nats.server });
      const first = startEngine(nats.url, "0/1", join(dir, "a"), ["--lease-ttl", "2"]);
      engines.add(first);
      await waitForReadings(join(dir, "a"), 500);
      assert.match((await leaseHolder(nats.server, key))!, new RegExp(`--data-dir ${dir}/a$`));

      // A second owner touches nothing: one line naming the partition and the holder, exit 2.
      const second = startEngine(nats.url, "0/1", join(dir, "b"));
      engines.add(second);
      // Without the lease it would run: killed then, it fails the exit-code check below.
      const { status, stderr } = await exitOf(second);
      engines.delete(second);
      assert.equal(status.code, 2, stderr);
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
      assert.match(
        stderr,
        new RegExp(
          `^vigil: NATS partition 0/1 of ${nats.url} is owned by another instance ` +
            `\\(pid ${first.pid}, --data-dir ${dir}/a; lease vigil-leases/${key}\\)`,
        ),
      );
      await assert.rejects(Deno.stat(join(dir, "b", "checkpoint.json")));

      // kill -9: nobody renews, the server drops the lease after its TTL, a new owner takes over.
      engines.delete(first);
      assert.equal((await stopEngine(first, "SIGKILL")).signal, "SIGKILL");
      await waitForLease(nats.server, key, false);
      const third = startEngine(nats.url, "0/1", join(dir, "a"), ["--lease-ttl", "2"]);
      engines.add(third);
      await publishReadings(readings.slice(500, 1000), { server: nats.server });
      await waitForReadings(join(dir, "a"), 1000);
      assert.match((await leaseHolder(nats.server, key))!, new RegExp(`^pid ${third.pid},`));
      // Renewed while it runs: still held after several TTLs.
      await sleep(5000);
      assert.match((await leaseHolder(nats.server, key))!, new RegExp(`^pid ${third.pid},`));
      // A clean stop releases it at once.
      engines.delete(third);
      assert.equal((await stopEngine(third)).code, 0);
      assert.equal(await leaseHolder(nats.server, key), null);

      // Taken from under a running owner (as another instance would after it could not renew
      // in time): it stops at its next renewal, exit 2, one line naming the new holder.
      const fourth = startEngine(nats.url, "0/1", join(dir, "a"), ["--lease-ttl", "2"]);
      engines.add(fourth);
      await waitForLease(nats.server, key, true);
      const nc = await connect({ servers: nats.server });
      try {
        const kv = await nc.jetstream().views.kv(NATS_LEASE_BUCKET);
        await kv.put(key, JSON.stringify({ holder: "intruder" }));
      } finally {
        await nc.close();
      }
      const { status: lost, stderr: lostErr } = await exitOf(fourth);
      engines.delete(fourth);
      assert.equal(lost.code, 2, lostErr);
      assert.match(
        lostErr,
        /^vigil: lost NATS partition 0\/1 of \S+ to another instance \(intruder\)/m,
      );
    } finally {
      for (const e of engines) await stopEngine(e, "SIGKILL");
      await nats.stop();
    }
  });
});

Deno.test("a NATS server that cannot be reached at start: one line naming it, exit 1", async () => {
  await withDir(async (dir) => {
    const server = `127.0.0.1:${freePort()}`;
    const { status, stderr } = await exitOf(startEngine(`nats://${server}/telemetry`, "0/1", dir));
    assert.equal(status.code, 1, stderr);
    assert.equal(
      stderr.trim(),
      `vigil: NATS server ${server} cannot be reached (CONNECTION_REFUSED): start it, or check ` +
        "the host and port of --source",
    );
  });
});

Deno.test("a refused line first after a restart is logged as a replay logs it (the time of the reading before it)", async () => {
  await withDir(async (dir) => {
    const nats = await startNats(dir, 1);
    let engine: Deno.ChildProcess | null = null;
    try {
      const readings = input().slice(0, 40);
      // No timestamp: refused. Published right after a clean stop, so that it is the first
      // message the restarted engine receives (the soak test met this by chance).
      const bad = `{"machine":"m1","temperature":1}`;
      const live = join(dir, "live");
      await publishReadings(readings.slice(0, 20), { server: nats.server });
      engine = startEngine(nats.url, "0/1", live);
      await waitForReadings(live, 20);
      assert.equal((await stopEngine(engine)).code, 0);
      await publishReadings([bad, ...readings.slice(20)], { server: nats.server });
      engine = startEngine(nats.url, "0/1", live);
      await waitForReadings(live, 40);
      assert.equal((await stopEngine(engine)).code, 0);
      engine = null;

      const file = join(dir, "input.jsonl");
      await Deno.writeTextFile(
        file,
        [...readings.slice(0, 20), bad, ...readings.slice(20)].join("\n") + "\n",
      );
      const replayDir = join(dir, "replay");
      assert.ok(await replayed(file, replayDir));
      const logged = await lines(join(live, "parser_errors.log"));
      assert.equal(logged.length, 1);
      assert.equal(JSON.parse(logged[0]!).timestamp, JSON.parse(readings[19]!).timestamp);
      assert.deepEqual(logged, await lines(join(replayDir, "parser_errors.log")));
    } finally {
      if (engine) await stopEngine(engine, "SIGKILL");
      await nats.stop();
    }
  });
});
