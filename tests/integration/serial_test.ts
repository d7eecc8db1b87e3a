/**
 * The serial port, the serial source and the `emulate` command over real pseudo-terminals:
 * `socat` joins two ptys, the writer opens one end, the reader the other.
 *
 * Past ~400 lines: the whole suite of one component (serial), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { emulateCommand } from "../../cli/emulate.ts";
import { DeviceEmulator, type DeviceStep } from "../../simulator/device_emulator.ts";
import { vigilCommand } from "../helpers.ts";
import {
  createLineParser,
  ReceivedLineBatchStream,
  SerialError,
  type SerialItem,
  SerialPort,
  SerialSource,
} from "../../engine/mod.ts";

/** A socat pty pair: the device writes to `a`, the reader reads `b`. */
class PtyPair {
  #child: Deno.ChildProcess | null = null;
  constructor(readonly dir: string) {}

  get a(): string {
    return join(this.dir, "a");
  }
  get b(): string {
    return join(this.dir, "b");
  }

  async start(): Promise<void> {
    this.#child = new Deno.Command("socat", {
      args: [
        "-d",
        "-d",
        `pty,raw,echo=0,link=${this.a}`,
        `pty,raw,echo=0,link=${this.b}`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 10_000;
    while (!(await exists(this.a) && await exists(this.b))) {
      if (Date.now() > deadline) throw new Error(`socat made no links in ${this.dir}`);
      await delay(20);
    }
  }

  /** Unplugs: socat ends, both links vanish. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = null;
    child.kill("SIGTERM");
    await child.status;
    const deadline = Date.now() + 5000;
    while (await exists(this.a) || await exists(this.b)) {
      if (Date.now() > deadline) throw new Error("socat left its links behind");
      await delay(20);
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Reads item arrays from `reader` until `done(all)` holds; throws after `timeoutMs`. */
async function collect(
  reader: ReadableStreamDefaultReader<SerialItem[]>,
  all: SerialItem[],
  done: (all: SerialItem[]) => boolean,
  timeoutMs = 20_000,
): Promise<SerialItem[]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out with ${all.length} items: ${summary(all)}`)),
      timeoutMs,
    );
  });
  try {
    while (!done(all)) {
      const r = await Promise.race([reader.read(), timeout]);
      if (r.done) throw new Error(`stream ended early: ${summary(all)}`);
      all.push(...r.value);
    }
    return all;
  } finally {
    clearTimeout(timer);
  }
}

function summary(items: SerialItem[]): string {
  const lines = items.filter((i) => i.kind === "line").length;
  const rejected = items.filter((i) => i.kind === "rejected").length;
  const devices = items.filter((i) => i.kind === "device").map((i) =>
    i.kind === "device" ? i.status : ""
  );
  return `${lines} lines, ${rejected} rejected, device ${devices.join(",")}`;
}

const received = (items: SerialItem[]) =>
  items.filter((i) => i.kind === "line" || i.kind === "rejected").length;

/** The bytes a raw.log JSON string stands for: lone U+DC80–U+DCFF back to bytes 0x80–0xFF,
 * everything else UTF-8 (the inverse of the reader's surrogateescape decoding). */
function rawBytes(text: string): Uint8Array {
  const out: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    const lone = u >= 0xdc80 && u <= 0xdcff &&
      !(i > 0 && text.charCodeAt(i - 1) >= 0xd800 && text.charCodeAt(i - 1) <= 0xdbff);
    if (lone) out.push(u - 0xdc00);
    else if (u >= 0xd800 && u <= 0xdbff && i + 1 < text.length) {
      out.push(...enc.encode(text.slice(i, i + 2)));
      i++;
    } else out.push(...enc.encode(text[i]!));
  }
  return new Uint8Array(out);
}

function withoutEnding(bytes: Uint8Array): Uint8Array {
  let n = bytes.length - 1; // the \n
  if (n > 0 && bytes[n - 1] === 13) n--;
  return bytes.subarray(0, n);
}

/** The raw.log lines: receive time and the line text. */
async function readRawLog(path: string): Promise<{ time: string; line: string }[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l !== "").map((l) => {
    const space = l.indexOf(" ");
    return { time: l.slice(0, space), line: JSON.parse(l.slice(space + 1)) as string };
  });
}

async function withPty(fn: (pty: PtyPair, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vigil_serial_" });
  const pty = new PtyPair(dir);
  try {
    await pty.start();
    await fn(pty, dir);
  } finally {
    await pty.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("termios: raw 8N1 at the asked baud, read back from the driver and by stty", async () => {
  await withPty(async (pty) => {
    for (const baud of [9600, 115200, 921600]) {
      const port = SerialPort.open(pty.b, { baud });
      try {
        assert.deepEqual(port.settings(), {
          inputBaud: baud,
          outputBaud: baud,
          is8N1: true,
          raw: true,
          vmin: 0,
          vtime: 1,
        });
        // Termios settings belong to the tty, so a separate program sees them too.
        const stty = await new Deno.Command("stty", { args: ["-F", pty.b, "-a"] }).output();
        const out = new TextDecoder().decode(stty.stdout);
        assert.match(out, new RegExp(`speed ${baud} baud`));
        for (const flag of ["-icanon", "-echo", "-isig", "-opost", "-parenb", "-cstopb", "cs8"]) {
          assert.match(out, new RegExp(`(^|\\s)${flag}(\\s|$)`), `${flag} in ${out}`);
        }
      } finally {
        port.close();
      }
    }
    assert.throws(() => SerialPort.open(pty.b, { baud: 12345 }), /unsupported baud 12345/);
  });
  const file = await Deno.makeTempFile();
  try {
    assert.throws(
      () => SerialPort.open(file),
      (e) => e instanceof SerialError && e.code === "ENOTTY" && e.message.includes(file),
    );
    assert.throws(
      () => SerialPort.open(`${file}.missing`),
      (e) => e instanceof SerialError && e.code === "ENOENT",
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("emulate → socat → reader: exactly the emulated lines, in order, and raw.log", async () => {
  await withPty(async (pty, dir) => {
    const rawLog = join(dir, "raw.log");
    const stop = new AbortController();
    const source = new SerialSource(pty.b, { rawLogPath: rawLog, signal: stop.signal });
    const reader = source.readable.getReader();
    const items = await collect(reader, [], (all) => all.some((i) => i.kind === "device"));
    assert.deepEqual(items.map((i) => i.kind === "device" && i.status), ["connected"]);

    const count = 400;
    const args = [
      "--port",
      pty.a,
      "--scenario",
      "random",
      "--seed",
      "42",
      "--count",
      String(count),
      "--rate",
      "4000",
      "--baud",
      "921600",
      "--line-ending",
      "mixed",
    ];
    assert.equal(await emulateCommand(args), 0);
    await collect(reader, items, (all) => received(all) >= count);
    stop.abort();
    await reader.cancel();

    const device = new DeviceEmulator({ scenario: "random", seed: 42, lineEnding: "mixed" });
    const expected: string[] = [];
    while (expected.length < count) {
      const step = device.next();
      if (step.kind === "line") expected.push(step.text);
    }
    const lines = items.flatMap((i) => i.kind === "line" ? [i.line] : []);
    assert.equal(lines.length, count);
    assert.deepEqual(lines, expected);
    // A realistic mix: the random scenario visits more than the normal state.
    const states = new Set(expected.map((l) => /S:(\w+)/.exec(l)?.[1]));
    assert.ok(states.has("NORMAL") && states.size >= 3, [...states].join(","));

    const logged = await readRawLog(rawLog);
    assert.deepEqual(logged.map((l) => l.line), expected);
    for (const l of logged) assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});

Deno.test("fuzz: thousands of lines, malformed and not UTF-8; every one logged, every bad one rejected", async () => {
  await withPty(async (pty, dir) => {
    const rawLog = join(dir, "raw.log");
    const stop = new AbortController();
    const source = new SerialSource(pty.b, { rawLogPath: rawLog, signal: stop.signal });
    const reader = source.readable.getReader();
    const items = await collect(reader, [], (all) => all.some((i) => i.kind === "device"));

    const count = 5000;
    const device = new DeviceEmulator({
      scenario: "random",
      seed: 7,
      malformed: 0.25,
      lineEnding: "mixed",
    });
    const sent: Extract<DeviceStep, { kind: "line" }>[] = [];
    while (sent.length < count) {
      const step = device.next();
      if (step.kind === "line") sent.push(step);
    }
    const kinds = new Set(sent.map((s) => s.malformed));
    assert.deepEqual(
      [...kinds].sort(),
      ["bad-number", "noise", "overlong", "truncated", null].sort(),
    );
    assert.ok(sent.some((s) => s.malformed === "noise" && s.bytes.some((b) => b >= 0x80)));

    const writer = SerialPort.open(pty.a, { baud: 921600 });
    try {
      // The writer waits whenever the pty is full, so the reader drains the other end meanwhile.
      const writing = (async () => {
        for (const s of sent) assert.equal(await writer.writeAll(s.bytes), s.bytes.length);
      })();
      await collect(reader, items, (all) => received(all) >= count, 60_000);
      await writing;
      // Still alive after the fuzz: a good line still comes through.
      await writer.writeAll(new TextEncoder().encode("T:40.0,V:5.00,S:NORMAL\n"));
      await collect(reader, items, (all) => received(all) >= count + 1);
    } finally {
      writer.close();
    }
    stop.abort();
    await reader.cancel();

    const got = items.filter((i) => i.kind !== "device");
    assert.equal(got.length, count + 1);
    const last = got.pop()!;
    assert.deepEqual(last.kind === "line" && last.line, "T:40.0,V:5.00,S:NORMAL");

    // The reader rejects exactly the overlong lines, with their first 1024 bytes.
    const overlong = sent.filter((s) => s.malformed === "overlong");
    const rejected = got.filter((i) => i.kind === "rejected");
    assert.equal(rejected.length, overlong.length);
    assert.ok(overlong.length > 100, `${overlong.length} overlong lines`);
    for (const r of rejected) {
      assert.match(r.kind === "rejected" ? r.error : "", /longer than 1024/);
    }

    // The parser rejects the rest of the malformed lines, and only those.
    const parser = createLineParser("kv");
    let parseErrors = 0;
    for (let i = 0; i < sent.length; i++) {
      const item = got[i]!;
      if (item.kind === "line") {
        const r = parser.parse(item.line);
        const bad = typeof r === "string";
        assert.equal(bad, sent[i]!.malformed !== null, `line ${i}: ${item.line} → ${String(r)}`);
        if (bad) parseErrors++;
      } else {
        assert.equal(sent[i]!.malformed, "overlong", `line ${i} rejected`);
      }
    }
    assert.equal(parseErrors + rejected.length, sent.filter((s) => s.malformed).length);

    // Through the pipeline's line-to-batch stage: every malformed line is a parser error.
    const batches = await Array.fromAsync(
      ReadableStream.from([items]).pipeThrough(new ReceivedLineBatchStream()),
    );
    const errors = batches.reduce((n, b) => n + b.errors.length, 0);
    const readings = batches.reduce((n, b) => n + b.readings.length, 0);
    assert.equal(errors, sent.filter((s) => s.malformed).length);
    assert.equal(readings, count + 1 - errors);

    // raw.log: one line per received line, in order; the bytes exactly as sent (cut at 1 KiB).
    const logged = await readRawLog(rawLog);
    assert.equal(logged.length, count + 1);
    for (let i = 0; i < sent.length; i++) {
      const want = withoutEnding(sent[i]!.bytes);
      const bytes = rawBytes(logged[i]!.line);
      assert.deepEqual(bytes, want.length > 1024 ? want.subarray(0, 1024) : want, `line ${i}`);
    }
  });
});

Deno.test("unplug and replug: disconnected, retried, reconnected, reading resumes", async () => {
  await withPty(async (pty) => {
    const stop = new AbortController();
    const source = new SerialSource(pty.b, {
      signal: stop.signal,
      retryMinMs: 20,
      retryMaxMs: 200,
    });
    const reader = source.readable.getReader();
    const items: SerialItem[] = [];
    const devices = () => items.flatMap((i) => i.kind === "device" ? [i.status] : []);
    const lines = () => items.flatMap((i) => i.kind === "line" ? [i.line] : []);
    await collect(reader, items, () => devices().length === 1);

    let port = SerialPort.open(pty.a);
    await port.writeAll(new TextEncoder().encode("T:41.0,V:5.00,S:NORMAL\nT:41.5,V:5.0"));
    await collect(reader, items, () => lines().length === 1);
    port.close();

    await pty.stop(); // unplugged, with half a line received
    await collect(reader, items, () => devices().length === 2);
    assert.equal(source.state, "disconnected");
    // The half line is handed on (the parser will reject it), then the disconnection.
    assert.deepEqual(lines(), ["T:41.0,V:5.00,S:NORMAL", "T:41.5,V:5.0"]);
    const lost = items.at(-1)!;
    assert.equal(lost.kind, "device");
    assert.equal(lost.kind === "device" && lost.message, "Device disconnected");

    await delay(300); // several failed reopen attempts while the path is gone
    assert.equal(devices().length, 2);

    await pty.start(); // plugged in again, on the same path
    await collect(reader, items, () => devices().length === 3);
    assert.deepEqual(devices(), ["connected", "disconnected", "reconnected"]);
    assert.equal(source.state, "connected");
    assert.equal(source.disconnects, 1);

    port = SerialPort.open(pty.a);
    await port.writeAll(new TextEncoder().encode("T:42.0,V:5.00,S:NORMAL\r\n"));
    await collect(reader, items, () => lines().length === 3);
    port.close();
    assert.equal(lines()[2], "T:42.0,V:5.00,S:NORMAL");
    stop.abort();
    await reader.cancel();
  });
});

Deno.test("a device absent at start is waited for", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil_serial_" });
  const pty = new PtyPair(dir);
  const stop = new AbortController();
  const source = new SerialSource(pty.b, { signal: stop.signal, retryMinMs: 20, retryMaxMs: 100 });
  const reader = source.readable.getReader();
  try {
    const items = await collect(reader, [], (all) => all.length >= 1);
    assert.equal(items[0]!.kind === "device" && items[0]!.status, "disconnected");
    await pty.start();
    await collect(reader, items, (all) => all.length >= 2);
    assert.equal(items[1]!.kind === "device" && items[1]!.status, "connected");
  } finally {
    stop.abort();
    await reader.cancel();
    await pty.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shutdown: an abort ends the stream promptly on a silent device and while retrying", async () => {
  await withPty(async (pty) => {
    const stop = new AbortController();
    const source = new SerialSource(pty.b, { signal: stop.signal });
    const reader = source.readable.getReader();
    await collect(reader, [], (all) => all.length >= 1);
    const pending = reader.read(); // waits on a device that sends nothing
    await delay(300);
    const t0 = performance.now();
    stop.abort();
    const r = await pending;
    assert.equal(r.done, true);
    assert.ok(performance.now() - t0 < 1000, `ended after ${performance.now() - t0} ms`);
    assert.equal(source.state, "closed");
  });
  // Unplugged, in a 5 s backoff wait.
  const stop = new AbortController();
  const source = new SerialSource("/nonexistent/vigil-tty", {
    signal: stop.signal,
    retryMinMs: 5000,
  });
  const reader = source.readable.getReader();
  await collect(reader, [], (all) => all.length >= 1);
  const pending = reader.read();
  await delay(200);
  const t0 = performance.now();
  stop.abort();
  assert.equal((await pending).done, true);
  assert.ok(performance.now() - t0 < 1000, `ended after ${performance.now() - t0} ms`);
});

/** `main.ts emulate ARGS`, with the emulate task's permissions. */
function emulate(args: string[]): Promise<Deno.Command> {
  return vigilCommand(["emulate", ...args], {
    perms: ["--allow-read", "--allow-write", "--allow-ffi"],
  });
}

Deno.test("emulate CLI: a bad flag exits 2 naming the value", async () => {
  for (
    const [args, message] of [
      [["--port", "/tmp/x", "--rate", "fast"], /--rate: "fast"/],
      [["--port", "/tmp/x", "--scenario", "meltdown"], /--scenario: "meltdown"/],
      [["--port", "/tmp/x", "--baud", "12345"], /--baud: "12345"/],
      [["--port", "/tmp/x", "--count", "-3"], /--count: "-3"/],
      [["--port", "/tmp/x", "--colour", "red"], /unknown flag --colour/],
      [["--rate", "2"], /needs --port/],
      [["--port", "/nonexistent/vigil-tty"], /\/nonexistent\/vigil-tty.*ENOENT/],
    ] as const
  ) {
    const out = await (await emulate([...args])).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, `${args.join(" ")}: ${err}`);
    assert.match(err, message);
  }
});

Deno.test("emulate CLI: --count N writes N lines of the forced-failure script to a pty", async () => {
  await withPty(async (pty) => {
    const stop = new AbortController();
    const source = new SerialSource(pty.b, { signal: stop.signal });
    const reader = source.readable.getReader();
    const items = await collect(reader, [], (all) => all.length >= 1);
    const out = await (await emulate([
      "--port",
      pty.a,
      "--scenario",
      "forced-failure",
      "--count",
      "12",
      "--rate",
      "200",
      "--seed",
      "9",
    ])).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const summary = JSON.parse(new TextDecoder().decode(out.stdout).trim());
    assert.equal(summary.lines, 12);
    await collect(reader, items, (all) => received(all) >= 12);
    await delay(200); // nothing beyond the 12 lines arrives
    const more = await Promise.race([reader.read(), delay(100).then(() => null)]);
    if (more && !more.done) items.push(...more.value);
    stop.abort();
    await reader.cancel();
    const lines = items.flatMap((i) => i.kind === "line" ? [i.line] : []);
    assert.equal(lines.length, 12);
    assert.deepEqual(lines.slice(5, 11), [
      "T:62.0,V:5.00,S:NORMAL",
      "T:85.5,V:5.00,S:CRITICAL_TEMP",
      "T:78.0,V:5.00,S:WARNING_TEMP",
      "T:70.0,V:4.20,S:WARNING_VOLTAGE",
      "T:66.0,V:5.80,S:CRITICAL_VOLTAGE",
      "S:OFFLINE",
    ]);
  });
});

Deno.test("forced-failure script: every trigger, then a silence over the heartbeat timeout", () => {
  const device = new DeviceEmulator({ scenario: "forced-failure", seed: 1 });
  const steps: DeviceStep[] = [];
  for (let i = 0; i < 28; i++) steps.push(device.next());
  const silence = steps.findIndex((s) => s.kind === "silence");
  assert.equal(silence, 13);
  const step = steps[silence]!;
  assert.ok(step.kind === "silence" && step.ms > 5000);
  const parser = createLineParser("kv", { now: () => 0 });
  const readings = steps.slice(0, silence).map((s) => {
    const r = s.kind === "line" ? parser.parse(s.text) : null;
    assert.ok(r !== null && typeof r === "object", String(r));
    return r;
  });
  const temps = readings.flatMap((r) => r.channels.temperature ?? []);
  const volts = readings.flatMap((r) => r.channels.voltage ?? []);
  assert.ok(temps.some((t) => t > 80));
  assert.ok(temps.some((t, i) => i > 0 && Math.abs(t - temps[i - 1]!) > 15));
  assert.ok(volts.some((v) => v < 4.5) && volts.some((v) => v > 5.5));
  const states = readings.map((r) => r.status ?? "");
  assert.ok(states.some((s) => s.startsWith("WARNING_")));
  assert.ok(states.some((s) => s.startsWith("CRITICAL_")));
  assert.ok(states.includes("OFFLINE"));
  // The script repeats after the silence, identically.
  assert.deepEqual(steps.slice(14, 27), steps.slice(0, 13));
});

Deno.test("emulate CLI: SIGTERM ends an endless run at once, exit 0, lines counted", async () => {
  await withPty(async (pty) => {
    const stop = new AbortController();
    const source = new SerialSource(pty.b, { signal: stop.signal });
    const reader = source.readable.getReader();
    const items = await collect(reader, [], (all) => all.length >= 1);
    const child = (await emulate(["--port", pty.a, "--rate", "20", "--scenario", "random"]))
      .spawn();
    try {
      await collect(reader, items, (all) => received(all) >= 5);
      const t0 = performance.now();
      child.kill("SIGTERM");
      const out = await child.output();
      assert.ok(performance.now() - t0 < 1500, `ended after ${performance.now() - t0} ms`);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const summary = JSON.parse(new TextDecoder().decode(out.stdout).trim());
      assert.ok(summary.lines >= 5, JSON.stringify(summary));
      await delay(100);
      await collect(reader, items, (all) => received(all) >= summary.lines);
      assert.equal(received(items), summary.lines);
    } finally {
      stop.abort();
      await reader.cancel();
    }
  });
});

Deno.test("emulate CLI: the device vanishing mid-run ends it with code 1 and a message", async () => {
  await withPty(async (pty) => {
    const stop = new AbortController();
    const source = new SerialSource(pty.b, { signal: stop.signal });
    const reader = source.readable.getReader();
    const child = (await emulate(["--port", pty.a, "--rate", "50"])).spawn();
    try {
      // Unplugged only once the emulator is surely writing.
      await collect(reader, [], (all) => received(all) >= 3);
      await pty.stop();
      const out = await child.output();
      const err = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 1, err);
      assert.match(err, /vigil: emulate: write .*(EIO|hung up)/);
    } finally {
      stop.abort();
      await reader.cancel();
    }
    await pty.start(); // withPty stops it again
  });
});
