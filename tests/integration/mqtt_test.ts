/**
 * The MQTT source and publisher against a real mosquitto broker (Debian package `mosquitto`),
 * started by each test on a free port with its own persistence directory: no system service.
 *
 * Past ~400 lines: the whole suite of one component (mqtt), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { startVigil, type Vigil } from "../helpers.ts";
import { ByteText } from "../../engine/formats/byte_text.ts";
import { writeReading } from "../../engine/formats/reading_format.ts";
import { MqttConnection, parseBroker } from "../../engine/sources/mqtt/mqtt_connection.ts";
import {
  type AnomalyEvent,
  EngineState,
  type MqttParseError,
  MqttPublisher,
  MqttSource,
  nullLogger,
  openRun,
  type Reading,
  ReadingBatchStream,
} from "../../engine/mod.ts";

/** A mosquitto process on 127.0.0.1:`port`, persisting to `dir` (saved on SIGTERM). */
class Broker {
  #proc: Deno.ChildProcess | null = null;
  constructor(readonly dir: string, readonly port: number, readonly extra: string[] = []) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const conf = join(this.dir, "mosquitto.conf");
    await Deno.writeTextFile(
      conf,
      [
        `listener ${this.port} 127.0.0.1`,
        ...(this.extra.includes("allow_anonymous false") ? [] : ["allow_anonymous true"]),
        "persistence true",
        `persistence_location ${this.dir}/`,
        // The default (1000) would drop queued messages of an offline client in long tests.
        "max_queued_messages 0",
        ...this.extra,
        "",
      ].join("\n"),
    );
    this.#proc = new Deno.Command("mosquitto", {
      args: ["-c", conf],
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Ready when the port accepts connections.
    for (let i = 0; i < 100; i++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: this.port })).close();
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error(`mosquitto did not listen on ${this.port}`);
  }

  /** SIGTERM: mosquitto writes its persistence file and exits. */
  async stop(): Promise<void> {
    const p = this.#proc;
    if (!p) return;
    this.#proc = null;
    p.kill("SIGTERM");
    await p.status;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * `login`: the broker refuses anonymous clients and knows this one user and password; `extra`:
 * more lines of mosquitto.conf (they may refer to files put in the directory by `prepare`).
 */
async function withBroker(
  fn: (broker: Broker) => Promise<void>,
  { login, extra = [], prepare }: {
    login?: { user: string; password: string };
    extra?: string[];
    prepare?: (dir: string) => Promise<void>;
  } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vigil-mqtt-" });
  // Started as root, mosquitto drops to the `mosquitto` user before writing its persistence
  // file: a private (0700) directory would make it save nothing, silently.
  await Deno.chmod(dir, 0o777);
  await prepare?.(dir);
  const lines = extra.map((line) => line.replaceAll("$DIR", dir));
  if (login) {
    const file = join(dir, "passwords");
    const made = await new Deno.Command("mosquitto_passwd", {
      args: ["-c", "-b", file, login.user, login.password],
      stdout: "null",
      stderr: "inherit",
    }).output();
    assert.ok(made.success, "mosquitto_passwd");
    await Deno.chmod(file, 0o644);
    lines.push("allow_anonymous false", `password_file ${file}`);
  }
  const broker = new Broker(dir, freePort(), lines);
  await broker.start();
  try {
    await fn(broker);
  } finally {
    await broker.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

async function client(url: string, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
}

/** Reads batches from `reader` until `n` readings came, or fails after `ms`. */
async function take(
  reader: ReadableStreamDefaultReader<Reading[]>,
  n: number,
  ms = 10_000,
): Promise<Reading[]> {
  const out: Reading[] = [];
  const deadline = Date.now() + ms;
  while (out.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      reader.read(),
      new Promise<null>((res) => timer = setTimeout(() => res(null), left)),
    ]);
    clearTimeout(timer);
    if (r === null || r.done) break;
    out.push(...r.value);
  }
  assert.ok(out.length >= n, `expected ${n} readings, got ${out.length}`);
  return out;
}

/** Waits until `cond()` holds, or fails after `ms`. */
async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Publishes readings with `temperature` = each of `seqs` at QoS 1 on `topic`, kv format. */
async function publishSeqs(c: MqttClient, topic: string, seqs: number[]): Promise<void> {
  await Promise.all(seqs.map((i) => c.publishAsync(topic, `T:${i}`, { qos: 1 })));
}

function missing(readings: Reading[], seqs: number[]): number[] {
  const got = new Set(readings.map((r) => r.channels.temperature));
  return seqs.filter((i) => !got.has(i));
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

Deno.test("mqtt source: wildcard subscription, JSON and kv payloads, machine ids", async () => {
  await withBroker(async (broker) => {
    const stop = new AbortController();
    const errors: MqttParseError[] = [];
    const source = new MqttSource({
      url: `${broker.url}/plant/+/telemetry`,
      clientId: "vigil-test-wildcard",
      signal: stop.signal,
      onParseError: (e) => errors.push(e),
    });
    const byPayload = new MqttSource({
      url: `${broker.url}/lab/%23`, // `#`, escaped in a URL
      clientId: "vigil-test-payload",
      signal: stop.signal,
    });
    assert.equal(byPayload.topic, "lab/#");
    await until(() => source.subscribed && byPayload.subscribed, "the subscriptions");
    const pub = await client(broker.url);
    try {
      const reader = source.readable.getReader();

      const before = Date.now();
      await pub.publishAsync(
        "plant/press-1/telemetry",
        '{"timestamp":"2026-01-01T00:00:00Z","temperature":21.5,"speed":1200,"status":"RUNNING"}',
        { qos: 1 },
      );
      // The topic level wins over the payload's own machine id.
      await pub.publishAsync(
        "plant/press-2/telemetry",
        '{"timestamp":1767225600000,"machine":"other","temperature":22}',
        { qos: 1 },
      );
      await pub.publishAsync("plant/pump-3/telemetry", "T:85.5,V:5.0,S:WARNING_TEMP", { qos: 1 });
      await pub.publishAsync("plant/pump-4/telemetry", "not a reading", { qos: 1 });
      await pub.publishAsync("other/pump-5/telemetry", "T:1", { qos: 1 }); // not subscribed
      // Two lines in one payload are two readings.
      await pub.publishAsync("plant/fan-6/telemetry", "T:1\nT:2\n", { qos: 1 });
      const got = await take(reader, 5);
      assert.deepEqual(got.map((r) => r.machine), [
        "press-1",
        "press-2",
        "pump-3",
        "fan-6",
        "fan-6",
      ]);
      assert.deepEqual(got[0], {
        timestamp: Date.parse("2026-01-01T00:00:00Z"),
        machine: "press-1",
        status: "RUNNING",
        channels: { temperature: 21.5, speed: 1200 },
      });
      assert.equal(got[1]!.timestamp, 1767225600000);
      assert.deepEqual(got[2]!.channels, { temperature: 85.5, voltage: 5 });
      assert.equal(got[2]!.status, "WARNING_TEMP");
      // kv carries no time: the event time is the receive time.
      assert.ok(got[2]!.timestamp >= before && got[2]!.timestamp <= Date.now());
      assert.deepEqual(got.slice(3).map((r) => r.channels.temperature), [1, 2]);
      await until(() => errors.length === 1, "the parse error");
      assert.equal(errors[0]!.topic, "plant/pump-4/telemetry");
      assert.equal(errors[0]!.line, "not a reading");
      assert.match(errors[0]!.error, /KEY:VALUE/);
      assert.equal(source.errors, 1);

      // No `+` in the filter: the payload's machine, else the whole topic.
      const r2 = byPayload.readable.getReader();
      await pub.publishAsync("lab/a/b", "T:3,M:kiln-7", { qos: 1 });
      await pub.publishAsync("lab/a/b", '{"timestamp":0,"machine":"kiln-8","temperature":4}', {
        qos: 1,
      });
      await pub.publishAsync("lab/c", "T:5", { qos: 1 });
      const lab = await take(r2, 3);
      assert.deepEqual(lab.map((r) => r.machine), ["kiln-7", "kiln-8", "lab/c"]);
      // A payload with nothing but a parse error still wakes the stream (an empty batch), so
      // the pipeline can log the error at once.
      await pub.publishAsync("lab/d", "{not json", { qos: 1 });
      const woken = await r2.read();
      assert.deepEqual(woken, { done: false, value: [] });
      assert.equal(byPayload.errors, 1);

      // JSON read from the payload's bytes: several lines (CRLF, a blank one), named by the
      // payload when it names a machine (`m1` too), else by the topic.
      await pub.publishAsync(
        "lab/e",
        '{"timestamp":0,"temperature":6}\r\n\r\n{"timestamp":0,"machine":"m1","temperature":7}\n' +
          '{"timestamp":0,"machine":"kiln-9","temperature":8}\n',
        { qos: 1 },
      );
      const multi = await take(r2, 3);
      assert.deepEqual(multi.map((r) => [r.machine, r.channels.temperature]), [
        ["lab/e", 6],
        ["m1", 7],
        ["kiln-9", 8],
      ]);
      // A topic level that is no machine id refuses the line, whichever way it was read.
      const bad = '{"timestamp":0,"machine":"other","temperature":9}';
      await pub.publishAsync("plant/ x/telemetry", bad, { qos: 1 });
      await until(() => errors.length === 2, "the bad topic id");
      assert.deepEqual([errors[1]!.topic, errors[1]!.line], ["plant/ x/telemetry", bad]);
      assert.match(errors[1]!.error, /bad machine id " x": white space/);
      assert.deepEqual(await reader.read(), { done: false, value: [] }); // the error's wake-up

      stop.abort();
      // After the abort both streams end.
      assert.equal((await reader.read()).done, true);
      assert.equal((await r2.read()).done, true);
      assert.equal(source.status, "closed");
    } finally {
      stop.abort();
      await pub.endAsync();
    }
  });
});

Deno.test("mqtt source: a refused CRLF line is told without its \\r, as the file source logs it", async () => {
  await withBroker(async (broker) => {
    const stop = new AbortController();
    const errors: MqttParseError[] = [];
    const source = new MqttSource({
      url: `${broker.url}/plant/+/telemetry`,
      clientId: "vigil-test-crlf",
      signal: stop.signal,
      onParseError: (e) => errors.push(e),
    });
    await until(() => source.subscribed, "the subscription");
    const pub = await client(broker.url);
    try {
      const reader = source.readable.getReader();
      // kv and JSON lines refused by the parser, and a line refused for its topic's machine id
      // (read from the payload's bytes), each followed by `\r\n`.
      const bad = '{"timestamp":0,"machine":"other","temperature":9}';
      await pub.publishAsync(
        "plant/pump-5/telemetry",
        '{"timestamp":0,"temperature":1}\r\nno reading\r\n{"timestamp":0}\r\n',
        { qos: 1 },
      );
      await pub.publishAsync("plant/ y/telemetry", `${bad}\r\n`, { qos: 1 });
      assert.deepEqual((await take(reader, 1)).map((r) => r.channels), [{ temperature: 1 }]);
      await until(() => errors.length === 3, "the three refused lines");
      assert.deepEqual(errors.map((e) => e.line), ["no reading", '{"timestamp":0}', bad]);
      for (const e of errors) assert.doesNotMatch(e.error, /\r/, e.error);
      assert.equal(source.errors, 3);
    } finally {
      stop.abort();
      await pub.endAsync();
    }
  });
});

Deno.test("mqtt source: readings published while the engine is away are delivered on return", async () => {
  await withBroker(async (broker) => {
    const url = `${broker.url}/plant/+/telemetry`;
    // First run: subscribes (creating the persistent session), then stops.
    const stop1 = new AbortController();
    const s1 = new MqttSource({ url, dataDir: "/tmp/vigil-away", signal: stop1.signal });
    const pub = await client(broker.url);
    try {
      const r1 = s1.readable.getReader();
      await until(() => s1.subscribed, "the subscription");
      await pub.publishAsync("plant/m1/telemetry", "T:-1", { qos: 1 });
      await take(r1, 1);
      stop1.abort();
      assert.equal((await r1.read()).done, true);
      await sleep(100); // the DISCONNECT reaches the broker

      // Published while no engine is connected: the broker queues them for the session...
      const seqs = range(0, 500);
      await publishSeqs(pub, "plant/m1/telemetry", seqs);
      await pub.endAsync();
      // ...and keeps them across its own restart (saved on SIGTERM, loaded on start).
      await broker.stop();
      await broker.start();

      // Second run, same data dir hence same client id: gets every one of them.
      const stop2 = new AbortController();
      const s2 = new MqttSource({ url, dataDir: "/tmp/vigil-away", signal: stop2.signal });
      assert.equal(s2.clientId, s1.clientId);
      const got = await take(s2.readable.getReader(), seqs.length);
      assert.deepEqual(missing(got, seqs), []);
      assert.ok(got.every((r) => r.machine === "m1"));
      stop2.abort();

      // Another data dir is another session, which never saw them.
      const s3 = new MqttSource({ url, dataDir: "/tmp/vigil-other", signal: stop2.signal });
      assert.notEqual(s3.clientId, s1.clientId);
    } finally {
      stop1.abort();
      if (pub.connected) await pub.endAsync();
    }
  });
});

Deno.test("mqtt source: broker restart while running, no QoS-1 message lost", async () => {
  await withBroker(async (broker) => {
    const stop = new AbortController();
    const statuses: string[] = [];
    const source = new MqttSource({
      url: `${broker.url}/plant/+/telemetry`,
      clientId: "vigil-test-restart",
      signal: stop.signal,
      reconnectMinMs: 100,
      reconnectMaxMs: 400,
      onStatus: (s, d) => statuses.push(d ? `${s} (${d})` : s),
    });
    const reader = source.readable.getReader();
    try {
      await until(() => source.subscribed, "the subscription");
      let pub = await client(broker.url);
      await publishSeqs(pub, "plant/m1/telemetry", [-1]);
      await take(reader, 1);
      const before = range(0, 100);
      await publishSeqs(pub, "plant/m1/telemetry", before);
      const got = await take(reader, before.length);
      await pub.endAsync();

      await broker.stop(); // saves the session and its subscription
      await until(() => source.status !== "connected", "the source to notice");
      await sleep(500); // a few failed reconnect attempts
      await broker.start();

      // Published after the restart, possibly before the source is back: queued for it.
      pub = await client(broker.url);
      const after = range(100, 400);
      await publishSeqs(pub, "plant/m1/telemetry", after);
      got.push(...await take(reader, after.length));
      await pub.endAsync();
      assert.deepEqual(missing(got, [...before, ...after]), []);
      assert.ok(source.reconnects >= 1, `reconnects: ${source.reconnects}`);
      assert.equal(source.status, "connected");
      assert.ok(statuses.some((s) => s.startsWith("offline")), statuses.join(","));
    } finally {
      stop.abort();
    }
    assert.equal((await reader.read()).done, true);
  });
});

Deno.test("mqtt source: logs in with USER:PASSWORD from the URL; a refused login is said and retried", async () => {
  const login = { user: "vigil", password: "s@cret:1" };
  await withBroker(async (broker) => {
    const stop = new AbortController();
    const statuses: string[] = [];
    const good = new MqttSource({
      url: `mqtt://vigil:s%40cret:1@127.0.0.1:${broker.port}/plant/+/telemetry`,
      clientId: "vigil-test-login",
      signal: stop.signal,
    });
    const bad = new MqttSource({
      url: `mqtt://vigil:wrong@127.0.0.1:${broker.port}/plant/+/telemetry`,
      clientId: "vigil-test-bad-login",
      signal: stop.signal,
      reconnectMinMs: 50,
      reconnectMaxMs: 50,
      onStatus: (s, d) => statuses.push(d ? `${s} (${d})` : s),
    });
    const reader = good.readable.getReader();
    const badReader = bad.readable.getReader();
    try {
      await until(() => good.subscribed, "the subscription");
      const pub = await client(broker.url, { username: login.user, password: login.password });
      await publishSeqs(pub, "plant/m1/telemetry", [1, 2]);
      assert.deepEqual((await take(reader, 2)).map((r) => r.channels.temperature), [1, 2]);
      await pub.endAsync();
      await until(() => bad.reconnects >= 2, "retries of the refused login");
      assert.equal(bad.subscribed, false);
      assert.ok(
        statuses.some((s) =>
          /^offline \(connection refused: (Bad User Name or Password \(0x86\)|Not authorized \(0x87\))/
            .test(s)
        ),
        statuses.join(","),
      );
    } finally {
      stop.abort();
    }
    assert.equal((await reader.read()).done, true);
    assert.equal((await badReader.read()).done, true);
  }, { login });
});

/** A CA and a certificate for 127.0.0.1 signed by it, made by openssl in `dir`. */
async function makeCertificates(dir: string): Promise<void> {
  const openssl = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    assert.ok(out.success, `openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
  };
  await openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=vigil test CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  );
  await openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
  );
  await Deno.writeTextFile(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
  await openssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    "san.ext",
    "-out",
    "server.pem",
  );
  for (const f of ["ca.pem", "server.pem", "server.key"]) await Deno.chmod(join(dir, f), 0o644);
}

Deno.test("mqtt source: mqtts:// over TLS, the broker's CA given to deno with --cert", async () => {
  const tlsPort = freePort();
  let caDir = "";
  await withBroker(async (broker) => {
    // The source in a process of its own: a CA is trusted from deno's start (`--cert`) on.
    const mod = new URL("../../engine/mod.ts", import.meta.url).href;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        "--cert",
        join(caDir, "ca.pem"),
        `import { MqttSource } from ${JSON.stringify(mod)};
        const stop = new AbortController();
        const source = new MqttSource({
          url: "mqtts://127.0.0.1:${tlsPort}/plant/+/telemetry",
          clientId: "vigil-test-tls",
          signal: stop.signal,
        });
        const reader = source.readable.getReader();
        const got = [];
        const timer = setInterval(() => source.subscribed && console.log("subscribed"), 50);
        while (got.length < 3) got.push(...(await reader.read()).value);
        clearInterval(timer);
        console.log(JSON.stringify(got.map((r) => r.channels.temperature)));
        stop.abort();`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let out = "";
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const output = (async () => {
      for (let r = await lines.read(); !r.done; r = await lines.read()) out += r.value;
    })();
    await until(() => out.includes("subscribed"), "the TLS subscription");
    const pub = await client(broker.url); // the plain listener of the same broker
    await publishSeqs(pub, "plant/m1/telemetry", [1, 2, 3]);
    await pub.endAsync();
    const status = await child.status;
    await output;
    const err = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    assert.ok(status.success, err);
    assert.match(out, /\n\[1,2,3\]\n$/);
  }, {
    prepare: async (dir) => {
      caDir = dir;
      await makeCertificates(dir);
    },
    extra: [
      `listener ${tlsPort} 127.0.0.1`,
      "cafile $DIR/ca.pem",
      "certfile $DIR/server.pem",
      "keyfile $DIR/server.key",
    ],
  });
});

Deno.test("mqtt connection: PINGREQs keep an idle connection open; end() is a DISCONNECT", async () => {
  await withBroker(async (broker) => {
    const closes: (string | undefined)[] = [];
    const topics: string[] = [];
    let connacks = 0;
    const conn: MqttConnection = new MqttConnection(parseBroker(broker.url), {
      clientId: "vigil-test-keepalive",
      keepalive: 1, // mosquitto drops a client silent for 1.5 keep-alive periods
      cleanStart: true,
      sessionExpiry: 0,
      receiveMaximum: 10,
    }, {
      onConnack: () => connacks++,
      onPublish: (p) => (topics.push(p.topic), true),
      onSuback: () => {},
      onClose: (e) => closes.push(e?.message),
    });
    conn.start();
    await until(() => conn.connected, "the CONNACK");
    conn.subscribe("keep/#", 1);
    await sleep(4000); // idle: only the PINGREQs go out
    assert.deepEqual(closes, [], "still open after 4 keep-alive periods");
    const pub = await client(broker.url);
    await pub.publishAsync("keep/alive", "x", { qos: 1 });
    await pub.endAsync();
    await until(() => topics.length === 1, "the message");
    await conn.end();
    assert.deepEqual(closes, [undefined]);
    assert.equal(connacks, 1);
    assert.equal(conn.connected, false);
  });
});

Deno.test("mqtt source: a full queue holds the broker back instead of dropping", async () => {
  await withBroker(async (broker) => {
    const stop = new AbortController();
    const source = new MqttSource({
      url: `${broker.url}/plant/+/telemetry`,
      clientId: "vigil-test-backpressure",
      signal: stop.signal,
      maxQueued: 10,
      batchSize: 4,
    });
    const reader = source.readable.getReader();
    const pub = await client(broker.url);
    try {
      await until(() => source.subscribed, "the subscription");
      await publishSeqs(pub, "plant/m1/telemetry", [-1]);
      await take(reader, 1);
      // Nobody reads for a while: the queue fills to its bound and stays there.
      const seqs = range(0, 300);
      await publishSeqs(pub, "plant/m1/telemetry", seqs);
      await until(() => source.queued >= 10, "a full queue");
      await sleep(300);
      assert.equal(source.queued, 10);
      assert.equal(source.messages, 11); // the warm-up and the 10 queued: the rest not acked
      // Then everything comes, in order, in batches of at most 4.
      const got: Reading[] = [];
      while (got.length < seqs.length) {
        const r = await reader.read();
        assert.ok(!r.done);
        assert.ok(r.value.length <= 4, `batch of ${r.value.length}`);
        got.push(...r.value);
      }
      assert.deepEqual(got.map((r) => r.channels.temperature), seqs);
    } finally {
      stop.abort();
      await pub.endAsync();
    }
  });
});

Deno.test("mqtt source: a batch is held back for more readings (lingerMs) until it is full, the window half taken, or the source stops", async () => {
  await withBroker(async (broker) => {
    const pub = await client(broker.url);
    /** A source that would hold a batch for a minute; `first` readings are ingested (so the
     * pending read is lingering) before `then` are published. */
    const held = async (
      id: string,
      options: { batchSize: number; receiveMaximum: number },
      first: number[],
      then: number[],
      abort = false,
    ) => {
      const stop = new AbortController();
      const source = new MqttSource({
        url: `${broker.url}/plant/+/telemetry`,
        clientId: id,
        signal: stop.signal,
        lingerMs: 60_000,
        ...options,
      });
      const reader = source.readable.getReader();
      try {
        await until(() => source.subscribed, "the subscription");
        const read = reader.read();
        await publishSeqs(pub, "plant/m1/telemetry", first);
        await until(() => source.messages === first.length, "the first readings");
        await publishSeqs(pub, "plant/m1/telemetry", then);
        if (abort) stop.abort();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const r = await Promise.race([
          read,
          new Promise<null>((res) => timer = setTimeout(() => res(null), 20_000)),
        ]);
        clearTimeout(timer);
        assert.ok(r !== null && !r.done, `${id}: no batch before the linger's minute`);
        return r.value.map((x) => x.channels.temperature);
      } finally {
        stop.abort();
        reader.releaseLock();
      }
    };
    try {
      // Without the linger the first batch would be [0]: it was queued alone.
      assert.deepEqual(
        await held("vigil-test-linger-full", { batchSize: 5, receiveMaximum: 100 }, [0], [
          1,
          2,
          3,
          4,
        ]),
        [0, 1, 2, 3, 4],
      );
      assert.deepEqual(
        await held("vigil-test-linger-window", { batchSize: 100, receiveMaximum: 4 }, [0], [1]),
        [0, 1],
      );
      assert.deepEqual(
        await held(
          "vigil-test-linger-stop",
          { batchSize: 100, receiveMaximum: 100 },
          [0],
          [],
          true,
        ),
        [0],
      );
    } finally {
      await pub.endAsync();
    }
  });
});

Deno.test("mqtt publisher: readings in over MQTT, anomalies and rows out on vigil/<machine>/…", async () => {
  await withBroker(async (broker) => {
    const watcher = await client(broker.url);
    const anomalies: { topic: string; event: AnomalyEvent }[] = [];
    const rows: { topic: string; row: Record<string, unknown> }[] = [];
    watcher.on("message", (topic, payload) => {
      const obj = JSON.parse(new TextDecoder().decode(payload));
      if (topic.endsWith("/anomalies")) anomalies.push({ topic, event: obj });
      else rows.push({ topic, row: obj });
    });
    await watcher.subscribeAsync(["vigil/+/anomalies", "vigil/+/rows"], { qos: 1 });

    const dataDir = await Deno.makeTempDir({ prefix: "vigil-mqtt-run-" });
    const stop = new AbortController();
    const publisher = new MqttPublisher({ url: broker.url });
    const source = new MqttSource({
      url: `${broker.url}/plant/+/telemetry`,
      clientId: "vigil-test-publisher",
      signal: stop.signal,
    });
    const pub = await client(broker.url);
    try {
      const run = await openRun({
        dataDir,
        source: "log",
        streamDerived: false,
        state: new EngineState(),
        logger: nullLogger,
        processingIntervalMs: 1000,
        sinks: [publisher],
      });
      const done = run.run(source.readable.pipeThrough(new ReadingBatchStream()));
      await until(() => source.subscribed, "the subscription");
      const t0 = Date.parse("2026-01-01T00:00:00Z");
      const temps = [20, 20.5, 21, 45, 21];
      for (let i = 0; i < temps.length; i++) {
        await pub.publishAsync(
          "plant/m1/telemetry",
          JSON.stringify({ timestamp: t0 + i * 2000, temperature: temps[i], speed: 1500 }),
          { qos: 1 },
        );
      }
      await until(() => anomalies.some((a) => a.event.type === "THRESHOLD_BREACH_TEMP"), "anomaly");
      const breach = anomalies.find((a) => a.event.type === "THRESHOLD_BREACH_TEMP")!;
      assert.equal(breach.topic, "vigil/m1/anomalies");
      assert.equal(breach.event.machine, "m1");
      assert.equal(breach.event.value, 45);
      assert.equal(breach.event.timestamp, new Date(t0 + 6000).toISOString());
      await until(() => rows.length >= 4, "rows");
      assert.ok(rows.every((r) => r.topic === "vigil/m1/rows"));
      assert.equal(rows[0]!.row.machine, "m1");
      assert.equal(rows[0]!.row.temperature_current, 20);
      // What went out over MQTT is what went to the files. The last reading (45 → 21) raises a
      // rate-of-change event: once it is over MQTT, every reading is in the file (written
      // first); then wait for the broker to deliver as many events as the file holds.
      await until(() => anomalies.some((a) => a.event.type === "RAPID_CHANGE_TEMP"), "the last");
      const written = (await Deno.readTextFile(join(dataDir, "anomalies.jsonl"))).trim().split(
        "\n",
      );
      await until(() => anomalies.length >= written.length, "every written anomaly over MQTT");
      assert.deepEqual(written.map((l) => JSON.parse(l)), anomalies.map((a) => a.event));
      stop.abort();
      const counts = await done;
      assert.equal(counts.readings, 5);
      await until(() => publisher.pending === 0, "the PUBACKs");
      assert.equal(publisher.dropped, 0);
      assert.equal(publisher.published, anomalies.length + rows.length);
    } finally {
      stop.abort();
      await publisher.close();
      await pub.endAsync();
      await watcher.endAsync();
      await Deno.remove(dataDir, { recursive: true });
    }
  });
});

Deno.test("mqtt publisher: a bounded queue while the broker is away", async () => {
  const port = freePort(); // nothing listens there
  const publisher = new MqttPublisher({
    url: `mqtt://127.0.0.1:${port}`,
    maxPending: 3,
    reconnectMs: 50,
  });
  try {
    for (let i = 0; i < 5; i++) {
      publisher.anomaly({
        timestamp: new Date(0).toISOString(),
        machine: "a/b+c#",
        type: "ZSCORE_TEMP",
        severity: "WARNING",
        channel: "temperature",
        value: i,
        threshold: 3,
        description: "",
      });
    }
    assert.equal(publisher.pending, 3);
    assert.equal(publisher.dropped, 2);
    assert.equal(publisher.connected, false);
  } finally {
    await publisher.close(0);
  }
  assert.throws(() => new MqttPublisher({ url: "http://x" }), /bad MQTT broker "http:\/\/x"/);
  assert.throws(
    () => new MqttPublisher({ url: "mqtt://x:1", rowTopic: "vigil/+/rows" }),
    /rowTopic .* "vigil\/\+\/rows"/,
  );
  assert.throws(() => new MqttSource({ url: "mqtt://x:1" }), /bad MQTT source "mqtt:\/\/x:1"/);
  assert.throws(
    () => new MqttSource({ url: "mqtt://x:1/a/b#" }),
    /bad MQTT topic filter "a\/b#"/,
  );
  assert.throws(
    () => new MqttSource({ url: "mqtt://x:1/a", maxQueued: 0 }),
    /maxQueued must be a positive integer, got 0/,
  );
});

Deno.test("start --source mqtt:// --publish: the engine reads a wildcard topic and publishes anomalies", async () => {
  await withBroker(async (broker) => {
    const dataDir = await Deno.makeTempDir({ prefix: "vigil-mqtt-engine-" });
    const watcher = await client(broker.url);
    const published: { topic: string; event: { type: string; machine: string } }[] = [];
    watcher.on("message", (topic, payload) => {
      published.push({ topic, event: JSON.parse(payload.toString()) });
    });
    await watcher.subscribeAsync("vigil/+/anomalies", { qos: 1 });
    let engine: Vigil | undefined;
    try {
      engine = await startVigil([
        "--source",
        `${broker.url}/plant/+/telemetry`,
        "--publish",
        broker.url,
        "--port",
        "0",
        "--data-dir",
        dataDir,
      ]);
      const base = engine.url;
      const health = async () => await (await fetch(new URL("/health", base))).json();
      for (let i = 0; i < 100 && (await health()).sources[0]?.state !== "running"; i++) {
        await sleep(100);
      }
      const pub = await client(broker.url);
      const t0 = Date.UTC(2026, 0, 1);
      for (let i = 0; i < 20; i++) {
        // press-1 overheats at the 15th reading (above the machine profile's 40 °C alert).
        const temperature = i === 15 ? 55 : 25;
        await pub.publishAsync(
          "plant/press-1/telemetry",
          JSON.stringify({ timestamp: t0 + i * 1000, temperature, speed: 1500, status: "RUNNING" }),
          { qos: 1 },
        );
      }
      await pub.publishAsync("plant/press-2/telemetry", "not json", { qos: 1 });
      // A time no Date holds stopped the live engine (RangeError in toISOString): a bad line.
      await pub.publishAsync("plant/press-2/telemetry", '{"timestamp":1e20,"temperature":1}', {
        qos: 1,
      });
      await pub.endAsync();
      let h = await health();
      for (let i = 0; i < 100 && h.totals.readings < 20; i++) {
        await sleep(100);
        h = await health();
      }
      for (let i = 0; i < 100 && h.sources[0].errors < 2; i++) {
        await sleep(100);
        h = await health();
      }
      assert.equal(h.totals.readings, 20);
      assert.equal(h.sources[0].errors, 2);
      const machines = await (await fetch(new URL("/machines", base))).json();
      assert.deepEqual(machines.machines.map((m: { id: string }) => m.id), ["press-1"]);
      await until(
        () => published.some((p) => p.event.type === "THRESHOLD_BREACH_TEMP"),
        "the anomaly on vigil/press-1/anomalies",
      );
      const breach = published.find((p) => p.event.type === "THRESHOLD_BREACH_TEMP")!;
      assert.equal(breach.topic, "vigil/press-1/anomalies");
      assert.equal(breach.event.machine, "press-1");
      // The source counts an error when it reads it; the log line follows with the next batch.
      const errorLog = join(dataDir, "parser_errors.log");
      const logText = () => Deno.readTextFile(errorLog).catch(() => "");
      for (let i = 0; i < 100 && !/bad timestamp/.test(await logText()); i++) await sleep(100);
      assert.match(await logText(), /bad timestamp: 100000000000000000000/);
      assert.equal((await engine.stop("SIGTERM")).code, 0);
      const logged = (await Deno.readTextFile(join(dataDir, "stream_output.jsonl"))).trim()
        .split("\n");
      assert.equal(logged.length, 20);
    } finally {
      await engine?.stop("SIGKILL");
      await watcher.endAsync();
      await Deno.remove(dataDir, { recursive: true });
    }
  });
});

Deno.test("start --source mqtt://: kill -9 under load twice, every published reading in stream_output.jsonl exactly once", async () => {
  await withBroker(async (broker) => {
    const dataDir = await Deno.makeTempDir({ prefix: "vigil-mqtt-kill-" });
    const args = [
      "--source",
      `${broker.url}/plant/+/telemetry`,
      "--port",
      "0",
      "--data-dir",
      dataDir,
    ];
    // Read while the engine writes: a batch's write may be seen half done, so only the lines
    // that end with a newline count (the rest is the line being written).
    const logged = async () => {
      const text = await Deno.readTextFile(join(dataDir, "stream_output.jsonl")).catch(() => "");
      return text.slice(0, text.lastIndexOf("\n") + 1)
        .split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Reading);
    };
    const n = 20_000;
    const t0 = Date.UTC(2026, 0, 1);
    const pub = await client(broker.url, { clientId: "vigil-test-kill-publisher" });
    let engine: Vigil | undefined = await startVigil(args);
    try {
      // The engine's session exists once a warm-up reading went through (machine `warmup`,
      // left out of the count below).
      for (let i = 0; (await logged()).length === 0; i++) {
        await pub.publishAsync(
          "plant/warmup/telemetry",
          JSON.stringify({ timestamp: t0 - 1e6 + i, temperature: 20 }),
          {
            qos: 1,
          },
        );
        await sleep(100);
      }
      // The publisher keeps up to 200 QoS-1 messages in flight while the engine is killed.
      const publishing = (async () => {
        const inFlight = new Set<Promise<unknown>>();
        for (let i = 0; i < n; i++) {
          const p = pub.publishAsync(
            `plant/m${i % 50}/telemetry`,
            JSON.stringify({ timestamp: t0 + i * 1000, temperature: 20 + (i % 7), speed: 1500 }),
            { qos: 1 },
          );
          inFlight.add(p);
          p.finally(() => inFlight.delete(p));
          if (inFlight.size >= 200) await Promise.race(inFlight);
        }
        await Promise.all(inFlight);
      })();
      for (const share of [3, 1.5]) {
        while ((await logged()).length < n / share) {
          await sleep(20);
        }
        assert.equal((await engine.stop("SIGKILL")).signal, "SIGKILL");
        engine = await startVigil(args);
      }
      await publishing;
      const count = () => logged().then((ls) => ls.filter((r) => r.machine !== "warmup").length);
      for (let i = 0; i < 600 && await count() < n; i++) await sleep(100);
      assert.equal((await engine.stop("SIGTERM")).code, 0);
      const readings = (await logged()).filter((r) => r.machine !== "warmup");
      const keys = readings.map((r) => `${r.machine}@${r.timestamp}`);
      const once = new Set(keys);
      assert.equal(keys.length - once.size, 0, "readings logged twice");
      assert.equal(once.size, n, "readings missing");
    } finally {
      await engine.stop("SIGKILL");
      await pub.endAsync();
      await Deno.remove(dataDir, { recursive: true });
    }
  });
});

Deno.test("mqtt source: with lines, each batch's text is its readings as writeReading writes them", async () => {
  await withBroker(async (broker) => {
    const stop = new AbortController();
    const source = new MqttSource({
      url: `${broker.url}/plant/+/telemetry`,
      clientId: "vigil-test-lines",
      signal: stop.signal,
      lines: true,
      batchSize: 7,
    });
    assert.throws(() => source.readable, /read its batches/);
    const reader = source.batches.getReader();
    const pub = await client(broker.url);
    const time = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
    // Lines copied as they stand (the simulator's form, also after a CRLF and in a payload of
    // several) and lines formatted: keys reordered, the topic's machine over the payload's, no
    // machine at all, a kv line, a number not as String prints it.
    const payloads: [string, string][] = [];
    for (let i = 0; i < 60; i++) {
      const m = `m${i % 5}`;
      const line = `{"timestamp":"${time(i)}","machine":"${m}","status":"OK","temperature":${i}.5}`;
      const topic = `plant/${m}/telemetry`;
      const variants: [string, string][] = [
        [topic, line],
        [topic, `${line}\r\n`],
        [topic, `${line}\n{"timestamp":"${time(i + 100)}","machine":"${m}","status":null,"t":1}`],
        [topic, `{"machine":"${m}","timestamp":"${time(i)}","temperature":1}`],
        [`plant/other${i}/telemetry`, line],
        [topic, `{"timestamp":"${time(i)}","temperature":2}`],
        [topic, `T:${i},V:5.0,S:OK`],
        [topic, line.replace(`${i}.5}`, `${i}.50}`)],
        [topic, "not a reading"],
      ];
      payloads.push(variants[i % variants.length]!);
    }
    try {
      await until(() => source.subscribed, "the subscription");
      for (const [topic, text] of payloads) await pub.publishAsync(topic, text, { qos: 1 });
      const got: Reading[] = [];
      let text = "";
      const expected = new ByteText();
      while (got.length < 61) { // 60 payloads: 6 refused, 7 of two lines
        const r = await reader.read();
        assert.ok(!r.done);
        got.push(...r.value.readings);
        text += new TextDecoder().decode(r.value.text!.bytes);
        r.value.text!.release();
      }
      for (const reading of got) writeReading(reading, expected);
      assert.equal(text, new TextDecoder().decode(expected.bytes()));
      assert.ok(got.some((r) => r.machine === "other4"), "the topic's machine");
    } finally {
      stop.abort();
      await pub.endAsync();
    }
  });
});
