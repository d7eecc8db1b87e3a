/**
 * A serial sensor device: lines of the `kv` wire format (`T:45.2,V:5.01,S:NORMAL`), by
 * scenario, reproducible from a seed, optionally mixed with malformed lines.
 * @module
 */
import { createGaussian, createPrng, type Random } from "./prng.ts";

/** What the device does. */
export type DeviceScenario = "normal" | "forced-failure" | "random";

/** The scenarios, for validation messages. */
export const DEVICE_SCENARIOS: readonly DeviceScenario[] = ["normal", "forced-failure", "random"];

/** The kinds of malformed line mixed in. */
export type MalformedKind = "noise" | "truncated" | "bad-number" | "overlong";

/** One step of the device: a line to send, or a time of silence. */
export type DeviceStep =
  | {
    kind: "line";
    /** The line without its terminator (noise bytes decoded with U+FFFD replacement: `bytes`
     * has the exact ones). */
    text: string;
    /** What goes on the wire, terminator included. */
    bytes: Uint8Array;
    /** Null for a well-formed reading. */
    malformed: MalformedKind | null;
  }
  | { kind: "silence"; ms: number };

/** Options of {@linkcode DeviceEmulator}. */
export interface DeviceEmulatorOptions {
  /** @default {"normal"} */
  scenario?: DeviceScenario;
  /** Seed of every random choice. @default {1} */
  seed?: number;
  /** Probability that a line is replaced by a malformed one (noise bytes that are not UTF-8,
   * a line truncated after a `:`, a bad number, a line over 1 KiB). @default {0} */
  malformed?: number;
  /** Adds `M:<machine>` to each reading; null: no `M` key. @default {null} */
  machine?: string | null;
  /** Line terminator; `mixed` picks `\n` or `\r\n` at random per line. @default {"\n"} */
  lineEnding?: "\n" | "\r\n" | "mixed";
  /** Silence at the end of the forced-failure script, longer than the 5 s heartbeat timeout.
   * @default {6000} */
  silenceMs?: number;
}

/** A reading of the script or the random walk. */
interface DeviceReading {
  t: number | null;
  v: number | null;
  s: string;
}

/**
 * The forced-failure script. Every detector fires on it, in this order, then the device goes
 * silent for `silenceMs` (> the 5 s heartbeat timeout) and the script starts again:
 *  1. five normal readings around 45 °C and 5.0 V (a baseline; no detector fires);
 *  2. 45.4 → 62.0 °C: a jump of 16.6 °C (> 15 °C) — rapid change;
 *  3. 85.5 °C with `S:CRITICAL_TEMP` — temperature above 80 °C (and a 23.5 °C jump), and a
 *     `CRITICAL_*` state;
 *  4. 78.0 °C with `S:WARNING_TEMP` — a `WARNING_*` state (temperature back under 80 °C);
 *  5. 4.20 V with `S:WARNING_VOLTAGE` — voltage below 4.5 V;
 *  6. 5.80 V with `S:CRITICAL_VOLTAGE` — voltage above 5.5 V;
 *  7. `S:OFFLINE` — the device reports itself offline (no values);
 *  8. two normal readings (everything back in range);
 *  9. silence — heartbeat loss; the next script's first line restores it.
 */
const FORCED_FAILURE: readonly DeviceReading[] = [
  { t: 45.0, v: 5.0, s: "NORMAL" },
  { t: 45.1, v: 5.01, s: "NORMAL" },
  { t: 45.2, v: 4.99, s: "NORMAL" },
  { t: 45.3, v: 5.0, s: "NORMAL" },
  { t: 45.4, v: 5.02, s: "NORMAL" },
  { t: 62.0, v: 5.0, s: "NORMAL" },
  { t: 85.5, v: 5.0, s: "CRITICAL_TEMP" },
  { t: 78.0, v: 5.0, s: "WARNING_TEMP" },
  { t: 70.0, v: 4.2, s: "WARNING_VOLTAGE" },
  { t: 66.0, v: 5.8, s: "CRITICAL_VOLTAGE" },
  { t: null, v: null, s: "OFFLINE" },
  { t: 55.0, v: 5.0, s: "NORMAL" },
  { t: 50.0, v: 5.0, s: "NORMAL" },
];

/** States of the random scenario, their temperature and voltage targets, and where they go:
 * per line, the probability of moving to each other state (else it stays). */
const RANDOM_STATES: Record<
  string,
  { t: number; v: number; next: ReadonlyArray<readonly [string, number]> }
> = {
  NORMAL: {
    t: 45,
    v: 5.0,
    next: [["WARNING_TEMP", 0.02], ["WARNING_VOLTAGE", 0.015], ["OFFLINE", 0.005]],
  },
  WARNING_TEMP: { t: 76, v: 5.0, next: [["NORMAL", 0.15], ["CRITICAL_TEMP", 0.08]] },
  CRITICAL_TEMP: { t: 88, v: 5.0, next: [["WARNING_TEMP", 0.2], ["OFFLINE", 0.03]] },
  WARNING_VOLTAGE: { t: 48, v: 4.6, next: [["NORMAL", 0.15], ["CRITICAL_VOLTAGE", 0.08]] },
  CRITICAL_VOLTAGE: { t: 50, v: 4.3, next: [["WARNING_VOLTAGE", 0.2], ["OFFLINE", 0.03]] },
  OFFLINE: { t: 30, v: 0, next: [["NORMAL", 0.2]] },
};

const BAD_NUMBERS = ["85..5", "abc", "NaN", "Infinity", "1e", "--4", "0x1G", "4,5.0"];
const encoder = new TextEncoder();

/**
 * The device: {@linkcode next} gives its next step. The same options give the same steps.
 */
export class DeviceEmulator {
  readonly scenario: DeviceScenario;
  readonly #random: Random;
  readonly #gauss: () => number;
  readonly #malformed: number;
  readonly #machine: string | null;
  readonly #ending: "\n" | "\r\n" | "mixed";
  readonly #silenceMs: number;
  #step = 0;
  #state = "NORMAL";
  #t = 45;
  #v = 5.0;

  constructor(options: DeviceEmulatorOptions = {}) {
    this.scenario = options.scenario ?? "normal";
    if (!DEVICE_SCENARIOS.includes(this.scenario)) {
      throw new RangeError(
        `unknown scenario ${JSON.stringify(this.scenario)}; allowed: ${
          DEVICE_SCENARIOS.join(", ")
        }`,
      );
    }
    this.#malformed = options.malformed ?? 0;
    if (!(this.#malformed >= 0 && this.#malformed <= 1)) {
      throw new RangeError(`malformed ratio ${this.#malformed} is not in 0..1`);
    }
    this.#random = createPrng(options.seed ?? 1);
    this.#gauss = createGaussian(this.#random);
    this.#machine = options.machine ?? null;
    this.#ending = options.lineEnding ?? "\n";
    this.#silenceMs = options.silenceMs ?? 6000;
  }

  /** The next step. */
  next(): DeviceStep {
    if (this.scenario === "forced-failure") {
      const i = this.#step % (FORCED_FAILURE.length + 1);
      this.#step++;
      if (i === FORCED_FAILURE.length) return { kind: "silence", ms: this.#silenceMs };
      return this.#line(FORCED_FAILURE[i]!);
    }
    this.#step++;
    return this.#line(this.scenario === "normal" ? this.#normal() : this.#randomWalk());
  }

  #normal(): DeviceReading {
    // Mean-reverting walk that stays well inside every limit (30–60 °C, 4.85–5.15 V, small steps).
    this.#t = clamp(this.#t + 0.1 * (45 - this.#t) + 0.4 * this.#gauss(), 30, 60);
    this.#v = clamp(this.#v + 0.2 * (5 - this.#v) + 0.01 * this.#gauss(), 4.85, 5.15);
    return { t: this.#t, v: this.#v, s: "NORMAL" };
  }

  #randomWalk(): DeviceReading {
    const here = RANDOM_STATES[this.#state]!;
    let u = this.#random();
    for (const [to, p] of here.next) {
      if (u < p) {
        this.#state = to;
        break;
      }
      u -= p;
    }
    const target = RANDOM_STATES[this.#state]!;
    if (this.#state === "OFFLINE") {
      // The device still cools while it reports nothing.
      this.#t += 0.05 * (target.t - this.#t);
      return { t: null, v: null, s: "OFFLINE" };
    }
    // Moves a third of the way to the state's target per line: ramps, with the odd jump.
    this.#t += (target.t - this.#t) / 3 + 0.5 * this.#gauss();
    this.#v += (target.v - this.#v) / 3 + 0.02 * this.#gauss();
    return { t: this.#t, v: this.#v, s: this.#state };
  }

  #line(r: DeviceReading): DeviceStep {
    const parts: string[] = [];
    if (r.t !== null) parts.push(`T:${r.t.toFixed(1)}`);
    if (r.v !== null) parts.push(`V:${r.v.toFixed(2)}`);
    parts.push(`S:${r.s}`);
    if (this.#machine !== null) parts.push(`M:${this.#machine}`);
    const good = parts.join(",");
    const ending = this.#ending === "mixed" ? (this.#random() < 0.5 ? "\n" : "\r\n") : this.#ending;
    if (this.#malformed > 0 && this.#random() < this.#malformed) {
      return this.#bad(good, ending);
    }
    return { kind: "line", text: good, bytes: encoder.encode(good + ending), malformed: null };
  }

  /** A malformed version of `good`; each kind is sure to be rejected by the `kv` parser. */
  #bad(good: string, ending: string): DeviceStep {
    const kinds: MalformedKind[] = ["noise", "truncated", "bad-number", "overlong"];
    const kind = kinds[Math.floor(this.#random() * kinds.length)]!;
    let body: Uint8Array;
    if (kind === "noise") {
      // Starts with 0xFF (never valid UTF-8, never a key); no \n or \r inside.
      const n = 1 + Math.floor(this.#random() * 40);
      body = new Uint8Array(n);
      body[0] = 0xff;
      for (let i = 1; i < n; i++) {
        let b = Math.floor(this.#random() * 256);
        if (b === 10 || b === 13) b = 0xfe;
        body[i] = b;
      }
    } else if (kind === "truncated") {
      // Cut just after a `:`: an empty value is refused for every key.
      const colons: number[] = [];
      for (let i = 0; i < good.length; i++) if (good[i] === ":") colons.push(i);
      const at = colons[Math.floor(this.#random() * colons.length)]!;
      body = encoder.encode(good.slice(0, at + 1));
    } else if (kind === "bad-number") {
      const bad = BAD_NUMBERS[Math.floor(this.#random() * BAD_NUMBERS.length)]!;
      body = encoder.encode(`T:${bad},V:5.00,S:NORMAL`);
    } else {
      // Over the reader's 1 KiB line limit.
      const n = 1100 + Math.floor(this.#random() * 3000);
      body = encoder.encode(`T:${"9".repeat(n)},V:5.00,S:NORMAL`);
    }
    const bytes = new Uint8Array(body.length + ending.length);
    bytes.set(body);
    bytes.set(encoder.encode(ending), body.length);
    return {
      kind: "line",
      text: new TextDecoder().decode(body),
      bytes,
      malformed: kind,
    };
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
