/**
 * The `emulate` command: a serial sensor device writing the `kv` wire format to a port.
 * @module
 */
import {
  DEVICE_SCENARIOS,
  DeviceEmulator,
  type DeviceScenario,
} from "../simulator/device_emulator.ts";
import { randomSeed } from "../simulator/prng.ts";
import { ConfigError, parseFlags } from "../engine/core/config.ts";
import { BAUD_RATES, SerialError, SerialPort } from "../engine/sources/serial/serial_port.ts";
import { abortableSleep } from "../engine/core/abortable_sleep.ts";

/** Flags of `emulate` (the contract's, plus `--malformed`, `--machine` and `--line-ending`). */
const FLAGS = new Set([
  "port",
  "scenario",
  "rate",
  "seed",
  "count",
  "baud",
  "malformed",
  "machine",
  "line-ending",
]);

/** Lines written per write at most, so a high `--rate` after a stall stays bounded. */
const MAX_BURST = 1000;

/** Usage of `emulate`, printed by `--help`. */
export const EMULATE_USAGE =
  `usage: main.ts emulate --port PATH [--scenario normal|forced-failure|random]
  [--rate HZ (default 1)] [--seed N (default random)] [--count N (default: until Ctrl-C)]
  [--baud B (default 115200)] [--malformed RATIO (0..1, default 0)] [--machine ID]
  [--line-ending lf|crlf|mixed (default lf)]`;

interface EmulateOptions {
  port: string;
  scenario: DeviceScenario;
  rate: number;
  seed: number;
  count: number | null;
  baud: number;
  malformed: number;
  machine: string | null;
  lineEnding: "\n" | "\r\n" | "mixed";
}

function bad(flag: string, value: string, allowed: string): ConfigError {
  return new ConfigError(`bad value for --${flag}: ${JSON.stringify(value)} (${allowed})`);
}

function parseEmulateFlags(args: readonly string[]): EmulateOptions {
  const { flags, positional } = parseFlags(args, {
    values: FLAGS,
    unknown: (name) => `emulate: unknown flag --${name}; allowed: --${[...FLAGS].join(", --")}`,
  });
  if (positional.length > 0) {
    throw new ConfigError(`emulate: unexpected argument ${JSON.stringify(positional[0])}`);
  }
  const text = (name: string): string | undefined => {
    const v = flags[name];
    if (v === true) throw new ConfigError(`flag --${name} needs a value`);
    return v;
  };
  const number = (name: string, ok: (n: number) => boolean, allowed: string) => {
    const raw = text(name);
    if (raw === undefined) return undefined;
    const n = raw.trim() === "" ? NaN : Number(raw);
    if (!Number.isFinite(n) || !ok(n)) throw bad(name, raw, allowed);
    return n;
  };
  const port = text("port");
  if (port === undefined || port === "") {
    throw new ConfigError("emulate needs --port PATH (the serial device to write to)");
  }
  const scenario = text("scenario") ?? "normal";
  if (!DEVICE_SCENARIOS.includes(scenario as DeviceScenario)) {
    throw bad("scenario", scenario, `allowed: ${DEVICE_SCENARIOS.join(", ")}`);
  }
  const ending = text("line-ending") ?? "lf";
  const endings: Record<string, "\n" | "\r\n" | "mixed"> = {
    lf: "\n",
    crlf: "\r\n",
    mixed: "mixed",
  };
  if (!(ending in endings)) throw bad("line-ending", ending, "allowed: lf, crlf, mixed");
  const machine = text("machine");
  if (machine !== undefined && !/^[^,:\s]+$/.test(machine)) {
    throw bad("machine", machine, "must be non-empty, without commas, colons or spaces");
  }
  return {
    port,
    scenario: scenario as DeviceScenario,
    rate: number("rate", (n) => n > 0 && n <= 100_000, "lines per second, > 0 and <= 100000") ??
      1,
    seed: number(
      "seed",
      (n) => Number.isInteger(n) && n >= 0 && n <= 2 ** 32 - 1,
      "a whole number 0..4294967295",
    ) ?? randomSeed(),
    count: number("count", (n) => Number.isInteger(n) && n >= 0, "a whole number >= 0") ?? null,
    baud: number("baud", (n) => BAUD_RATES.includes(n), `allowed: ${BAUD_RATES.join(", ")}`) ??
      115200,
    malformed: number("malformed", (n) => n >= 0 && n <= 1, "a ratio 0..1") ?? 0,
    machine: machine ?? null,
    lineEnding: endings[ending]!,
  };
}

/**
 * Runs `emulate` with its flags (`args` after the command name): opens `--port` raw 8N1 at
 * `--baud` and writes the scenario's lines at `--rate` per second, `--count` of them (default:
 * until SIGINT/SIGTERM), then waits for the driver to send them and closes. Prints one JSON line
 * `{"lines","malformed","seconds","seed"}`; resolves with exit code 0 (also after SIGINT/SIGTERM),
 * or 1 when the port fails while writing. A bad flag or a port that cannot be opened throws a
 * {@linkcode ConfigError} naming the value.
 */
export async function emulateCommand(args: readonly string[]): Promise<number> {
  if (args.includes("--help")) {
    console.log(EMULATE_USAGE);
    return 0;
  }
  const o = parseEmulateFlags(args);
  const device = new DeviceEmulator({
    scenario: o.scenario,
    seed: o.seed,
    malformed: o.malformed,
    machine: o.machine,
    lineEnding: o.lineEnding,
  });
  let port: SerialPort;
  try {
    port = SerialPort.open(o.port, { baud: o.baud });
  } catch (e) {
    if (e instanceof SerialError) {
      throw new ConfigError(`cannot use --port ${JSON.stringify(o.port)}: ${e.message}`);
    }
    throw e;
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const started = performance.now();
  let sent = 0;
  let malformed = 0;
  let code = 0;
  try {
    // Line i is due at start + silences + i / rate: an absolute schedule, so timer lateness
    // never accumulates, and late lines go out together in one write.
    let silencesMs = 0;
    while ((o.count === null || sent < o.count) && !stop.signal.aborted) {
      const elapsed = performance.now() - started - silencesMs;
      let due = Math.floor((elapsed / 1000) * o.rate) + 1 - sent;
      if (o.count !== null) due = Math.min(due, o.count - sent);
      due = Math.min(due, MAX_BURST);
      const chunks: Uint8Array[] = [];
      let size = 0;
      let silence = 0;
      for (let i = 0; i < due; i++) {
        const step = device.next();
        if (step.kind === "silence") {
          silence = step.ms;
          break;
        }
        chunks.push(step.bytes);
        size += step.bytes.length;
        if (step.malformed) malformed++;
      }
      if (size > 0) {
        const bytes = new Uint8Array(size);
        let off = 0;
        for (const c of chunks) {
          bytes.set(c, off);
          off += c.length;
        }
        await port.writeAll(bytes, stop.signal);
        sent += chunks.length;
      }
      if (silence > 0) {
        // The silence starts after the last line was due: shift the schedule by it.
        silencesMs += silence;
      }
      const nextAt = started + silencesMs + (sent / o.rate) * 1000;
      const wait = nextAt - performance.now();
      if (wait > 0 && (o.count === null || sent < o.count)) await abortableSleep(wait, stop.signal);
    }
    await port.drain(2000, stop.signal);
  } catch (e) {
    if (!(e instanceof SerialError)) throw e;
    // The device went away mid-run (unplugged, socat ended): say so, not a stack trace.
    console.error(`vigil: emulate: ${e.message} after ${sent} lines`);
    code = 1;
  } finally {
    port.close();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  console.log(JSON.stringify({
    lines: sent,
    malformed,
    seconds: Math.round(performance.now() - started) / 1000,
    seed: o.seed,
  }));
  return code;
}
