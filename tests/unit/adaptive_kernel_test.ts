/**
 * The adaptive detector: WebAssembly against its TypeScript reference bit for bit (several
 * option sets, many streams, steps, spikes, quantised values, seasonality, NaN and gaps, any
 * batch cut), known answers of each mechanism of docs/detector.md, and the
 * contract's validation.
 *
 * Needs build/wasm/adaptive.wasm: `deno task build:wasm` first.
 */
import assert from "node:assert/strict";
import {
  ADAPTIVE_DEFAULTS,
  ADAPTIVE_FLAG as FLAG,
  type AdaptiveDetector,
  type AdaptiveOptions,
  ReferenceAdaptiveDetector,
  WasmAdaptiveDetector,
} from "../../engine/mod.ts";

const MINUTE = 60_000;
const DAY = 1440 * MINUTE;
const T0 = Date.UTC(2024, 0, 1); // a Monday

/** Readings as parallel arrays (the shape `process` takes). */
interface Readings {
  stream: Int32Array;
  time: Float64Array;
  value: Float64Array;
}

/** Outputs of every reading, concatenated over batches. */
interface Results {
  score: Float64Array;
  level: Float64Array;
  scale: Float64Array;
  flags: Uint32Array;
}

/** Deterministic uniform [0, 1) and roughly normal (mean 0, sd 1) generators. */
function random(seed: number): { u: () => number; g: () => number } {
  let s = seed >>> 0;
  const u = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return { u, g: () => u() + u() + u() + u() - 2 };
}

/** One stream's readings, `step` apart from `start`, values from `f(i, t)`. */
function series(n: number, f: (i: number, t: number) => number, step = 5 * MINUTE, start = T0) {
  const time = Float64Array.from({ length: n }, (_, i) => start + i * step);
  return {
    stream: new Int32Array(n),
    time,
    value: Float64Array.from(time, (t, i) => f(i, t)),
  };
}

/**
 * `streams` streams, readings randomly interleaved, each stream its own kind: steps, spikes,
 * quantised, daily sine, weekly pattern, or NaN, ±Infinity and time gaps; 10-minute readings
 * from different starts (one before 1970), so daily and weekly profiles switch on.
 */
function generated(streams: number, perStream: number, seed: number): Readings {
  const { u, g } = random(seed);
  const total = streams * perStream;
  const out = {
    stream: new Int32Array(total),
    time: new Float64Array(total),
    value: new Float64Array(total),
  };
  const next = new Int32Array(streams);
  const clock = Float64Array.from(
    { length: streams },
    (_, s) => (s === 5 ? -3 * DAY : T0 + s * 7 * MINUTE),
  );
  const level = new Float64Array(streams);
  for (let i = 0; i < total; i++) {
    let s = Math.floor(u() * streams);
    while (next[s]! >= perStream) s = (s + 1) % streams;
    const k = next[s]!++;
    const t = clock[s]! += s % 6 === 5 && u() < 0.01 ? 2 * DAY : 10 * MINUTE;
    const day = Math.sin((2 * Math.PI * (t % DAY)) / DAY);
    const weekend = Math.floor((t - T0) / DAY) % 7 >= 5 ? 1 : 0;
    if (k % 700 === 699 && s % 6 === 0) level[s]! += (u() < 0.5 ? -8 : 8) * (1 + s);
    let x = 100 * s + level[s]! + g() * (1 + s);
    switch (s % 6) {
      case 1:
        x += u() < 0.004 ? 20 * (1 + s) : 0;
        break;
      case 2:
        x = Math.round(x / 4) * 0.5;
        break;
      case 3:
        x += 12 * (1 + s) * day;
        break;
      case 4:
        x += 30 * weekend * (1 + s) + 5 * day;
        break;
      case 5:
        x = u() < 0.05 ? NaN : u() < 0.005 ? -Infinity : x;
        break;
    }
    out.stream[i] = s;
    out.time[i] = t;
    out.value[i] = x;
  }
  return out;
}

/** Feeds `r` in batches of the given sizes (cycled), copying every output. */
function feed(d: AdaptiveDetector, r: Readings, sizes: readonly number[] = [8192]): Results {
  const total = r.stream.length;
  const res = {
    score: new Float64Array(total),
    level: new Float64Array(total),
    scale: new Float64Array(total),
    flags: new Uint32Array(total),
  };
  for (let i = 0, b = 0; i < total; b++) {
    const n = Math.min(sizes[b % sizes.length]!, total - i);
    const out = d.process({
      stream: r.stream.subarray(i, i + n),
      time: r.time.subarray(i, i + n),
      value: r.value.subarray(i, i + n),
    }, n);
    for (const key of ["score", "level", "scale", "flags"] as const) res[key].set(out[key], i);
    i += n;
  }
  return res;
}

/** Identical f64s (sign of zero and NaN included) and flags. */
function assertSame(a: Results, b: Results, label: string): void {
  for (const key of ["score", "level", "scale", "flags"] as const) {
    assert.equal(a[key].length, b[key].length, `${label}: ${key} length`);
    for (let i = 0; i < a[key].length; i++) {
      if (!Object.is(a[key][i], b[key][i])) {
        assert.fail(`${label}: ${key}[${i}] wasm ${a[key][i]} vs reference ${b[key][i]}`);
      }
    }
  }
}

/** Indices of the readings whose flags have `bit`. */
const where = (r: Results, bit: number) => [...r.flags.keys()].filter((i) => r.flags[i]! & bit);

const OPTION_SETS: [string, AdaptiveOptions][] = [
  ["defaults", {}],
  ["fast alarms", {
    warmup: 50,
    onDelay: 2,
    offDelay: 5,
    clearLevel: 0.8,
    acceptAfter: 60,
    clipK: 2.5,
    fastHalfLife: 4,
    seasonBins: 24,
    seasonGain: 0.9,
  }],
  ["no season, no acceptance", { season: "off", acceptAfter: 0, zSpike: 5, quantumFloor: 2 }],
];

Deno.test("differential: WASM and reference agree bit for bit, whatever the batch cuts", () => {
  const readings = generated(24, 3000, 7);
  let seen = 0;
  for (const [label, o] of OPTION_SETS) {
    const opts = { maxStreams: 24, batchCapacity: 4096, ...o };
    const ref = feed(new ReferenceAdaptiveDetector(opts), readings, [4096]);
    for (const sizes of [[4096], [1, 7, 4096, 333], [1000, 1]]) {
      const wasm = feed(new WasmAdaptiveDetector(opts), readings, sizes);
      assertSame(wasm, ref, `${label}, batches ${sizes}`);
    }
    assertSame(feed(new ReferenceAdaptiveDetector(opts), readings, [13, 2]), ref, `${label} cuts`);
    for (const f of ref.flags) seen |= f;
  }
  // The data exercised every mechanism.
  for (const [name, bit] of Object.entries(FLAG)) assert.ok(seen & bit, `no reading with ${name}`);
});

Deno.test("a spike raises once, then clears offDelay readings after the score fell below clearLevel", () => {
  const { g } = random(1);
  const r = series(1500, (i) => 50 + g() + (i === 1000 ? 30 : 0));
  for (
    const d of [
      new WasmAdaptiveDetector({ maxStreams: 1 }),
      new ReferenceAdaptiveDetector({ maxStreams: 1 }),
    ]
  ) {
    const out = feed(d, r);
    assert.deepEqual(where(out, FLAG.RAISE), [1000]);
    assert.ok(out.score[1000]! >= 1 && out.score[999]! < 1);
    const [clear] = where(out, FLAG.CLEAR);
    assert.ok(clear !== undefined && clear > 1000 + ADAPTIVE_DEFAULTS.offDelay);
    const off = ADAPTIVE_DEFAULTS.offDelay;
    for (let i = clear - off + 1; i <= clear; i++) assert.ok(out.score[i]! < 0.5, `score[${i}]`);
    assert.ok(out.score[clear - off]! >= 0.5, "the count restarted at the last high score");
    for (let i = 1000; i < clear; i++) assert.ok(out.flags[i]! & FLAG.ALARM, `alarm on at ${i}`);
    assert.equal(where(out, FLAG.ALARM).length, clear - 1000);
    assert.deepEqual(where(out, FLAG.ACCEPTED), []);
    // Warm-up: no score and the flag for the first 400 readings only.
    assert.deepEqual(where(out, FLAG.WARMING_UP), [...Array(400).keys()]);
    assert.ok(out.score.subarray(0, 400).every((s) => s === 0));
  }
});

Deno.test("a sustained level shift is accepted after acceptAfter readings, reported once", () => {
  const { g } = random(2);
  const r = series(3000, (i) => 10 + g() + (i >= 1000 ? 10 : 0));
  const acceptAfter = 300;
  for (const make of [WasmAdaptiveDetector, ReferenceAdaptiveDetector]) {
    const out = feed(new make({ maxStreams: 1, acceptAfter }), r);
    assert.deepEqual(where(out, FLAG.RAISE), [1000]);
    assert.deepEqual(where(out, FLAG.ACCEPTED), [1000 + acceptAfter]);
    assert.deepEqual(where(out, FLAG.CLEAR), [1000 + acceptAfter]);
    assert.equal(where(out, FLAG.ALARM).length, acceptAfter);
    // The new level is normal now: the expected value follows it, no new alarm.
    assert.ok(Math.abs(out.level[2999]! - 20) < 1, `level ${out.level[2999]}`);
    assert.ok(out.score.subarray(1000 + acceptAfter + 1).every((s) => s < 1));
  }
});

Deno.test("a quantised, mostly constant channel keeps its scale at the resolution", () => {
  const { u } = random(3);
  // 85 % of readings exactly 20, the rest one step (0.5) away: a median-based MAD would be 0.
  const r = series(5000, () => 20 + (u() < 0.15 ? (u() < 0.5 ? -0.5 : 0.5) : 0));
  for (const make of [WasmAdaptiveDetector, ReferenceAdaptiveDetector]) {
    const out = feed(new make({ maxStreams: 1, season: "off" }), r);
    assert.deepEqual(where(out, FLAG.ALARM), []);
    const first = r.value.findIndex((x) => x !== 20);
    for (let i = first + 1; i < 5000; i++) assert.ok(out.scale[i]! >= 0.5, `scale[${i}]`);
    assert.ok(Math.max(...out.score) < 0.5, "one quantum away is not a spike");
  }
});

Deno.test("daily seasonality switches on for a daily sine, after two days of data", () => {
  const { g } = random(4);
  const r = series(6 * 288, (_, t) => 50 + 20 * Math.sin((2 * Math.PI * (t % DAY)) / DAY) + g());
  for (const make of [WasmAdaptiveDetector, ReferenceAdaptiveDetector]) {
    const out = feed(new make({ maxStreams: 1 }), r);
    const daily = where(out, FLAG.SEASONAL_DAILY);
    assert.ok(daily.length > 0 && r.time[daily[0]!]! - T0 > 2 * DAY, `first ${daily[0]}`);
    assert.deepEqual(daily, [...Array(6 * 288 - daily[0]!).keys()].map((k) => k + daily[0]!));
    assert.deepEqual(where(out, FLAG.SEASONAL_WEEKLY), []);
    assert.deepEqual(where(out, FLAG.ALARM), []);
    // The level follows the sine: the last day's one-step error is noise-sized.
    for (let i = 5 * 288; i < 6 * 288; i++) assert.ok(Math.abs(r.value[i]! - out.level[i]!) < 5);
  }
});

Deno.test("a missing value (NaN, ±Infinity) is a gap: it changes no state", () => {
  const { g, u } = random(5);
  const full = series(2000, (i) => 5 + g() + (i > 1500 ? 9 : 0), MINUTE);
  const holes = [...full.value.keys()].filter(() => u() < 0.1);
  const gappy = { ...full, value: full.value.slice() };
  holes.forEach((i, k) => gappy.value[i] = [NaN, Infinity, -Infinity][k % 3]!);
  const kept = [...full.value.keys()].filter((i) => !holes.includes(i));
  for (const make of [WasmAdaptiveDetector, ReferenceAdaptiveDetector]) {
    const withGaps = feed(new make({ maxStreams: 1 }), gappy, [97]);
    const pick = (a: ArrayLike<number>) => kept.map((i) => a[i]);
    const without = feed(new make({ maxStreams: 1 }), {
      stream: new Int32Array(kept.length),
      time: Float64Array.from(pick(full.time) as number[]),
      value: Float64Array.from(pick(full.value) as number[]),
    });
    assert.deepEqual(pick(withGaps.score), Array.from(without.score));
    assert.deepEqual(pick(withGaps.flags), Array.from(without.flags));
    for (const i of holes.filter((i) => i > 10)) {
      assert.equal(withGaps.score[i], 0);
      assert.ok(Number.isFinite(withGaps.level[i]) && withGaps.scale[i]! > 0, "band across a gap");
      assert.equal(withGaps.flags[i]! & (FLAG.RAISE | FLAG.CLEAR), 0);
    }
  }
});

Deno.test("resetStream forgets one stream; the others are untouched", () => {
  const r = generated(4, 1500, 9);
  const half = r.stream.length / 2;
  const second = {
    stream: r.stream.subarray(half),
    time: r.time.subarray(half),
    value: r.value.subarray(half),
  };
  for (const make of [WasmAdaptiveDetector, ReferenceAdaptiveDetector]) {
    const d = new make({ maxStreams: 4, warmup: 100 });
    const before = feed(d, { stream: r.stream.subarray(0, half), time: r.time, value: r.value });
    assert.ok(before.flags.some((f) => !(f & FLAG.WARMING_UP)));
    d.resetStream(2);
    const after = feed(d, second);
    const kept = feed(new make({ maxStreams: 4, warmup: 100 }), r).score.subarray(half);
    // Stream 2 starts over as in a fresh detector; the others continue.
    const fresh = new make({ maxStreams: 4, warmup: 100 });
    const freshOut = feed(fresh, second);
    for (let i = 0; i < second.stream.length; i++) {
      const want = second.stream[i] === 2 ? freshOut.score[i] : kept[i];
      assert.ok(Object.is(after.score[i], want), `reading ${half + i}`);
    }
  }
});

Deno.test("options are validated with RangeErrors naming the value; defaults as documented", () => {
  const refusals: Record<string, AdaptiveOptions> = {
    "warmup must be a positive integer, got 0": { warmup: 0 },
    "offDelay must be a positive integer, got 2.5": { offDelay: 2.5 },
    "acceptAfter must be an integer >= 0, got -1": { acceptAfter: -1 },
    "zSpike must be a positive number, got 0": { zSpike: 0 },
    "slowHalfLife must be a positive number, got Infinity": { slowHalfLife: Infinity },
    "clearLevel must be a number in (0, 1], got 1.5": { clearLevel: 1.5 },
    "seasonGain must be a number in (0, 1], got 0": { seasonGain: 0 },
    "quantumFloor must be a number in [0, ": { quantumFloor: NaN },
    'season must be "auto" or "off", got "daily"': { season: "daily" as "auto" },
    "seasonBins must be an integer in 1…1440 that divides 86400000, got 7": { seasonBins: 7 },
    "maxStreams must be a positive integer, got 0": { maxStreams: 0 },
    "batchCapacity must be at most 4194304, got 8388608": { batchCapacity: 1 << 23 },
    "the state would need": { maxStreams: 1 << 22 },
  };
  for (const [message, o] of Object.entries(refusals)) {
    for (const make of [WasmAdaptiveDetector, ReferenceAdaptiveDetector]) {
      assert.throws(
        () => new make(o),
        (e: Error) => e instanceof RangeError && e.message.includes(message),
        message,
      );
    }
  }
  const d = new WasmAdaptiveDetector({ season: "off" });
  assert.deepEqual({ ...d.options }, { ...ADAPTIVE_DEFAULTS, season: "off" });
});

Deno.test("stream ids, times and n are validated before any state changes", () => {
  const input = {
    stream: Int32Array.of(0, 1, 2, 3),
    time: Float64Array.of(0, 0, 0, 0),
    value: Float64Array.of(1, NaN, 3, 4),
  };
  for (const make of [WasmAdaptiveDetector, ReferenceAdaptiveDetector]) {
    const d = new make({ maxStreams: 4, batchCapacity: 8 });
    const refused = (text: string) => (e: Error) =>
      e instanceof RangeError && e.message.includes(text);
    assert.throws(() => d.process(input, 9), refused("n must be an integer in 0…8, got 9"));
    assert.throws(() => d.process(input, 5), refused("n = 5 exceeds the input arrays"));
    const badId = { ...input, stream: Int32Array.of(0, 1, 4, 3) };
    assert.throws(
      () => d.process(badId, 4),
      refused("stream id must be an integer in 0…3, got 4 (reading 2)"),
    );
    const badTime = { ...input, time: Float64Array.of(0, 0, 0, NaN) };
    assert.throws(
      () => d.process(badTime, 4),
      refused("time at reading 3 must be finite, got NaN"),
    );
    assert.throws(() => d.resetStream(4), refused("got 4"));
    // Nothing was learned: each stream's first value comes out as its level.
    const out = d.process(input, 4);
    assert.deepEqual(Array.from(out.level), [1, NaN, 3, 4]);
    assert.deepEqual(Array.from(out.flags), [16, 16, 16, 16]);
    assert.equal(d.process(input, 0).score.length, 0);
  }
});

Deno.test("WASM: views follow a grown memory; an abort is a JS Error; instances are independent", () => {
  const readings = generated(6, 800, 11);
  const opts = { maxStreams: 6, batchCapacity: 512 };
  const ref = feed(new ReferenceAdaptiveDetector(opts), readings, [512]);
  const d = new WasmAdaptiveDetector(opts);
  const other = new WasmAdaptiveDetector({ ...opts, zSpike: 3 });
  const first = feed(d, {
    stream: readings.stream.subarray(0, 1024),
    time: readings.time,
    value: readings.value,
  }, [512]);
  const kept = d.process(
    { stream: readings.stream, time: readings.time, value: readings.value },
    0,
  );
  const pages = d.rawExports.memory.buffer.byteLength / 65536;
  assert.equal(d.rawExports.testGrowMemory(3), pages);
  feed(other, readings, [512]); // interleaved: must not disturb d
  const rest = feed(d, {
    stream: readings.stream.subarray(1024),
    time: readings.time.subarray(1024),
    value: readings.value.subarray(1024),
  }, [512]);
  assert.equal(kept.score.length, 0);
  const joined = (k: "score" | "flags") => [...first[k], ...rest[k]];
  assert.deepEqual(joined("score"), Array.from(ref.score));
  assert.deepEqual(joined("flags"), Array.from(ref.flags));
  assert.throws(() => d.rawExports.process(513), /process: n is out of range 0…batchCapacity/);
  assert.throws(
    () => d.rawExports.resetStream(6),
    /resetStream: stream id out of range \(.*assembly\/adaptive.ts:/,
  );
  assert.throws(
    () => d.rawExports.configure(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0),
    /configure: already configured/,
  );
});

Deno.test("memory follows the streams in use: grown mid-run with profiles learned, bit for bit", () => {
  // Phases of 50, 350 and 1,000 streams, each starting 30 days after the previous one began,
  // so the first streams' daily and weekly profiles hold learned bins when the state grows
  // (64 → 512 → 1,024) and every profile row moves to its wider place.
  const phases = [generated(50, 2000, 7), generated(350, 300, 8), generated(1000, 60, 9)];
  const total = phases.reduce((n, r) => n + r.stream.length, 0);
  const all: Readings = {
    stream: new Int32Array(total),
    time: new Float64Array(total),
    value: new Float64Array(total),
  };
  let at = 0;
  phases.forEach((r, p) => {
    all.stream.set(r.stream, at);
    all.value.set(r.value, at);
    all.time.set(r.time.map((t) => t + p * 30 * 24 * 60 * MINUTE), at);
    at += r.stream.length;
  });
  for (const [label, o] of OPTION_SETS) {
    const opts = { maxStreams: 1500, batchCapacity: 4096, ...o };
    const wasm = new WasmAdaptiveDetector(opts);
    assert.equal(wasm.rawExports.streamCapacity(), 64);
    wasm.resetStream(1400); // never seen: nothing to forget, nothing allocated
    assert.equal(wasm.rawExports.streamCapacity(), 64);
    const first = feed(wasm, { ...all, stream: all.stream.subarray(0, 100_000) }, [333]);
    assert.equal(first.score.length, 100_000);
    assert.equal(wasm.rawExports.streamCapacity(), 64, label);
    const ref = feed(new ReferenceAdaptiveDetector(opts), all, [4096]);
    const grown = new WasmAdaptiveDetector(opts);
    assertSame(feed(grown, all, [1, 7, 4096, 333]), ref, `${label}, grown`);
    assert.equal(grown.rawExports.streamCapacity(), 1024, label);
  }
});

/**
 * Resident KiB of the anonymous mapping of exactly `bytes` (a WASM memory), from smaps, in
 * 4 KiB pages: transparent huge pages (a kernel set to `always`) would count 2 MiB for one
 * write, so those are left out.
 */
function residentKiB(bytes: number): number {
  const lines = Deno.readTextFileSync("/proc/self/smaps").split("\n");
  let found = -1;
  for (let i = 0; i < lines.length; i++) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) rw-p 0+ 00:00 0\s*$/.exec(lines[i]!);
    if (!m || parseInt(m[2]!, 16) - parseInt(m[1]!, 16) !== bytes) continue;
    assert.equal(found, -1, `one mapping of ${bytes} bytes`);
    let rss = -1, huge = 0;
    for (let j = i + 1; j < lines.length && !/^[0-9a-f]+-/.test(lines[j]!); j++) {
      const field = /^(Rss|AnonHugePages):\s+(\d+) kB/.exec(lines[j]!);
      if (field?.[1] === "Rss") rss = Number(field[2]);
      else if (field) huge = Number(field[2]);
    }
    assert.notEqual(rss, -1, `no Rss for the mapping of ${bytes} bytes`);
    found = rss - huge;
  }
  assert.notEqual(found, -1, `no mapping of ${bytes} bytes in /proc/self/smaps`);
  return found;
}

Deno.test({
  name: "growing to 2,048 streams leaves the profile rows never visited untouched (not resident)",
  ignore: Deno.build.os !== "linux",
  fn() {
    // 2,000 streams at one instant visit 2 of the 384 profile rows (one daily, one weekly bin).
    // The doubling from 1,024 to 2,048 streams moves every row to a place twice as wide: when
    // it checked or zeroed the rows it never visited, 6 MiB of them became resident.
    const d = new WasmAdaptiveDetector({ maxStreams: 4096, batchCapacity: 2000 });
    const n = 2000;
    const r: Readings = {
      stream: Int32Array.from({ length: n }, (_, i) => i),
      time: new Float64Array(n).fill(T0 + 10 * 60 * MINUTE),
      value: Float64Array.from({ length: n }, (_, i) => 20 + (i % 7)),
    };
    feed(d, { ...r, stream: r.stream.subarray(0, 1000), time: r.time.subarray(0, 1000) });
    feed(d, r);
    assert.equal(d.rawExports.streamCapacity(), 2048);
    const bytes = d.rawExports.memory.buffer.byteLength;
    const kib = residentKiB(bytes);
    // Batch arrays (94 KiB), stream blocks (256 KiB), 2 rows of 32 KiB, tables: about 0.5 MiB.
    // What it guards everywhere: the writes (zeroing the rows never visited made 6 MiB resident
    // on any kernel). Reading those rows only shows here on a kernel without a shared zero page
    // (this development machine's); elsewhere a read maps the zero page, not counted in Rss.
    assert.ok(kib < 2048, `${kib} KiB resident of ${bytes >> 10} KiB`);
  },
});

Deno.test("grown with a few rows visited: the rows move, stale bytes are zeroed, bit for bit", () => {
  // 40 streams over 3.5 days (past the 2 days after which a stream's profiles count, so that a
  // row's contents reach the scores; some daily and weekly rows visited, the rest never), then
  // 900 streams, the first 40 among them, from day 4: growing to 1,024 streams (and to 950, a
  // capacity not a power of two) moves the visited rows over the old places of rows never
  // visited and of each other.
  const early = generated(40, 500, 11);
  const late = generated(900, 400, 12);
  const shift = (t: Float64Array, by: number) => t.map((x) => x + by);
  const all: Readings = {
    stream: Int32Array.from([...early.stream, ...late.stream]),
    time: Float64Array.from([...shift(early.time, 0), ...shift(late.time, 4 * DAY)]),
    value: Float64Array.from([...early.value, ...late.value]),
  };
  for (const [label, o] of OPTION_SETS) {
    for (const maxStreams of [1024, 950]) {
      const opts = { maxStreams, batchCapacity: 512, ...o };
      const ref = feed(new ReferenceAdaptiveDetector(opts), all, [512]);
      const wasm = new WasmAdaptiveDetector(opts);
      assertSame(feed(wasm, all, [37, 512, 5]), ref, `${label}, ${maxStreams} streams`);
      assert.equal(wasm.rawExports.streamCapacity(), maxStreams, label);
    }
  }
});
