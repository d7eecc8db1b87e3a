/**
 * The fused kernel: WebAssembly against its TypeScript reference (differential), both against
 * a naive exact oracle (accuracy), and the contract's edges (validation, aborts, memory growth,
 * loading without permissions).
 *
 * Needs build/wasm/rolling.wasm: `deno task build:wasm` first.
 *
 * Past ~400 lines: the whole suite of one component (kernel), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */
import assert from "node:assert/strict";
import {
  FLAG,
  type Kernel,
  type KernelOptions,
  type KernelOutput,
  ReferenceKernel,
  ROLLING_ARRAYS,
  WasmKernel,
} from "../../engine/mod.ts";

// ---------------------------------------------------------------- helpers

const KEYS = [
  "mean",
  "std",
  "min",
  "max",
  "slope",
  "zscore",
  "delta",
  "rate",
  "deviation",
  "completeness",
] as const;
type Key = typeof KEYS[number];

/** Outputs copied out of the kernel's views, concatenated over batches. */
type Rows = Record<Key, number[]> & { flags: number[] };

const emptyRows = (): Rows => ({
  mean: [],
  std: [],
  min: [],
  max: [],
  slope: [],
  zscore: [],
  delta: [],
  rate: [],
  deviation: [],
  completeness: [],
  flags: [],
});

function append(rows: Rows, out: KernelOutput): void {
  for (const k of KEYS) for (const v of out[k]) rows[k].push(v);
  for (const v of out.flags) rows.flags.push(v);
}

/** Deterministic PRNG (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Roughly normal noise with unit variance (sum of 12 uniforms - 6). */
function gauss(r: () => number): number {
  let s = -6;
  for (let i = 0; i < 12; i++) s += r();
  return s;
}

interface Reading {
  stream: number;
  time: number;
  value: number;
}

/** Feeds readings in batches of the given sizes (cycled), returning all outputs. */
function run(
  kernel: Kernel,
  readings: readonly Reading[],
  sizes: readonly number[] = [8192],
): Rows {
  const rows = emptyRows();
  const cap = kernel.options.batchCapacity;
  const stream = new Int32Array(cap);
  const time = new Float64Array(cap);
  const value = new Float64Array(cap);
  let i = 0;
  let b = 0;
  while (i < readings.length) {
    const n = Math.min(sizes[b++ % sizes.length]!, cap, readings.length - i);
    for (let k = 0; k < n; k++) {
      const r = readings[i + k]!;
      stream[k] = r.stream;
      time[k] = r.time;
      value[k] = r.value;
    }
    append(rows, kernel.process({ stream, time, value }, n));
    i += n;
  }
  return rows;
}

/** Every output within 1e-9 relative to max(1, |a|, |b|); flags identical. */
function assertAgree(a: Rows, b: Rows, label: string): void {
  assert.equal(a.mean.length, b.mean.length, `${label}: lengths`);
  for (const k of KEYS) {
    const x = a[k];
    const y = b[k];
    for (let i = 0; i < x.length; i++) {
      const p = x[i]!;
      const q = y[i]!;
      const tol = 1e-9 * Math.max(1, Math.abs(p), Math.abs(q));
      if (!(Math.abs(p - q) <= tol)) {
        assert.fail(`${label}: ${k}[${i}] wasm ${p} vs reference ${q}`);
      }
    }
  }
  for (let i = 0; i < a.flags.length; i++) {
    if (a.flags[i] !== b.flags[i]) {
      assert.fail(`${label}: flags[${i}] wasm ${a.flags[i]} vs reference ${b.flags[i]}`);
    }
  }
}

/** Runs the same readings through a WASM kernel and a reference kernel and compares. */
function differential(
  options: KernelOptions,
  readings: readonly Reading[],
  sizes: readonly number[],
  label: string,
  setup?: (k: Kernel) => void,
): { wasm: Rows; ref: Rows } {
  const w = new WasmKernel(options);
  const r = new ReferenceKernel(options);
  setup?.(w);
  setup?.(r);
  const wasm = run(w, readings, sizes);
  const ref = run(r, readings, sizes);
  assertAgree(wasm, ref, label);
  return { wasm, ref };
}

/** A single stream's readings, one per second. */
const series = (values: readonly number[], stream = 0, t0 = 0): Reading[] =>
  values.map((value, i) => ({ stream, time: t0 + i * 1000, value }));

/**
 * The naive exact oracle: keeps every stream's last `window` values and its model as plain
 * arrays and computes everything two-pass, from scratch, per reading.
 */
class Oracle {
  readonly #win = new Map<number, number[]>();
  readonly #model = new Map<number, number[]>();
  readonly #prev = new Map<number, { v: number; t: number }>();
  constructor(readonly window: number, readonly modelSize: number, readonly z: number) {}

  /** Two-pass mean and population variance; the first pass sums x - x₀ (exact for values
   * of similar size, Sterbenz) so the oracle's own mean is accurate to an ulp of the level. */
  static stats(xs: readonly number[]): { mean: number; variance: number } {
    const x0 = xs[0]!;
    let s = 0;
    for (const x of xs) s += x - x0;
    const mean = x0 + s / xs.length;
    let q = 0;
    for (const x of xs) q += (x - mean) * (x - mean);
    return { mean, variance: q / xs.length };
  }

  step(r: Reading): Record<Key, number> & { zflag: boolean; modelStd: number } {
    const w = this.#win.get(r.stream) ?? [];
    this.#win.set(r.stream, w);
    w.push(r.value);
    if (w.length > this.window) w.shift();
    const { mean, variance } = Oracle.stats(w);
    const n = w.length;
    const jm = (n - 1) / 2;
    let sxy = 0;
    let sxx = 0;
    for (let j = 0; j < n; j++) {
      sxy += (j - jm) * (w[j]! - mean);
      sxx += (j - jm) * (j - jm);
    }
    const m = this.#model.get(r.stream) ?? [];
    this.#model.set(r.stream, m);
    let z = 0;
    let modelStd = 0;
    if (m.length >= 2) {
      const st = Oracle.stats(m);
      modelStd = Math.sqrt(st.variance);
      if (st.variance > 0) z = (r.value - st.mean) / modelStd;
    }
    const zflag = m.length === this.modelSize && Math.abs(z) > this.z;
    if (!zflag) {
      m.push(r.value);
      if (m.length > this.modelSize) m.shift();
    }
    const p = this.#prev.get(r.stream);
    this.#prev.set(r.stream, { v: r.value, t: r.time });
    const delta = p ? r.value - p.v : 0;
    const rate = p && r.time > p.t ? delta / ((r.time - p.t) / 1000) : 0;
    return {
      mean,
      std: Math.sqrt(variance),
      min: Math.min(...w),
      max: Math.max(...w),
      slope: sxx > 0 ? sxy / sxx : 0,
      zscore: z,
      delta,
      rate,
      deviation: mean !== 0 ? 100 * (r.value - mean) / Math.abs(mean) : 0,
      completeness: m.length / this.modelSize,
      zflag,
      modelStd,
    };
  }
}

/** Random readings over `streams` interleaved ids: levels from 0.001 to 1e6, spikes, jitter. */
function randomReadings(seed: number, count: number, streams: number): Reading[] {
  const r = rng(seed);
  const level = Array.from(
    { length: streams },
    (_, s) => (s % 7 === 0 ? 1e6 : 10 ** (r() * 6 - 3)),
  );
  const clock = new Float64Array(streams);
  const out: Reading[] = [];
  for (let i = 0; i < count; i++) {
    const s = Math.floor(r() * streams);
    // Sometimes the same time again (rate must be 0), sometimes a step up.
    clock[s]! += r() < 0.05 ? 0 : 1000 + Math.floor(r() * 500);
    let v = level[s]! * (1 + 0.01 * gauss(r));
    if (r() < 0.01) v += level[s]! * (r() < 0.5 ? 5 : -5); // spikes
    if (s % 11 === 3 && r() < 0.5) v = level[s]!; // runs of a constant
    out.push({ stream: s, time: clock[s]!, value: v });
  }
  return out;
}

// ---------------------------------------------------------------- differential

Deno.test("differential: random interleaved streams, odd batch boundaries, several shapes", () => {
  const shapes: KernelOptions[] = [
    { maxStreams: 64, window: 5, modelSize: 20, batchCapacity: 1000 },
    { maxStreams: 64, window: 100, modelSize: 100, batchCapacity: 1000 },
    { maxStreams: 64, window: 8, modelSize: 64, batchCapacity: 1000 }, // capacities exactly full
    { maxStreams: 64, window: 1, modelSize: 1, batchCapacity: 1000 },
    { maxStreams: 64, window: 2, modelSize: 3, zThreshold: 1.5, batchCapacity: 1000 },
  ];
  const readings = randomReadings(7, 40_000, 50);
  const setup = (k: Kernel) => {
    for (let s = 0; s < 50; s += 2) {
      k.setLimits(s, { low: 0.5, high: 2e6, maxDelta: 1e3, maxDeviationPct: 2 });
    }
  };
  for (const o of shapes) {
    const label = `window ${o.window} model ${o.modelSize}`;
    const { wasm } = differential(o, readings, [1, 999, 17, 1000, 333, 0, 4096], label, setup);
    // The comparison is not vacuous: the data exercise every flag and both trends.
    const seen = wasm.flags.reduce((a, f) => a | f, 0);
    // (A window of one has no trend and no deviation; a model of one point never has a std.)
    const expected = FLAG.HIGH | FLAG.LOW | FLAG.RAPID | FLAG.MODEL_FULL |
      (o.window! > 1 ? FLAG.DEVIATION | FLAG.TREND_UP | FLAG.TREND_DOWN : 0) |
      (o.modelSize! >= 3 ? FLAG.ZSCORE : 0);
    assert.equal(seen & expected, expected, `${label}: flags seen ${seen.toString(2)}`);
  }
});

Deno.test("bit for bit: WASM and reference give identical f64s (sign of zero included)", () => {
  // The contract asks 1e-9; the kernel promises more: its packed state and f64x2 arithmetic
  // perform exactly the reference's scalar operations, so every output is the same double.
  const shapes: KernelOptions[] = [
    { maxStreams: 64, window: 5, modelSize: 100, batchCapacity: 1000 },
    { maxStreams: 64, window: 8, modelSize: 64, batchCapacity: 1000 }, // rings exactly full
    { maxStreams: 64, window: 100, modelSize: 30, batchCapacity: 1000 },
    { maxStreams: 64, window: 1, modelSize: 2, batchCapacity: 1000 },
  ];
  const readings = randomReadings(99, 30_000, 50);
  const setup = (k: Kernel) => {
    for (let s = 0; s < 50; s += 3) {
      k.setLimits(s, { low: 0.5, high: 2e6, maxDelta: 1e3, maxDeviationPct: 2 });
    }
  };
  for (const o of shapes) {
    const w = new WasmKernel(o);
    const r = new ReferenceKernel(o);
    setup(w);
    setup(r);
    const a = run(w, readings, [1000, 7, 513]);
    const b = run(r, readings, [1000, 7, 513]);
    for (const k of [...KEYS, "flags"] as const) {
      const x = a[k];
      const y = b[k];
      assert.equal(x.length, readings.length);
      for (let i = 0; i < x.length; i++) {
        if (!Object.is(x[i], y[i])) {
          assert.fail(`window ${o.window} model ${o.modelSize}: ${k}[${i}] ${x[i]} vs ${y[i]}`);
        }
      }
    }
  }
});

Deno.test("batch arrays start in different cache lines modulo 4 KiB (no set conflicts)", () => {
  // Packed back to back, arrays of 8,192 f64 start exactly 64 KiB apart: all 14 accesses of a
  // reading then map to one L1 set and alias for store forwarding (measured: the outputs'
  // stores alone took 4.5x longer). configure staggers them; this pins that down.
  for (const batchCapacity of [8192, 4096, 1000, 1]) {
    const k = new WasmKernel({ maxStreams: 2, batchCapacity });
    const e = k.rawExports;
    const a = ROLLING_ARRAYS;
    const ptrs = [e.ptr(a.inStream), e.ptr(a.inTime), e.ptr(a.inValue)];
    for (let o = 0; o <= 10; o++) ptrs.push(e.ptr(a.out + o));
    const lines = new Set(ptrs.map((p) => Math.floor((p % 4096) / 64)));
    assert.equal(lines.size, ptrs.length, `capacity ${batchCapacity}: ${ptrs.join(", ")}`);
    for (const p of ptrs) assert.equal(p % 64, 0, `64-byte aligned: ${p}`);
  }
});

Deno.test("differential and oracle: window not yet full, ring wrap-around (windows 5 and 100)", () => {
  for (const window of [5, 100]) {
    const r = rng(window);
    const values = Array.from({ length: 3 * 128 + 7 }, () => 50 + 10 * gauss(r));
    const readings = series(values, 3);
    const o = { maxStreams: 4, window, modelSize: 30, batchCapacity: 97 };
    const { wasm } = differential(o, readings, [97, 13, 50], `window ${window}`);
    const oracle = new Oracle(window, 30, 3);
    readings.forEach((rd, i) => {
      const e = oracle.step(rd);
      for (const k of KEYS) {
        const got = wasm[k][i]!;
        assert.ok(
          Math.abs(got - e[k]) <= 1e-9 * Math.max(1, Math.abs(e[k])),
          `window ${window} reading ${i}: ${k} ${got} vs oracle ${e[k]}`,
        );
      }
    });
    // The first reading: a window of one point.
    assert.equal(wasm.std[0], 0);
    assert.equal(wasm.slope[0], 0);
    assert.equal(wasm.mean[0], values[0]);
    assert.equal(wasm.delta[0], 0);
    assert.equal(wasm.rate[0], 0);
  }
});

Deno.test("constant series: std, slope, z and deviation exactly 0, mean exactly the value", () => {
  for (const c of [0.1, -3.7, 1e6 + 0.3, 0, 123456.789]) {
    const readings = series(new Array(700).fill(c));
    const { wasm } = differential({ maxStreams: 1, window: 5, modelSize: 100 }, readings, [
      64,
      100,
    ], `constant ${c}`);
    for (let i = 0; i < readings.length; i++) {
      assert.equal(wasm.std[i], 0, `std[${i}] of constant ${c}`);
      assert.equal(wasm.zscore[i], 0, `z[${i}] of constant ${c}`);
      assert.equal(wasm.slope[i], 0, `slope[${i}] of constant ${c}`);
      assert.equal(wasm.mean[i], c);
      assert.equal(wasm.deviation[i], 0);
      assert.equal(wasm.flags[i]! & (FLAG.TREND_UP | FLAG.TREND_DOWN | FLAG.ZSCORE), 0);
    }
  }
});

Deno.test("a series that becomes constant after a level change: exactly 0 once all new", () => {
  const window = 5;
  const modelSize = 20;
  const r = rng(3);
  // Noise around 1000, then a constant within 3 sigma (so it enters the model).
  const values = [
    ...Array.from({ length: 203 }, () => 1000 + gauss(r)),
    ...new Array(300).fill(1000.5),
  ];
  const { wasm } = differential(
    { maxStreams: 1, window, modelSize },
    series(values),
    [128],
    "level change",
  );
  const start = 203;
  assert.ok(wasm.std[start + window - 2]! > 0, "still mixed one reading before");
  for (let i = start + window - 1; i < values.length; i++) {
    assert.equal(wasm.std[i], 0, `std[${i}]`);
    assert.equal(wasm.mean[i], 1000.5, `mean[${i}]`);
  }
  // The model holds only the constant after modelSize constant points entered; z of the
  // point after is measured against it.
  assert.notEqual(wasm.zscore[start + modelSize - 1], 0);
  for (let i = start + modelSize; i < values.length; i++) {
    assert.equal(wasm.zscore[i], 0, `z[${i}]`);
  }
});

Deno.test("model warm-up: every point enters, no ZSCORE; then anomalies stay out", () => {
  const modelSize = 10;
  const o = { maxStreams: 2, window: 3, modelSize, zThreshold: 3 };
  // Warm-up with a huge spike at point 5: it enters (completeness keeps rising).
  const warm = [10, 11, 9, 10, 11, 500, 9, 10, 11, 10];
  const r = rng(11);
  const normal = Array.from({ length: 40 }, () => 10 + gauss(r));
  const values = [...warm, ...normal];
  const { wasm } = differential(o, series(values), [7], "warm-up");
  for (let i = 0; i < modelSize; i++) {
    assert.equal(wasm.completeness[i], (i + 1) / modelSize);
    assert.equal(wasm.flags[i]! & FLAG.ZSCORE, 0, `no ZSCORE during warm-up (${i})`);
    assert.equal(wasm.flags[i]! & FLAG.MODEL_FULL, i === modelSize - 1 ? FLAG.MODEL_FULL : 0);
  }
  assert.equal(wasm.zscore[0], 0); // < 2 points
  assert.equal(wasm.zscore[1], 0); // one point: still < 2
  assert.ok(Math.abs(wasm.zscore[5]!) > 3, "the spike's z is measured before it enters");
  assert.equal(wasm.completeness[modelSize], 1);

  // Full model: a spike is flagged and excluded, so the next point's z is exactly what it is
  // without the spike ever having been seen.
  const base = Array.from({ length: 30 }, () => 10 + gauss(r));
  const withSpike = [...base, 1e4, 10.25];
  const withoutSpike = [...base, 10.25];
  const a = run(new WasmKernel(o), series(withSpike));
  const b = run(new WasmKernel(o), series(withoutSpike));
  assert.equal(a.flags[30]! & FLAG.ZSCORE, FLAG.ZSCORE);
  assert.equal(a.completeness[30], 1);
  assert.equal(a.zscore[31], b.zscore[30]);
  assert.notEqual(a.zscore[31], 0);
  // Had the spike entered, the z of 10.25 would differ wildly.
  const c = run(new WasmKernel({ ...o, zThreshold: 1e9 }), series(withSpike));
  assert.equal(c.flags[30]! & FLAG.ZSCORE, 0);
  assert.ok(Math.abs(c.zscore[31]! - a.zscore[31]!) > 0.1);
});

Deno.test("limits: HIGH, LOW, RAPID, DEVIATION; NaN disables; none before setLimits", () => {
  const values = [50, 50, 95, 50, 5, 50, 50];
  const check = (k: Kernel, label: string) => {
    const before = run(k, series(values, 1));
    assert.ok(before.flags.every((f) => (f & 0b11110) === 0), `${label}: no limits yet`);
    k.resetStream(1);
    k.setLimits(1, { low: 10, high: 90, maxDelta: 30, maxDeviationPct: 40 });
    const out = run(k, series(values, 1));
    const lim = out.flags.map((f) => f & (FLAG.HIGH | FLAG.LOW | FLAG.RAPID | FLAG.DEVIATION));
    // 95: high, |+45| rapid, deviation (95-62)/62 = 53 %; 50 after it: rapid (-45);
    // 5: low, rapid, deviation; 50 after it: rapid.
    assert.deepEqual(lim, [
      0,
      0,
      FLAG.HIGH | FLAG.RAPID | FLAG.DEVIATION,
      FLAG.RAPID,
      FLAG.LOW | FLAG.RAPID | FLAG.DEVIATION,
      FLAG.RAPID,
      0,
    ], label);
    assert.equal(out.delta[2], 45);
    k.resetStream(1);
    k.setLimits(1, { low: NaN, high: 90, maxDelta: NaN, maxDeviationPct: NaN });
    const only = run(k, series(values, 1)).flags.map((f) => f & 0b11110);
    assert.deepEqual(only, [0, 0, FLAG.HIGH, 0, 0, 0, 0], `${label}: NaN disables`);
  };
  check(new WasmKernel({ maxStreams: 2 }), "wasm");
  check(new ReferenceKernel({ maxStreams: 2 }), "reference");
});

Deno.test("trend: a rising ramp is TREND_UP with its exact slope, falling DOWN, flat neither", () => {
  const up = Array.from({ length: 20 }, (_, i) => 100 + 2 * i);
  const down = up.map((v) => 300 - v);
  const flat = Array.from({ length: 20 }, (_, i) => 100 + (i % 2) * 0.001); // slope ≪ 1 % of 100
  const readings = [...series(up, 0), ...series(down, 1), ...series(flat, 2)];
  const { wasm } = differential({ maxStreams: 3, window: 5 }, readings, [9], "trend");
  for (let i = 1; i < 20; i++) {
    assert.ok(Math.abs(wasm.slope[i]! - 2) < 1e-12, `slope ${wasm.slope[i]}`);
    assert.equal(wasm.flags[i]! & 96, FLAG.TREND_UP);
    assert.ok(Math.abs(wasm.slope[20 + i]! + 2) < 1e-12);
    assert.equal(wasm.flags[20 + i]! & 96, FLAG.TREND_DOWN);
    assert.equal(wasm.flags[40 + i]! & 96, 0);
  }
  assert.equal(wasm.flags[0]! & 96, 0); // one point: slope 0, stable
  // The tolerance is relative to the mean: slope 2 on a mean of ~1000 is stable at 1 %.
  const big = run(new WasmKernel({ maxStreams: 1 }), series(up.map((v) => v + 900)));
  assert.equal(big.flags[10]! & 96, 0);
  const tight = run(
    new WasmKernel({ maxStreams: 1, trendTolerance: 1e-4 }),
    series(up.map((v) => v + 900)),
  );
  assert.equal(tight.flags[10]! & 96, FLAG.TREND_UP);
});

Deno.test("resetStream: the stream starts over, its limits stay, other streams untouched", () => {
  for (
    const make of [
      (o: KernelOptions) => new WasmKernel(o),
      (o: KernelOptions) => new ReferenceKernel(o),
    ]
  ) {
    const o = { maxStreams: 3, window: 5, modelSize: 8 };
    const r = rng(5);
    const a = Array.from({ length: 37 }, () => 20 + gauss(r));
    const b = Array.from({ length: 25 }, () => 70 + gauss(r));
    const k = make(o);
    k.setLimits(0, { low: NaN, high: 21, maxDelta: NaN, maxDeviationPct: NaN });
    run(k, [...series(a, 0), ...series(b, 2)]);
    k.resetStream(0);
    const after = run(k, [...series(b, 0, 5e6), ...series(a, 2, 1e6)]);

    const fresh = make(o);
    fresh.setLimits(0, { low: NaN, high: 21, maxDelta: NaN, maxDeviationPct: NaN });
    const f0 = run(fresh, series(b, 0, 5e6));
    const untouched = run(make(o), [...series(b, 2), ...series(a, 2, 1e6)]);
    for (const key of [...KEYS, "flags"] as const) {
      assert.deepEqual(after[key].slice(0, b.length), f0[key], `reset stream: ${key}`);
      assert.deepEqual(after[key].slice(b.length), untouched[key].slice(b.length), `other: ${key}`);
    }
    assert.equal(after.delta[0], 0);
    assert.ok(after.flags.slice(0, b.length).every((f) => (f & FLAG.HIGH) !== 0), "limits kept");
  }
});

Deno.test("setZThreshold: applies from the next batch; options follow; bad values refused", () => {
  for (
    const k of [
      new WasmKernel({ maxStreams: 1, modelSize: 10 }),
      new ReferenceKernel({ maxStreams: 1, modelSize: 10 }),
    ]
  ) {
    const r = rng(9);
    run(k, series(Array.from({ length: 10 }, () => 10 + gauss(r))));
    const spike = 10 + 4 * Math.sqrt(10); // well above 3 sigma of the model
    const strict = run(k, series([spike], 0, 1e5));
    assert.equal(strict.flags[0]! & FLAG.ZSCORE, FLAG.ZSCORE);
    k.setZThreshold(1e6);
    assert.equal(k.options.zThreshold, 1e6);
    const loose = run(k, series([spike], 0, 2e5));
    assert.equal(loose.flags[0]! & FLAG.ZSCORE, 0);
    assert.equal(loose.zscore[0], strict.zscore[0]); // the spike stayed out of the model
    for (const bad of [0, -1, NaN]) {
      assert.throws(
        () => k.setZThreshold(bad),
        (e: Error) => e instanceof RangeError && e.message.includes(`got ${bad}`),
      );
    }
  }
});

// ---------------------------------------------------------------- accuracy

Deno.test("accuracy: speed ~1e6 with noise 1 over 240,000 readings, then a constant", () => {
  // Windows 5 and 100, model 100. A scheme summing raw values (x ~ 1e6, x² ~ 1e12) would lose
  // ~12 of 16 digits of a variance of ~1 (absolute error ~ 1e12 * 2.2e-16 = 2e-4); the anchored
  // sums must track the two-pass oracle far more tightly.
  //
  // Tolerance: between re-anchorings the sums see at most W + window rolling updates of terms
  // |x - a| <= R, R the range of the last W + window readings (the anchor is one of them), so
  // |var - var_oracle| <= c * eps * R² with c growing with the number of updates (we allow
  // W + window, plus 16 for the final formula and the oracle's own rounding; observed: c ≈ 2).
  // The bound is dimensionally the variance's and is ~1e-12 here, eight orders below the
  // raw-sum scheme's error. Where the std is not tiny (> 0.05, so R² / var < ~1e4) that gives
  // a relative std error below ~1e-11; observed ~1.5e-13, asserted < 1e-10.
  const eps = 2 ** -52;
  const noisy = 240_000;
  const constant = 1e6 + 0.5;
  for (const window of [5, 100]) {
    const W = 2 ** Math.ceil(Math.log2(window));
    const r = rng(window + 1);
    const values = Array.from({ length: noisy }, () => 1e6 + gauss(r));
    for (let i = 0; i < 400; i++) values.push(constant);
    const o = { maxStreams: 1, window, modelSize: 100 };
    const { wasm } = differential(o, series(values), [8192], `speed window ${window}`);
    const oracle = new Oracle(window, 100, 3);
    let worstVar = 0; // worst |Δvar| / (eps * R²)
    let worstStdRel = 0; // worst relative std error where the std is not tiny
    let worstZ = 0;
    for (let i = 0; i < values.length; i++) {
      const e = oracle.step({ stream: 0, time: i * 1000, value: values[i]! });
      const got = wasm.std[i]!;
      let lo = Infinity;
      let hi = -Infinity;
      for (let j = Math.max(0, i - W - window); j <= i; j++) {
        lo = Math.min(lo, values[j]!);
        hi = Math.max(hi, values[j]!);
      }
      const R = hi - lo;
      const dVar = Math.abs(got * got - e.std * e.std);
      const allowed = (16 + W + window) * eps * R * R;
      if (!(dVar <= allowed)) {
        assert.fail(`window ${window} reading ${i}: std ${got} vs oracle ${e.std} (R ${R})`);
      }
      worstVar = Math.max(worstVar, R > 0 ? dVar / (eps * R * R) : 0);
      if (e.std > 0.05) worstStdRel = Math.max(worstStdRel, Math.abs(got - e.std) / e.std);
      // z: any f64 model mean of values near 1e6 is quantised to ulp(1e6) ≈ 1.2e-10 (the
      // oracle's included), which x - mean carries into z amplified by 1 / model std.
      const zTol = 1e-12 * Math.max(1, Math.abs(e.zscore)) + (4 * eps * 1e6) / e.modelStd;
      const dz = Math.abs(wasm.zscore[i]! - e.zscore);
      if (!(dz <= zTol)) assert.fail(`reading ${i}: z ${wasm.zscore[i]} vs oracle ${e.zscore}`);
      worstZ = Math.max(worstZ, dz / zTol);
      assert.equal(wasm.min[i], e.min);
      assert.equal(wasm.max[i], e.max);
      assert.ok(Math.abs(wasm.mean[i]! - e.mean) <= 4 * eps * 1e6, `mean[${i}]`);
      assert.ok(Math.abs(wasm.slope[i]! - e.slope) <= 1e-9 * Math.max(R, 1), `slope[${i}]`);
      assert.equal((wasm.flags[i]! & FLAG.ZSCORE) !== 0, e.zflag, `zflag[${i}]`);
    }
    assert.ok(worstStdRel < 1e-10, `worst relative std error ${worstStdRel}`);
    assert.ok(worstVar > 0, "the comparison saw rounding at all (not vacuous)");
    assert.ok(worstZ <= 1, `worst z error ${worstZ} of its tolerance`);
    console.log({ window, worstVar, worstStdRel, worstZ });
    // The constant tail: exactly 0 once the window (then the model) holds only the constant.
    for (let i = noisy + window - 1; i < values.length; i++) assert.equal(wasm.std[i], 0);
    for (let i = noisy + 100; i < values.length; i++) assert.equal(wasm.zscore[i], 0);
    assert.equal(wasm.mean[values.length - 1], constant);
  }
});

// ---------------------------------------------------------------- validation and runtime

Deno.test("options are validated with RangeErrors naming the value", () => {
  const cases: [KernelOptions, string][] = [
    [{ window: 0 }, "window must be an integer in 1…65536, got 0"],
    [{ window: 65537 }, "window must be an integer in 1…65536, got 65537"],
    [{ window: 2.5 }, "got 2.5"],
    [{ modelSize: -1 }, "modelSize must be an integer in 1…65536, got -1"],
    [{ maxStreams: 0 }, "maxStreams must be an integer in 1…4194304, got 0"],
    [{ batchCapacity: NaN }, "batchCapacity must be an integer in 1…4194304, got NaN"],
    [{ zThreshold: 0 }, "zThreshold must be a number > 0, got 0"],
    [{ trendTolerance: -0.1 }, "trendTolerance must be a finite number >= 0, got -0.1"],
    [{ maxStreams: 1 << 22, window: 65536 }, "more than"],
  ];
  for (const [o, message] of cases) {
    for (const make of [() => new WasmKernel(o), () => new ReferenceKernel(o)]) {
      assert.throws(
        make,
        (e: Error) => e instanceof RangeError && e.message.includes(message),
        message,
      );
    }
  }
  const k = new WasmKernel({});
  assert.deepEqual({ ...k.options }, {
    maxStreams: 4096,
    window: 5,
    modelSize: 100,
    zThreshold: 3,
    trendTolerance: 0.01,
    batchCapacity: 8192,
  });
});

Deno.test("stream ids, n and values are validated before any state changes", () => {
  for (
    const make of [
      () => new WasmKernel({ maxStreams: 4, batchCapacity: 8 }),
      () => new ReferenceKernel({ maxStreams: 4, batchCapacity: 8 }),
    ]
  ) {
    const k = make();
    const input = {
      stream: Int32Array.of(0, 1, 2, 3),
      time: Float64Array.of(0, 0, 0, 0),
      value: Float64Array.of(1, 2, 3, 4),
    };
    const rangeError = (text: string) => (e: Error) =>
      e instanceof RangeError && e.message.includes(text);
    assert.throws(() => k.process(input, 5), rangeError("n = 5 exceeds the input arrays"));
    assert.throws(() => k.process(input, 9), rangeError("n must be an integer in 0…8, got 9"));
    assert.throws(() => k.process(input, -1), rangeError("got -1"));
    assert.throws(() => k.process(input, 1.5), rangeError("got 1.5"));
    assert.throws(
      () => k.setLimits(4, { low: 0, high: 1, maxDelta: 1, maxDeviationPct: 1 }),
      rangeError("got 4"),
    );
    assert.throws(
      () => k.resetStream(-1),
      rangeError("stream id must be an integer in 0…3, got -1"),
    );
    assert.throws(() => k.resetStream(0.5), rangeError("got 0.5"));

    // A bad id or value anywhere in a batch refuses the whole batch, before any reading.
    const bad = { ...input, stream: Int32Array.of(0, 1, 4, 3) };
    assert.throws(() => k.process(bad, 4), rangeError("got 4 (reading 2)"));
    const neg = { ...input, stream: Int32Array.of(-7, 1, 2, 3) };
    assert.throws(() => k.process(neg, 4), rangeError("got -7 (reading 0)"));
    const nan = { ...input, value: Float64Array.of(1, NaN, 3, 4) };
    assert.throws(
      () => k.process(nan, 4),
      rangeError("value at reading 1 must be finite, got NaN"),
    );
    const inf = { ...input, value: Float64Array.of(1, 2, 3, -Infinity) };
    assert.throws(() => k.process(inf, 4), rangeError("got -Infinity"));
    // State untouched: the first good batch sees first readings (delta 0, std 0).
    const out = k.process(input, 4);
    assert.deepEqual(Array.from(out.delta), [0, 0, 0, 0]);
    assert.deepEqual(Array.from(out.completeness), [0.01, 0.01, 0.01, 0.01]);
    assert.equal(k.process(input, 0).mean.length, 0);
  }
});

Deno.test("an AssemblyScript abort surfaces as a JS Error with its message and location", () => {
  const k = new WasmKernel({ maxStreams: 4 });
  const raw = k.rawExports;
  assert.throws(
    () => raw.resetStream(4),
    (e: Error) =>
      e.message.startsWith("resetStream: stream id 4 is out of range 0…3 (") &&
      e.message.includes("assembly/rolling.ts:"),
  );
  assert.throws(() => raw.setZThreshold(-2), /setZThreshold: the threshold must be a number > 0/);
  assert.throws(() => raw.process(1 << 20), /process: n is out of range 0…batchCapacity/);
  assert.throws(() => raw.configure(1, 1, 1, 1, 0, 1), /configure: already configured/);
  // The instance is still usable after an abort.
  const out = k.process({
    stream: Int32Array.of(1),
    time: Float64Array.of(0),
    value: Float64Array.of(3),
  }, 1);
  assert.equal(out.mean[0], 3);
});

Deno.test("views follow the memory when it grows; kernels are independent instances", () => {
  const o = { maxStreams: 16, window: 5, modelSize: 10, batchCapacity: 256 };
  const readings = randomReadings(21, 2000, 16);
  const k = new WasmKernel(o);
  const other = new WasmKernel({ ...o, window: 3 });
  const ref = run(new ReferenceKernel(o), readings, [256]);
  const got = emptyRows();
  const stream = new Int32Array(256);
  const time = new Float64Array(256);
  const value = new Float64Array(256);
  let before: KernelOutput | undefined;
  for (let i = 0, b = 0; i < readings.length; i += 256, b++) {
    const n = Math.min(256, readings.length - i);
    for (let j = 0; j < n; j++) {
      stream[j] = readings[i + j]!.stream;
      time[j] = readings[i + j]!.time;
      value[j] = readings[i + j]!.value;
    }
    if (b === 3) {
      const pages = k.rawExports.memory.buffer.byteLength / 65536;
      assert.equal(k.rawExports.testGrowMemory(2), pages);
      assert.equal(before!.mean.length, 0, "the old views are detached by the growth");
    }
    other.process({ stream, time, value }, n); // interleaved: must not disturb k
    before = k.process({ stream, time, value }, n);
    append(got, before);
  }
  assertAgree(got, ref, "grown memory");
});

Deno.test("the kernel loads with no permissions (raw import, as deno compile embeds it)", async () => {
  const fixture = new URL("../fixtures/load_kernel.ts", import.meta.url);
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-config", "--unstable-raw-imports", fixture.pathname],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
  const { code, stdout, stderr } = await cmd.output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, err);
  const got = JSON.parse(new TextDecoder().decode(stdout));
  assert.notEqual(got.read, "granted");
  assert.deepEqual(got.mean, [1, 1.5, 3, 7]);
  assert.deepEqual(got.min, [1, 1, 1, 7]);
  assert.deepEqual(got.max, [1, 2, 6, 7]);
  assert.deepEqual(got.rate, [0, 1, 4, 0]);
  assert.equal(got.std[0], 0);
  assert.ok(Math.abs(got.std[1] - 0.5) < 1e-15);
  assert.ok(Math.abs(got.std[2] - Math.sqrt(14 / 3)) < 1e-14);
  assert.equal(got.std[3], 0);
});

Deno.test("memory follows the streams in use: grown mid-run, outputs bit for bit the reference's", () => {
  // Phases of 50, 300 and 1,000 streams (times moved on, so each stream's clock only rises):
  // the state grows 64 → 512 → 1,024 while the first streams hold full windows and models.
  const readings = [[50, 5_000], [300, 10_000], [1000, 20_000]].flatMap(([streams, count], p) =>
    randomReadings(11 + p, count!, streams!).map((r) => ({ ...r, time: r.time + p * 1e9 }))
  );
  const o = { maxStreams: 1500, window: 5, modelSize: 20, batchCapacity: 1000 };
  const setup = (k: Kernel) => {
    // A stream's limits set before it was ever seen (past the first capacity) are kept.
    k.setLimits(3, { low: 0.5, high: 2e6, maxDelta: 1e3, maxDeviationPct: 2 });
    k.setLimits(700, { low: 0.5, high: 2e6, maxDelta: 1e3, maxDeviationPct: 2 });
    k.resetStream(1400); // never seen: nothing to forget
  };
  const w = new WasmKernel(o);
  assert.equal(w.rawExports.streamCapacity(), 64);
  const bytes = w.rawExports.memory.buffer.byteLength;
  setup(w);
  assert.equal(w.rawExports.streamCapacity(), 1024, "setLimits(700) grew the state");
  const r = new ReferenceKernel(o);
  setup(r);
  const a = run(w, readings, [1000, 7, 513]);
  const b = run(r, readings, [1000, 7, 513]);
  for (const k of [...KEYS, "flags"] as const) {
    for (let i = 0; i < readings.length; i++) {
      if (!Object.is(a[k][i], b[k][i])) assert.fail(`${k}[${i}] ${a[k][i]} vs ${b[k][i]}`);
    }
  }
  assert.ok(
    readings.some((x, i) => x.stream === 700 && a.flags[i]! & FLAG.RAPID),
    "stream 700's limits were in force",
  );
  assert.equal(w.rawExports.streamCapacity(), 1024);
  assert.ok(w.rawExports.memory.buffer.byteLength > bytes);
  // Growth in steps, from a kernel that has seen only the first phase.
  const step = new WasmKernel(o);
  run(step, readings.slice(0, 5_000));
  assert.equal(step.rawExports.streamCapacity(), 64);
  run(step, readings.slice(5_000, 15_000));
  assert.equal(step.rawExports.streamCapacity(), 512);
});

Deno.test("memory growth after an abort: the state moves whole, the views follow it", () => {
  // An abort's message is allocated after the state, which then cannot grow in place: the
  // region moves (assembly/lib/memory.ts growLayout) and the results must not notice.
  const readings = [[50, 3_000], [300, 6_000]].flatMap(([streams, count], p) =>
    randomReadings(21 + p, count!, streams!).map((r) => ({ ...r, time: r.time + p * 1e9 }))
  );
  const o = { maxStreams: 1000, window: 5, modelSize: 20, batchCapacity: 1000 };
  const w = new WasmKernel(o);
  const r = new ReferenceKernel(o);
  const before = run(w, readings.slice(0, 3_000), [999]);
  const ref = run(r, readings.slice(0, 3_000), [999]);
  assert.throws(() => w.rawExports.setLimits(5000, 0, 1, 1, 1), /out of range/);
  const at = w.rawExports.ptr(ROLLING_ARRAYS.inStream);
  const after = run(w, readings.slice(3_000), [999]);
  const refAfter = run(r, readings.slice(3_000), [999]);
  assert.notEqual(w.rawExports.ptr(ROLLING_ARRAYS.inStream), at, "the region moved");
  assert.equal(w.rawExports.streamCapacity(), 512);
  for (const [a, b] of [[before, ref], [after, refAfter]] as const) {
    for (const k of [...KEYS, "flags"] as const) {
      for (let i = 0; i < a[k].length; i++) {
        if (!Object.is(a[k][i], b[k][i])) assert.fail(`${k}[${i}] ${a[k][i]} vs ${b[k][i]}`);
      }
    }
  }
});
