/**
 * The device profile: detectors with hysteresis, heartbeat (event time and live), device
 * states, `structured_metrics.csv`, `parser_errors.log`, and `replay raw.log --format raw`.
 *
 * Past ~400 lines: the whole suite of one component (device), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createPrng } from "../../simulator/prng.ts";
import { runVigil } from "../helpers.ts";
import {
  Analyzer,
  type AnalyzerOptions,
  type AnomalyEvent,
  type ChannelConfig,
  type Clock,
  concatStreams,
  ConfigError,
  createLineParser,
  DEVICE_CHANNELS,
  type DeviceNotice,
  EngineState,
  type EventfulBatch,
  FILES,
  FileSource,
  formatRawLine,
  HeartbeatMonitor,
  type Kernel,
  nullLogger,
  openRun,
  parseFlags,
  parseRawLine,
  type Reading,
  ReceivedLineBatchStream,
  type ReceivedLineItem,
  ReferenceKernel,
  resolveConfig,
  WasmKernel,
  withHeartbeatTicks,
} from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

const reading = (
  i: number,
  channels: Record<string, number>,
  status: string | null = "NORMAL",
  machine = "m1",
): Reading => ({ timestamp: T0 + i * 1000, machine, status, channels });

const device = (
  options: Omit<AnalyzerOptions, "channels"> & { channels?: Record<string, ChannelConfig> } = {},
  kernel: Kernel = new WasmKernel(),
) =>
  new Analyzer(kernel, {
    processingIntervalMs: 1e9,
    ...options,
    channels: { ...DEVICE_CHANNELS, ...options.channels },
  });

/** `[index, type, severity, description]` of each event. */
const brief = (events: { index: number; event: AnomalyEvent }[]) =>
  events.map(({ index, event: e }) => [index, e.type, e.severity, e.description]);

Deno.test("device detectors: each alarm raised once when it starts and once when it clears", () => {
  const script: [number, number][] = [
    [25, 5.0],
    [26, 5.0],
    [95.5, 5.0], // above 80 °C and a jump of 69.5 °C
    [96, 5.0], // still above: nothing new; the jump is over
    [97, 5.8], // voltage above 5.5 V
    [78, 5.9], // back below 80 °C, but a drop of 19 °C
    [77, 4.2], // voltage jumps from high to low
    [77, 5.0],
    [77, 5.0],
  ];
  const readings = script.map(([t, v], i) => reading(i, { temperature: t, voltage: v }));
  const wasm = device().analyze(readings);
  assert.deepEqual(brief(wasm.events), [
    [2, "THRESHOLD_BREACH_TEMP", "CRITICAL", "Temperature 95.50°C exceeded threshold of 80.0°C."],
    [
      2,
      "RAPID_CHANGE_TEMP",
      "WARNING",
      "Temperature changed by 69.50°C to 95.50°C between consecutive readings (limit 15.0°C).",
    ],
    [
      3,
      "RAPID_CHANGE_TEMP",
      "INFO",
      "Temperature changed by 0.50°C to 96.00°C, back within the limit of 15.0°C between consecutive readings.",
    ],
    [4, "THRESHOLD_BREACH_VOLTAGE", "CRITICAL", "Voltage 5.80V exceeded threshold of 5.5V."],
    [
      5,
      "RAPID_CHANGE_TEMP",
      "WARNING",
      "Temperature changed by -19.00°C to 78.00°C between consecutive readings (limit 15.0°C).",
    ],
    [5, "THRESHOLD_BREACH_TEMP", "INFO", "Temperature 78.00°C back below threshold of 80.0°C."],
    [
      6,
      "RAPID_CHANGE_TEMP",
      "INFO",
      "Temperature changed by -1.00°C to 77.00°C, back within the limit of 15.0°C between consecutive readings.",
    ],
    [6, "THRESHOLD_BREACH_VOLTAGE", "CRITICAL", "Voltage 4.20V fell below threshold of 4.5V."],
    [6, "THRESHOLD_BREACH_VOLTAGE", "INFO", "Voltage 4.20V back below threshold of 5.5V."],
    [7, "THRESHOLD_BREACH_VOLTAGE", "INFO", "Voltage 5.00V back above threshold of 4.5V."],
  ]);
  assert.deepEqual(wasm.events[0]!.event, {
    timestamp: "2026-01-01T00:00:02.000Z",
    machine: "m1",
    type: "THRESHOLD_BREACH_TEMP",
    severity: "CRITICAL",
    channel: "temperature",
    value: 95.5,
    threshold: 80,
    description: "Temperature 95.50°C exceeded threshold of 80.0°C.",
  });
  // The TypeScript twin of the kernel sets the same flags, so the same events follow.
  assert.deepEqual(device({}, new ReferenceKernel()).analyze(readings), wasm);
});

Deno.test("hysteresis: clearAfter consecutive normal readings, outside the clearBand", () => {
  const a = device({
    channels: { temperature: { ...DEVICE_CHANNELS.temperature, clearAfter: 2, clearBand: 2 } },
  });
  // 79 is below the limit but within the 2 °C band: it neither clears nor counts.
  const temps = [70, 85, 81, 79, 77, 85, 76, 76, 76];
  const { events } = a.analyze(temps.map((t, i) => reading(i, { temperature: t })));
  const breaches = events.filter((e) => e.event.type === "THRESHOLD_BREACH_TEMP");
  assert.deepEqual(breaches.map((e) => [e.index, e.event.severity]), [
    [1, "CRITICAL"],
    [7, "INFO"],
  ]);
});

Deno.test("heartbeat in replay: a loss from an event-time gap, restored at the next reading", () => {
  const a = device({ heartbeatTimeoutMs: 5000 });
  const times = [0, 1, 2, 3, 8, 20, 21]; // 3 → 8 is exactly 5 s: no loss; 8 → 20 is
  const readings = times.map((s) => reading(s, { temperature: 25, voltage: 5 }));
  readings.push(reading(9, { temperature: 25, voltage: 5 }, "NORMAL", "m2"));
  const { events } = a.analyze(readings);
  assert.deepEqual(events.map((e) => [e.index, e.event]), [
    [5, {
      timestamp: "2026-01-01T00:00:13.000Z", // the last reading (8 s) + the timeout
      machine: "m1",
      type: "HEARTBEAT_LOSS",
      severity: "CRITICAL",
      channel: null,
      value: null,
      threshold: 5,
      description: "No data received for 5.0 seconds. Device may be offline.",
    }],
    [5, {
      timestamp: "2026-01-01T00:00:20.000Z",
      machine: "m1",
      type: "HEARTBEAT_RESTORED",
      severity: "INFO",
      channel: null,
      value: 12,
      threshold: 5,
      description: "Data received again after 12.0 seconds.",
    }],
  ]);
});

Deno.test("HeartbeatMonitor: check(now) raises a loss once, the next reading restores", () => {
  const m = new HeartbeatMonitor({ timeoutMs: 5000 });
  assert.deepEqual(m.observe("d1", 1000), []);
  assert.deepEqual(m.check(6000), []); // exactly the timeout: not yet
  const [loss] = m.check(6001);
  assert.equal(loss?.type, "HEARTBEAT_LOSS");
  assert.equal(loss?.timestamp, new Date(6000).toISOString());
  assert.deepEqual(m.check(60_000), []);
  assert.deepEqual(m.lost, ["d1"]);
  assert.deepEqual(m.observe("d1", 61_000).map((e) => e.type), ["HEARTBEAT_RESTORED"]);
  assert.deepEqual(m.lost, []);
  assert.throws(() => new HeartbeatMonitor({ timeoutMs: 0 }), /timeout .* got 0/);
});

Deno.test("DEVICE_STATUS: once when a state starts, again when it changes, INFO when normal", () => {
  const a = device({ deviceStatus: true });
  const states = [
    "NORMAL",
    "WARNING_TEMP",
    "WARNING_TEMP",
    "CRITICAL_VOLTAGE",
    "OFFLINE",
    "OFFLINE",
    null, // a reading without a state changes nothing
    "NORMAL",
    "NORMAL",
  ];
  const readings = states.map((s, i) => reading(i, { temperature: 25, voltage: 5 }, s));
  readings.push(reading(10, { temperature: 25, voltage: 5 }, "WARNING_FAN", "m2"));
  const { events } = a.analyze(readings);
  assert.deepEqual(brief(events), [
    [1, "DEVICE_STATUS", "WARNING", "Device m1 reports WARNING_TEMP."],
    [3, "DEVICE_STATUS", "CRITICAL", "Device m1 reports CRITICAL_VOLTAGE."],
    [4, "DEVICE_STATUS", "CRITICAL", "Device m1 reports OFFLINE."],
    [7, "DEVICE_STATUS", "INFO", "Device m1 reports NORMAL again (was OFFLINE)."],
    [9, "DEVICE_STATUS", "WARNING", "Device m2 reports WARNING_FAN."],
  ]);
  assert.equal(events[0]!.event.timestamp, "2026-01-01T00:00:01.000Z");
});

/** A clock that moves only when told, firing due timers in order. */
class ManualClock implements Clock {
  #now: number;
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #next = 1;
  constructor(now: number) {
    this.#now = now;
  }
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.push({ at: this.#now + ms, fn, id });
    return id;
  }
  clearTimeout(id: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  }
  advance(ms: number): void {
    const end = this.#now + ms;
    while (true) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = due.at;
      due.fn();
    }
    this.#now = end;
  }
  get pending(): number {
    return this.#timers.length;
  }
}

const tick = (ms = 15) => new Promise((r) => setTimeout(r, ms));

Deno.test("live heartbeat: the timer raises the loss within timeout + 0.5 s with no reading", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const clock = new ManualClock(T0);
    let push!: (lines: ReceivedLineItem[]) => void;
    let end!: () => void;
    const lines = new ReadableStream<ReceivedLineItem[]>({
      start(c) {
        push = (l) => c.enqueue(l);
        end = () => c.close();
      },
    });
    const seen: { at: number; event: AnomalyEvent }[] = [];
    const run = await openRun({
      dataDir: tmp,
      source: "log",
      streamDerived: false,
      state: new EngineState(),
      logger: nullLogger,
      profile: "device",
      heartbeatClock: clock,
      sinks: [{ anomaly: (event) => seen.push({ at: clock.now(), event }) }],
    });
    const done = run.run(
      withHeartbeatTicks(lines.pipeThrough(new ReceivedLineBatchStream()), { clock }),
    );
    for (let i = 0; i < 3; i++) {
      push([{ time: clock.now(), line: "T:25.0,V:5.0,S:NORMAL,M:d1" }]);
      await tick();
      clock.advance(1000);
    }
    const last = T0 + 2000;
    // Silence from here: step the clock 50 ms at a time and let the pipeline run.
    while (clock.now() < last + 8000 && seen.length === 0) {
      clock.advance(50);
      await tick();
    }
    assert.equal(seen.length, 1, "one loss");
    const { at, event } = seen[0]!;
    assert.equal(event.type, "HEARTBEAT_LOSS");
    assert.equal(event.machine, "d1");
    assert.equal(event.timestamp, new Date(last + 5000).toISOString());
    assert.ok(at > last + 5000 && at <= last + 5500, `raised ${at - last} ms after the last`);
    // More silence raises nothing more; the next reading restores.
    clock.advance(3000);
    await tick();
    push([{ time: clock.now(), line: "T:25.0,V:5.0,S:NORMAL,M:d1" }]);
    await tick(50);
    end();
    await done;
    assert.equal(clock.pending, 0, "the timer stopped with the source");
    assert.deepEqual(seen.map((s) => s.event.type), ["HEARTBEAT_LOSS", "HEARTBEAT_RESTORED"]);
    const written = (await Deno.readTextFile(join(tmp, FILES.anomalies))).trim().split("\n");
    assert.deepEqual(written.map((l) => JSON.parse(l)), seen.map((s) => s.event));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

const utf8 = new TextEncoder();

Deno.test("fuzz: thousands of good and malformed lines, invalid UTF-8 included", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const random = createPrng(2026);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const states = ["NORMAL", "WARNING_TEMP", "CRITICAL_VOLTAGE", "OFFLINE"];
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    const good: string[] = []; // expected machine,temperature,voltage,status per good line
    let malformed = 0;
    for (let i = 0; i < 5000; i++) {
      const t = Math.round((20 + random() * 80) * 10) / 10;
      const v = Math.round((4 + random() * 2) * 100) / 100;
      const s = pick(states);
      const m = `d${Math.floor(random() * 3)}`;
      const eol = random() < 0.2 ? "\r\n" : "\n";
      const r = random();
      if (r < 0.6) {
        chunks.push(utf8.encode(`T:${t},V:${v},S:${s},M:${m}${eol}`));
        good.push(`${m},${t},${v},${s}`);
        continue;
      }
      malformed++;
      if (r < 0.68) {
        // Noise: a byte that is never UTF-8 first, so the key can never be a known one.
        const bytes = [
          0xfe,
          ...Array.from({ length: 1 + Math.floor(random() * 40) }, () => {
            const b = Math.floor(random() * 256);
            return b === 10 || b === 13 ? 0x41 : b;
          }),
        ];
        chunks.push(new Uint8Array(bytes), utf8.encode(eol));
      } else if (r < 0.76) {
        // A number with a broken UTF-8 sequence inside.
        chunks.push(
          utf8.encode(`T:${t}`),
          new Uint8Array([0xc3, 0x28]),
          utf8.encode(`,V:${v}${eol}`),
        );
      } else if (r < 0.84) {
        chunks.push(utf8.encode(pick([`T:${t},V:`, `T:${t},V`, "T", `T:${t},S:`]) + eol));
      } else if (r < 0.9) {
        chunks.push(utf8.encode(pick([`T:hot,V:${v}`, `T:${t},V:5..0`, "T:1e999", "T:NaN"]) + eol));
      } else if (r < 0.96) {
        chunks.push(utf8.encode(pick([`X:1`, `S:bad state`, `M:,T:1`, `T:1,,V:2`]) + eol));
      } else {
        chunks.push(utf8.encode(`T:${t},V:${v},S:${s},M:${"x".repeat(70_000)}${eol}`));
      }
    }
    const input = join(tmp, "fuzz.kv");
    await Deno.writeFile(input, new Uint8Array(await new Blob(chunks).arrayBuffer()));
    const dataDir = join(tmp, "data");
    const out = await runVigil(["replay", input, "--data-dir", dataDir]);
    assert.equal(out.code, 0, out.stderr);
    const summary = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
    assert.equal(summary.errors, malformed);
    assert.equal(summary.readings, good.length);
    assert.ok(
      malformed > 1500 && good.length > 2500,
      `${malformed} malformed, ${good.length} good`,
    );
    const errors = (await Deno.readTextFile(join(dataDir, FILES.errors))).trim().split("\n");
    assert.equal(errors.length, malformed);
    for (const e of errors) {
      const o = JSON.parse(e);
      assert.deepEqual(Object.keys(o), ["timestamp", "line", "error"]);
      assert.ok(typeof o.error === "string" && o.error.length > 0);
    }
    const rows = (await Deno.readTextFile(join(dataDir, FILES.structured))).trim().split("\n");
    assert.equal(rows[0], "timestamp,machine,temperature,voltage,status");
    assert.deepEqual(rows.slice(1).map((r) => r.slice(r.indexOf(",") + 1)), good);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("raw.log: replay --format raw reproduces structured_metrics.csv byte for byte", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    // A scripted device session: receive times 250 ms apart with one silence of 7 s, every
    // detector, malformed lines, a lone surrogate (how the reader keeps bytes that are not
    // UTF-8), U+FFFD, quotes and backslashes, a blank line and a line the reader refused.
    const script: (string | { line: string; error: string } | { gap: number })[] = [
      "T:25.0,V:5.0,S:NORMAL",
      "T:26.5,V:5.01,S:NORMAL,M:pump-3",
      "T:95.5,V:5.0,S:WARNING_TEMP",
      "T:96.25,V:5.8,S:CRITICAL_VOLTAGE",
      "garbage",
      "T:70,V:4.2,S:NORMAL",
      { gap: 7000 },
      "T:71,V:5.0,S:OFFLINE",
      'T:"72",V:5',
      "T:7\udcff2,V:5",
      "T:\ufffd,V:5",
      "M:we\\ird,T:20,V:5,S:NORMAL",
      "",
      { line: "T:1" + "1".repeat(1030), error: "line longer than 1024 bytes" },
      "S:OFFLINE",
      "T:-0.5,V:1e0,S:NORMAL",
    ];
    const items: ReceivedLineItem[] = [];
    let time = T0 + 123;
    for (const s of script) {
      if (typeof s === "object" && "gap" in s) {
        time += s.gap;
        continue;
      }
      items.push(typeof s === "string" ? { time, line: s } : { time, ...s });
      time += 250;
    }
    // The live run, as the serial source feeds it: raw.log first, then the pipeline.
    const live = join(tmp, "live");
    await Deno.mkdir(live);
    const rawLog = join(live, "raw.log");
    await Deno.writeTextFile(
      rawLog,
      items.map((i) => formatRawLine(i.time, i.line) + "\n").join(""),
    );
    const run = await openRun({
      dataDir: live,
      source: "log",
      streamDerived: false,
      state: new EngineState(),
      logger: nullLogger,
      profile: "device",
    });
    const counts = await run.run(
      ReadableStream.from([items.slice(0, 5), items.slice(5)]).pipeThrough(
        new ReceivedLineBatchStream({ deviceKeys: true }),
      ),
    );
    assert.equal(counts.errors, 5);
    assert.equal(counts.readings, 9);

    const replayed = join(tmp, "replayed");
    const out = await runVigil(["replay", rawLog, "--format", "raw", "--data-dir", replayed]);
    assert.equal(out.code, 0, out.stderr);
    const summary = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
    assert.equal(summary.readings, 9);
    // The refused overlong line is in raw.log too; here it is again an error (10^1030 is not a
    // finite number).
    assert.equal(summary.errors, 5);

    const expected = await Deno.readTextFile(join(live, FILES.structured));
    assert.equal(await Deno.readTextFile(join(replayed, FILES.structured)), expected);
    assert.equal(
      expected.split("\n").slice(0, 3).join("\n"),
      "timestamp,machine,temperature,voltage,status\n" +
        "2026-01-01T00:00:00.123Z,m1,25,5,NORMAL\n" +
        "2026-01-01T00:00:00.373Z,pump-3,26.5,5.01,NORMAL",
    );
    // Event time is receive time, so the detectors' events are the same too, heartbeat included.
    const anomalies = await Deno.readTextFile(join(live, FILES.anomalies));
    assert.equal(await Deno.readTextFile(join(replayed, FILES.anomalies)), anomalies);
    assert.match(anomalies, /"type":"HEARTBEAT_LOSS"/);
    assert.match(anomalies, /"type":"DEVICE_STATUS"/);
    // Replaying twice gives the same bytes; a line of raw.log that is not raw is an error.
    await Deno.writeTextFile(rawLog, "T:25,V:5\n", { append: true });
    const again = join(tmp, "again");
    const out2 = await runVigil(["replay", rawLog, "--data-dir", again]); // raw by its name
    assert.equal(out2.code, 0);
    assert.equal(await Deno.readTextFile(join(again, FILES.structured)), expected);
    const errors = (await Deno.readTextFile(join(again, FILES.errors))).trim().split("\n");
    assert.equal(errors.length, 6);
    assert.match(JSON.parse(errors.at(-1)!).error, /not a raw\.log line/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("raw.log lines round-trip; the raw parser takes the receive time as event time", () => {
  const line = 'T:1,S:"x"\\\u0001\udcff\ufffd';
  const text = formatRawLine(T0 + 5, line);
  assert.equal(text.slice(0, 25), "2026-01-01T00:00:00.005Z ");
  assert.deepEqual(parseRawLine(text), { time: T0 + 5, line });
  const p = createLineParser("raw");
  assert.deepEqual(p.parse(formatRawLine(T0 + 7, "T:85.5,V:5.0,S:WARNING_TEMP")), {
    timestamp: T0 + 7,
    machine: "m1",
    status: "WARNING_TEMP",
    channels: { temperature: 85.5, voltage: 5 },
  });
  assert.equal(p.parse(formatRawLine(T0, "   ")), null);
  assert.equal(p.parse(formatRawLine(T0, "T:x")), 'T: "x" is not a number');
  // What the line carried, for parser_errors.log.
  assert.deepEqual(p.received, { line: "T:x", time: T0 });
  assert.match(p.parse("T:25,V:5") as string, /^not a raw\.log line/);
  assert.equal(p.received, null);
  assert.match(p.parse('yesterday "T:1"') as string, /^bad receive time: "yesterday"/);
  assert.match(p.parse("2026-01-01T00:00:00.000Z T:1") as string, /^not a JSON string/);
});

Deno.test("live path: receive time is event time; refused lines and device notices", async () => {
  const items: (ReceivedLineItem | DeviceNotice)[] = [
    { time: T0 + 0.9, line: "T:20,V:5,M:d7" },
    { time: T0 + 5, line: "T:oops" },
    { time: T0 + 6, line: "T:1111", kind: "rejected", error: "line longer than 1024 bytes" },
    { time: T0 + 7, line: "" },
    {
      time: T0 + 8,
      kind: "device",
      status: "disconnected",
      message: "Device disconnected",
      detail: "EIO",
    },
    {
      time: T0 + 9,
      kind: "device",
      status: "reconnected",
      message: "Device reconnected",
      detail: null,
    },
  ];
  const batches: EventfulBatch[] = await Array.fromAsync(
    ReadableStream.from([items]).pipeThrough(new ReceivedLineBatchStream()),
  );
  assert.equal(batches.length, 1);
  const b = batches[0]!;
  assert.deepEqual(b.readings, [
    { timestamp: T0, machine: "d7", status: null, channels: { temperature: 20, voltage: 5 } },
  ]);
  assert.equal(b.lines, 1, "one line of stream_output.jsonl per reading");
  assert.deepEqual(b.errors, [
    { line: "T:oops", error: 'T: "oops" is not a number', time: T0 + 5 },
    { line: "T:1111", error: "line longer than 1024 bytes", time: T0 + 6 },
  ]);
  assert.deepEqual(
    b.events?.map((e) => [e.timestamp, e.machine, e.type, e.severity, e.description]),
    [
      ["2026-01-01T00:00:00.008Z", "d7", "DEVICE_STATUS", "CRITICAL", "Device disconnected: EIO."],
      ["2026-01-01T00:00:00.009Z", "d7", "DEVICE_STATUS", "INFO", "Device reconnected."],
    ],
  );
});

Deno.test("config: kv and raw inputs choose the device profile; its knobs are validated", () => {
  const resolve = (args: string[], file: Record<string, unknown> = {}, input?: string) =>
    resolveConfig(parseFlags(args).flags, file, {}, { input });
  assert.equal(resolve([]).profile, "machine");
  assert.equal(resolve([], {}, "/x/data/raw.log").profile, "device");
  assert.equal(resolve(["--format", "raw"], {}, "/x/audit.txt").profile, "device");
  assert.equal(resolve([], {}, "/x/a.kv").profile, "device");
  assert.equal(resolve(["--source", "file:/x/a.kv"]).profile, "device");
  assert.equal(resolve([], {}, "/x/a.jsonl").profile, "machine");
  assert.equal(resolve(["--profile", "machine"], {}, "/x/a.kv").profile, "machine");
  assert.equal(resolve(["--heartbeat-timeout", "2.5"]).heartbeatTimeout, 2.5);
  assert.equal(resolve([]).heartbeatTimeout, null);
  const c = resolve([], { channels: { temperature: { alert: [0, 85], clearAfter: 3 } } });
  assert.deepEqual(c.channels.temperature, { alert: [0, 85], clearAfter: 3 });
  assert.throws(
    () => resolve(["--heartbeat-timeout", "0"]),
    (e: Error) => e instanceof ConfigError && /--heartbeat-timeout: "0"/.test(e.message),
  );
  assert.throws(
    () => resolve([], { channels: { voltage: { clearAfter: 0 } } }),
    /config key "channels" at voltage\.clearAfter: 0/,
  );
});

Deno.test("device outputs: a run that died after its checkpoint resumes with nothing twice", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const random = createPrng(5);
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const t = Math.round((60 + random() * 40) * 10) / 10;
      const line = random() < 0.05 ? "T:broken" : `T:${t},V:${4 + Math.floor(random() * 20) / 10}`;
      lines.push(formatRawLine(T0 + i * 700 + (i % 97 === 0 ? 9000 : 0), line));
    }
    const input = join(tmp, "raw.log");
    await Deno.writeTextFile(input, lines.join("\n") + "\n");
    const replayInto = async (dataDir: string, path: string) => {
      const run = await openRun({
        dataDir,
        source: `file:${input}`,
        streamDerived: true,
        state: new EngineState(),
        logger: nullLogger,
        profile: "device",
      });
      const src = new FileSource(path, {
        format: "raw",
        suppressLines: run.resumeLines,
        batchSize: 128,
      });
      return await run.run(src.readable);
    };
    const names = [FILES.structured, FILES.anomalies, FILES.errors, FILES.stream, FILES.analysis];
    const read = async (dir: string) =>
      Object.fromEntries(
        await Promise.all(names.map(async (n) => [n, await Deno.readTextFile(join(dir, n))])),
      );
    await replayInto(join(tmp, "clean"), input);
    const expected = await read(join(tmp, "clean"));
    assert.equal(
      expected[FILES.structured]!.split("\n").length - 2,
      3000 - expected[FILES.errors]!.split("\n").length + 1,
    );
    assert.match(expected[FILES.anomalies]!, /HEARTBEAT_LOSS/);

    // A third of the input with its checkpoint, then output that was never checkpointed.
    const dir = join(tmp, "crashed");
    const partial = join(tmp, "partial.log");
    await Deno.writeTextFile(partial, lines.slice(0, 1000).join("\n") + "\n");
    await replayInto(dir, partial);
    const cp = JSON.parse(await Deno.readTextFile(join(dir, FILES.checkpoint)));
    assert.equal(typeof cp.files[FILES.structured], "number");
    await Deno.writeTextFile(
      join(dir, FILES.structured),
      "2026-01-01T09:00:00.000Z,m1,50,5,\n2026-01-01T09:00:00.700Z,m1,to",
      { append: true },
    );
    await replayInto(dir, input);
    assert.deepEqual(await read(dir), expected);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** A live line source the test pushes to. */
function pushable() {
  let push!: (lines: ReceivedLineItem[]) => void;
  let end!: () => void;
  const readable = new ReadableStream<ReceivedLineItem[]>({
    start(c) {
      push = (l) => c.enqueue(l);
      end = () => c.close();
    },
  });
  return { readable, push, end };
}

Deno.test("live heartbeat across a restart: a loss written before it is not written again", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const line = "T:25.0,V:5.0,S:NORMAL,M:d1";
    const liveRun = async (clock: ManualClock) => {
      const run = await openRun({
        dataDir: tmp,
        source: "log",
        streamDerived: false,
        state: new EngineState(),
        logger: nullLogger,
        profile: "device",
        heartbeatClock: clock,
      });
      const live = pushable();
      // History first (the data directory's own log), then the live lines with ticks.
      const history = new FileSource(join(tmp, FILES.stream), {
        format: "json",
        suppressLines: run.resumeLines,
        log: false,
      });
      const done = run.run(
        concatStreams(
          history.readable,
          () =>
            withHeartbeatTicks(live.readable.pipeThrough(new ReceivedLineBatchStream()), {
              clock,
            }),
        ),
      );
      return { ...live, done };
    };
    const anomalies = async () =>
      (await Deno.readTextFile(join(tmp, FILES.anomalies))).trim().split("\n").filter((l) => l)
        .map((l) => JSON.parse(l).type);

    const clock = new ManualClock(T0);
    const first = await liveRun(clock);
    await tick();
    for (let i = 0; i < 3; i++) {
      first.push([{ time: clock.now(), line }]);
      await tick();
      clock.advance(1000);
    }
    for (let i = 0; i < 140; i++) {
      clock.advance(50);
      await tick(5);
    }
    first.end();
    await first.done;
    assert.deepEqual(await anomalies(), ["HEARTBEAT_LOSS"]);
    const cp = JSON.parse(await Deno.readTextFile(join(tmp, FILES.checkpoint)));
    assert.deepEqual(cp.heartbeat, { d1: T0 + 2000 });

    // The restart, later: the device is still silent, then speaks again.
    const later = new ManualClock(T0 + 60_000);
    const second = await liveRun(later);
    await tick();
    for (let i = 0; i < 20; i++) {
      later.advance(100);
      await tick(5);
    }
    second.push([{ time: later.now(), line }]);
    await tick(50);
    second.end();
    await second.done;
    assert.deepEqual(await anomalies(), ["HEARTBEAT_LOSS", "HEARTBEAT_RESTORED"]);
    const restored = JSON.parse(
      (await Deno.readTextFile(join(tmp, FILES.anomalies))).trim().split("\n")[1]!,
    );
    assert.equal(restored.value, 60);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
