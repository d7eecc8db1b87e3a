/**
 * The serial source over a real pty pair (socat): how many lines per second the reader (FFI
 * reads, framing, raw.log) and the `kv` parser sustain with the port at 921600 baud, and the
 * CPU share they take while the device (`main.ts emulate`, another process) sends one line per
 * second.
 *
 *   deno task bench bench/serial_bench.ts
 *
 * A pty does not pace bytes at the baud rate, so the first figure is the reader's own ceiling;
 * a real UART at 921600 baud 8N1 carries 92,160 bytes/s, about 4,000 lines/s of 23 bytes.
 */
import { join } from "node:path";
import process from "node:process";
import { DeviceEmulator } from "../simulator/device_emulator.ts";
import { createLineParser, SerialPort, SerialSource } from "../engine/mod.ts";

const LINES = 50_000;
const CPU_SECONDS = 10;
const ROOT = new URL("..", import.meta.url).pathname;

/** Starts `socat` joining two ptys `a` and `b` in a fresh directory. */
async function ptyPair(): Promise<{ dir: string; a: string; b: string; stop(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "vigil_serial_bench_" });
  const a = join(dir, "a");
  const b = join(dir, "b");
  const child = new Deno.Command("socat", {
    args: [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 500; i++) {
    try {
      await Deno.stat(a);
      await Deno.stat(b);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return {
    dir,
    a,
    b,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The first `n` lines of the random scenario, as one buffer. */
function wire(n: number): Uint8Array {
  const device = new DeviceEmulator({ scenario: "random", seed: 1 });
  const parts: Uint8Array[] = [];
  let size = 0;
  while (parts.length < n) {
    const step = device.next();
    if (step.kind !== "line") continue;
    parts.push(step.bytes);
    size += step.bytes.length;
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const BYTES = wire(LINES);

Deno.bench({
  name: `reader + kv parser: ${LINES} lines from a pty at 921600 baud (raw.log written)`,
  group: "serial",
  n: 5,
  warmup: 1,
  async fn(b) {
    const pty = await ptyPair();
    const stop = new AbortController();
    const source = new SerialSource(pty.b, {
      baud: 921600,
      rawLogPath: join(pty.dir, "raw.log"),
      signal: stop.signal,
    });
    const parser = createLineParser("kv");
    const writer = SerialPort.open(pty.a, { baud: 921600 });
    const reader = source.readable.getReader();
    try {
      await reader.read(); // "connected"
      b.start();
      const writing = writer.writeAll(BYTES);
      let lines = 0;
      let errors = 0;
      while (lines < LINES) {
        const r = await reader.read();
        if (r.done) break;
        for (const item of r.value) {
          if (item.kind !== "line") continue;
          lines++;
          if (typeof parser.parse(item.line) === "string") errors++;
        }
      }
      await writing;
      b.end();
      if (lines !== LINES || errors !== 0) throw new Error(`${lines} lines, ${errors} errors`);
    } finally {
      stop.abort();
      await reader.cancel();
      writer.close();
      await pty.stop();
    }
  },
});

Deno.bench({
  name: `CPU share of reader + parser at 1 line/s over ${CPU_SECONDS} s (printed)`,
  group: "serial idle",
  n: 1,
  warmup: 0,
  async fn() {
    const pty = await ptyPair();
    const stop = new AbortController();
    const source = new SerialSource(pty.b, { baud: 921600, signal: stop.signal });
    const parser = createLineParser("kv");
    const reader = source.readable.getReader();
    // The device is another process, so its own CPU time is not counted here.
    const emulator = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-ffi",
        "main.ts",
        "emulate",
        "--port",
        pty.a,
        "--rate",
        "1",
        "--baud",
        "921600",
        "--count",
        String(CPU_SECONDS + 2),
      ],
      cwd: ROOT,
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await reader.read(); // "connected"
      let lines = 0;
      // Measured from the first line, so the emulator's start-up is not in the window.
      while (lines === 0) {
        const r = await reader.read();
        if (r.done) throw new Error("no line");
        lines += r.value.filter((i) => i.kind === "line").length;
      }
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      while (performance.now() - t0 < CPU_SECONDS * 1000) {
        const r = await reader.read();
        if (r.done) break;
        for (const item of r.value) {
          if (item.kind === "line") {
            lines++;
            parser.parse(item.line);
          }
        }
      }
      const cpu = process.cpuUsage(cpu0);
      const wall = (performance.now() - t0) * 1000;
      console.log(
        `serial at 1 line/s: ${lines} lines in ${(wall / 1e6).toFixed(1)} s, CPU ` +
          `${((cpu.user + cpu.system) / 1000).toFixed(0)} ms = ` +
          `${((100 * (cpu.user + cpu.system)) / wall).toFixed(2)} % of one core`,
      );
    } finally {
      stop.abort();
      await reader.cancel();
      await emulator.status;
      await pty.stop();
    }
  },
});
