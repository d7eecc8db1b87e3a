/**
 * Alert webhooks against a real local receiver (`Deno.serve`) and a real spool directory: an
 * outage (503s, then 200) loses and duplicates nothing; a restart with the receiver down resends
 * the spooled events; the queue bound drops the oldest and counts them; a permanent 4xx is
 * skipped; a torn spool line (a crash mid-write) is cut off; compaction keeps the spool small; a
 * spool written by an older version (tests/fixtures/webhook_spool_894eae8) is delivered.
 *
 * Past ~400 lines: the whole suite of one component (webhook), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type AnomalyEvent,
  EngineState,
  FileSource,
  Metrics,
  nullLogger,
  openRun,
  WebhookSink,
  type WebhookSinkOptions,
} from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

const event = (i: number): AnomalyEvent => ({
  timestamp: new Date(T0 + i * 1000).toISOString(),
  machine: "m1",
  type: "THRESHOLD_BREACH_TEMP",
  severity: "CRITICAL",
  channel: "temperature",
  value: 90 + i,
  threshold: 80,
  description: `event ${i}`,
});

/** A webhook receiver: answers `status()` to each POST and records the events of 2xx answers. */
class Receiver {
  /** Events accepted (2xx), in arrival order. */
  readonly accepted: AnomalyEvent[] = [];
  /** Every POST's answer status, in order. */
  readonly answers: number[] = [];
  status: () => number = () => 200;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor(port = 0) {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
      const body = await req.json();
      assert.ok(Array.isArray(body), "the body is a JSON array");
      assert.equal(req.headers.get("content-type"), "application/json");
      const status = this.status();
      this.answers.push(status);
      if (status >= 200 && status < 300) this.accepted.push(...body);
      return new Response(status >= 300 ? "not now" : "ok", { status });
    });
  }

  get port(): number {
    return this.#server.addr.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }
}

/** Polls `cond` every 20 ms until it holds, or fails after `ms` (generous: CI may be loaded). */
async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const fast = (dir: string, urls: string[]): WebhookSinkOptions => ({
  urls,
  dir,
  retryBaseMs: 20,
  retryMaxMs: 100,
  timeoutMs: 5000,
  closeDeadlineMs: 2000,
});

const descriptions = (events: AnomalyEvent[]) => events.map((e) => e.description);
const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `event ${from + i}`);

Deno.test("an outage of 503s then recovery: every event arrives exactly once, in order", async () => {
  const dir = await Deno.makeTempDir();
  const receiver = new Receiver();
  let failing = true;
  receiver.status = () => failing ? 503 : 200;
  const sink = await WebhookSink.open({ ...fast(dir, [receiver.url]), batchSize: 7 });
  try {
    for (let i = 0; i < 10; i++) sink.anomaly(event(i));
    await until(() => receiver.answers.length >= 3, "three refused attempts");
    for (let i = 10; i < 30; i++) sink.anomaly(event(i));
    assert.equal(receiver.accepted.length, 0);
    assert.equal(sink.health()[0]!.queued, 30);
    failing = false;
    await until(() => receiver.accepted.length >= 30, "all 30 events");
    await until(() => sink.health()[0]!.queued === 0, "an empty queue");
    assert.deepEqual(descriptions(receiver.accepted), range(0, 30));
    assert.deepEqual(receiver.accepted[3], event(3), "the contract's event, unchanged");
    const stats = sink.health()[0]!;
    assert.equal(stats.delivered, 30);
    assert.equal(stats.dropped, 0);
    assert.ok(stats.failures >= 3, `failures counted: ${stats.failures}`);
    assert.equal(stats.target, receiver.url);
  } finally {
    await sink.close();
    await receiver.close();
  }
  // Everything was acknowledged on disk: a new sink on the same directory has nothing to resend.
  const reopened = await WebhookSink.open(fast(dir, [receiver.url]));
  assert.equal(reopened.health()[0]!.queued, 0);
  await reopened.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a restart with the receiver down resends the spooled events once it is up", async () => {
  const dir = await Deno.makeTempDir();
  // A port that refuses connections: a receiver started and stopped.
  const gone = new Receiver();
  const port = gone.port;
  const url = gone.url;
  await gone.close();

  const first = await WebhookSink.open(fast(dir, [url]));
  for (let i = 0; i < 12; i++) first.anomaly(event(i));
  await first.close(200); // the receiver is down: nothing can be delivered
  assert.equal(first.health()[0]!.delivered, 0);
  assert.equal(first.health()[0]!.queued, 12);

  // A crash in the middle of a spool append leaves a torn line: it must be cut off, not sent.
  const spools = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".jsonl"));
  assert.equal(spools.length, 1, `one spool: ${spools}`);
  await Deno.writeTextFile(join(dir, spools[0]!), '{"timestamp":"2026-01-0', { append: true });

  // Restarted, still down; more events come in after the torn line.
  const second = await WebhookSink.open(fast(dir, [url]));
  assert.equal(second.health()[0]!.queued, 12);
  for (let i = 12; i < 15; i++) second.anomaly(event(i));
  await second.close(200);
  assert.equal(second.health()[0]!.queued, 15);

  const receiver = new Receiver(port);
  const third = await WebhookSink.open(fast(dir, [url]));
  try {
    assert.equal(third.health()[0]!.queued, 15);
    await until(() => third.health()[0]!.queued === 0, "the spool to drain");
    assert.deepEqual(descriptions(receiver.accepted), range(0, 15));
  } finally {
    await third.close();
  }
  // Acknowledged on disk: a fourth start resends nothing.
  const fourth = await WebhookSink.open(fast(dir, [url]));
  try {
    assert.equal(fourth.health()[0]!.queued, 0);
  } finally {
    await fourth.close();
    await receiver.close();
  }
  assert.equal(receiver.accepted.length, 15);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the queue bound drops the oldest events and counts them", async () => {
  const dir = await Deno.makeTempDir();
  const receiver = new Receiver();
  let up = false;
  receiver.status = () => up ? 200 : 503;
  const sink = await WebhookSink.open({ ...fast(dir, [receiver.url]), maxQueued: 5 });
  try {
    for (let i = 0; i < 12; i++) sink.anomaly(event(i));
    const stats = sink.health()[0]!;
    assert.equal(stats.queued, 5);
    assert.equal(stats.dropped, 7);
    await until(() => receiver.answers.length >= 2, "two refused attempts");
    up = true;
    await until(() => sink.health()[0]!.queued === 0, "the queue to drain");
    assert.deepEqual(descriptions(receiver.accepted), range(7, 12));
    assert.equal(sink.health()[0]!.dropped, 7);
    assert.equal(sink.health()[0]!.delivered, 5);
  } finally {
    await sink.close();
    await receiver.close();
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a permanent 4xx is logged and skipped; 429 is retried", async () => {
  const dir = await Deno.makeTempDir();
  const receiver = new Receiver();
  const script = [429, 404];
  receiver.status = () => script.shift() ?? 200;
  const logged: string[] = [];
  const sink = await WebhookSink.open({
    ...fast(dir, [receiver.url]),
    batchSize: 3,
    logger: {
      log: (_l, msg) => logged.push(msg),
      info: (msg) => logged.push(msg),
      warn: (msg) => logged.push(msg),
      error: (msg) => logged.push(msg),
    },
  });
  try {
    for (let i = 0; i < 6; i++) sink.anomaly(event(i));
    await until(() => sink.health()[0]!.queued === 0, "the queue to drain");
    // First batch (0–2): 429 (retried), then 404 (skipped); second batch (3–5): 200.
    assert.deepEqual(receiver.answers, [429, 404, 200]);
    assert.deepEqual(descriptions(receiver.accepted), range(3, 6));
    const stats = sink.health()[0]!;
    assert.equal(stats.rejected, 3);
    assert.equal(stats.delivered, 3);
    assert.equal(stats.failures, 1);
    assert.ok(logged.includes("webhook refused events, skipped"), JSON.stringify(logged));
  } finally {
    await sink.close();
    await receiver.close();
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("retries back off exponentially up to the cap, and honour Retry-After", async () => {
  const dir = await Deno.makeTempDir();
  const script = [503, 503, 503, 503, 503, 429];
  const delays: unknown[] = [];
  const record = (_msg: string, fields?: Record<string, unknown>) => {
    if (fields && "retry_in_ms" in fields) delays.push(fields.retry_in_ms);
  };
  // The 429 asks for 80 ms, more than the jittered backoff (25–50 ms) and below the cap.
  const retryAfter = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    const status = script.shift() ?? 200;
    return new Response(
      null,
      status === 429 ? { status, headers: { "retry-after": "0.08" } } : {
        status,
      },
    );
  });
  const sink = await WebhookSink.open({
    urls: [`http://127.0.0.1:${retryAfter.addr.port}/`],
    dir,
    retryBaseMs: 20,
    retryMaxMs: 100,
    random: () => 0, // the low end of each jitter range: delays are exactly cap / 2
    logger: { log: () => {}, info: record, warn: record, error: record },
  });
  try {
    sink.anomaly(event(0));
    await until(() => sink.health()[0]!.delivered === 1, "delivery after six refusals");
    // cap = min(100, 20 · 2^(n-1)): 20, 40, 80, 100, 100, 100; jittered to cap / 2 … cap.
    assert.deepEqual(delays, [10, 20, 40, 50, 50, 80]);
    assert.equal(sink.health()[0]!.failures, 6);
  } finally {
    await sink.close();
    await retryAfter.shutdown();
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("compaction keeps the spool small and loses nothing", async () => {
  const dir = await Deno.makeTempDir();
  const receiver = new Receiver();
  const sink = await WebhookSink.open({ ...fast(dir, [receiver.url]), compactBytes: 1000 });
  try {
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 10; i++) sink.anomaly(event(round * 10 + i));
      await until(() => sink.health()[0]!.queued === 0, `round ${round} delivered`);
    }
    assert.deepEqual(descriptions(receiver.accepted), range(0, 100));
  } finally {
    await sink.close();
    await receiver.close();
  }
  const spools = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".jsonl"));
  assert.equal(spools.length, 1, "old generations are deleted");
  const size = Deno.statSync(join(dir, spools[0]!.name)).size;
  // 100 events are ~20 KB; compaction at 1000 acknowledged bytes keeps well under that.
  assert.ok(size < 5000, `spool is ${size} bytes`);
  assert.ok(!spools[0]!.name.endsWith(".0.jsonl"), "at least one compaction happened");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an unreadable ack file resends the spool rather than losing it", async () => {
  const dir = await Deno.makeTempDir();
  const receiver = new Receiver();
  // Delivered, then compacted (compactBytes 1): the live spool is of a later generation.
  const first = await WebhookSink.open({ ...fast(dir, [receiver.url]), compactBytes: 1 });
  for (let i = 0; i < 4; i++) first.anomaly(event(i));
  await until(() => first.health()[0]!.queued === 0, "the first events delivered");
  receiver.status = () => 503;
  for (let i = 4; i < 8; i++) first.anomaly(event(i));
  await first.close(100);
  const spools = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".jsonl"));
  assert.equal(spools.length, 1);
  assert.ok(!spools[0]!.name.endsWith(".0.jsonl"), `compacted: ${spools[0]!.name}`);
  const ack = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".ack"))!;
  await Deno.writeTextFile(join(dir, ack.name), "garbage");
  receiver.status = () => 200;
  const second = await WebhookSink.open(fast(dir, [receiver.url]));
  try {
    await until(() => second.health()[0]!.queued === 0, "the spool to drain");
    assert.deepEqual(descriptions(receiver.accepted), range(0, 8));
  } finally {
    await second.close();
    await receiver.close();
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a spool left by commit 894eae8 is read back and its waiting events delivered", async () => {
  const fixture = new URL("../fixtures/webhook_spool_894eae8/", import.meta.url);
  const oldId = "63467160fef5b822";
  const dir = await Deno.makeTempDir();
  const receiver = new Receiver();
  // The files are named by the hash of the URL they were spooled for: rename them (and the
  // spool's name in the ack file) to this receiver's URL. The spool's bytes are copied as they are.
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(receiver.url));
  const id = [...new Uint8Array(digest).subarray(0, 8)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  await Deno.copyFile(new URL(`${oldId}.1.jsonl`, fixture), join(dir, `${id}.1.jsonl`));
  const ack = await Deno.readTextFile(new URL(`${oldId}.ack`, fixture));
  await Deno.writeTextFile(join(dir, `${id}.ack`), ack.replaceAll(oldId, id));
  const sink = await WebhookSink.open(fast(dir, [receiver.url]));
  try {
    assert.equal(sink.health()[0]!.queued, 4, "events 6 to 9 wait, as the old ack file says");
    await until(() => sink.health()[0]!.queued === 0, "the old spool to drain");
    assert.deepEqual(descriptions(receiver.accepted), range(6, 10));
    assert.deepEqual(receiver.accepted[0], event(6), "the old line, unchanged");
    sink.anomaly(event(10)); // and it goes on appending to the old generation's spool
    await until(() => receiver.accepted.length === 5, "a new event after the old ones");
  } finally {
    await sink.close();
    await receiver.close();
  }
  const reopened = await WebhookSink.open(fast(dir, [receiver.url]));
  assert.equal(reopened.health()[0]!.queued, 0, "acknowledged in the old format's files");
  await reopened.close();
  const ackAfter = JSON.parse(await Deno.readTextFile(join(dir, `${id}.ack`)));
  assert.equal(ackAfter.spool, `${id}.1.jsonl`);
  assert.equal(ackAfter.offset, Deno.statSync(join(dir, `${id}.1.jsonl`)).size);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("bad options are refused, naming the value", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(WebhookSink.open({ urls: [], dir }), /at least one/);
  await assert.rejects(WebhookSink.open({ urls: ["ftp://x/"], dir }), /"ftp:\/\/x\/" is not http/);
  await assert.rejects(WebhookSink.open({ urls: ["nope"], dir }), /"nope" is not a URL/);
  await assert.rejects(
    WebhookSink.open({ urls: ["http://127.0.0.1:1/a", "http://127.0.0.1:1/a"], dir }),
    /given twice/,
  );
  await assert.rejects(
    WebhookSink.open({ urls: ["http://127.0.0.1:1/"], dir, maxQueued: 0 }),
    /maxQueued must be a positive integer, got 0/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("through the real pipeline: the webhook gets exactly anomalies.jsonl, metrics count it", async () => {
  const dir = await Deno.makeTempDir();
  const input = join(dir, "input.jsonl");
  // A machine at 20 °C with two excursions above the 40 °C alert limit, and one bad line.
  const lines: string[] = [];
  for (let i = 0; i < 80; i++) {
    const temperature = (i >= 30 && i < 33) || (i >= 60 && i < 62) ? 55 : 20 + (i % 3) / 10;
    lines.push(JSON.stringify({
      timestamp: new Date(T0 + i * 1000).toISOString(),
      machine: "m1",
      status: "RUNNING",
      temperature,
      speed: 1500,
    }));
    if (i === 10) lines.push("{not json");
  }
  await Deno.writeTextFile(input, lines.join("\n") + "\n");

  const receiver = new Receiver();
  const state = new EngineState();
  const metrics = new Metrics({ state });
  const sink = await WebhookSink.open({ ...fast(join(dir, "webhooks"), [receiver.url]) });
  try {
    const run = await openRun({
      dataDir: join(dir, "data"),
      source: `file:${input}`,
      streamDerived: true,
      state,
      logger: nullLogger,
      processingIntervalMs: 10_000,
      sinks: [metrics, sink],
    });
    const counts = await run.run(new FileSource(input, { format: "json" }).readable);
    const written = (await Deno.readTextFile(join(dir, "data", "anomalies.jsonl")))
      .split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as AnomalyEvent);
    assert.ok(written.length >= 2, `anomalies raised: ${written.length}`);
    assert.equal(counts.anomalies, written.length);
    await until(() => sink.health()[0]!.queued === 0, "the webhook queue to drain");
    assert.deepEqual(receiver.accepted, written);

    const text = metrics.render();
    const value = (name: string) =>
      text.split("\n").filter((l) => l.startsWith(name + " ") || l.startsWith(name + "{"))
        .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
    assert.equal(value("vigil_readings_total"), 80);
    assert.equal(value("vigil_anomalies_total"), written.length);
    assert.equal(value("vigil_rows_total"), counts.rows);
    assert.equal(value("vigil_parser_errors_total"), 1);
    // Alarms are states (the adaptive detector's defaults): raised once per excursion, and
    // cleared once (INFO, same type) after 20 normal readings: the second excursion (ending at
    // reading 62 of 80) is still standing at the end.
    const breaches = written.filter((e) => e.type === "THRESHOLD_BREACH_TEMP");
    assert.deepEqual(breaches.map((e) => e.severity), ["CRITICAL", "INFO", "CRITICAL"]);
    assert.ok(
      text.includes(`vigil_anomalies_total{type="THRESHOLD_BREACH_TEMP",severity="CRITICAL"} 2\n`),
      text,
    );
  } finally {
    await sink.close();
    await receiver.close();
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a webhook host without --allow-net is refused at open, not retried forever", async () => {
  const dir = await Deno.makeTempDir();
  const script = join(dir, "open.ts");
  const module = new URL("../../engine/sinks/webhook/webhook_sink.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { WebhookSink } from ${JSON.stringify(module)};
try {
  await WebhookSink.open({ urls: ["http://hooks.example:9/x?token=secret"], dir: ${
      JSON.stringify(join(dir, "spool"))
    } });
  console.log("opened");
} catch (e) {
  console.log(e.name + ": " + e.message);
}
`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", `--allow-write=${dir}`, "--allow-net=127.0.0.1", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.equal(
    text,
    'NotCapable: webhook URL "http://hooks.example:9/x" needs --allow-net=hooks.example:9',
    new TextDecoder().decode(out.stderr),
  );
  await Deno.remove(dir, { recursive: true });
});
